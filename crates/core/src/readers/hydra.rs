//! Hydra jobs: a folder holding `.hydra/config.yaml` is one run, whatever logged its metrics.
//!
//! - `.hydra/config.yaml` (the job's composed config) gives the params, flattened with ".".
//! - `.hydra/overrides.yaml` (the task overrides) gives the tag `hydra.overrides`, the overrides as
//!   on the command line (`optim.lr=0.1 model.layers=2`); `.hydra/hydra.yaml` gives the job's name,
//!   number and mode, and the config group choices as tags `hydra.choices.<group>`.
//! - A multirun job is named `<job name> #<num>` in the experiment of its sweep folder (the nearest
//!   folder above holding `multirun.yaml`); a single run is named by its folder, in the experiment
//!   `<job name>`.
//! - The metric logs found inside the job folder (a Lightning `metrics.csv`, TensorBoard event
//!   files, CSV/TSV or JSONL logs, a DVCLive folder) are the job's: their readers read them as
//!   usual (incrementally) and their series become this run's. With one such log the keys are as
//!   logged; with several, each key is prefixed by its log's path in the job (`tb/train/loss`), so
//!   two logs never share a series. When the number of logs goes from one to several or back, the
//!   job is read again whole.
//! - The job folder's own files (`train.log`, `.hydra/*.yaml`) are the run's files.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{flatten_into, join_rel, stat_state, yaml, Ctx, Diags, RunOut, UnitOut};
use crate::files::{Kind, ProjectFs};
use crate::model::{Artifact, RunMeta, Source};
use crate::tail::FileState;

/// The folder Hydra writes its files into (`hydra.output_subdir`, `.hydra` by default).
pub const SUBDIR: &str = ".hydra";

/// Whether a folder is a Hydra job's output folder.
pub fn is_job_dir(fs: &ProjectFs, dir: &Path, has: &dyn Fn(&str) -> bool) -> bool {
    has(SUBDIR) && fs.is_file(&dir.join(SUBDIR).join("config.yaml"))
}

/// Kept in the state of `.hydra/config.yaml`: whether keys were prefixed by their log's path.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Extra {
    prefixed: bool,
}

