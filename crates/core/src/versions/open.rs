//! `PATH[@REV]` to bytes: the working tree, the DVC cache (a tracked file, or a file inside a
//! tracked folder through its `.dir` listing), Git LFS objects, or a file committed to git itself.

use std::path::PathBuf;

use super::dvc::{self, Tracked};
use super::{bytes_path, history, lfs, workspace};
use crate::files::ProjectFs;
use crate::index::Index;
use crate::Error;

/// Where a version's bytes are.
pub(crate) enum Body {
    File(PathBuf),
    /// A file committed to git itself (at most [`MAX_GIT_BLOB`]).
    Memory(Vec<u8>),
}

/// A version of a file, ready to read.
pub(crate) struct DataBytes {
    /// Project-relative.
    pub path: String,
    /// "workspace" or the commit id.
    pub rev: String,
    /// What DVC or LFS recorded, when it is tracked.
    pub md5: Option<String>,
    /// Hashed the DVC 2.x way.
    pub legacy: bool,
    pub body: Body,
}

/// The largest file read out of git's own objects (data belongs in DVC or LFS; a committed CSV
/// can still be looked at).
const MAX_GIT_BLOB: u64 = 256 << 20;

/// The `.dir` listing entry for `path` inside the tracked folder `dir`, found in the cache.
fn in_folder(fs: &ProjectFs, root: &std::path::Path, dir: &Tracked, path: &str) -> Option<Tracked> {
    let rel = path.strip_prefix(&dir.path)?.strip_prefix('/')?;
    let listing = dvc::cache_paths(&dir.md5, dir.legacy).into_iter().map(|p| root.join(p)).find(|p| fs.is_file(p))?;
    let files = dvc::parse_dir_listing(&fs.read(&listing, 256 << 20, "a .dir listing").ok()?)?;
    let (_, md5) = files.into_iter().find(|(r, _)| r == rel)?;
    Some(Tracked {
        path: path.to_string(),
        md5,
        size: None,
        nfiles: None,
        legacy: dir.legacy,
        via: dir.via.clone(),
        out: true,
    })
}

/// The tracked entry for `path` in `snap`: its own, or the folder holding it.
fn find<'a>(snap: &'a super::Snapshot, path: &str) -> Option<&'a Tracked> {
    snap.get(path).or_else(|| {
        snap.values()
            .find(|t| t.md5.ends_with(".dir") && path.starts_with(&t.path) && path[t.path.len()..].starts_with('/'))
    })
}

impl Index {
    /// Opens `spec`, `PATH` or `PATH@REV` (a commit, tag or branch, or `workspace`).
    pub(crate) fn data_open(&self, spec: &str) -> Result<DataBytes, Error> {
        let fs = ProjectFs::new(&self.root);
        let root = self.root.as_path();
        let (path, rev) = match spec.rsplit_once('@') {
            Some((p, r)) if !p.is_empty() && !r.is_empty() && !fs.exists(&root.join(spec)) => (p, Some(r)),
            _ => (spec, None),
        };
        let path =
            dvc::join("", path).ok_or_else(|| Error::NotFound(format!("{path}: not a path inside the project")))?;
        let mut lfs = lfs::Patterns::read(&fs, root);
        let not_cached = |t: &Tracked, rev: &str| {
            Error::NotFound(format!(
                "{path}@{}: not in cache (DVC recorded {}; `dvc pull` or `git lfs pull` fetches it)",
                super::short_rev(rev),
                t.md5
            ))
        };
        match rev.filter(|r| *r != "workspace") {
            None => {
                let mut notes = Vec::new();
                let (work, _) = workspace(&fs, root, &mut lfs, &mut notes);
                let file = root.join(&path);
                let tracked = find(&work, &path).cloned();
                if fs.is_file(&file) && !tracked.as_ref().is_some_and(|t| t.via == "git-lfs" && t.path == path) {
                    let t = tracked.filter(|t| t.path == path);
                    let legacy = t.as_ref().is_some_and(|t| t.legacy);
                    return Ok(DataBytes {
                        path,
                        rev: "workspace".into(),
                        md5: t.map(|t| t.md5),
                        legacy,
                        body: Body::File(file),
                    });
                }
                let t = match tracked {
                    Some(t) if t.path != path => in_folder(&fs, root, &t, &path),
                    t => t,
                }
                .ok_or_else(|| Error::NotFound(format!("{path}: no such file in the project")))?;
                let p = bytes_path(&fs, root, &t, None).ok_or_else(|| not_cached(&t, "workspace"))?;
                Ok(DataBytes { path, rev: "workspace".into(), legacy: t.legacy, md5: Some(t.md5), body: Body::File(p) })
            }
            Some(rev) => {
                let mut h = history::History::open(&fs, root, &lfs)
                    .map_err(|e| Error::Project(format!(".git: {e}")))?
                    .ok_or_else(|| Error::NotFound(format!("{spec}: the project is not a git repository")))?;
                let c = h
                    .repo
                    .resolve(rev)
                    .map_err(|e| Error::NotFound(format!("{rev}: no such commit, tag or branch ({e})")))?;
                let id = c.id.to_string();
                let snap = h.snapshot(c.tree)?;
                if let Some(t) = find(&snap, &path) {
                    let t = if t.path == path {
                        t.clone()
                    } else {
                        in_folder(&fs, root, t, &path).ok_or_else(|| not_cached(t, &id))?
                    };
                    let p = bytes_path(&fs, root, &t, None).ok_or_else(|| not_cached(&t, &id))?;
                    return Ok(DataBytes { path, rev: id, legacy: t.legacy, md5: Some(t.md5), body: Body::File(p) });
                }
                let blob =
                    h.repo.blob_at(c.tree, &path).ok_or_else(|| Error::NotFound(format!("{path}: not in {rev}")))?;
                if h.repo.size(blob).unwrap_or(0) > MAX_GIT_BLOB {
                    return Err(Error::Refused(format!(
                        "{path}@{rev}: larger than {} MiB in git itself",
                        MAX_GIT_BLOB >> 20
                    )));
                }
                let bytes = h.repo.read_capped(blob, MAX_GIT_BLOB).map_err(|e| Error::Project(format!(".git: {e}")))?;
                // An LFS pointer whatever the patterns say (a nested `.gitattributes` of an old
                // commit): the object it names.
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1025)]);
                if let Some(t) = lfs::parse_pointer(&head).map(|p| p.tracked(&path)) {
                    let p = bytes_path(&fs, root, &t, None).ok_or_else(|| not_cached(&t, &id))?;
                    return Ok(DataBytes { path, rev: id, legacy: false, md5: Some(t.md5), body: Body::File(p) });
                }
                Ok(DataBytes { path, rev: id, md5: None, legacy: false, body: Body::Memory(bytes) })
            }
        }
    }
}

