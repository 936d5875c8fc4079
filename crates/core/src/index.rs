//! The index: one SQLite database per project in the app-data dir, never in the project folder.
//! Opening migrates the schema; writing happens in `scan`; reading in `query`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};

use crate::readers::UnitOut;
use crate::{schema, series, Error};

pub struct Index {
    pub(crate) conn: Connection,
    pub(crate) root: PathBuf,
    db_path: PathBuf,
    /// The units the last full scan found, so a watcher can re-read only the ones that changed.
    pub(crate) units: Option<Vec<crate::scan::Unit>>,
    /// Registry events already parsed, per model, by hash with their file's (size, mtime): a
    /// long-lived index (the app, a writer) parses only new event files.
    pub(crate) registry_memo: std::cell::RefCell<crate::registry::store::Memo>,
    /// For a polling watch: the registry's folders' times at the last pass.
    pub(crate) registry_stamps: Option<std::collections::BTreeMap<String, i64>>,
    /// Tables a monitor pass could not score, by (path, size, mtime), with the problem: a long
    /// watch names them again without reading them again until they change.
    pub(crate) monitor_failed: std::cell::RefCell<std::collections::HashMap<(std::path::PathBuf, u64, i64), String>>,
}

/// The default data dir: the OS's app-data dir (`~/.local/share/runlens`, `~/Library/Application
/// Support/runlens`, `%APPDATA%\runlens`).
pub fn default_data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("runlens"))
}

/// Where indexes live, by the one rule both shells follow: the folder the user named (`--data-dir`),
/// else `RUNLENS_DATA_DIR` (its value, read by the shell and passed in), else the OS's app-data dir.
pub fn choose_data_dir(named: Option<PathBuf>, env: Option<std::ffi::OsString>) -> Result<PathBuf, Error> {
    named
        .or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from))
        .or_else(default_data_dir)
        .ok_or_else(|| Error::Project("no app-data dir on this system: pass --data-dir or set RUNLENS_DATA_DIR".into()))
}

/// The index file of a project: named after the folder, plus a hash of its full path so two
/// folders with one name never share an index.
pub fn index_path(data_dir: &Path, root: &Path) -> PathBuf {
    let mut h = 0xcbf29ce484222325u64;
    crate::readers::mlflow_files::fnv(&mut h, root.as_os_str().as_encoded_bytes());
    let name: String = root
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                .take(40)
                .collect()
        })
        .unwrap_or_else(|| "root".into());
    data_dir.join("projects").join(format!("{name}-{h:016x}.sqlite"))
}

/// `path` as the file system will see it, whether or not it exists yet: absolute, `..` folded,
/// and its longest existing ancestor canonicalized (so `/tmp` on macOS compares as `/private/tmp`,
/// like the canonical project root it is checked against).
fn resolve(path: &Path) -> PathBuf {
    use std::path::Component;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut folded = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                folded.pop();
            }
            Component::CurDir => {}
            other => folded.push(other),
        }
    }
    let mut base = folded.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canon) = std::fs::canonicalize(base) {
            return rest.iter().rev().fold(canon, |p, c| p.join(c));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                base = parent;
            }
            _ => return folded,
        }
    }
}

/// SQLite says only "unable to open database file" when the index's folder cannot be written: say
/// why when the folder's disk is read-only or full.
fn writable_error(e: rusqlite::Error, db_path: &Path) -> Error {
    let dir = db_path.parent().unwrap_or(db_path);
    let probe = dir.join(format!(".runlens-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            e.into()
        }
        Err(io) if io.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
            Error::Index(format!("the index cannot be written: {} is on a read-only disk", dir.display()))
        }
        Err(io) if io.kind() == std::io::ErrorKind::StorageFull => Error::Index(format!(
            "the disk holding the index ({}) is full: free some space and scan again",
            dir.display()
        )),
        Err(io) => Error::Index(format!("the index cannot be written in {}: {io}", dir.display())),
    }
}

