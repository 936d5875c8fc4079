//! Reading the index: the run table (filtered, sorted, paged), one run in full, metric series.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension};

use crate::filter;
use crate::index::Index;
use crate::model::{Artifact, DatasetInput, Diagnostic, LoggedModel, Point};
use crate::series::{self, XAxis};
use crate::Error;

/// What the run table asks for.
#[derive(Clone, Debug, Default)]
pub struct RunQuery {
    /// The filter language (see `filter`); empty = all runs.
    pub filter: String,
    /// Sort keys such as "-metrics.val_acc", "params.lr", "start_time"; applied in order.
    pub sort: Vec<String>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub include_deleted: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricSummary {
    /// Points, NaN and ±inf included.
    pub count: u64,
    /// The value at the greatest (step, timestamp, file order).
    pub last: f64,
    pub last_step: i64,
    pub first_step: i64,
    /// Over finite values only; None when there is none.
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    pub uid: i64,
    pub id: String,
    pub source: String,
    pub path: String,
    pub name: Option<String>,
    pub experiment: Option<String>,
    pub experiment_id: Option<String>,
    pub status: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub parent_id: Option<String>,
    pub user: Option<String>,
    pub deleted: bool,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, MetricSummary>,
}

impl serde::Serialize for MetricSummary {
    /// `{"count", "last", "last_step", "min", "max"}`, NaN and ±inf as strings: the CLI contract's
    /// shape, and the desktop's.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("MetricSummary", 5)?;
        m.serialize_field("count", &self.count)?;
        m.serialize_field("last", &crate::model::Num(self.last))?;
        m.serialize_field("last_step", &self.last_step)?;
        m.serialize_field("min", &self.min)?;
        m.serialize_field("max", &self.max)?;
        m.end()
    }
}

impl RunRow {
    /// The run as JSON, in the shape of the CLI contract (`runlens runs --format json`); the desktop
    /// sends the same, plus `user`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "source": self.source,
            "path": self.path,
            "name": self.name,
            "experiment": self.experiment,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "parent_id": self.parent_id,
            "params": self.params,
            "tags": self.tags,
            "metrics": self.metrics,
        })
    }
}

/// One param or tag across runs being compared.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DiffRow {
    /// "params" or "tags".
    pub section: &'static str,
    pub key: String,
    /// One value per run, in the order given; None where the run does not have the key.
    pub values: Vec<Option<String>>,
    pub differs: bool,
}

/// The params and tags of `runs` side by side, by section then key: every key when
/// `only_differences` is false, else the ones whose values differ (a missing key differs from any
/// value). With `hide_system_tags`, MLflow's bookkeeping tags (`mlflow.*`, but the note) are left out.
pub fn diff_runs(runs: &[RunRow], only_differences: bool, hide_system_tags: bool) -> Vec<DiffRow> {
    let mut rows = Vec::new();
    for section in ["params", "tags"] {
        let of = |r: &'_ RunRow| if section == "params" { r.params.clone() } else { r.tags.clone() };
        let maps: Vec<BTreeMap<String, String>> = runs.iter().map(of).collect();
        let keys: std::collections::BTreeSet<&String> = maps.iter().flat_map(|m| m.keys()).collect();
        for key in keys {
            if section == "tags" && hide_system_tags && key.starts_with("mlflow.") && key != "mlflow.note.content" {
                continue;
            }
            let values: Vec<Option<String>> = maps.iter().map(|m| m.get(key).cloned()).collect();
            let differs = values.iter().any(|v| *v != values[0]);
            if only_differences && !differs {
                continue;
            }
            rows.push(DiffRow { section, key: key.clone(), values, differs });
        }
    }
    rows
}

/// A run in full, for a detail view.
#[derive(Clone, Debug)]
pub struct RunDetail {
    pub run: RunRow,
    pub artifact_uri: Option<String>,
    pub artifact_dir: Option<String>,
    pub artifacts: Vec<Artifact>,
    pub inputs: Vec<DatasetInput>,
    pub models: Vec<LoggedModel>,
    pub diagnostics: Vec<Diagnostic>,
}

/// What a filter box can complete.
#[derive(Clone, Debug, Default)]
pub struct Completions {
    pub params: BTreeMap<String, Vec<String>>,
    pub tags: BTreeMap<String, Vec<String>>,
    pub metrics: Vec<String>,
}

/// Which x coordinate a chart uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartX {
    Step,
    /// Wall-clock time, ms since the epoch.
    Time,
    /// Milliseconds since the series' first point.
    Relative,
}

const RUN_COLUMNS: &str = "r.uid, r.id, r.source, r.path, r.name, r.experiment, r.experiment_id, r.status, r.start_time, r.end_time, r.parent_id, r.user, r.deleted";

