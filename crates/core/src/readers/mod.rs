//! Readers turn files written by other tools into runs, metric points and diagnostics.
//! They never fail a scan: whatever cannot be read becomes a diagnostic naming the file and line.

pub mod csv_log;
pub mod dvclive;
pub mod hydra;
pub mod jsonl;
pub mod mlflow_db;
pub mod mlflow_files;
pub mod monitor;
pub mod sacred;
pub mod tb_proto;
pub mod tensorboard;
pub mod tfrecord;
pub mod wandb;
pub mod wandb_log;
pub mod wandb_proto;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::files::{Kind, ProjectFs};
use crate::model::{Diagnostic, Point, RunMeta, Source};
use crate::tail::FileState;

/// Everything a reader needs from the scan: the project root and what the index remembers of the
/// files of this unit (the files it recorded last time; a file another unit recorded is not here).
pub struct Ctx<'a> {
    pub root: &'a Path,
    pub prev: &'a HashMap<String, FileState>,
    /// The only way to the project's files (no link followed, nothing outside the root).
    pub fs: &'a ProjectFs<'a>,
    /// The scan's time: readers that judge a file by its age (settled, still running) use this,
    /// never the clock, so a result is reproducible.
    pub now: std::time::SystemTime,
}

impl Ctx<'_> {
    pub fn rel(&self, p: &Path) -> String {
        crate::paths::rel(self.root, p).unwrap_or_else(|| p.to_string_lossy().replace('\\', "/"))
    }

    /// A whole metadata file (YAML, JSON) of at most [`MAX_META_BYTES`], as text.
    pub fn read_small(&self, path: &Path) -> std::io::Result<String> {
        self.fs.read_text(path, MAX_META_BYTES, "metadata")
    }

    /// Lists the files under `dir` with sizes, '/'-separated relative to `dir`; links and
    /// unreadable entries are reported, depth is bounded.
    pub fn list_files(&self, dir: &Path, diags: &mut Diags, rel_dir: &str) -> Vec<crate::model::Artifact> {
        self.list_tree(dir, diags, rel_dir)
            .files
            .into_iter()
            .map(|(path, md)| crate::model::Artifact { path, size: md.len() })
            .collect()
    }

    /// Lists a folder tree without following links; links, names that are not UTF-8 and nesting
    /// past 64 levels are reported. A missing folder (or a link in its place) gives an empty
    /// listing; the link is reported.
    pub fn list_tree(&self, dir: &Path, diags: &mut Diags, rel_dir: &str) -> Listing {
        const MAX_DEPTH: usize = 64;
        let mut out = Listing::default();
        let mut stack: Vec<(PathBuf, String, usize)> = vec![(dir.to_path_buf(), String::new(), 0)];
        while let Some((d, prefix, depth)) = stack.pop() {
            let shown = if prefix.is_empty() { rel_dir.to_string() } else { format!("{rel_dir}/{prefix}") };
            let entries = match self.fs.list(&d) {
                Ok(e) => e,
                Err(e) if crate::files::is_link_error(&e) => {
                    diags.push(None, format!("symlink not followed: {shown}"));
                    continue;
                }
                Err(e) => {
                    if depth > 0 {
                        diags.push(None, format!("cannot list {shown}: {e}"));
                    }
                    continue;
                }
            };
            if let Ok(md) = self.fs.stat(&d) {
                out.dirs.push((prefix.clone(), crate::tail::mtime_ns(&md)));
            }
            for ent in entries {
                let rel = if prefix.is_empty() { ent.name.clone() } else { format!("{prefix}/{}", ent.name) };
                match ent.kind {
                    Kind::BadName => {
                        diags.push(None, format!("skipped a name that is not valid UTF-8 in {shown}: {:?}", ent.name))
                    }
                    Kind::Link => diags.push(None, format!("symlink not followed: {rel_dir}/{rel}")),
                    Kind::Dir if depth + 1 >= MAX_DEPTH => {
                        diags.push(None, format!("nesting deeper than {MAX_DEPTH} levels not listed: {rel_dir}/{rel}"))
                    }
                    Kind::Dir => stack.push((ent.path, rel, depth + 1)),
                    Kind::File => {
                        if let Ok(md) = ent.metadata() {
                            out.files.push((rel, md));
                        }
                    }
                    Kind::Other => {}
                }
            }
        }
        out.files.sort_by(|a, b| a.0.cmp(&b.0));
        out.dirs.sort();
        out
    }
}

/// New points for the series a file owns.
#[derive(Debug, Default)]
pub struct FileUpdate {
    pub file: String,
    /// Drop every series this file owned before adding these (a first or a full re-read).
    pub replace: bool,
    /// Points per metric key, in file order.
    pub series: Vec<(String, Vec<Point>)>,
}

#[derive(Debug)]
pub struct RunOut {
    pub path: String,
    pub source: Source,
    /// None: the run's metadata did not change.
    pub meta: Option<RunMeta>,
    pub files: Vec<FileUpdate>,
    /// Every file that owns series of this run now; series of other files are dropped.
    pub series_files: Vec<String>,
}