/// A tracked folder's version: its `.dir` md5 and its files (relpath, md5) from the cache.
pub(crate) struct Folder {
    pub path: String,
    pub rev: String,
    pub md5: String,
    pub files: Vec<(String, String)>,
}

/// Splits `PATH@REV` (a `PATH` that exists as written is a path, even with an `@`).
pub(crate) fn split_spec<'a>(fs: &ProjectFs, root: &std::path::Path, spec: &'a str) -> (&'a str, Option<&'a str>) {
    match spec.rsplit_once('@') {
        Some((p, r)) if !p.is_empty() && !r.is_empty() && !fs.exists(&root.join(spec)) => (p, Some(r)),
        _ => (spec, None),
    }
}

impl Index {
    /// `spec` as a DVC-tracked folder, when it is one: `Ok(None)` when it is not a tracked folder.
    pub(crate) fn data_folder(&self, spec: &str) -> Result<Option<Folder>, Error> {
        let fs = ProjectFs::new(&self.root);
        let root = self.root.as_path();
        let (path, rev) = split_spec(&fs, root, spec);
        let Some(path) = dvc::join("", path.trim_end_matches('/')) else { return Ok(None) };
        let mut lfs = lfs::Patterns::read(&fs, root);
        let (t, rev) = match rev.filter(|r| *r != "workspace") {
            None => {
                let mut notes = Vec::new();
                let (work, _) = workspace(&fs, root, &mut lfs, &mut notes);
                (work.get(&path).cloned(), "workspace".to_string())
            }
            Some(rev) => {
                let Some(mut h) =
                    history::History::open(&fs, root, &lfs).map_err(|e| Error::Project(format!(".git: {e}")))?
                else {
                    return Ok(None);
                };
                let c = h
                    .repo
                    .resolve(rev)
                    .map_err(|e| Error::NotFound(format!("{rev}: no such commit, tag or branch ({e})")))?;
                (h.snapshot(c.tree)?.get(&path).cloned(), c.id.to_string())
            }
        };
        let Some(t) = t.filter(|t| t.md5.ends_with(".dir")) else { return Ok(None) };
        let listing =
            dvc::cache_paths(&t.md5, t.legacy).into_iter().map(|p| root.join(p)).find(|p| fs.is_file(p)).ok_or_else(
                || {
                    Error::NotFound(format!(
                        "{path}@{}: its folder listing is not in cache ({})",
                        super::short_rev(&rev),
                        t.md5
                    ))
                },
            )?;
        let bytes = fs
            .read(&listing, 256 << 20, "a .dir listing")
            .map_err(|e| Error::Io(format!("{}: {e}", listing.display())))?;
        let files = dvc::parse_dir_listing(&bytes)
            .ok_or_else(|| Error::Project(format!("{}: not a DVC folder listing", listing.display())))?;
        Ok(Some(Folder { path, rev, md5: t.md5, files }))
    }
}
