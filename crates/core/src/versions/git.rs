//! The project's git history, read with gix (pure Rust: many Windows users have no `git`). Only a
//! `.git` folder at the project's root is opened (no discovery upwards, no `.git` file pointing
//! elsewhere), with git's global and system configuration ignored.
//!
//! What the data versions need: every commit (newest first) with its time, summary and parents,
//! and in each commit's tree the blobs of interest (`.dvc` files, `dvc.lock`, `.gitattributes`,
//! files an LFS pattern names). Trees are walked once per tree id: a subtree unchanged between
//! commits costs nothing the second time, so a long history costs what changed in it.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use gix::ObjectId;

/// A commit, as the data versions need it.
pub(crate) struct Commit {
    pub id: ObjectId,
    pub parents: Vec<ObjectId>,
    /// Committer time, ms since the epoch.
    pub at: i64,
    pub summary: String,
    pub tree: ObjectId,
}

pub(crate) struct Repo {
    repo: gix::Repository,
    /// Which file names are of interest (fixed for the repo's life: the memo depends on it).
    wanted: Box<dyn Fn(&str) -> bool>,
    /// Subtree id -> the blobs of interest under it (path relative to the subtree, blob id).
    memo: HashMap<ObjectId, Rc<Vec<(String, ObjectId)>>>,
}

/// The largest blob read (a `.dvc` file, a `dvc.lock`, an LFS pointer).
const MAX_BLOB: u64 = 16 << 20;

impl Repo {
    /// The repository at `root`, if `root/.git` is a folder gix can open; [`blobs`](Self::blobs)
    /// finds the files whose name `wanted` accepts.
    pub(crate) fn open(
        fs: &crate::files::ProjectFs,
        root: &Path,
        wanted: Box<dyn Fn(&str) -> bool>,
    ) -> Result<Option<Repo>, String> {
        if !fs.is_dir(&root.join(".git")) {
            return Ok(None);
        }
        let repo = gix::open_opts(root, gix::open::Options::isolated()).map_err(|e| e.to_string())?;
        Ok(Some(Repo { repo, wanted, memo: HashMap::new() }))
    }

    pub(crate) fn is_shallow(&self) -> bool {
        self.repo.is_shallow().unwrap_or(false)
    }

    /// Every commit reachable from HEAD, newest first (committer time, then id). Empty for a
    /// repository without commits.
    pub(crate) fn commits(&self) -> Result<Vec<Commit>, String> {
        let Some(head) = self.repo.head_id().ok() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for info in self.repo.rev_walk([head.detach()]).all().map_err(|e| e.to_string())? {
            let info = info.map_err(|e| e.to_string())?;
            let c = info.object().map_err(|e| e.to_string())?;
            let at = c.time().map(|t| t.seconds * 1000).unwrap_or(0);
            let summary = c.message().map(|m| m.summary().to_string()).unwrap_or_default();
            out.push(Commit {
                id: info.id,
                parents: c.parent_ids().map(|p| p.detach()).collect(),
                at,
                summary,
                tree: c.tree_id().map_err(|e| e.to_string())?.detach(),
            });
        }
        out.sort_by(|a, b| b.at.cmp(&a.at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// The commit a revision names (a commit id or prefix, a tag, a branch).
    pub(crate) fn resolve(&self, rev: &str) -> Result<Commit, String> {
        let obj = self.repo.rev_parse_single(rev).map_err(|e| e.to_string())?;
        let c = obj.object().map_err(|e| e.to_string())?.peel_to_commit().map_err(|e| e.to_string())?;
        Ok(Commit {
            id: c.id,
            parents: c.parent_ids().map(|p| p.detach()).collect(),
            at: c.time().map(|t| t.seconds * 1000).unwrap_or(0),
            summary: c.message().map(|m| m.summary().to_string()).unwrap_or_default(),
            tree: c.tree_id().map_err(|e| e.to_string())?.detach(),
        })
    }

    /// The blob at `path` in `tree`, if there is one.
    pub(crate) fn blob_at(&self, tree: ObjectId, path: &str) -> Option<ObjectId> {
        let t = self.repo.find_object(tree).ok()?.try_into_tree().ok()?;
        let e = t.lookup_entry_by_path(path).ok()??;
        e.mode().is_blob().then(|| e.object_id())
    }

    /// A blob's size.
    pub(crate) fn size(&self, id: ObjectId) -> Option<u64> {
        self.repo.find_header(id).ok().map(|h| h.size())
    }

    /// The blobs under `tree` whose file name is wanted, with their paths relative to `tree`.
    pub(crate) fn blobs(&mut self, tree: ObjectId) -> Result<Rc<Vec<(String, ObjectId)>>, String> {
        if let Some(found) = self.memo.get(&tree) {
            return Ok(found.clone());
        }
        let mut subtrees = Vec::new();
        let mut found = Vec::new();
        {
            let t = self.repo.find_object(tree).map_err(|e| e.to_string())?;
            let t = t.try_into_tree().map_err(|e| e.to_string())?;
            for e in t.decode().map_err(|e| e.to_string())?.entries.iter() {
                let Ok(name) = std::str::from_utf8(e.filename) else { continue };
                if e.mode.is_tree() {
                    subtrees.push((name.to_string(), e.oid.to_owned()));
                } else if e.mode.is_blob() && (self.wanted)(name) {
                    found.push((name.to_string(), e.oid.to_owned()));
                }
            }
        }
        for (name, id) in subtrees {
            for (p, b) in self.blobs(id)?.iter() {
                found.push((format!("{name}/{p}"), *b));
            }
        }
        let found = Rc::new(found);
        self.memo.insert(tree, found.clone());
        Ok(found)
    }

    /// A small blob's bytes (at most 16 MiB).
    pub(crate) fn read(&self, id: ObjectId) -> Result<Vec<u8>, String> {
        self.read_capped(id, MAX_BLOB)
    }

    /// A blob's bytes, refused above `cap`.
    pub(crate) fn read_capped(&self, id: ObjectId, cap: u64) -> Result<Vec<u8>, String> {
        let size = self.repo.find_header(id).map_err(|e| e.to_string())?.size();
        if size > cap {
            return Err(format!("{id}: {size} bytes, more than a .dvc file or a pointer holds"));
        }
        Ok(self.repo.find_object(id).map_err(|e| e.to_string())?.detach().data)
    }
}
