//! Readers turn files written by other tools into runs, metric points and diagnostics.
//! They never fail a scan: whatever cannot be read becomes a diagnostic naming the file and line.

pub mod csv_log;
pub mod jsonl;
pub mod mlflow_db;
pub mod mlflow_files;
pub mod tb_proto;
pub mod tensorboard;
pub mod tfrecord;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::model::{Diagnostic, Point, RunMeta, Source};
use crate::tail::FileState;

/// Everything a reader needs from the scan: the project root and what the index remembers of the
/// files of this unit (the files it recorded last time; a file another unit recorded is not here).
pub struct Ctx<'a> {
    pub root: &'a Path,
    pub prev: &'a HashMap<String, FileState>,
}

impl Ctx<'_> {
    pub fn rel(&self, p: &Path) -> String {
        crate::paths::rel(self.root, p).unwrap_or_else(|| p.to_string_lossy().replace('\\', "/"))
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
}

impl UnitOut {
    pub fn points(&self) -> usize {
        self.runs.iter().flat_map(|r| &r.files).flat_map(|f| &f.series).map(|(_, p)| p.len()).sum()
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
pub fn flatten_into(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
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
pub fn yaml(text: &str) -> Result<serde_json::Value, String> {
    serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| {
        let s = e.to_string();
        s.lines().next().unwrap_or("invalid YAML").to_string()
    })
}

/// Largest YAML or JSON metadata file we parse; anything bigger is reported, not read.
pub const MAX_META_BYTES: u64 = 16 << 20;

pub fn read_small(path: &Path) -> std::io::Result<String> {
    let md = std::fs::metadata(path)?;
    if md.len() > MAX_META_BYTES {
        return Err(std::io::Error::other(format!(
            "{} bytes: larger than the {} MiB limit for metadata",
            md.len(),
            MAX_META_BYTES >> 20
        )));
    }
    let bytes = std::fs::read(path)?;
    String::from_utf8(bytes).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8"))
}

/// Lists the files under `dir` (not following symlinks) with sizes, '/'-separated relative to `dir`.
/// Symlinks and unreadable entries are reported; depth is bounded.
pub fn list_files(dir: &Path, diags: &mut Diags, rel_dir: &str) -> Vec<crate::model::Artifact> {
    list_entries(dir, diags, rel_dir)
        .into_iter()
        .map(|(path, md)| crate::model::Artifact { path, size: md.len() })
        .collect()
}

/// Like `list_files`, with each file's metadata (taken relative to its folder: no path walk).
pub fn list_entries(dir: &Path, diags: &mut Diags, rel_dir: &str) -> Vec<(String, std::fs::Metadata)> {
    list_tree(dir, diags, rel_dir).files
}

/// A folder's files with their metadata, and its folders (the root as "") with their mtimes.
#[derive(Default)]
pub struct Listing {
    pub files: Vec<(String, std::fs::Metadata)>,
    pub dirs: Vec<(String, i64)>,
}

/// Lists a folder tree without following symlinks; symlinks, names that are not UTF-8 and nesting
/// past 64 levels are reported. A missing folder gives an empty listing.
pub fn list_tree(dir: &Path, diags: &mut Diags, rel_dir: &str) -> Listing {
    const MAX_DEPTH: usize = 64;
    let mut out = Listing::default();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(dir.to_path_buf(), String::new(), 0)];
    while let Some((d, prefix, depth)) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) => {
                if depth > 0 {
                    diags.push(None, format!("cannot list {rel_dir}/{prefix}: {e}"));
                }
                continue;
            }
        };
        if let Ok(md) = d.metadata() {
            out.dirs.push((prefix.clone(), crate::tail::mtime_ns(&md)));
        }
        for ent in rd.flatten() {
            let name = match ent.file_name().into_string() {
                Ok(n) => n,
                Err(n) => {
                    diags.push(None, format!("skipped a name that is not valid UTF-8 in {rel_dir}/{prefix}: {:?}", n));
                    continue;
                }
            };
            let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let Ok(ft) = ent.file_type() else { continue };
            if ft.is_symlink() {
                diags.push(None, format!("symlink not followed: {rel_dir}/{rel}"));
            } else if ft.is_dir() {
                if depth + 1 >= MAX_DEPTH {
                    diags.push(None, format!("nesting deeper than {MAX_DEPTH} levels not listed: {rel_dir}/{rel}"));
                } else {
                    stack.push((ent.path(), rel, depth + 1));
                }
            } else if let Ok(md) = ent.metadata() {
                out.files.push((rel, md));
            }
        }
    }
    out.files.sort_by(|a, b| a.0.cmp(&b.0));
    out.dirs.sort();
    out
}
