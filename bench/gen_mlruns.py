#!/usr/bin/env python3
"""Deterministic generator of an MLflow file store (``mlruns/``) for the S3/S4 benchmarks.

Writes the layout and byte format of MLflow 3.17's ``FileStore`` directly (no MLflow import), so
10k runs take seconds instead of the hours the MLflow API would need:

    mlruns/.trash/
    mlruns/0/meta.yaml                               the Default experiment (FileStore creates it)
    mlruns/<exp_id>/meta.yaml
    mlruns/<exp_id>/<run_id>/meta.yaml
    mlruns/<exp_id>/<run_id>/params/<key>            value, no trailing newline
    mlruns/<exp_id>/<run_id>/tags/<key>              value, no trailing newline
    mlruns/<exp_id>/<run_id>/metrics/<key>           "<timestamp_ms> <repr(value)> <step>\n" per point
    mlruns/<exp_id>/<run_id>/artifacts/              empty

Metric keys may contain '/' (nested folders, e.g. metrics/train/loss). Every metric file has
distinct, increasing steps and timestamps, so "last" is the same under Runlens's rule
(greatest step, timestamp, file order) and MLflow's (greatest step, timestamp, value).

Same arguments -> same bytes (absolute paths in the artifact URIs depend on where the store is
written, as with MLflow itself). Stdlib only; usable as a module (``generate``, ``append_files``)
or from the command line:

    python bench/gen_mlruns.py OUT_PROJECT_DIR --runs 100 --metrics 10 --steps 1000 [--experiments 1] [--seed 0]
                               [--spikes K [--spike-height 50]]

--spikes K (charts benchmarks S5/S6; default 0 = off, output byte-identical to before): every series
gets K single-step outliers, value + spike_height, at K distinct steps drawn from 1 .. steps-2 (never
the first or last step, which MLflow's sampler keeps anyway) by spike_steps(); see bench/README.md.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import random
import shutil
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor

# Bump when the bytes written change, so cached folders from an older generator are not reused.
GEN_VERSION = 1

BASE_MS = 1_767_225_600_000        # 2026-01-01T00:00:00Z: fixed epoch, every timestamp derives from it
RUN_SPACING_MS = 60_000            # start_time of run i = BASE_MS + 3_600_000 + i * RUN_SPACING_MS
STEP_MS = 250                      # metric point k of a run at start + 1000 + k * STEP_MS + key_index
USER = "bench-user"

# Metric keys: the first ones look like a real training loop, several with '/' (nested folders).
_KEYS = [
    "train/loss", "val/loss", "train/acc", "val/acc", "lr", "grad_norm", "epoch",
    "train/perplexity", "val/perplexity", "sys/gpu_util", "sys/gpu_mem", "throughput",
    "train/loss_scale", "val/f1", "val/precision", "val/recall", "weight_norm",
    "loss/aux", "loss/kl", "time/step_ms",
]


def metric_keys(n: int) -> list[str]:
    keys = _KEYS[:n]
    keys += [f"extra/m{i:03d}" for i in range(len(keys), n)]
    return keys


# ---------------------------------------------------------------------------------------------
# Plan: ids and names, drawn in a fixed order from one seeded RNG.

def plan(runs: int, metrics: int, steps: int, experiments: int = 1, seed: int = 0,
         spikes: int = 0, spike_height: float = 50.0) -> dict:
    rng = random.Random(f"runlens-bench/mlruns/{seed}")
    exp_ids: list[str] = []
    while len(exp_ids) < experiments:
        e = str(rng.randrange(10**17, 10**18))   # MLflow 3 experiment ids are ~18 random digits
        if e not in exp_ids:
            exp_ids.append(e)
    run_ids: list[str] = []
    seen = set()
    while len(run_ids) < runs:
        r = uuid.UUID(int=rng.getrandbits(128), version=4).hex   # like MLflow's uuid4().hex
        if r not in seen:
            seen.add(r)
            run_ids.append(r)
    return {
        "runs": runs, "metrics": metrics, "steps": steps, "experiments": experiments, "seed": seed,
        "gen_version": GEN_VERSION,
        "experiment_ids": exp_ids,
        "run_ids": run_ids,
        "keys": metric_keys(metrics),
        "spikes": spikes, "spike_height": spike_height,
    }


def run_experiment(p: dict, i: int) -> str:
    return p["experiment_ids"][i % p["experiments"]]


def run_start(i: int) -> int:
    return BASE_MS + 3_600_000 + i * RUN_SPACING_MS


def series_rng(seed: int, run_idx: int, key_idx: int, part: int) -> random.Random:
    # int seeds: stable across Python versions (no hashing of str/bytes involved)
    return random.Random(((seed * 1_000_003 + run_idx) * 1_009 + key_idx) * 4 + part)


def _values(rng: random.Random, key: str, key_idx: int, s0: int, n: int, total_steps: int) -> list[float]:
    """n float values for steps s0 .. s0+n-1 of one series. Shapes differ per key."""
    r = rng.random
    if key == "epoch":
        per = max(1, total_steps // 10)
        return [float(s // per) for s in range(s0, s0 + n)]
    if key == "lr":
        peak = 10 ** (-2 - 2 * r())
        T = max(1, total_steps)
        return [peak * 0.5 * (1.0 + math.cos(math.pi * min(s, T) / T)) + 1e-7 for s in range(s0, s0 + n)]
    a = 0.5 + 2.0 * r()
    b = 3.0 / max(1, total_steps) * (0.5 + r())
    c = 0.05 * r()
    noise = 0.02 + 0.05 * r()
    if key_idx % 3 == 2:  # accuracy-like, rising
        return [1.0 - a / 3.0 * math.exp(-b * s) - c + noise * (r() - 0.5) for s in range(s0, s0 + n)]
    return [a * math.exp(-b * s) + c + noise * r() for s in range(s0, s0 + n)]


def spike_steps(p: dict, run_idx: int, key_idx: int) -> list[int]:
    """Sorted steps of the series' spikes (none unless p["spikes"]): distinct, in 1 .. steps-2."""
    k = min(p.get("spikes", 0), max(0, p["steps"] - 2))
    if k <= 0:
        return []
    return sorted(series_rng(p["seed"], run_idx, key_idx, 2).sample(range(1, p["steps"] - 1), k))


