//! W&B runs: `wandb/offline-run-<date>_<time>-<id>/` (offline mode, which W&B itself cannot show
//! without syncing to a server) and `wandb/run-<date>_<time>-<id>/` (online mode). A run is its
//! folder; everything comes from its transaction log `run-<id>.wandb` (framing in
//! `wandb_log.rs`, messages in `wandb_proto.rs`, the format in tests/fixtures/wandb/README.md).
//!
//! - id = the W&B run id, path = the folder. A resumed run gets a new folder with the same id:
//!   two runs in Runlens (as two sessions), found by path; `runlens show ID` lists both paths.
//! - name = display name, experiment = project. Params = the config replayed (the run record's,
//!   then every config update), flattened with "." (`optimizer.lr`); `_wandb` keys are W&B's own.
//! - Tags: `wandb.tags` (the run's tags, ", "-joined), `mlflow.note.content` (the notes: the
//!   app shows that tag as the run's markdown description, as W&B shows notes), `wandb.group`,
//!   `wandb.job_type`, `wandb.sweep_id`, `wandb.entity`, `wandb.host`, `wandb.mode`
//!   (offline/online, from the folder name), `wandb.resumed`, `wandb.exit_code`.
//! - Status: an exit record with code 0 is finished, another code failed. Without one the run is
//!   running while its log changed in the last `RUNNING_SECS`, else killed (wandb-core writes a
//!   32 KiB block at a time, so a live but quiet run can go minutes without a write). A later scan
//!   turns running into killed even when no file changed.
//! - Times: start = the run record's start time. End = start + the exit record's runtime (whole
//!   seconds), or the last history `_timestamp` when that is later; a killed run ends at its last
//!   `_timestamp`; a running one has no end.
//! - Metrics: every numeric history value; nested keys are joined with "/" (`eval/top1`, as
//!   JSONL's nested objects). Step = `_step` (else the row's step), time = `_timestamp`. Strings,
//!   bools, None, lists and media are skipped. `value_json` is preferred; the typed values of
//!   `x_history_value_encoding="json,typed"` are the fallback.
//! - Summary: a numeric summary key that no history row has (`run.summary["best"] = x`) becomes a
//!   metric with one point at the last history step, with no time. Summary values of history keys
//!   (a `define_metric` min, a hand-set override) are not used: the metric's last value is the
//!   history's last value.
//! - `files/config.yaml` and `files/wandb-summary.json` (written by online runs and by older
//!   versions; wandb 0.31 offline writes neither) add keys the log does not have: the log wins.
//! - The log is read from where the last scan stopped (the end of the last whole record). A record
//!   not yet complete waits; a file that shrank or was replaced is read again from the start.
//!   A damaged chunk loses its record, an impossible chunk header the rest of its 32 KiB block;
//!   both are counted in one warning naming the first one's byte offset. A file that does not
//!   start with W&B's header is not read, with one warning.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::Metadata;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use prost::Message;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::jsonl::quote_non_finite;
use super::wandb_log::{Log, Next, FILE_HEADER};
use super::wandb_proto::{HistoryItem, HistoryRecord, Record, RunRecord, UpdateRecord};
use super::{flatten_into, yaml, Ctx, Diags, FileUpdate, KeyedPoints, RunOut, UnitOut};
use crate::files::{Kind, ProjectFs};
use crate::model::{Point, RunMeta, Source, Status};
use crate::tail::{self, FileState};

/// A run without an exit record whose log changed less than this long ago is running.
pub const RUNNING_SECS: u64 = 15 * 60;

const CONFIG_FILE: &str = "files/config.yaml";
const SUMMARY_FILE: &str = "files/wandb-summary.json";
/// Config and summary paths deeper than this are skipped (they are W&B's flat keys in practice).
const MAX_PATH: usize = 32;

