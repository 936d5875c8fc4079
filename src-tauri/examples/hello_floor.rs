//! The S7 floor: a hello-world Tauri app (one window, one static page, no commands, no plugins),
//! built with the same Tauri and profile as the real app. `bench/app_start.mjs --floor` times it
//! to its first painted text and measures its memory, so the real app's figures have a baseline.
//!
//!     cargo build --release -p runlens-desktop --example hello_floor
fn main() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    tauri::Builder::default()
        .run(tauri::generate_context!("examples/hello_floor/tauri.conf.json"))
        .expect("the hello-world app runs");
}
