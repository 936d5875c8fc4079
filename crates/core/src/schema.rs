//! The index's SQLite schema and its migrations, applied in order by `PRAGMA user_version`.
//! The index is a cache: a migration may simply drop what it changes, the next scan refills it.

use rusqlite::Connection;

/// Each entry moves the schema one version up. Never edit a released entry: add one.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs(
        uid INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        source TEXT NOT NULL,
        path TEXT NOT NULL UNIQUE,
        unit TEXT NOT NULL,
        name TEXT, experiment TEXT, experiment_id TEXT, status TEXT,
        start_time INTEGER, end_time INTEGER, parent_id TEXT, user TEXT,
        artifact_uri TEXT, artifact_dir TEXT,
        deleted INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX runs_id ON runs(id);
    CREATE INDEX runs_unit ON runs(unit);
    CREATE TABLE params(run INTEGER NOT NULL REFERENCES runs(uid) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key)) WITHOUT ROWID;
    CREATE TABLE tags(run INTEGER NOT NULL REFERENCES runs(uid) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key)) WITHOUT ROWID;
    CREATE TABLE artifacts(run INTEGER NOT NULL REFERENCES runs(uid) ON DELETE CASCADE, path TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY(run, path)) WITHOUT ROWID;
    CREATE TABLE inputs(run INTEGER NOT NULL REFERENCES runs(uid) ON DELETE CASCADE, seq INTEGER NOT NULL, name TEXT, digest TEXT, source_type TEXT, source TEXT, context TEXT, tags TEXT, PRIMARY KEY(run, seq)) WITHOUT ROWID;
    CREATE TABLE models(run INTEGER NOT NULL REFERENCES runs(uid) ON DELETE CASCADE, seq INTEGER NOT NULL, model_id TEXT, name TEXT, step INTEGER, dir TEXT, flavors TEXT, signature_inputs TEXT, signature_outputs TEXT, files TEXT, PRIMARY KEY(run, seq)) WITHOUT ROWID;
    CREATE TABLE series(
        sid INTEGER PRIMARY KEY,
        run INTEGER NOT NULL REFERENCES runs(uid) ON DELETE CASCADE,
        key TEXT NOT NULL,
        file TEXT NOT NULL,
        count INTEGER NOT NULL,
        last REAL, last_bits INTEGER NOT NULL, last_step INTEGER NOT NULL, last_ts REAL,
        first_step INTEGER NOT NULL,
        min REAL, max REAL,
        UNIQUE(run, key));
    CREATE INDEX series_key ON series(key);
    CREATE TABLE chunks(
        sid INTEGER NOT NULL REFERENCES series(sid) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        n INTEGER NOT NULL,
        first_step INTEGER NOT NULL, last_step INTEGER NOT NULL,
        first_bits INTEGER NOT NULL, last_bits INTEGER NOT NULL,
        first_ts REAL, last_ts REAL, ts_min REAL, ts_max REAL,
        vmin REAL, vmin_step INTEGER, vmax REAL, vmax_step INTEGER,
        data BLOB NOT NULL,
        PRIMARY KEY(sid, seq));
    CREATE TABLE files(path TEXT PRIMARY KEY, unit TEXT NOT NULL, state TEXT NOT NULL);
    CREATE INDEX files_unit ON files(unit);
    CREATE TABLE diagnostics(unit TEXT NOT NULL, file TEXT NOT NULL, line INTEGER, message TEXT NOT NULL);
    CREATE INDEX diagnostics_file ON diagnostics(file);
    CREATE INDEX diagnostics_unit ON diagnostics(unit);
    ",
    // 2: chunk summaries say how many points have a time and when the min and max happened, so
    // charts along wall-clock time can skip decoding too. Chunks written before read as
    // "unknown" (n_ts 0) and are decoded.
    "
    ALTER TABLE chunks ADD COLUMN n_ts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE chunks ADD COLUMN vmin_ts REAL;
    ALTER TABLE chunks ADD COLUMN vmax_ts REAL;
    ",
    // 3: the registry's cache: each event file's bytes once checked (hash, signature), or why it
    // is not a valid event, with the file's size and mtime (a file edited in place is read again); and the SHA-256 of pinned model files by size and mtime, so a listing
    // hashes only files that changed; and each model's last fold with the listing it was made from
    // (a listing of the same files under the same policy reuses it).
    "
    CREATE TABLE registry_events(model TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, body BLOB, problem TEXT, PRIMARY KEY(model, hash)) WITHOUT ROWID;
    CREATE TABLE pinned_files(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE registry_folds(model TEXT PRIMARY KEY, key TEXT NOT NULL, folded BLOB NOT NULL);
    ",
];

pub const VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the index was written by a newer Runlens (schema {found}, this one knows {VERSION}); remove {path} or upgrade"
    )]
    Newer { found: i64, path: String },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Brings the schema to VERSION, one transaction per step.
pub fn migrate(conn: &mut Connection, path: &str) -> Result<(), MigrationError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(MigrationError::Newer { found, path: path.to_string() });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_empty_and_is_idempotent_and_refuses_newer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.sqlite");
        let mut c = Connection::open(&p).unwrap();
        migrate(&mut c, "i").unwrap();
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, VERSION);
        migrate(&mut c, "i").unwrap();
        let n: i64 = c.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'series'", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
        c.pragma_update(None, "user_version", VERSION + 1).unwrap();
        assert!(matches!(migrate(&mut c, "i"), Err(MigrationError::Newer { .. })));
    }

    #[test]
    fn a_version_1_index_with_data_moves_to_the_current_version() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute_batch(
            "INSERT INTO runs(uid, id, source, path, unit) VALUES (1, 'r', 'jsonl', 'r', 'r');
             INSERT INTO series(sid, run, key, file, count, last_bits, last_step, first_step) VALUES (1, 1, 'loss', 'r', 1, 0, 0, 0);
             INSERT INTO chunks(sid, seq, n, first_step, last_step, first_bits, last_bits, data) VALUES (1, 0, 1, 0, 0, 0, 0, x'00');",
        )
        .unwrap();
        migrate(&mut c, "i").unwrap();
        let (n_ts, vmin_ts): (i64, Option<f64>) =
            c.query_row("SELECT n_ts, vmin_ts FROM chunks", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((n_ts, vmin_ts), (0, None), "old chunks read as 'times unknown', so charts decode them");
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, VERSION);
    }
}