/// A run folder's name, `offline-run-YYYYMMDD_HHMMSS-<id>` or `run-YYYYMMDD_HHMMSS-<id>`:
/// (offline, id).
pub fn run_dir_id(name: &str) -> Option<(bool, &str)> {
    let (offline, rest) = match name.strip_prefix("offline-run-") {
        Some(r) => (true, r),
        None => (false, name.strip_prefix("run-")?),
    };
    let b = rest.as_bytes();
    let ok = b.len() > 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'_'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'-';
    ok.then(|| (offline, &rest[16..]))
}

/// A transaction log's file name (not `run-<id>.wandb.synced`, the marker `wandb sync` leaves).
pub fn is_log_name(name: &str) -> bool {
    name.len() > ".wandb".len() && name.ends_with(".wandb")
}

/// The folder W&B keeps its runs in: `wandb`, or `.wandb` where that exists.
pub fn is_wandb_dir(name: &str) -> bool {
    name == "wandb" || name == ".wandb"
}

/// The run's log: `run-<id>.wandb`, else the first `*.wandb` file by name. Symlinks are not logs.
fn find_log(fs: &ProjectFs, dir: &Path, id: &str) -> Option<(String, Metadata)> {
    if !id.is_empty() {
        let name = format!("run-{id}.wandb");
        if let Ok(md) = fs.stat_file(&dir.join(&name)) {
            return Some((name, md));
        }
    }
    fs.list(dir).ok()?.into_iter().find_map(|e| {
        (e.kind == Kind::File && is_log_name(&e.name)).then_some(())?;
        Some((e.name.clone(), e.metadata().ok()?))
    })
}

/// The run record's fields, merged over the records of the log (a later non-empty value wins:
/// W&B sends the run record again when the name, tags or notes change).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct RunInfo {
    run_id: String,
    entity: String,
    project: String,
    display_name: String,
    notes: String,
    tags: Vec<String>,
    group: String,
    job_type: String,
    sweep_id: String,
    host: String,
    start_ms: Option<i64>,
    resumed: bool,
}

/// Everything read from the log so far, kept in its file state so an append goes on from it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct LogState {
    #[serde(default)]
    run: Option<RunInfo>,
    #[serde(default)]
    config: Map<String, Value>,
    #[serde(default)]
    summary: Map<String, Value>,
    /// (exit code, runtime in seconds) of the exit record.
    #[serde(default)]
    exit: Option<(i32, i32)>,
    #[serde(default)]
    last_step: Option<i64>,
    /// The first and last history `_timestamp`, seconds.
    #[serde(default)]
    first_ts: Option<f64>,
    #[serde(default)]
    last_ts: Option<f64>,
    /// Every history key seen, numeric or not.
    #[serde(default)]
    history_keys: BTreeSet<String>,
    /// The status the index was given, so a later scan notices running turning into killed.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    skipped: u64,
    #[serde(default)]
    first_skip: Option<String>,
    /// Why the file was not read, if it was not.
    #[serde(default)]
    stopped: Option<String>,
}

impl LogState {
    fn skip(&mut self, why: String) {
        self.skipped += 1;
        self.first_skip.get_or_insert(why);
    }
}

fn state_of(st: &FileState) -> LogState {
    serde_json::from_str(&st.extra).unwrap_or_default()
}

/// JSON text as W&B writes it: bare NaN, Infinity and -Infinity become those strings.
fn parse_json(text: &str) -> Option<Value> {
    if text.contains(['N', 'I']) {
        serde_json::from_str(&quote_non_finite(text)).ok()
    } else {
        serde_json::from_str(text).ok()
    }
}

