//! Data versions: which data the project tracks (DVC `.dvc` files, `dvc.lock` deps and outs, Git
//! LFS pointers), its versions through the project's git history, where each version's bytes
//! are (working tree, DVC cache, LFS objects), and which runs and model versions used it.
//!
//! A path's versions are the commits that changed its hash (a commit whose hash for the path
//! differs from every parent's), newest first, plus the working tree when it differs from HEAD.
//! Nothing here runs `git` or `dvc`: git objects are read with gix ([`git`]), DVC's files and
//! hashes are parsed and recomputed ([`dvc`]).

pub(crate) mod dvc;
pub(crate) mod git;
mod history;
mod lfs;
mod open;
mod reference;

pub(crate) use open::{split_spec, Body, Folder};

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;

use serde::Serialize;

use crate::files::ProjectFs;
use crate::index::Index;
use crate::Error;
use dvc::Tracked;

/// One version of a tracked path.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataVersion {
    /// The commit id, or "workspace" for the working tree when it differs from HEAD.
    pub rev: String,
    /// The commit's time, ms since the epoch (None for the working tree).
    pub at: Option<i64>,
    /// The commit's summary line.
    pub message: Option<String>,
    /// DVC's md5 (`<md5>.dir` for a folder); for a Git LFS file, `sha256:<oid>`.
    pub md5: String,
    pub size: Option<u64>,
    pub nfiles: Option<u64>,
    /// Whether its bytes can be read here: the DVC cache (or LFS objects) holds them, or they
    /// are the working tree's.
    pub in_cache: bool,
    /// Runs made at a commit where the path had this version (their ids).
    pub runs: Vec<String>,
    /// Registered model versions ("name@version") made from such runs.
    pub models: Vec<String>,
}

/// A tracked file or folder and its versions, newest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataItem {
    pub path: String,
    /// "file" or "dir".
    pub kind: String,
    /// What tracks it: `.dvc` files, `dvc.lock:<stage>`, `git-lfs`.
    pub tracked_by: Vec<String>,
    pub versions: Vec<DataVersion>,
}

/// What `data ls` found, and what it could not see (not a repository, a shallow clone, a file
/// that does not parse: each named).
#[derive(Clone, Debug, Default, Serialize)]
pub struct DataListing {
    pub items: Vec<DataItem>,
    pub notes: Vec<String>,
    /// With `check`: each version whose bytes here do not hash to what was recorded.
    pub problems: Vec<String>,
}

/// The largest `.dvc` file or `dvc.lock` read.
const MAX_META: u64 = 16 << 20;
/// Folders never searched for `.dvc` files.
const SKIP: &[&str] = &[".git", ".dvc", ".runlens", "node_modules", "__pycache__", ".venv", "venv"];

pub(crate) fn wanted(name: &str, lfs: &lfs::Patterns) -> bool {
    name.ends_with(".dvc") || name == "dvc.lock" || lfs.may_match_name(name)
}

/// What one tree (a commit's or the working tree) tracks, by path.
pub(crate) type Snapshot = BTreeMap<String, Tracked>;

pub(crate) fn parse(path: &str, bytes: &[u8], notes: &mut Vec<String>) -> Vec<Tracked> {
    let text = String::from_utf8_lossy(bytes);
    let name = path.rsplit('/').next().unwrap_or(path);
    let parsed = if name == "dvc.lock" {
        dvc::parse_lock(path, &text)
    } else if name.ends_with(".dvc") {
        dvc::parse_dvc_file(path, &text)
    } else {
        return lfs::parse_pointer(&text).map(|p| vec![p.tracked(path)]).unwrap_or_default();
    };
    parsed.unwrap_or_else(|e| {
        notes.push(format!("{path}: {e}"));
        Vec::new()
    })
}

/// Merges what each file tracks into one snapshot: a path recorded by a `.dvc` file and a stage
/// keeps the `.dvc` file's hash (the stage's dependency names the same bytes).
pub(crate) fn merge(into: &mut Snapshot, by: &mut BTreeMap<String, Vec<String>>, items: &[Tracked]) {
    for t in items {
        let vias = by.entry(t.path.clone()).or_default();
        if !vias.contains(&t.via) {
            vias.push(t.via.clone());
        }
        let keep = into.get(&t.path).is_some_and(|old| old.via.ends_with(".dvc") || old.out && !t.out);
        if !keep {
            into.insert(t.path.clone(), t.clone());
        }
    }
}