/// Reads the job at `dir`. `subs` are the metric logs found inside it (as the scan's units), and
/// `read_sub(i, ctx)` reads the i-th with its own reader.
pub fn read(ctx: &Ctx, dir: &Path, subs: &[&Path], read_sub: &dyn Fn(usize, &Ctx) -> UnitOut) -> UnitOut {
    let unit = ctx.rel(dir);
    let mut out = UnitOut { unit: unit.clone(), ..Default::default() };
    let mut listing = Diags::new(unit.clone());
    let config_rel = join_rel(&unit, &format!("{SUBDIR}/config.yaml"));

    // Keys are prefixed when there are several logs; a change of that re-reads everything.
    let prefixed = subs.len() > 1;
    let prev_extra: Option<Extra> = ctx.prev.get(&config_rel).and_then(|s| serde_json::from_str(&s.extra).ok());
    let full = !ctx.prev.is_empty() && prev_extra.map(|e| e.prefixed) != Some(prefixed);
    let none = HashMap::new();
    let sub_ctx = Ctx { root: ctx.root, prev: if full { &none } else { ctx.prev }, fs: ctx.fs, now: ctx.now };
    let parts: Vec<UnitOut> = (0..subs.len()).map(|i| read_sub(i, &sub_ctx)).collect();
    out.more = parts.iter().any(|p| p.more);
    let sub_files: HashSet<&str> = parts.iter().flat_map(|p| p.states.iter().map(|(f, _)| f.as_str())).collect();

    // The job folder's own files: its top level and .hydra/, without the logs' files.
    let mut own: Vec<(String, std::path::PathBuf, std::fs::Metadata)> = Vec::new();
    for (sub, prefix) in [(dir.to_path_buf(), String::new()), (dir.join(SUBDIR), format!("{SUBDIR}/"))] {
        let Ok(entries) = ctx.fs.list(&sub) else { continue };
        for ent in entries {
            let name = &ent.name;
            if ent.kind == Kind::BadName {
                listing.push(
                    None,
                    format!("skipped a name that is not valid UTF-8 in {}: {name:?}", join_rel(&unit, &prefix)),
                );
                continue;
            }
            if ent.kind == Kind::Link {
                listing.push(None, format!("symlink not followed: {}", join_rel(&unit, &format!("{prefix}{name}"))));
                continue;
            }
            let rel = join_rel(&unit, &format!("{prefix}{name}"));
            if !ent.is_file() || sub_files.contains(rel.as_str()) || super::tensorboard::is_event_file(name) {
                continue;
            }
            if let Ok(md) = ent.metadata() {
                own.push((format!("{prefix}{name}"), ent.path.clone(), md));
            }
        }
    }
    own.sort_by(|a, b| a.0.cmp(&b.0));
    let own_rel = |name: &str| join_rel(&unit, name);
    let prev_own = ctx.prev.keys().filter(|k| !sub_files.contains(k.as_str())).count();
    let own_unchanged = prev_own == own.len()
        && own.iter().all(|(n, _, md)| ctx.prev.get(&own_rel(n)).is_some_and(|p| crate::tail::unchanged(p, md)));

    let mut run =
        RunOut { path: unit.clone(), source: Source::Hydra, meta: None, files: Vec::new(), series_files: Vec::new() };
    for p in &parts {
        for r in &p.runs {
            run.series_files.extend(r.series_files.iter().cloned());
        }
    }
    if !full && own_unchanged && parts.iter().all(|p| p.untouched) {
        out.untouched = true;
        out.states = parts.into_iter().flat_map(|p| p.states).map(|(f, _)| (f, None)).collect();
        out.states.extend(own.iter().map(|(n, _, _)| (own_rel(n), None)));
        out.runs.push(run);
        return out;
    }

    // The logs' points, keys prefixed by the log's path when there are several.
    let mut seen: HashMap<String, String> = HashMap::new();
    for (part, sub) in parts.into_iter().zip(subs) {
        let prefix = if prefixed {
            let rel = ctx.rel(sub);
            rel.strip_prefix(&unit).map(|r| r.trim_start_matches('/').to_string()).unwrap_or(rel)
        } else {
            String::new()
        };
        out.states.extend(part.states);
        out.diags.extend(part.diags);
        for r in part.runs {
            for mut f in r.files {
                f.replace |= full;
                let mut dropped = Diags::new(f.file.clone());
                f.series.retain_mut(|(key, _)| {
                    if !prefix.is_empty() {
                        *key = format!("{prefix}/{key}");
                    }
                    match seen.get(key.as_str()) {
                        Some(other) if *other != f.file => {
                            dropped.push(None, format!("metric {key:?} is also logged by {other}: not read twice"));
                            false
                        }
                        _ => {
                            seen.insert(key.clone(), f.file.clone());
                            true
                        }
                    }
                });
                let dropped = dropped.finish(false);
                if !dropped.items.is_empty() {
                    out.diags.push(dropped);
                }
                run.files.push(f);
            }
        }
    }

    // The run: .hydra/config.yaml, overrides.yaml and hydra.yaml.
    let mut meta = RunMeta { id: unit.clone(), ..Default::default() };
    let mut read_yaml = |name: &str| -> Option<Value> {
        let (_, path, _) = own.iter().find(|(n, _, _)| n == name)?;
        let mut d = Diags::new(own_rel(name));
        let v = match ctx.read_small(path).map_err(|e| format!("cannot read: {e}")).and_then(|t| yaml(&t)) {
            Ok(v) => Some(v),
            Err(e) => {
                d.push(None, e);
                None
            }
        };
        out.diags.push(d.finish(true));
        v
    };
    let config = read_yaml(".hydra/config.yaml");
    let overrides = read_yaml(".hydra/overrides.yaml");
    let hydra = read_yaml(".hydra/hydra.yaml");
    match config {
        Some(v @ Value::Object(_)) => flatten_into("", &v, &mut meta.params),
        Some(Value::Null) | None => {}
        Some(_) => listing.push(None, ".hydra/config.yaml is not a mapping: no params"),
    }
    let h = hydra.as_ref().and_then(|v| v.get("hydra"));
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) if s == "???" => None, // OmegaConf's MISSING (a single run's job number)
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let job = h.and_then(|h| h.get("job"));
    let job_name = text(job.and_then(|j| j.get("name")));
    let job_num = text(job.and_then(|j| j.get("num")));
    let multirun = match text(h.and_then(|h| h.get("mode"))) {
        Some(m) => m == "MULTIRUN",
        None => job_num.is_some(),
    };
    let listed: Vec<String> = match overrides.as_ref().or_else(|| h?.get("overrides")?.get("task")) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| text(Some(v))).collect(),
        _ => Vec::new(),
    };
    if !listed.is_empty() {
        meta.tags.insert("hydra.overrides".into(), listed.join(" "));
    }
    if let (true, Some(n)) = (multirun, &job_num) {
        meta.tags.insert("hydra.job.num".into(), n.clone());
    }
    if let Some(Value::Object(choices)) = h.and_then(|h| h.get("runtime")).and_then(|r| r.get("choices")) {
        for (group, choice) in choices {
            if let (false, Some(c)) = (group.starts_with("hydra/"), text(Some(choice))) {
                meta.tags.insert(format!("hydra.choices.{group}"), c);
            }
        }
    }
    if multirun {
        meta.name = Some(match (&job_name, &job_num) {
            (Some(j), Some(n)) => format!("{j} #{n}"),
            _ => dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| unit.clone()),
        });
        meta.experiment = Some(sweep_dir(ctx, dir));
    } else {
        meta.name = Some(unit.clone());
        meta.experiment = job_name;
    }
    meta.artifacts = own.iter().map(|(n, _, md)| Artifact { path: n.clone(), size: md.len() }).collect();
    meta.artifact_dir = Some(unit.clone());
    run.meta = Some(meta);

    let extra = serde_json::to_string(&Extra { prefixed }).unwrap_or_default();
    for (n, _, md) in &own {
        let mut st: FileState = stat_state(md);
        if own_rel(n) == config_rel {
            st.extra = extra.clone();
        }
        out.states.push((own_rel(n), Some(st)));
    }
    out.diags.push(listing.finish(true));
    out.runs.push(run);
    out
}

/// The sweep a multirun job belongs to: the nearest folder above it holding `multirun.yaml`
/// (Hydra writes it into the sweep folder), else the job's parent folder.
fn sweep_dir(ctx: &Ctx, dir: &Path) -> String {
    let mut at = dir.parent();
    while let Some(d) = at {
        if !d.starts_with(ctx.root) {
            break;
        }
        if ctx.fs.is_file(&d.join("multirun.yaml")) {
            let rel = ctx.rel(d);
            // The project itself is the sweep folder: name it by its folder name.
            return if rel.is_empty() {
                d.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
            } else {
                rel
            };
        }
        at = d.parent();
    }
    let parent = dir.parent().unwrap_or(dir);
    match ctx.rel(parent) {
        r if r.is_empty() => parent.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        r => r,
    }
}