/// A number written as JSON text (or a bare non-finite token); None for anything else.
fn json_number(text: &str) -> Option<f64> {
    let t = text.trim();
    match t {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let c = *t.as_bytes().first()?;
    if c.is_ascii_digit() || c == b'-' {
        serde_json::from_str::<f64>(t).ok()
    } else {
        None
    }
}

/// A history value as a number: `value_json` first, then the typed encoding.
fn item_number(it: &HistoryItem) -> Option<f64> {
    if !it.value_json.is_empty() {
        return json_number(&it.value_json);
    }
    if let Some(x) = it.number {
        return Some(x);
    }
    if let Some(i) = it.integer {
        return Some(i as f64);
    }
    it.json.as_deref().and_then(json_number)
}

fn item_path(key: &str, nested: &[String]) -> Vec<String> {
    if key.is_empty() {
        nested.to_vec()
    } else {
        vec![key.to_string()]
    }
}

fn set_path(map: &mut Map<String, Value>, path: &[String], v: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut m = map;
    for p in parents {
        let e = m.entry(p.clone()).or_insert_with(|| Value::Object(Map::new()));
        if !e.is_object() {
            *e = Value::Object(Map::new());
        }
        m = e.as_object_mut().expect("an object");
    }
    m.insert(last.clone(), v);
}

fn remove_path(map: &mut Map<String, Value>, path: &[String]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut m = map;
    for p in parents {
        match m.get_mut(p).and_then(Value::as_object_mut) {
            Some(inner) => m = inner,
            None => return,
        }
    }
    m.remove(last);
}

/// Replays config or summary updates, in order: the last write of a path wins.
fn replay(target: &mut Map<String, Value>, rec: &UpdateRecord) {
    for it in &rec.update {
        let path = item_path(&it.key, &it.nested_key);
        if path.is_empty() || path.len() > MAX_PATH {
            continue;
        }
        let v = parse_json(&it.value_json).unwrap_or_else(|| Value::String(it.value_json.clone()));
        set_path(target, &path, v);
    }
    for it in &rec.remove {
        remove_path(target, &item_path(&it.key, &it.nested_key));
    }
}

fn merge_run(st: &mut LogState, r: RunRecord) {
    let info = st.run.get_or_insert_with(RunInfo::default);
    for (to, from) in [
        (&mut info.run_id, r.run_id),
        (&mut info.entity, r.entity),
        (&mut info.project, r.project),
        (&mut info.display_name, r.display_name),
        (&mut info.notes, r.notes),
        (&mut info.group, r.run_group),
        (&mut info.job_type, r.job_type),
        (&mut info.sweep_id, r.sweep_id),
        (&mut info.host, r.host),
    ] {
        if !from.is_empty() {
            *to = from;
        }
    }
    if !r.tags.is_empty() {
        info.tags = r.tags;
    }
    if info.start_ms.is_none() {
        if let Some(t) = r.start_time.filter(|t| t.seconds != 0 || t.nanos != 0) {
            info.start_ms = Some(t.seconds.saturating_mul(1000).saturating_add(t.nanos as i64 / 1_000_000));
        }
    }
    info.resumed |= r.resumed;
    if let Some(c) = &r.config {
        replay(&mut st.config, c);
    }
    if let Some(s) = &r.summary {
        replay(&mut st.summary, s);
    }
}

fn history(st: &mut LogState, h: HistoryRecord, series: &mut KeyedPoints) {
    let mut step = h.step.map(|s| s.num);
    let mut ts = None;
    let mut points: Vec<(String, f64)> = Vec::new();
    for it in &h.item {
        let key = if it.key.is_empty() { it.nested_key.join("/") } else { it.key.clone() };
        match key.as_str() {
            "_step" => {
                if let Some(x) = item_number(it).filter(|x| x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e18) {
                    step = Some(x as i64);
                }
                continue;
            }
            "_timestamp" => {
                ts = item_number(it).filter(|t| t.is_finite());
                continue;
            }
            "_runtime" | "" => continue,
            k if k.starts_with("_wandb") => continue,
            _ => {}
        }
        if let Some(x) = item_number(it) {
            points.push((key.clone(), x));
        }
        if !st.history_keys.contains(&key) {
            st.history_keys.insert(key);
        }
    }
    let step = step.unwrap_or_else(|| st.last_step.map_or(0, |s| s.saturating_add(1)));
    st.last_step = Some(step);
    if let Some(t) = ts {
        st.first_ts.get_or_insert(t);
        st.last_ts = Some(t);
    }
    let ts_ms = ts.map_or(f64::NAN, |t| t * 1000.0);
    for (key, value) in points {
        series.push(&key, Point { step, value, ts: ts_ms });
    }
}

fn apply_record(st: &mut LogState, rec: Record, series: &mut KeyedPoints) {
    if let Some(r) = rec.run {
        merge_run(st, r);
    }
    if let Some(c) = &rec.config {
        replay(&mut st.config, c);
    }
    if let Some(s) = &rec.summary {
        replay(&mut st.summary, s);
    }
    if let Some(e) = rec.exit {
        st.exit = Some((e.exit_code, e.runtime));
    }
    if let Some(h) = rec.history {
        history(st, h, series);
    }
}

/// Reads the log from `from` (0: from the start, with a fresh `st`) to the size in `md`, into
/// `st` and `series`. Returns the offset to resume at.
fn read_log(
    fs: &ProjectFs,
    path: &Path,
    md: &Metadata,
    from: u64,
    st: &mut LogState,
    series: &mut KeyedPoints,
) -> std::io::Result<u64> {
    let end = md.len();
    let mut file = fs.open(path)?;
    st.stopped = None;
    let start = if from == 0 {
        let mut head = Vec::with_capacity(7);
        (&mut file).take(7.min(end)).read_to_end(&mut head)?;
        if head[..] != FILE_HEADER[..head.len()] {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            st.stopped = Some(format!(
                "not a W&B log: it starts with {hex}, not 3a572642e1be00 (\":W&B\", 0xBEE1, version 0); not read"
            ));
            return Ok(0);
        }
        if head.len() < 7 {
            st.stopped = Some(if head.is_empty() {
                "the log is empty (0 bytes): wandb wrote nothing to it; the run's status is a guess from the file's age"
                    .to_string()
            } else {
                format!("the log has only {} bytes, not yet a whole W&B header: nothing read", head.len())
            });
            return Ok(0);
        }
        7
    } else {
        file.seek(SeekFrom::Start(from))?;
        from
    };
    let mut log = Log::new(BufReader::with_capacity(1 << 16, file.take(end.saturating_sub(start))), start, end);
    while let Next::Record { at, data } = log.next_record()? {
        let decoded = Record::decode(data);
        for (_, why) in log.take_skips() {
            st.skip(why);
        }
        match decoded {
            Ok(rec) => apply_record(st, rec, series),
            Err(e) => st.skip(format!("the record at byte {at} is not a valid W&B record ({e})")),
        }
    }
    for (_, why) in log.take_skips() {
        st.skip(why);
    }
    Ok(log.offset)
}

/// The two fields of a log's state an unchanged file needs, read without the rest.
#[derive(Default, Deserialize)]
struct Quick {
    #[serde(default)]
    exit: Option<(i32, i32)>,
    #[serde(default)]
    status: Option<String>,
}

/// The files of a run folder the index holds states for: the log, and the W&B files it read.
fn unit_files(unit: &str, log_rel: &str, ctx: &Ctx) -> Vec<String> {
    let mut files = vec![log_rel.to_string()];
    files.extend(
        [CONFIG_FILE, SUMMARY_FILE].map(|n| format!("{unit}/{n}")).into_iter().filter(|f| ctx.prev.contains_key(f)),
    );
    files
}

fn status_of(exit: Option<(i32, i32)>, md: &Metadata, now: std::time::SystemTime) -> Status {
    match exit {
        Some((0, _)) => Status::Finished,
        Some(_) => Status::Failed,
        None => {
            // A modification time in the future counts as recent.
            let recent = md
                .modified()
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_none_or(|age| age.as_secs() < RUNNING_SECS);
            if recent {
                Status::Running
            } else {
                Status::Killed
            }
        }
    }
}

/// Numeric summary values under keys no history row has: (key joined with "/", value).
fn summary_only(prefix: &str, m: &Map<String, Value>, history_keys: &BTreeSet<String>, out: &mut Vec<(String, f64)>) {
    for (k, v) in m {
        if prefix.is_empty() && k.starts_with('_') {
            continue; // _wandb, _runtime, _step, _timestamp
        }
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}/{k}") };
        if history_keys.contains(&key) {
            continue; // a history key, or a define_metric summary ({"min": x}) of one
        }
        match v {
            Value::Object(inner) if !inner.contains_key("_type") => summary_only(&key, inner, history_keys, out),
            Value::Number(n) => out.extend(n.as_f64().map(|x| (key, x))),
            Value::String(s) => out.extend(json_number(s).filter(|x| !x.is_finite()).map(|x| (key, x))),
            _ => {}
        }
    }
}