/// The working tree's `.dvc` files, `dvc.lock`s and LFS pointers (no link followed); the LFS
/// patterns of every nested `.gitattributes` are added to `lfs` on the way.
pub(crate) fn workspace(
    fs: &ProjectFs,
    root: &Path,
    lfs: &mut lfs::Patterns,
    notes: &mut Vec<String>,
) -> (Snapshot, BTreeMap<String, Vec<String>>) {
    let mut snap = Snapshot::new();
    let mut by = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    let mut seen = 0usize;
    while let Some((dir, rel)) = stack.pop() {
        let Ok(entries) = fs.list(&dir) else { continue };
        // This folder's own `.gitattributes` first: its patterns apply to the files beside it.
        if !rel.is_empty() {
            if let Some(a) = entries.iter().find(|e| e.name == ".gitattributes" && e.is_file()) {
                if let Ok(text) = fs.read_text(&a.path, 1 << 20, ".gitattributes") {
                    lfs.add(&rel, &text);
                }
            }
        }
        for e in entries {
            seen += 1;
            if seen > 500_000 {
                notes.push("the working tree has more than 500,000 entries: the search for .dvc files stopped".into());
                return (snap, by);
            }
            let path = if rel.is_empty() { e.name.clone() } else { format!("{rel}/{}", e.name) };
            if e.is_dir() {
                if !SKIP.contains(&e.name.as_str()) {
                    stack.push((e.path.clone(), path));
                }
            } else if e.is_file() && wanted(&e.name, lfs) {
                if !(e.name.ends_with(".dvc") || e.name == "dvc.lock" || lfs.matches(&path)) {
                    continue;
                }
                if let Ok(bytes) = fs.read(&e.path, MAX_META, "a .dvc file") {
                    merge(&mut snap, &mut by, &parse(&path, &bytes, notes));
                }
            }
        }
    }
    (snap, by)
}

/// Where `t`'s bytes are here: the DVC cache (or LFS objects), else the working tree's file when
/// the working tree records the same hash.
pub(crate) fn bytes_path(
    fs: &ProjectFs,
    root: &Path,
    t: &Tracked,
    working: Option<&Tracked>,
) -> Option<std::path::PathBuf> {
    if let Some(oid) = t.md5.strip_prefix("sha256:") {
        let p = root.join(format!(".git/lfs/objects/{}/{}/{oid}", oid.get(..2)?, oid.get(2..4)?));
        return fs.is_file(&p).then_some(p);
    }
    if let Some(p) = dvc::cache_paths(&t.md5, t.legacy).iter().map(|p| root.join(p)).find(|p| fs.is_file(p)) {
        return Some(p);
    }
    let w = root.join(&t.path);
    (working.is_some_and(|w| w.md5 == t.md5) && !t.md5.ends_with(".dir") && fs.is_file(&w)).then_some(w)
}

/// A revision as messages name it: a commit by its first 8 characters, `workspace` whole.
pub fn short_rev(rev: &str) -> &str {
    if rev == "workspace" {
        rev
    } else {
        &rev[..rev.len().min(8)]
    }
}

