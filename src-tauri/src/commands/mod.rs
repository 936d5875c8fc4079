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

/// Now, in ms since the epoch: the one clock the shell reads, passed into the engine.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