/// What `files/config.yaml` and `files/wandb-summary.json` add to the log's config and summary.
#[derive(Default)]
struct Files {
    config: Map<String, Value>,
    summary: Map<String, Value>,
}

fn read_files(ctx: &Ctx, dir: &Path, unit: &str, out: &mut UnitOut, files: &mut Files) {
    for name in [CONFIG_FILE, SUMMARY_FILE] {
        let path = dir.join(name);
        let rel = format!("{unit}/{name}");
        let md = match ctx.fs.stat_file(&path) {
            Ok(md) => md,
            Err(e) => {
                if crate::files::is_link_error(&e) {
                    let mut d = Diags::new(rel.clone());
                    d.push(None, "symlink not followed");
                    out.diags.push(d.finish(true));
                }
                continue;
            }
        };
        let mut d = Diags::new(rel.clone());
        let parsed = ctx.read_small(&path).map_err(|e| format!("cannot read: {e}")).and_then(|text| {
            if name == CONFIG_FILE {
                yaml(&text)
            } else {
                parse_json(&text).ok_or_else(|| "invalid JSON".to_string())
            }
        });
        match parsed {
            Ok(Value::Object(m)) if name == CONFIG_FILE => {
                for (k, v) in m {
                    if k == "wandb_version" || k.starts_with("_wandb") {
                        continue;
                    }
                    // W&B's shape is {key: {desc: ..., value: v}}.
                    let v = match v {
                        Value::Object(mut o) if o.contains_key("value") => o.remove("value").unwrap_or(Value::Null),
                        other => other,
                    };
                    files.config.insert(k, v);
                }
            }
            Ok(Value::Object(m)) => files.summary = m,
            Ok(_) => d.push(None, "not a mapping: not read"),
            Err(e) => d.push(None, e),
        }
        out.diags.push(d.finish(true));
        out.states.push((
            rel,
            Some(FileState {
                size: md.len(),
                mtime_ns: tail::mtime_ns(&md),
                file_id: tail::file_id(&md),
                ..Default::default()
            }),
        ));
    }
}