/// Recomputes `t`'s hash from the bytes at `p` (a file, an LFS object, a `.dir` listing whose
/// files must all be in the cache): a problem naming the version when it differs.
fn check(fs: &ProjectFs, root: &Path, t: &Tracked, p: &Path, rev: &str) -> Option<String> {
    let at = format!("{}@{}", t.path, short_rev(rev));
    let f = match fs.open(p) {
        Ok(f) => f,
        Err(e) => return Some(format!("{at}: {}: {e}", p.display())),
    };
    if let Some(oid) = t.md5.strip_prefix("sha256:") {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let got =
            std::io::copy(&mut std::io::BufReader::new(f), &mut h).map(|_| crate::registry::event::hex(&h.finalize()));
        return match got {
            Ok(g) if g == oid => None,
            Ok(g) => Some(format!("{at}: its LFS object hashes to sha256:{g}, not {}", t.md5)),
            Err(e) => Some(format!("{at}: {}: {e}", p.display())),
        };
    }
    if t.md5.ends_with(".dir") {
        let bytes = match fs.read(p, MAX_META, "a .dir listing") {
            Ok(b) => b,
            Err(e) => return Some(format!("{at}: {}: {e}", p.display())),
        };
        let Some(files) = dvc::parse_dir_listing(&bytes) else {
            return Some(format!("{at}: {} is not a DVC folder listing", p.display()));
        };
        let got = dvc::dir_md5(&files);
        if got != t.md5 {
            return Some(format!("{at}: its listing hashes to {got}, not {} ({})", t.md5, t.via));
        }
        let missing: Vec<&str> = files
            .iter()
            .filter(|(_, md5)| !dvc::cache_paths(md5, t.legacy).iter().any(|c| fs.is_file(&root.join(c))))
            .map(|(rel, _)| rel.as_str())
            .collect();
        return (!missing.is_empty()).then(|| format!("{at}: not all in the cache: {}", missing.join(", ")));
    }
    match dvc::md5_of(std::io::BufReader::with_capacity(1 << 20, f), t.legacy) {
        Ok((got, _)) if got == t.md5 => None,
        Ok((got, _)) => Some(format!("{at}: {} hashes to {got}, not {} ({})", p.display(), t.md5, t.via)),
        Err(e) => Some(format!("{at}: {}: {e}", p.display())),
    }
}

/// Whether `v`'s bytes can be read here.
fn in_cache(fs: &ProjectFs, root: &Path, t: &Tracked, working: Option<&Tracked>) -> bool {
    if let Some(oid) = t.md5.strip_prefix("sha256:") {
        return oid.len() > 4 && fs.is_file(&root.join(format!(".git/lfs/objects/{}/{}/{oid}", &oid[..2], &oid[2..4])));
    }
    let cached = dvc::cache_paths(&t.md5, t.legacy).iter().any(|p| fs.is_file(&root.join(p)));
    cached || working.is_some_and(|w| w.md5 == t.md5 && fs.exists(&root.join(&t.path)))
}

