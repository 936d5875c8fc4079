//! MLflow's model registries, read-only: the file store (`<mlruns>/models/<name>/...`) and the
//! SQLite store (`registered_models`, `model_versions`, their tags, `registered_model_aliases`).
//! They are listed beside ours with their source, as `MlflowClient` lists them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use rusqlite::types::Value as Sql;
use serde_json::{json, Value};

use super::fold::{ModelState, VersionState};
use crate::files::{Kind, ProjectFs};
use crate::index::Index;
use crate::readers::{mlflow_db, yaml, MAX_META_BYTES};

const SMALL: u64 = 1 << 20;

/// Every MLflow registry model the project holds.
pub fn models(index: &Index, fs: &ProjectFs) -> Vec<ModelState> {
    let root = &index.root;
    let mut out = Vec::new();
    let (stores, dbs) = stores(index, fs);
    for store in stores {
        out.extend(file_store(index, fs, root, &store));
    }
    for db in dbs {
        out.extend(db_store(index, root, &db));
    }
    out
}

/// The project-relative MLflow file stores (folders holding `models/`) and databases.
fn stores(index: &Index, fs: &ProjectFs) -> (Vec<String>, Vec<String>) {
    let mut files: HashSet<String> = HashSet::new();
    let mut dbs: HashSet<String> = HashSet::new();
    if let Ok(mut st) =
        index.conn.prepare("SELECT DISTINCT source, unit FROM runs WHERE source IN ('mlflow', 'mlflow-db')")
    {
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)));
        for (source, unit) in rows.into_iter().flatten().flatten() {
            if source == "mlflow-db" {
                dbs.insert(unit);
            } else {
                // A run folder's unit is `<store>/<experiment>/<run>`.
                let parts: Vec<&str> = unit.split('/').collect();
                if parts.len() >= 2 {
                    files.insert(parts[..parts.len() - 2].join("/"));
                }
            }
        }
    }
    if fs.is_dir(&index.root.join("mlruns").join("models")) {
        files.insert("mlruns".into());
    }
    if fs.is_file(&index.root.join("mlflow.db")) {
        dbs.insert("mlflow.db".into());
    }
    let mut files: Vec<String> = files.into_iter().filter(|s| fs.is_dir(&index.root.join(s).join("models"))).collect();
    let mut dbs: Vec<String> = dbs.into_iter().collect();
    files.sort();
    dbs.sort();
    (files, dbs)
}

fn text_files(fs: &ProjectFs, dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in fs.list(dir).unwrap_or_default() {
        if e.kind == Kind::File {
            if let Ok(t) = fs.read_text(&e.path, SMALL, "an MLflow tag") {
                out.insert(e.name, t);
            }
        }
    }
    out
}

fn run_path(index: &Index, run_id: Option<&str>, source: &str) -> Option<String> {
    let id = run_id.filter(|r| !r.is_empty())?;
    index
        .conn
        .query_row("SELECT path FROM runs WHERE id = ?1 AND source = ?2 ORDER BY path LIMIT 1", [id, source], |r| {
            r.get(0)
        })
        .ok()
}

/// Where a version's files lie in the project: its `storage_location`, else its `source` when
/// that is a path.
fn model_path(root: &Path, base: &Path, storage: Option<&str>, source: Option<&str>) -> Option<String> {
    [storage, source].into_iter().flatten().find_map(|loc| {
        if loc.starts_with("models:/") || loc.starts_with("runs:/") {
            return None;
        }
        let p = crate::paths::resolve_in_project(root, base, loc)?;
        crate::paths::rel(root, &p)
    })
}

/// An MLflow version with nothing known yet but its number.
fn blank(number: u64) -> VersionState {
    VersionState {
        version: number,
        run_id: None,
        run_path: None,
        stage: None,
        status: None,
        description: None,
        tags: BTreeMap::new(),
        aliases: Vec::new(),
        created_at: None,
        created_by: None,
        digest: None,
        files: Vec::new(),
        changed_on_disk: false,
        // MLflow has no archive flag: its "Archived" is a stage, listed as one.
        archived: false,
        approvals: Vec::new(),
        register: String::new(),
        author_key: String::new(),
        model_path: None,
        source: Value::Null,
        lineage: Value::Null,
        imported_from: Value::Null,
        rejections: Vec::new(),
        dataset: Value::Null,
    }
}

fn finish(mut m: ModelState) -> ModelState {
    m.versions.sort_by_key(|v| v.version);
    for (a, n) in &m.aliases {
        if let Some(v) = m.versions.iter_mut().find(|v| v.version == *n) {
            v.aliases.push(a.clone());
        }
    }
    m
}

