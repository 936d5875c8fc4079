//! Keeping the index current while training writes: file events (notify, debounced) re-read only
//! the units that changed; a new run, an event-queue overflow or a rescan request reconciles with
//! a full scan. Where events do not arrive (network and FUSE file systems, or the OS watch limit is
//! reached) the watcher polls with full scans instead, and says so once.
//!
//! Every change is reported after its transaction committed, so it can be queried at once.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{ErrorKind, EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};

use crate::scan::{ScanOptions, ScanReport};
use crate::{Error, Index};

#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Poll at this interval instead of waiting for file events.
    pub poll: Option<Duration>,
    /// How long a burst of events may settle before it is read.
    pub debounce: Duration,
    /// Watch at most this many folders; a bigger project is polled. None: up to the OS's limit.
    pub max_watched_dirs: Option<usize>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions { poll: None, debounce: Duration::from_millis(40), max_watched_dirs: None }
    }
}

/// The polling interval when events cannot be had, unless the options name one.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);

/// A change that landed in the index.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A new run, or a run whose status changed.
    Run { run: String, status: Option<String> },
    /// New points in a series: its point count and last step now.
    Points { run: String, key: String, count: u64, last_step: i64 },
    /// A run that is gone from the project.
    Removed { run: String },
    /// A model's registry events changed (someone wrote one); `model` is "" when the registry's
    /// policy or keys changed, which can change every model.
    Registry { model: String },
}

pub enum WatchEvent<'a> {
    /// The first reconcile is done; `polling` tells how changes are found from now on.
    Ready {
        report: &'a ScanReport,
        polling: Option<Duration>,
    },
    Changes(&'a [Change]),
    /// Something the user should know once (a fallback to polling, a watch error).
    Notice(&'a str),
}

/// Per run: (id, status); per (run path, key): (count, last step).
#[derive(Default)]
struct Snapshot {
    runs: BTreeMap<String, (String, Option<String>)>,
    series: BTreeMap<(String, String), (u64, i64)>,
}

fn snapshot(index: &Index, units: Option<&[String]>) -> Result<Snapshot, Error> {
    let mut snap = Snapshot::default();
    let sql =
        "SELECT r.path, r.id, r.status, s.key, s.count, s.last_step FROM runs r LEFT JOIN series s ON s.run = r.uid";
    let mut take = |row: &rusqlite::Row| -> rusqlite::Result<()> {
        let path: String = row.get(0)?;
        snap.runs.insert(path.clone(), (row.get(1)?, row.get(2)?));
        if let Some(key) = row.get::<_, Option<String>>(3)? {
            snap.series.insert((path, key), (row.get::<_, i64>(4)? as u64, row.get(5)?));
        }
        Ok(())
    };
    match units {
        None => {
            let mut st = index.conn.prepare(sql)?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                take(r)?;
            }
        }
        Some(units) => {
            let mut st = index.conn.prepare_cached(&format!("{sql} WHERE r.unit = ?1"))?;
            for u in units {
                let mut rows = st.query([u])?;
                while let Some(r) = rows.next()? {
                    take(r)?;
                }
            }
        }
    }
    Ok(snap)
}

fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Change> {
    let mut out = Vec::new();
    for (path, (id, status)) in &after.runs {
        if before.runs.get(path).is_none_or(|(_, s)| s != status) {
            out.push(Change::Run { run: id.clone(), status: status.clone() });
        }
    }
    for ((path, key), &(count, last_step)) in &after.series {
        if before.series.get(&(path.clone(), key.clone())) != Some(&(count, last_step)) {
            let run = after.runs.get(path).map(|r| r.0.clone()).unwrap_or_default();
            out.push(Change::Points { run, key: key.clone(), count, last_step });
        }
    }
    for (path, (id, _)) in &before.runs {
        if !after.runs.contains_key(path) {
            out.push(Change::Removed { run: id.clone() });
        }
    }
    out
}

/// Folders a recursive watch would add, up to `cap + 1` (the walk stops there).
fn count_dirs(root: &Path, cap: usize) -> usize {
    let fs = crate::files::ProjectFs::new(root);
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        n += 1;
        if n > cap {
            break;
        }
        stack.extend(fs.list(&d).unwrap_or_default().into_iter().filter(|e| e.is_dir()).map(|e| e.path));
    }
    n
}

