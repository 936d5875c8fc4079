//! MLflow's file store (`mlruns/`): experiments, runs, params, tags, metrics, dataset inputs,
//! artifacts and MLflow 3 logged models. Layout facts: mlflow/store/tracking/file_store.py.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{yaml, Ctx, Diags, FileUpdate, Listing, RunOut, UnitOut};
use crate::files::ProjectFs;
use crate::model::{DatasetInput, LoggedModel, Point, RunMeta, Source, Status};
use crate::tail::{self, Chunk, Consumed, FileState};

/// An experiment folder of a store.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub dir: PathBuf,
    pub id: String,
    pub name: Option<String>,
    pub deleted: bool,
    /// Size and mtime of the experiment's meta.yaml: part of every run's metadata signature.
    pub meta_sig: (u64, i64),
}

/// Folders of an experiment that are not runs.
const NOT_RUNS: &[&str] = &["models", "tags", "datasets", "traces", ".trash"];

/// Lists the experiments and run folders of a store. Problems go to `diags`.
pub fn list_store(fs: &ProjectFs, store: &Path, diags: &mut Diags) -> Vec<(std::sync::Arc<Experiment>, PathBuf)> {
    let mut out = Vec::new();
    let Ok(entries) = fs.list(store) else {
        return out;
    };
    let exp_dirs: Vec<PathBuf> = entries
        .into_iter()
        .filter(|e| e.is_dir() && e.name != ".trash" && e.name != "models" && e.name != ".git")
        .map(|e| e.path)
        .collect();
    for dir in exp_dirs {
        let meta_path = dir.join("meta.yaml");
        let fallback_id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let exp = match fs.read_text(&meta_path, super::MAX_META_BYTES, "metadata") {
            Ok(text) => match yaml(&text) {
                Ok(v) => {
                    let server = str_field(&v, "artifact_location").and_then(|l| crate::paths::mlflow_artifacts(&l));
                    let beside = store.parent().map(|p| p.join("mlartifacts"));
                    if server.is_some() && !beside.as_ref().is_some_and(|b| fs.is_dir(b)) {
                        diags.push(
                            None,
                            format!(
                                "experiment {}: its runs were logged through `mlflow server`, whose artifacts \
                                 (mlflow-artifacts:/...) are not in the project: no mlartifacts/ folder beside {}",
                                str_field(&v, "name").unwrap_or_else(|| fallback_id.clone()),
                                store.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                            ),
                        );
                    }
                    Experiment {
                        id: str_field(&v, "experiment_id").unwrap_or(fallback_id),
                        name: str_field(&v, "name"),
                        deleted: str_field(&v, "lifecycle_stage").as_deref() == Some("deleted"),
                        dir: dir.clone(),
                        meta_sig: (0, 0),
                    }
                }
                Err(e) => {
                    diags.push(None, format!("{}: {e}", meta_path.display()));
                    Experiment { id: fallback_id, name: None, deleted: false, dir: dir.clone(), meta_sig: (0, 0) }
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // not an experiment
            Err(e) => {
                diags.push(None, format!("{}: {e}", meta_path.display()));
                continue;
            }
        };
        let mut exp = exp;
        if let Ok(md) = fs.stat(&meta_path) {
            exp.meta_sig = (md.len(), tail::mtime_ns(&md));
        }
        let exp = std::sync::Arc::new(exp);
        let Ok(entries) = fs.list(&dir) else {
            continue;
        };
        // A folder without meta.yaml reads as no run.
        let runs: Vec<PathBuf> = entries
            .into_iter()
            .filter(|e| e.is_dir() && !NOT_RUNS.contains(&e.name.as_str()))
            .map(|e| e.path)
            .collect();
        out.extend(runs.into_iter().map(|r| (exp.clone(), r)));
    }
    out
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn int_field(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// FNV-1a, stable across Rust versions (the index outlives a build).
pub(crate) fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= *b as u64;
        *h = h.wrapping_mul(0x100000001b3);
    }
}

/// Key/value files under `dir` (params/, tags/): the key is the path below `dir`, '/'-separated.
fn read_kv(fs: &ProjectFs, dir: &Path, names: &[String], diags: &mut Diags, what: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in names {
        let path = name.split('/').fold(dir.to_path_buf(), |p, part| p.join(part));
        match fs.read(&path, MAX_VALUE_BYTES, "a param or tag value") {
            Ok(bytes) => {
                let value = match String::from_utf8(bytes) {
                    Ok(s) => s,
                    Err(e) => {
                        diags.push(
                            None,
                            format!("{what}/{name}: value is not valid UTF-8, shown with replacement characters"),
                        );
                        String::from_utf8_lossy(e.as_bytes()).into_owned()
                    }
                };
                out.insert(name.clone(), value);
            }
            Err(e) => diags.push(None, format!("{what}/{name}: {e}")),
        }
    }
    out
}

/// MLflow caps param values at 6,000 characters and tag values at 8,000; anything far bigger is
/// not a value MLflow wrote.
const MAX_VALUE_BYTES: u64 = 256 << 10;

/// What a run folder looked like at the last scan: enough to tell, with a few `stat` calls and no
/// directory listing, that nothing changed. Any folder whose mtime moved (a file added, removed or
/// renamed) sends the next scan back to a full walk.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Layout {
    /// The metadata signature: meta.yaml, the experiment's meta.yaml, every folder's mtime and
    /// every tracked file's size and mtime.
    sig: String,
    /// Folders under the run (and its logged models), '/'-separated relative paths, with mtimes.
    /// Empty when a folder changed too recently to trust its mtime.
    dirs: Vec<(String, i64)>,
    /// Files whose size and mtime are part of `sig` (tags, inputs, outputs, artifacts, models).
    files: Vec<String>,
    /// Metric files, relative to metrics/.
    metrics: Vec<String>,
}

/// Folders whose files count in the signature (params are written once: their names suffice,
/// and names live in the folder's mtime).
const META_DIRS: &[(&str, bool)] =
    &[("params", false), ("tags", true), ("inputs", true), ("outputs", true), ("artifacts", true)];

/// One full look at a run folder.
struct Walk {
    layout: Layout,
    metrics: Vec<(String, std::fs::Metadata)>,
    params: Vec<String>,
    tags: Vec<String>,
    artifacts: Vec<crate::model::Artifact>,
}

/// Walks the run folder: every folder's mtime, the tracked files, the params, tags and artifacts,
/// and the metric files with their metadata. Listing problems go to `diags`.
fn walk_layout(ctx: &Ctx, run_dir: &Path, exp: &Experiment, diags: &mut Diags, rel: &str) -> Walk {
    let mut layout = Layout::default();
    let mut files: Vec<(String, (u64, i64))> = Vec::new();
    let mut walk = Walk {
        layout: Layout::default(),
        metrics: Vec::new(),
        params: Vec::new(),
        tags: Vec::new(),
        artifacts: Vec::new(),
    };
    let mut add =
        |listing: Listing, prefix: &str, track_files: bool, layout: &mut Layout| -> Vec<(String, std::fs::Metadata)> {
            for (d, mt) in listing.dirs {
                layout.dirs.push((if d.is_empty() { prefix.to_string() } else { format!("{prefix}/{d}") }, mt));
            }
            if track_files {
                for (f, md) in &listing.files {
                    files.push((format!("{prefix}/{f}"), (md.len(), tail::mtime_ns(md))));
                }
            }
            listing.files
        };
    for (sub, track) in META_DIRS {
        let listing = ctx.list_tree(&run_dir.join(sub), diags, &format!("{rel}/{sub}"));
        let entries = add(listing, sub, *track, &mut layout);
        match *sub {
            "params" => walk.params = entries.into_iter().map(|(n, _)| n).collect(),
            "tags" => walk.tags = entries.into_iter().map(|(n, _)| n).collect(),
            "artifacts" => {
                walk.artifacts =
                    entries.into_iter().map(|(path, md)| crate::model::Artifact { path, size: md.len() }).collect()
            }
            _ => {}
        }
    }
    if let Ok(entries) = ctx.fs.list(&run_dir.join("outputs")) {
        for e in entries.into_iter().filter(|e| e.is_dir()) {
            let listing = ctx.list_tree(&exp.dir.join("models").join(&e.name), &mut Diags::new(""), "");
            add(listing, &format!("../models/{}", e.name), true, &mut layout);
        }
    }
    let listing = ctx.list_tree(&run_dir.join("metrics"), diags, &format!("{rel}/metrics"));
    walk.metrics = add(listing, "metrics", false, &mut layout);
    layout.metrics = walk.metrics.iter().map(|(n, _)| n.clone()).collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    layout.dirs.sort();
    layout.sig = signature(ctx.fs, run_dir, exp, &layout.dirs, files.iter().map(|(_, s)| *s));
    layout.files = files.into_iter().map(|(f, _)| f).collect();
    // A folder changed in the last seconds may change again within its mtime's resolution: do not
    // trust it to reveal the next change.
    let now = ctx.now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
    if layout.dirs.iter().any(|(_, mt)| now - mt < (tail::SETTLE_SECS as i64) * 1_000_000_000) {
        layout.dirs.clear();
    }
    walk.layout = layout;
    walk
}

fn signature(
    fs: &ProjectFs,
    run_dir: &Path,
    exp: &Experiment,
    dirs: &[(String, i64)],
    files: impl Iterator<Item = (u64, i64)>,
) -> String {
    let mut h = 0xcbf29ce484222325u64;
    fnv(&mut h, &exp.meta_sig.0.to_le_bytes());
    fnv(&mut h, &exp.meta_sig.1.to_le_bytes());
    if let Ok(md) = fs.stat(&run_dir.join("meta.yaml")) {
        fnv(&mut h, &md.len().to_le_bytes());
        fnv(&mut h, &tail::mtime_ns(&md).to_le_bytes());
    }
    for (d, mt) in dirs.iter().filter(|(d, _)| !d.starts_with("metrics")) {
        fnv(&mut h, d.as_bytes());
        fnv(&mut h, &mt.to_le_bytes());
    }
    for (len, mt) in files {
        fnv(&mut h, &len.to_le_bytes());
        fnv(&mut h, &mt.to_le_bytes());
    }
    format!("{h:016x}")
}

/// With a trusted layout from the last scan: checks with `stat` alone that no folder changed and
/// the signature holds. Returns None when a full walk is needed.
fn quick_check(fs: &ProjectFs, run_dir: &Path, exp: &Experiment, prev: &Layout) -> Option<()> {
    if prev.dirs.is_empty() {
        return None;
    }
    for (d, mt) in &prev.dirs {
        let path = if let Some(m) = d.strip_prefix("../") { exp.dir.join(m) } else { run_dir.join(d) };
        if fs.stat(&path).ok().filter(|m| m.is_dir()).map(|m| tail::mtime_ns(&m)) != Some(*mt) {
            return None;
        }
    }
    // Folders that did not exist must still not exist.
    for (sub, _) in META_DIRS {
        if !prev.dirs.iter().any(|(d, _)| d == sub) && fs.exists(&run_dir.join(sub)) {
            return None;
        }
    }
    let mut sizes = Vec::with_capacity(prev.files.len());
    for f in &prev.files {
        let path = if let Some(m) = f.strip_prefix("../") { exp.dir.join(m) } else { run_dir.join(f) };
        let md = fs.stat(&path).ok()?;
        sizes.push((md.len(), tail::mtime_ns(&md)));
    }
    (signature(fs, run_dir, exp, &prev.dirs, sizes.into_iter()) == prev.sig).then_some(())
}

/// Reads one run folder, incrementally against what the index remembers.
pub fn read_run(ctx: &Ctx, exp: &Experiment, run_dir: &Path) -> UnitOut {
    let path = ctx.rel(run_dir);
    let mut out = UnitOut { unit: path.clone(), ..Default::default() };
    let meta_key = format!("{path}/");
    let prev_layout: Option<Layout> = ctx.prev.get(&meta_key).and_then(|s| serde_json::from_str(&s.extra).ok());
    // Metric files with their metadata when known; None for "stat them by name".
    let mut meta = None;
    let mut meta_changed = false;
    let metric_files: Vec<(String, Option<std::fs::Metadata>)> =
        match prev_layout.as_ref().and_then(|p| quick_check(ctx.fs, run_dir, exp, p).map(|()| p)) {
            Some(p) => {
                out.states.push((meta_key.clone(), None));
                p.metrics.iter().map(|m| (m.clone(), None)).collect()
            }
            None => {
                let mut diags = Diags::new(meta_key.clone());
                let walk = walk_layout(ctx, run_dir, exp, &mut diags, &path);
                meta_changed =
                    prev_layout.as_ref().is_none_or(|p| p.sig != walk.layout.sig || p.metrics != walk.layout.metrics);
                let state =
                    FileState { extra: serde_json::to_string(&walk.layout).unwrap_or_default(), ..Default::default() };
                out.states.push((meta_key.clone(), Some(state)));
                if meta_changed {
                    meta = read_meta(ctx, exp, run_dir, &walk, &mut diags);
                    out.diags.push(diags.finish(true));
                    if meta.is_none() {
                        // Unreadable meta.yaml (or the run vanished mid-scan): the run is not listed.
                        return out;
                    }
                }
                walk.metrics.into_iter().map(|(n, m)| (n, Some(m))).collect()
            }
        };

    let mut run =
        RunOut { path: path.clone(), source: Source::Mlflow, meta, files: Vec::new(), series_files: Vec::new() };
    let metrics_dir = run_dir.join("metrics");
    let mut all_unchanged = !meta_changed;
    let mut more = false;
    for (name, md) in metric_files {
        let file = format!("{path}/metrics/{name}");
        let full = metrics_dir.join(&name);
        let prev = ctx.prev.get(&file);
        let md = match md.map_or_else(|| ctx.fs.stat_file(&full), Ok) {
            Ok(md) => md,
            Err(_) => {
                all_unchanged = false; // gone since the last scan
                continue;
            }
        };
        run.series_files.push(file.clone());
        let chunk = match tail::read_new(ctx.fs, &full, prev, &md) {
            Ok(c) => c,
            Err(e) => {
                let mut d = Diags::new(file.clone());
                d.push(None, format!("cannot read: {e}"));
                out.diags.push(d.finish(true));
                continue;
            }
        };
        let (bytes, first_line, append, partial) = match chunk {
            Chunk::Unchanged => {
                out.states.push((file, None));
                continue;
            }
            Chunk::Append { bytes, first_line, more: m } => (bytes, first_line, true, m),
            Chunk::Full { bytes, more: m } => (bytes, 1, false, m),
        };
        more |= partial;
        all_unchanged = false;
        let mut diags = Diags::new(file.clone());
        let settled = !partial && tail::settled(&md, ctx.now);
        let (points, consumed, lines, pending) = parse_metric_file(&bytes, first_line, settled, &mut diags);
        let prev_lines = if append { prev.map_or(0, |p| p.lines) } else { 0 };
        let state = tail::next_state(
            &md,
            prev,
            Consumed { bytes: &bytes, append, consumed, lines: prev_lines + lines, pending, partial },
            String::new(),
        );
        out.states.push((file.clone(), Some(state)));
        out.diags.push(diags.finish(!append));
        run.files.push(FileUpdate { file, replace: !append, series: vec![(name, points)] });
    }
    out.untouched = all_unchanged;
    out.more = more;
    out.runs.push(run);
    out
}

/// Parses "<timestamp_ms> <value> [<step>]" lines. Returns the points, the bytes consumed, the
/// complete lines consumed and whether an unterminated last line was taken (see tail::settled).
pub fn parse_metric_file(
    bytes: &[u8],
    first_line: u64,
    settled: bool,
    diags: &mut Diags,
) -> (Vec<Point>, usize, u64, bool) {
    let complete = tail::complete_prefix(bytes);
    let take_pending = settled && complete < bytes.len();
    let end = if take_pending { bytes.len() } else { complete };
    let mut points = Vec::with_capacity(end / 32 + 1);
    let mut line_no = first_line;
    let mut lines = 0u64;
    let mut rest = &bytes[..end];
    while !rest.is_empty() {
        // The common line, "<digits> <float> <digits>\n", in one pass; anything else goes the
        // careful way, which also words the diagnostic.
        let (point, used) = match fast_line(rest) {
            Some((p, used)) => (Ok(p), used),
            None => {
                let nl = rest.iter().position(|&b| b == b'\n');
                let line = &rest[..nl.unwrap_or(rest.len())];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                (parse_metric_line(line), nl.map_or(rest.len(), |i| i + 1))
            }
        };
        match point {
            Ok(p) => points.push(p),
            Err(msg) => diags.push(Some(line_no), msg),
        }
        rest = &rest[used..];
        line_no += 1;
        lines += 1;
    }
    let lines_complete = if take_pending { lines.saturating_sub(1) } else { lines };
    (points, complete, lines_complete, take_pending)
}

/// Leading ASCII digits as an integer (at most 18, so no overflow) and how many there were.
fn digits(b: &[u8]) -> (i64, usize) {
    let mut v = 0i64;
    let mut n = 0;
    while n < b.len() && n < 18 && b[n].is_ascii_digit() {
        v = v * 10 + (b[n] - b'0') as i64;
        n += 1;
    }
    (v, n)
}

/// "<timestamp> <value> <step>\n" with plain digits, or None.
fn fast_line(b: &[u8]) -> Option<(Point, usize)> {
    let (ts, n) = digits(b);
    if n == 0 || b.get(n) != Some(&b' ') {
        return None;
    }
    let mut i = n + 1;
    let (value, m) = fast_float2::parse_partial::<f64, _>(&b[i..]).ok()?;
    i += m;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let neg = b.get(i) == Some(&b'-');
    let (step, k) = digits(&b[i + usize::from(neg)..]);
    i += usize::from(neg) + k;
    if k == 0 || b.get(i) != Some(&b'\n') {
        return None;
    }
    Some((Point { step: if neg { -step } else { step }, value, ts: ts as f64 }, i + 1))
}

/// The lines of `bytes` without their "\n" or "\r\n"; a last line without a newline is included.
pub fn text_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// An ASCII integer, optionally signed; None for anything else (including "50.0").
fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return std::str::from_utf8(b).ok()?.parse().ok();
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as i64;
    }
    Some(if neg { -v } else { v })
}

