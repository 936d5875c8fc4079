//! TensorBoard event files. A run is a folder holding `*tfevents*` files, as TensorBoard sees it.
//!
//! - Scalars come as `simple_value` (tensorboardX, torch, TF1) or as a one-element tensor whose tag
//!   was declared with plugin "scalars" (TF2), the declaration arriving only with a tag's first
//!   value: the declared tags are remembered per file, across scans.
//! - A folder's files are read in name order. A `SessionLog` START at step S (tensorboardX's
//!   `purge_step`) drops the points read before it at steps >= S, as TensorBoard does with
//!   `purge_orphaned_data`; so the curves equal TensorBoard's.
//! - hparams (plugin "hparams", session start info) become params. torch's and tensorboardX's
//!   `add_hparams` write them, with their metrics, into a subfolder named by a timestamp: that
//!   subfolder belongs to this run. Lightning's `hparams.yaml` beside the files is read too.
//! - Files are read from where the last scan stopped. A record cut short at the end waits for the
//!   writer; a new START, a shrunk or replaced file, or a file gone re-reads the whole run.
//!   A bad length checksum stops that file with a warning; a bad data checksum, an invalid
//!   protobuf or a NaN wall time skips one record, counted.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::Metadata;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use prost::Message;
use serde::{Deserialize, Serialize};

use super::tb_proto::{Event, HParamsPluginData, SESSION_START};
use super::tfrecord::{Records, Step};
use super::{flatten_into, yaml, Ctx, Diags, FileUpdate, KeyedPoints, RunOut, UnitOut};
use crate::files::{Kind, ProjectFs};
use crate::model::{Point, RunMeta, Source};
use crate::tail::{self, FileState};

/// TensorBoard's own test for an event file.
pub fn is_event_file(name: &str) -> bool {
    name.contains("tfevents")
}

