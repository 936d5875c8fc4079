//! A scan: walk the project, find the units each reader owns, read them in parallel (incrementally
//! against the remembered file states), and write the results in batched transactions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::files::{Kind, ProjectFs};
use crate::index::{apply, Index};
use crate::model::{Diagnostic, Source};
use crate::readers::mlflow_files::{self, Experiment};
use crate::readers::{csv_log, dvclive, hydra, jsonl, mlflow_db, sacred, tensorboard, wandb, Ctx, Diags, UnitOut};
use crate::tail::FileState;
use crate::Error;

/// Folders never searched for runs.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".dvc",
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    "site-packages",
    ".idea",
    ".vscode",
    "mlartifacts",
    ".trash",
    ".cache",
    // Runlens's own files in the project (the registry): never runs.
    ".runlens",
];

/// The unit the walk's own diagnostics are kept under: no project-relative path starts with "/".
/// Indexes written before kept them under "", the project folder's own unit key; a scan removes
/// those as a gone unit's.
const WALK_UNIT: &str = "/";

/// How deep the walk goes before it reports and stops descending.
pub const MAX_DEPTH: usize = 48;

#[derive(Clone, Debug)]
pub(crate) enum Unit {
    MlflowRun(Arc<Experiment>, PathBuf),
    MlflowDb(PathBuf),
    Lightning(PathBuf),
    Log(PathBuf, Source),
    Jsonl(PathBuf),
    Tensorboard(PathBuf),
    Wandb(PathBuf),
    Sacred(PathBuf),
    /// A DVCLive folder, and the DVC pipeline folder whose params.yaml and metrics.json belong to it.
    Dvclive(PathBuf, Option<PathBuf>),
    /// A DVC pipeline's dvc.yaml whose folder has no DVCLive folder: its params and metrics.
    Dvc(PathBuf),
    /// A Hydra job folder, with the metric logs found inside it (their points are the job's).
    Hydra(PathBuf, Vec<Unit>),
    /// Runlens's monitor scores of one model (`.runlens/monitor/<model>`).
    Monitor(PathBuf),
}

