#!/usr/bin/env bash
# S12, the model registry at 10,000 events: Runlens vs MLflow's registry (bench/s12.py --help).
#   bench/s12.sh [--events N] [--reps R] [--out results.json]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
source "$HERE/peer_python.sh"
(cd "$REPO" && cargo build --release -p runlens && cargo build --release -p runlens-core --example registry_bench)
cd "$REPO"
exec "$PY" "$HERE/s12.py" "$@"