impl Index {
    /// Every tracked file and folder with its versions, newest first (`runlens data ls`). With
    /// `check`, every version whose bytes are here is hashed again and a difference from what
    /// DVC or LFS recorded is a problem.
    pub fn data_ls(&self, check_hashes: bool) -> Result<DataListing, Error> {
        let fs = ProjectFs::new(&self.root);
        let root = self.root.as_path();
        let mut notes = Vec::new();
        let mut lfs = lfs::Patterns::read(&fs, root);
        let (work, mut tracked_by) = workspace(&fs, root, &mut lfs, &mut notes);
        // Per commit (newest first): what it tracks.
        let mut commits: Vec<(git::Commit, Rc<Snapshot>)> = Vec::new();
        match history::History::open(&fs, root, &lfs) {
            Ok(None) => notes.push("not a git repository: only the working tree's versions are shown".into()),
            Err(e) => notes.push(format!(".git: {e}: only the working tree's versions are shown")),
            Ok(Some(mut h)) => {
                if h.repo.is_shallow() {
                    notes.push("a shallow clone: versions older than its first commit are not shown".into());
                }
                for c in h.repo.commits().map_err(|e| Error::Project(format!(".git: {e}")))? {
                    let snap = h.snapshot(c.tree)?;
                    commits.push((c, snap));
                }
                for (path, vias) in std::mem::take(&mut h.by) {
                    let all = tracked_by.entry(path).or_default();
                    for v in vias {
                        if !all.contains(&v) {
                            all.push(v);
                        }
                    }
                }
                notes.append(&mut h.notes);
            }
        }
        let by_id: HashMap<gix::ObjectId, usize> = commits.iter().enumerate().map(|(i, (c, _))| (c.id, i)).collect();
        let runs = self.runs_by_commit()?;
        let inputs = self.inputs_by_run()?;
        let models = self.models_by_run();
        let references = self.references();
        let mut items = Vec::new();
        let mut problems = Vec::new();
        for (path, vias) in &tracked_by {
            let mut versions = Vec::new();
            let head = commits.first().and_then(|(_, s)| s.get(path));
            if let Some(w) = work.get(path).filter(|w| head.is_none_or(|h| h.md5 != w.md5)) {
                if check_hashes {
                    problems
                        .extend(bytes_path(&fs, root, w, Some(w)).and_then(|p| check(&fs, root, w, &p, "workspace")));
                }
                versions.push(DataVersion {
                    rev: "workspace".into(),
                    at: None,
                    message: None,
                    md5: w.md5.clone(),
                    size: w.size,
                    nfiles: w.nfiles,
                    in_cache: in_cache(&fs, root, w, Some(w)),
                    runs: Vec::new(),
                    models: Vec::new(),
                });
            }
            for (c, snap) in &commits {
                let Some(t) = snap.get(path) else { continue };
                let same_as_a_parent = c
                    .parents
                    .iter()
                    .any(|p| by_id.get(p).and_then(|&i| commits[i].1.get(path)).is_some_and(|pt| pt.md5 == t.md5));
                if same_as_a_parent {
                    continue;
                }
                if check_hashes {
                    let rev = c.id.to_string();
                    problems
                        .extend(bytes_path(&fs, root, t, work.get(path)).and_then(|p| check(&fs, root, t, &p, &rev)));
                }
                versions.push(DataVersion {
                    rev: c.id.to_string(),
                    at: Some(c.at),
                    message: Some(c.summary.clone()),
                    md5: t.md5.clone(),
                    size: t.size,
                    nfiles: t.nfiles,
                    in_cache: in_cache(&fs, root, t, work.get(path)),
                    runs: Vec::new(),
                    models: Vec::new(),
                });
            }
            // Runs made at a commit: the version the path had there (the newest version with
            // that hash).
            for (commit, run_ids) in &runs {
                let Some(&i) = by_id.get(commit) else { continue };
                let snap = &commits[i].1;
                let Some(t) = snap.get(path) else { continue };
                // The data a run used: what it declared (its MLflow dataset inputs inside the
                // project) and the stages of dvc.lock at its commit; a run that declares nothing
                // used all the data its commit tracked.
                let staged: Vec<&str> =
                    snap.values().filter(|t| t.via.contains("dvc.lock")).map(|t| t.path.as_str()).collect();
                if let Some(v) = versions.iter_mut().find(|v| v.rev != "workspace" && v.md5 == t.md5) {
                    for r in run_ids {
                        let declared: Vec<&str> = inputs
                            .get(r)
                            .into_iter()
                            .flatten()
                            .map(String::as_str)
                            .chain(staged.iter().copied())
                            .collect();
                        let within =
                            |a: &str, b: &str| a.len() > b.len() && a.starts_with(b) && a.as_bytes()[b.len()] == b'/';
                        if !declared.is_empty()
                            && !declared.iter().any(|d| *d == path || within(path, d) || within(d, path))
                        {
                            continue;
                        }
                        v.runs.push(r.clone());
                        v.models.extend(models.get(r).into_iter().flatten().cloned());
                    }
                }
            }
            // Model versions whose reference dataset is this version of this path.
            for v in &mut versions {
                if let Some(names) = references.get(&(path.clone(), v.md5.clone())) {
                    v.models.extend(names.iter().cloned());
                }
            }
            for v in &mut versions {
                v.runs.sort();
                v.runs.dedup();
                v.models.sort();
                v.models.dedup();
            }
            if versions.is_empty() {
                continue;
            }
            let kind = if versions[0].md5.ends_with(".dir") { "dir" } else { "file" };
            let mut vias = vias.clone();
            vias.sort();
            items.push(DataItem { path: path.clone(), kind: kind.into(), tracked_by: vias, versions });
        }
        notes.sort();
        notes.dedup();
        Ok(DataListing { items, notes, problems })
    }