impl Unit {
    /// Whether a Hydra job owns this unit when it is found inside the job's folder: metric logs
    /// are the job's; MLflow runs, Sacred runs, W&B runs and DVC pipelines keep their own identity.
    fn owned_by_job(&self) -> bool {
        matches!(self, Unit::Lightning(_) | Unit::Log(..) | Unit::Jsonl(_) | Unit::Tensorboard(_) | Unit::Dvclive(..))
    }
    fn read(&self, ctx: &Ctx) -> UnitOut {
        match self {
            Unit::MlflowRun(exp, dir) => mlflow_files::read_run(ctx, exp, dir),
            Unit::MlflowDb(p) => mlflow_db::read(ctx, p),
            Unit::Lightning(dir) => csv_log::read(ctx, &dir.join("metrics.csv"), Some(dir), Source::Lightning),
            Unit::Log(p, source) => csv_log::read(ctx, p, None, *source),
            Unit::Jsonl(p) => jsonl::read(ctx, p),
            Unit::Tensorboard(dir) => tensorboard::read(ctx, dir),
            Unit::Wandb(dir) => wandb::read(ctx, dir),
            Unit::Sacred(dir) => sacred::read(ctx, dir),
            Unit::Dvclive(dir, pipeline) => dvclive::read_live(ctx, dir, pipeline.as_deref()),
            Unit::Dvc(dvc_yaml) => dvclive::read_pipeline(ctx, dvc_yaml),
            Unit::Monitor(dir) => crate::readers::monitor::read(ctx, dir),
            Unit::Hydra(dir, subs) => {
                let paths: Vec<&Path> = subs.iter().map(Unit::path).collect();
                hydra::read(ctx, dir, &paths, &|i, c| subs[i].read(c))
            }
        }
    }
    fn path(&self) -> &Path {
        match self {
            Unit::MlflowRun(_, p)
            | Unit::MlflowDb(p)
            | Unit::Lightning(p)
            | Unit::Log(p, _)
            | Unit::Jsonl(p)
            | Unit::Tensorboard(p)
            | Unit::Wandb(p)
            | Unit::Sacred(p)
            | Unit::Dvclive(p, _)
            | Unit::Dvc(p)
            | Unit::Monitor(p)
            | Unit::Hydra(p, _) => p,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Reader threads; 0 = one per core.
    pub threads: usize,
    /// The time the scan judges files' ages by (a last line settled, a W&B run still running);
    /// None: the clock when the scan starts. Tests pass a time instead of sleeping.
    pub now: Option<std::time::SystemTime>,
}

/// Progress of a scan, for a progress bar.
#[derive(Clone, Debug)]
pub enum Progress {
    /// The walk found this many units (run folders, log files, databases) to look at.
    Discovered { units: usize },
    /// `done` of `total` units read; `points` new points so far.
    Read { done: usize, total: usize, points: u64 },
}

#[derive(Clone, Debug, Default)]
pub struct ScanReport {
    /// Runs in the index after the scan, by source (deleted MLflow runs included).
    pub runs_by_source: BTreeMap<String, usize>,
    pub runs: usize,
    /// Units whose files changed and were (re)read.
    pub units_read: usize,
    pub units_total: usize,
    /// Points added by this scan.
    pub points: u64,
    /// Every diagnostic the index holds after the scan.
    pub diagnostics: Vec<Diagnostic>,
    pub elapsed: Duration,
    pub cancelled: bool,
    /// Units another writer updated while this scan read them: left as that writer wrote them.
    pub conflicts: usize,
}

fn is_store(fs: &ProjectFs, dir: &Path, names: &HashSet<String>) -> bool {
    dir.file_name().is_some_and(|n| n == "mlruns")
        || names.contains(".trash")
        || (names.contains("0") && fs.is_file(&dir.join("0").join("meta.yaml")))
}

fn is_venv(names: &HashSet<String>) -> bool {
    names.contains("pyvenv.cfg") || names.contains("conda-meta")
}

/// Walks the project and lists the units, without following symlinks.
fn discover(root: &Path, diags: &mut Diags) -> Vec<Unit> {
    let fs = &ProjectFs::new(root);
    let mut units = Vec::new();
    // DVCLive folders found from their DVC pipeline folder, which they take params and metrics from.
    let mut live_pipelines: HashMap<PathBuf, PathBuf> = HashMap::new();
    // Hydra jobs: each one's folder and the metric logs found inside it.
    let mut jobs: Vec<(PathBuf, Vec<Unit>)> = Vec::new();
    // (folder, depth, the Hydra job it is inside of, as an index into `jobs`)
    let mut stack: Vec<(PathBuf, usize, Option<usize>)> = vec![(root.to_path_buf(), 0, None)];
    while let Some((dir, depth, mut job)) = stack.pop() {
        let rel = crate::paths::rel(root, &dir).unwrap_or_default();
        let listed = match fs.list(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                diags.push(None, format!("{}: cannot list: {e}", if rel.is_empty() { "." } else { &rel }));
                continue;
            }
        };
        let mut entries = Vec::with_capacity(listed.len());
        for ent in listed {
            if ent.kind == Kind::BadName {
                diags.push(None, format!("{rel}: skipped a name that is not valid UTF-8: {:?}", ent.name));
            } else {
                entries.push(ent);
            }
        }
        let names: HashSet<String> = entries.iter().map(|e| e.name.clone()).collect();
        if is_venv(&names) {
            continue;
        }
        // A W&B run folder (found anywhere, e.g. copied out of wandb/) is one unit.
        let dir_name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if wandb::run_dir_id(&dir_name).is_some() && entries.iter().any(|e| wandb::is_log_name(&e.name) && e.is_file())
        {
            units.push(Unit::Wandb(dir.clone()));
            continue;
        }
        // W&B's own folder: only its run folders are read. The rest (the `latest-run` symlink,
        // debug logs, sweep folders) is W&B's bookkeeping, never a run of another format.
        if depth > 0 && wandb::is_wandb_dir(&dir_name) {
            for ent in &entries {
                if ent.is_dir() && wandb::run_dir_id(&ent.name).is_some() {
                    units.push(Unit::Wandb(ent.path.clone()));
                }
            }
            continue;
        }
        // A Hydra job: it owns the metric logs found inside it (a nested job owns its own).
        if hydra::is_job_dir(fs, &dir, &|n| names.contains(n)) {
            jobs.push((dir.clone(), Vec::new()));
            job = Some(jobs.len() - 1);
        }
        let mut units = Units { units: &mut units, jobs: &mut jobs, job };
        if is_store(fs, &dir, &names) {
            let mut d = Diags::new(rel.clone());
            for (e, r) in mlflow_files::list_store(fs, &dir, &mut d) {
                units.push(Unit::MlflowRun(e, r));
            }
            for item in d.finish(false).items {
                diags.push(None, item.message);
            }
            continue;
        }
        // A DVCLive folder: everything in it is the run's (its TSVs are not logs of their own).
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if dvclive::is_live_dir(fs, &dir, &name, &|n| names.contains(n)) {
            let pipeline = live_pipelines.remove(&dir);
            units.push(Unit::Dvclive(dir.clone(), pipeline));
            continue;
        }
        // A DVC pipeline's params and metrics: the DVCLive folder inside it takes them (the one
        // named `dvclive` if there are several), else they are a run of their own.
        if dvclive::is_pipeline_dir(&|n| names.contains(n)) {
            let lives: Vec<&String> = entries
                .iter()
                .filter(|e| {
                    e.is_dir()
                        && !SKIP_DIRS.contains(&e.name.as_str())
                        && dvclive::is_live_dir(fs, &e.path, &e.name, &|f| fs.exists(&e.path.join(f)))
                })
                .map(|e| &e.name)
                .collect();
            match lives.iter().find(|n| n.as_str() == dvclive::DEFAULT_DIR).or(lives.first()) {
                Some(n) => {
                    live_pipelines.insert(dir.join(n.as_str()), dir.clone());
                }
                None => units.push(Unit::Dvc(dir.join("dvc.yaml"))),
            }
        }
        // A Sacred run folder: its files (run.json, metrics.json, artifacts) are all the run's.
        if sacred::is_run_dir(|n| names.contains(n)) {
            units.push(Unit::Sacred(dir.clone()));
            continue;
        }
        // Beside Sacred runs, `_sources` and `_resources` hold copies of files, not runs.
        let sacred_base = sacred::SIDE_DIRS.iter().any(|d| names.contains(*d))
            && entries.iter().any(|e| e.is_dir() && sacred::is_run_dir(|f| fs.is_file(&e.path.join(f))));
        if names.contains("metrics.csv")
            && (names.contains("hparams.yaml")
                || dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with("version_")))
        {
            units.push(Unit::Lightning(dir.clone()));
            continue;
        }
        // A folder with event files is a TensorBoard run; its add_hparams subfolders are part of it.
        let tb_run = entries.iter().any(|e| tensorboard::is_event_file(&e.name) && e.is_file());
        if tb_run {
            units.push(Unit::Tensorboard(dir.clone()));
        }
        for ent in entries.into_iter().rev() {
            let (name, path) = (ent.name, ent.path);
            let is_dir = ent.kind == Kind::Dir;
            if sacred_base && is_dir && sacred::SIDE_DIRS.contains(&name.as_str()) {
                continue;
            }
            if is_dir && name == hydra::SUBDIR && job.is_some() {
                continue; // the job's own files
            }
            if tb_run && is_dir && tensorboard::is_hparams_dir(&name) {
                continue;
            }
            if ent.kind == Kind::Link {
                if !SKIP_DIRS.contains(&name.as_str()) {
                    diags.push(
                        None,
                        format!("{}: symlink not followed", crate::paths::rel(root, &path).unwrap_or_default()),
                    );
                }
                continue;
            }
            if ent.kind != Kind::File && !is_dir {
                continue; // a FIFO, socket or device
            }
            if is_dir {
                if SKIP_DIRS.contains(&name.as_str()) {
                    continue;
                }
                if depth + 1 > MAX_DEPTH {
                    diags.push(
                        None,
                        format!(
                            "{}: nested deeper than {MAX_DEPTH} folders: not searched",
                            crate::paths::rel(root, &path).unwrap_or_default()
                        ),
                    );
                    continue;
                }
                stack.push((path, depth + 1, job));
                continue;
            }
            let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
            match ext.as_str() {
                "csv" | "tsv" => {
                    if let Some(source) = csv_log::sniff(fs, &path) {
                        units.push(Unit::Log(path, source));
                    }
                }
                // Keras's CSVLogger writes any file name it is given; its docs use `training.log`.
                "log" | "txt" if csv_log::is_keras_log(fs, &path) => units.push(Unit::Log(path, Source::Keras)),
                "jsonl" | "ndjson" => units.push(Unit::Jsonl(path)),
                "db" | "sqlite" | "sqlite3" if mlflow_db::is_mlflow_db(fs, &path) => {
                    units.push(Unit::MlflowDb(path));
                }
                _ => {}
            }
        }
    }
    units.extend(jobs.into_iter().map(|(dir, subs)| Unit::Hydra(dir, subs)));
    // Runlens's own monitor scores: `.runlens` is never walked, but its monitor folders are runs.
    let monitor = root.join(".runlens").join("monitor");
    if fs.is_dir(&root.join(".runlens")) && fs.is_dir(&monitor) {
        for ent in fs.list(&monitor).unwrap_or_default() {
            if ent.is_dir() {
                units.push(Unit::Monitor(ent.path.clone()));
            }
        }
    }
    units
}

