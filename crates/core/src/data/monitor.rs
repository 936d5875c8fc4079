//! Monitoring: each new table that lands in a folder is scored against the reference dataset of
//! the model version an alias points to, and the score is kept as a plain file in the project,
//! `.runlens/monitor/<model>/<time>-<md5 prefix>.json`, written once and never edited (so scores
//! outlive the index and travel with the project).

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::Digest;
use serde::Serialize;
use serde_json::{json, Value};

use super::report::DriftRules;
use crate::files::ProjectFs;
use crate::index::Index;
use crate::Error;

/// One scored batch.
#[derive(Clone, Debug, Serialize)]
pub struct MonitorScore {
    pub model: String,
    pub version: u64,
    /// The batch file as given (its path), and the md5 of its bytes.
    pub file: String,
    pub md5: String,
    /// When it was scored, ms since the epoch.
    pub at: i64,
    /// The reference dataset the version names (path, rev, md5).
    pub reference: Value,
    pub drift: bool,
    pub share_drifted: f64,
    /// Per column: drift, method, score, psi, js, wasserstein_norm, null share.
    pub columns: Value,
    /// The record's path, project-relative.
    pub record: String,
}

/// A file older than this (by its modification time) is complete: younger ones may still be
/// being written and wait for the next pass.
const SETTLED_MS: i64 = 2000;

fn md5_file(p: &Path) -> Result<String, Error> {
    let mut f = std::fs::File::open(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
    let mut h = md5::Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = f.read(&mut buf).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl Index {
    /// The scores kept for `model`, oldest first.
    pub fn monitor_scores(&self, model: &str) -> Result<Vec<MonitorScore>, Error> {
        let name =
            crate::paths::component(model).ok_or_else(|| Error::NotFound(format!("{model:?}: not a model name")))?;
        let fs = ProjectFs::new(&self.root);
        let dir = self.root.join(".runlens").join("monitor").join(name);
        let mut out = Vec::new();
        for e in fs.list(&dir).unwrap_or_default() {
            if !e.is_file() || !e.name.ends_with(".json") {
                continue;
            }
            let Ok(bytes) = fs.read(&e.path, 16 << 20, "a monitor score") else { continue };
            let Ok(v) = serde_json::from_slice::<Value>(&bytes) else { continue };
            out.push(MonitorScore {
                model: v["model"].as_str().unwrap_or(model).to_string(),
                version: v["version"].as_u64().unwrap_or(0),
                file: v["file"].as_str().unwrap_or("").to_string(),
                md5: v["md5"].as_str().unwrap_or("").to_string(),
                at: v["at"].as_i64().unwrap_or(0),
                reference: v["reference"].clone(),
                drift: v["drift"].as_bool().unwrap_or(false),
                share_drifted: v["share_drifted"].as_f64().unwrap_or(0.0),
                columns: v["columns"].clone(),
                record: format!(".runlens/monitor/{name}/{}", e.name),
            });
        }
        out.sort_by(|a, b| a.at.cmp(&b.at).then(a.record.cmp(&b.record)));
        Ok(out)
    }

    /// Scores every table in `dir` (CSV, TSV, JSONL, Parquet) that `target`'s version (NAME@ALIAS
    /// or NAME@VERSION, resolved now) has not scored yet, against its reference dataset, and keeps
    /// each score, dated `now`. With `settle`, files modified in the two seconds before `now` wait
    /// for the next pass (they may still be being written).
    pub fn monitor_scan(&self, target: &str, dir: &Path, now: i64, settle: bool) -> Result<Vec<MonitorScore>, Error> {
        let (m, v) = self.registry_version(target)?;
        let d = &v.dataset;
        let (Some(path), Some(rev)) = (d["path"].as_str(), d["rev"].as_str()) else {
            return Err(Error::Refused(format!(
                "{}@{} has no reference dataset: set one with `runlens data reference PROJECT {}@{} PATH@REV`",
                m.name, v.version, m.name, v.version
            )));
        };
        let reference = format!("{path}@{rev}");
        let name =
            crate::paths::component(&m.name).ok_or_else(|| Error::Refused(format!("{:?}: not a file name", m.name)))?;
        let scored: std::collections::HashSet<(u64, String)> =
            self.monitor_scores(&m.name)?.into_iter().map(|s| (s.version, s.md5)).collect();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| crate::table::format_of(n).is_some()))
            .collect();
        files.sort();
        let fs = ProjectFs::new(&self.root);
        let out_dir = self.root.join(".runlens").join("monitor").join(name);
        let mut out = Vec::new();
        for f in files {
            let settled = !settle
                || std::fs::metadata(&f)
                    .and_then(|md| md.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .is_some_and(|t| now - (t.as_millis() as i64) >= SETTLED_MS);
            if !settled {
                continue;
            }
            let md5 = md5_file(&f)?;
            if scored.contains(&(v.version, md5.clone())) {
                continue;
            }
            let abs = std::fs::canonicalize(&f).unwrap_or(f.clone());
            let report = self
                .data_drift(&reference, &[abs.to_string_lossy().into_owned()], DriftRules::Runlens)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Project(format!("{}: no report", f.display())))?;
            let columns: serde_json::Map<String, Value> = report
                .columns
                .iter()
                .map(|c| {
                    let n = |x: Option<f64>| x.map(crate::json_num).unwrap_or(Value::Null);
                    (
                        c.name.clone(),
                        json!({
                            "drift": c.drift, "method": c.method, "score": n(c.score), "psi": n(c.psi), "js": n(c.js),
                            "wasserstein_norm": n(c.wasserstein_norm),
                            "null_share": {"reference": crate::json_num(c.null_share.0), "current": crate::json_num(c.null_share.1)},
                        }),
                    )
                })
                .collect();
            let file = f.to_string_lossy().into_owned();
            // Batches scored in one pass share a time: `seq` keeps the order they were scored in.
            let seq = out.len();
            let record = json!({
                "model": m.name, "version": v.version, "target": target, "file": file, "md5": md5, "at": now, "seq": seq,
                "reference": d, "drift": report.drift, "share_drifted": crate::json_num(report.share_drifted),
                "columns": columns,
            });
            let mut bytes = crate::registry::event::canonical(&record);
            bytes.push(b'\n');
            fs.create_dirs(&out_dir).map_err(|e| Error::Io(format!("{}: {e}", out_dir.display())))?;
            let rec_name = format!("{now}-{seq:05}-{}.json", &md5[..12]);
            fs.write_new(&out_dir.join(&rec_name), &bytes)
                .map_err(|e| Error::Io(format!("{}: {e}", out_dir.display())))?;
            out.push(MonitorScore {
                model: m.name.clone(),
                version: v.version,
                file,
                md5,
                at: now,
                reference: d.clone(),
                drift: report.drift,
                share_drifted: report.share_drifted,
                columns: Value::Object(columns),
                record: format!(".runlens/monitor/{name}/{rec_name}"),
            });
        }
        Ok(out)
    }
}
