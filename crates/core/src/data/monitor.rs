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

/// The columns of one scored batch that crossed their threshold: drifted in this batch and not in
/// the batch the same model version scored before it (every drifted column of its first batch).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Crossing {
    pub model: String,
    pub version: u64,
    /// The batch file as given, and the score's record (project-relative).
    pub file: String,
    pub record: String,
    /// By name, in name order; never empty.
    pub columns: Vec<String>,
}

/// The columns of a score that drifted, in name order.
fn drifted(score: &MonitorScore) -> Vec<String> {
    let mut cols: Vec<String> = score
        .columns
        .as_object()
        .map(|m| m.iter().filter(|(_, c)| c["drift"] == Value::Bool(true)).map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    cols.sort();
    cols
}

/// The columns that crossed their threshold in `score`: those that drifted in it and did not in
/// `previous`, the score of the same model version before it (`None`: its first batch, where every
/// drifted column crossed). A column `previous` did not have counts as not drifted there. In name
/// order. A column that stays drifted batch after batch crosses once, when it starts drifting, and
/// again only after a batch in which it did not drift.
pub fn crossed_columns(previous: Option<&MonitorScore>, score: &MonitorScore) -> Vec<String> {
    let before = previous.map(drifted).unwrap_or_default();
    drifted(score).into_iter().filter(|c| !before.contains(c)).collect()
}

/// The crossings of `new` (scores in the order they were scored, as `Index::monitor_scan` returns
/// them), each judged against the score of the same model and version just before it: the latest
/// of `history` (the scores kept before them, oldest first, as `Index::monitor_scores` returns
/// them; a record also in `new` is skipped) or an earlier one of `new`. Batches where nothing
/// crossed are left out.
pub fn monitor_crossings(history: &[MonitorScore], new: &[MonitorScore]) -> Vec<Crossing> {
    let mut out = Vec::new();
    for (i, s) in new.iter().enumerate() {
        let same = |p: &&MonitorScore| p.model == s.model && p.version == s.version;
        let previous = new[..i]
            .iter()
            .rev()
            .find(same)
            .or_else(|| history.iter().rev().filter(|h| !new.iter().any(|n| n.record == h.record)).find(same));
        let columns = crossed_columns(previous, s);
        if !columns.is_empty() {
            out.push(Crossing {
                model: s.model.clone(),
                version: s.version,
                file: s.file.clone(),
                record: s.record.clone(),
                columns,
            });
        }
    }
    out
}

/// What one `monitor_scan` pass did: the batches it scored, and the tables it could not score
/// (each message names its file; they are tried again on the next pass).
#[derive(Clone, Debug, Default)]
pub struct MonitorPass {
    pub scores: Vec<MonitorScore>,
    pub problems: Vec<String>,
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

    /// The model and version `target` (NAME@ALIAS or NAME@VERSION) names now, with the reference
    /// dataset (`PATH@REV`) its batches are scored against; refused when it has none.
    fn monitor_version(
        &self,
        target: &str,
    ) -> Result<(crate::registry::ModelState, crate::registry::VersionState, String), Error> {
        let (m, v) = self.registry_version(target)?;
        let d = &v.dataset;
        let (Some(path), Some(rev)) = (d["path"].as_str(), d["rev"].as_str()) else {
            return Err(Error::Refused(format!(
                "{}@{} has no reference dataset: set one with `runlens data reference PROJECT {}@{} PATH@REV`",
                m.name, v.version, m.name, v.version
            )));
        };
        let reference = format!("{path}@{rev}");
        Ok((m, v, reference))
    }

    /// The model name and version `target` (NAME@ALIAS or NAME@VERSION) names now, as
    /// `monitor_scan` would score against it: refused when that version has no reference dataset.
    pub fn monitor_target(&self, target: &str) -> Result<(String, u64), Error> {
        let (m, v, _) = self.monitor_version(target)?;
        Ok((m.name, v.version))
    }

    /// Scores every table in `dir` (CSV, TSV, JSONL, Parquet) that `target`'s version (NAME@ALIAS
    /// or NAME@VERSION, resolved now) has not scored yet, against its reference dataset, and keeps
    /// each score, dated `now`. With `settle`, files modified in the two seconds before `now` wait
    /// for the next pass (they may still be being written).
    pub fn monitor_scan(&self, target: &str, dir: &Path, now: i64, settle: bool) -> Result<MonitorPass, Error> {
        let (m, v, reference) = self.monitor_version(target)?;
        let d = &v.dataset;
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
        let mut problems = Vec::new();
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
            // One table that cannot be read or scored is named, and the others are scored; it is
            // read again only once it changes.
            let stamp = std::fs::metadata(&f).ok().map(|md| {
                let t = md.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                (f.clone(), md.len(), t.map_or(0, |t| t.as_nanos() as i64))
            });
            if let Some(p) = stamp.as_ref().and_then(|k| self.monitor_failed.borrow().get(k).cloned()) {
                problems.push(p);
                continue;
            }
            let mut failed = |m: String| {
                if let Some(k) = stamp.clone() {
                    self.monitor_failed.borrow_mut().insert(k, m.clone());
                }
                problems.push(m);
            };
            let md5 = match md5_file(&f) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            if scored.contains(&(v.version, md5.clone())) {
                continue;
            }
            let abs = std::fs::canonicalize(&f).unwrap_or(f.clone());
            let report = match self
                .data_drift(&reference, &[abs.to_string_lossy().into_owned()], DriftRules::Runlens)
                .map(|r| r.into_iter().next())
            {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                // Only the table's own trouble is remembered (not the reference's, or the disk's).
                Err(e @ (Error::Refused(_) | Error::Project(_))) => {
                    let m = e.to_string();
                    failed(if m.contains(&*f.to_string_lossy()) { m } else { format!("{}: {m}", f.display()) });
                    continue;
                }
                Err(e) => {
                    let m = e.to_string();
                    problems.push(if m.contains(&*f.to_string_lossy()) { m } else { format!("{}: {m}", f.display()) });
                    continue;
                }
            };
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
        Ok(MonitorPass { scores: out, problems })
    }

    /// The crossings of `new`, scores `monitor_scan` just kept for one model, against the scores
    /// kept before them (read from the project: another watcher's scores count too). See
    /// [`monitor_crossings`].
    pub fn monitor_scan_crossings(&self, new: &[MonitorScore]) -> Result<Vec<Crossing>, Error> {
        let Some(first) = new.first() else { return Ok(Vec::new()) };
        let history = self.monitor_scores(&first.model)?;
        Ok(monitor_crossings(&history, new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A score of `churn@version` for batch `file`, whose `drifted` columns drifted (of a, b, c).
    fn score(version: u64, file: &str, drifted: &[&str]) -> MonitorScore {
        let columns: serde_json::Map<String, Value> =
            ["a", "b", "c"].iter().map(|c| (c.to_string(), json!({"drift": drifted.contains(c)}))).collect();
        MonitorScore {
            model: "churn".into(),
            version,
            file: file.into(),
            md5: file.into(),
            at: 0,
            reference: Value::Null,
            drift: !drifted.is_empty(),
            share_drifted: drifted.len() as f64 / 3.0,
            columns: Value::Object(columns),
            record: format!(".runlens/monitor/churn/{file}.json"),
        }
    }

    #[test]
    fn a_column_crosses_when_it_starts_drifting() {
        let clean = score(1, "b1", &[]);
        let ab = score(1, "b2", &["a", "b"]);
        let bc = score(1, "b3", &["c", "b"]);
        // The first batch: every drifted column crossed.
        assert_eq!(crossed_columns(None, &ab), ["a", "b"]);
        assert!(crossed_columns(None, &clean).is_empty());
        // Still drifting is no crossing; newly drifting is, in name order.
        assert_eq!(crossed_columns(Some(&ab), &bc), ["c"]);
        assert!(crossed_columns(Some(&ab), &ab).is_empty());
        assert!(crossed_columns(Some(&ab), &clean).is_empty(), "recovering is not a crossing");
        // After a batch without drift, it crosses again.
        assert_eq!(crossed_columns(Some(&clean), &ab), ["a", "b"]);
        // A column the previous batch did not have counts as not drifted there.
        let mut old = score(1, "b0", &["a"]);
        old.columns.as_object_mut().unwrap().remove("c");
        assert_eq!(crossed_columns(Some(&old), &bc), ["b", "c"]);
        // `drift` must be true: anything else is no drift.
        let mut odd = score(1, "b4", &[]);
        odd.columns["a"]["drift"] = json!("yes");
        odd.columns["b"] = json!(null);
        assert!(crossed_columns(None, &odd).is_empty());
    }

    #[test]
    fn each_batch_is_judged_against_the_one_before_it_of_its_version() {
        let history = [score(1, "h1", &["a"]), score(2, "h2", &[]), score(1, "h3", &["a", "b"])];
        let new =
            [score(1, "n1", &["a", "b", "c"]), score(2, "n2", &["a"]), score(1, "n3", &["c"]), score(3, "n4", &["b"])];
        let got = monitor_crossings(&history, &new);
        let brief: Vec<(u64, &str, Vec<String>)> =
            got.iter().map(|c| (c.version, c.file.as_str(), c.columns.clone())).collect();
        assert_eq!(
            brief,
            [
                (1, "n1", vec!["c".to_string()]), // after h3 (a, b)
                (2, "n2", vec!["a".to_string()]), // after h2 (clean)
                (3, "n4", vec!["b".to_string()]), // version 3's first batch
            ],
            "n3 after n1: c drifted already"
        );
        assert_eq!(got[0].record, ".runlens/monitor/churn/n1.json");
        assert_eq!(got[0].model, "churn");
        // The new scores are in the project by the time the history is read: skipped there.
        let mut with_new = history.to_vec();
        with_new.extend(new.iter().cloned());
        assert_eq!(monitor_crossings(&with_new, &new), got);
        assert!(monitor_crossings(&history, &[]).is_empty());
    }
}