/// The database a `-wal`, `-shm` or `-journal` file belongs to (SQLite writes those beside it).
fn sqlite_main_file(p: &Path) -> PathBuf {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for suffix in ["-wal", "-shm", "-journal"] {
        if let Some(main) = name.strip_suffix(suffix) {
            return p.with_file_name(main);
        }
    }
    p.to_path_buf()
}

/// Files no reader looks at, whose changes need no rescan: checkpoints, code, notebooks, images
/// outside run folders, and anything under a skipped folder (`.git`, virtualenvs, caches).
fn ignorable(root: &Path, p: &Path) -> bool {
    let Ok(rel) = p.strip_prefix(root) else { return true };
    // Runlens's monitor scores are runs (a new model's folder needs a walk to be found).
    if rel.starts_with(Path::new(".runlens").join("monitor")) {
        return false;
    }
    if rel.components().any(|c| SKIP_DIRS.iter().any(|s| c.as_os_str() == *s)) {
        return true;
    }
    let ext = p.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    const IGNORED: &[&str] = &[
        "py",
        "pyc",
        "ipynb",
        "md",
        "pt",
        "pth",
        "ckpt",
        "pkl",
        "npy",
        "npz",
        "bin",
        "safetensors",
        "h5",
        "onnx",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "lock",
        "tmp",
        "swp",
    ];
    match ext.as_str() {
        // Training output, unless it is a Keras log (of any name) that appeared since the last scan.
        "log" | "txt" => !csv_log::is_keras_log(&ProjectFs::new(root), p),
        _ => IGNORED.contains(&ext.as_str()),
    }
}