/// The folder `add_hparams` makes: named by `time.time()`, e.g. "1795769632.9573932".
pub fn is_hparams_dir(name: &str) -> bool {
    name.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// Folder names that say which split a run is, not which run: "fit/train" names a Keras run better.
const SPLIT_NAMES: &[&str] = &["train", "training", "validation", "val", "valid", "eval", "evaluation", "test"];

/// What one file contributed, kept in its file state so an append can go on from it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct FileExtra {
    /// Tags this file declared as scalars (plugin "scalars").
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    scalar_tags: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    hparams: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_wall: Option<f64>,
    /// Records skipped (bad data checksum, invalid protobuf, NaN wall time), and the first reason.
    #[serde(default, skip_serializing_if = "is_zero")]
    skipped: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_skip: Option<String>,
    /// Why reading stopped before the end of the file, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

struct EvFile {
    rel: String,
    path: PathBuf,
    md: Metadata,
    /// 0: the run's folder; 1.. an hparams subfolder (its own purge context).
    group: usize,
}

/// A START event met while appending: the whole run must be read again.
struct NeedFull;

/// Reads one file's records from `from` to the size in `md`, into `series`.
/// Returns the new offset, the number of whole records read, and whether it stopped at a piece's
/// end (`tail::PIECE`; only when a restart purge is not allowed, i.e. not a full re-read: a purge
/// may drop points of earlier pieces, so a read that meets one starts again whole).
fn read_file(
    fs: &ProjectFs,
    f: &EvFile,
    from: u64,
    extra: &mut FileExtra,
    scalar_tags: &mut BTreeSet<String>,
    series: &mut KeyedPoints,
    purge_allowed: bool,
) -> std::io::Result<Result<(u64, u64, bool), NeedFull>> {
    let mut file = fs.open(&f.path)?;
    file.seek(SeekFrom::Start(from))?;
    let limit = f.md.len().saturating_sub(from);
    let mut records = Records::new(BufReader::with_capacity(1 << 18, file.take(limit)), from, f.md.len());
    let mut count = 0u64;
    extra.stopped = None;
    loop {
        if !purge_allowed && records.offset - from >= tail::PIECE {
            return Ok(Ok((records.offset, count, true)));
        }
        let (at, data) = match records.next_record()? {
            Step::Record { at, data } => (at, data),
            Step::End => break,
            Step::Corrupt { at, len } => {
                count += 1;
                extra.skipped += 1;
                extra
                    .first_skip
                    .get_or_insert_with(|| format!("a record of {len} bytes at byte {at} fails its data checksum"));
                continue;
            }
            Step::Broken { at, why } => {
                extra.stopped = Some(format!("{why} at byte {at}: the rest of the file is not read"));
                break;
            }
        };
        count += 1;
        let ev = match Event::decode(data) {
            Ok(ev) => ev,
            Err(e) => {
                extra.skipped += 1;
                extra.first_skip.get_or_insert_with(|| format!("the record at byte {at} is not a valid event ({e})"));
                continue;
            }
        };
        if ev.wall_time.is_nan() {
            extra.skipped += 1;
            extra.first_skip.get_or_insert_with(|| format!("the event at byte {at} has a NaN wall time"));
            continue;
        }
        if extra.first_wall.is_none() {
            extra.first_wall = Some(ev.wall_time);
        }
        if ev.session_log.as_ref().is_some_and(|s| s.status == SESSION_START) {
            if !purge_allowed {
                return Ok(Err(NeedFull));
            }
            series.retain_before(ev.step);
        }
        let Some(summary) = ev.summary else { continue };
        let ts = ev.wall_time * 1000.0;
        for v in summary.value {
            if let Some(pd) = v.metadata.as_ref().and_then(|m| m.plugin_data.as_ref()) {
                match pd.plugin_name.as_str() {
                    "scalars" if !scalar_tags.contains(&v.tag) => {
                        scalar_tags.insert(v.tag.clone());
                        extra.scalar_tags.insert(v.tag.clone());
                    }
                    "hparams" => {
                        if let Some(start) =
                            HParamsPluginData::decode(&pd.content[..]).ok().and_then(|h| h.session_start_info)
                        {
                            for (k, val) in start.hparams {
                                if let Some(s) = val.as_param() {
                                    extra.hparams.insert(k, s);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            let value = match (v.simple_value, &v.tensor) {
                (Some(x), _) => x as f64,
                (None, Some(t)) if scalar_tags.contains(&v.tag) => match t.scalar() {
                    Some(x) => x,
                    None => continue,
                },
                _ => continue,
            };
            series.push(&v.tag, Point { step: ev.step, value, ts });
        }
    }
    Ok(Ok((records.offset, count, false)))
}

fn list(fs: &ProjectFs, dir: &Path, rel_dir: &str, diags: &mut Diags) -> (Vec<EvFile>, Option<PathBuf>) {
    let mut files = Vec::new();
    let mut hparams_yaml = None;
    let mut subdirs = Vec::new();
    let Ok(entries) = fs.list(dir) else { return (files, None) };
    for ent in entries {
        let name = ent.name.clone();
        if ent.kind == Kind::Dir && is_hparams_dir(&name) {
            subdirs.push(name);
        } else if ent.kind == Kind::Link && (is_event_file(&name) || name == "hparams.yaml") {
            diags.push(None, format!("symlink not followed: {}", join_rel(rel_dir, &name)));
        } else if ent.kind == Kind::File && is_event_file(&name) {
            match ent.metadata() {
                Ok(md) => files.push(EvFile { rel: join_rel(rel_dir, &name), path: ent.path, md, group: 0 }),
                Err(e) => diags.push(None, format!("cannot read {name}: {e}")),
            }
        } else if ent.kind == Kind::File && name == "hparams.yaml" {
            hparams_yaml = Some(ent.path);
        }
    }
    for (g, sub) in subdirs.iter().enumerate() {
        let these = fs.list(&dir.join(sub)).unwrap_or_default().into_iter().filter_map(|ent| {
            (ent.kind == Kind::File && is_event_file(&ent.name)).then_some(())?;
            let md = ent.metadata().ok()?;
            Some(EvFile { rel: join_rel(rel_dir, &format!("{sub}/{}", ent.name)), path: ent.path, md, group: g + 1 })
        });
        files.extend(these);
    }
    (files, hparams_yaml)
}

/// A path under the run folder `rel_dir` ("" when the run is the project folder itself).
fn join_rel(rel_dir: &str, name: &str) -> String {
    if rel_dir.is_empty() {
        name.to_string()
    } else {
        format!("{rel_dir}/{name}")
    }
}

/// Whether `file` (a project-relative path) is one this run's folder `unit` would own.
fn owned(unit: &str, file: &str) -> bool {
    let rest = if unit.is_empty() { Some(file) } else { file.strip_prefix(unit).and_then(|r| r.strip_prefix('/')) };
    let Some(rest) = rest else { return false };
    match rest.split_once('/') {
        None => is_event_file(rest),
        Some((sub, name)) => is_hparams_dir(sub) && !name.contains('/') && is_event_file(name),
    }
}

fn extra_of(st: Option<&FileState>) -> FileExtra {
    st.and_then(|s| serde_json::from_str(&s.extra).ok()).unwrap_or_default()
}

/// What one file's read gave: where it started, where it stopped, the records read, and whether it
/// stopped at a piece's end.
type ReadResult = (u64, u64, u64, bool);

fn new_state(fs: &ProjectFs, f: &EvFile, prev: Option<&FileState>, res: ReadResult, extra: &FileExtra) -> FileState {
    let (from, offset, records, partial) = res;
    let guard = fs.open(&f.path).and_then(|mut h| tail::guard_before(&mut h, offset)).unwrap_or_default();
    let lines = if from > 0 { prev.map_or(0, |p| p.lines) } else { 0 } + records;
    FileState {
        size: f.md.len(),
        mtime_ns: tail::mtime_ns(&f.md),
        file_id: tail::file_id(&f.md),
        offset,
        lines,
        guard,
        pending: false,
        partial,
        extra: serde_json::to_string(extra).unwrap_or_default(),
    }
}

fn file_diags(f: &EvFile, extra: &FileExtra) -> super::DiagUpdate {
    let mut d = Diags::new(f.rel.clone());
    if extra.skipped > 0 {
        let first = extra.first_skip.as_deref().unwrap_or("");
        d.push(None, format!("{} record(s) skipped; the first: {first}", extra.skipped));
    }
    if let Some(why) = &extra.stopped {
        d.push(None, why.clone());
    }
    d.finish(true)
}

pub fn read(ctx: &Ctx, dir: &Path) -> UnitOut {
    let unit = ctx.rel(dir);
    let mut out = UnitOut { unit: unit.clone(), ..Default::default() };
    let mut listing_diags = Diags::new(unit.clone());
    let (files, hparams_yaml) = list(ctx.fs, dir, &unit, &mut listing_diags);
    let groups = files.iter().map(|f| f.group).max().map_or(1, |g| g + 1);
    let here: BTreeSet<&str> = files.iter().map(|f| f.rel.as_str()).collect();
    let gone = ctx.prev.keys().any(|k| owned(&unit, k) && !here.contains(k.as_str()));
    let mut run = RunOut {
        path: unit.clone(),
        source: Source::Tensorboard,
        meta: None,
        files: Vec::new(),
        series_files: vec![unit.clone()],
    };

    // Where each file resumes: None = unchanged; Some(0) for a new file.
    let mut resume: Vec<Option<u64>> = Vec::with_capacity(files.len());
    let mut full = gone;
    for f in &files {
        match ctx.prev.get(&f.rel) {
            Some(p) if tail::unchanged(p, &f.md) => resume.push(None),
            Some(p) => match ctx.fs.open(&f.path).and_then(|mut h| tail::resume_offset(&mut h, p, &f.md)) {
                Ok(Some(off)) => resume.push(Some(off)),
                _ => {
                    full = true;
                    resume.push(Some(0));
                }
            },
            None => resume.push(Some(0)),
        }
    }
    if !full && resume.iter().all(Option::is_none) {
        out.untouched = true;
        out.states = files.iter().map(|f| (f.rel.clone(), None)).collect();
        out.runs.push(run);
        return out;
    }

    let mut extras: Vec<FileExtra> = Vec::new();
    let mut results: Vec<Option<ReadResult>> = Vec::new();
    let mut attempt_full = full;
    let merged = loop {
        extras.clear();
        results.clear();
        let mut merged = KeyedPoints::default();
        let mut restart = false;
        // A file read up to a piece's end: the files after it wait for the next piece.
        let mut stopped = false;
        for g in 0..groups {
            let mut series = KeyedPoints::default();
            let mut scalar_tags: BTreeSet<String> = BTreeSet::new();
            if !attempt_full {
                for (i, f) in files.iter().enumerate().filter(|(_, f)| f.group == g) {
                    if resume[i].is_some_and(|o| o > 0) || resume[i].is_none() {
                        scalar_tags.extend(extra_of(ctx.prev.get(&f.rel)).scalar_tags);
                    }
                }
            }
            for (i, f) in files.iter().enumerate() {
                if f.group != g {
                    continue;
                }
                let from = if attempt_full { Some(0) } else { resume[i] };
                let Some(from) = from.filter(|_| !stopped) else {
                    extras.push(extra_of(ctx.prev.get(&f.rel)));
                    results.push(None);
                    continue;
                };
                let mut extra = if from > 0 { extra_of(ctx.prev.get(&f.rel)) } else { FileExtra::default() };
                match read_file(ctx.fs, f, from, &mut extra, &mut scalar_tags, &mut series, attempt_full) {
                    Ok(Ok((offset, records, partial))) => {
                        extras.push(extra);
                        results.push(Some((from, offset, records, partial)));
                        stopped |= partial;
                    }
                    Ok(Err(NeedFull)) => {
                        restart = true;
                        break;
                    }
                    Err(e) => {
                        listing_diags.push(None, format!("cannot read {}: {e}", f.rel));
                        extras.push(extra);
                        results.push(Some((from, from, 0, false)));
                    }
                }
            }
            if restart {
                break;
            }
            merged.merge(series);
        }
        if !restart {
            break merged;
        }
        attempt_full = true;
    };

    // The run: params from hparams (and Lightning's hparams.yaml), start from the first event.
    let mut params = BTreeMap::new();
    if let Some(p) = &hparams_yaml {
        match ctx.read_small(p).map_err(|e| e.to_string()).and_then(|t| yaml(&t)) {
            Ok(v) => flatten_into("", &v, &mut params),
            Err(e) => listing_diags.push(None, format!("hparams.yaml: {e}")),
        }
    }
    // hparams.yaml (Lightning's) wins: the event files' copy is lossy (bools as 0/1, None as
    // "None"); their keys fill only what the YAML lacks.
    for x in &extras {
        for (k, v) in &x.hparams {
            params.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let start_time = extras.iter().filter_map(|x| x.first_wall).min_by(f64::total_cmp).map(|w| (w * 1000.0) as i64);
    let dir_name = dir.file_name().map(|s| s.to_string_lossy().into_owned());
    let parent = dir.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().into_owned());
    let name = match (&dir_name, &parent) {
        (Some(d), Some(p)) if SPLIT_NAMES.contains(&d.to_ascii_lowercase().as_str()) => Some(format!("{p}/{d}")),
        _ => dir_name.clone(),
    };
    run.meta = Some(RunMeta { id: unit.clone(), name, experiment: parent, start_time, params, ..Default::default() });
    run.files.push(FileUpdate { file: unit.clone(), replace: attempt_full, series: merged.into_vec() });

    for ((f, extra), res) in files.iter().zip(&extras).zip(&results) {
        match res {
            Some(res) => {
                out.more |= res.3;
                out.states.push((f.rel.clone(), Some(new_state(ctx.fs, f, ctx.prev.get(&f.rel), *res, extra))));
                out.diags.push(file_diags(f, extra));
            }
            None => out.states.push((f.rel.clone(), None)),
        }
    }
    out.diags.push(listing_diags.finish(true));
    out.runs.push(run);
    out
}
