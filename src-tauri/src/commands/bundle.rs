//! Deployment bundles: what exporting a version would write, the export itself (on its own
//! connection and a blocking thread, its progress over a `Channel`, cancellable), choosing the
//! folder, and showing the archive written in the file manager. What goes in, what is refused and
//! the signature are the engine's; a refusal reaches the page as `{code: "refused", message}`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_opener::OpenerExt;

use runlens_core::Index;

use super::registry::{identity, with_index};
use super::{blocking, check_folder, Res};
use crate::state::{AppState, Exports};
use crate::wire::{BundleCompression, BundleFormat, BundlePlan, BundleProgress, BundleWritten, WireError};

/// The folder the dialog offers first: the user's Downloads folder, else the project's parent,
/// else the home folder.
fn default_dir(app: &AppHandle, root: &Path) -> String {
    app.path()
        .download_dir()
        .ok()
        .filter(|d| d.is_dir())
        .or_else(|| root.parent().map(Path::to_path_buf))
        .or_else(|| app.path().home_dir().ok())
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Clears the running export when the export ends, however it ends.
struct Running<'a>(&'a Exports);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *self.0.running.lock().expect("lock") = None;
    }
}

/// What exporting `target` (NAME@VERSION) would write, why it would be refused if it would, and
/// the folder to offer.
#[tauri::command]
pub async fn bundle_plan(app: AppHandle, target: String) -> Res<BundlePlan> {
    let app2 = app.clone();
    with_index(app, move |index| {
        let plan = index.bundle_plan(&target)?;
        Ok(BundlePlan::new(plan, default_dir(&app2, index.root())))
    })
    .await
}

/// Exports `target` (NAME@VERSION) into `out_dir`, signed with this user's registry key. Runs on
/// its own index connection, so the app's queries go on meanwhile; progress arrives over
/// `on_progress`. One export at a time; `bundle_cancel` stops it and nothing is left on disk
/// (`{code: "cancelled"}`).
#[tauri::command]
pub async fn bundle_export(
    app: AppHandle,
    target: String,
    out_dir: String,
    format: BundleFormat,
    compress: BundleCompression,
    on_progress: Channel<BundleProgress>,
) -> Res<BundleWritten> {
    let who = identity()?;
    blocking(move || {
        let state = app.state::<AppState>();
        let project = state.current()?;
        let dir = check_folder(&out_dir, &state.data_dir, &project.root)?;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut running = state.exports.running.lock().expect("lock");
            if running.is_some() {
                return Err(WireError::new("busy", "another bundle is being exported: wait for it, or cancel it"));
            }
            *running = Some(cancel.clone());
        }
        let _running = Running(&state.exports);
        let index = Index::open(&state.data_dir, &project.root)?;
        let mut last: Option<Instant> = None;
        let mut on = |p: runlens_core::BundleProgress| {
            let end = p.files_done == p.files_total;
            if !end && last.is_some_and(|t| t.elapsed() < Duration::from_millis(50)) {
                return;
            }
            last = Some(Instant::now());
            let _ = on_progress.send(p.into());
        };
        let written = index.bundle_export_with(&target, &dir, &who, format.options(compress), &mut on, &cancel)?;
        state.exports.written.lock().expect("lock").insert(written.path.clone());
        Ok(written.into())
    })
    .await
}

/// Stops the running export, if any; true when one was running.
#[tauri::command]
pub fn bundle_cancel(state: State<'_, AppState>) -> bool {
    match state.exports.running.lock().expect("lock").as_ref() {
        Some(cancel) => {
            cancel.store(true, Ordering::SeqCst);
            true
        }
        None => false,
    }
}

/// Shows a bundle this app exported in the system's file manager; any other path is refused.
#[tauri::command]
pub async fn bundle_reveal(app: AppHandle, path: String) -> Res<()> {
    blocking(move || {
        let p = PathBuf::from(&path);
        let known = app.state::<AppState>().exports.written.lock().expect("lock").contains(&p);
        if !known {
            return Err(WireError::new("forbidden", format!("{path}: not a bundle exported in this session")));
        }
        if !p.is_file() {
            return Err(WireError::new("not_found", format!("{path}: no longer there")));
        }
        app.opener().reveal_item_in_dir(&p).map_err(|e| WireError::new("io", e.to_string()))
    })
    .await
}

/// Shows the folder dialog, opened at `start` when that is a folder; the folder chosen, or None.
#[tauri::command]
pub async fn bundle_pick_folder(app: AppHandle, start: Option<String>) -> Res<Option<String>> {
    super::pick_folder(app, "Export the bundle into", start).await
}