fn run_row(r: &rusqlite::Row) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        uid: r.get(0)?,
        id: r.get(1)?,
        source: r.get(2)?,
        path: r.get(3)?,
        name: r.get(4)?,
        experiment: r.get(5)?,
        experiment_id: r.get(6)?,
        status: r.get(7)?,
        start_time: r.get(8)?,
        end_time: r.get(9)?,
        parent_id: r.get(10)?,
        user: r.get(11)?,
        deleted: r.get::<_, i64>(12)? != 0,
        params: BTreeMap::new(),
        tags: BTreeMap::new(),
        metrics: BTreeMap::new(),
    })
}

impl Index {
    /// The run table: filtered, sorted and paged, with params, tags and metric summaries.
    pub fn runs(&self, q: &RunQuery) -> Result<Vec<RunRow>, Error> {
        let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs r WHERE 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if !q.include_deleted {
            sql.push_str(" AND r.deleted = 0");
        }
        if let Some(expr) = filter::parse_filter(&q.filter).map_err(|e| Error::Filter(e.render(&q.filter)))? {
            let compiled = filter::compile(&expr).map_err(|e| Error::Filter(e.render(&q.filter)))?;
            sql.push_str(&format!(" AND ({})", compiled.where_sql));
            args.extend(compiled.params);
        }
        let mut order: Vec<String> = Vec::new();
        if !q.sort.is_empty() {
            let keys = q
                .sort
                .iter()
                .map(|s| filter::parse_sort(s).map_err(|e| Error::Filter(e.render(s))))
                .collect::<Result<Vec<_>, _>>()?;
            let o = filter::order_by_keys(&keys);
            order.push(o.where_sql);
            args.extend(o.params);
        } else {
            order.push("r.start_time IS NULL, r.start_time DESC, r.path".into());
        }
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
        if let Some(limit) = q.limit {
            sql.push_str(&format!(" LIMIT {limit} OFFSET {}", q.offset));
        } else if q.offset > 0 {
            sql.push_str(&format!(" LIMIT -1 OFFSET {}", q.offset));
        }
        let mut st = self.conn.prepare(&sql).map_err(|e| Error::Filter(e.to_string()))?;
        let mut rows: Vec<RunRow> =
            st.query_map(rusqlite::params_from_iter(args), run_row)?.collect::<Result<_, _>>()?;
        for row in &mut rows {
            self.fill(row)?;
        }
        Ok(rows)
    }

