//! JSONL metric logs, Runlens's own simplest format: one JSON object per line.
//!
//! ```text
//! {"params": {"model": "bert-base", "lr": 3e-5}, "tags": {"team": "nlp"}}
//! {"step": 0, "timestamp": 1700000000.5, "loss": 2.31, "val": {"acc": 0.41}}
//! ```
//! `params`, `tags` and `name` declare those for the run (a line of only these holds no points).
//! Everything else on a line is a set of points: numbers (nested objects give "a/b" keys) at
//! `step` (or `global_step`, `_step`, `iteration`, `epoch`; without one, the previous step + 1). `timestamp` (or `_timestamp`, `time`, `wall_time`)
//! is seconds or milliseconds since the epoch. NaN and ±Infinity may be bare (as Python's json writes
//! them) or strings.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::csv_log::time_ms;
use super::mlflow_files::{text_lines, truncate};
use super::{flatten_into, number, Ctx, Diags, FileUpdate, RunOut, UnitOut};
use crate::model::{Point, RunMeta, Source};
use crate::tail::{self, Chunk, Consumed};

const STEP_KEYS: &[&str] = &["step", "global_step", "_step", "iteration", "epoch"];
const TIME_KEYS: &[&str] = &["timestamp", "_timestamp", "time", "wall_time"];
/// Keys that declare things about the run rather than log points.
const DECLARATIONS: &[&str] = &["params", "tags", "name"];

/// Carried between scans so an append continues where the file left off.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    next_step: i64,
    /// The first line's time (ms), the run's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_ts: Option<f64>,
    name: Option<String>,
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
}

/// Python's json module writes NaN, Infinity and -Infinity bare: quote them so serde_json reads them.
pub(crate) fn quote_non_finite(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_str = false;
    let mut escaped = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        let mut matched = false;
        for tok in ["-Infinity", "Infinity", "NaN"] {
            if rest.starts_with(tok) {
                out.push('"');
                out.push_str(tok);
                out.push('"');
                rest = &rest[tok.len()..];
                matched = true;
                break;
            }
        }
        if !matched {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The numbers of a JSON value, nested objects giving "a/b" keys; other values are left out.
pub(crate) fn collect_numbers(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}/{k}") };
                collect_numbers(&key, v, out);
            }
        }
        other => {
            if let Some(x) = number(other) {
                out.push((prefix.to_string(), x));
            }
        }
    }
}