fn file_store(index: &Index, fs: &ProjectFs, root: &Path, store: &str) -> Vec<ModelState> {
    let models_dir = root.join(store).join("models");
    let store_dir = root.join(store);
    let mut out = Vec::new();
    for e in fs.list(&models_dir).unwrap_or_default().into_iter().filter(|e| e.kind == Kind::Dir) {
        let Ok(text) = fs.read_text(&e.path.join("meta.yaml"), MAX_META_BYTES, "MLflow model meta.yaml") else {
            continue;
        };
        let Ok(meta) = yaml(&text) else { continue };
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty());
        let i = |v: &Value, k: &str| v.get(k).and_then(|x| x.as_i64().or_else(|| x.as_str()?.parse().ok()));
        let mut m = ModelState::new(&s(&meta, "name").unwrap_or_else(|| e.name.clone()), "mlflow");
        m.description = s(&meta, "description");
        m.tags = text_files(fs, &e.path.join("tags"));
        m.location = Some(format!("{store}/models/{}", e.name));
        // Aliases: one file each (content = version); older stores keep them in meta.yaml only.
        for (alias, v) in text_files(fs, &e.path.join("aliases")) {
            if let Ok(n) = v.trim().parse() {
                m.aliases.insert(alias, n);
            }
        }
        if let Some(map) = meta.get("aliases").and_then(Value::as_object) {
            for (alias, v) in map {
                let n = v.as_u64().or_else(|| v.as_str()?.trim().parse().ok());
                if let Some(n) = n {
                    m.aliases.entry(alias.clone()).or_insert(n);
                }
            }
        }
        for ve in fs.list(&e.path).unwrap_or_default() {
            if ve.kind != Kind::Dir || !ve.name.starts_with("version-") {
                continue;
            }
            let Ok(t) = fs.read_text(&ve.path.join("meta.yaml"), MAX_META_BYTES, "MLflow version meta.yaml") else {
                continue;
            };
            let Ok(vm) = yaml(&t) else { continue };
            let Some(number) = i(&vm, "version").map(|n| n as u64) else { continue };
            let run_id = s(&vm, "run_id");
            let path = model_path(root, &store_dir, s(&vm, "storage_location").as_deref(), s(&vm, "source").as_deref());
            m.versions.push(VersionState {
                run_path: run_path(index, run_id.as_deref(), "mlflow"),
                run_id,
                stage: s(&vm, "current_stage"),
                status: s(&vm, "status"),
                description: s(&vm, "description"),
                created_at: i(&vm, "creation_timestamp"),
                created_by: s(&vm, "user_id"),
                source: json!({"path": path, "uri": s(&vm, "source")}),
                model_path: path,
                tags: text_files(fs, &ve.path.join("tags")),
                ..blank(number)
            });
        }
        out.push(finish(m));
    }
    out
}

type Row = HashMap<String, Sql>;

fn rows(c: &rusqlite::Connection, table: &str) -> Vec<Row> {
    let Ok(mut st) = c.prepare(&format!("SELECT * FROM \"{table}\"")) else { return Vec::new() };
    let names: Vec<String> = st.column_names().map(str::to_string).collect();
    let Ok(rows) = st.query_map([], |r| {
        let mut m = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            m.insert(n.clone(), r.get::<_, Sql>(i)?);
        }
        Ok(m)
    }) else {
        return Vec::new();
    };
    rows.flatten().collect()
}

fn text(r: &Row, k: &str) -> Option<String> {
    match r.get(k)? {
        Sql::Text(t) if !t.is_empty() => Some(t.clone()),
        Sql::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn int(r: &Row, k: &str) -> Option<i64> {
    match r.get(k)? {
        Sql::Integer(i) => Some(*i),
        Sql::Text(t) => t.parse().ok(),
        _ => None,
    }
}

fn db_store(index: &Index, root: &Path, db: &str) -> Vec<ModelState> {
    let Some(path) = crate::paths::project_file(root, db) else { return Vec::new() };
    let Ok(c) = mlflow_db::open(&path) else { return Vec::new() };
    let base = path.parent().unwrap_or(root).to_path_buf();
    let mut models: BTreeMap<String, ModelState> = BTreeMap::new();
    for r in rows(&c, "registered_models") {
        let Some(name) = text(&r, "name") else { continue };
        let mut m = ModelState::new(&name, "mlflow-db");
        m.description = text(&r, "description");
        m.location = Some(db.to_string());
        models.insert(name, m);
    }
    for r in rows(&c, "registered_model_tags") {
        if let (Some(n), Some(k)) = (text(&r, "name"), text(&r, "key")) {
            if let Some(m) = models.get_mut(&n) {
                m.tags.insert(k, text(&r, "value").unwrap_or_default());
            }
        }
    }
    for r in rows(&c, "registered_model_aliases") {
        if let (Some(n), Some(a), Some(v)) = (text(&r, "name"), text(&r, "alias"), int(&r, "version")) {
            if let Some(m) = models.get_mut(&n) {
                m.aliases.insert(a, v as u64);
            }
        }
    }
    let mut vtags: HashMap<(String, i64), BTreeMap<String, String>> = HashMap::new();
    for r in rows(&c, "model_version_tags") {
        if let (Some(n), Some(v), Some(k)) = (text(&r, "name"), int(&r, "version"), text(&r, "key")) {
            vtags.entry((n, v)).or_default().insert(k, text(&r, "value").unwrap_or_default());
        }
    }
    for r in rows(&c, "model_versions") {
        let (Some(n), Some(v)) = (text(&r, "name"), int(&r, "version")) else { continue };
        let Some(m) = models.get_mut(&n) else { continue };
        let run_id = text(&r, "run_id");
        let path = model_path(root, &base, text(&r, "storage_location").as_deref(), text(&r, "source").as_deref());
        m.versions.push(VersionState {
            run_path: run_path(index, run_id.as_deref(), "mlflow-db"),
            run_id,
            stage: text(&r, "current_stage"),
            status: text(&r, "status"),
            description: text(&r, "description"),
            created_at: int(&r, "creation_time"),
            created_by: text(&r, "user_id"),
            source: json!({"path": path, "uri": text(&r, "source")}),
            model_path: path,
            tags: vtags.remove(&(n.clone(), v)).unwrap_or_default(),
            ..blank(v as u64)
        });
    }
    models.into_values().map(finish).collect()
}
