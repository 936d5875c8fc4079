#!/usr/bin/env python3
"""The MLflow peer for S3/S4: read a whole file store through MLflow's Python client.

Run with a Python that has mlflow==3.17.2 (bench/run.sh makes one). What is timed, after imports:

    client = MlflowClient(tracking_uri="file://<abs>/mlruns")
    experiment ids = every experiment (search_experiments, ViewType.ALL, paged)
    runs = search_runs(experiment_ids=ids, max_results=50000), paged with page_token
    for each run, for each key in run.data.metrics: get_metric_history(run_id, key)

Only the MLflow calls are inside the timed region (`api_seconds`); the bookkeeping this script
does on the returned points (counts, min/max/last for the cross-check) is timed apart
(`bookkeeping_seconds`), so it does not inflate the peer's time.

    python bench/mlflow_peer.py MLRUNS_DIR --out result.json [--series]

The JSON: api_seconds, search_seconds, history_seconds, pages, n_experiments, n_runs, n_series,
points, sum_steps, sum_values (math.fsum over finite values), dup_step_ts (points whose
(step, timestamp) repeats within a series), unordered_series (history not in ascending step order),
and with --series: series = {run_id: {key: [count, last, last_step, min, max, latest_api]}} where
last = value at the greatest (step, timestamp, file order) (the order Runlens uses) and
latest_api = MLflow's own run.data.metrics[key] (greatest (step, timestamp, value)).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

for k, v in {"MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
             "DO_NOT_TRACK": "true"}.items():
    os.environ[k] = v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mlruns")
    ap.add_argument("--out", required=True)
    ap.add_argument("--series", action="store_true", help="store per-series summaries in the JSON")
    ap.add_argument("--page-size", type=int, default=50000)
    a = ap.parse_args()

    t_imp = time.perf_counter()
    import warnings
    warnings.filterwarnings("ignore")
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import ViewType
    import_seconds = time.perf_counter() - t_imp

    uri = "file://" + os.path.abspath(a.mlruns)
    pc = time.perf_counter
    t0 = pc()
    client = MlflowClient(tracking_uri=uri)
    exp_ids, tok = [], None
    while True:
        page = client.search_experiments(view_type=ViewType.ALL, max_results=50000, page_token=tok)
        exp_ids += [e.experiment_id for e in page]
        tok = page.token
        if not tok:
            break
    runs, tok, pages = [], None, 0
    while True:
        page = client.search_runs(experiment_ids=exp_ids, max_results=a.page_size, page_token=tok)
        pages += 1
        runs += list(page)
        tok = page.token
        if not tok:
            break
    search_seconds = pc() - t0

    history_seconds = 0.0
    book0 = pc()
    points = sum_steps = dup = unordered = n_series = 0
    sums: list[float] = []
    series = {} if a.series else None
    for run in runs:
        rid = run.info.run_id
        latest = run.data.metrics
        per = {} if a.series else None
        for key in latest:
            t = pc()
            hist = client.get_metric_history(rid, key)
            history_seconds += pc() - t
            n_series += 1
            n = len(hist)
            points += n
            steps = [m.step for m in hist]
            vals = [m.value for m in hist]
            sum_steps += sum(steps)
            fin = [v for v in vals if math.isfinite(v)]
            sums.append(math.fsum(fin))
            if any(steps[j] > steps[j + 1] for j in range(n - 1)):
                unordered += 1
            st = {(m.step, m.timestamp) for m in hist}
            dup += n - len(st)
            if per is not None and n:
                # greatest (step, timestamp, file order)
                best = max(range(n), key=lambda j: (hist[j].step, hist[j].timestamp, j))
                per[key] = [n, vals[best], steps[best], min(fin) if fin else None,
                            max(fin) if fin else None, latest[key]]
        if per is not None:
            series[rid] = per
    bookkeeping_seconds = pc() - book0 - history_seconds
    api_seconds = search_seconds + history_seconds
    out = {
        "mlflow_version": mlflow.__version__,
        "tracking_uri": uri,
        "import_seconds": import_seconds,
        "api_seconds": api_seconds,
        "search_seconds": search_seconds,
        "history_seconds": history_seconds,
        "bookkeeping_seconds": bookkeeping_seconds,
        "pages": pages,
        "n_experiments": len(exp_ids),
        "n_runs": len(runs),
        "n_series": n_series,
        "points": points,
        "sum_steps": sum_steps,
        "sum_values": math.fsum(sums),
        "dup_step_ts": dup,
        "unordered_series": unordered,
        "run_order_first": [r.info.run_id for r in runs[:3]],
    }
    if series is not None:
        out["series"] = series
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(f"mlflow peer: {len(runs)} runs, {n_series} series, {points:,} points in "
          f"{api_seconds:.2f} s (search {search_seconds:.2f} s, history {history_seconds:.2f} s, "
          f"imports {import_seconds:.2f} s excluded)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
