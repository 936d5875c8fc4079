#!/usr/bin/env bash
# Runs every test on a clean clone: formatting and clippy, the engine's unit and integration tests (real fixture files,
# the real CLI binary), the UI's logic tests (vitest), and the end-to-end tests that drive the real
# desktop app under Xvfb (tauri-driver + WebKitWebDriver). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
export PATH="$HOME/.cargo/bin:$PATH"

echo "== UI build (embedded in the desktop binary)"
npm --prefix ui run build --silent
echo "== format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== Rust tests"
cargo test --workspace --locked
echo "== desktop app build"
cargo build --locked -p runlens-desktop -p runlens
echo "== UI tests (vitest)"
npm --prefix ui test --silent
echo "== end-to-end tests (the real app under Xvfb)"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- npm --prefix ui run e2e --silent
