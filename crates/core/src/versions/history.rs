//! What each commit of the history tracks: its tree's `.dvc` files, `dvc.lock`s and LFS pointers,
//! parsed once per blob and once per tree.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;

use gix::ObjectId;

use super::dvc::Tracked;
use super::{git, lfs, merge, parse, wanted, Snapshot};
use crate::files::ProjectFs;
use crate::Error;

pub(crate) struct History {
    pub repo: git::Repo,
    lfs: lfs::Patterns,
    parsed: HashMap<ObjectId, Rc<Vec<Tracked>>>,
    snaps: HashMap<ObjectId, Rc<Snapshot>>,
    /// Every path seen tracked, with what tracks it (`.dvc` file, `dvc.lock:<stage>`, `git-lfs`).
    pub by: BTreeMap<String, Vec<String>>,
    /// Files that did not parse, named.
    pub notes: Vec<String>,
}

impl History {
    /// The project's history, when it is a git repository.
    pub(crate) fn open(fs: &ProjectFs, root: &Path, lfs: &lfs::Patterns) -> Result<Option<History>, String> {
        let l = lfs.clone();
        Ok(git::Repo::open(fs, root, Box::new(move |n| wanted(n, &l)))?.map(|repo| History {
            repo,
            lfs: lfs.clone(),
            parsed: HashMap::new(),
            snaps: HashMap::new(),
            by: BTreeMap::new(),
            notes: Vec::new(),
        }))
    }

    /// What the tree `tree` tracks.
    pub(crate) fn snapshot(&mut self, tree: ObjectId) -> Result<Rc<Snapshot>, Error> {
        if let Some(s) = self.snaps.get(&tree) {
            return Ok(s.clone());
        }
        let mut snap = Snapshot::new();
        let blobs = self.repo.blobs(tree).map_err(|e| Error::Project(format!(".git: {e}")))?;
        for (path, id) in blobs.iter() {
            let is_meta = path.ends_with(".dvc") || path.rsplit('/').next() == Some("dvc.lock");
            if !is_meta && !self.lfs.matches(path) {
                continue;
            }
            let items = match self.parsed.get(id) {
                Some(p) => p.clone(),
                None => {
                    let bytes = self.repo.read(*id).unwrap_or_default();
                    let p = Rc::new(parse(path, &bytes, &mut self.notes));
                    self.parsed.insert(*id, p.clone());
                    p
                }
            };
            merge(&mut snap, &mut self.by, &items);
        }
        let snap = Rc::new(snap);
        self.snaps.insert(tree, snap.clone());
        Ok(snap)
    }
}
