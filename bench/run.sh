#!/usr/bin/env bash
# The benchmark command: S3/S4 (MLflow file store), Runlens vs MLflow's own reader.
#
#   bench/run.sh [s3.py args...]              e.g.  bench/run.sh --shape deep
#                                                   bench/run.sh --runs 100 --metrics 10 --steps 1000
#
# 1. Python with mlflow==3.17.2 for the peer: $RUNLENS_BENCH_PY if set (any python that imports
#    mlflow 3.17.2), else $HOME/.cache/runlens-bench-venv (created here with pip on first use).
# 2. cargo build --release -p runlens, from the repository root (skipped with --skip-runlens, or
#    when RUNLENS_BIN points at an existing binary; RUNLENS_BENCH_NO_BUILD=1 skips it too).
# 3. python bench/s3.py "$@" (with that Python; s3.py itself needs only the standard library).
#
# Generated folders are cached under /tmp/runlens-bench (RUNLENS_BENCH_SCRATCH or --scratch).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
skip_runlens=0
for arg in "$@"; do
  [[ "$arg" == "--skip-runlens" ]] && skip_runlens=1
done

# ---- 1. the peer's Python
source "$HERE/peer_python.sh"

# ---- 2. the release build
if [[ $skip_runlens -eq 0 && -z "${RUNLENS_BENCH_NO_BUILD:-}" ]]; then
  if [[ -n "${RUNLENS_BIN:-}" && -x "${RUNLENS_BIN}" ]]; then
    echo "using RUNLENS_BIN=$RUNLENS_BIN (not building)" >&2
  else
    (cd "$REPO" && cargo build --release -p runlens)
    export RUNLENS_BIN="${RUNLENS_BIN:-$REPO/target/release/runlens}"
  fi
fi

# ---- 3. the benchmark
cd "$REPO"
exec "$PY" "$HERE/s3.py" "$@"
