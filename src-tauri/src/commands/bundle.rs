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
use super::{blocking, Res};
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

/// Whether `path` is `dir` or inside it (both canonical).
fn inside(path: &Path, dir: &Path) -> bool {
    std::fs::canonicalize(dir).is_ok_and(|dir| path.starts_with(dir))
}

/// The folder an export writes into, from the page: a full path to a folder that exists, not the
/// app's own data dir and not the project's `.runlens` (the registry's files). Canonical.
fn check_out_dir(dir: &str, data_dir: &Path, root: &Path) -> Res<PathBuf> {
    let p = Path::new(dir.trim());
    if dir.trim().is_empty() || dir.contains('\0') || !p.is_absolute() {
        return Err(WireError::new("invalid", format!("{dir:?}: give the full path of a folder")));
    }
    let canon = std::fs::canonicalize(p)
        .ok()
        .filter(|c| c.is_dir())
        .ok_or_else(|| WireError::new("invalid", format!("{}: no such folder", p.display())))?;
    if inside(&canon, data_dir) || inside(&canon, &root.join(".runlens")) {
        return Err(WireError::new(
            "forbidden",
            format!("{}: the app's own files are there; choose another folder", canon.display()),
        ));
    }
    Ok(canon)
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
        let dir = check_out_dir(&out_dir, &state.data_dir, &project.root)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_out_dir_is_a_full_path_to_a_folder_outside_the_apps_files() {
        let tmp = std::env::temp_dir().join(format!("runlens-bundle-dir-{}", std::process::id()));
        let (data, project, out) = (tmp.join("data"), tmp.join("project"), tmp.join("out"));
        for d in [&data, &project.join(".runlens/registry"), &out] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(tmp.join("file"), b"x").unwrap();
        let check = |d: &Path| check_out_dir(&d.to_string_lossy(), &data, &project);
        assert_eq!(check(&out).unwrap(), std::fs::canonicalize(&out).unwrap());
        assert!(check(&project).is_ok(), "next to the model is fine");
        for bad in ["", "out", "relative/dir", "a\0b"] {
            assert_eq!(check_out_dir(bad, &data, &project).unwrap_err().code, "invalid", "{bad:?}");
        }
        assert_eq!(check(&tmp.join("missing")).unwrap_err().code, "invalid");
        assert_eq!(check(&tmp.join("file")).unwrap_err().code, "invalid", "a file is not a folder");
        assert_eq!(check(&data.join(".")).unwrap_err().code, "forbidden");
        assert_eq!(check(&project.join(".runlens/registry")).unwrap_err().code, "forbidden");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
