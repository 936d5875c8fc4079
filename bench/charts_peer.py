#!/usr/bin/env python3
"""The MLflow peer for S5/S6 (chart queries): MLflow's sampled history endpoint, in-process.

Run with a Python that has mlflow==3.17.2 (bench/run.sh makes one). The peer is the code path the
MLflow UI uses for charts: GET /ajax-api/2.0/mlflow/metrics/get-history-bulk-interval, i.e.
mlflow.server.handlers.get_metric_history_bulk_interval_handler -> get_metric_history_bulk_interval_impl
-> FileStore.get_metric_history_bulk_interval (AbstractStore's sampler) -> protobuf -> JSON. The
handler function itself is called inside a Flask test request context (no HTTP server, no socket),
with the query string the UI sends: run_ids (<= 100 per request, as the UI chunks them), metric_key,
max_results (the UI sends 320), and start_step/end_step when zoomed. The backend store is the file
store, set the way `mlflow server --backend-store-uri file://...` sets it (_MLFLOW_SERVER_FILE_STORE).

max_results above the handler's cap (2500) is refused by the handler's schema check, so the
keep-everything variant ("all": max_results = number of distinct steps) runs the handler's body
without that check (_get_request_message, get_metric_history_bulk_interval_impl, message_to_json).

Timed (ms): the handler call(s) of one query, all runs: from request parsing to the JSON response
body. Untimed: imports, the truth pass (every run's full history read once through the store, which
also warms the page cache), and parsing the response for the checks.

    python bench/charts_peer.py --project /scratch/bench/s5 --key train/loss --all-runs --scenario s5 --reps 5 --out s5.json
    python bench/charts_peer.py --project /scratch/bench/s6 --key train/loss --all-runs --scenario s6 --out s6.json

S5: one query over the full range per rep, for each --max-results (default 320,2500,all).
S6: query 0 = the full range, then --zooms (20) ranges, each half the previous width, the target
spike a third into the range (see zoom_ranges); --max-results default 320. Checks: see bench/README.md ("S5 / S6").
"""
from __future__ import annotations

import argparse
import bisect
import json
import os
import statistics
import sys
import time
from array import array

