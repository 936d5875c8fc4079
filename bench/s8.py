#!/usr/bin/env python3
"""S8 benchmark: ~1 GB of CSV and ~1 GB of JSONL training logs, indexed by Runlens vs parsed by pandas.

    python bench/s8.py --generate --out /scratch/bench/s8 [--gb 1.0] [--files 16] [--seed 8]
    python bench/s8.py --run --project /scratch/bench/s8 [--reps 3] [--runlens PATH] [--single] [--check-values]

Run it with a Python that has numpy and pandas (the peer); pyarrow is used when it is installed.

--generate writes two projects beside a manifest.json:
  csv/run-NN.csv      a generic training log: step, epoch, timestamp, then 12 float metrics. Train
                      rows every step (throughput only every 10th step), and after every 1000th step a
                      Lightning-style validation row holding only val_* (so every train row has empty
                      val cells and every val row has empty train cells). Floats are written as Python
                      writes them (repr: up to 17 significant digits for noisy values, short for
                      accuracies like 229/256); NaN is written `nan` (Python's csv module does that).
  jsonl/run-NN.jsonl  the same rows as json.dumps writes them: a key only when logged, bare NaN.
Each project gets ~GB * 10^9 bytes, so JSONL (longer lines) holds fewer rows of the same series:
every JSONL file is a prefix of the CSV file with the same number, row for row.
The manifest has, per file: bytes, rows, points (non-empty cells in every column except step and
timestamp; `epoch` counts: in a generic CSV/JSONL log it is a metric, as Runlens's README says) and
per-metric counts (points, NaN).

--run measures, per project, with the page cache warm for both sides (every file is read once,
untimed, before every measurement), repetitions interleaved:
  runlens   `runlens --data-dir <fresh> index PROJECT --quiet`, whole process (a private copy of the
            binary), under /usr/bin/time for peak RSS and CPU; then checked: the per-run, per-metric
            counts of `runlens runs PROJECT --format json --no-refresh` must equal the manifest.
  pandas    a fresh Python process per repetition that imports pandas and calls, for every file,
            pandas.read_csv(path) (engine "c", and engine "pyarrow" when pyarrow imports) or
            pandas.read_json(path, lines=True) (default engine; precise_float=True, because the default
            float parser is not exact; and engine "pyarrow"); each frame is dropped before the next file. Reported: the read calls alone (in-process perf_counter)
            and the whole process (start, import, reads, exit). Checked: df.count() per column (after
            the timer) must equal manifest points minus NaN points (pandas reads NaN as missing).
--check-values: every value of run-00 of each project, from Runlens's index (`runlens metric`) and
            from each pandas reader, compared bit for bit with Python's float() / json.loads (untimed).
--single:   Runlens on a project holding only run-00 of each kind (per-format throughput).
MB/s is file bytes / 10^6 / seconds. Ratio = Runlens MB/s / pandas MB/s (above 1: Runlens faster).
Results: PROJECT/results.json (every repetition) and a markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# ------------------------------------------------------------------------------------------------
# generation

TRAIN = ["train_loss", "train_acc", "train_f1", "loss_ce", "loss_reg", "lr", "grad_norm", "throughput",
         "gpu_mem_gb"]
VAL = ["val_loss", "val_acc", "val_f1"]
COLUMNS = ["step", "epoch", "timestamp"] + TRAIN + VAL
NOT_POINTS = {"step", "timestamp"}  # every other column is a metric to Runlens (epoch included)
STEPS_PER_EPOCH = 1000
VAL_EVERY = 1000        # a validation row after every 1000th step
THROUGHPUT_EVERY = 10   # throughput is logged every 10th step
CHUNK_STEPS = 5000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def gen_chunk(np, rng, file_no: int, s0: int, n: int, total_steps: int):
    """Rows for train steps s0..s0+n-1: (csv_text, jsonl_lines, counts), counts per metric: [points, nan]."""
    steps = np.arange(s0, s0 + n, dtype=np.int64)
    val_after = (steps + 1) % VAL_EVERY == 0
    nval = int(val_after.sum())
    nrows = n + nval
    cv = np.cumsum(val_after)
    train_pos = np.arange(n) + np.concatenate(([0], cv[:-1]))
    val_pos = train_pos[val_after] + 1

    t0 = 1.7e9 + file_no * 86400.0
    x = steps.astype(np.float64)
    # 0.31 s a step, and 5 s of validation after every VAL_EVERY steps (timestamps only grow)
    ts_train = t0 + x * 0.31 + (steps // VAL_EVERY) * 5.0 + rng.random(n) * 0.05
    ts_val = ts_train[val_after] + 4.0 + rng.random(nval) * 0.5
    epoch_train = steps // STEPS_PER_EPOCH
    epoch_val = epoch_train[val_after]

    decay = np.exp(-x / (total_steps * 0.25))
    loss = 0.25 + 2.1 * decay + rng.normal(0.0, 0.04, n) * (0.3 + decay)
    loss_reg = np.abs(0.011 + 0.002 * decay + rng.normal(0.0, 0.0005, n))
    loss_ce = loss - loss_reg
    acc = rng.binomial(256, np.clip(0.95 - 0.8 * decay, 0.01, 0.99)) / 256.0   # short decimals
    f1 = np.clip(acc - 0.02 + rng.normal(0.0, 0.01, n), 0.0, 1.0)
    lr_max = 3e-4 * (1 + file_no % 4)
    warm = np.minimum(1.0, (x + 1) / 2000.0)
    lr = lr_max * warm * 0.5 * (1 + np.cos(np.pi * x / total_steps))
    grad_norm = rng.lognormal(0.0, 0.5, n) * (0.5 + 3 * decay)
    gpu_mem = np.round(21.0 + rng.normal(0.0, 0.3, n), 3)
    throughput = np.round(1500.0 + rng.normal(0.0, 40.0, n), 1)
    # NaN, occasionally
    loss[rng.random(n) < 2e-5] = np.nan
    grad_norm[rng.random(n) < 1e-4] = np.nan
    vd = decay[val_after]
    val_loss = 0.3 + 2.0 * vd + rng.normal(0.0, 0.01, nval)
    val_acc = rng.binomial(10000, np.clip(0.93 - 0.8 * vd, 0.01, 0.99)) / 10000.0
    val_f1 = np.clip(val_acc - 0.015 + rng.normal(0.0, 0.005, nval), 0.0, 1.0)
    tp_mask = (steps % THROUGHPUT_EVERY) == 0

    # (name, values, positions): positions are row indices in this chunk
    cols = [
        ("step", np.concatenate((steps, steps[val_after])), np.concatenate((train_pos, val_pos)), False),
        ("epoch", np.concatenate((epoch_train, epoch_val)), np.concatenate((train_pos, val_pos)), False),
        ("timestamp", np.concatenate((ts_train, ts_val)), np.concatenate((train_pos, val_pos)), True),
        ("train_loss", loss, train_pos, True),
        ("train_acc", acc, train_pos, True),
        ("train_f1", f1, train_pos, True),
        ("loss_ce", loss_ce, train_pos, True),
        ("loss_reg", loss_reg, train_pos, True),
        ("lr", lr, train_pos, True),
        ("grad_norm", grad_norm, train_pos, True),
        ("throughput", throughput[tp_mask], train_pos[tp_mask], True),
        ("gpu_mem_gb", gpu_mem, train_pos, True),
        ("val_loss", val_loss, val_pos, True),
        ("val_acc", val_acc, val_pos, True),
        ("val_f1", val_f1, val_pos, True),
    ]
    assert [c[0] for c in cols] == COLUMNS
    csv_cols, json_cols, counts = [], [], {}
    for name, vals, pos, is_float in cols:
        texts = list(map(repr if is_float else str, vals.tolist()))
        nan = 0
        if is_float:
            nan = int(np.isnan(vals).sum())
        a = np.full(nrows, "", dtype=object)
        a[pos] = texts
        csv_cols.append(a.tolist())
        jt = texts if nan == 0 else [("NaN" if t == "nan" else t) for t in texts]
        prefix = f'"{name}": '
        b = np.full(nrows, "", dtype=object)
        b[pos] = [prefix + t for t in jt]
        json_cols.append(b.tolist())
        if name not in NOT_POINTS:
            counts[name] = [len(texts), nan]
    csv_text = "".join([",".join(r) + "\n" for r in zip(*csv_cols)])
    jsonl_lines = ["{" + ", ".join(filter(None, r)) + "}\n" for r in zip(*json_cols)]
    return csv_text, jsonl_lines, counts, nrows


def generate(args) -> None:
    import numpy as np

    out = os.path.abspath(args.out)
    target = int(args.gb * 1e9)
    per_file = target // args.files
    for sub in ("csv", "jsonl"):
        d = os.path.join(out, sub)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
    # Steps per file: an estimate (~215 bytes per CSV row); the loop stops at the byte target.
    est_steps = int(per_file / 215 * 1.1)
    manifest = {"generator": "bench/s8.py", "version": 1, "gb": args.gb, "files_per_project": args.files,
                "seed": args.seed, "columns": COLUMNS, "not_points": sorted(NOT_POINTS), "projects": {}}
    files = {"csv": [], "jsonl": []}
    t_start = time.perf_counter()
    for i in range(args.files):
        rng = np.random.default_rng([args.seed, i])
        name = f"run-{i:02d}"
        paths = {"csv": os.path.join(out, "csv", name + ".csv"), "jsonl": os.path.join(out, "jsonl", name + ".jsonl")}
        fh = {k: open(p, "w", encoding="ascii", newline="\n") for k, p in paths.items()}
        fh["csv"].write(",".join(COLUMNS) + "\n")
        size = {"csv": len(",".join(COLUMNS)) + 1, "jsonl": 0}
        rows = {"csv": 0, "jsonl": 0}
        cnt = {"csv": {m: [0, 0] for m in COLUMNS if m not in NOT_POINTS},
               "jsonl": {m: [0, 0] for m in COLUMNS if m not in NOT_POINTS}}
        open_ = {"csv": True, "jsonl": True}
        s0 = 0
        while any(open_.values()):
            csv_text, jsonl_lines, counts, nrows = gen_chunk(np, rng, i, s0, CHUNK_STEPS, est_steps)
            s0 += CHUNK_STEPS
            if open_["csv"]:
                fh["csv"].write(csv_text)
                size["csv"] += len(csv_text)
                rows["csv"] += nrows
                for m, (p, nn) in counts.items():
                    cnt["csv"][m][0] += p
                    cnt["csv"][m][1] += nn
                open_["csv"] = size["csv"] < per_file
            if open_["jsonl"]:
                text = "".join(jsonl_lines)
                fh["jsonl"].write(text)
                size["jsonl"] += len(text)
                rows["jsonl"] += nrows
                for m, (p, nn) in counts.items():
                    cnt["jsonl"][m][0] += p
                    cnt["jsonl"][m][1] += nn
                open_["jsonl"] = size["jsonl"] < per_file
        for k in ("csv", "jsonl"):
            fh[k].close()
            real = os.path.getsize(paths[k])
            assert real == size[k], (paths[k], real, size[k])
            files[k].append({
                "path": os.path.relpath(paths[k], os.path.join(out, k)),
                "bytes": real,
                "rows": rows[k],
                "points": sum(c[0] for c in cnt[k].values()),
                "nan_points": sum(c[1] for c in cnt[k].values()),
                "metrics": {m: {"points": c[0], "nan": c[1]} for m, c in cnt[k].items()},
            })
        log(f"  {name}: csv {size['csv'] / 1e6:.1f} MB {rows['csv']} rows, jsonl {size['jsonl'] / 1e6:.1f} MB "
            f"{rows['jsonl']} rows ({time.perf_counter() - t_start:.1f} s)")
    for k in ("csv", "jsonl"):
        fl = files[k]
        manifest["projects"][k] = {
            "files": fl,
            "bytes": sum(f["bytes"] for f in fl),
            "rows": sum(f["rows"] for f in fl),
            "points": sum(f["points"] for f in fl),
            "nan_points": sum(f["nan_points"] for f in fl),
        }
    manifest["generate_seconds"] = round(time.perf_counter() - t_start, 1)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    for k in ("csv", "jsonl"):
        p = manifest["projects"][k]
        log(f"{k}: {len(p['files'])} files, {p['bytes'] / 1e6:.1f} MB, {p['rows']} rows, {p['points']} points "
            f"({p['nan_points']} NaN)")
    log(f"generated in {manifest['generate_seconds']} s; manifest: {os.path.join(out, 'manifest.json')}")


# ------------------------------------------------------------------------------------------------
# measurement

PEER_CODE = r"""
import json, sys, time
t_start = time.perf_counter()
import pandas as pd
mode = sys.argv[1]
paths = sys.argv[2:]
if mode.endswith("pyarrow"):
    import pyarrow  # noqa: F401  (imported before the timer, like pandas)