/// Paths of one burst, bounded: past this many, the batch is read with a full scan instead.
const MAX_BATCH_PATHS: usize = 10_000;

struct Batch {
    paths: HashSet<PathBuf>,
    full: bool,
    watch_limit: bool,
}

fn take(batch: &mut Batch, res: DebounceEventResult) {
    match res {
        Ok(events) => {
            for ev in events {
                if ev.need_rescan() {
                    batch.full = true;
                }
                // Opening and reading a file is no change (and our own reads would wake us).
                if ev.kind.is_access() && !matches!(ev.kind, EventKind::Access(AccessKind::Close(AccessMode::Write))) {
                    continue;
                }
                for p in &ev.paths {
                    if batch.paths.len() < MAX_BATCH_PATHS {
                        batch.paths.insert(p.clone());
                    } else {
                        batch.full = true;
                    }
                }
            }
        }
        Err(errors) => {
            for e in errors {
                if matches!(e.kind, ErrorKind::MaxFilesWatch) {
                    batch.watch_limit = true;
                }
                // Any other watch error (a folder removed while being added): reconcile.
                batch.full = true;
            }
        }
    }
}

impl Index {
    /// Watches the project until `stop` is set, keeping the index current and reporting each change
    /// through `on` once it is committed. Starts with a full scan (the reconcile).
    pub fn watch(
        &mut self,
        opts: &WatchOptions,
        on: &mut dyn FnMut(WatchEvent<'_>),
        stop: &AtomicBool,
    ) -> Result<(), Error> {
        let scan_opts = ScanOptions::default();
        let root = self.root.clone();
        let mut polling = opts.poll;
        let mut notice: Option<String> = None;
        if polling.is_none() {
            if let Some(kind) = crate::files::remote_fs(&root) {
                polling = Some(DEFAULT_POLL);
                notice = Some(format!(
                    "{} is on a {kind} file system, where file events do not arrive: checking for changes every {} s",
                    root.display(),
                    DEFAULT_POLL.as_secs()
                ));
            }
        }
        if let (None, Some(cap)) = (polling, opts.max_watched_dirs) {
            if count_dirs(&root, cap) > cap {
                polling = Some(DEFAULT_POLL);
                notice = Some(format!(
                    "{} has more than {cap} folders, the most this watch may use: checking for changes every {} s",
                    root.display(),
                    DEFAULT_POLL.as_secs()
                ));
            }
        }
        let (tx, rx) = std::sync::mpsc::channel::<DebounceEventResult>();
        let mut debouncer = None;
        if polling.is_none() {
            match new_debouncer(opts.debounce, None, tx)
                .and_then(|mut d| d.watch(&root, RecursiveMode::Recursive).map(|_| d))
            {
                Ok(d) => debouncer = Some(d),
                Err(e) => {
                    polling = Some(DEFAULT_POLL);
                    notice = Some(watch_failed(&e.kind, DEFAULT_POLL));
                }
            }
        }
        if let Some(n) = &notice {
            on(WatchEvent::Notice(n));
        }
        // The reconcile, after the watch is in place so that nothing written meanwhile is missed.
        let report = self.scan(&scan_opts, &mut |_| {}, stop)?;
        self.registry_stamps = Some(registry_stamps(&root));
        on(WatchEvent::Ready { report: &report, polling });
        let mut last_full = report.elapsed;

        while !stop.load(Ordering::Relaxed) {
            if let Some(every) = polling {
                // A poll is a full scan; on a big project wait at least twice its duration.
                let wait = every.max(last_full * 2);
                let until = Instant::now() + wait;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                last_full = self.full_pass(on, stop)?;
                continue;
            }
            let mut batch = Batch { paths: HashSet::new(), full: false, watch_limit: false };
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(res) => take(&mut batch, res),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => batch.watch_limit = true,
            }
            drain(&rx, &mut batch);
            if batch.watch_limit {
                debouncer = None;
                polling = Some(DEFAULT_POLL);
                on(WatchEvent::Notice(&watch_failed(&ErrorKind::MaxFilesWatch, DEFAULT_POLL)));
                last_full = self.full_pass(on, stop)?;
                continue;
            }
            let registry = registry_models_in(&root, &batch.paths);
            if !registry.is_empty() {
                let changes: Vec<Change> = registry.into_iter().map(|model| Change::Registry { model }).collect();
                on(WatchEvent::Changes(&changes));
            }
            let units = if batch.full { None } else { self.units_for(&batch.paths.into_iter().collect::<Vec<_>>()) };
            match units {
                Some(units) if units.is_empty() => {}
                Some(units) => {
                    let keys: Vec<String> = units.iter().map(|u| self.unit_key(u)).collect();
                    let before = snapshot(self, Some(&keys))?;
                    if self.scan_units(&units, &scan_opts)?.conflicts > 0 {
                        // Another writer read some of these first: read again from its result.
                        self.scan_units(&units, &scan_opts)?;
                    }
                    let changes = diff(&before, &snapshot(self, Some(&keys))?);
                    if !changes.is_empty() {
                        on(WatchEvent::Changes(&changes));
                    }
                }
                None => last_full = self.full_pass(on, stop)?,
            }
        }
        drop(debouncer);
        Ok(())
    }

