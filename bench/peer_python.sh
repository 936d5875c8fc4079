# Sourced by the benchmark scripts: sets PY to a Python with mlflow==3.17.2 for the peers:
# $RUNLENS_BENCH_PY if set (any python that imports mlflow 3.17.2), else
# $HOME/.cache/runlens-bench-venv (RUNLENS_BENCH_VENV), created here with pip on first use.
MLFLOW_VERSION="3.17.2"
if [[ -n "${RUNLENS_BENCH_PY:-}" ]]; then
  PY="$RUNLENS_BENCH_PY"
else
  VENV="${RUNLENS_BENCH_VENV:-$HOME/.cache/runlens-bench-venv}"
  PY="$VENV/bin/python"
  if ! "$PY" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
    BASE_PY="${PYTHON:-python3}"
    "$BASE_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is needed for mlflow 3 (set PYTHON=...)")'
    echo "creating $VENV with mlflow==$MLFLOW_VERSION (about a minute, ~850 MB)..." >&2
    "$BASE_PY" -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q "mlflow==$MLFLOW_VERSION"
  fi
fi
export RUNLENS_BENCH_PY="$PY"
"$PY" -c "import mlflow, sys; print('peer: mlflow', mlflow.__version__, 'in', sys.executable, file=sys.stderr)"