/// One line of a metric file: "<timestamp_ms> <value> [<step>]". Byte-level: this is the hot path.
fn parse_metric_line(line: &[u8]) -> Result<Point, String> {
    let mut fields = [&line[..0]; 3];
    let mut n = 0;
    for (i, f) in line.split(|&b| b == b' ').enumerate() {
        if i < 3 {
            fields[i] = f;
        }
        n = i + 1;
    }
    let text = || truncate(&String::from_utf8_lossy(line));
    if line.is_empty() {
        return Err("empty line".into());
    }
    if !(2..=3).contains(&n) {
        return Err(format!(
            "expected \"<timestamp> <value> [<step>]\", found {n} field{}: {:?}",
            if n == 1 { "" } else { "s" },
            text()
        ));
    }
    let ts = parse_int(fields[0]).ok_or_else(|| format!("timestamp is not an integer: {:?}", text()))?;
    let value = std::str::from_utf8(fields[1])
        .ok()
        .and_then(parse_f64)
        .ok_or_else(|| format!("value is not a number: {:?}", text()))?;
    let step =
        if n == 3 { parse_int(fields[2]).ok_or_else(|| format!("step is not an integer: {:?}", text()))? } else { 0 };
    Ok(Point { step, value, ts: ts as f64 })
}

pub(crate) fn truncate(s: &str) -> String {
    if s.len() <= 80 {
        return s.to_string();
    }
    let mut end = 80;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// f64 from the text Python and friends write: "nan", "inf", "-inf", "Infinity", "1e-3".
pub fn parse_f64(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    match s.to_ascii_lowercase().as_str() {
        "+nan" | "-nan" => Some(f64::NAN),
        "+inf" | "+infinity" => Some(f64::INFINITY),
        _ => None,
    }
}

fn read_meta(ctx: &Ctx, exp: &Experiment, run_dir: &Path, walk: &Walk, diags: &mut Diags) -> Option<RunMeta> {
    let meta_path = run_dir.join("meta.yaml");
    let text = match ctx.read_small(&meta_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None, // removed mid-scan
        Err(e) => {
            diags.push(None, format!("meta.yaml: {e}"));
            return None;
        }
    };
    let v = match yaml(&text) {
        Ok(v) => v,
        Err(e) => {
            diags.push(None, format!("meta.yaml: {e}"));
            return None;
        }
    };
    let dir_name = run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut m = RunMeta {
        id: str_field(&v, "run_id").or_else(|| str_field(&v, "run_uuid")).unwrap_or(dir_name),
        experiment: exp.name.clone(),
        experiment_id: str_field(&v, "experiment_id").or_else(|| Some(exp.id.clone())),
        start_time: int_field(&v, "start_time"),
        end_time: int_field(&v, "end_time"),
        user: str_field(&v, "user_id").filter(|s| !s.is_empty()),
        deleted: exp.deleted || str_field(&v, "lifecycle_stage").as_deref() == Some("deleted"),
        artifact_uri: str_field(&v, "artifact_uri"),
        ..Default::default()
    };
    if let Some(s) = str_field(&v, "status") {
        m.status = Status::from_mlflow(&s);
        if m.status.is_none() {
            diags.push(None, format!("meta.yaml: unknown status {s:?}"));
        }
    }
    let rel = ctx.rel(run_dir);
    m.params = read_kv(ctx.fs, &run_dir.join("params"), &walk.params, diags, &format!("{rel}/params"));
    m.tags = read_kv(ctx.fs, &run_dir.join("tags"), &walk.tags, diags, &format!("{rel}/tags"));
    m.name = str_field(&v, "run_name").filter(|s| !s.is_empty()).or_else(|| m.tags.get("mlflow.runName").cloned());
    m.parent_id = m.tags.get("mlflow.parentRunId").cloned();
    if m.user.is_none() {
        m.user = m.tags.get("mlflow.user").cloned();
    }
    // Artifacts: where artifact_uri points if that is inside the project, else the default folder.
    // A run logged through `mlflow server` keeps them in the server's mlartifacts/ beside mlruns/.
    let server_dir = exp.dir.parent().and_then(Path::parent).unwrap_or(ctx.root);
    let server = m.artifact_uri.as_deref().and_then(crate::paths::mlflow_artifacts);
    let art = match (&server, m.artifact_uri.as_deref().filter(|u| !u.trim().is_empty())) {
        (Some(loc), _) => crate::paths::resolve_in_project(ctx.root, server_dir, loc),
        (None, Some(u)) => crate::paths::resolve_in_project(ctx.root, run_dir, u),
        (None, None) => Some(run_dir.join("artifacts")).filter(|d| ctx.fs.is_dir(d)),
    };
    // A server's run that never logged an artifact has no folder in mlartifacts/: no warning. A
    // missing mlartifacts/ is said once for the whole store (list_store).
    if let Some(u) = m.artifact_uri.as_ref().filter(|_| server.is_none()) {
        // The default location (<run>/artifacts) of a run that never logged an artifact may be
        // missing (git does not keep empty folders): that is no problem worth a warning.
        let run_name = run_dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let default_missing =
            crate::paths::ends_with(u, &[run_name, "artifacts"]) && !ctx.fs.exists(&run_dir.join("artifacts"));
        if art.is_none() && !u.is_empty() && !default_missing {
            diags
                .push(None, format!("artifact location {:?} is outside the project or missing: not read", truncate(u)));
        }
    }
    if let Some(dir) = art {
        let rel_art = ctx.rel(&dir);
        // The run's own artifacts folder was listed by the walk.
        m.artifacts = if dir == run_dir.join("artifacts") {
            walk.artifacts.clone()
        } else {
            ctx.list_files(&dir, diags, &rel_art)
        };
        for a in &m.artifacts {
            if a.path == "MLmodel" || a.path.ends_with("/MLmodel") {
                let model_dir = dir.join(a.path.trim_end_matches("MLmodel"));
                let name = a.path.trim_end_matches("MLmodel").trim_end_matches('/').to_string();
                let mut lm = LoggedModel { name, dir: Some(ctx.rel(&model_dir)), ..Default::default() };
                read_mlmodel(ctx, &model_dir, &mut lm, diags);
                lm.files = m.artifacts.iter().filter(|f| f.path.starts_with(&lm.name)).cloned().collect();
                m.models.push(lm);
            }
        }
        m.artifact_dir = Some(rel_art);
    }
    m.inputs = read_inputs(ctx, exp, run_dir, diags);
    m.models.extend(read_outputs(ctx, exp, run_dir, diags));
    Some(m)
}

fn read_inputs(ctx: &Ctx, exp: &Experiment, run_dir: &Path, diags: &mut Diags) -> Vec<DatasetInput> {
    let mut out = Vec::new();
    let Ok(entries) = ctx.fs.list(&run_dir.join("inputs")) else {
        return out;
    };
    for d in entries.into_iter().filter(|e| e.is_dir()).map(|e| e.path) {
        let Ok(text) = ctx.read_small(&d.join("meta.yaml")) else {
            continue;
        };
        let v = match yaml(&text) {
            Ok(v) => v,
            Err(e) => {
                diags.push(None, format!("{}: {e}", d.join("meta.yaml").display()));
                continue;
            }
        };
        if str_field(&v, "source_type").as_deref() != Some("DATASET") {
            continue;
        }
        let mut input = DatasetInput::default();
        if let Some(Value::Object(tags)) = v.get("tags") {
            for (k, t) in tags {
                let t = t.as_str().map(String::from).unwrap_or_else(|| t.to_string());
                if k == "mlflow.data.context" {
                    input.context = Some(t.clone());
                }
                input.tags.insert(k.clone(), t);
            }
        }
        if let Some(id) = str_field(&v, "source_id") {
            let Some(part) = crate::paths::component(&id) else {
                diags.push(None, format!("dataset id {:?} is not a plain name: not read", truncate(&id)));
                out.push(input);
                continue;
            };
            let ds = exp.dir.join("datasets").join(part).join("meta.yaml");
            match ctx.read_small(&ds).map_err(|e| e.to_string()).and_then(|t| yaml(&t)) {
                Ok(dv) => {
                    input.name = str_field(&dv, "name").unwrap_or_default();
                    input.digest = str_field(&dv, "digest").unwrap_or_default();
                    input.source_type = str_field(&dv, "source_type").unwrap_or_default();
                    input.source = str_field(&dv, "source").unwrap_or_default();
                }
                Err(e) => diags.push(None, format!("dataset {}: {e}", truncate(&id))),
            }
        }
        out.push(input);
    }
    out
}

fn read_outputs(ctx: &Ctx, exp: &Experiment, run_dir: &Path, diags: &mut Diags) -> Vec<LoggedModel> {
    let mut out = Vec::new();
    let Ok(entries) = ctx.fs.list(&run_dir.join("outputs")) else {
        return out;
    };
    for d in entries.into_iter().filter(|e| e.is_dir()).map(|e| e.path) {
        let Ok(text) = ctx.read_small(&d.join("meta.yaml")) else {
            continue;
        };
        let Ok(v) = yaml(&text) else {
            diags.push(None, format!("{}: invalid YAML", d.join("meta.yaml").display()));
            continue;
        };
        let Some(model_id) = str_field(&v, "source_id").or_else(|| str_field(&v, "destination_id")) else {
            continue;
        };
        let mut lm = LoggedModel { model_id: model_id.clone(), step: int_field(&v, "step"), ..Default::default() };
        let Some(part) = crate::paths::component(&model_id) else {
            diags.push(None, format!("logged model id {:?} is not a plain name: not read", truncate(&model_id)));
            out.push(lm);
            continue;
        };
        let model_dir = exp.dir.join("models").join(part);
        if let Ok(t) = ctx.read_small(&model_dir.join("meta.yaml")) {
            if let Ok(mv) = yaml(&t) {
                lm.name = str_field(&mv, "name").unwrap_or_default();
            }
        }
        let art = model_dir.join("artifacts");
        if ctx.fs.is_dir(&art) {
            let rel = ctx.rel(&art);
            lm.files = ctx.list_files(&art, diags, &rel);
            read_mlmodel(ctx, &art, &mut lm, diags);
            lm.dir = Some(rel);
        }
        out.push(lm);
    }
    out
}

/// Reads an MLmodel file as text: flavors and signature. The model itself is never loaded.
pub(crate) fn read_mlmodel(ctx: &Ctx, model_dir: &Path, lm: &mut LoggedModel, diags: &mut Diags) {
    let Ok(text) = ctx.read_small(&model_dir.join("MLmodel")) else {
        return;
    };
    match yaml(&text) {
        Ok(v) => {
            if let Some(Value::Object(f)) = v.get("flavors") {
                lm.flavors = f.keys().cloned().collect();
            }
            if let Some(sig) = v.get("signature") {
                lm.signature_inputs = str_field(sig, "inputs");
                lm.signature_outputs = str_field(sig, "outputs");
            }
            if lm.model_id.is_empty() {
                lm.model_id = str_field(&v, "model_id").or_else(|| str_field(&v, "model_uuid")).unwrap_or_default();
            }
        }
        Err(e) => diags.push(None, format!("MLmodel: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass parser agrees with the careful one wherever it answers, and leaves everything
    /// unusual to it.
    #[test]
    fn fast_and_careful_line_parsers_agree() {
        let lines = [
            "1700000000000 0.5 3",
            "1700000000000 -0.5 0",
            "1 nan 2",
            "1 inf 2",
            "1 -inf 2",
            "1 1e-300 2",
            "1 5 -3",
            "1 0.1 50.0",
            "1 0.1",
            "1 0.1 2 3",
            "x 0.1 2",
            "1 abc 2",
            "1  0.1 2",
            "1 0.1 2\r",
            "",
            "1 0.1 99999999999999999999",
            "1 1.7976931348623157e308 2",
            "12345678901234567 2.5 1",
        ];
        for l in lines {
            let with_nl = format!("{l}\n");
            let careful = parse_metric_line(l.trim_end_matches('\r').as_bytes());
            match fast_line(with_nl.as_bytes()) {
                Some((p, used)) => {
                    assert_eq!(used, with_nl.len(), "{l:?}");
                    let c = careful.unwrap_or_else(|e| panic!("{l:?}: fast said ok, careful said {e}"));
                    assert_eq!(
                        (p.step, p.value.to_bits(), p.ts.to_bits()),
                        (c.step, c.value.to_bits(), c.ts.to_bits()),
                        "{l:?}"
                    );
                }
                None => assert!(
                    careful.is_err() || l.ends_with('\r') || l.split(' ').nth(2).is_none() || l.contains("99999"),
                    "{l:?} should be fast"
                ),
            }
        }
        let mut d = Diags::new("m");
        let (pts, used, lines, _) = parse_metric_file(b"1 0.5 0\n2 0.25 1\r\nbad\n3 nan 2\n4 0.1", 1, false, &mut d);
        assert_eq!((pts.len(), used, lines), (3, 30, 4));
        assert_eq!(d.finish(true).items.iter().map(|x| x.line).collect::<Vec<_>>(), vec![Some(3)]);
    }
}
