#!/usr/bin/env bash
# Installs what building and testing Runlens needs on Debian/Ubuntu, skipping what is present:
# system packages (a C compiler, WebKitGTK and friends for the desktop app; Xvfb, xauth, xwd and
# WebKitWebDriver for its end-to-end tests; bindfs, minisign, skopeo, zstd and python3-venv for the
# reliability, registry and bundle tests), the UI's npm packages, and tauri-driver.
# Sourced by demo.sh and test.sh; `setup.sh --tests` also installs the test-only parts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

pkgs=(build-essential pkg-config libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev)
((want_tests)) && pkgs+=(xvfb xauth webkit2gtk-driver x11-apps dbus-daemon bindfs minisign skopeo zstd python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "installing system packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: no Rust toolchain (cargo) found. Install Rust 1.89 or newer (https://rustup.rs), then run this again." >&2
  exit 1
fi

# The UI's packages, exactly as locked.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  npm ci --prefix ui --no-audit --no-fund --loglevel=error
fi

if ((want_tests)) && ! command -v tauri-driver >/dev/null 2>&1; then
  echo "installing tauri-driver (WebDriver for the desktop app's end-to-end tests)" >&2
  cargo install tauri-driver --locked --version "^2" --quiet
fi