def metric_lines(p: dict, run_idx: int, key_idx: int, s0: int, n: int, part: int) -> str:
    key = p["keys"][key_idx]
    vals = _values(series_rng(p["seed"], run_idx, key_idx, part), key, key_idx, s0, n, p["steps"])
    for s in spike_steps(p, run_idx, key_idx) if part == 0 else ():
        if s0 <= s < s0 + n:
            vals[s - s0] += p["spike_height"]
    t0 = run_start(run_idx) + 1000 + key_idx
    # MLflow writes f"{metric.timestamp} {metric.value} {metric.step}\n"; str(float) == repr(float)
    return "".join([f"{t0 + s * STEP_MS} {v!r} {s}\n" for s, v in zip(range(s0, s0 + n), vals)])


def _yaml_str(s: str) -> str:
    # The names we generate are plain ASCII without YAML specials: written as plain scalars, as
    # yaml.safe_dump would. Strings that look like numbers (ids) are single-quoted, as safe_dump does.
    return s


def exp_meta_yaml(root_uri: str, exp_id: str, name: str, t_ms: int) -> str:
    return (
        f"artifact_location: {root_uri}/{exp_id}\n"
        f"creation_time: {t_ms}\n"
        f"effective_trace_archival_retention: null\n"
        f"experiment_id: '{exp_id}'\n"
        f"last_update_time: {t_ms}\n"
        f"lifecycle_stage: active\n"
        f"name: {_yaml_str(name)}\n"
        f"trace_location: null\n"
        f"workspace: default\n"
    )


def run_meta_yaml(root_uri: str, exp_id: str, run_id: str, run_name: str, start: int, end: int) -> str:
    return (
        f"artifact_uri: {root_uri}/{exp_id}/{run_id}/artifacts\n"
        f"end_time: {end}\n"
        f"entry_point_name: ''\n"
        f"experiment_id: '{exp_id}'\n"
        f"lifecycle_stage: active\n"
        f"run_id: {run_id}\n"
        f"run_name: {_yaml_str(run_name)}\n"
        f"source_name: ''\n"
        f"source_type: 4\n"
        f"source_version: ''\n"
        f"start_time: {start}\n"
        f"status: 3\n"
        f"tags: []\n"
        f"user_id: {USER}\n"
    )


def run_name(i: int) -> str:
    return f"run-{i:05d}"


