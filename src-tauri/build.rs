// The app's own commands get permissions generated (allow-<command>), so a capability must list
// each one the front end may call: a command not listed is refused before it runs.
const COMMANDS: &[&str] = &[
    "recent_projects",
    "forget_project",
    "pick_project",
    "open_project",
    "current_project",
    "refresh",
    "runs",
    "completions",
    "run_detail",
    "chart",
    "artifact",
    "reveal",
    "open_url",
    "save_text",
    "export_chart",
    "watch",
    "diff",
    "registry_me",
    "registry_models",
    "registry_model_at",
    "registry_policy",
    "registry_history",
    "registry_register",
    "registry_change",
    "registry_import",
    "registry_verify",
    "registry_card",
    "bundle_plan",
    "bundle_export",
    "bundle_cancel",
    "bundle_reveal",
    "bundle_pick_folder",
    "data_ls",
    "data_show",
    "data_show_cancel",
    "data_diff",
    "data_drift",
    "monitor_scores",
    "monitor_watch",
    "monitor_unwatch",
    "monitor_watches",
    "monitor_pick_folder",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
