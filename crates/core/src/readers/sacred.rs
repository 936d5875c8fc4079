//! Sacred's FileStorageObserver: `<basedir>/<id>/` holds `run.json` (status, times, host, command,
//! result, experiment), `config.json`, `metrics.json` (`{name: {steps, values, timestamps}}`),
//! `cout.txt` and the run's artifacts. `<basedir>/_sources` and `_resources` are not runs.
//!
//! Sacred rewrites run.json and metrics.json whole at every heartbeat, so they are read whole when
//! they change: metrics.json's series are replaced, never appended to. Times are ISO 8601 without
//! an offset, in UTC (`datetime.utcnow()`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::mlflow_files::truncate;
use super::{
    flatten_into, iso_ms, join_rel, json_lenient, number, stat_state, Ctx, Diags, FileUpdate, RunOut, UnitOut,
};
use crate::files::Kind;
use crate::model::{Artifact, Point, RunMeta, Source, Status};

/// A folder is a Sacred run when it holds both files Sacred writes when a run starts (or is queued).
pub fn is_run_dir(has: impl Fn(&str) -> bool) -> bool {
    has("run.json") && has("config.json")
}

/// The folders beside the runs that hold copies of sources and resources.
pub const SIDE_DIRS: &[&str] = &["_sources", "_resources"];

/// metrics.json grows with the run and is rewritten whole; it may be far bigger than metadata.
pub const MAX_METRICS_BYTES: u64 = 512 << 20;

pub fn read(ctx: &Ctx, dir: &Path) -> UnitOut {
    let unit = ctx.rel(dir);
    let mut out = UnitOut { unit: unit.clone(), ..Default::default() };
    let mut listing = Diags::new(unit.clone());
    let metrics_rel = join_rel(&unit, "metrics.json");
    let mut run =
        RunOut { path: unit.clone(), source: Source::Sacred, meta: None, files: Vec::new(), series_files: Vec::new() };

    // The run folder's own files: each one's size, mtime and id tell whether anything changed.
    let mut files: Vec<(String, std::fs::Metadata)> = Vec::new();
    match ctx.fs.list(dir) {
        Ok(entries) => {
            for ent in entries {
                match ent.kind {
                    Kind::File => match ent.metadata() {
                        Ok(md) => files.push((ent.name, md)),
                        Err(e) => listing.push(None, format!("cannot read {}: {e}", ent.name)),
                    },
                    Kind::Link => listing.push(None, format!("symlink not followed: {}", join_rel(&unit, &ent.name))),
                    Kind::BadName => {
                        listing.push(None, format!("skipped a name that is not valid UTF-8: {:?}", ent.name))
                    }
                    Kind::Dir | Kind::Other => {}
                }
            }
        }
        Err(_) => return out, // gone mid-scan: the run disappears
    }
    if files.iter().any(|(n, _)| n == "metrics.json") {
        run.series_files.push(metrics_rel.clone());
    }
    let rel = |name: &str| join_rel(&unit, name);
    let unchanged = files.len() == ctx.prev.len()
        && files.iter().all(|(n, md)| ctx.prev.get(&rel(n)).is_some_and(|p| crate::tail::unchanged(p, md)));
    if unchanged {
        out.untouched = true;
        out.states = files.iter().map(|(n, _)| (rel(n), None)).collect();
        out.runs.push(run);
        return out;
    }

    let mut meta = RunMeta { id: unit.clone(), ..Default::default() };
    let folder = dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();

    // run.json: the experiment, status, times and a few facts as tags.
    let mut rd = Diags::new(rel("run.json"));
    match ctx.read_small(&dir.join("run.json")).map_err(|e| e.to_string()).and_then(|t| json_lenient(&t)) {
        Ok(Value::Object(r)) => {
            let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
            meta.experiment = s(r.get("experiment").and_then(|e| e.get("name")));
            if meta.experiment.is_none() {
                rd.push(None, "no experiment.name: not a Sacred run.json?");
            }
            if let Some(st) = s(r.get("status")) {
                meta.status = Status::from_sacred(&st);
                if meta.status.is_none() {
                    rd.push(None, format!("unknown status {:?}", truncate(&st)));
                }
            }
            let mut time = |key: &str| -> Option<i64> {
                let text = s(r.get(key))?;
                let ms = iso_ms(&text);
                if ms.is_none() {
                    rd.push(None, format!("{key} is not an ISO 8601 time: {:?}", truncate(&text)));
                }
                ms.map(|m| m.floor() as i64)
            };
            meta.start_time = time("start_time");
            meta.end_time = time("stop_time");
            if let Some(c) = s(r.get("command")) {
                meta.tags.insert("sacred.command".into(), c);
            }
            if let Some(h) = s(r.get("host").and_then(|h| h.get("hostname"))) {
                meta.tags.insert("sacred.host".into(), h);
            }
            if let Some(c) = s(r.get("meta").and_then(|m| m.get("comment"))) {
                meta.tags.insert("sacred.comment".into(), c);
            }
            match r.get("result") {
                None | Some(Value::Null) => {}
                Some(Value::String(v)) => {
                    meta.tags.insert("sacred.result".into(), v.clone());
                }
                Some(v) => {
                    meta.tags.insert("sacred.result".into(), v.to_string());
                }
            }
            // The exception of a failed run: the last line of the traceback.
            let last = r.get("fail_trace").and_then(Value::as_array).and_then(|t| t.last()).and_then(Value::as_str);
            if let Some(line) = last.map(str::trim).filter(|l| !l.is_empty()) {
                meta.tags.insert("sacred.error".into(), line.to_string());
            }
        }
        Ok(_) => rd.push(None, "not a JSON object"),
        Err(e) => rd.push(None, e),
    }
    out.diags.push(rd.finish(true));
    let exp = meta.experiment.clone();
    meta.name = Some(match &exp {
        Some(e) => format!("{e} #{folder}"),
        None => folder.clone(),
    });

    // config.json: the params, flattened with ".".
    let mut cd = Diags::new(rel("config.json"));
    match ctx.read_small(&dir.join("config.json")).map_err(|e| e.to_string()).and_then(|t| json_lenient(&t)) {
        Ok(v @ Value::Object(_)) => {
            let mut params = BTreeMap::new();
            flatten_into("", &v, &mut params);
            meta.params = params;
        }
        Ok(_) => cd.push(None, "not a JSON object"),
        Err(e) => cd.push(None, e),
    }
    out.diags.push(cd.finish(true));

    // Every file of the run folder is one of its files (cout.txt, artifacts, the JSON files).
    meta.artifacts = files.iter().map(|(n, md)| Artifact { path: n.clone(), size: md.len() }).collect();
    meta.artifact_dir = Some(unit.clone());

    // metrics.json: read again only when it changed; its series are replaced.
    if let Some((_, md)) = files.iter().find(|(n, _)| n == "metrics.json") {
        let changed = !ctx.prev.get(&metrics_rel).is_some_and(|p| crate::tail::unchanged(p, md));
        if changed {
            let mut md_diags = Diags::new(metrics_rel.clone());
            let series = read_metrics(ctx, &dir.join("metrics.json"), &mut md_diags);
            out.diags.push(md_diags.finish(true));
            run.files.push(FileUpdate { file: metrics_rel.clone(), replace: true, series });
        }
    }
    out.states = files.iter().map(|(n, md)| (rel(n), Some(stat_state(md)))).collect();
    out.diags.push(listing.finish(true));
    run.meta = Some(meta);
    out.runs.push(run);
    out
}