def run_end(p: dict, i: int) -> int:
    return run_start(i) + 1000 + p["steps"] * STEP_MS + 1000


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def _write_runs(args) -> int:
    p, mlruns, root_uri, lo, hi = args
    keys = p["keys"]
    nested = sorted({k.rsplit("/", 1)[0] for k in keys if "/" in k})
    nbytes = 0
    for i in range(lo, hi):
        exp_id = run_experiment(p, i)
        rid = p["run_ids"][i]
        rdir = os.path.join(mlruns, exp_id, rid)
        os.makedirs(os.path.join(rdir, "artifacts"))
        for d in ("params", "tags", "params/model"):
            os.makedirs(os.path.join(rdir, d))
        for d in nested:
            os.makedirs(os.path.join(rdir, "metrics", d))
        if not nested:
            os.makedirs(os.path.join(rdir, "metrics"))
        name = run_name(i)
        _write(os.path.join(rdir, "meta.yaml"),
               run_meta_yaml(root_uri, exp_id, rid, name, run_start(i), run_end(p, i)))
        prng = random.Random(p["seed"] * 7_919 + i)
        params = {
            "lr": repr(round(10 ** (-2 - 2 * prng.random()), 6)),
            "batch_size": str(prng.choice([32, 64, 128, 256])),
            "optimizer": prng.choice(["adamw", "sgd", "lion"]),
            "seed": str(i),
            "model/depth": str(prng.choice([6, 12, 24])),
            "model/width": str(prng.choice([256, 512, 1024])),
        }
        for k, v in params.items():
            _write(os.path.join(rdir, "params", k), v)
        tags = {
            "mlflow.runName": name,
            "mlflow.user": USER,
            "mlflow.source.name": "train.py",
            "mlflow.source.type": "LOCAL",
        }
        for k, v in tags.items():
            _write(os.path.join(rdir, "tags", k), v)
        for ki, key in enumerate(keys):
            text = metric_lines(p, i, ki, 0, p["steps"], 0)
            nbytes += len(text)
            _write(os.path.join(rdir, "metrics", key), text)
    return nbytes