    /// Run ids by the git commit their tool recorded (full ids only).
    fn runs_by_commit(&self) -> Result<HashMap<gix::ObjectId, Vec<String>>, Error> {
        let mut st = self.conn.prepare(
            "SELECT t.value, r.id FROM tags t JOIN runs r ON r.uid = t.run \
             WHERE t.key IN ('mlflow.source.git.commit', 'git.commit', 'git_commit') AND r.deleted = 0",
        )?;
        let mut out: HashMap<gix::ObjectId, Vec<String>> = HashMap::new();
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (commit, id) = row?;
            if let Ok(oid) = gix::ObjectId::from_hex(commit.trim().as_bytes()) {
                out.entry(oid).or_default().push(id);
            }
        }
        Ok(out)
    }

    /// The project paths each run names as an MLflow dataset input's source (a path relative to
    /// the project, or absolute or a `file://` URI inside it; in MLflow's JSON `{"uri": ...}` or
    /// plain).
    fn inputs_by_run(&self) -> Result<HashMap<String, Vec<String>>, Error> {
        let mut st = self.conn.prepare(
            "SELECT r.id, i.source FROM inputs i JOIN runs r ON r.uid = i.run \
             WHERE r.deleted = 0 AND i.source IS NOT NULL AND i.source != ''",
        )?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, source) = row?;
            if let Some(p) = source_path(&self.root, &source) {
                out.entry(id).or_default().push(p);
            }
        }
        Ok(out)
    }

    /// Our registry's versions ("name@version") by their reference dataset (path, DVC md5).
    fn references(&self) -> HashMap<(String, String), Vec<String>> {
        let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
        for m in self.registry_models().unwrap_or_default() {
            for v in m.versions.iter().filter(|_| m.source == "runlens") {
                let d = &v.dataset;
                if let (Some(p), Some(md5)) = (d["path"].as_str(), d["dvc_md5"].as_str()) {
                    out.entry((p.to_string(), md5.to_string())).or_default().push(format!("{}@{}", m.name, v.version));
                }
            }
        }
        out
    }

    /// Our registry's versions ("name@version") by the id of the run they were registered from.
    fn models_by_run(&self) -> HashMap<String, Vec<String>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for m in self.registry_models().unwrap_or_default() {
            if m.source != "runlens" {
                continue;
            }
            for v in &m.versions {
                if let Some(r) = &v.run_id {
                    out.entry(r.clone()).or_default().push(format!("{}@{}", m.name, v.version));
                }
            }
        }
        out
    }
}

/// An MLflow dataset source as a project-relative path, when it names one inside `root`.
fn source_path(root: &Path, source: &str) -> Option<String> {
    let v: Option<serde_json::Value> = serde_json::from_str(source).ok();
    let uri = match &v {
        Some(serde_json::Value::Object(o)) => o.get("uri").or_else(|| o.get("path"))?.as_str()?.to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => source.to_string(),
    };
    let uri = uri.strip_prefix("file://").unwrap_or(&uri);
    let p = Path::new(uri);
    if p.is_absolute() {
        let rel = p.strip_prefix(root).ok()?;
        let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        dvc::join("", &rel.join("/"))
    } else if uri.contains("://") {
        None
    } else {
        dvc::join("", uri)
    }
}

#[cfg(test)]
mod source_tests {
    use super::source_path;
    use std::path::Path;

    #[test]
    fn dataset_sources_name_project_paths() {
        let root = Path::new("/home/ana/proj");
        assert_eq!(source_path(root, r#"{"uri": "data/train.csv"}"#).as_deref(), Some("data/train.csv"));
        assert_eq!(source_path(root, r#"{"uri": "file:///home/ana/proj/data/x.csv"}"#).as_deref(), Some("data/x.csv"));
        assert_eq!(source_path(root, "./data/../data/t.csv").as_deref(), Some("data/t.csv"));
        assert_eq!(source_path(root, r#"{"uri": "/elsewhere/t.csv"}"#), None);
        assert_eq!(source_path(root, r#"{"uri": "s3://bucket/t.csv"}"#), None);
        assert_eq!(source_path(root, "../outside.csv"), None);
    }
}
