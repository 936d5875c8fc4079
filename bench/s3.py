#!/usr/bin/env python3
"""S3 / S4 benchmark: index an MLflow file store (mlruns/) with Runlens, side by side with MLflow's reader.

    python bench/s3.py [--shape deep|wide|custom] [--runs N --metrics M --steps K] [--reps R]
                       [--skip-peer] [--skip-runlens] [--migrate] [--runlens PATH] [--out results.json]

S3 cold:          `runlens --data-dir <fresh> index PROJECT` vs MLflow's reader (bench/mlflow_peer.py)
S4 no change:     `runlens index` again on the same data dir vs the MLflow read again (it has no index)
S4 1% appended:   1% of the metric files get --append-lines more points, then `runlens index` again
                  (on a copy of the data dir indexed from the pristine folder) vs the MLflow read again
Optional peer 2:  `mlflow migrate-filestore` into a fresh SQLite file (--migrate), S3 cold only.

Before a ratio counts both sides must report the same data: the point total from Runlens
(`runs --format json`, sum of metrics[*].count) must equal MLflow's (points returned by
get_metric_history) and the generator's; every series' count/last/last_step/min/max must agree, and
Runlens's `last` must equal MLflow's own latest value (run.data.metrics). Exit status 1 if they
disagree (or a command fails), 0 otherwise. Stdlib only; the peer runs in the Python given by
--peer-python / $RUNLENS_BENCH_PY (one with mlflow==3.17.2).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, HERE)
import gen_mlruns as G  # noqa: E402

SHAPES = {
    # name: (runs, metrics, steps)
    "deep": (1000, 20, 1000),     # 20M points
    "wide": (10000, 10, 100),     # 10M points
    "custom": (100, 10, 1000),    # 1M points: the quick default, fine on 2 cores
}
PEER_ENV = {"MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
RUN_ID_RE = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# process timing

class CommandFailed(Exception):
    pass


def timed(cmd: list[str], logdir: str, tag: str, env: dict | None = None, timeout: float | None = None,
          stdout_path: str | None = None) -> float:
    """Run cmd, return wall seconds from process start to exit (perf_counter around subprocess.run)."""
    out_p = stdout_path or os.path.join(logdir, f"{tag}.stdout")
    err_p = os.path.join(logdir, f"{tag}.stderr")
    with open(out_p, "wb") as out, open(err_p, "wb") as err:
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, timeout=timeout)
        secs = time.perf_counter() - t
    if r.returncode != 0:
        with open(err_p, "rb") as f:
            tail = f.read()[-3000:].decode(errors="replace")
        raise CommandFailed(f"{' '.join(cmd)} exited {r.returncode} ({tag}); stderr tail:\n{tail}")
    return secs


def stats(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs), "all": xs}


def warm_cache(root: str) -> tuple[int, float]:
    """Read every file once (untimed) so every side starts from the same warm page cache."""
    t = time.perf_counter()
    n = 0
    for d, _, files in os.walk(root):
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                while fh.read(1 << 20):
                    pass
            n += 1
    return n, time.perf_counter() - t


# ---------------------------------------------------------------------------------------------
# summaries of both sides: {run_id: {key: (count, last, last_step, min, max)}}

def runlens_summaries(runs_json) -> tuple[dict, list[str]]:
    problems: list[str] = []
    if isinstance(runs_json, dict):
        for k in ("runs", "items", "data"):
            if isinstance(runs_json.get(k), list):
                runs_json = runs_json[k]
                break
    if not isinstance(runs_json, list):
        return {}, [f"`runs --format json` did not give a JSON array (got {type(runs_json).__name__})"]
    out: dict = {}
    for run in runs_json:
        rid = None
        if isinstance(run, dict):
            # prefer fields named like an id, then any string field holding a 32-hex MLflow run id
            fields = sorted(run.items(), key=lambda kv: (0 if "id" in kv[0].lower() else 1, kv[0]))
            for k, v in fields:
                if isinstance(v, str):
                    m = RUN_ID_RE.search(v)
                    if m:
                        rid = m.group(0)
                        break
        if rid is None:
            problems.append(f"run without an MLflow run id: {str(run)[:200]}")
            continue
        ms = run.get("metrics") or {}
        if isinstance(ms, list):
            ms = {m.get("key") or m.get("name"): m for m in ms if isinstance(m, dict)}
        per = {}
        for key, m in ms.items():
            if not isinstance(m, dict):
                continue
            per[key] = (m.get("count"), m.get("last"), m.get("last_step"), m.get("min"), m.get("max"))
        if rid in out:
            problems.append(f"run {rid} listed twice by runlens")
        out[rid] = per
    return out, problems


def peer_summaries(peer: dict) -> tuple[dict, dict]:
    s, latest = {}, {}
    for rid, per in peer.get("series", {}).items():
        s[rid] = {k: tuple(v[:5]) for k, v in per.items()}
        latest[rid] = {k: v[5] for k, v in per.items()}
    return s, latest


def same_float(a, b) -> bool:
    if a is None or b is None:
        return a is b
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return a == b or (math.isnan(a) and math.isnan(b))


def compare(rl: dict, peer: dict, peer_latest: dict, expected_points: int, label: str) -> dict:
    """Cross-check Runlens against MLflow for one folder state."""
    rl_total = sum((v[0] or 0) for per in rl.values() for v in per.values())
    peer_total = sum(v[0] for per in peer.values() for v in per.values())
    missing_runs = sorted(set(peer) - set(rl))
    extra_runs = sorted(set(rl) - set(peer))
    n_series = mism = last_mism = 0
    examples: list[str] = []
    samples: list[dict] = []
    for rid in sorted(peer):
        for key, pv in sorted(peer[rid].items()):
            n_series += 1
            rv = rl.get(rid, {}).get(key)
            if rv is None:
                mism += 1
                if len(examples) < 5:
                    examples.append(f"{rid}/{key}: missing in runlens")
                continue
            ok = rv[0] == pv[0] and rv[2] == pv[2] and all(same_float(rv[i], pv[i]) for i in (1, 3, 4))
            if not ok:
                mism += 1
                if len(examples) < 5:
                    examples.append(f"{rid}/{key}: runlens (count,last,last_step,min,max)={rv} mlflow={pv}")
            if not same_float(rv[1], peer_latest[rid][key]):
                last_mism += 1
    # a small, deterministic sample of last values shown in the report
    for j, rid in enumerate(sorted(peer)[:: max(1, len(peer) // 3)][:3]):
        if not peer[rid]:
            continue
        keys = sorted(peer[rid])
        key = keys[(j * 7) % len(keys)]
        rv = rl.get(rid, {}).get(key)
        samples.append({"run": rid, "key": key, "runlens_last": rv[1] if rv else None,
                        "mlflow_latest": peer_latest[rid][key],
                        "equal": bool(rv) and same_float(rv[1], peer_latest[rid][key])})
    extra_series = sum(len(set(rl[r]) - set(peer.get(r, {}))) for r in rl)
    ok = (rl_total == peer_total == expected_points and not missing_runs and not extra_runs
          and mism == 0 and last_mism == 0 and extra_series == 0)
    return {
        "state": label, "ok": ok, "expected_points": expected_points,
        "runlens_points": rl_total, "mlflow_points": peer_total,
        "runs_runlens": len(rl), "runs_mlflow": len(peer),
        "missing_runs": missing_runs[:5], "n_missing_runs": len(missing_runs),
        "extra_runs": extra_runs[:5], "n_extra_runs": len(extra_runs), "extra_series": extra_series,
        "series_compared": n_series, "series_mismatched": mism, "last_vs_mlflow_latest_mismatched": last_mism,
        "examples": examples, "sample_last": samples,
    }


# ---------------------------------------------------------------------------------------------

def fmt_s(st: dict | None) -> str:
    if not st:
        return "—"
    s = f"{st['median']:.3f}" if st["median"] < 10 else f"{st['median']:.1f}"
    return s + (f" (n={st['n']})" if st["n"] > 1 else "")


def fmt_rate(points: int, st: dict | None) -> str:
    if not st or st["median"] <= 0:
        return "—"
    r = points / st["median"]
    return f"{r / 1e6:.2f}M" if r >= 1e6 else f"{r / 1e3:.0f}k"


def fmt_ratio(peer: dict | None, rl: dict | None) -> str:
    if not peer or not rl or rl["median"] <= 0:
        return "—"
    return f"{peer['median'] / rl['median']:.1f}x"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="custom",
                    help="deep = 1000x20x1000, wide = 10000x10x100, custom = 100x10x1000 unless "
                         "--runs/--metrics/--steps say otherwise (they override any shape)")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--metrics", type=int)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--experiments", type=int, default=1, help="runs are spread over this many experiments")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=3, help="repetitions of each Runlens measurement (default 3)")
    ap.add_argument("--peer-reps", type=int, default=None,
                    help="repetitions of each MLflow measurement (default: --reps up to 2M points, else 1)")
    ap.add_argument("--append-frac", type=float, default=0.01, help="share of metric files appended in S4")
    ap.add_argument("--append-lines", type=int, default=10, help="points appended to each of those files")
    ap.add_argument("--runlens", default=os.environ.get("RUNLENS_BIN", os.path.join(REPO, "target/release/runlens")),
                    help="runlens binary (env RUNLENS_BIN; default target/release/runlens in the repo)")
    ap.add_argument("--peer-python", default=os.environ.get("RUNLENS_BENCH_PY"),
                    help="Python with mlflow==3.17.2 (env RUNLENS_BENCH_PY; default: this Python)")
    ap.add_argument("--skip-peer", action="store_true", help="do not run MLflow (no ratios, no cross-check)")
    ap.add_argument("--skip-runlens", action="store_true", help="measure only the peer (e.g. before the CLI builds)")
    ap.add_argument("--migrate", action="store_true", help="also time `mlflow migrate-filestore` (S3 cold)")
    ap.add_argument("--scratch", default=os.environ.get("RUNLENS_BENCH_SCRATCH", "/tmp/runlens-bench"),
                    help="cache of generated folders and work dirs (default /tmp/runlens-bench)")
    ap.add_argument("--jobs", type=int, default=None, help="generator processes (default: all cores)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds before a single command is killed")
    ap.add_argument("--keep-work", action="store_true", help="keep data dirs and logs under SCRATCH/work-*")
    ap.add_argument("--out", help="write all measurements and checks as JSON here")
    a = ap.parse_args()

    runs, metrics, steps = SHAPES[a.shape]
    runs = a.runs if a.runs is not None else runs
    metrics = a.metrics if a.metrics is not None else metrics
    steps = a.steps if a.steps is not None else steps
    points = runs * metrics * steps
    shape_label = a.shape if (runs, metrics, steps) == SHAPES[a.shape] else "custom"
    peer_reps = a.peer_reps if a.peer_reps is not None else (a.reps if points <= 2_000_000 else 1)
    do_rl, do_peer = not a.skip_runlens, not a.skip_peer
    if not do_rl and not do_peer:
        ap.error("--skip-runlens and --skip-peer together leave nothing to measure")

    runlens = os.path.abspath(a.runlens) if do_rl else None
    if do_rl and not os.access(runlens, os.X_OK):
        ap.error(f"runlens binary not found at {runlens} (cargo build --release -p runlens, pass --runlens "
                 f"or RUNLENS_BIN, or --skip-runlens)")
    peer_py = a.peer_python or sys.executable
    peer_env = dict(os.environ, **PEER_ENV)
    if do_peer or a.migrate:
        r = subprocess.run([peer_py, "-c", "import mlflow; print(mlflow.__version__)"], capture_output=True,
                           text=True, env=peer_env)
        if r.returncode != 0:
            ap.error(f"{peer_py} cannot import mlflow (set RUNLENS_BENCH_PY or --peer-python, or use bench/run.sh)")
        mlflow_version = r.stdout.strip()
    else:
        mlflow_version = None

    os.makedirs(a.scratch, exist_ok=True)
    log(f"== S3/S4 {shape_label}: {runs} runs x {metrics} metrics x {steps} steps = {points:,} points "
        f"({a.experiments} experiment(s), seed {a.seed}); runlens reps {a.reps if do_rl else 0}, "
        f"peer reps {peer_reps if do_peer else 0}, migrate-filestore reps {peer_reps if a.migrate else 0}")
    # held until the measurements end (released by the OS if this process dies)
    lock = contextlib.ExitStack()
    lock.enter_context(G.store_lock(a.scratch, runs, metrics, steps, a.experiments, a.seed))
    man = G.ensure_store(a.scratch, runs, metrics, steps, a.experiments, a.seed, a.jobs)
    project, mlruns, cache = man["project"], man["mlruns"], os.path.dirname(man["project"])
    state_path = os.path.join(cache, "append-state.json")
    plan = G.plan(runs, metrics, steps, a.experiments, a.seed)
    log(f"folder: {mlruns} ({'cached' if man['cached'] else 'generated'}; generation took "
        f"{man['generate_seconds']:.1f} s, {man['metric_bytes'] / 1e6:.0f} MB of metric text)")
    nfiles, wsecs = warm_cache(mlruns)
    log(f"page cache warmed: {nfiles} files read in {wsecs:.1f} s (untimed)")

    work = tempfile.mkdtemp(prefix="work-", dir=a.scratch)
    logs = os.path.join(work, "logs")
    os.makedirs(logs)
    res: dict = {
        "scenario": "S3/S4 mlruns", "shape": shape_label, "runs": runs, "metrics": metrics, "steps": steps,
        "experiments": a.experiments, "seed": a.seed, "points": points, "folder": mlruns,
        "generator": {k: man[k] for k in ("generate_seconds", "metric_bytes", "files", "gen_version")},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
        "mlflow_version": mlflow_version, "runlens": runlens, "reps": a.reps, "peer_reps": peer_reps,
        "append": {"frac": a.append_frac, "lines": a.append_lines},
        "times": {}, "checks": [], "errors": [],
    }
    T = res["times"]
    runs_extra: list[str] = []
    if do_rl:
        # measure a private copy: the binary in target/ may be rebuilt while this runs
        src = runlens
        runlens = os.path.join(work, "bin", "runlens")
        os.makedirs(os.path.dirname(runlens))
        shutil.copy2(src, runlens)
        res["runlens_source"] = src
        res["runlens_mtime"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(os.path.getmtime(src)))
        h = subprocess.run([runlens, "runs", "--help"], capture_output=True, text=True).stdout
        if "--no-refresh" in h:
            runs_extra.append("--no-refresh")   # the check must see what `index` indexed, nothing more
        if "--limit" in h:
            runs_extra += ["--limit", str(10 * runs + 1000)]
        try:
            v = subprocess.run([runlens, "--version"], capture_output=True, text=True, timeout=30)
            res["runlens_version"] = (v.stdout or v.stderr).strip()
        except Exception as e:  # noqa: BLE001
            res["runlens_version"] = f"? ({e})"

    def rl_index(data_dir: str, tag: str) -> float:
        secs = timed([runlens, "--data-dir", data_dir, "index", project], logs, tag, timeout=a.timeout)
        # keep runlens's own summary line (e.g. "N runs ..., M new points, ...") for the record
        for ext in ("stdout", "stderr"):
            with open(os.path.join(logs, f"{tag}.{ext}"), "rb") as f:
                text = f.read()[-4000:].decode(errors="replace").strip()
            if text:
                res.setdefault("runlens_index_output", {})[tag] = text.splitlines()[-1][:300]
                break
        return secs

    def rl_runs(data_dir: str, tag: str) -> tuple[dict, float]:
        outp = os.path.join(logs, f"{tag}.json")
        secs = timed([runlens, "--data-dir", data_dir, "runs", project, "--format", "json"] + runs_extra, logs, tag,
                     timeout=a.timeout, stdout_path=outp)
        with open(outp) as f:
            data = json.load(f)
        s, probs = runlens_summaries(data)
        res["errors"].extend(f"{tag}: {p}" for p in probs[:5])
        return s, secs

    def peer_read(tag: str, series: bool) -> dict:
        outp = os.path.join(logs, f"{tag}.json")
        cmd = [peer_py, os.path.join(HERE, "mlflow_peer.py"), mlruns, "--out", outp] + (["--series"] if series else [])
        wall = timed(cmd, logs, tag, env=peer_env, timeout=a.timeout)
        with open(outp) as f:
            d = json.load(f)
        d["process_seconds"] = wall
        log(f"  {tag}: {d['api_seconds']:.2f} s in MLflow calls ({d['points']:,} points; process {wall:.1f} s)")
        return d

    exit_code = 0
    rl_pristine = rl_appended = peer_pristine = peer_appended = None
    appended_points = 0
    try:
        # ---------------- S3 cold (Runlens and MLflow reps interleaved: noise hits both sides alike)
        base = None
        xs_rl, peer_ds = [], []
        for i in range(max(a.reps if do_rl else 0, peer_reps if do_peer else 0)):
            if do_rl and i < a.reps:
                d = os.path.join(work, f"data-cold-{i}")
                os.makedirs(d)
                xs_rl.append(rl_index(d, f"runlens-cold-{i}"))
                log(f"  runlens cold #{i}: {xs_rl[-1]:.3f} s")
                if base is not None:
                    shutil.rmtree(base)
                base = d
            if do_peer and i < peer_reps:
                peer_ds.append(peer_read(f"mlflow-cold-{i}", series=(i == 0)))
        if do_rl:
            T["runlens_cold"] = stats(xs_rl)
            rl_pristine, qs = rl_runs(base, "runlens-runs-pristine")
            T["runlens_runs_query"] = stats([qs])
        if do_peer:
            peer_pristine = peer_ds[0]
            T["mlflow_cold"] = stats([d["api_seconds"] for d in peer_ds])
            T["mlflow_cold_process"] = stats([d["process_seconds"] for d in peer_ds])
            res["mlflow_read"] = {k: v for k, v in peer_ds[0].items() if k != "series"}
        if a.migrate:
            xs, counts = [], None
            for i in range(peer_reps):
                db = os.path.join(work, f"migrate-{i}.db")
                xs.append(timed([peer_py, "-m", "mlflow", "migrate-filestore", "--source", project,
                                 "--target", f"sqlite:///{db}", "--no-progress"], logs, f"migrate-{i}",
                                env=peer_env, timeout=a.timeout))
                log(f"  migrate-filestore #{i}: {xs[-1]:.2f} s")
                con = sqlite3.connect(db)
                counts = con.execute("SELECT COUNT(*), COALESCE(SUM(step), 0) FROM metrics").fetchone()
                con.close()
                os.remove(db)
            T["migrate_cold"] = stats(xs)
            exp_steps = runs * metrics * (steps * (steps - 1) // 2)
            ok = counts[0] == points and counts[1] == exp_steps
            res["checks"].append({"state": "migrate-filestore (pristine)", "ok": ok, "expected_points": points,
                                  "migrate_points": counts[0], "migrate_sum_steps": counts[1],
                                  "expected_sum_steps": exp_steps})

        # ---------------- S4 no change (interleaved too)
        xs_rl, peer_ds = [], []
        for i in range(max(a.reps if do_rl else 0, peer_reps if do_peer else 0)):
            if do_rl and i < a.reps:
                xs_rl.append(rl_index(base, f"runlens-nochange-{i}"))
                log(f"  runlens no-change rescan #{i}: {xs_rl[-1]:.3f} s")
            if do_peer and i < peer_reps:
                peer_ds.append(peer_read(f"mlflow-nochange-{i}", series=False))
        if do_rl:
            T["runlens_nochange"] = stats(xs_rl)
            rl_after, _ = rl_runs(base, "runlens-runs-after-nochange")
            if rl_after != rl_pristine:
                res["errors"].append("runlens `runs` output changed after a no-change rescan")
        if do_peer:
            T["mlflow_nochange"] = stats([d["api_seconds"] for d in peer_ds])
            if any(d["points"] != peer_pristine["points"] for d in peer_ds):
                res["errors"].append("MLflow point count changed between identical reads")

        # ---------------- S4 1% appended (on a copy of the pristine index; folder restored after each rep)
        snap = None
        if do_rl:
            snap = os.path.join(work, "data-snapshot")
            shutil.copytree(base, snap, symlinks=True)
        xs_rl, xs_peer = [], []
        for i in range(max(a.reps if do_rl else 0, peer_reps if do_peer else 0)):
            d = None
            if do_rl and i < a.reps:
                d = os.path.join(work, f"data-append-{i}")
                shutil.copytree(snap, d, symlinks=True)
            info = G.append_files(plan, mlruns, a.append_frac, a.append_lines, state_path)
            appended_points = info["points"]
            res["append"].update(info)
            try:
                if d is not None:
                    xs_rl.append(rl_index(d, f"runlens-append-{i}"))
                    log(f"  runlens 1%-appended rescan #{i}: {xs_rl[-1]:.3f} s ({info['files']} files +"
                        f"{a.append_lines} lines)")
                    if i == 0:
                        rl_appended, _ = rl_runs(d, "runlens-runs-appended")
                if do_peer and i < peer_reps:
                    pd = peer_read(f"mlflow-append-{i}", series=(i == 0))
                    xs_peer.append(pd["api_seconds"])
                    if i == 0:
                        peer_appended = pd
            finally:
                G.restore_appends(state_path)
            if d is not None:
                shutil.rmtree(d)
        T["runlens_append"] = stats(xs_rl)
        T["mlflow_append"] = stats(xs_peer)
    except (CommandFailed, subprocess.TimeoutExpired) as e:
        res["errors"].append(str(e))
        log(f"ERROR: {e}")
        exit_code = 2
    finally:
        G.restore_appends(state_path)
        if not a.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work dir kept: {work}")
        lock.close()

    # ---------------- checks
    exp_steps_sum = runs * metrics * (steps * (steps - 1) // 2)
    if peer_pristine is not None:
        ok = peer_pristine["points"] == points and peer_pristine["sum_steps"] == exp_steps_sum \
            and peer_pristine["n_runs"] == runs
        res["checks"].append({"state": "mlflow vs generator (pristine)", "ok": ok, "expected_points": points,
                              "mlflow_points": peer_pristine["points"], "expected_sum_steps": exp_steps_sum,
                              "mlflow_sum_steps": peer_pristine["sum_steps"], "mlflow_runs": peer_pristine["n_runs"],
                              "dup_step_ts": peer_pristine["dup_step_ts"]})
    if peer_appended is not None:
        app_steps = appended_points // max(1, a.append_lines) * sum(range(steps, steps + a.append_lines))
        ok = (peer_appended["points"] == points + appended_points
              and peer_appended["sum_steps"] == exp_steps_sum + app_steps)
        res["checks"].append({"state": "mlflow vs generator (1% appended)", "ok": ok,
                              "expected_points": points + appended_points, "mlflow_points": peer_appended["points"],
                              "expected_sum_steps": exp_steps_sum + app_steps,
                              "mlflow_sum_steps": peer_appended["sum_steps"]})
    if rl_pristine is not None and peer_pristine is not None:
        ps, pl = peer_summaries(peer_pristine)
        res["checks"].append(compare(rl_pristine, ps, pl, points, "runlens vs mlflow (pristine)"))
    elif rl_pristine is not None:
        tot = sum((v[0] or 0) for per in rl_pristine.values() for v in per.values())
        res["checks"].append({"state": "runlens vs generator (pristine)", "ok": tot == points,
                              "expected_points": points, "runlens_points": tot})
    if rl_appended is not None and peer_appended is not None:
        ps, pl = peer_summaries(peer_appended)
        res["checks"].append(compare(rl_appended, ps, pl, points + appended_points,
                                     "runlens vs mlflow (1% appended)"))
    elif rl_appended is not None:
        tot = sum((v[0] or 0) for per in rl_appended.values() for v in per.values())
        res["checks"].append({"state": "runlens vs generator (1% appended)", "ok": tot == points + appended_points,
                              "expected_points": points + appended_points, "runlens_points": tot})
    checks_ok = all(c["ok"] for c in res["checks"]) and not res["errors"]
    res["checks_ok"] = checks_ok

    # ---------------- report
    size = f"{runs:,} x {metrics} x {steps:,} = {points:,}"
    app = res["append"]
    lines = [
        f"### S3/S4 mlruns, {shape_label}: {size} points",
        "",
        (f"Runlens: `{res['runlens_source']}` ({res.get('runlens_version', '?')}, built "
         f"{res['runlens_mtime']}); " if do_rl else "Runlens: skipped; ")
        + f"MLflow {mlflow_version or 'skipped'}; "
        f"{os.cpu_count()} CPUs; medians over the reps shown (n=…); page cache warm. "
        f"Speedup = MLflow seconds / Runlens seconds, measured side by side in this run.",
        "",
        "| scenario | size (runs x metrics x steps = points) | Runlens s | Runlens points/s | MLflow reader s "
        "| MLflow points/s | speedup |",
        "|---|---|---|---|---|---|---|",
        f"| S3 cold | {size} | {fmt_s(T.get('runlens_cold'))} | {fmt_rate(points, T.get('runlens_cold'))} | "
        f"{fmt_s(T.get('mlflow_cold'))} | {fmt_rate(points, T.get('mlflow_cold'))} | "
        f"{fmt_ratio(T.get('mlflow_cold'), T.get('runlens_cold'))} |",
        f"| S4 rescan, nothing changed | {size} | {fmt_s(T.get('runlens_nochange'))} | — | "
        f"{fmt_s(T.get('mlflow_nochange'))} | {fmt_rate(points, T.get('mlflow_nochange'))} | "
        f"{fmt_ratio(T.get('mlflow_nochange'), T.get('runlens_nochange'))} |",
        f"| S4 rescan, {app.get('files', '?')} files (1%) +{a.append_lines} lines | "
        f"{size} + {appended_points:,} | {fmt_s(T.get('runlens_append'))} | — | "
        f"{fmt_s(T.get('mlflow_append'))} | {fmt_rate(points + appended_points, T.get('mlflow_append'))} | "
        f"{fmt_ratio(T.get('mlflow_append'), T.get('runlens_append'))} |",
    ]
    if T.get("migrate_cold"):
        lines.append(f"| S3 cold vs `mlflow migrate-filestore` (process) | {size} | {fmt_s(T.get('runlens_cold'))} | "
                     f"{fmt_rate(points, T.get('runlens_cold'))} | {fmt_s(T.get('migrate_cold'))} | "
                     f"{fmt_rate(points, T.get('migrate_cold'))} | "
                     f"{fmt_ratio(T.get('migrate_cold'), T.get('runlens_cold'))} |")
    lines.append("")
    if res.get("mlflow_read"):
        m = res["mlflow_read"]
        lines.append(f"MLflow reader, first cold read: search_runs {m['search_seconds']:.2f} s ({m['pages']} page(s)), "
                     f"get_metric_history {m['history_seconds']:.2f} s over {m['n_series']:,} series; imports "
                     f"({m['import_seconds']:.1f} s) excluded; process incl. imports "
                     f"{m['process_seconds']:.1f} s.")
    for tag, line in sorted(res.get("runlens_index_output", {}).items()):
        if tag.endswith("-0"):
            lines.append(f"Runlens `{tag[:-2].replace('runlens-', 'index, ')}` said: {line}")
    if T.get("runlens_runs_query"):
        lines.append(f"Runlens `runs --format json` (used for the checks, not in the table): "
                     f"{T['runlens_runs_query']['median']:.3f} s.")
    lines += ["", "Checks (both sides must report the same data before a ratio counts):", ""]
    for c in res["checks"]:
        yes = "yes" if c["ok"] else "**NO**"
        if "series_compared" in c:
            lines.append(f"- {c['state']}: point totals equal: {yes} (generator {c['expected_points']:,}, "
                         f"runlens {c['runlens_points']:,}, MLflow {c['mlflow_points']:,}); runs "
                         f"{c['runs_runlens']}/{c['runs_mlflow']}; series with different count/last/last_step/min/max: "
                         f"{c['series_mismatched']} of {c['series_compared']:,}; runlens last != MLflow latest: "
                         f"{c['last_vs_mlflow_latest_mismatched']}")
            for s in c["sample_last"]:
                lines.append(f"  - sample `{s['run'][:8]}…/{s['key']}`: runlens last {s['runlens_last']!r}, "
                             f"MLflow latest {s['mlflow_latest']!r}: {'equal' if s['equal'] else 'DIFFERENT'}")
            for ex in c["examples"]:
                lines.append(f"  - mismatch: {ex}")
        else:
            detail = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                               for k, v in c.items() if k not in ("state", "ok"))
            lines.append(f"- {c['state']}: {yes} ({detail})")
    if not res["checks"]:
        lines.append("- none (one side skipped)")
    for e in res["errors"]:
        lines.append(f"- ERROR: {e.splitlines()[0]}")
    if not do_rl:
        lines.append("- Runlens skipped (--skip-runlens): no ratios.")
    if not do_peer:
        lines.append("- MLflow skipped (--skip-peer): no ratios, no cross-check.")
    lines.append("")
    lines.append(f"Verdict: {'checks agree' if checks_ok else 'CHECKS DISAGREE: do not quote these ratios'}")
    report = "\n".join(lines)
    print(report)
    res["report_markdown"] = report
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=2, default=str)
        log(f"results written to {a.out}")
    if exit_code:
        return exit_code
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
