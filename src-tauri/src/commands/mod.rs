//! The commands the front end calls, by subject. Each is thin: check the arguments, call the
//! engine on a blocking thread, turn the answer into its wire shape (`wire.rs`). Every path
//! argument is checked here, against the open project, before the engine sees it.
//!
//! Every command is declared in `build.rs` and allowed in `capabilities/main.json`; a command not
//! listed there is refused before it runs.

pub mod artifacts;
pub mod bundle;
pub mod charts;
pub mod data;
pub mod monitor;
pub mod project;
pub mod registry;
pub mod runs;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::wire::WireError;

pub type Res<T> = Result<T, WireError>;

/// Runs `f` on a blocking thread: the engine's calls read files and SQLite.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Res<T> + Send + 'static) -> Res<T> {
    tauri::async_runtime::spawn_blocking(f).await.map_err(|e| WireError::new("internal", e.to_string()))?
}

/// A folder from the page (typed or chosen in the dialog) that a command writes into (an export)
/// or reads from (a watch): a full path to a folder that exists, not the app's own data dir and
/// not the project's `.runlens` (the registry's and monitor's files). Canonical.
pub fn check_folder(dir: &str, data_dir: &Path, root: &Path) -> Res<PathBuf> {
    let p = Path::new(dir.trim());
    if dir.trim().is_empty() || dir.contains('\0') || !p.is_absolute() {
        return Err(WireError::new("invalid", format!("{dir:?}: give the full path of a folder")));
    }
    let canon = std::fs::canonicalize(p)
        .ok()
        .filter(|c| c.is_dir())
        .ok_or_else(|| WireError::new("invalid", format!("{}: no such folder", p.display())))?;
    let inside = |d: &Path| std::fs::canonicalize(d).is_ok_and(|d| canon.starts_with(d));
    if inside(data_dir) || inside(&root.join(".runlens")) {
        return Err(WireError::new(
            "forbidden",
            format!("{}: the app's own files are there; choose another folder", canon.display()),
        ));
    }
    Ok(canon)
}

/// The native folder dialog titled `title`, opened at `start` when that is a folder: the folder
/// chosen, or None (Rust runs it; the page has no dialog permission).
pub async fn pick_folder(app: tauri::AppHandle, title: &'static str, start: Option<String>) -> Res<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    blocking(move || {
        let mut dialog = app.dialog().file().set_title(title);
        if let Some(s) = start.map(std::path::PathBuf::from).filter(|s| s.is_absolute() && s.is_dir()) {
            dialog = dialog.set_directory(s);
        }
        let Some(picked) = dialog.blocking_pick_folder() else {
            return Ok(None);
        };
        let path = picked.into_path().map_err(|e| WireError::new("io", e.to_string()))?;
        Ok(Some(path.to_string_lossy().into_owned()))
    })
    .await
}

/// Now, in ms since the epoch: the one clock the shell reads, passed into the engine.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_a_full_path_outside_the_apps_files() {
        let tmp = std::env::temp_dir().join(format!("runlens-folder-{}", std::process::id()));
        let (data, project, out) = (tmp.join("data"), tmp.join("project"), tmp.join("out"));
        for d in [
            &data,
            &project.join(".runlens/registry"),
            &project.join(".runlens/monitor"),
            &out,
            &project.join("incoming"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(tmp.join("file"), b"x").unwrap();
        let check = |d: &Path| check_folder(&d.to_string_lossy(), &data, &project);
        assert_eq!(check(&out).unwrap(), std::fs::canonicalize(&out).unwrap());
        assert!(check(&project).is_ok(), "next to the model is fine");
        assert!(check(&project.join("incoming")).is_ok(), "a folder of the project is fine");
        for bad in ["", "out", "relative/dir", "a\0b"] {
            assert_eq!(check_folder(bad, &data, &project).unwrap_err().code, "invalid", "{bad:?}");
        }
        assert_eq!(check(&tmp.join("missing")).unwrap_err().code, "invalid");
        assert_eq!(check(&tmp.join("file")).unwrap_err().code, "invalid", "a file is not a folder");
        assert_eq!(check(&data.join(".")).unwrap_err().code, "forbidden");
        assert_eq!(check(&project.join(".runlens/registry")).unwrap_err().code, "forbidden");
        assert_eq!(check(&project.join(".runlens/monitor")).unwrap_err().code, "forbidden");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
