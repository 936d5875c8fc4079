//! DVCLive's folder (`dvclive/` by default, any name) and a DVC pipeline's own params and metrics.
//!
//! A DVCLive folder is one run:
//! - `params.yaml`: params, flattened with ".".
//! - `plots/metrics/**/*.tsv`: one series per file, keyed by its path without `.tsv` (`train/loss`);
//!   the value column is the key's last part, `step` the step, `timestamp` (if any) milliseconds.
//!   DVCLive appends a row per step: the files are read incrementally (`csv_log`).
//! - `metrics.json`: the summary, names nested on "/", its `step` the last step. A summary value
//!   without a TSV (`plot=False`, `live.summary[...]`) is a single point at that step.
//!
//! A DVC pipeline folder (holding `dvc.yaml`) has its own `params.yaml` and `metrics.json`. They
//! belong to the DVCLive folder directly inside it, if there is one (the one named `dvclive` when
//! there are several): its params and metrics come first, the pipeline's fill in the keys they do
//! not have, its metrics at the DVCLive summary's step. Without a DVCLive folder the pipeline is a
//! run of its own (source `dvc`, id `<folder>/dvc.yaml`), its metrics single points at step 0.
//! Metric names from every metrics.json are nested on "/", as DVCLive names them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::jsonl::collect_numbers;
use super::{csv_log, flatten_into, json_lenient, stat_state, yaml, Ctx, Diags, FileUpdate};
use super::{RunOut, UnitOut};
use crate::files::ProjectFs;
use crate::model::{Point, RunMeta, Source};

/// DVCLive's default folder name.
pub const DEFAULT_DIR: &str = "dvclive";

/// Whether a folder is a DVCLive folder: named `dvclive` and holding a summary, params or metric
/// plots, or of any name holding `plots/metrics/` and a summary or params. A folder holding
/// `dvc.lock`, `.dvc` or `.git` is a project, never a DVCLive folder (even one named `dvclive`).
pub fn is_live_dir(fs: &ProjectFs, dir: &Path, name: &str, has: &dyn Fn(&str) -> bool) -> bool {
    if has("dvc.lock") || has(".dvc") || has(".git") {
        return false;
    }
    let meta = has("params.yaml") || has("metrics.json");
    let plots = || has("plots") && fs.is_dir(&dir.join("plots").join("metrics"));
    if name == DEFAULT_DIR {
        meta || plots()
    } else {
        meta && plots()
    }
}