/// Diagnostics of one file: they replace the file's earlier ones, or add to them after an append.
#[derive(Debug)]
pub struct DiagUpdate {
    pub file: String,
    pub replace: bool,
    pub items: Vec<Diagnostic>,
}

/// What reading one unit (a run directory, a log file, an mlflow.db) produced.
#[derive(Debug, Default)]
pub struct UnitOut {
    pub unit: String,
    /// All runs of the unit; runs of the unit missing here are removed.
    pub runs: Vec<RunOut>,
    /// Every file of the unit with its new state, or None when it did not change.
    pub states: Vec<(String, Option<FileState>)>,
    pub diags: Vec<DiagUpdate>,
    /// The runs were not re-listed (nothing changed): keep the unit's runs as they are.
    pub untouched: bool,
    /// The index holds nothing of this unit yet (set by the scan, not the reader).
    pub fresh: bool,
    /// A file was read up to a piece's end (`tail::PIECE`): the scan writes this and reads the
    /// unit again, from the states this left, until it is whole.
    pub more: bool,
    /// For such a next piece: the unit's file states it was read against (the scan checks them
    /// instead of the ones loaded at its start).
    pub expect: Option<HashMap<String, FileState>>,
}

impl UnitOut {
    pub fn points(&self) -> usize {
        self.runs.iter().flat_map(|r| &r.files).flat_map(|f| &f.series).map(|(_, p)| p.len()).sum()
    }
}

/// A path inside a unit's folder: `unit/name`, or `name` when the unit is the project itself.
pub fn join_rel(unit: &str, name: &str) -> String {
    if unit.is_empty() {
        name.to_string()
    } else {
        format!("{unit}/{name}")
    }
}

/// Points per metric key, in the order keys first appear: what a reader collects from a file.
#[derive(Default)]
pub struct KeyedPoints {
    keys: Vec<String>,
    slot: HashMap<String, usize>,
    points: Vec<Vec<Point>>,
}

impl KeyedPoints {
    pub fn push(&mut self, key: &str, p: Point) {
        // Logs cycle through a few dozen keys: a scan of the keys beats hashing every point.
        let found =
            if self.keys.len() <= 32 { self.keys.iter().position(|k| k == key) } else { self.slot.get(key).copied() };
        let i = match found {
            Some(i) => i,
            None => {
                self.keys.push(key.to_string());
                self.points.push(Vec::new());
                self.slot.insert(key.to_string(), self.keys.len() - 1);
                self.keys.len() - 1
            }
        };
        self.points[i].push(p);
    }

    /// Drops every point at `step` or later (TensorBoard's restart purge).
    pub fn retain_before(&mut self, step: i64) {
        for pts in &mut self.points {
            pts.retain(|p| p.step < step);
        }
    }

    pub fn merge(&mut self, other: KeyedPoints) {
        if self.keys.is_empty() {
            *self = other;
            return;
        }
        for (k, pts) in other.keys.into_iter().zip(other.points) {
            for p in pts {
                self.push(&k, p);
            }
        }
    }

    pub fn into_vec(self) -> Vec<(String, Vec<Point>)> {
        self.keys.into_iter().zip(self.points).collect()
    }
}

/// Collects a file's diagnostics, keeping the first few and counting the rest.
pub struct Diags {
    file: String,
    items: Vec<Diagnostic>,
    dropped: usize,
}

pub const MAX_DIAGS_PER_FILE: usize = 20;

impl Diags {
    pub fn new(file: impl Into<String>) -> Diags {
        Diags { file: file.into(), items: Vec::new(), dropped: 0 }
    }
    pub fn push(&mut self, line: Option<u64>, message: impl Into<String>) {
        if self.items.len() < MAX_DIAGS_PER_FILE {
            self.items.push(Diagnostic { file: self.file.clone(), line, message: message.into() });
        } else {
            self.dropped += 1;
        }
    }
    pub fn finish(mut self, replace: bool) -> DiagUpdate {
        if self.dropped > 0 {
            self.items.push(Diagnostic {
                file: self.file.clone(),
                line: None,
                message: format!("{} more problems in this file not shown", self.dropped),
            });
        }
        DiagUpdate { file: self.file, replace, items: self.items }
    }
}