t_import = time.perf_counter() - t_start
read = 0.0
per_file = []
counts = []
for p in paths:
    t = time.perf_counter()
    if mode == "read_csv-c":
        df = pd.read_csv(p)
    elif mode == "read_csv-pyarrow":
        df = pd.read_csv(p, engine="pyarrow")
    elif mode == "read_json":
        df = pd.read_json(p, lines=True)
    elif mode == "read_json-precise":
        df = pd.read_json(p, lines=True, precise_float=True)
    elif mode == "read_json-pyarrow":
        df = pd.read_json(p, lines=True, engine="pyarrow")
    else:
        raise SystemExit("unknown mode " + mode)
    dt = time.perf_counter() - t
    read += dt
    per_file.append(dt)
    counts.append({str(k): int(v) for k, v in df.count().items()})
    del df
print(json.dumps({"import_s": t_import, "read_s": read, "per_file_s": per_file, "counts": counts,
                  "pandas": pd.__version__}))
"""


class Failed(Exception):
    pass


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def warm(paths: list[str]) -> float:
    t = time.perf_counter()
    n = 0
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while True:
                b = f.read(16 << 20)
                if not b:
                    break
                n += len(b)
    return time.perf_counter() - t


def timed(cmd: list[str], logdir: str, tag: str) -> dict:
    """Whole-process wall (perf_counter) plus /usr/bin/time's peak RSS and CPU."""
    tf = os.path.join(logdir, f"{tag}.time")
    full = ["/usr/bin/time", "-o", tf, "-f", "%e %M %U %S"] + cmd
    la = loadavg()
    with open(os.path.join(logdir, f"{tag}.stdout"), "wb") as out, \
            open(os.path.join(logdir, f"{tag}.stderr"), "wb") as err:
        t = time.perf_counter()
        r = subprocess.run(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        secs = time.perf_counter() - t
    if r.returncode != 0:
        with open(os.path.join(logdir, f"{tag}.stderr"), "rb") as f:
            tail = f.read()[-2000:].decode(errors="replace")
        raise Failed(f"{' '.join(cmd[:3])} ... exited {r.returncode} ({tag}):\n{tail}")
    with open(tf) as f:
        last = f.read().strip().splitlines()[-1].split()
    with open(os.path.join(logdir, f"{tag}.stdout"), "rb") as f:
        stdout = f.read().decode(errors="replace")
    return {"wall_s": secs, "rss_mb": int(last[1]) / 1024.0, "cpu_s": float(last[2]) + float(last[3]),
            "loadavg_before": la, "stdout": stdout}


def check_runlens(binary: str, data: str, proj: str, pm: dict) -> dict:
    """Per-run, per-metric counts from `runs --format json` vs the manifest."""
    r = subprocess.run([binary, "--data-dir", data, "runs", proj, "--format", "json", "--no-refresh"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return {"ok": False, "problems": [f"runs --format json exited {r.returncode}: {r.stderr.strip()[:500]}"]}
    runs = {x["path"]: x for x in json.loads(r.stdout)}
    problems = []
    total = 0
    for f in pm["files"]:
        run = runs.pop(f["path"], None)
        if run is None:
            problems.append(f"{f['path']}: no run (expected {f['points']} points)")
            continue
        got_total = 0
        for m, want in f["metrics"].items():
            got = run["metrics"].get(m, {}).get("count", 0)
            got_total += got
            if got != want["points"]:
                problems.append(f"{f['path']}: {m}: expected {want['points']} points, got {got}")
        extra = set(run["metrics"]) - set(f["metrics"])
        for m in sorted(extra):
            problems.append(f"{f['path']}: unexpected metric {m} ({run['metrics'][m].get('count')} points)")
            got_total += run["metrics"][m].get("count", 0)
        if run.get("source") not in ("csv", "jsonl"):
            problems.append(f"{f['path']}: source {run.get('source')!r}")
        total += got_total
    for p in runs:
        problems.append(f"unexpected run {p}")
    return {"ok": not problems, "points": total, "expected": pm["points"], "problems": problems[:50]}


def check_pandas(counts: list[dict], pm: dict) -> list[str]:
    problems = []
    for f, c in zip(pm["files"], counts):
        for m, want in f["metrics"].items():
            exp = want["points"] - want["nan"]
            if c.get(m) != exp:
                problems.append(f"{f['path']}: {m}: expected {exp} non-NaN values, pandas has {c.get(m)}")
    return problems[:50]


def med(xs):
    return statistics.median(xs) if xs else None


def run(args) -> int:
    root = os.path.abspath(args.project)
    with open(os.path.join(root, "manifest.json")) as f:
        manifest = json.load(f)
    work = os.path.join(root, "work")
    logdir = os.path.join(work, "logs")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(logdir)
    # A private copy of the binary: the one in target/ may be rebuilt meanwhile.
    src_bin = os.path.abspath(args.runlens)
    binary = os.path.join(work, "runlens")
    shutil.copy2(src_bin, binary)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    import hashlib
    with open(binary, "rb") as f:
        bin_sha = hashlib.sha256(f.read()).hexdigest()
    bin_mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(src_bin)))
    git = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    try:
        import pyarrow  # noqa: F401
        have_pyarrow = True
    except ImportError:
        have_pyarrow = False
    peers = {"csv": ["read_csv-c"] + (["read_csv-pyarrow"] if have_pyarrow else []),
             "jsonl": ["read_json", "read_json-precise"] + (["read_json-pyarrow"] if have_pyarrow else [])}
    only = set(args.only.split(",")) if args.only else None
    results = {
        "scenario": "S8", "manifest": os.path.join(root, "manifest.json"), "runlens_binary": src_bin,
        "runlens_version": version, "runlens_sha256": bin_sha, "runlens_mtime_utc": bin_mtime, "git_head": git, "python": sys.version.split()[0], "pyarrow": have_pyarrow,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "nice": os.nice(0)},
        "page_cache": "warm on both sides: every file of the project read once (untimed) before every measurement",
        "reps": args.reps, "projects": {},
    }
    for proj in ("csv", "jsonl"):
        pm = manifest["projects"][proj]
        pdir = os.path.join(root, proj)
        paths = [os.path.join(pdir, f["path"]) for f in pm["files"]]
        for f, p in zip(pm["files"], paths):
            if os.path.getsize(p) != f["bytes"]:
                raise Failed(f"{p}: {os.path.getsize(p)} bytes, the manifest says {f['bytes']}: regenerate")
        results["projects"][proj] = {"bytes": pm["bytes"], "files": len(paths), "rows": pm["rows"],
                                     "points": pm["points"], "tools": {}}
    failures = 0
    for rep in range(1, args.reps + 1):
        for proj in ("csv", "jsonl"):
            pm = manifest["projects"][proj]
            pdir = os.path.join(root, proj)
            paths = [os.path.join(pdir, f["path"]) for f in pm["files"]]
            tools = results["projects"][proj]["tools"]
            for tool in ["runlens"] + peers[proj]:
                if only and tool not in only:
                    continue
                wsec = warm(paths)
                tag = f"{proj}-{tool}-{rep}"
                if tool == "runlens":
                    data = os.path.join(work, f"data-{proj}")
                    shutil.rmtree(data, ignore_errors=True)
                    m = timed([binary, "--data-dir", data, "index", pdir, "--quiet"], logdir, tag)
                    m["summary"] = m.pop("stdout").strip()
                    m["index_bytes"] = sum(os.path.getsize(os.path.join(d, x))
                                           for d, _, xs in os.walk(data) for x in xs)
                    chk = check_runlens(binary, data, pdir, pm)
                    m["check"] = chk
                    if not chk["ok"]:
                        failures += 1
                        log(f"  CHECK FAILED {tag}: " + "; ".join(chk["problems"][:5]))
                else:
                    m = timed([sys.executable, "-c", PEER_CODE, tool] + paths, logdir, tag)
                    out = json.loads(m.pop("stdout"))
                    m.update({k: out[k] for k in ("import_s", "read_s", "per_file_s", "pandas")})
                    probs = check_pandas(out["counts"], pm)
                    m["check"] = {"ok": not probs, "problems": probs}
                    if probs:
                        failures += 1
                        log(f"  CHECK FAILED {tag}: " + "; ".join(probs[:5]))
                m["warm_s"] = wsec
                tools.setdefault(tool, []).append(m)
                extra = f", read {m['read_s']:.2f} s" if "read_s" in m else f", {m['summary']}"
                log(f"rep {rep} {proj:5s} {tool:18s} {m['wall_s']:7.2f} s{extra}, {m['rss_mb']:.0f} MB RSS, "
                    f"cpu {m['cpu_s']:.1f} s, load {m['loadavg_before']}")
    if args.check_values:
        results["value_check"] = value_check(binary, root, manifest, work, peers)
        failures += sum(1 for v in results["value_check"].values() if v["tool"] == "runlens" and v["differing"])
    if args.single:
        results["single_file"] = single(binary, root, manifest, work, logdir, args.reps)
    summarize(results)
    out_path = os.path.join(root, "results.json")
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)
    print(table(results))
    log(f"results: {out_path}")
    return 1 if failures else 0