/// A value Sacred wrote: a number, a non-finite string, or a numpy scalar jsonpickle wrote as an
/// object with a "value".
fn value_of(v: &Value) -> Option<f64> {
    number(v).or_else(|| v.get("value").and_then(number))
}

fn read_metrics(ctx: &Ctx, path: &Path, diags: &mut Diags) -> Vec<(String, Vec<Point>)> {
    let text = match ctx.fs.read_text(path, MAX_METRICS_BYTES, "metrics.json") {
        Ok(t) => t,
        Err(e) => {
            diags.push(None, format!("cannot read: {e}"));
            return Vec::new();
        }
    };
    let obj = match json_lenient(&text) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            diags.push(None, "not a JSON object");
            return Vec::new();
        }
        Err(e) => {
            diags.push(None, e);
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(obj.len());
    for (name, m) in obj {
        let list = |k: &str| m.get(k).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let (steps, values, stamps) = (list("steps"), list("values"), list("timestamps"));
        if steps.len() != values.len() || (!stamps.is_empty() && stamps.len() != values.len()) {
            diags.push(
                None,
                format!(
                    "{name}: {} steps, {} values, {} timestamps: only the first {} points read",
                    steps.len(),
                    values.len(),
                    stamps.len(),
                    steps.len().min(values.len())
                ),
            );
        }
        let mut points = Vec::with_capacity(values.len());
        let (mut bad_values, mut bad_steps, mut bad_times) = (0usize, 0usize, 0usize);
        for (i, (s, v)) in steps.iter().zip(values).enumerate() {
            let step =
                s.as_i64().or_else(|| s.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64));
            let Some(step) = step else {
                bad_steps += 1;
                continue;
            };
            let Some(value) = value_of(v) else {
                bad_values += 1;
                continue;
            };
            let ts = match stamps.get(i) {
                None | Some(Value::Null) => f64::NAN,
                Some(t) => match t.as_str().and_then(iso_ms) {
                    Some(ms) => ms,
                    None => {
                        bad_times += 1;
                        f64::NAN
                    }
                },
            };
            points.push(Point { step, value, ts });
        }
        if bad_steps > 0 {
            diags.push(None, format!("{name}: {bad_steps} point(s) whose step is not an integer: skipped"));
        }
        if bad_values > 0 {
            diags.push(None, format!("{name}: {bad_values} value(s) that are not numbers: skipped"));
        }
        if bad_times > 0 {
            diags.push(
                None,
                format!("{name}: {bad_times} timestamp(s) that are not ISO 8601 times: read without a time"),
            );
        }
        out.push((name, points));
    }
    out
}