/// Flattens nested YAML/JSON config into "a.b.c" keys. Strings stay as they are; other scalars and
/// lists are written as JSON text.
/// An empty mapping at the top (Lightning's `hparams.yaml` is `{}` when a model saves none) is no
/// params at all.
pub fn flatten_into(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(m) if m.is_empty() && prefix.is_empty() => {}
        serde_json::Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten_into(&key, v, out);
            }
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Parses YAML into a JSON value, within serde-saphyr's default budgets (alias bombs, depth).
/// PyYAML's `!!python/name:torch.optim.adam.Adam ''` (Lightning writes the optimizer class that way)
/// is read as the text `torch.optim.adam.Adam`, not as the empty string after the tag.
pub fn yaml(text: &str) -> Result<serde_json::Value, String> {
    let untagged;
    let text = if text.contains("!!python/name:") {
        static TAG: std::sync::OnceLock<regex_lite::Regex> = std::sync::OnceLock::new();
        let re = TAG.get_or_init(|| regex_lite::Regex::new(r#"!!python/name:([A-Za-z0-9_.]+)[ \t]*(''|"")?"#).unwrap());
        untagged = re.replace_all(text, "'$1'");
        &untagged
    } else {
        text
    };
    serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| {
        let s = e.to_string();
        s.lines().next().unwrap_or("invalid YAML").to_string()
    })
}

/// Largest YAML or JSON metadata file we parse; anything bigger is reported, not read.
pub const MAX_META_BYTES: u64 = 16 << 20;

/// Parses JSON as Python's json module writes it: bare `NaN`, `Infinity` and `-Infinity` are read
/// as the strings "NaN", "Infinity", "-Infinity" (which `number` turns back into floats).
/// The error names the line and column (serde_json's message does).
pub fn json_lenient(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).or_else(|e| {
        if text.contains("NaN") || text.contains("Infinity") {
            serde_json::from_str(&jsonl::quote_non_finite(text)).map_err(|_| e)
        } else {
            Err(e)
        }
        .map_err(|e| format!("invalid JSON ({e})"))
    })
}

/// A JSON number, or one of the strings Python and JavaScript write for non-finite floats.
pub fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" | "nan" => Some(f64::NAN),
            "Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// What the index remembers of a file that is always read whole: its size, mtime and id.
pub fn stat_state(md: &std::fs::Metadata) -> FileState {
    FileState {
        size: md.len(),
        mtime_ns: crate::tail::mtime_ns(md),
        file_id: crate::tail::file_id(md),
        ..Default::default()
    }
}

/// An ISO 8601 date-time (`2026-11-27T14:45:04.628447`, a space for the `T`, an optional `Z` or
/// `+hh:mm` offset) as milliseconds since the epoch, fractions kept. Without an offset the time is
/// UTC, as Sacred's `datetime.utcnow().isoformat()` writes it.
pub fn iso_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit())).then(|| part.parse().ok())?
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac_ms = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        frac_ms = format!("0.{}", &r[..n]).parse::<f64>().ok()? * 1000.0;
        rest = &r[n..];
    }
    let offset_min = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            // Digits only, so no slice below can split a character.
            let r = &rest[1..];
            let digits = |t: &str| -> Option<i64> {
                (t.len() == 2 && t.bytes().all(|c| c.is_ascii_digit())).then(|| t.parse().ok())?
            };
            let (oh, om) = match r.len() {
                5 if r.as_bytes()[2] == b':' => (digits(r.get(..2)?)?, digits(r.get(3..)?)?),
                4 => (digits(r.get(..2)?)?, digits(r.get(2..)?)?),
                2 => (digits(r)?, 0),
                _ => return None,
            };
            sign * (oh * 60 + om)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian.
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs as f64 * 1000.0 + frac_ms)
}

/// A folder's files with their metadata, and its folders (the root as "") with their mtimes.
#[derive(Default)]
pub struct Listing {
    pub files: Vec<(String, std::fs::Metadata)>,
    pub dirs: Vec<(String, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_are_utc_milliseconds() {
        // Expected values from Python's datetime.fromisoformat(...).timestamp() (naive = UTC).
        let close = |s: &str, ms: f64| {
            let got = iso_ms(s).unwrap_or_else(|| panic!("{s} did not parse"));
            assert!((got - ms).abs() < 1e-3, "{s}: {got} vs {ms}");
        };
        close("2026-11-27T14:45:04.628447", 1795790704628.447);
        close("2000-02-29T23:59:59.5", 951868799500.0);
        close("1969-12-31T23:59:59", -1000.0);
        close("2024-06-01T12:00:00+02:00", 1717236000000.0);
        close("2024-06-01 10:00:00Z", 1717236000000.0);
        for bad in [
            "",
            "2024-06-01",
            "2024-13-01T00:00:00",
            "2024-06-01T10:00:00+2",
            "2024-06-01T10:00:00.",
            "x024-06-01T10:00:00",
            // Multibyte characters where digits belong (these panicked once).
            "2024-06-01T10:00:00+0é0",
            "2024-06-01T10:00:00+00:é",
            "2024-06-01T10:00:0é",
            "２０２４-06-01T10:00:00",
            "2024-06-01T10:00:00.５",
        ] {
            assert_eq!(iso_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn python_json_with_bare_non_finite_numbers_parses() {
        let v = json_lenient("{\"a\": NaN, \"b\": [Infinity, -Infinity], \"s\": \"NaN\"}").unwrap();
        assert!(number(&v["a"]).unwrap().is_nan());
        assert_eq!(number(&v["b"][1]), Some(f64::NEG_INFINITY));
        let e = json_lenient("{\n\"a\": 1,\n\"b\": }").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
    }
}
