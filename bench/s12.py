#!/usr/bin/env python3
"""S12: the model registry at 10,000 events. Run through bench/s12.sh (it builds and finds the peer's Python).

Runlens: one model with N signed events (1 register per 100; alias moves, tags, approvals by three
people), written through the engine by `registry_bench` (crates/core/examples). Timed as whole
`runlens` processes, warm (the index's cache filled by an earlier call): `registry list`,
`registry history --at <middle>`, `registry verify` (every hash, parent, signature and pinned
file), and `registry list` with a fresh, empty data dir (a colleague's first look: every event
read, hashed and its signature checked). Also the engine's in-process figures (an open index, as
the app holds one).

MLflow 3.17.2 peer: the same sequence of N changes through MlflowClient on a SQLite registry
(versions, alias moves, model tags; approvals as version tags, since MLflow has none), then warm,
in-process: search_model_versions (every version of the model, as `registry list` shows them),
get_registered_model, get_model_version_by_alias. MLflow keeps no history, so `history --at` has
no peer. Python start-up and `import mlflow` are not counted for the peer.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out.append((time.perf_counter() - t) * 1e3)
        if r.returncode != 0:
            sys.exit(f"{' '.join(map(str, cmd))} failed: {r.stderr.decode()}")
    return out


def ours(args, bench_bin, runlens):
    base = Path(args.scratch) / "runlens"
    project, data = base / "project", base / "data"
    gen_file = base / "gen.json"
    events_dir = project / ".runlens/registry/big/events"
    if not gen_file.exists() or len(list(events_dir.glob("*.json"))) != args.events:
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        print(f"writing {args.events} signed events through the engine (once; cached in {base})...", file=sys.stderr)
        r = subprocess.run([bench_bin, project, data, str(args.events)], check=True, stdout=subprocess.PIPE)
        gen_file.write_bytes(r.stdout)
    gen = json.loads(gen_file.read_text())
    middle = (gen["first_at"] + gen["last_at"]) // 2
    rl = [runlens, "--data-dir", str(data), "--config-dir", str(base / "config")]
    timed(rl + ["registry", "list", str(project), "--format", "json"], 1)  # warm the cache
    res = {
        "write_s": gen["write_s"],
        "list_ms": timed(rl + ["registry", "list", str(project), "--format", "json"], args.reps),
        "at_ms": timed(rl + ["registry", "history", str(project), "big", "--at", str(middle), "--format", "json"], args.reps),
        "verify_ms": timed(rl + ["registry", "verify", str(project), "big"], max(1, args.reps // 2)),
        "inproc_list_ms": gen["list_ms"],
        "inproc_at_ms": gen["at_ms"],
    }
    first = []
    for i in range(max(1, args.reps // 2)):
        fresh = base / f"fresh-{i}"
        shutil.rmtree(fresh, ignore_errors=True)
        first += timed([runlens, "--data-dir", str(fresh), "registry", "list", str(project), "--format", "json"], 1)
        shutil.rmtree(fresh, ignore_errors=True)
    res["first_list_ms"] = first
    return res


PEER = r"""
import json, sys, time, statistics, os, warnings
warnings.filterwarnings("ignore")
import logging; logging.disable(logging.WARNING)
from mlflow import MlflowClient
db, n, reps, model_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
build = not os.path.exists(db)
uri = "sqlite:///" + db
c = MlflowClient(tracking_uri=uri, registry_uri=uri)
write_s = None
if build:
    t = time.perf_counter()
    c.create_registered_model("big")
    versions = 0
    for i in range(n):
        if i % 100 == 0:
            versions = int(c.create_model_version("big", source="file://" + model_file).version)
            continue
        v = 1 + (i * 7919) % versions
        k = i % 4
        if k == 0:
            c.set_registered_model_alias("big", ["champion", "challenger", "shadow"][i % 3], v)
        elif k == 1:
            c.set_registered_model_tag("big", f"k{i % 50}", str(i))
        elif k == 2 and i % 3 != 0:
            c.set_model_version_tag("big", str(v), f"approved_by_{['bob', 'carol'][i % 2]}", f"looked at run {i}")
        else:
            c.set_model_version_tag("big", str(v), "note", str(i))
    write_s = time.perf_counter() - t