def value_check(binary, root, manifest, work, peers) -> dict:
    """Every value of the first file of each project, bit for bit, against Python's own parse
    (csv module + float(), json.loads): from Runlens's index (`runlens metric --format json`, each
    metric) and from each pandas reader. Untimed; run after the measurements."""
    import csv
    import math

    import numpy as np
    import pandas as pd

    def nan_eq(a, b):
        return a == b or (math.isnan(a) and math.isnan(b))

    out = {}
    for proj in ("csv", "jsonl"):
        f = manifest["projects"][proj]["files"][0]
        path = os.path.join(root, proj, f["path"])
        ref: dict[str, list[float]] = {}
        with open(path, newline="") as fh:
            if proj == "csv":
                rd = csv.reader(fh)
                hdr = next(rd)
                ref = {h: [] for h in hdr}
                for row in rd:
                    for h, c in zip(hdr, row):
                        if c != "":
                            ref[h].append(float(c))
            else:
                for line in fh:
                    for k, v in json.loads(line).items():
                        ref.setdefault(k, []).append(float(v))
        metrics = [m for m in ref if m not in NOT_POINTS]
        n = sum(len(ref[m]) for m in metrics)
        bad, examples = 0, []
        for m in metrics:
            r = subprocess.run([binary, "--data-dir", os.path.join(work, f"data-{proj}"), "metric",
                                os.path.join(root, proj), f["path"], m, "--format", "json", "--no-refresh"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                bad += len(ref[m])
                examples.append(f"{m}: metric exited {r.returncode}: {r.stderr.strip()[:200]}")
                continue
            got = [float(v) for v in json.loads(r.stdout)["value"]]  # "NaN"/"Infinity" parse as floats
            if len(got) != len(ref[m]):
                bad += len(ref[m])
                examples.append(f"{m}: {len(got)} values, expected {len(ref[m])}")
                continue
            for i, (a, b) in enumerate(zip(got, ref[m])):
                if not nan_eq(a, b):
                    bad += 1
                    if len(examples) < 5:
                        examples.append(f"{m}[{i}]: {a!r} != {b!r}")
        out[f"{proj}/runlens"] = {"tool": "runlens", "file": f["path"], "values": n, "differing": bad,
                                  "examples": examples}
        log(f"values {proj} runlens: {bad} of {n} differ from Python's parse")
        for tool in peers[proj]:
            if tool == "read_csv-c":
                df = pd.read_csv(path)
            elif tool == "read_csv-pyarrow":
                df = pd.read_csv(path, engine="pyarrow")
            elif tool == "read_json":
                df = pd.read_json(path, lines=True)
            elif tool == "read_json-precise":
                df = pd.read_json(path, lines=True, precise_float=True)
            else:
                df = pd.read_json(path, lines=True, engine="pyarrow")
            bad, examples = 0, []
            for m in metrics:
                want = np.array([x for x in ref[m] if not math.isnan(x)])
                got = df[m].dropna().to_numpy(dtype=np.float64)
                if len(got) != len(want):
                    bad += len(want)
                    examples.append(f"{m}: {len(got)} non-NaN values, expected {len(want)}")
                    continue
                diff = np.nonzero(got != want)[0]
                bad += len(diff)
                for i in diff[: max(0, 3 - len(examples))]:
                    examples.append(f"{m}: {got[i]!r} != {want[i]!r}")
            out[f"{proj}/{tool}"] = {"tool": tool, "file": f["path"], "values": n, "differing": bad,
                                     "examples": examples}
            log(f"values {proj} {tool}: {bad} of {n} differ from Python's parse")
            del df
    return out


def single(binary, root, manifest, work, logdir, reps) -> dict:
    """Runlens on one file of each kind (a project holding only a hard link to run-00)."""
    out = {}
    for proj in ("csv", "jsonl"):
        f = manifest["projects"][proj]["files"][0]
        d = os.path.join(work, f"single-{proj}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        dst = os.path.join(d, f["path"])
        os.link(os.path.join(root, proj, f["path"]), dst)
        walls = []
        for rep in range(1, reps + 1):
            warm([dst])
            data = os.path.join(work, f"data-single-{proj}")
            shutil.rmtree(data, ignore_errors=True)
            m = timed([binary, "--data-dir", data, "index", d, "--quiet"], logdir, f"single-{proj}-{rep}")
            walls.append(m)
        w = med([m["wall_s"] for m in walls])
        out[proj] = {"file": f["path"], "bytes": f["bytes"], "points": f["points"], "reps": walls,
                     "wall_s_median": w, "mb_s": f["bytes"] / 1e6 / w,
                     "points_per_s": f["points"] / w, "rss_mb_median": med([m["rss_mb"] for m in walls]),
                     "cpu_s_median": med([m["cpu_s"] for m in walls])}
        log(f"single {proj}: {f['bytes'] / 1e6:.1f} MB in {w:.2f} s = {out[proj]['mb_s']:.1f} MB/s")
    return out


def summarize(results: dict) -> None:
    for proj, p in results["projects"].items():
        mb = p["bytes"] / 1e6
        summ = {}
        for tool, reps in p["tools"].items():
            s = {"n": len(reps), "wall_s_median": med([r["wall_s"] for r in reps]),
                 "wall_s_all": [round(r["wall_s"], 3) for r in reps],
                 "rss_mb_median": med([r["rss_mb"] for r in reps]),
                 "cpu_s_median": med([r["cpu_s"] for r in reps]),
                 "loadavg_before": [r["loadavg_before"] for r in reps],
                 "checks_ok": all(r["check"]["ok"] for r in reps)}
            if "read_s" in reps[0]:
                s["read_s_median"] = med([r["read_s"] for r in reps])
                s["read_s_all"] = [round(r["read_s"], 3) for r in reps]
                s["import_s_median"] = med([r["import_s"] for r in reps])
                s["mb_s_read"] = mb / s["read_s_median"]
            s["mb_s_process"] = mb / s["wall_s_median"]
            if tool == "runlens":
                s["points_per_s"] = p["points"] / s["wall_s_median"]
                s["index_mb"] = reps[-1]["index_bytes"] / 1e6
            summ[tool] = s
        rl = summ.get("runlens")
        if rl:
            for tool, s in summ.items():
                if tool != "runlens":
                    s["ratio_vs_read"] = rl["mb_s_process"] / s["mb_s_read"]
                    s["ratio_vs_process"] = rl["mb_s_process"] / s["mb_s_process"]
        p["summary"] = summ


def table(results: dict) -> str:
    lines = ["| project | tool | n | seconds (median) | MB/s | peak RSS MB | CPU s | check | Runlens ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for proj, p in results["projects"].items():
        for tool, s in p["summary"].items():
            if tool == "runlens":
                secs = f"{s['wall_s_median']:.2f} (process)"
                mbs = f"{s['mb_s_process']:.1f}"
                ratio = "1"
            else:
                secs = f"{s['read_s_median']:.2f} read / {s['wall_s_median']:.2f} process"
                mbs = f"{s['mb_s_read']:.1f} / {s['mb_s_process']:.1f}"
                ratio = (f"{s['ratio_vs_read']:.2f}x / {s['ratio_vs_process']:.2f}x"
                         if "ratio_vs_read" in s else "-")
            lines.append(f"| {proj} ({p['bytes'] / 1e6:.0f} MB, {p['points'] / 1e6:.1f}M points) | {tool} | {s['n']} | "
                         f"{secs} | {mbs} | {s['rss_mb_median']:.0f} | {s['cpu_s_median']:.1f} | "
                         f"{'ok' if s['checks_ok'] else 'FAILED'} | {ratio} |")
    if "value_check" in results:
        lines.append("")
        lines.append("| values of run-00 vs Python's float()/json.loads | values | differing (not bit-identical) |")
        lines.append("|---|---|---|")
        for k, v in results["value_check"].items():
            lines.append(f"| {k} | {v['values']} | {v['differing']} |")
    if "single_file" in results:
        lines.append("")
        lines.append("| Runlens, one file | MB | points | seconds | MB/s | points/s | peak RSS MB | CPU s |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for proj, s in results["single_file"].items():
            lines.append(f"| {proj}/{s['file']} | {s['bytes'] / 1e6:.1f} | {s['points']} | {s['wall_s_median']:.2f} | "
                         f"{s['mb_s']:.1f} | {s['points_per_s'] / 1e6:.2f}M | {s['rss_mb_median']:.0f} | "
                         f"{s['cpu_s_median']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generate", action="store_true")
    ap.add_argument("--run", action="store_true")
    ap.add_argument("--out", default="/scratch/bench/s8", help="where --generate writes")
    ap.add_argument("--project", default="/scratch/bench/s8", help="what --run reads (a --generate --out)")
    ap.add_argument("--gb", type=float, default=1.0, help="bytes per project, in 10^9 (default 1.0)")
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--runlens", default=os.path.join(REPO, "target", "release", "runlens"))
    ap.add_argument("--single", action="store_true", help="also time Runlens on one file of each kind")
    ap.add_argument("--check-values", action="store_true",
                    help="also compare every value of run-00 (Runlens's index, each pandas reader) with Python's parse")
    ap.add_argument("--only", default="", help="comma-separated tools to run (runlens, read_csv-c, ...)")
    args = ap.parse_args()
    if not (args.generate or args.run):
        ap.error("--generate and/or --run")
    if args.generate:
        generate(args)
    if args.run:
        try:
            return run(args)
        except Failed as e:
            log(f"error: {e}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