    fn fill(&self, row: &mut RunRow) -> Result<(), Error> {
        let mut st = self.conn.prepare_cached("SELECT key, value FROM params WHERE run = ?1")?;
        row.params = st.query_map([row.uid], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let mut st = self.conn.prepare_cached("SELECT key, value FROM tags WHERE run = ?1")?;
        row.tags = st.query_map([row.uid], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let mut st = self.conn.prepare_cached(
            "SELECT key, count, last_bits, last_step, first_step, min, max FROM series WHERE run = ?1",
        )?;
        row.metrics = st
            .query_map([row.uid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    MetricSummary {
                        count: r.get::<_, i64>(1)? as u64,
                        last: f64::from_bits(r.get::<_, i64>(2)? as u64),
                        last_step: r.get(3)?,
                        first_step: r.get(4)?,
                        min: r.get(5)?,
                        max: r.get(6)?,
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(())
    }

    /// Finds a run by id or by path. An id shared by several runs (a copied folder) is an error
    /// that lists their paths.
    pub fn find_run(&self, id_or_path: &str) -> Result<RunRow, Error> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM runs r WHERE r.path = ?1 OR r.id = ?1 ORDER BY r.path = ?1 DESC, r.path"
        ))?;
        let mut rows: Vec<RunRow> = st.query_map([id_or_path], run_row)?.collect::<Result<_, _>>()?;
        if rows.is_empty() && id_or_path.len() >= 4 && id_or_path.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            // A unique prefix of an id, as the run table shows them.
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs r WHERE substr(r.id, 1, ?2) = ?1 ORDER BY r.path LIMIT 20"
            ))?;
            rows = st
                .query_map(rusqlite::params![id_or_path, id_or_path.chars().count() as i64], run_row)?
                .collect::<Result<_, _>>()?;
        }
        let mut row = match rows.len() {
            0 => return Err(Error::NotFound(format!("no run with id or path {id_or_path:?}"))),
            1 => rows.into_iter().next().expect("one row"),
            _ if rows[0].path == id_or_path => rows.into_iter().next().expect("one row"),
            _ => {
                let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
                return Err(Error::NotFound(format!(
                    "{id_or_path:?} names {} runs; give a path: {}",
                    rows.len(),
                    paths.join(", ")
                )));
            }
        };
        self.fill(&mut row)?;
        Ok(row)
    }

    /// A run with everything the index knows about it.
    pub fn run_detail(&self, id_or_path: &str) -> Result<RunDetail, Error> {
        let run = self.find_run(id_or_path)?;
        let (artifact_uri, artifact_dir, unit): (Option<String>, Option<String>, String) = self.conn.query_row(
            "SELECT artifact_uri, artifact_dir, unit FROM runs WHERE uid = ?1",
            [run.uid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut st = self.conn.prepare_cached("SELECT path, size FROM artifacts WHERE run = ?1 ORDER BY path")?;
        let artifacts = st
            .query_map([run.uid], |r| Ok(Artifact { path: r.get(0)?, size: r.get::<_, i64>(1)? as u64 }))?
            .collect::<Result<_, _>>()?;
        let mut st = self.conn.prepare_cached(
            "SELECT name, digest, source_type, source, context, tags FROM inputs WHERE run = ?1 ORDER BY seq",
        )?;
        let inputs = st
            .query_map([run.uid], |r| {
                Ok(DatasetInput {
                    name: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    digest: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    source_type: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    source: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    context: r.get(4)?,
                    tags: serde_json::from_str(&r.get::<_, Option<String>>(5)?.unwrap_or_default()).unwrap_or_default(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut st = self.conn.prepare_cached(
            "SELECT model_id, name, step, dir, flavors, signature_inputs, signature_outputs, files FROM models WHERE run = ?1 ORDER BY seq",
        )?;
        let models = st
            .query_map([run.uid], |r| {
                let files: Vec<(String, u64)> =
                    serde_json::from_str(&r.get::<_, Option<String>>(7)?.unwrap_or_default()).unwrap_or_default();
                Ok(LoggedModel {
                    model_id: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    step: r.get(2)?,
                    dir: r.get(3)?,
                    flavors: serde_json::from_str(&r.get::<_, Option<String>>(4)?.unwrap_or_default())
                        .unwrap_or_default(),
                    signature_inputs: r.get(5)?,
                    signature_outputs: r.get(6)?,
                    files: files.into_iter().map(|(path, size)| Artifact { path, size }).collect(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut st = self
            .conn
            .prepare_cached("SELECT file, line, message FROM diagnostics WHERE unit = ?1 ORDER BY file, line, rowid")?;
        let diagnostics = st
            .query_map([&unit], |r| {
                Ok(Diagnostic {
                    file: r.get(0)?,
                    line: r.get::<_, Option<i64>>(1)?.map(|l| l as u64),
                    message: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(RunDetail { run, artifact_uri, artifact_dir, artifacts, inputs, models, diagnostics })
    }

    fn series_id(&self, run_uid: i64, key: &str) -> Result<i64, Error> {
        let sid = self
            .conn
            .prepare_cached("SELECT sid FROM series WHERE run = ?1 AND key = ?2")?
            .query_row(params![run_uid, key], |r| r.get(0))
            .optional()?;
        if let Some(sid) = sid {
            return Ok(sid);
        }
        let mut st = self.conn.prepare_cached("SELECT key FROM series WHERE run = ?1 ORDER BY key")?;
        let keys: Vec<String> = st.query_map([run_uid], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Err(Error::NotFound(if keys.is_empty() {
            format!("the run has no metric {key:?}; it has no metrics at all")
        } else {
            format!("the run has no metric {key:?}; it has: {}", keys.join(", "))
        }))
    }

    /// Every point of a metric, ordered by (step, timestamp, file order).
    pub fn series(&self, run_uid: i64, key: &str) -> Result<Vec<Point>, Error> {
        let sid = self.series_id(run_uid, key)?;
        Ok(series::read_all(&self.conn, sid)?)
    }

    /// A metric downsampled for a chart `width` pixels wide: the first, last, min and max point of
    /// each pixel column (M4), so every spike stays visible. `range` limits the x range (zoom).
    pub fn chart(
        &self,
        run_uid: i64,
        key: &str,
        width: usize,
        x: ChartX,
        range: Option<(f64, f64)>,
    ) -> Result<Vec<Point>, Error> {
        let sid = self.series_id(run_uid, key)?;
        match x {
            ChartX::Step => Ok(series::m4(&self.conn, sid, width, XAxis::Step, range)?),
            ChartX::Time => Ok(series::m4(&self.conn, sid, width, XAxis::Time, range)?),
            ChartX::Relative => {
                let t0: Option<f64> =
                    self.conn.query_row("SELECT min(ts_min) FROM chunks WHERE sid = ?1", [sid], |r| r.get(0))?;
                let Some(t0) = t0 else { return Ok(Vec::new()) };
                let range = range.map(|(a, b)| (a + t0, b + t0));
                let mut pts = series::m4(&self.conn, sid, width, XAxis::Time, range)?;
                for p in &mut pts {
                    p.ts -= t0;
                }
                Ok(pts)
            }
        }
    }

    /// The debiased exponential moving average of a metric (TensorBoard's smoothing, `weight` in
    /// [0, 1)), computed over every point of the series, then downsampled like `chart`. Points that
    /// are not finite pass through unsmoothed and do not disturb the average.
    pub fn chart_smoothed(
        &self,
        run_uid: i64,
        key: &str,
        width: usize,
        x: ChartX,
        range: Option<(f64, f64)>,
        weight: f64,
    ) -> Result<Vec<Point>, Error> {
        let mut pts = self.series(run_uid, key)?;
        ema(&mut pts, weight);
        let axis = if x == ChartX::Step { XAxis::Step } else { XAxis::Time };
        if x == ChartX::Relative {
            let t0 = pts.iter().map(|p| p.ts).filter(|t| !t.is_nan()).fold(f64::INFINITY, f64::min);
            for p in &mut pts {
                p.ts -= t0;
            }
        }
        let coord = |p: &Point| if axis == XAxis::Step { p.step as f64 } else { p.ts };
        let (lo, hi) = match range {
            Some(r) => r,
            None => pts
                .iter()
                .map(coord)
                .filter(|v| !v.is_nan())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v))),
        };
        if lo > hi {
            return Ok(Vec::new());
        }
        Ok(series::m4_points_along(&pts, width, lo, hi, axis))
    }

    /// Keys and their most frequent values, for completing a filter: params and tags with up to
    /// `max_values` values each (most common first), and metric keys.
    pub fn completions(&self, max_values: usize) -> Result<Completions, Error> {
        let mut out = Completions::default();
        for (table, map) in [("params", &mut out.params), ("tags", &mut out.tags)] {
            let mut st = self.conn.prepare(&format!(
                "SELECT t.key, t.value, count(*) AS c FROM {table} t JOIN runs r ON r.uid = t.run
                 WHERE r.deleted = 0 GROUP BY t.key, t.value ORDER BY t.key, c DESC, t.value"
            ))?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let values: &mut Vec<String> = map.entry(r.get(0)?).or_default();
                if values.len() < max_values {
                    values.push(r.get(1)?);
                }
            }
        }
        out.metrics = self.metric_keys()?.into_iter().map(|(k, _)| k).collect();
        Ok(out)
    }

    /// The metric keys present in the runs, with how many runs have each.
    pub fn metric_keys(&self) -> Result<Vec<(String, u64)>, Error> {
        let mut st = self.conn.prepare("SELECT s.key, count(*) FROM series s JOIN runs r ON r.uid = s.run WHERE r.deleted = 0 GROUP BY s.key ORDER BY s.key")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Debiased EMA in place, as TensorBoard smooths: `last = last * w + (1 - w) * v`, divided by
/// `1 - w^n` for the n finite values seen so far.
pub fn ema(points: &mut [Point], weight: f64) {
    let w = weight.clamp(0.0, 0.999_999);
    let mut last = 0.0;
    let mut n = 0i32;
    for p in points {
        if !p.value.is_finite() {
            continue;
        }
        last = last * w + (1.0 - w) * p.value;
        n += 1;
        p.value = last / (1.0 - w.powi(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(params: &[(&str, &str)], tags: &[(&str, &str)]) -> RunRow {
        RunRow {
            uid: 0,
            id: String::new(),
            source: String::new(),
            path: String::new(),
            name: None,
            experiment: None,
            experiment_id: None,
            status: None,
            start_time: None,
            end_time: None,
            parent_id: None,
            user: None,
            deleted: false,
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            metrics: BTreeMap::new(),
        }
    }

    #[test]
    fn the_diff_of_several_runs() {
        let runs = [
            row(&[("lr", "0.1"), ("bs", "32")], &[("mlflow.user", "a"), ("mlflow.note.content", "x")]),
            row(&[("lr", "0.2"), ("bs", "32")], &[("mlflow.user", "b"), ("mlflow.note.content", "x")]),
            row(&[("bs", "32")], &[]),
        ];
        let keys =
            |rows: Vec<DiffRow>| rows.into_iter().map(|r| format!("{}.{}", r.section, r.key)).collect::<Vec<_>>();
        assert_eq!(keys(diff_runs(&runs, true, true)), ["params.lr", "tags.mlflow.note.content"]);
        assert_eq!(keys(diff_runs(&runs, true, false)), ["params.lr", "tags.mlflow.note.content", "tags.mlflow.user"]);
        assert_eq!(keys(diff_runs(&runs[..2], true, true)), ["params.lr"]);
        let all = diff_runs(&runs, false, true);
        assert_eq!(keys(all.clone()), ["params.bs", "params.lr", "tags.mlflow.note.content"]);
        assert_eq!(all[1].values, [Some("0.1".to_string()), Some("0.2".to_string()), None]);
        assert!(!all[0].differs && all[1].differs);
    }
}
