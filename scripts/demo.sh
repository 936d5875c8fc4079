#!/usr/bin/env bash
# Sets up what is missing on a fresh Debian/Ubuntu machine, builds Runlens (the desktop app and the
# CLI), and opens the demo project in the desktop app.
# Idempotent: a second run skips what is already there. Without a display it shows the demo in the
# CLI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

npm --prefix ui run build --silent
cargo build --release --locked -p runlens-desktop -p runlens
bin="${CARGO_TARGET_DIR:-target}/release"

# The demo opens from a working copy outside the source tree: assets/demo plus its versioned data
# (a git repository with DVC, packed in assets/demo-data.tar.gz: a nested .git cannot live in
# ours). Made again when the assets are newer than the copy.
demo="${RUNLENS_DEMO_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/runlens/demo}"
stamp="$demo/.runlens-demo-copy"
if [ ! -f "$stamp" ] || [ -n "$(find assets/demo assets/demo-data.tar.gz -newer "$stamp" -print -quit)" ]; then
  echo "making the demo's working copy in $demo"
  rm -rf "$demo"
  mkdir -p "$demo"
  cp -R assets/demo/. "$demo/"
  tar xzf assets/demo-data.tar.gz -C "$demo"
  touch "$stamp"
fi

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "opening the demo ($demo) in the Runlens desktop app"
  exec "$bin/runlens-desktop" "$demo"
fi
echo "no display: showing the demo project ($demo) in the CLI instead"
show() {
  echo
  echo "\$ runlens $*"
  "$bin/runlens" "$@"
}
show index "$demo"
show runs "$demo" --sort -metrics.val_acc
show registry list "$demo"
show data ls "$demo"
show data diff "$demo" data/customers.csv@data-v1 data-v2 --key customer_id || true
bundles="$(mktemp -d)"
# A throwaway key: the demo signs with its own, not yours.
show --config-dir "$bundles/key" bundle "$demo" churn-gbm@champion -o "$bundles"
show bundle verify "$bundles/churn-gbm-2.tar"
tar tf "$bundles/churn-gbm-2.tar" | sed 's/^/  /'