/// Whether the index still holds, for every file of `unit`, the state the reader started from.
fn states_unchanged(conn: &rusqlite::Connection, unit: &str, prev: &States) -> rusqlite::Result<bool> {
    let mine = prev.get(unit);
    let mut st = conn.prepare_cached("SELECT path, state FROM files WHERE unit = ?1")?;
    let mut rows = st.query([unit])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        n += 1;
        let path: String = r.get(0)?;
        let now: Option<FileState> = serde_json::from_str(&r.get::<_, String>(1)?).ok();
        if now.as_ref() != mine.and_then(|m| m.get(&path)) {
            return Ok(false);
        }
    }
    Ok(n == mine.map_or(0, |m| m.len()))
}

fn load_states_of(conn: &rusqlite::Connection, units: &[String]) -> rusqlite::Result<States> {
    let mut st = conn.prepare_cached("SELECT path, state FROM files WHERE unit = ?1")?;
    let mut out: States = HashMap::new();
    for u in units {
        let rows = st.query_map([u], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for (p, s) in rows.filter_map(Result::ok) {
            if let Ok(s) = serde_json::from_str(&s) {
                out.entry(u.clone()).or_default().insert(p, s);
            }
        }
    }
    Ok(out)
}

/// Reads one unit; a panic inside its reader (a bug of ours, met on some file) becomes a diagnostic
/// naming the unit, and the unit keeps what the index had for it. The scan goes on.
fn read_guarded(u: &Unit, ctx: &Ctx, key: &str) -> UnitOut {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| u.read(ctx))) {
        Ok(out) => out,
        Err(payload) => {
            let why = crate::panics::message(&*payload);
            let shown = if key.is_empty() { "." } else { key };
            let mut d = Diags::new(key);
            d.push(None, format!("internal error reading {shown}: {why} (please report this; the rest was read)"));
            UnitOut { unit: key.to_string(), untouched: true, diags: vec![d.finish(true)], ..Default::default() }
        }
    }
}

