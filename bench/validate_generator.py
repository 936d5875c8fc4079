#!/usr/bin/env python3
"""Check gen_mlruns.py against the real MLflow (run with a Python that has mlflow==3.17.2).

1. Byte check: writes a small store twice, once with gen_mlruns and once through MLflow's own
   client API (create_experiment, create_run, log_batch, set_terminated) with the same names,
   times, params, tags and points; maps MLflow's random ids onto the generator's and compares
   every file byte for byte (only the experiments' wall-clock creation_time may differ).
2. Read-back check: reads a generated store with MlflowClient (search_runs + get_metric_history)
   and checks run, param, tag, metric and point counts and the latest values.
3. Checks that reading did not change a single byte of the generated store, and that append +
   restore leaves it byte-identical too.

    $VENV/bin/python bench/validate_generator.py [--runs 6 --metrics 12 --steps 7 --experiments 2]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile

for k, v in {"MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
             "DO_NOT_TRACK": "true"}.items():
    os.environ.setdefault(k, v)

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_mlruns as G  # noqa: E402


def tree(root: str) -> dict[str, bytes | None]:
    out = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        out[rel + "/"] = None
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                out[os.path.join(rel, f)] = fh.read()
    return out


def digest(root: str) -> str:
    h = hashlib.sha256()
    for k, v in sorted(tree(root).items()):
        h.update(k.encode() + b"\0" + (v or b"<dir>") + b"\0")
    for d, _, files in os.walk(root):
        for f in files:
            st = os.stat(os.path.join(d, f))
            h.update(f"{st.st_size}".encode())
    return h.hexdigest()


def write_with_mlflow(proj: str, p: dict) -> dict[str, str]:
    """Same content as gen_mlruns.generate(), through MLflow's API. Returns {mlflow_id: gen_id}."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    mlruns = os.path.join(proj, "mlruns")
    c = MlflowClient(tracking_uri="file://" + mlruns)
    idmap = {}
    exp_real = []
    for n, e in enumerate(p["experiment_ids"]):
        name = "bench" if p["experiments"] == 1 else f"bench-{n:02d}"
        real = c.create_experiment(name)
        idmap[real] = e
        exp_real.append(real)
    for i in range(p["runs"]):
        exp = exp_real[i % p["experiments"]]
        name = G.run_name(i)
        run = c.create_run(exp, start_time=G.run_start(i), run_name=name, tags={
            "mlflow.user": G.USER, "mlflow.source.name": "train.py", "mlflow.source.type": "LOCAL"})
        rid = run.info.run_id
        idmap[rid] = p["run_ids"][i]
        # params exactly as the generator draws them: read them from a generated twin afterwards
        params = _gen_params(p, i)
        metrics = []
        for ki, key in enumerate(p["keys"]):
            for line in G.metric_lines(p, i, ki, 0, p["steps"], 0).splitlines():
                ts, val, step = line.split(" ")
                metrics.append(Metric(key, float(val), int(ts), int(step)))
        c.log_batch(rid, params=[Param(k, v) for k, v in params.items()])
        for j in range(0, len(metrics), 1000):
            c.log_batch(rid, metrics=metrics[j:j + 1000])
        c.set_terminated(rid, "FINISHED", end_time=G.run_end(p, i))
    return idmap


def _gen_params(p: dict, i: int) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as t:
        q = dict(p, runs=i + 1)
        os.makedirs(os.path.join(t, p["experiment_ids"][i % p["experiments"]]))
        G._write_runs((q, t, "file:///x", i, i + 1))
        pdir = os.path.join(t, p["experiment_ids"][i % p["experiments"]], p["run_ids"][i], "params")
        out = {}
        for d, _, files in os.walk(pdir):
            for f in files:
                with open(os.path.join(d, f)) as fh:
                    out[os.path.relpath(os.path.join(d, f), pdir)] = fh.read()
        return out