    /// A full scan, reporting what changed; returns how long it took.
    fn full_pass(&mut self, on: &mut dyn FnMut(WatchEvent<'_>), stop: &AtomicBool) -> Result<Duration, Error> {
        let before = snapshot(self, None)?;
        let report = self.scan(&ScanOptions::default(), &mut |_| {}, stop)?;
        let mut changes = diff(&before, &snapshot(self, None)?);
        let registry = registry_stamps(&self.root);
        let last = self.registry_stamps.replace(registry.clone());
        if let Some(last) = last {
            let models: BTreeSet<&String> = last.keys().chain(registry.keys()).collect();
            for m in models {
                if last.get(m) != registry.get(m) {
                    changes.push(Change::Registry { model: m.clone() });
                }
            }
        }
        if !changes.is_empty() {
            on(WatchEvent::Changes(&changes));
        }
        Ok(report.elapsed)
    }
}

/// The registry models named by changed paths under `.runlens/registry/` ("" for the policy or
/// the keys), by name.
fn registry_models_in(root: &Path, paths: &HashSet<PathBuf>) -> BTreeSet<String> {
    let reg = crate::registry::store::registry_dir(root);
    paths
        .iter()
        .filter_map(|p| p.strip_prefix(&reg).ok())
        .filter_map(|rel| {
            let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned());
            let first = parts.next()?;
            // `<model>/events/...` is a model's; the policy file, the keys, anything else: every model's.
            let is_model = parts.next().is_some() && crate::registry::store::check_name(&first).is_ok();
            Some(if is_model { first } else { String::new() })
        })
        .collect()
}

/// For polling: each model's events folder's modification time (a new event changes it), and the
/// policy's and keys' under "".
fn registry_stamps(root: &Path) -> BTreeMap<String, i64> {
    let fs = crate::files::ProjectFs::new(root);
    let reg = crate::registry::store::registry_dir(root);
    let stamp = |p: &Path| fs.stat(p).map(|m| crate::registry::pin::mtime_ns(&m)).unwrap_or(0);
    let mut out: BTreeMap<String, i64> = crate::registry::store::model_names(&fs, root)
        .into_iter()
        .map(|m| {
            let t = stamp(&crate::registry::store::events_dir(root, &m));
            (m, t)
        })
        .collect();
    let shared = stamp(&reg.join(crate::registry::policy::FILE)).max(stamp(&reg.join(crate::registry::store::KEYS)));
    if shared != 0 {
        out.insert(String::new(), shared);
    }
    out
}

/// Takes what else arrived while the first events were being taken, without waiting.
fn drain(rx: &Receiver<DebounceEventResult>, batch: &mut Batch) {
    while let Ok(res) = rx.try_recv() {
        take(batch, res);
    }
}

fn watch_failed(kind: &ErrorKind, every: Duration) -> String {
    match kind {
        ErrorKind::MaxFilesWatch => format!(
            "the system's limit on watched folders is reached (on Linux: fs.inotify.max_user_watches): checking for changes every {} s instead",
            every.as_secs()
        ),
        other => format!("file events are not available ({other:?}): checking for changes every {} s instead", every.as_secs()),
    }
}