fn build_meta(st: &LogState, files: &Files, status: Status, offline: bool, fallback_id: &str) -> RunMeta {
    let info = st.run.clone().unwrap_or_default();
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut params = BTreeMap::new();
    let config = st.config.iter().chain(files.config.iter().filter(|(k, _)| !st.config.contains_key(*k)));
    for (k, v) in config {
        if !k.starts_with("_wandb") {
            flatten_into(k, v, &mut params);
        }
    }
    let mut tags = BTreeMap::new();
    if !info.tags.is_empty() {
        tags.insert("wandb.tags".to_string(), info.tags.join(", "));
    }
    for (k, v) in [
        ("mlflow.note.content", &info.notes),
        ("wandb.group", &info.group),
        ("wandb.job_type", &info.job_type),
        ("wandb.sweep_id", &info.sweep_id),
        ("wandb.entity", &info.entity),
        ("wandb.host", &info.host),
    ] {
        if !v.is_empty() {
            tags.insert(k.to_string(), v.clone());
        }
    }
    tags.insert("wandb.mode".into(), if offline { "offline" } else { "online" }.into());
    if info.resumed {
        tags.insert("wandb.resumed".into(), "true".into());
    }
    if let Some((code, _)) = st.exit {
        tags.insert("wandb.exit_code".into(), code.to_string());
    }
    let ms = |t: f64| (t * 1000.0) as i64;
    let start_time = info.start_ms.or(st.first_ts.map(ms));
    let last = st.last_ts.map(ms);
    let end_time = match (status, st.exit) {
        (Status::Running, _) => None,
        (_, Some((_, runtime))) => match (start_time.map(|s| s.saturating_add(runtime as i64 * 1000)), last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        _ => last,
    };
    RunMeta {
        id: nonempty(&info.run_id).unwrap_or_else(|| fallback_id.to_string()),
        name: nonempty(&info.display_name),
        experiment: nonempty(&info.project),
        status: Some(status),
        start_time,
        end_time,
        params,
        tags,
        ..Default::default()
    }
}

pub fn read(ctx: &Ctx, dir: &Path) -> UnitOut {
    let unit = ctx.rel(dir);
    let mut out = UnitOut { unit: unit.clone(), ..Default::default() };
    let dir_name = dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let (offline, dir_id) = run_dir_id(&dir_name).unwrap_or((false, ""));
    let Some((log_name, md)) = find_log(ctx.fs, dir, dir_id) else { return out };
    let log_rel = format!("{unit}/{log_name}");
    let log_path: PathBuf = dir.join(&log_name);
    let summary_owner = format!("{log_rel}#summary");
    let mut run = RunOut {
        path: unit.clone(),
        source: Source::Wandb,
        meta: None,
        files: Vec::new(),
        series_files: vec![log_rel.clone(), summary_owner.clone()],
    };

    let prev = ctx.prev.get(&log_rel);
    let log_changed = prev.is_none_or(|p| !tail::unchanged(p, &md));
    let files_changed = [CONFIG_FILE, SUMMARY_FILE].iter().any(|name| {
        let md = ctx.fs.stat_file(&dir.join(name)).ok();
        match (ctx.prev.get(&format!("{unit}/{name}")), md) {
            (None, None) => false,
            (Some(p), Some(md)) => !tail::unchanged(p, &md),
            _ => true,
        }
    });

    if !log_changed && !files_changed {
        // Only the status can have changed (running turns killed as time passes).
        let p = prev.expect("an unchanged file has a state");
        let quick: Quick = serde_json::from_str(&p.extra).unwrap_or_default();
        if quick.status.as_deref() == Some(status_of(quick.exit, &md, ctx.now).as_str()) {
            out.untouched = true;
            out.states = unit_files(&unit, &log_rel, ctx).into_iter().map(|f| (f, None)).collect();
            out.runs.push(run);
            return out;
        }
    }

    let mut st;
    let mut log_update = None;
    let mut state: FileState;
    if log_changed {
        let (from, prev_st) = match prev {
            Some(p) => match ctx.fs.open(&log_path).and_then(|mut h| tail::resume_offset(&mut h, p, &md)) {
                Ok(Some(off)) if off > 0 => (off, state_of(p)),
                _ => (0, LogState::default()),
            },
            None => (0, LogState::default()),
        };
        st = prev_st;
        let mut series = KeyedPoints::default();
        let offset = match read_log(ctx.fs, &log_path, &md, from, &mut st, &mut series) {
            Ok(off) => off,
            Err(e) => {
                // Nothing of this read is kept: the next scan tries again.
                let mut d = Diags::new(log_rel.clone());
                d.push(None, format!("cannot read: {e}"));
                out.diags.push(d.finish(true));
                out.states = unit_files(&unit, &log_rel, ctx).into_iter().map(|f| (f, None)).collect();
                out.runs.push(run);
                return out;
            }
        };
        let mut d = Diags::new(log_rel.clone());
        if st.skipped > 0 {
            let first = st.first_skip.as_deref().unwrap_or("");
            d.push(None, format!("{} damaged part(s) skipped; the first: {first}", st.skipped));
        }
        if let Some(why) = &st.stopped {
            d.push(None, why.clone());
        }
        out.diags.push(d.finish(true));
        let guard = ctx.fs.open(&log_path).and_then(|mut h| tail::guard_before(&mut h, offset)).unwrap_or_default();
        state = FileState {
            size: md.len(),
            mtime_ns: tail::mtime_ns(&md),
            file_id: tail::file_id(&md),
            offset,
            lines: 0,
            guard,
            pending: false,
            partial: false,
            extra: String::new(),
        };
        log_update = Some(FileUpdate { file: log_rel.clone(), replace: from == 0, series: series.into_vec() });
    } else {
        let p = prev.expect("an unchanged file has a state");
        st = state_of(p);
        state = p.clone();
    }
    let status = status_of(st.exit, &md, ctx.now);
    let mut files = Files::default();
    read_files(ctx, dir, &unit, &mut out, &mut files);
    st.status = Some(status.as_str().to_string());
    state.extra = serde_json::to_string(&st).unwrap_or_default();
    out.states.push((log_rel, Some(state)));

    // Summary-only keys: one point at the last step, replaced on every read.
    let mut summary = st.summary.clone();
    for (k, v) in &files.summary {
        if !summary.contains_key(k) {
            summary.insert(k.clone(), v.clone());
        }
    }
    let mut only = Vec::new();
    summary_only("", &summary, &st.history_keys, &mut only);
    let step = st.last_step.unwrap_or(0);
    run.files.push(FileUpdate {
        file: summary_owner,
        replace: true,
        series: only.into_iter().map(|(k, value)| (k, vec![Point { step, value, ts: f64::NAN }])).collect(),
    });
    run.files.extend(log_update);
    run.meta = Some(build_meta(&st, &files, status, offline, if dir_id.is_empty() { &unit } else { dir_id }));
    out.runs.push(run);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_folder_names() {
        assert_eq!(run_dir_id("offline-run-20261127_144612-rlfixa001"), Some((true, "rlfixa001")));
        assert_eq!(run_dir_id("run-20261127_144612-a-b_c"), Some((false, "a-b_c")));
        for not in
            ["latest-run", "run-20261127_144612-", "run-2026112_144612-x", "offline-run-20261127-144612-x", "sweep-x"]
        {
            assert_eq!(run_dir_id(not), None, "{not}");
        }
        assert!(is_log_name("run-x.wandb") && !is_log_name("run-x.wandb.synced") && !is_log_name(".wandb"));
    }

    #[test]
    fn values_as_wandb_writes_them() {
        assert_eq!(json_number("1.7957907732456055e+09"), Some(1.7957907732456055e+09));
        assert_eq!(json_number("1.1805916207174113e+21"), Some(1.1805916207174113e+21));
        assert!(json_number("NaN").unwrap().is_nan());
        assert_eq!(json_number("-Infinity"), Some(f64::NEG_INFINITY));
        for not in ["true", "null", "\"3\"", "[1]", "{\"a\":1}", ""] {
            assert_eq!(json_number(not), None, "{not}");
        }
        assert_eq!(
            parse_json(r#"{"min":NaN,"s":"NaN Infinity"}"#).unwrap(),
            serde_json::json!({"min": "NaN", "s": "NaN Infinity"})
        );
    }

    #[test]
    fn summary_only_keys_skip_history_keys_and_their_summaries() {
        let summary = parse_json(
            r#"{"_wandb":{"runtime":1},"_step":3,"loss":0.5,"val/loss":{"min":0.1},"best":0.9,
                "eval":{"top1":0.9,"extra":2},"img":{"_type":"image-file","width":3},"note":"x","bad":-Infinity}"#,
        )
        .unwrap();
        let keys: BTreeSet<String> = ["loss", "val/loss", "eval/top1"].map(String::from).into();
        let mut out = Vec::new();
        summary_only("", summary.as_object().unwrap(), &keys, &mut out);
        let got: Vec<String> = out.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(got, ["bad=-inf", "best=0.9", "eval/extra=2"]);
    }
}