def byte_check(a: argparse.Namespace, work: str) -> list[str]:
    p = G.plan(a.runs, a.metrics, a.steps, a.experiments, a.seed)
    real_proj, gen_proj = os.path.join(work, "real"), os.path.join(work, "gen")
    idmap = write_with_mlflow(real_proj, p)
    G.generate(gen_proj, a.runs, a.metrics, a.steps, a.experiments, a.seed, jobs=1, quiet=True)
    real_root = os.path.join(real_proj, "mlruns")
    gen_root = os.path.join(gen_proj, "mlruns")
    pat = re.compile("|".join(map(re.escape, sorted(idmap, key=len, reverse=True))))

    def norm(s: str) -> str:
        s = pat.sub(lambda m: idmap[m.group(0)], s)
        s = s.replace(real_root, "<ROOT>").replace(gen_root, "<ROOT>")
        return re.sub(r"^(creation_time|last_update_time): \d+$", r"\1: <T>", s, flags=re.M)

    rt = {norm(k): (None if v is None else norm(v.decode())) for k, v in tree(real_root).items()}
    gt = {k: (None if v is None else norm(v.decode())) for k, v in tree(gen_root).items()}
    problems = []
    for k in sorted(set(rt) | set(gt)):
        if k not in gt:
            problems.append(f"only MLflow wrote {k}")
        elif k not in rt:
            problems.append(f"only the generator wrote {k}")
        elif rt[k] != gt[k]:
            problems.append(f"differs: {k}\n  mlflow: {rt[k]!r}\n  gen:    {gt[k]!r}")
    print(f"byte check: {len(gt)} paths compared, {len(problems)} differences")
    return problems


def readback_check(a: argparse.Namespace, work: str) -> list[str]:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    proj = os.path.join(work, "readback")
    G.generate(proj, a.runs, a.metrics, a.steps, a.experiments, a.seed, quiet=True)
    p = G.plan(a.runs, a.metrics, a.steps, a.experiments, a.seed)
    mlruns = os.path.join(proj, "mlruns")
    before = digest(mlruns)
    c = MlflowClient(tracking_uri="file://" + mlruns)
    exps = c.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in exps]
    runs, tok = [], None
    while True:
        page = c.search_runs(experiment_ids=ids, max_results=max(1, a.runs // 3), page_token=tok)
        runs += list(page)
        tok = page.token
        if not tok:
            break
    problems = []
    if sorted(ids) != sorted(p["experiment_ids"] + ["0"]):
        problems.append(f"experiments {sorted(ids)}")
    if len(runs) != a.runs or {r.info.run_id for r in runs} != set(p["run_ids"]):
        problems.append(f"runs: {len(runs)} read, {a.runs} generated")
    points = 0
    for r in runs:
        i = p["run_ids"].index(r.info.run_id)
        if len(r.data.params) != 6 or r.data.params.get("model/depth") is None:
            problems.append(f"params of {r.info.run_id}: {r.data.params}")
        if r.data.tags.get("mlflow.runName") != G.run_name(i) or r.info.run_name != G.run_name(i):
            problems.append(f"run name of {r.info.run_id}")
        if r.info.start_time != G.run_start(i) or r.info.end_time != G.run_end(p, i) \
                or r.info.status != "FINISHED" or r.info.user_id != G.USER:
            problems.append(f"run info of {r.info.run_id}: {r.info}")
        if sorted(r.data.metrics) != sorted(p["keys"]):
            problems.append(f"metric keys of {r.info.run_id}: {sorted(r.data.metrics)}")
        for ki, key in enumerate(p["keys"]):
            h = c.get_metric_history(r.info.run_id, key)
            points += len(h)
            last = G.metric_lines(p, i, ki, 0, a.steps, 0).splitlines()[-1].split(" ")
            if h[-1].value != float(last[1]) or r.data.metrics[key] != float(last[1]) \
                    or h[-1].step != a.steps - 1:
                problems.append(f"last of {r.info.run_id}/{key}")
    if points != a.runs * a.metrics * a.steps:
        problems.append(f"points {points} != {a.runs * a.metrics * a.steps}")
    if digest(mlruns) != before:
        problems.append("reading with MlflowClient changed the store")
    # append + restore must leave the folder byte-identical
    state = os.path.join(work, "append-state.json")
    info = G.append_files(p, mlruns, 0.2, 10, state)
    r0 = runs[0]
    extra = 0
    for r in runs:
        for key in p["keys"]:
            extra += len(c.get_metric_history(r.info.run_id, key))
    if extra != points + info["points"]:
        problems.append(f"after append: {extra} points, expected {points + info['points']}")
    G.restore_appends(state)
    if digest(mlruns) != before:
        problems.append("append + restore did not give back the same bytes")
    print(f"read-back check: {len(runs)} runs, {points} points; append check: +{info['points']} "
          f"points in {info['files']} files; {len(problems)} problems ({r0.info.run_id} first)")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--metrics", type=int, default=12)
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--experiments", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import mlflow
    print(f"mlflow {mlflow.__version__}")
    with tempfile.TemporaryDirectory(prefix="runlens-bench-validate-") as work:
        problems = byte_check(a, work) + readback_check(a, work)
    for pr in problems[:40]:
        print("PROBLEM:", pr)
    print("OK" if not problems else f"FAILED ({len(problems)} problems)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