pub fn read(ctx: &Ctx, path: &Path) -> UnitOut {
    let file = ctx.rel(path);
    let mut out = UnitOut { unit: file.clone(), ..Default::default() };
    let md = match ctx.fs.stat_file(path) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out, // gone mid-scan
        Err(e) => {
            let mut d = Diags::new(file.clone());
            d.push(None, format!("cannot read: {e}"));
            out.diags.push(d.finish(true));
            return out;
        }
    };
    let prev = ctx.prev.get(&file);
    let mut run = RunOut {
        path: file.clone(),
        source: Source::Jsonl,
        meta: None,
        files: Vec::new(),
        series_files: vec![file.clone()],
    };
    let mut diags = Diags::new(file.clone());
    let chunk = match tail::read_new(ctx.fs, path, prev, &md) {
        Ok(c) => c,
        Err(e) => {
            diags.push(None, format!("cannot read: {e}"));
            out.diags.push(diags.finish(true));
            return out;
        }
    };
    let (bytes, first_line, append, partial) = match chunk {
        Chunk::Unchanged => {
            out.states.push((file, None));
            out.untouched = true;
            out.runs.push(run);
            return out;
        }
        Chunk::Append { bytes, first_line, more } => (bytes, first_line, true, more),
        Chunk::Full { bytes, more } => (bytes, 1, false, more),
    };
    let mut state: State = if append {
        prev.and_then(|p| serde_json::from_str(&p.extra).ok()).unwrap_or_default()
    } else {
        State::default()
    };
    let body = if append { &bytes[..] } else { bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes) };
    let bom = bytes.len() - body.len();
    let complete = tail::complete_prefix(body);
    let take_pending = !partial
        && tail::settled(&md, ctx.now)
        && complete < body.len()
        && !body[complete..].iter().all(|b| b.is_ascii_whitespace());
    let end = if take_pending { body.len() } else { complete };

    let mut keys: Vec<String> = Vec::new();
    let mut series: Vec<Vec<Point>> = Vec::new();
    let mut nums = Vec::new();
    for (this_line, line) in (first_line..).zip(text_lines(&body[..end])) {
        let Ok(text) = std::str::from_utf8(line) else {
            diags.push(Some(this_line), "not valid UTF-8: line skipped");
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(text).or_else(|e| {
            if text.contains("NaN") || text.contains("Infinity") {
                serde_json::from_str::<Value>(&quote_non_finite(text))
            } else {
                Err(e)
            }
        });
        let obj = match parsed {
            Ok(Value::Object(o)) => o,
            Ok(_) => {
                diags.push(Some(this_line), "not a JSON object: line skipped");
                continue;
            }
            Err(e) => {
                diags.push(Some(this_line), format!("invalid JSON ({e}): {:?}", truncate(text)));
                continue;
            }
        };
        if let Some(p) = obj.get("params") {
            flatten_into("", p, &mut state.params);
        }
        if let Some(t) = obj.get("tags") {
            flatten_into("", t, &mut state.tags);
        }
        if let Some(Value::String(n)) = obj.get("name") {
            state.name = Some(n.clone());
        }
        // A line of declarations only holds no points and does not advance the step.
        if obj.keys().all(|k| DECLARATIONS.contains(&k.as_str())) {
            continue;
        }
        let step_key = STEP_KEYS.iter().find(|k| obj.contains_key(**k));
        let step = match step_key.map(|k| &obj[*k]) {
            Some(v) => match v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
            {
                Some(s) => s,
                None => {
                    diags.push(
                        Some(this_line),
                        format!("{} is not an integer: line skipped", step_key.unwrap_or(&"step")),
                    );
                    continue;
                }
            },
            None => state.next_step,
        };
        state.next_step = step.saturating_add(1);
        let time_key = TIME_KEYS.iter().find(|k| obj.contains_key(**k));
        let ts = time_key.and_then(|k| number(&obj[*k])).map_or(f64::NAN, time_ms);
        if state.first_ts.is_none() && ts.is_finite() {
            state.first_ts = Some(ts);
        }
        nums.clear();
        for (k, v) in &obj {
            if Some(&k.as_str()) == step_key || Some(&k.as_str()) == time_key || DECLARATIONS.contains(&k.as_str()) {
                continue;
            }
            collect_numbers(k, v, &mut nums);
        }
        for (k, value) in nums.drain(..) {
            let slot = match keys.iter().position(|x| *x == k) {
                Some(i) => i,
                None => {
                    keys.push(k);
                    series.push(Vec::new());
                    keys.len() - 1
                }
            };
            series[slot].push(Point { step, value, ts });
        }
    }
    let new_lines = body[..complete].iter().filter(|&&b| b == b'\n').count() as u64;
    let lines = if append { prev.map_or(0, |p| p.lines) } else { 0 } + new_lines;
    let name = state.name.clone().or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()));
    let experiment = path.parent().and_then(|d| d.file_name()).map(|s| s.to_string_lossy().into_owned());
    run.meta = Some(RunMeta {
        id: file.clone(),
        name,
        experiment,
        start_time: state.first_ts.map(|t| t as i64),
        params: state.params.clone(),
        tags: state.tags.clone(),
        ..Default::default()
    });
    let extra = serde_json::to_string(&state).unwrap_or_default();
    // The pending last line is re-read with the rest of the file on the next change, so its step
    // bookkeeping need not be exact here.
    let st = tail::next_state(
        &md,
        prev,
        Consumed { bytes: &bytes, append, consumed: bom + complete, lines, pending: take_pending, partial },
        extra,
    );
    out.states.push((file.clone(), Some(st)));
    out.diags.push(diags.finish(!append));
    run.files.push(FileUpdate { file, replace: !append, series: keys.into_iter().zip(series).collect() });
    out.more = partial;
    out.runs.push(run);
    out
}
