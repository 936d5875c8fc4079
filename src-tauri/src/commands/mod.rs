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

use std::time::{SystemTime, UNIX_EPOCH};

use crate::wire::WireError;

pub type Res<T> = Result<T, WireError>;

/// Runs `f` on a blocking thread: the engine's calls read files and SQLite.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Res<T> + Send + 'static) -> Res<T> {
    tauri::async_runtime::spawn_blocking(f).await.map_err(|e| WireError::new("internal", e.to_string()))?
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
