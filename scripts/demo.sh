#!/usr/bin/env bash
# Sets up what is missing on a fresh Debian/Ubuntu machine, builds Runlens, and runs it on the demo
# project in assets/demo: indexes it, lists its runs, and shows the best one.
# Idempotent: a second run skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v git >/dev/null 2>&1 || need_apt+=(git)
if ((${#need_apt[@]})); then
  echo "installing system packages: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: no Rust toolchain (cargo) found. Install Rust 1.89 or newer (https://rustup.rs), then run this again." >&2
  exit 1
fi

cargo build --release --locked -p runlens
bin="${CARGO_TARGET_DIR:-target}/release/runlens"

echo
echo "\$ runlens index assets/demo"
"$bin" index assets/demo
echo
echo "\$ runlens runs assets/demo --sort -metrics.val_acc"
"$bin" runs assets/demo --sort -metrics.val_acc