def generate(project_dir: str, runs: int, metrics: int, steps: int, experiments: int = 1,
             seed: int = 0, jobs: int | None = None, quiet: bool = False,
             spikes: int = 0, spike_height: float = 50.0) -> dict:
    """Write PROJECT_DIR/mlruns (PROJECT_DIR must not exist or be empty). Returns a manifest."""
    t0 = time.perf_counter()
    p = plan(runs, metrics, steps, experiments, seed, spikes, spike_height)
    project_dir = os.path.abspath(project_dir)
    mlruns = os.path.join(project_dir, "mlruns")
    root_uri = "file://" + mlruns
    os.makedirs(os.path.join(mlruns, ".trash"))
    os.makedirs(os.path.join(mlruns, "0"))
    _write(os.path.join(mlruns, "0", "meta.yaml"), exp_meta_yaml(root_uri, "0", "Default", BASE_MS))
    for n, e in enumerate(p["experiment_ids"]):
        os.makedirs(os.path.join(mlruns, e))
        name = "bench" if experiments == 1 else f"bench-{n:02d}"
        _write(os.path.join(mlruns, e, "meta.yaml"), exp_meta_yaml(root_uri, e, name, BASE_MS + 1000 + n))
    jobs = jobs or os.cpu_count() or 1
    chunk = max(1, min(200, -(-runs // (jobs * 4))))
    tasks = [(p, mlruns, root_uri, lo, min(runs, lo + chunk)) for lo in range(0, runs, chunk)]
    if jobs > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            nbytes = sum(ex.map(_write_runs, tasks))
    else:
        nbytes = sum(map(_write_runs, tasks))
    secs = time.perf_counter() - t0
    manifest = {
        "runs": runs, "metrics": metrics, "steps": steps, "experiments": experiments, "seed": seed,
        "gen_version": GEN_VERSION, "points": runs * metrics * steps, "metric_bytes": nbytes,
        "files": runs * (1 + 6 + 4 + metrics), "generate_seconds": round(secs, 3),
        "project": project_dir, "mlruns": mlruns,
    }
    if spikes:
        manifest.update(spikes=spikes, spike_height=spike_height, key=p["keys"][0],
                        run_ids=p["run_ids"],
                        spike_steps=[spike_steps(p, i, 0) for i in range(runs)])
    if not quiet:
        print(f"generated {mlruns}: {runs} runs x {metrics} metrics x {steps} steps = "
              f"{manifest['points']:,} points, {nbytes / 1e6:.1f} MB of metric text in {secs:.1f} s",
              file=sys.stderr)
    return manifest


# ---------------------------------------------------------------------------------------------
# S4: append to 1% of the metric files, and undo it (truncate back) so a cached folder stays pristine.

def append_targets(p: dict, frac: float) -> list[tuple[int, int]]:
    """(run_idx, key_idx) of the metric files that get appended; deterministic in the seed."""
    n_files = p["runs"] * p["metrics"]
    n = max(1, round(n_files * frac))
    picks = random.Random(f"runlens-bench/append/{p['seed']}").sample(range(n_files), n)
    return sorted((f // p["metrics"], f % p["metrics"]) for f in picks)


def metric_path(p: dict, mlruns: str, run_idx: int, key_idx: int) -> str:
    return os.path.join(mlruns, run_experiment(p, run_idx), p["run_ids"][run_idx], "metrics",
                        p["keys"][key_idx])


def append_files(p: dict, mlruns: str, frac: float, lines: int, state_path: str) -> dict:
    """Append `lines` points (steps continue after the last one) to `frac` of the metric files.

    Writes state_path (original sizes) *before* touching anything, so restore_appends() can undo
    even after a crash. Returns {"files": n, "points": n * lines}.
    """
    targets = append_targets(p, frac)
    paths = [metric_path(p, mlruns, r, k) for r, k in targets]
    state = {"mlruns": mlruns, "sizes": {path: os.path.getsize(path) for path in paths}}
    tmp = state_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, state_path)
    for (r, k), path in zip(targets, paths):
        text = metric_lines(p, r, k, p["steps"], lines, 1)
        with open(path, "a", encoding="utf-8", newline="") as f:
            f.write(text)
    return {"files": len(paths), "points": len(paths) * lines}


def restore_appends(state_path: str) -> int:
    """Undo append_files (truncate each file back to its recorded size). Returns files restored."""
    if not os.path.exists(state_path):
        return 0
    with open(state_path) as f:
        state = json.load(f)
    for path, size in state["sizes"].items():
        if os.path.exists(path) and os.path.getsize(path) != size:
            os.truncate(path, size)
    os.remove(state_path)
    return len(state["sizes"])


# ---------------------------------------------------------------------------------------------
# Cache: one folder per parameter set, reused across invocations.

def cache_dir(scratch: str, runs: int, metrics: int, steps: int, experiments: int = 1, seed: int = 0) -> str:
    return os.path.join(scratch, f"mlruns-r{runs}-m{metrics}-s{steps}-e{experiments}-seed{seed}-g{GEN_VERSION}")


@contextlib.contextmanager
def store_lock(scratch: str, runs: int, metrics: int, steps: int, experiments: int = 1, seed: int = 0):
    """Exclusive lock on one cached folder, held for a whole benchmark run.

    Two benchmark runs on the same folder would see each other's S4 appends (and a generation in
    progress): the second one waits here until the first is done.
    """
    os.makedirs(scratch, exist_ok=True)
    path = cache_dir(scratch, runs, metrics, steps, experiments, seed) + ".lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip()
            print(f"waiting for another benchmark using this folder ({holder or path})...", file=sys.stderr)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_store(scratch: str, runs: int, metrics: int, steps: int, experiments: int = 1, seed: int = 0,
                 jobs: int | None = None) -> dict:
    """Return the manifest of the cached store for these parameters, generating it if needed.

    Layout: <cache>/project/mlruns/..., <cache>/manifest.json (written last: its presence marks a
    complete folder), <cache>/append-state.json (only while an S4 append is applied; any leftover
    from an interrupted run is undone here).
    """
    d = cache_dir(scratch, runs, metrics, steps, experiments, seed)
    man_path = os.path.join(d, "manifest.json")
    state = os.path.join(d, "append-state.json")
    if os.path.exists(man_path):
        n = restore_appends(state)
        if n:
            print(f"restored {n} appended files left by an interrupted run in {d}", file=sys.stderr)
        with open(man_path) as f:
            m = json.load(f)
        m["cached"] = True
        return m
    if os.path.exists(d):
        shutil.rmtree(d)   # incomplete (interrupted) generation
    os.makedirs(d)
    m = generate(os.path.join(d, "project"), runs, metrics, steps, experiments, seed, jobs)
    m["cache_dir"] = d
    tmp = man_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(m, f, indent=2)
    os.replace(tmp, man_path)
    m["cached"] = False
    return m


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="project folder to create (mlruns/ goes inside); must not exist")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--metrics", type=int, default=10)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--experiments", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--force", action="store_true", help="delete OUT first if it exists")
    ap.add_argument("--spikes", type=int, default=0,
                    help="single-step outliers per series (value + --spike-height); default 0 = none")
    ap.add_argument("--spike-height", type=float, default=50.0)
    ap.add_argument("--manifest", help="also write the manifest JSON to this file")
    a = ap.parse_args(argv)
    if os.path.exists(a.out):
        if not a.force:
            ap.error(f"{a.out} exists (use --force)")
        shutil.rmtree(a.out)
    m = generate(a.out, a.runs, a.metrics, a.steps, a.experiments, a.seed, a.jobs,
                 spikes=a.spikes, spike_height=a.spike_height)
    if a.manifest:
        with open(a.manifest, "w") as f:
            json.dump(m, f, indent=2)
    if a.spikes and a.runs > 20:
        m = {k: v for k, v in m.items() if k not in ("run_ids", "spike_steps")}  # long lists: file only
    print(json.dumps(m, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
