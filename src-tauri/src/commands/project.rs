//! Projects: the recent list, choosing and opening a folder, refreshing its index, and following
//! it live (runs, points, registry changes).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;

use runlens_core::{Change, Index, Progress, ScanOptions, ScanReport, WatchEvent, WatchOptions};

use super::{blocking, now_ms, Res};
use crate::state::{AppState, Project};
use crate::wire::{Current, Issue, Recent, ScanEvent, Scanned, WatchMsg, WireError};

fn scanned(root: &Path, r: ScanReport) -> Scanned {
    Scanned {
        path: root.to_string_lossy().into_owned(),
        name: root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        runs: r.runs,
        points: r.points,
        units_read: r.units_read,
        units_total: r.units_total,
        elapsed_ms: r.elapsed.as_millis() as u64,
        cancelled: r.cancelled,
        issues: r.diagnostics.into_iter().map(Issue::from).collect(),
    }
}

fn scan(index: &mut Index, progress: &Channel<ScanEvent>, cancel: &AtomicBool) -> Res<ScanReport> {
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut on_progress = |p: &Progress| {
        let event = match *p {
            Progress::Discovered { units } => ScanEvent::Discovered { units },
            Progress::Read { done, total, points } => {
                if done < total && last.elapsed() < Duration::from_millis(50) {
                    return;
                }
                ScanEvent::Read { done, total, points }
            }
        };
        last = Instant::now();
        let _ = progress.send(event);
    };
    Ok(index.scan(&ScanOptions::default(), &mut on_progress, cancel)?)
}

#[tauri::command]
pub fn recent_projects(state: State<'_, AppState>) -> Vec<Recent> {
    state.recent()
}

#[tauri::command]
pub fn forget_project(state: State<'_, AppState>, path: String) -> Res<()> {
    state.forget(&path).map_err(|e| WireError::new("io", e.to_string()))
}

#[tauri::command]
pub fn current_project(state: State<'_, AppState>) -> Current {
    Current {
        open: state.project.lock().expect("lock").as_ref().map(|p| p.root.to_string_lossy().into_owned()),
        requested: state.requested.lock().expect("lock").take().map(|p| p.to_string_lossy().into_owned()),
    }
}

/// Shows the folder dialog; the folder chosen may then be opened.
#[tauri::command]
pub async fn pick_project(app: AppHandle) -> Res<Option<String>> {
    blocking(move || {
        let Some(picked) = app.dialog().file().set_title("Open a project folder").blocking_pick_folder() else {
            return Ok(None);
        };
        let path = picked.into_path().map_err(|e| WireError::new("project", e.to_string()))?;
        let canon = app.state::<AppState>().grant(&path)?;
        Ok(Some(canon.to_string_lossy().into_owned()))
    })
    .await
}

/// Opens a project the user chose, indexing what changed since the last time.
#[tauri::command]
pub async fn open_project(app: AppHandle, path: String, on_progress: Channel<ScanEvent>) -> Res<Scanned> {
    blocking(move || {
        let state = app.state::<AppState>();
        let root = state.check_open(&path)?;
        if let Some(old) = state.project.lock().expect("lock").as_ref() {
            old.cancel.store(true, Ordering::SeqCst);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let mut writer = Index::open(&state.data_dir, &root)?;
        let report = scan(&mut writer, &on_progress, &cancel)?;
        let runs = report.runs;
        let out = scanned(&root, report);
        let project = Project {
            root: root.clone(),
            reader: Mutex::new(writer),
            scanning: AtomicBool::new(false),
            watching: AtomicBool::new(false),
            watch_channel: Mutex::new(None),
            cancel,
            monitors: Mutex::new(Vec::new()),
        };
        *state.project.lock().expect("lock") = Some(Arc::new(project));
        if let Err(e) = state.remember(&root, runs, now_ms()) {
            eprintln!("runlens: could not save the recent projects list: {e}");
        }
        Ok(out)
    })
    .await
}

/// Brings the open project's index up to date (a key, and on window focus). None when a scan is
/// already running.
#[tauri::command]
pub async fn refresh(app: AppHandle, on_progress: Channel<ScanEvent>) -> Res<Option<Scanned>> {
    blocking(move || {
        let state = app.state::<AppState>();
        let project = state.current()?;
        if project.scanning.swap(true, Ordering::SeqCst) {
            return Ok(None);
        }
        let result = Index::open(&state.data_dir, &project.root)
            .map_err(WireError::from)
            .and_then(|mut writer| scan(&mut writer, &on_progress, &project.cancel));
        project.scanning.store(false, Ordering::SeqCst);
        Ok(Some(scanned(&project.root, result?)))
    })
    .await
}

/// One batch of the watcher's changes as the page gets it.
fn changes_msg(changes: &[Change]) -> WatchMsg {
    let (mut runs, mut points, mut removed, mut registry) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in changes {
        match c {
            Change::Run { run, .. } => runs.push(run.clone()),
            Change::Points { run, key, .. } => points.push((run.clone(), key.clone())),
            Change::Removed { run } => removed.push(run.clone()),
            Change::Registry { model } => {
                if !registry.contains(model) {
                    registry.push(model.clone())
                }
            }
        }
    }
    WatchMsg::Changes { runs, points, removed, registry }
}

/// Follows the open project while runs train and people change the registry: changes arrive over
/// `on_change` once they are committed, until another project is opened. One watcher per
/// project; a later call only moves its messages to the new channel.
#[tauri::command]
pub fn watch(app: AppHandle, on_change: Channel<WatchMsg>) -> Res<()> {
    let state = app.state::<AppState>();
    let project = state.current()?;
    *project.watch_channel.lock().expect("lock") = Some(on_change);
    if project.watching.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let data_dir = state.data_dir.clone();
    std::thread::Builder::new()
        .name("runlens-watch".into())
        .spawn(move || {
            let send = |m: WatchMsg| {
                if let Some(ch) = project.watch_channel.lock().expect("lock").as_ref() {
                    let _ = ch.send(m);
                }
            };
            let notice = |message: String| send(WatchMsg::Notice { message });
            let mut index = match Index::open(&data_dir, &project.root) {
                Ok(i) => i,
                Err(e) => return notice(format!("live updates are off: {e}")),
            };
            let mut on = |ev: WatchEvent<'_>| match ev {
                WatchEvent::Notice(n) => notice(n.to_string()),
                WatchEvent::Ready { .. } => {}
                WatchEvent::Changes(changes) => send(changes_msg(changes)),
            };
            if let Err(e) = index.watch(&WatchOptions::default(), &mut on, &project.cancel) {
                notice(format!("live updates stopped: {e}"));
            }
            project.watching.store(false, Ordering::SeqCst);
        })
        .map_err(|e| WireError::new("internal", e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_changes_reach_the_page_once_per_model() {
        let changes = vec![
            Change::Registry { model: "churn".into() },
            Change::Removed { run: "r1".into() },
            Change::Registry { model: "churn".into() },
            Change::Registry { model: "".into() },
        ];
        let v = serde_json::to_value(changes_msg(&changes)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "changes", "runs": [], "points": [], "removed": ["r1"], "registry": ["churn", ""]})
        );
    }
}
