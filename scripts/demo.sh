#!/usr/bin/env bash
# Sets up what is missing on a fresh Debian/Ubuntu machine, builds Runlens (the desktop app and the
# CLI), and opens the demo project in assets/demo in the desktop app.
# Idempotent: a second run skips what is already there. Without a display it shows the demo in the
# CLI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

npm --prefix ui run build --silent
cargo build --release --locked -p runlens-desktop -p runlens
bin="${CARGO_TARGET_DIR:-target}/release"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "opening assets/demo in the Runlens desktop app"
  exec "$bin/runlens-desktop" assets/demo
fi
echo "no display: showing the demo project in the CLI instead"
echo
echo "\$ runlens index assets/demo"
"$bin/runlens" index assets/demo
echo
echo "\$ runlens runs assets/demo --sort -metrics.val_acc"
"$bin/runlens" runs assets/demo --sort -metrics.val_acc
echo
echo "\$ runlens registry list assets/demo"
"$bin/runlens" registry list assets/demo
echo
bundles="$(mktemp -d)"
echo "\$ runlens bundle assets/demo churn-gbm@champion -o $bundles && runlens bundle verify $bundles/churn-gbm-2.tar"
# A throwaway key: the demo signs with its own, not yours.
"$bin/runlens" --config-dir "$bundles/key" bundle assets/demo churn-gbm@champion -o "$bundles"
"$bin/runlens" bundle verify "$bundles/churn-gbm-2.tar"
tar tf "$bundles/churn-gbm-2.tar" | sed 's/^/  /'