/// Where the walk puts a unit: a metric log inside a Hydra job goes to the job.
struct Units<'a> {
    units: &'a mut Vec<Unit>,
    jobs: &'a mut Vec<(PathBuf, Vec<Unit>)>,
    job: Option<usize>,
}

impl Units<'_> {
    fn push(&mut self, u: Unit) {
        match self.job {
            Some(j) if u.owned_by_job() => self.jobs[j].1.push(u),
            _ => self.units.push(u),
        }
    }
}

/// Remembered file states, by the unit that recorded them, then by path.
type States = HashMap<String, HashMap<String, FileState>>;

/// The remembered file states, by the unit that recorded them. A reader sees only its own unit's:
/// a file that moved to another unit (a CSV log that became a Lightning folder's metrics.csv, a
/// folder that became a Hydra job) is read again from the start by its new unit.
fn load_states(conn: &rusqlite::Connection) -> rusqlite::Result<States> {
    let mut st = conn.prepare("SELECT unit, path, state FROM files")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    let mut out: States = HashMap::new();
    for (unit, path, state) in rows.filter_map(Result::ok) {
        if let Ok(state) = serde_json::from_str(&state) {
            out.entry(unit).or_default().insert(path, state);
        }
    }
    Ok(out)
}

/// Commit at least this often, so a crash or a cancel loses little and readers see progress.
const BATCH_POINTS: usize = 2_000_000;
const BATCH_TIME: Duration = Duration::from_millis(500);