def t(f):
    out = []
    for _ in range(reps):
        s = time.perf_counter(); f(); out.append((time.perf_counter() - s) * 1e3)
    return out
t(lambda: c.search_model_versions("name='big'"))
print(json.dumps({
    "write_s": write_s,
    "versions": len(c.search_model_versions("name='big'")),
    "search_ms": t(lambda: c.search_model_versions("name='big'")),
    "get_model_ms": t(lambda: c.get_registered_model("big")),
    "by_alias_ms": t(lambda: c.get_model_version_by_alias("big", "champion")),
}))
"""


def peer(args):
    base = Path(args.scratch) / "mlflow"
    base.mkdir(parents=True, exist_ok=True)
    db = base / f"registry-{args.events}.db"
    meta = base / f"write-{args.events}.json"
    if db.exists() and not meta.exists():
        db.unlink()  # an interrupted build
    if not db.exists():
        print(f"writing the same {args.events} changes through MlflowClient (once; cached in {base})...", file=sys.stderr)
    model_file = Path(args.scratch) / "runlens/project/model.bin"
    r = subprocess.run([args.peer_py, "-c", PEER, str(db), str(args.events), str(args.reps), str(model_file)],
                       check=True, stdout=subprocess.PIPE)
    res = json.loads(r.stdout)
    if res["write_s"] is not None:
        meta.write_text(json.dumps({"write_s": res["write_s"]}))
    res["write_s"] = json.loads(meta.read_text())["write_s"]
    return res


def med(v):
    return statistics.median(v) if isinstance(v, list) else v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--scratch", default=os.environ.get("RUNLENS_BENCH_SCRATCH", "/tmp/runlens-bench") + "/s12")
    ap.add_argument("--out")
    args = ap.parse_args()
    args.peer_py = os.environ.get("RUNLENS_BENCH_PY", sys.executable)
    runlens = os.environ.get("RUNLENS_BIN", str(REPO / "target/release/runlens"))
    bench_bin = os.environ.get("RUNLENS_REGISTRY_BENCH", str(REPO / "target/release/examples/registry_bench"))
    o = ours(args, bench_bin, runlens)
    p = peer(args)
    rows = [
        ("write all events", f"{o['write_s']:.1f} s (signed, one file each)", f"{p['write_s']:.1f} s"),
        ("list the model, warm", f"{med(o['list_ms']):.0f} ms (process)", f"{med(p['search_ms']):.0f} ms search_model_versions (in-process)"),
        ("list, engine in-process (the app)", f"{med(o['inproc_list_ms']):.1f} ms", f"{med(p['get_model_ms']):.1f} ms get_registered_model"),
        ("the model at a past moment", f"{med(o['at_ms']):.0f} ms history --at (process); {med(o['inproc_at_ms']):.1f} ms in-process", "no history kept"),
        ("one alias", "(in list)", f"{med(p['by_alias_ms']):.1f} ms get_model_version_by_alias"),
        ("verify every event and file", f"{med(o['verify_ms']):.0f} ms (process)", "no verification"),
        ("first list with an empty index", f"{med(o['first_list_ms']):.0f} ms (reads and checks all)", "-"),
    ]
    print(f"S12: one model, {args.events} registry events ({p['versions']} versions); medians of {args.reps}")
    w = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'':{w}}  {'Runlens':{w1}}  MLflow 3.17.2 (SQLite)")
    for a, b, c in rows:
        print(f"{a:{w}}  {b:{w1}}  {c}")
    if args.out:
        Path(args.out).write_text(json.dumps({"runlens": o, "mlflow": p}, indent=1))


if __name__ == "__main__":
    main()
