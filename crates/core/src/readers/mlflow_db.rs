//! MLflow's SQLite tracking store (`mlflow.db`), opened read-only and read by column name.
//! Tables: mlflow/store/tracking/dbmodels/models.py. NaN is stored as 0 with is_nan = 1 and ±inf as
//! ±f64::MAX; both are read back as the values that were logged.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{Ctx, Diags, FileUpdate, RunOut, UnitOut};
use crate::files::ProjectFs;
use crate::model::{DatasetInput, LoggedModel, Point, RunMeta, Source, Status};
use crate::tail::{self, FileState};

/// Schema revisions (alembic) of MLflow up to 3.17, all read the same way.
const KNOWN_REVISIONS: &[&str] = &[
    "0584bdc529eb",
    "0a8213491aaa",
    "0c779009ac13",
    "17e22815139b",
    "181f10493468",
    "1971f2d9a75b",
    "1a0cddfcaa16",
    "1b5f0d9ad7c1",
    "1bd49d398cd23",
    "27a6a02d2cf1",
    "2b4d017a5e9b",
    "2c33131f4dae",
    "2d6e25af4d3e",
    "3500859a5d39",
    "39d1c3be5f05",
    "3da73c924c2f",
    "400f98739977",
    "4465047574b1",
    "451aebb31d03",
    "534353b11cbc",
    "5b0e9adcef9c",
    "5d2d30f0abce",
    "6953534de441",
    "6f8d9c3b2a1e",
    "71994744cf8e",
    "728d730b5ebd",
    "75868b020152",
    "76601a5f987d",
    "770bee3ae1dd",
    "7ac759974ad8",
    "7d34483879f0",
    "7f2a7d5fae7d",
    "84291f40a231",
    "867495a8f9d4",
    "89d3d66ed43f",
    "89d4b8295536",
    "90e64c465722",
    "97727af70f4d",
    "a1b2c3d4e5f6",
    "a5b4c3d2e1f0",
    "a8b9c0d1e2f3",
    "a8c4a736bde6",
    "acf3f17fdcc7",
    "ae8bbe7743c9",
    "b7c8d9e0f1a2",
    "b7e2c1a4d9f3",
    "b7e4c1a90f23",
    "bd07f7e963c5",
    "bda7b8c39065",
    "bf29a5ff90ea",
    "c1d2e3f4a5b6",
    "c3d6457b6d8a",
    "c3d9e7f1a2b4",
    "c48cb773bb87",
    "c8d9e0f1a2b3",
    "c9d4e5f6a7b8",
    "cbc13b556ace",
    "cc1f77228345",
    "cfd24bdc0731",
    "d0e1f2a3b4c5",
    "d3e4f5a6b7c8",
    "da6fb0208061",
    "dc11669786a5",
    "de4033877273",
    "df50e92ffc5e",
    "e1f2a3b4c5d6",
    "f5a4f2784254",
];

/// True when the file is an SQLite database with MLflow's tracking tables.
pub fn is_mlflow_db(fs: &ProjectFs, path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    let ok = fs.open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok();
    if !ok || &head != b"SQLite format 3\0" {
        return false;
    }
    open(path).is_ok_and(|c| {
        c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('runs','experiments','metrics')",
            [],
            |r| r.get::<_, i64>(0),
        )
        .is_ok_and(|n| n == 3)
    })
}

/// How long one pass over a database may take before it is given up: a hostile file (recursive
/// views, a huge page count) cannot hang a scan.
const DB_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens another tool's database read-only, not through a link, with its schema distrusted: no
/// function or virtual table named in its schema runs, the defensive flag is on, and every
/// statement is interrupted once `DB_TIME_LIMIT` has passed since the open.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    use rusqlite::config::DbConfig;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let mut c = Connection::open_with_flags(path, flags)?;
    c.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    c.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    let started = std::time::Instant::now();
    c.progress_handler(10_000, Some(move || started.elapsed() > DB_TIME_LIMIT))?;
    Ok(c)
}

/// The state of the database file and its journal: any change re-reads the whole store.
fn db_state(fs: &ProjectFs, path: &Path) -> Option<FileState> {
    let md = fs.stat_file(path).ok()?;
    let mut st =
        FileState { size: md.len(), mtime_ns: tail::mtime_ns(&md), file_id: tail::file_id(&md), ..Default::default() };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(w) = fs.stat_file(Path::new(&wal)) {
        st.extra = format!("wal {} {}", w.len(), tail::mtime_ns(&w));
    }
    Some(st)
}

fn columns(c: &Connection, table: &str) -> Vec<String> {
    let Ok(mut st) = c.prepare(&format!("PRAGMA table_info({table})")) else {
        return Vec::new();
    };
    st.query_map([], |r| r.get::<_, String>(1)).map(|it| it.flatten().collect()).unwrap_or_default()
}

/// SQL for "column or NULL", so a missing column in another schema revision reads as NULL.
fn col(cols: &[String], name: &str) -> String {
    if cols.iter().any(|c| c == name) {
        name.to_string()
    } else {
        "NULL".to_string()
    }
}