/// A DVC pipeline folder with params or metrics of its own.
pub fn is_pipeline_dir(has: &dyn Fn(&str) -> bool) -> bool {
    has("dvc.yaml") && (has("params.yaml") || has("metrics.json"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    LiveParams,
    LiveSummary,
    PipelineParams,
    PipelineMetrics,
}

struct Small {
    kind: Kind,
    path: PathBuf,
    rel: String,
    md: std::fs::Metadata,
}

/// The key of a TSV column: the file's key for the value column DVCLive writes (the key's last
/// part), else the column's name beside it.
fn tsv_key(base: &str, column: &str) -> String {
    match base.rsplit_once('/') {
        _ if base.rsplit('/').next() == Some(column) => base.to_string(),
        Some((dir, _)) => format!("{dir}/{column}"),
        None => column.to_string(),
    }
}

/// A DVCLive folder, with the params.yaml and metrics.json of the DVC pipeline folder `pipeline`
/// when they belong to it.
pub fn read_live(ctx: &Ctx, dir: &Path, pipeline: Option<&Path>) -> UnitOut {
    read(ctx, Some(dir), pipeline)
}

/// A DVC pipeline without a DVCLive folder: `dvc_yaml` is its dvc.yaml.
pub fn read_pipeline(ctx: &Ctx, dvc_yaml: &Path) -> UnitOut {
    read(ctx, None, dvc_yaml.parent())
}

fn read(ctx: &Ctx, live: Option<&Path>, pipeline: Option<&Path>) -> UnitOut {
    let (unit, source) = match (live, pipeline) {
        (Some(d), _) => (ctx.rel(d), Source::Dvclive),
        (None, Some(p)) => (ctx.rel(&p.join("dvc.yaml")), Source::Dvc),
        (None, None) => return UnitOut::default(),
    };
    let mut out = UnitOut { unit: unit.clone(), ..Default::default() };
    let mut listing = Diags::new(unit.clone());

    // The small files, read whole when anything changed.
    let mut wanted: Vec<(Kind, PathBuf)> = Vec::new();
    if let Some(d) = live {
        wanted.push((Kind::LiveParams, d.join("params.yaml")));
        wanted.push((Kind::LiveSummary, d.join("metrics.json")));
    }
    if let Some(p) = pipeline {
        wanted.push((Kind::PipelineParams, p.join("params.yaml")));
        wanted.push((Kind::PipelineMetrics, p.join("metrics.json")));
    }
    let small: Vec<Small> = wanted
        .into_iter()
        .filter_map(|(kind, path)| {
            let md = match ctx.fs.stat_file(&path) {
                Ok(md) => md,
                Err(e) => {
                    if crate::files::is_link_error(&e) {
                        listing.push(None, format!("symlink not followed: {}", ctx.rel(&path)));
                    }
                    return None;
                }
            };
            Some(Small { kind, rel: ctx.rel(&path), path, md })
        })
        .collect();

    // The metric TSVs: (key, path, project-relative path, metadata).
    let mut tsvs: Vec<(String, PathBuf, String, std::fs::Metadata)> = Vec::new();
    if let Some(d) = live {
        let pm = d.join("plots").join("metrics");
        let rel_pm = ctx.rel(&pm);
        for (p, md) in ctx.list_tree(&pm, &mut listing, &rel_pm).files {
            let Some(base) = p.strip_suffix(".tsv").filter(|_| md.is_file()) else { continue };
            let path = p.split('/').fold(pm.clone(), |acc, part| acc.join(part));
            tsvs.push((base.to_string(), path, format!("{rel_pm}/{p}"), md));
        }
    }

    let mut run = RunOut { path: unit.clone(), source, meta: None, files: Vec::new(), series_files: Vec::new() };
    run.series_files.extend(
        small.iter().filter(|s| matches!(s.kind, Kind::LiveSummary | Kind::PipelineMetrics)).map(|s| s.rel.clone()),
    );
    run.series_files.extend(tsvs.iter().map(|t| t.2.clone()));

    let same = |rel: &str, md: &std::fs::Metadata| ctx.prev.get(rel).is_some_and(|p| crate::tail::unchanged(p, md));
    let current: BTreeSet<&str> =
        small.iter().map(|s| s.rel.as_str()).chain(tsvs.iter().map(|t| t.2.as_str())).collect();
    let gone = ctx.prev.keys().any(|k| !current.contains(k.as_str()));
    let small_changed = small.iter().any(|s| !same(&s.rel, &s.md));
    if !gone && !small_changed && tsvs.iter().all(|t| same(&t.2, &t.3)) {
        out.untouched = true;
        out.states = current.into_iter().map(|r| (r.to_string(), None)).collect();
        out.runs.push(run);
        return out;
    }
    // The summaries' series depend on which keys have a TSV: read again when a file came or went.
    let summaries_dirty = gone || small_changed || tsvs.iter().any(|t| !ctx.prev.contains_key(&t.2));

    let mut params = BTreeMap::new();
    let mut pipeline_params = BTreeMap::new();
    let mut live_summary: Vec<(String, f64)> = Vec::new();
    let mut pipeline_metrics: Vec<(String, f64)> = Vec::new();
    let mut summary_step: Option<i64> = None;
    for s in &small {
        let mut d = Diags::new(s.rel.clone());
        let text = ctx.read_small(&s.path).map_err(|e| format!("cannot read: {e}"));
        match s.kind {
            Kind::LiveParams | Kind::PipelineParams => {
                let into = if s.kind == Kind::LiveParams { &mut params } else { &mut pipeline_params };
                match text.and_then(|t| yaml(&t)) {
                    Ok(Value::Null) => {}
                    Ok(v @ Value::Object(_)) => flatten_into("", &v, into),
                    Ok(_) => d.push(None, "not a mapping of params"),
                    Err(e) => d.push(None, e),
                }
            }
            Kind::LiveSummary | Kind::PipelineMetrics => match text.and_then(|t| json_lenient(&t)) {
                Ok(Value::Object(mut o)) => {
                    if s.kind == Kind::LiveSummary {
                        if let Some(step) = o.remove("step") {
                            summary_step = step.as_i64();
                            if summary_step.is_none() {
                                d.push(None, format!("step is not an integer: {step}"));
                            }
                        }
                        collect_numbers("", &Value::Object(o), &mut live_summary);
                    } else {
                        collect_numbers("", &Value::Object(o), &mut pipeline_metrics);
                    }
                }
                Ok(_) => d.push(None, "not a JSON object"),
                Err(e) => d.push(None, e),
            },
        }
        out.diags.push(d.finish(true));
        out.states.push((s.rel.clone(), Some(stat_state(&s.md))));
    }
    for (k, v) in pipeline_params {
        params.entry(k).or_insert(v);
    }

    if summaries_dirty {
        // Summary values without a TSV, then the pipeline's metrics DVCLive does not have.
        let with_tsv: BTreeSet<&str> = tsvs.iter().map(|t| t.0.as_str()).collect();
        let step = summary_step.unwrap_or(0);
        let point = |v: f64| vec![Point { step, value: v, ts: f64::NAN }];
        let live_keys: BTreeSet<&str> = live_summary.iter().map(|(k, _)| k.as_str()).collect();
        for s in small.iter().filter(|s| matches!(s.kind, Kind::LiveSummary | Kind::PipelineMetrics)) {
            let series: Vec<(String, Vec<Point>)> = if s.kind == Kind::LiveSummary {
                live_summary
                    .iter()
                    .filter(|(k, _)| !with_tsv.contains(k.as_str()))
                    .map(|(k, v)| (k.clone(), point(*v)))
                    .collect()
            } else {
                pipeline_metrics
                    .iter()
                    .filter(|(k, _)| !with_tsv.contains(k.as_str()) && !live_keys.contains(k.as_str()))
                    .map(|(k, v)| (k.clone(), point(*v)))
                    .collect()
            };
            run.files.push(FileUpdate { file: s.rel.clone(), replace: true, series });
        }
    }

    // The TSVs, each from where the last scan stopped.
    for (base, path, _, _) in &tsvs {
        let u = csv_log::read(ctx, path, None, Source::Csv);
        out.more |= u.more;
        out.states.extend(u.states);
        out.diags.extend(u.diags);
        for r in u.runs {
            for mut f in r.files {
                for (key, _) in f.series.iter_mut() {
                    *key = tsv_key(base, key);
                }
                run.files.push(f);
            }
        }
    }

    let folder = |p: &Path| p.file_name().map(|s| s.to_string_lossy().into_owned());
    // DVCLive's default folder says nothing: the run is named by the folder holding it.
    let name = match live {
        Some(d) if folder(d).as_deref() == Some(DEFAULT_DIR) => d.parent().and_then(folder).or_else(|| folder(d)),
        Some(d) => folder(d),
        None => pipeline.and_then(folder),
    };
    run.meta = Some(RunMeta { id: unit.clone(), name, params, ..Default::default() });
    out.diags.push(listing.finish(true));
    out.runs.push(run);
    out
}

#[cfg(test)]
mod tests {
    use super::tsv_key;

    #[test]
    fn tsv_keys_follow_dvclive_names() {
        assert_eq!(tsv_key("train/loss", "loss"), "train/loss");
        assert_eq!(tsv_key("acc", "acc"), "acc");
        assert_eq!(tsv_key("train/loss", "other"), "train/other");
        assert_eq!(tsv_key("acc", "other"), "other");
    }
}