PEER_ENV = {"MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
UI_MAX_RESULTS = 320        # what the MLflow UI's charts send (useSampledMetricHistory, maxResults: 320)
RUNS_PER_REQUEST = 100      # handlers.MAX_RUNS_GET_METRIC_HISTORY_BULK; the UI chunks run ids by 100
ENDPOINT = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def zoom_ranges(lo: int, hi: int, target_step: int, zooms: int) -> list[list[int]]:
    """The S6 zoom sequence, integers only. W0 = hi - lo + 1 (the full range [lo, hi]); zoom k:
    W_k = max(1, (W_{k-1} + 1) // 2), start_k = target - W_k // 3 clamped to [lo, hi - W_k + 1],
    end_k = start_k + W_k - 1 (inclusive bounds, as MLflow's start_step/end_step).

    The spike sits a third into the range, not in the middle: MLflow's sampler takes step index
    int(i * W / 320), and i = 160 is exactly the middle, so a centred spike would be kept whenever
    W_k is odd, by construction rather than by chance. Successive ranges are nested."""
    out, w = [], hi - lo + 1
    for _ in range(zooms):
        w = max(1, (w + 1) // 2)
        s = min(max(target_step - w // 3, lo), hi - w + 1)
        out.append([s, s + w - 1])
    return out


class Series:
    """One run's full history (truth), read once through the store, untimed."""

    def __init__(self, hist):
        self.steps = array("q", (m.step for m in hist))
        self.values = array("d", (m.value for m in hist))
        self.sorted = all(self.steps[i] <= self.steps[i + 1] for i in range(len(self.steps) - 1))
        self.max = self.range_max(-2**63, 2**63 - 1)    # (value, step) of the run's maximum, or None

    def range_max(self, lo: int | None, hi: int | None) -> tuple[float, int] | None:
        """(max value, smallest step holding it) over points with lo <= step <= hi (None: all); NaN skipped."""
        if lo is None:
            return self.max
        if self.sorted:
            i0, i1 = bisect.bisect_left(self.steps, lo), bisect.bisect_right(self.steps, hi)
        else:
            i0, i1 = 0, len(self.steps)
        best = None
        for j in range(i0, i1):
            s = self.steps[j]
            if not (lo <= s <= hi):
                continue
            v = self.values[j]
            if v == v and (best is None or v > best[0] or (v == best[0] and s < best[1])):
                best = (v, s)
        return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", required=True, help="project folder holding mlruns/ (or the mlruns folder)")
    ap.add_argument("--key", default="train/loss", help="metric key (default train/loss)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--runs-json", help="JSON list of run ids, or an object with run_ids (a gen_mlruns "
                                       "--manifest, or a results.json of this script)")
    g.add_argument("--all-runs", action="store_true", help="every run of every experiment, sorted by run id")
    ap.add_argument("--scenario", choices=["s5", "s6"], required=True)
    ap.add_argument("--reps", type=int, default=None, help="repetitions per query (default: s5 5, s6 1)")
    ap.add_argument("--max-results", default=None,
                    help="comma list of max_results values, 'all' = every step (default: s5 320,2500,all; s6 320)")
    ap.add_argument("--zooms", type=int, default=20, help="S6: number of zooms after the full range (default 20)")
    ap.add_argument("--runs-per-request", type=int, default=RUNS_PER_REQUEST,
                    help="run ids per request (default 100, the handler's maximum, as the UI chunks them); "
                         "fewer = several sequential requests per query, summed")
    ap.add_argument("--out", help="write the JSON results here")
    a = ap.parse_args()
    reps = a.reps or (5 if a.scenario == "s5" else 1)
    mr_spec = a.max_results or ("320,2500,all" if a.scenario == "s5" else str(UI_MAX_RESULTS))

    mlruns = os.path.abspath(a.project)
    if os.path.isdir(os.path.join(mlruns, "mlruns")):
        mlruns = os.path.join(mlruns, "mlruns")
    uri = "file://" + mlruns
    os.environ.update(PEER_ENV)
    os.environ["_MLFLOW_SERVER_FILE_STORE"] = uri     # what `mlflow server --backend-store-uri` sets

    t_imp = time.perf_counter()
    import warnings
    warnings.filterwarnings("ignore")
    import mlflow
    from flask import Response
    from mlflow.entities import ViewType
    from mlflow.protos.service_pb2 import GetMetricHistoryBulkInterval
    from mlflow.server import app
    from mlflow.server import handlers as H
    from mlflow.utils.proto_json_utils import message_to_json
    import_seconds = time.perf_counter() - t_imp
    store = H._get_tracking_store()
    # time spent in the store (read + sample) within the handler; the rest is request parsing, protobuf, JSON
    store_secs = [0.0]
    _bulk = store.get_metric_history_bulk_interval

    def _timed_bulk(*args, **kw):
        t0 = time.perf_counter()
        try:
            return _bulk(*args, **kw)
        finally:
            store_secs[0] += time.perf_counter() - t0
    store.get_metric_history_bulk_interval = _timed_bulk
    assert H.MAX_RUNS_GET_METRIC_HISTORY_BULK == RUNS_PER_REQUEST
    handler_cap = H.MAX_RESULTS_PER_RUN

    # ---- run ids
    if a.all_runs:
        exps = store.search_experiments(view_type=ViewType.ALL, max_results=50000)
        run_ids, tok = [], None
        while True:
            page = store.search_runs([e.experiment_id for e in exps], None, ViewType.ALL, 50000, None, tok)
            run_ids += [r.info.run_id for r in page]
            tok = page.token
            if not tok:
                break
        run_ids.sort()
    else:
        with open(a.runs_json) as f:
            d = json.load(f)
        run_ids = list(d["run_ids"] if isinstance(d, dict) else d)
    if not run_ids:
        log("no runs")
        return 2

    # ---- truth (untimed): every run's full history, once
    t = time.perf_counter()
    truth = {rid: Series(store.get_metric_history(rid, a.key)) for rid in run_ids}
    truth_seconds = time.perf_counter() - t
    n_points = sum(len(s.steps) for s in truth.values())
    if n_points == 0:
        log(f"no points for key {a.key!r}")
        return 2
    max_step = max(max(s.steps) for s in truth.values() if len(s.steps))
    distinct_steps = len({st for s in truth.values() for st in s.steps})
    log(f"{len(run_ids)} runs, {n_points:,} points of {a.key!r}, steps 0..{max_step}; truth read in "
        f"{truth_seconds:.1f} s (imports {import_seconds:.1f} s); load {os.getloadavg()[0]:.2f}")

    def resolve(x: str) -> int:
        return distinct_steps if x.strip() == "all" else int(x)
    max_results_list = [(x.strip(), resolve(x)) for x in mr_spec.split(",")]

    def query(max_results: int, rng: list[int] | None) -> tuple[float, float, list[dict], int]:
        """One chart query for all runs, exactly as the UI's requests hit the server. Returns
        (ms, store ms, metrics of all responses, response bytes)."""
        secs, metrics, nbytes = 0.0, [], 0
        store_secs[0] = 0.0
        for i in range(0, len(run_ids), a.runs_per_request):
            qs = [("run_ids", r) for r in run_ids[i:i + a.runs_per_request]]
            qs += [("metric_key", a.key), ("max_results", str(max_results))]
            if rng is not None:
                qs += [("start_step", str(rng[0])), ("end_step", str(rng[1]))]
            with app.test_request_context(ENDPOINT, method="GET", query_string=qs):
                t0 = time.perf_counter()
                if max_results <= handler_cap:
                    resp = H.get_metric_history_bulk_interval_handler()
                else:  # the handler minus its 1..2500 schema check
                    msg = H._get_request_message(GetMetricHistoryBulkInterval())
                    resp = Response(mimetype="application/json")
                    resp.set_data(message_to_json(H.get_metric_history_bulk_interval_impl(msg)))
                body = resp.get_data()
                secs += time.perf_counter() - t0
            if resp.status_code != 200:
                raise RuntimeError(f"HTTP {resp.status_code}: {body[:300]!r}")
            nbytes += len(body)
            metrics += json.loads(body).get("metrics", [])
            del body, resp
        return secs * 1000.0, store_secs[0] * 1000.0, metrics, nbytes

    def check(metrics: list[dict], rng: list[int] | None, target: tuple[str, int] | None) -> dict:
        by_run: dict[str, set] = {rid: set() for rid in run_ids}
        for m in metrics:
            by_run[m["run_id"]].add((int(m.get("step", 0)), float(m["value"])))
        kept = 0
        for rid in run_ids:
            best = truth[rid].range_max(*(rng or (None, None)))
            if best is not None and (best[1], best[0]) in by_run[rid]:
                kept += 1
        out = {"points_per_run": [len(by_run[r]) for r in run_ids], "points_total": len(metrics),
               "runs_max_kept": kept}
        if target is None:   # S5: every run's maximum (its highest spike) is among the returned points
            out["spike_kept"] = kept == len(run_ids)
        else:                # S6: the target spike (inside every zoom range) is among the returned points
            rid, step = target
            out["spike_kept"] = (step, truth[rid].max[0]) in by_run[rid]
        return out

    res = {
        "scenario": a.scenario, "mlflow_version": mlflow.__version__, "tracking_uri": uri, "key": a.key,
        "endpoint": ENDPOINT, "handler": "mlflow.server.handlers.get_metric_history_bulk_interval_handler",
        "handler_max_results_cap": handler_cap, "ui_max_results": UI_MAX_RESULTS,
        "run_ids": run_ids, "n_runs": len(run_ids), "points": n_points, "max_step": max_step,
        "distinct_steps": distinct_steps, "reps": reps, "runs_per_request": a.runs_per_request, "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(), "import_seconds": import_seconds, "truth_seconds": truth_seconds,
        "run_max": [list(truth[r].max) if truth[r].max else None for r in run_ids],   # [value, step] per run
        "queries": [],
    }
    rows = []

    def record(q: dict) -> None:
        q["ms_median"] = statistics.median(q["ms"])
        q["store_ms_median"] = statistics.median(q["store_ms"])
        res["queries"].append(q)

    if a.scenario == "s5":
        qs = {lbl: {"label": lbl, "max_results": mr, "range": None, "ms": [], "store_ms": []}
              for lbl, mr in max_results_list}
        for rep in range(reps):      # configurations interleaved within each rep
            for lbl, mr in max_results_list:
                ms, sms, metrics, nbytes = query(mr, None)
                qs[lbl]["ms"].append(ms)
                qs[lbl]["store_ms"].append(sms)
                if rep == 0:
                    qs[lbl].update(check(metrics, None, None), response_bytes=nbytes)
                del metrics
                log(f"  rep {rep} max_results={lbl}: {ms:.0f} ms (store {sms:.0f} ms)")
        for q in qs.values():
            record(q)
            ppr = q["points_per_run"]
            rows.append(f"| S5 full range | {q['label']} ({q['max_results']}) | {q['ms_median']:.0f} (n={reps}) | "
                        f"{min(ppr)}..{max(ppr)} | {q['runs_max_kept']}/{len(run_ids)} | "
                        f"{'yes' if q['spike_kept'] else 'no'} |")
    else:
        # target spike: the greatest value over all runs (ties: smallest run id, then smallest step)
        negv, trid, tstep = min((-truth[r].max[0], r, truth[r].max[1]) for r in run_ids if truth[r].max)
        tv = -negv
        ranges = zoom_ranges(0, max_step, tstep, a.zooms)
        res.update(target_spike={"run_id": trid, "step": tstep, "value": tv}, full_range=[0, max_step],
                   zoom_ranges=ranges, zoom_rule="W0 = max_step + 1; W_k = max(1, (W_{k-1}+1)//2); "
                   "start_k = clamp(target_step - W_k//3, 0, max_step - W_k + 1); end_k = start_k + W_k - 1")
        for lbl, mr in max_results_list:
            for z, rng in enumerate([None] + ranges):
                q = {"label": lbl, "max_results": mr, "zoom": z, "range": rng, "ms": [], "store_ms": []}
                for rep in range(reps):
                    ms, sms, metrics, nbytes = query(mr, rng)
                    q["ms"].append(ms)
                    q["store_ms"].append(sms)
                    if rep == 0:
                        q.update(check(metrics, rng, (trid, tstep)), response_bytes=nbytes)
                    del metrics
                record(q)
                ppr = q["points_per_run"]
                log(f"  zoom {z:2d} {rng or 'full'}: {q['ms_median']:.0f} ms, {min(ppr)}..{max(ppr)} points/run, "
                    f"spike kept: {q['spike_kept']}")
                rows.append(f"| S6 zoom {z} | {lbl} | {rng or [0, max_step]} | {q['ms_median']:.0f} | "
                            f"{min(ppr)}..{max(ppr)} | {q['runs_max_kept']}/{len(run_ids)} | "
                            f"{'yes' if q['spike_kept'] else 'no'} |")
            zs = [q["ms_median"] for q in res["queries"] if q["label"] == lbl and q["zoom"] > 0]
            res.setdefault("zoom_ms_median", {})[lbl] = statistics.median(zs)
            res.setdefault("zoom_spike_kept", {})[lbl] = [q["spike_kept"] for q in res["queries"]
                                                          if q["label"] == lbl and q["zoom"] > 0]
    res["loadavg_end"] = os.getloadavg()

    if a.scenario == "s5":
        head = ["| query | max_results | ms per query (median) | points per run | runs whose max is returned | spike kept |",
                "|---|---|---|---|---|---|"]
    else:
        head = ["| query | max_results | [start_step, end_step] | ms | points per run | runs whose in-range max is returned "
                "| target spike kept |", "|---|---|---|---|---|---|---|"]
    print(f"### {a.scenario.upper()}: MLflow {mlflow.__version__} get-history-bulk-interval (in-process), "
          f"{len(run_ids)} runs x {n_points // len(run_ids):,} steps of {a.key}, {os.cpu_count()} CPUs")
    print("\n".join(head + rows))
    if a.scenario == "s6":
        for lbl, m in res["zoom_ms_median"].items():
            print(f"\nS6 {lbl}: median over zooms 1..{a.zooms}: {m:.0f} ms; target spike "
                  f"(run {trid[:8]}, step {tstep}, value {tv!r}) kept at "
                  f"{sum(res['zoom_spike_kept'][lbl])}/{a.zooms} zooms")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
        log(f"results written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
