//! Watching a folder for new batches (`runlens data watch`, in the app): a thread of its own, on
//! its own index connection, scores each new table in the folder against the version a target
//! (NAME@ALIAS or NAME@VERSION) names, every two seconds, until it is stopped or the project
//! closes. A column that crossed its threshold (the engine's `monitor_crossings`) becomes one
//! desktop notification per batch, sent from here: the page gets no notification permission.
//! The scores are files in the project, so the project watcher reports them and the Monitoring
//! section reloads as for the CLI's.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use runlens_core::{Crossing, Index};

use super::{blocking, check_folder, now_ms, Res};
use crate::state::{AppState, MonitorStatus, MonitorWatch, Project};
use crate::wire::{MonitorWatchState, WireError};

/// How often a watch looks at its folder.
const PASS: Duration = Duration::from_secs(2);
/// How often a waiting watch checks whether it was stopped.
const TICK: Duration = Duration::from_millis(100);
/// The most folders watched at once in one project.
const MAX_WATCHES: usize = 16;

/// A target from the page: NAME@ALIAS or NAME@VERSION, both parts non-empty. The engine resolves it.
fn check_target(target: &str) -> Res<()> {
    let ok = target.len() <= 1024
        && !target.contains('\0')
        && target.rsplit_once('@').is_some_and(|(n, a)| !n.trim().is_empty() && !a.trim().is_empty());
    if !ok {
        return Err(WireError::new("invalid", format!("{target:?}: give NAME@ALIAS or NAME@VERSION")));
    }
    Ok(())
}

/// One pass over the folder: scores what is new, counts it into `status`, and returns the
/// crossings to notify. An error is kept in `status` (the next pass tries again).
fn pass(index: &Index, target: &str, dir: &Path, now: i64, status: &mut MonitorStatus) -> Vec<Crossing> {
    status.last_pass_at = Some(now);
    let scored = index.monitor_scan(target, dir, now, true).and_then(|pass| {
        let crossings = index.monitor_scan_crossings(&pass.scores)?;
        Ok((pass.scores, pass.problems, crossings))
    });
    match scored {
        Ok((scores, problems, crossings)) => {
            status.batches += scores.len() as u64;
            status.drifted += scores.iter().filter(|s| s.drift).count() as u64;
            status.crossings += crossings.len() as u64;
            status.version = match scores.last() {
                Some(s) => Some(s.version),
                None => index.monitor_target(target).ok().map(|(_, v)| v),
            };
            // A table that could not be scored is named; the others were scored.
            status.last_error = (!problems.is_empty()).then(|| problems.join("; "));
            crossings
        }
        Err(e) => {
            status.last_error = Some(e.to_string());
            Vec::new()
        }
    }
}