fn value_of(v: f64, is_nan: bool) -> f64 {
    if is_nan {
        f64::NAN
    } else if v == f64::MAX {
        f64::INFINITY
    } else if v == f64::MIN {
        f64::NEG_INFINITY
    } else {
        v
    }
}

pub fn read(ctx: &Ctx, path: &Path) -> UnitOut {
    let file = ctx.rel(path);
    let mut out = UnitOut { unit: file.clone(), ..Default::default() };
    let Some(state) = db_state(ctx.fs, path) else {
        return out;
    };
    if ctx.prev.get(&file) == Some(&state) {
        out.states.push((file, None));
        out.untouched = true;
        return out;
    }
    let mut diags = Diags::new(file.clone());
    match read_all(ctx, path, &file, &mut diags) {
        Ok(runs) => out.runs = runs,
        Err(e) => diags.push(None, format!("cannot read the MLflow database: {e}")),
    }
    out.states.push((file, Some(state)));
    out.diags.push(diags.finish(true));
    out
}

fn read_all(ctx: &Ctx, path: &Path, file: &str, diags: &mut Diags) -> rusqlite::Result<Vec<RunOut>> {
    let c = open(path)?;
    let rev: Option<String> = c.query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0)).ok();
    match &rev {
        Some(r) if KNOWN_REVISIONS.contains(&r.as_str()) => {}
        Some(r) => diags.push(None, format!("unknown MLflow schema revision {r}: reading the columns Runlens knows")),
        None => diags.push(None, "no MLflow schema revision found: reading the columns Runlens knows"),
    }
    let root = ctx.root;
    let base = path.parent().unwrap_or(root);

    let mut experiments: HashMap<String, (Option<String>, bool)> = HashMap::new();
    {
        let mut st = c.prepare("SELECT experiment_id, name, lifecycle_stage FROM experiments")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, rusqlite::types::Value>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<String>>(2)?))
        })?;
        for row in rows.flatten() {
            experiments.insert(sql_text(&row.0), (row.1, row.2.as_deref() == Some("deleted")));
        }
    }

    let rc = columns(&c, "runs");
    let sql = format!(
        "SELECT run_uuid, {}, {}, {}, {}, {}, {}, {}, experiment_id FROM runs ORDER BY run_uuid",
        col(&rc, "name"),
        col(&rc, "user_id"),
        col(&rc, "status"),
        col(&rc, "start_time"),
        col(&rc, "end_time"),
        col(&rc, "lifecycle_stage"),
        col(&rc, "artifact_uri")
    );
    let mut runs: Vec<RunMeta> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    {
        let mut st = c.prepare(&sql)?;
        let rows = st.query_map([], |r| {
            Ok(RunMeta {
                id: r.get(0)?,
                name: r.get(1)?,
                user: r.get(2)?,
                status: r.get::<_, Option<String>>(3)?.and_then(|s| Status::from_mlflow(&s)),
                start_time: r.get(4)?,
                end_time: r.get(5)?,
                deleted: r.get::<_, Option<String>>(6)?.as_deref() == Some("deleted"),
                artifact_uri: r.get(7)?,
                experiment_id: Some(sql_text(&r.get::<_, rusqlite::types::Value>(8)?)),
                ..Default::default()
            })
        })?;
        for m in rows {
            let mut m = m?;
            if let Some((name, deleted)) = m.experiment_id.as_ref().and_then(|e| experiments.get(e)) {
                m.experiment = name.clone();
                m.deleted |= *deleted;
            }
            index.insert(m.id.clone(), runs.len());
            runs.push(m);
        }
    }
    for (table, is_tags) in [("params", false), ("tags", true)] {
        let mut st = c.prepare(&format!("SELECT run_uuid, key, value FROM {table}"))?;
        let rows =
            st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?)))?;
        for (run, k, v) in rows.flatten() {
            if let Some(&i) = index.get(&run) {
                let m = &mut runs[i];
                if is_tags { &mut m.tags } else { &mut m.params }.insert(k, v.unwrap_or_default());
            }
        }
    }
    let mut server_missing = 0usize;
    for m in &mut runs {
        if m.name.as_deref().is_none_or(str::is_empty) {
            m.name = m.tags.get("mlflow.runName").cloned();
        }
        m.parent_id = m.tags.get("mlflow.parentRunId").cloned();
        if m.user.as_deref().is_none_or(str::is_empty) {
            m.user = m.tags.get("mlflow.user").cloned();
        }
        let server = m.artifact_uri.as_deref().and_then(crate::paths::mlflow_artifacts);
        let art = match &server {
            Some(loc) => crate::paths::resolve_in_project(root, base, loc),
            None => m.artifact_uri.as_deref().and_then(|u| crate::paths::resolve_in_project(root, base, u)),
        };
        if server.is_some() && art.is_none() && !ctx.fs.is_dir(&base.join("mlartifacts")) {
            server_missing += 1;
        }
        if let Some(dir) = art {
            let rel = ctx.rel(&dir);
            m.artifacts = ctx.list_files(&dir, diags, &rel);
            m.artifact_dir = Some(rel);
        }
    }
    if server_missing > 0 {
        // One warning for the store, not one per run.
        diags.push(
            None,
            format!(
                "{server_missing} run(s) logged through `mlflow server` keep their artifacts in its store \
                 (mlflow-artifacts:/...), and no mlartifacts/ folder beside {file} holds them"
            ),
        );
    }
    read_inputs(&c, &mut runs, &index);
    read_models(ctx, &c, base, &mut runs, &index, diags);

    // Metrics: every point, in (step, timestamp, value) order as MLflow returns them.
    let mut points: Vec<Vec<(String, Vec<Point>)>> = vec![Vec::new(); runs.len()];
    {
        let mc = columns(&c, "metrics");
        let sql = format!("SELECT run_uuid, key, value, timestamp, {}, {} FROM metrics ORDER BY run_uuid, key, step, timestamp, value", col(&mc, "step"), col(&mc, "is_nan"));
        let mut st = c.prepare(&sql)?;
        let mut rows = st.query([])?;
        let mut cur: Option<(usize, String)> = None;
        while let Some(r) = rows.next()? {
            let run: String = r.get(0)?;
            let Some(&i) = index.get(&run) else { continue };
            let key: String = r.get(1)?;
            let value: f64 = r.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN);
            let ts: Option<i64> = r.get(3)?;
            let step: i64 = r.get::<_, Option<i64>>(4)?.unwrap_or(0);
            let is_nan = r.get::<_, Option<i64>>(5)?.unwrap_or(0) != 0;
            let p = Point { step, value: value_of(value, is_nan), ts: ts.map_or(f64::NAN, |t| t as f64) };
            if cur.as_ref() != Some(&(i, key.clone())) {
                points[i].push((key.clone(), Vec::new()));
                cur = Some((i, key));
            }
            if let Some(last) = points[i].last_mut() {
                last.1.push(p);
            }
        }
    }
    Ok(runs
        .into_iter()
        .zip(points)
        .map(|(meta, series)| {
            let path = format!("{file}#{}", meta.id);
            RunOut {
                path,
                source: Source::MlflowDb,
                meta: Some(meta),
                files: vec![FileUpdate { file: file.to_string(), replace: true, series }],
                series_files: vec![file.to_string()],
            }
        })
        .collect())
}