impl Index {
    /// Brings the index up to date with the project folder. Reads only what changed.
    /// `progress` is called from the calling thread; `cancel` stops the scan after the current
    /// batch, leaving the index consistent.
    pub fn scan(
        &mut self,
        opts: &ScanOptions,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<ScanReport, Error> {
        let started = Instant::now();
        let root = self.root.clone();
        if ProjectFs::new(&root).list(&root).is_err() {
            return Err(Error::Project(format!("{}: cannot read the folder", root.display())));
        }
        let mut walk_diags = Diags::new("");
        // The walk and loading what the index remembers are independent: do both at once.
        let (units, remembered) = std::thread::scope(|s| {
            let walk = s.spawn(|| discover(&root, &mut walk_diags));
            let remembered = load_states(&self.conn).and_then(|prev| {
                let mut st = self.conn.prepare("SELECT unit FROM files UNION SELECT unit FROM runs")?;
                let known: HashSet<String> =
                    st.query_map([], |r| r.get::<_, String>(0))?.filter_map(Result::ok).collect();
                Ok((prev, known))
            });
            let units = walk.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (units, remembered)
        });
        let (prev, known_units) = remembered?;
        progress(&Progress::Discovered { units: units.len() });
        let report = self.read_units(&units, prev, known_units, Some(walk_diags), opts, progress, cancel, started)?;
        if !report.cancelled {
            self.units = Some(units);
        }
        Ok(report)
    }

    /// The units holding `changed` paths (changes no reader looks at are dropped); None when a
    /// path lies in no known unit, or no full scan has run yet.
    pub(crate) fn units_for(&self, changed: &[PathBuf]) -> Option<Vec<Unit>> {
        let units = self.units.as_ref()?;
        let by_path: HashMap<&Path, usize> = units.iter().enumerate().map(|(i, u)| (u.path(), i)).collect();
        let mut hit = vec![false; units.len()];
        for p in changed {
            let p = sqlite_main_file(p);
            match p.ancestors().find_map(|a| by_path.get(a)) {
                Some(&i) => hit[i] = true,
                None if ignorable(&self.root, &p) => {}
                None => return None,
            }
        }
        Some(units.iter().zip(&hit).filter(|(_, h)| **h).map(|(u, _)| u.clone()).collect())
    }

    /// The index's key of a unit (its project-relative path).
    pub(crate) fn unit_key(&self, u: &Unit) -> String {
        crate::paths::rel(&self.root, u.path()).unwrap_or_default()
    }

    /// Re-reads `units` only: nothing else is listed, nothing is removed. The report counts what was
    /// read (units, points, conflicts); the index-wide run counts and diagnostics are left empty.
    pub(crate) fn scan_units(&mut self, units: &[Unit], opts: &ScanOptions) -> Result<ScanReport, Error> {
        let started = Instant::now();
        if units.is_empty() {
            return Ok(ScanReport { elapsed: started.elapsed(), ..Default::default() });
        }
        let keys: Vec<String> = units.iter().map(|u| self.unit_key(u)).collect();
        let prev = load_states_of(&self.conn, &keys)?;
        let mut known = HashSet::new();
        for k in &keys {
            let n: i64 = self.conn.query_row(
                "SELECT (SELECT count(*) FROM files WHERE unit = ?1) + (SELECT count(*) FROM runs WHERE unit = ?1)",
                [k],
                |r| r.get(0),
            )?;
            if n > 0 {
                known.insert(k.clone());
            }
        }
        self.read_units(units, prev, known, None, opts, &mut |_| {}, &AtomicBool::new(false), started)
    }

    /// Reads `units` against what the index remembers and writes the results in batched
    /// transactions. With `walk` (a full scan), units the walk no longer found are removed.
    #[allow(clippy::too_many_arguments)]
    fn read_units(
        &mut self,
        units: &[Unit],
        prev: States,
        known_units: HashSet<String>,
        walk: Option<Diags>,
        opts: &ScanOptions,
        progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
        started: Instant,
    ) -> Result<ScanReport, Error> {
        let full = walk.is_some();
        let root = self.root.clone();
        let total = units.len();
        let threads =
            if opts.threads == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { opts.threads };
        let threads = threads.min(total.max(1));
        let now = opts.now.unwrap_or_else(std::time::SystemTime::now);
        let next = AtomicUsize::new(0);
        let mut report = ScanReport { units_total: total, ..Default::default() };
        let unit_keys: HashSet<String> =
            units.iter().map(|u| crate::paths::rel(&root, u.path()).unwrap_or_default()).collect();

        let conn = &mut self.conn;
        let result: Result<(), Error> = std::thread::scope(|s| {
            // Few read units wait for the writer: each may hold a whole big log's points.
            let (tx_out, rx_out) = std::sync::mpsc::sync_channel::<UnitOut>(threads * 2);
            for _ in 0..threads {
                let tx_out = tx_out.clone();
                let (units, next, prev, root, known_units) = (units, &next, &prev, &root, &known_units);
                s.spawn(move || {
                    let none = HashMap::new();
                    // One per thread for the whole scan: folders checked for one unit (the store,
                    // the experiment) need no second look for the next.
                    let fs = ProjectFs::new(root);
                    loop {
                        if cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(u) = units.get(i) else { break };
                        let key = crate::paths::rel(root, u.path()).unwrap_or_default();
                        let ctx = Ctx { root, prev: prev.get(&key).unwrap_or(&none), fs: &fs, now };
                        let mut out = read_guarded(u, &ctx, &key);
                        out.fresh = !known_units.contains(&out.unit);
                        // A big log comes in pieces: each is written before the next is read, so
                        // memory stays bounded. The next piece starts from the states this one left.
                        let mut states: Option<HashMap<String, FileState>> = None;
                        while out.more && !cancel.load(Ordering::Relaxed) {
                            let mut next = states.take().unwrap_or_else(|| ctx.prev.clone());
                            let mut moved = false;
                            for (p, st) in &out.states {
                                if let Some(st) = st {
                                    moved |= next.get(p) != Some(st);
                                    next.insert(p.clone(), st.clone());
                                }
                            }
                            if !moved {
                                break; // no progress: never spin on a piece
                            }
                            if tx_out.send(out).is_err() {
                                return;
                            }
                            let piece_ctx = Ctx { root, prev: &next, fs: &fs, now };
                            out = read_guarded(u, &piece_ctx, &key);
                            out.expect = Some(next.clone());
                            states = Some(next);
                        }
                        if tx_out.send(out).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx_out);
            let mut done = 0usize;
            let conn: &rusqlite::Connection = conn;
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let mut batch_points = 0usize;
            let mut batch_start = Instant::now();
            let body = (|| -> Result<bool, Error> {
                for out in rx_out {
                    if out.expect.is_none() {
                        done += 1;
                    }
                    if !out.untouched && out.expect.is_none() {
                        report.units_read += 1; // a unit read in pieces counts once
                    }
                    // Another writer (the CLI beside the app) may have read these files since
                    // we loaded their states: then its result stands and ours would duplicate it.
                    let expected = match &out.expect {
                        Some(e) => HashMap::from([(out.unit.clone(), e.clone())]),
                        None => HashMap::new(),
                    };
                    let against = if out.expect.is_some() { &expected } else { &prev };
                    if !out.untouched && !states_unchanged(conn, &out.unit, against)? {
                        report.conflicts += 1;
                        continue;
                    }
                    let pts = out.points();
                    report.points += pts as u64;
                    batch_points += pts;
                    apply(conn, out)?;
                    if batch_points >= BATCH_POINTS || batch_start.elapsed() >= BATCH_TIME {
                        conn.execute_batch("COMMIT")?;
                        progress(&Progress::Read { done, total, points: report.points });
                        conn.execute_batch("BEGIN IMMEDIATE")?;
                        if cancel.load(Ordering::Relaxed) {
                            return Ok(false);
                        }
                        batch_points = 0;
                        batch_start = Instant::now();
                    }
                }
                if cancel.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                let Some(walk_diags) = walk else { return Ok(true) };
                // Units that are gone: their runs, file states and diagnostics go too.
                let known: Vec<String> = conn
                    .prepare("SELECT unit FROM runs UNION SELECT unit FROM files UNION SELECT unit FROM diagnostics")?
                    .query_map([], |r| r.get::<_, String>(0))?
                    .filter_map(Result::ok)
                    .collect();
                // The project folder itself may be a unit (a Hydra job or a TensorBoard run opened
                // directly): its key is "".
                for u in known.iter().filter(|u| u.as_str() != WALK_UNIT && !unit_keys.contains(*u)) {
                    conn.execute("DELETE FROM runs WHERE unit = ?1", [u])?;
                    conn.execute("DELETE FROM files WHERE unit = ?1", [u])?;
                    conn.execute("DELETE FROM diagnostics WHERE unit = ?1", [u])?;
                }
                conn.execute("DELETE FROM diagnostics WHERE unit = ?1", [WALK_UNIT])?;
                for d in walk_diags.finish(true).items {
                    conn.execute(
                        "INSERT INTO diagnostics(unit, file, line, message) VALUES (?1, '', NULL, ?2)",
                        [WALK_UNIT, &d.message],
                    )?;
                }
                Ok(true)
            })();
            match body {
                Ok(complete) => {
                    conn.execute_batch("COMMIT")?;
                    report.cancelled = !complete;
                }
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
            progress(&Progress::Read { done, total, points: report.points });
            Ok(())
        });
        result?;
        // The whole index's summary is for full scans; a watcher's re-read of a few units skips it.
        if full {
            let mut st = self.conn.prepare("SELECT source, count(*) FROM runs GROUP BY source ORDER BY source")?;
            for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (s, n) = row?;
                report.runs += n as usize;
                report.runs_by_source.insert(s, n as usize);
            }
            drop(st);
            report.diagnostics = self.diagnostics()?;
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Every diagnostic the index holds, by file and line.
    pub fn diagnostics(&self) -> Result<Vec<Diagnostic>, Error> {
        let mut st = self.conn.prepare("SELECT file, line, message FROM diagnostics ORDER BY file, line, rowid")?;
        let rows = st.query_map([], |r| {
            Ok(Diagnostic { file: r.get(0)?, line: r.get::<_, Option<i64>>(1)?.map(|l| l as u64), message: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
