//! The Runlens desktop app: a thin Tauri shell over `runlens-core`. See ARCHITECTURE.md.

mod commands;
mod state;
mod wire;

use std::path::{Path, PathBuf};

use tauri::{Emitter, Manager};

use state::AppState;

/// Where indexes and the recent list live: `RUNLENS_DATA_DIR`, else the user's app-data dir.
fn data_dir() -> PathBuf {
    runlens_core::choose_data_dir(None, std::env::var_os("RUNLENS_DATA_DIR"))
        .unwrap_or_else(|_| std::env::temp_dir().join("runlens"))
}

/// The first argument that is not a flag: a folder to open.
fn path_arg(args: &[String], cwd: &Path) -> Option<PathBuf> {
    args.iter().skip(1).find(|a| !a.starts_with('-')).map(|a| cwd.join(a))
}

/// Asks the page to open a folder the user named outside it (a drop, a second launch).
fn request_open(app: &tauri::AppHandle, path: &Path) {
    let state = app.state::<AppState>();
    match state.grant(path) {
        Ok(canon) => {
            let _ = app.emit("open-request", canon.to_string_lossy().into_owned());
        }
        Err(e) => {
            let _ = app.emit("open-error", e);
        }
    }
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

pub fn run() {
    runlens_core::install_panic_hook();
    // WebKitGTK draws a blank window on some GPU/driver setups (and under Xvfb) with DMA-BUF.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    let state = AppState::new(data_dir());
    let args: Vec<String> = std::env::args().collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    if let Some(p) = path_arg(&args, &cwd) {
        match state.grant(&p) {
            Ok(canon) => *state.requested.lock().expect("lock") = Some(canon),
            Err(e) => eprintln!("runlens-desktop: {}", e.message),
        }
    }
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, argv, cwd| match path_arg(&argv, Path::new(&cwd)) {
            Some(p) => request_open(app, &p),
            None => {
                if let Some(w) = app.get_webview_window("main") {
                    let _ = w.set_focus();
                }
            }
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        // Drift notifications, sent from Rust (commands/monitor.rs); the page may not call it.
        .plugin(tauri_plugin_notification::init())
        .manage(state)
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                if let Some(p) = paths.first() {
                    let dir =
                        if p.is_dir() { p.clone() } else { p.parent().map(Path::to_path_buf).unwrap_or_default() };
                    request_open(window.app_handle(), &dir);
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::project::recent_projects,
            commands::project::forget_project,
            commands::project::pick_project,
            commands::project::open_project,
            commands::project::current_project,
            commands::project::refresh,
            commands::project::watch,
            commands::runs::runs,
            commands::runs::completions,
            commands::runs::run_detail,
            commands::runs::diff,
            commands::charts::chart,
            commands::charts::export_chart,
            commands::artifacts::artifact,
            commands::artifacts::reveal,
            commands::artifacts::open_url,
            commands::artifacts::save_text,
            commands::registry::registry_me,
            commands::registry::registry_models,
            commands::registry::registry_model_at,
            commands::registry::registry_policy,
            commands::registry::registry_history,
            commands::registry::registry_register,
            commands::registry::registry_change,
            commands::registry::registry_import,
            commands::registry::registry_verify,
            commands::registry::registry_card,
            commands::bundle::bundle_plan,
            commands::bundle::bundle_export,
            commands::bundle::bundle_cancel,
            commands::bundle::bundle_reveal,
            commands::bundle::bundle_pick_folder,
            commands::data::data_ls,
            commands::data::data_show,
            commands::data::data_show_cancel,
            commands::data::data_diff,
            commands::data::data_drift,
            commands::data::monitor_scores,
            commands::monitor::monitor_watch,
            commands::monitor::monitor_unwatch,
            commands::monitor::monitor_watches,
            commands::monitor::monitor_pick_folder,
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Runlens desktop app");
}
