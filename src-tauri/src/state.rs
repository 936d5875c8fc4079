//! What the shell remembers: the open project, the folders the user chose, recent projects,
//! the bundle export that runs and the bundles written, the data statistics being computed.
//!
//! The front end never names a folder to open on its own: a project is opened only when the user
//! chose it (the folder dialog, a drop on the window, a path on the command line or from a second
//! launch) or it is in the recent list. So a page that misbehaves cannot point the engine at
//! `~/.ssh`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use runlens_core::Index;

use crate::wire::{Recent, WatchMsg, WireError};

pub struct Project {
    pub root: PathBuf,
    /// The connection queries use. A scan writes through its own connection (WAL lets both run).
    pub reader: Mutex<Index>,
    pub scanning: AtomicBool,
    /// A watcher runs for this project (one at most).
    pub watching: AtomicBool,
    /// Where the watcher sends changes: the page's latest subscription.
    pub watch_channel: Mutex<Option<tauri::ipc::Channel<WatchMsg>>>,
    /// Set when another project is opened: stops this one's scans, its watcher and its folder
    /// watches.
    pub cancel: Arc<AtomicBool>,
    /// The folders watched for new batches to score (`monitor_watch`), one per target.
    pub monitors: Mutex<Vec<Arc<MonitorWatch>>>,
}

/// A folder watched for new batches, scored against the version `target` (NAME@ALIAS or
/// NAME@VERSION) names at each pass, on a thread of its own.
pub struct MonitorWatch {
    pub target: String,
    /// Canonical.
    pub dir: PathBuf,
    pub started_at: i64,
    /// Set by `monitor_unwatch`: the thread ends after its current pass.
    pub stop: AtomicBool,
    pub status: Mutex<MonitorStatus>,
}

/// What a folder watch did so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonitorStatus {
    /// The version the target named at the last pass that scored or found nothing new.
    pub version: Option<u64>,
    /// Batches scored, batches that drifted, and batches where a column crossed its threshold
    /// (one notification each).
    pub batches: u64,
    pub drifted: u64,
    pub crossings: u64,
    /// The last pass's error, cleared by a pass that works.
    pub last_error: Option<String>,
    pub last_pass_at: Option<i64>,
}

pub struct AppState {
    pub data_dir: PathBuf,
    granted: Mutex<HashSet<PathBuf>>,
    /// A folder asked for before the page was ready (command line); the page collects it.
    pub requested: Mutex<Option<PathBuf>>,
    pub project: Mutex<Option<Arc<Project>>>,
    pub exports: Exports,
    pub data_jobs: DataJobs,
}

/// Bundle exports: at most one runs at a time (its cancel flag is here while it runs), and the
/// archives this session wrote, the only files `bundle_reveal` shows.
#[derive(Default)]
pub struct Exports {
    pub running: Mutex<Option<Arc<AtomicBool>>>,
    pub written: Mutex<HashSet<PathBuf>>,
}

/// The `data_show` statistics being computed, by the page's job id, with their cancel flags.
#[derive(Default)]
pub struct DataJobs {
    pub running: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

const RECENT_MAX: usize = 20;

impl AppState {
    pub fn new(data_dir: PathBuf) -> Self {
        AppState {
            data_dir,
            granted: Mutex::new(HashSet::new()),
            requested: Mutex::new(None),
            project: Mutex::new(None),
            exports: Exports::default(),
            data_jobs: DataJobs::default(),
        }
    }

    /// Records that the user chose `path`; returns its canonical form.
    pub fn grant(&self, path: &Path) -> Result<PathBuf, WireError> {
        let canon =
            std::fs::canonicalize(path).map_err(|e| WireError::new("project", format!("{}: {e}", path.display())))?;
        if !canon.is_dir() {
            return Err(WireError::new("project", format!("{}: not a folder", path.display())));
        }
        self.granted.lock().expect("lock").insert(canon.clone());
        Ok(canon)
    }

    /// The canonical folder for `path` when the user chose it or opened it before; refused otherwise.
    pub fn check_open(&self, path: &str) -> Result<PathBuf, WireError> {
        let refused =
            || WireError::new("forbidden", format!("{path}: not a folder you opened; choose it with Open folder"));
        let canon = std::fs::canonicalize(path).map_err(|_| refused())?;
        if self.granted.lock().expect("lock").contains(&canon) {
            return Ok(canon);
        }
        let known = self.recent().iter().any(|r| Path::new(&r.path) == canon);
        if known {
            Ok(canon)
        } else {
            Err(refused())
        }
    }

    pub fn current(&self) -> Result<Arc<Project>, WireError> {
        self.project.lock().expect("lock").clone().ok_or_else(|| WireError::new("no_project", "no project is open"))
    }

    fn recent_file(&self) -> PathBuf {
        self.data_dir.join("recent.json")
    }

    pub fn recent(&self) -> Vec<Recent> {
        std::fs::read(self.recent_file()).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Puts a project first in the recent list, written atomically (temp file, then rename).
    pub fn remember(&self, root: &Path, runs: usize, now_ms: i64) -> std::io::Result<()> {
        let path = root.to_string_lossy().into_owned();
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.clone());
        let mut list = self.recent();
        list.retain(|r| r.path != path);
        list.insert(0, Recent { path, name, opened_at: now_ms, runs });
        list.truncate(RECENT_MAX);
        self.write_recent(&list)
    }

    pub fn forget(&self, path: &str) -> std::io::Result<()> {
        let mut list = self.recent();
        list.retain(|r| r.path != path);
        self.write_recent(&list)
    }

    fn write_recent(&self, list: &[Recent]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.data_dir)?;
        runlens_core::write_file_atomic(&self.recent_file(), &serde_json::to_vec_pretty(list).expect("serializable"))
    }
}
