//! `data diff`: two versions of a dataset, or any two tables.
//!
//! - A DVC-tracked folder: its files added, deleted, modified and renamed, as
//!   `dvc diff --json --show-hash` reports them (the folder itself is modified when its `.dir`
//!   hash changed; a deleted and an added file with the same hash are a rename).
//! - Two tables: columns added, removed and retyped, row counts, and with a key column the rows
//!   added, removed and changed, with a sample of changed cells.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{json, Value};

use super::{cell_json, format_of, stats, Cell, Rows};
use crate::index::Index;
use crate::Error;

/// One side of a diff.
#[derive(Clone, Debug, Serialize)]
pub struct DiffSide {
    pub path: String,
    /// "workspace" or the commit id.
    pub rev: String,
    /// Rows of a table; files of a folder.
    pub rows: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Retyped {
    pub name: String,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChangedCell {
    pub key: Value,
    pub column: String,
    pub a: Value,
    pub b: Value,
}

impl DataDiff {
    /// Whether the two sides differ at all.
    pub fn differs(&self) -> bool {
        !self.columns_added.is_empty()
            || !self.columns_removed.is_empty()
            || !self.columns_retyped.is_empty()
            || self.a.rows != self.b.rows
            || self.rows_added.unwrap_or(0) + self.rows_removed.unwrap_or(0) + self.rows_changed.unwrap_or(0) > 0
            || self.files.as_ref().is_some_and(|f| {
                ["added", "deleted", "modified", "renamed"]
                    .iter()
                    .any(|k| f[k].as_array().is_some_and(|a| !a.is_empty()))
            })
    }
}

/// What `data diff` found.
#[derive(Clone, Debug, Serialize)]
pub struct DataDiff {
    /// "table" or "folder".
    pub kind: String,
    pub a: DiffSide,
    pub b: DiffSide,
    /// Tables: columns only in b.
    pub columns_added: Vec<String>,
    /// Tables: columns only in a.
    pub columns_removed: Vec<String>,
    pub columns_retyped: Vec<Retyped>,
    /// With a key (tables) or for folders: what was added, removed, changed.
    pub key: Option<String>,
    pub rows_added: Option<u64>,
    pub rows_removed: Option<u64>,
    pub rows_changed: Option<u64>,
    /// Up to 20 changed cells, in b's row order.
    pub changed_cells: Vec<ChangedCell>,
    /// Folders: `dvc diff --json --show-hash`'s `added`, `deleted`, `modified`, `renamed`.
    pub files: Option<Value>,
    /// Duplicate keys and the like.
    pub warnings: Vec<String>,
}

/// A whole table in memory: its columns' types and, with a key, every row by key.
struct Loaded {
    names: Vec<String>,
    cols: Vec<stats::Column>,
    rows: u64,
    key: Option<usize>,
    key_name: Option<String>,
    by_key: HashMap<String, (u64, Vec<Cell>)>,
    order: Vec<String>,
    duplicates: Vec<String>,
}

impl Rows for Loaded {
    fn columns(&mut self, names: &[String]) {
        self.names = names.to_vec();
        self.cols = names.iter().map(|_| stats::Column::new()).collect();
        self.key = self.key_name.as_ref().and_then(|k| names.iter().position(|n| n == k));
    }

    fn row(&mut self, cells: &[Cell]) -> bool {
        self.rows += 1;
        for (c, cell) in self.cols.iter_mut().zip(cells) {
            c.push(cell);
        }
        if let Some(k) = self.key {
            let key = cell_json(&cells[k]).to_string();
            if self.by_key.contains_key(&key) {
                if self.duplicates.len() < 5 {
                    self.duplicates.push(key);
                }
            } else {
                self.order.push(key.clone());
                self.by_key.insert(key, (self.rows, cells.to_vec()));
            }
        }
        true
    }
}

fn rename_pairs(
    mut added: Vec<(String, String)>,
    mut deleted: Vec<(String, String)>,
) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let mut renamed = Vec::new();
    let mut i = 0;
    while i < deleted.len() {
        if let Some(j) = added.iter().position(|(_, h)| *h == deleted[i].1) {
            let (new, hash) = added.remove(j);
            let (old, _) = deleted.remove(i);
            renamed.push(json!({"path": {"old": old, "new": new}, "hash": hash}));
        } else {
            i += 1;
        }
    }
    let list = |v: Vec<(String, String)>| v.into_iter().map(|(p, h)| json!({"path": p, "hash": h})).collect();
    (list(added), list(deleted), renamed)
}

impl Index {
    /// Diffs `a` (`PATH` or `PATH@REV`) and `b` (`PATH`, `PATH@REV`, or a bare `REV` of a's path).
    pub fn data_diff(&self, a: &str, b: &str, key: Option<&str>) -> Result<DataDiff, Error> {
        let fs = crate::files::ProjectFs::new(&self.root);
        let (a_path, _) = crate::versions::split_spec(&fs, &self.root, a);
        let b = if b.contains('@') || fs.exists(&self.root.join(b)) { b.to_string() } else { format!("{a_path}@{b}") };
        if let (Some(fa), Some(fb)) = (self.data_folder(a)?, self.data_folder(&b)?) {
            return Ok(folder_diff(fa, fb));
        }
        let load = |spec: &str| -> Result<(DiffSide, Loaded), Error> {
            let bytes = self.data_open(spec)?;
            let format = format_of(&bytes.path).ok_or_else(|| {
                Error::Refused(format!("{}: not a table or a tracked folder Runlens can diff", bytes.path))
            })?;
            let mut l = Loaded {
                names: Vec::new(),
                cols: Vec::new(),
                rows: 0,
                key: None,
                key_name: key.map(str::to_string),
                by_key: HashMap::new(),
                order: Vec::new(),
                duplicates: Vec::new(),
            };
            let at = format!("{}@{}", bytes.path, crate::versions::short_rev(&bytes.rev));
            super::read_body(&fs, &bytes.body, format, &mut l).map_err(|e| Error::Project(format!("{at}: {e}")))?;
            if let Some(k) = key {
                if l.key.is_none() {
                    return Err(Error::Refused(format!("{at}: no column {k:?} to use as the key")));
                }
            }
            Ok((DiffSide { path: bytes.path, rev: bytes.rev, rows: l.rows }, l))
        };
        let (sa, la) = load(a)?;
        let (sb, lb) = load(&b)?;
        let mut warnings = Vec::new();
        for (side, l) in [(&sa, &la), (&sb, &lb)] {
            if !l.duplicates.is_empty() {
                warnings.push(format!(
                    "{}@{}: the key is not unique ({} ...): the first row of each key is compared",
                    side.path,
                    crate::versions::short_rev(&side.rev),
                    l.duplicates.join(", ")
                ));
            }
        }
        let types = |l: Loaded| -> (Vec<String>, BTreeMap<String, String>, Loaded) {
            let mut l = l;
            let cols = std::mem::take(&mut l.cols);
            let t = cols.into_iter().zip(&l.names).map(|(c, n)| (n.clone(), c.finish(n).kind)).collect();
            (l.names.clone(), t, l)
        };
        let (na, ta, la) = types(la);
        let (nb, tb, lb) = types(lb);
        let columns_added: Vec<String> = nb.iter().filter(|n| !ta.contains_key(*n)).cloned().collect();
        let columns_removed: Vec<String> = na.iter().filter(|n| !tb.contains_key(*n)).cloned().collect();
        let columns_retyped = na
            .iter()
            .filter_map(|n| {
                let (from, to) = (ta.get(n)?, tb.get(n)?);
                (from != to && from != "empty" && to != "empty").then(|| Retyped {
                    name: n.clone(),
                    from: from.clone(),
                    to: to.clone(),
                })
            })
            .collect();
        let mut d = DataDiff {
            kind: "table".into(),
            a: sa,
            b: sb,
            columns_added,
            columns_removed,
            columns_retyped,
            key: key.map(str::to_string),
            rows_added: None,
            rows_removed: None,
            rows_changed: None,
            changed_cells: Vec::new(),
            files: None,
            warnings,
        };
        if key.is_some() {
            let common: Vec<(usize, usize, &String)> =
                na.iter().enumerate().filter_map(|(i, n)| nb.iter().position(|m| m == n).map(|j| (i, j, n))).collect();
            let (mut added, mut changed) = (0u64, 0u64);
            for k in &lb.order {
                let (_, rb) = &lb.by_key[k];
                let Some((_, ra)) = la.by_key.get(k) else {
                    added += 1;
                    continue;
                };
                let mut differs = false;
                for (i, j, n) in &common {
                    let (va, vb) = (cell_json(&ra[*i]), cell_json(&rb[*j]));
                    if va != vb {
                        differs = true;
                        if d.changed_cells.len() < 20 {
                            let key: Value = serde_json::from_str(k).unwrap_or(Value::Null);
                            d.changed_cells.push(ChangedCell { key, column: (*n).clone(), a: va, b: vb });
                        }
                    }
                }
                changed += differs as u64;
            }
            d.rows_added = Some(added);
            d.rows_removed = Some(la.order.iter().filter(|k| !lb.by_key.contains_key(*k)).count() as u64);
            d.rows_changed = Some(changed);
        }
        Ok(d)
    }
}

fn folder_diff(a: crate::versions::Folder, b: crate::versions::Folder) -> DataDiff {
    let ma: BTreeMap<&str, &str> = a.files.iter().map(|(p, h)| (p.as_str(), h.as_str())).collect();
    let mb: BTreeMap<&str, &str> = b.files.iter().map(|(p, h)| (p.as_str(), h.as_str())).collect();
    let full = |rel: &str| format!("{}/{rel}", b.path);
    let added: Vec<(String, String)> =
        mb.iter().filter(|(p, _)| !ma.contains_key(*p)).map(|(p, h)| (full(p), h.to_string())).collect();
    let deleted: Vec<(String, String)> = ma
        .iter()
        .filter(|(p, _)| !mb.contains_key(*p))
        .map(|(p, h)| (format!("{}/{p}", a.path), h.to_string()))
        .collect();
    let mut modified: Vec<Value> = Vec::new();
    if a.md5 != b.md5 {
        modified.push(json!({"path": format!("{}/", b.path), "hash": {"old": a.md5, "new": b.md5}}));
    }
    for (p, hb) in &mb {
        if let Some(ha) = ma.get(p).filter(|ha| *ha != hb) {
            modified.push(json!({"path": full(p), "hash": {"old": ha, "new": hb}}));
        }
    }
    let rows_changed = modified.len().saturating_sub((a.md5 != b.md5) as usize);
    let (added, deleted, renamed) = rename_pairs(added, deleted);
    let (rows_added, rows_removed) = (added.len(), deleted.len());
    DataDiff {
        kind: "folder".into(),
        a: DiffSide { path: a.path, rev: a.rev, rows: ma.len() as u64 },
        b: DiffSide { path: b.path, rev: b.rev, rows: mb.len() as u64 },
        columns_added: Vec::new(),
        columns_removed: Vec::new(),
        columns_retyped: Vec::new(),
        key: None,
        rows_added: Some(rows_added as u64),
        rows_removed: Some(rows_removed as u64),
        rows_changed: Some(rows_changed as u64),
        changed_cells: Vec::new(),
        files: Some(json!({"added": added, "deleted": deleted, "modified": modified, "renamed": renamed})),
        warnings: Vec::new(),
    }
}