/// The notification for one batch: "Drift: churn v2", naming the columns and the batch file.
fn notification_text(c: &Crossing) -> (String, String) {
    let file = Path::new(&c.file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(c.file.clone());
    let cols = match c.columns.as_slice() {
        [one] => format!("{one} crossed its drift threshold"),
        many => format!("{} crossed their drift thresholds", many.join(", ")),
    };
    (format!("Drift: {} v{}", c.model, c.version), format!("{cols} in {file}"))
}

/// Sends the notification; where the OS has none to offer (no notification server, CI) this
/// is logged and the watch goes on.
fn notify(app: &AppHandle, c: &Crossing) {
    let (title, body) = notification_text(c);
    if let Err(e) = app.notification().builder().title(&title).body(&body).show() {
        eprintln!("runlens: notification not sent ({title}: {body}): {e}");
    }
}

/// The watch's thread: a pass every two seconds until stopped or the project closes.
fn run(app: AppHandle, project: Arc<Project>, watch: Arc<MonitorWatch>, data_dir: PathBuf) {
    let stopped = || watch.stop.load(Ordering::SeqCst) || project.cancel.load(Ordering::SeqCst);
    let index = match Index::open(&data_dir, &project.root) {
        Ok(i) => i,
        Err(e) => {
            watch.status.lock().expect("lock").last_error = Some(e.to_string());
            return;
        }
    };
    while !stopped() {
        let mut status = watch.status.lock().expect("lock").clone();
        let crossings = pass(&index, &watch.target, &watch.dir, now_ms(), &mut status);
        *watch.status.lock().expect("lock") = status;
        for c in &crossings {
            notify(&app, c);
        }
        let mut waited = Duration::ZERO;
        while waited < PASS && !stopped() {
            std::thread::sleep(TICK);
            waited += TICK;
        }
    }
}

fn state_of(w: &MonitorWatch) -> MonitorWatchState {
    let s = w.status.lock().expect("lock").clone();
    MonitorWatchState {
        target: w.target.clone(),
        dir: w.dir.to_string_lossy().into_owned(),
        started_at: w.started_at,
        version: s.version,
        batches: s.batches,
        drifted: s.drifted,
        crossings: s.crossings,
        last_error: s.last_error,
        last_pass_at: s.last_pass_at,
    }
}

/// Starts watching `dir` for new batches of `target` (NAME@ALIAS or NAME@VERSION; refused when
/// the version it names has no reference dataset). A target watched already moves to `dir`.
#[tauri::command]
pub async fn monitor_watch(app: AppHandle, target: String, dir: String) -> Res<MonitorWatchState> {
    check_target(&target)?;
    blocking(move || {
        let state = app.state::<AppState>();
        let project = state.current()?;
        let dir = check_folder(&dir, &state.data_dir, &project.root)?;
        let (_, version) = project.reader.lock().expect("lock").monitor_target(&target)?;
        let watch = Arc::new(MonitorWatch {
            target: target.clone(),
            dir,
            started_at: now_ms(),
            stop: Default::default(),
            status: Mutex::new(MonitorStatus { version: Some(version), ..Default::default() }),
        });
        {
            let mut monitors = project.monitors.lock().expect("lock");
            if let Some(i) = monitors.iter().position(|w| w.target == target) {
                monitors.remove(i).stop.store(true, Ordering::SeqCst);
            }
            if monitors.len() >= MAX_WATCHES {
                return Err(WireError::new("busy", format!("{MAX_WATCHES} folders are watched already: stop one")));
            }
            monitors.push(watch.clone());
        }
        let (app2, project2, watch2, data_dir) = (app.clone(), project.clone(), watch.clone(), state.data_dir.clone());
        let started = std::thread::Builder::new()
            .name("runlens-monitor".into())
            .spawn(move || run(app2, project2, watch2, data_dir));
        if let Err(e) = started {
            project.monitors.lock().expect("lock").retain(|w| !Arc::ptr_eq(w, &watch));
            return Err(WireError::new("internal", e.to_string()));
        }
        Ok(state_of(&watch))
    })
    .await
}

/// Stops watching for `target`; true when it was watched.
#[tauri::command]
pub fn monitor_unwatch(app: AppHandle, target: String) -> Res<bool> {
    let project = app.state::<AppState>().current()?;
    let mut monitors = project.monitors.lock().expect("lock");
    let Some(i) = monitors.iter().position(|w| w.target == target) else { return Ok(false) };
    monitors.remove(i).stop.store(true, Ordering::SeqCst);
    Ok(true)
}

/// The open project's folder watches, in the order they were started.
#[tauri::command]
pub fn monitor_watches(app: AppHandle) -> Res<Vec<MonitorWatchState>> {
    let project = app.state::<AppState>().current()?;
    let monitors = project.monitors.lock().expect("lock");
    Ok(monitors.iter().map(|w| state_of(w)).collect())
}

/// Shows the folder dialog for a folder to watch, opened at `start` when that is a folder; the
/// folder chosen, or None.
#[tauri::command]
pub async fn monitor_pick_folder(app: AppHandle, start: Option<String>) -> Res<Option<String>> {
    super::pick_folder(app, "Watch a folder for new batches", start).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let t = std::env::temp_dir().join(format!("runlens-monitor-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        std::fs::create_dir_all(&t).unwrap();
        t
    }

    #[test]
    fn targets_name_a_model_and_an_alias_or_version() {
        for ok in ["churn@champion", "churn@2", "a@b@c"] {
            assert!(check_target(ok).is_ok(), "{ok:?}");
        }
        for bad in ["", "churn", "churn@", "@champion", " @x", "a\0@b", &format!("{}@x", "m".repeat(1024))] {
            assert_eq!(check_target(bad).unwrap_err().code, "invalid", "{bad:?}");
        }
    }

    #[test]
    fn a_failing_pass_is_kept_as_the_last_error_and_the_next_one_tries_again() {
        let t = tmp("pass");
        let (data, project, landing) = (t.join("data"), t.join("project"), t.join("landing"));
        for d in [&data, &project, &landing] {
            std::fs::create_dir_all(d).unwrap();
        }
        let index = Index::open(&data, &project).unwrap();
        let mut status = MonitorStatus { batches: 3, ..Default::default() };
        let crossings = pass(&index, "churn@champion", &landing, 42, &mut status);
        assert!(crossings.is_empty());
        assert_eq!((status.batches, status.last_pass_at), (3, Some(42)));
        assert!(status.last_error.as_deref().is_some_and(|e| e.contains("churn")), "{status:?}");
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn one_notification_names_the_version_the_columns_and_the_batch() {
        let c = Crossing {
            model: "churn".into(),
            version: 2,
            file: "/data/landing/2025-03.csv".into(),
            record: ".runlens/monitor/churn/1-00000-abc.json".into(),
            columns: vec!["monthly_charges".into(), "plan".into()],
        };
        assert_eq!(
            notification_text(&c),
            ("Drift: churn v2".into(), "monthly_charges, plan crossed their drift thresholds in 2025-03.csv".into())
        );
        let one = Crossing { columns: vec!["plan".into()], ..c };
        assert_eq!(notification_text(&one).1, "plan crossed its drift threshold in 2025-03.csv");
    }
}
