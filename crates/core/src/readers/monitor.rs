//! Runlens's own monitor scores (`.runlens/monitor/<model>/*.json`, one file per scored batch,
//! written by `data watch`) as runs: one per model version (`<model>@<version>`), whose series are
//! the batches in the order they were scored (step 0, 1, ...; the time each was scored): the share
//! of drifted columns, and per column whether it drifted and its PSI, Jensen-Shannon distance and
//! deciding score. So drift is charted like any metric, and a rebuilt index has it again.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{join_rel, stat_state, Ctx, Diags, FileUpdate, RunOut, UnitOut};
use crate::files::Kind;
use crate::model::{Point, RunMeta, Source};

/// A score file: ((scored at, seq), file name, contents).
type Record = ((i64, u64), String, Value);

pub fn read(ctx: &Ctx, dir: &Path) -> UnitOut {
    let unit = ctx.rel(dir);
    let mut out = UnitOut { unit: unit.clone(), ..Default::default() };
    let mut listing = Diags::new(unit.clone());
    let mut files: Vec<(String, std::fs::Metadata)> = Vec::new();
    match ctx.fs.list(dir) {
        Ok(entries) => {
            for ent in entries {
                match ent.kind {
                    Kind::File if ent.name.ends_with(".json") => match ent.metadata() {
                        Ok(md) => files.push((ent.name, md)),
                        Err(e) => listing.push(None, format!("cannot read {}: {e}", ent.name)),
                    },
                    Kind::Link => listing.push(None, format!("symlink not followed: {}", join_rel(&unit, &ent.name))),
                    _ => {}
                }
            }
        }
        Err(_) => return out,
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let rel = |name: &str| join_rel(&unit, name);
    let unchanged = files.len() == ctx.prev.len()
        && files.iter().all(|(n, md)| ctx.prev.get(&rel(n)).is_some_and(|p| crate::tail::unchanged(p, md)));
    let model = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Every record, by version, in the order they were scored.
    let mut by_version: BTreeMap<u64, Vec<Record>> = BTreeMap::new();
    for (name, _) in &files {
        let mut d = Diags::new(rel(name));
        match ctx
            .read_small(&dir.join(name))
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| format!("line {}: {e}", e.line())))
        {
            Ok(v) => match (v["version"].as_u64(), v["at"].as_i64()) {
                (Some(version), Some(at)) => {
                    let seq = v["seq"].as_u64().unwrap_or(0);
                    by_version.entry(version).or_default().push(((at, seq), name.clone(), v))
                }
                _ => d.push(None, "not a monitor score (no version or time)"),
            },
            Err(e) => d.push(None, e),
        }
        out.diags.push(d.finish(true));
    }
    for (version, mut records) in by_version {
        records.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let path = format!("{unit}@{version}");
        let mut run = RunOut {
            path: path.clone(),
            source: Source::Monitor,
            meta: None,
            files: Vec::new(),
            series_files: vec![unit.clone()],
        };
        if unchanged {
            out.runs.push(run);
            continue;
        }
        let mut series: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        let mut push = |key: String, step: i64, at: i64, value: Option<f64>| {
            if let Some(v) = value {
                series.entry(key).or_default().push(Point { step, value: v, ts: at as f64 / 1000.0 });
            }
        };
        let num = |v: &Value| v.as_f64().or_else(|| crate::readers::number(v));
        for (step, ((at, _), _, r)) in records.iter().enumerate() {
            let step = step as i64;
            push("drift/share".into(), step, *at, num(&r["share_drifted"]));
            push("drift/any".into(), step, *at, r["drift"].as_bool().map(|b| b as u8 as f64));
            for (col, c) in r["columns"].as_object().into_iter().flatten() {
                push(format!("drift/{col}"), step, *at, c["drift"].as_bool().map(|b| b as u8 as f64));
                for k in ["psi", "js", "score"] {
                    push(format!("{k}/{col}"), step, *at, num(&c[k]));
                }
            }
        }
        let last = &records.last().map(|r| &r.2);
        let mut meta = RunMeta {
            id: format!("monitor:{model}@{version}"),
            name: Some(format!("{model}@{version} monitoring")),
            experiment: Some("monitoring".into()),
            start_time: records.first().map(|r| r.0 .0),
            end_time: records.last().map(|r| r.0 .0),
            ..Default::default()
        };
        meta.params.insert("model".into(), format!("{model}@{version}"));
        if let Some(r) = last {
            for (k, key) in [("reference.path", "path"), ("reference.rev", "rev"), ("reference.md5", "md5")] {
                if let Some(v) = r["reference"][key].as_str() {
                    meta.params.insert(k.into(), v.to_string());
                }
            }
        }
        meta.tags.insert("runlens.monitor.batches".into(), records.len().to_string());
        run.meta = Some(meta);
        run.files.push(FileUpdate { file: unit.clone(), replace: true, series: series.into_iter().collect() });
        out.runs.push(run);
    }
    if unchanged {
        out.untouched = true;
        out.states = files.iter().map(|(n, _)| (rel(n), None)).collect();
        return out;
    }
    out.states = files.iter().map(|(n, md)| (rel(n), Some(stat_state(md)))).collect();
    out.diags.push(listing.finish(true));
    out
}