impl Index {
    /// Opens (creating or migrating) the index of `project` under `data_dir`.
    pub fn open(data_dir: &Path, project: &Path) -> Result<Index, Error> {
        let root = std::fs::canonicalize(project).map_err(|e| Error::Project(format!("{}: {e}", project.display())))?;
        if !root.is_dir() {
            return Err(Error::Project(format!("{}: not a folder", project.display())));
        }
        let data_dir = resolve(data_dir);
        if data_dir.starts_with(&root) {
            return Err(Error::Project(format!(
                "the data dir {} is inside the project: the index must live outside it (SQLite is unsafe on shared folders)",
                data_dir.display()
            )));
        }
        // SQLite's locking is unreliable on network and FUSE file systems (reliability case 26).
        let existing = data_dir.ancestors().find(|a| a.exists()).unwrap_or(&data_dir);
        if let Some(kind) = crate::files::remote_fs(existing) {
            return Err(Error::Project(format!(
                "the data dir {} is on a {kind} file system, where SQLite's locking is unreliable: choose a \
                 local folder for the index with --data-dir or RUNLENS_DATA_DIR",
                data_dir.display()
            )));
        }
        let db_path = index_path(&data_dir, &root);
        if let Some(parent) = db_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::Io(format!("{}: {e}", parent.display())))?;
        }
        let mut conn = Connection::open_with_flags(
            &db_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| writable_error(e, &db_path))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // Scans and the watcher use a few dozen statements in their loops: keep them all prepared.
        conn.set_prepared_statement_cache_capacity(128);
        // With STAT4 compiled in, SQLite marks statements whose plan might depend on a bound value
        // and re-prepares them each time they are reused. Our plans never do: keep them stable.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn, &db_path.display().to_string()).map_err(|e| Error::Index(e.to_string()))?;
        crate::filter::register_functions(&conn)?;
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('root', ?1)", [root.to_string_lossy()])?;
        Ok(Index {
            conn,
            root,
            db_path,
            units: None,
            registry_memo: Default::default(),
            registry_stamps: None,
            monitor_failed: Default::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// A folder for this project's other caches, beside its index: `projects/<name>-<hash>.<what>/`.
    pub(crate) fn side_dir(&self, what: &str) -> PathBuf {
        self.db_path.with_extension(what)
    }

    /// The raw connection, for tests and diagnostics tools.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Writes what a reader produced for one unit.
pub(crate) fn apply(tx: &Connection, out: UnitOut) -> rusqlite::Result<()> {
    let unit = out.unit.as_str();
    // File states: new ones written; files of the unit that are gone forgotten.
    let listed: Vec<&str> = out.states.iter().map(|(p, _)| p.as_str()).collect();
    for (path, st) in &out.states {
        if let Some(st) = st {
            tx.prepare_cached("INSERT OR REPLACE INTO files(path, unit, state) VALUES (?1, ?2, ?3)")?
                .execute(params![path, unit, serde_json::to_string(st).unwrap_or_default()])?;
        }
    }
    // A unit the index has never seen has nothing to clean up: its runs, series and diagnostics
    // are all new, so the lookups below are skipped (they are most of a cold scan's writes).
    let fresh = out.fresh;
    if !out.untouched && !fresh {
        let gone: Vec<String> = tx
            .prepare_cached("SELECT path FROM files WHERE unit = ?1")?
            .query_map([unit], |r| r.get::<_, String>(0))?
            .filter_map(Result::ok)
            .filter(|p| !listed.contains(&p.as_str()))
            .collect();
        for p in gone {
            tx.prepare_cached("DELETE FROM files WHERE path = ?1")?.execute([&p])?;
            tx.prepare_cached("DELETE FROM diagnostics WHERE file = ?1 OR file = ?2")?.execute(params![p, p])?;
        }
    }
    for d in &out.diags {
        if d.replace && !fresh {
            tx.prepare_cached("DELETE FROM diagnostics WHERE file = ?1")?.execute([&d.file])?;
        }
        for item in &d.items {
            tx.prepare_cached("INSERT INTO diagnostics(unit, file, line, message) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![unit, item.file, item.line.map(|l| l as i64), item.message])?;
        }
    }
    if out.untouched {
        return Ok(());
    }
    let mut kept: Vec<i64> = Vec::new();
    for run in out.runs {
        let existing: Option<i64> = if fresh {
            None
        } else {
            tx.prepare_cached("SELECT uid FROM runs WHERE path = ?1")?.query_row([&run.path], |r| r.get(0)).ok()
        };
        let uid = match (existing, &run.meta) {
            (Some(uid), None) => uid,
            (_, Some(m)) => write_meta(tx, existing, unit, &run.path, run.source.as_str(), m)?,
            (None, None) => continue, // nothing known about it yet
        };
        kept.push(uid);
        // First drop what is no longer so: the series of replaced files, and of files that own none
        // of this run's series now. Only then add points: a key may move from one file of the run
        // to another (a DVCLive summary value that got its own TSV, or lost it), and a series
        // belongs to one file.
        if !fresh {
            for f in run.files.iter().filter(|f| f.replace) {
                tx.prepare_cached("DELETE FROM series WHERE run = ?1 AND file = ?2")?.execute(params![uid, f.file])?;
            }
            let owners: Vec<String> = tx
                .prepare_cached("SELECT DISTINCT file FROM series WHERE run = ?1")?
                .query_map([uid], |r| r.get::<_, String>(0))?
                .filter_map(Result::ok)
                .collect();
            for o in owners.iter().filter(|o| !run.series_files.contains(o)) {
                tx.prepare_cached("DELETE FROM series WHERE run = ?1 AND file = ?2")?.execute(params![uid, o])?;
            }
        }
        // A key is one series of the run: given twice (a repeated CSV column, a DVCLive TSV column
        // named like another TSV), the first file's points are kept and the rest reported.
        let mut owner: HashMap<String, String> = HashMap::new();
        for f in run.files {
            for (key, points) in f.series {
                if let Some(first) = owner.get(&key) {
                    let msg = format!("metric {key:?} is also logged by {first}: not read twice");
                    tx.prepare_cached("INSERT INTO diagnostics(unit, file, line, message) VALUES (?1, ?2, NULL, ?3)")?
                        .execute(params![unit, f.file, msg])?;
                    continue;
                }
                owner.insert(key.clone(), f.file.clone());
                series::append(tx, uid, &key, &f.file, points, fresh)?;
            }
        }
    }
    if fresh {
        return Ok(());
    }
    let stale: Vec<i64> = tx
        .prepare_cached("SELECT uid FROM runs WHERE unit = ?1")?
        .query_map([unit], |r| r.get::<_, i64>(0))?
        .filter_map(Result::ok)
        .filter(|u| !kept.contains(u))
        .collect();
    for uid in stale {
        tx.prepare_cached("DELETE FROM runs WHERE uid = ?1")?.execute([uid])?;
    }
    Ok(())
}

fn write_meta(
    tx: &Connection,
    existing: Option<i64>,
    unit: &str,
    path: &str,
    source: &str,
    m: &crate::model::RunMeta,
) -> rusqlite::Result<i64> {
    let values = params![
        m.id,
        source,
        path,
        unit,
        m.name,
        m.experiment,
        m.experiment_id,
        m.status.map(|s| s.as_str()),
        m.start_time,
        m.end_time,
        m.parent_id,
        m.user,
        m.artifact_uri,
        m.artifact_dir,
        m.deleted as i64
    ];
    let uid = match existing {
        Some(uid) => {
            tx.prepare_cached(
                "UPDATE runs SET id=?1, source=?2, path=?3, unit=?4, name=?5, experiment=?6, experiment_id=?7, status=?8,
                 start_time=?9, end_time=?10, parent_id=?11, user=?12, artifact_uri=?13, artifact_dir=?14, deleted=?15 WHERE uid = ?16",
            )?
            .execute(rusqlite::params_from_iter(values.iter().copied().chain(std::iter::once(&uid as &dyn rusqlite::ToSql))))?;
            for t in ["params", "tags", "artifacts", "inputs", "models"] {
                tx.prepare_cached(&format!("DELETE FROM {t} WHERE run = ?1"))?.execute([uid])?;
            }
            uid
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO runs(id, source, path, unit, name, experiment, experiment_id, status, start_time, end_time, parent_id, user,
                 artifact_uri, artifact_dir, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(values)?;
            tx.last_insert_rowid()
        }
    };
    for (k, v) in &m.params {
        tx.prepare_cached("INSERT INTO params(run, key, value) VALUES (?1, ?2, ?3)")?.execute(params![uid, k, v])?;
    }
    for (k, v) in &m.tags {
        tx.prepare_cached("INSERT INTO tags(run, key, value) VALUES (?1, ?2, ?3)")?.execute(params![uid, k, v])?;
    }
    for a in &m.artifacts {
        tx.prepare_cached("INSERT OR REPLACE INTO artifacts(run, path, size) VALUES (?1, ?2, ?3)")?
            .execute(params![uid, a.path, a.size as i64])?;
    }
    for (i, d) in m.inputs.iter().enumerate() {
        tx.prepare_cached("INSERT INTO inputs(run, seq, name, digest, source_type, source, context, tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
            .execute(params![uid, i as i64, d.name, d.digest, d.source_type, d.source, d.context, serde_json::to_string(&d.tags).unwrap_or_default()])?;
    }
    for (i, lm) in m.models.iter().enumerate() {
        let files: Vec<(String, u64)> = lm.files.iter().map(|f| (f.path.clone(), f.size)).collect();
        tx.prepare_cached(
            "INSERT INTO models(run, seq, model_id, name, step, dir, flavors, signature_inputs, signature_outputs, files)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            uid,
            i as i64,
            lm.model_id,
            lm.name,
            lm.step,
            lm.dir,
            serde_json::to_string(&lm.flavors).unwrap_or_default(),
            lm.signature_inputs,
            lm.signature_outputs,
            serde_json::to_string(&files).unwrap_or_default()
        ])?;
    }
    Ok(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cached statement is reused as prepared: with SQLite's STAT4 a statement binding a value
    /// against an indexed column was otherwise re-prepared on every reuse (a third of a live
    /// watcher's CPU went to the SQL parser).
    #[test]
    fn cached_statements_are_not_re_prepared() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        std::fs::create_dir_all(&project).unwrap();
        let index = Index::open(&dir.path().join("data"), &project).unwrap();
        for _ in 0..3 {
            let mut st = index
                .conn
                .prepare_cached("SELECT seq, n FROM chunks WHERE sid = ?1 ORDER BY seq DESC LIMIT 1")
                .unwrap();
            let _ = st.query_row([1], |r| r.get::<_, i64>(0));
        }
        let st =
            index.conn.prepare_cached("SELECT seq, n FROM chunks WHERE sid = ?1 ORDER BY seq DESC LIMIT 1").unwrap();
        assert_eq!(st.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
