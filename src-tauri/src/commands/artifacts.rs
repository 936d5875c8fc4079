//! A run's files: previews, revealing them in the file manager; links from logged data; saving
//! text the page made.

use tauri::ipc::Response;
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use super::{blocking, Res};
use crate::state::AppState;
use crate::wire::{ArtifactHeader, WireError};

/// One of a run's files for a preview: `u32 header length, header JSON, content bytes`.
/// Only files the index lists for that run, inside the project, are read.
#[tauri::command]
pub async fn artifact(app: AppHandle, run: String, path: String) -> Res<Response> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let p = project.reader.lock().expect("lock").read_artifact(&run, &path)?;
        let header = serde_json::to_vec(&ArtifactHeader {
            path: p.path,
            kind: p.kind.as_str(),
            mime: p.mime,
            size: p.size,
            truncated: p.truncated,
        })
        .expect("serializable");
        let mut out = Vec::with_capacity(4 + header.len() + p.bytes.len());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&p.bytes);
        Ok(Response::new(out))
    })
    .await
}

/// Shows a run's folder, or one of its files, in the system's file manager.
#[tauri::command]
pub async fn reveal(app: AppHandle, run: String, path: Option<String>) -> Res<()> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let target = {
            let index = project.reader.lock().expect("lock");
            match &path {
                Some(p) => index.run_file(&run, p)?,
                None => index.run_location(&run)?,
            }
        };
        app.opener().reveal_item_in_dir(&target).map_err(|e| WireError::new("io", e.to_string()))
    })
    .await
}

/// Whether a link from logged data may be opened: https and mailto only.
pub fn safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") && lower.len() > 8) || (lower.starts_with("mailto:") && lower.len() > 7)
}

/// Opens a link from logged data in the browser: https and mailto only, never `file:`, `smb:`,
/// `javascript:` or anything else.
#[tauri::command]
pub fn open_url(app: AppHandle, url: String) -> Res<()> {
    if !safe_url(&url) || url.chars().any(char::is_control) {
        return Err(WireError::new("forbidden", format!("{url}: only https and mailto links are opened")));
    }
    app.opener().open_url(url, None::<&str>).map_err(|e| WireError::new("io", e.to_string()))
}

/// Saves text the page made (a CSV of the run table, a model card) where the user chooses in a
/// save dialog. Returns the path written, or None when the dialog was cancelled. Written atomically.
#[tauri::command]
pub async fn save_text(app: AppHandle, name: String, text: String) -> Res<Option<String>> {
    blocking(move || {
        let name: String = name.chars().filter(|c| !"/\\:\0".contains(*c)).collect();
        let Some(picked) = app.dialog().file().set_file_name(&name).blocking_save_file() else {
            return Ok(None);
        };
        let path = picked.into_path().map_err(|e| WireError::new("io", e.to_string()))?;
        runlens_core::write_file_atomic(&path, text.as_bytes())
            .map_err(|e| WireError::new("io", format!("{}: {e}", path.display())))?;
        Ok(Some(path.to_string_lossy().into_owned()))
    })
    .await
}
