#!/usr/bin/env bash
# Runs every test: the engine's unit tests, the integration tests (real fixture files, the real
# binary), on a clean clone with nothing but a Rust toolchain and a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cc >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq build-essential
fi

cargo test --workspace --locked