fn sql_text(v: &rusqlite::types::Value) -> String {
    use rusqlite::types::Value as V;
    match v {
        V::Integer(i) => i.to_string(),
        V::Real(f) => f.to_string(),
        V::Text(s) => s.clone(),
        V::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        V::Null => String::new(),
    }
}

fn read_inputs(c: &Connection, runs: &mut [RunMeta], index: &HashMap<String, usize>) {
    let sql = "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source
               FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
               WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' ORDER BY i.input_uuid";
    let Ok(mut st) = c.prepare(sql) else { return };
    let Ok(rows) = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            DatasetInput {
                name: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                digest: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                source_type: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                source: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                ..Default::default()
            },
        ))
    }) else {
        return;
    };
    let mut tag_st = c.prepare("SELECT name, value FROM input_tags WHERE input_uuid = ?").ok();
    for (run, uuid, mut input) in rows.flatten() {
        if let Some(st) = tag_st.as_mut() {
            if let Ok(tags) = st.query_map([&uuid], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))) {
                for (k, v) in tags.flatten() {
                    if k == "mlflow.data.context" {
                        input.context = Some(v.clone());
                    }
                    input.tags.insert(k, v);
                }
            }
        }
        if let Some(&i) = index.get(&run) {
            runs[i].inputs.push(input);
        }
    }
}

fn read_models(
    ctx: &Ctx,
    c: &Connection,
    base: &Path,
    runs: &mut [RunMeta],
    index: &HashMap<String, usize>,
    diags: &mut Diags,
) {
    let sql = "SELECT i.source_id, i.destination_id, i.step, m.name, m.artifact_location
               FROM inputs i LEFT JOIN logged_models m ON m.model_id = i.destination_id
               WHERE i.source_type = 'RUN_OUTPUT' AND i.destination_type = 'MODEL_OUTPUT' ORDER BY i.destination_id";
    let Ok(mut st) = c.prepare(sql) else { return };
    let Ok(rows) = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    }) else {
        return;
    };
    for (run, model_id, step, name, loc) in rows.flatten() {
        let Some(&i) = index.get(&run) else { continue };
        let mut lm = LoggedModel { model_id, step, name: name.unwrap_or_default(), ..Default::default() };
        if let Some(dir) = loc.as_deref().and_then(|l| crate::paths::resolve_in_project(ctx.root, base, l)) {
            let rel = ctx.rel(&dir);
            lm.files = ctx.list_files(&dir, diags, &rel);
            super::mlflow_files::read_mlmodel(ctx, &dir, &mut lm, diags);
            lm.dir = Some(rel);
        }
        runs[i].models.push(lm);
    }
}
