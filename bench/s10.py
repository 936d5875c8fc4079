#!/usr/bin/env python3
"""S10: full column statistics of a 1 GB CSV (12M rows x 10 columns) and its Parquet twin.

    python3 bench/s10.py [--rows 12000000] [--reps 3] [--scratch /tmp/runlens-bench/s10] [--runlens target/release/runlens]

Ours: `runlens data show PROJECT t.csv` (and t.parquet): every column's count, nulls, min, max,
mean, std, exact quartiles, exact distinct count, top 10 values and a histogram. Peers, measured in
the same run on the same files (they compute less: no exact distinct count or histogram for every
column): pandas `read_csv` + `describe(include="all")`, polars `read_csv` + `describe()`, DuckDB
`SUMMARIZE` (approximate distinct counts and quantiles). Each is a whole process, page cache warm;
medians of --reps. The peers come from PyPI into ~/.cache/runlens-bench-data-venv (made on first use).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import peers

REPO = Path(__file__).resolve().parent.parent
PEERS = ["pandas==2.3.3", "pyarrow==22.0.0", "polars==1.35.2", "duckdb==1.4.2", "numpy<2.4"]


def venv():
    return peers.venv(PEERS, "RUNLENS_BENCH_DATA_VENV", "runlens-bench-data-venv")


GEN = r"""
import numpy as np, pandas as pd, sys
n, csv, pq = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = np.random.default_rng(10)
df = pd.DataFrame({
    "id": np.arange(n),
    "tenure": rng.uniform(0, 72, n).round(1),
    "charges": rng.normal(65, 20, n).round(2),
    "calls": rng.poisson(1.5, n),
    "score": rng.normal(0, 1, n).round(6),
    "spend": rng.lognormal(3, 1, n).round(3),
    "age": rng.integers(18, 90, n),
    "ratio": np.where(rng.random(n) < 0.02, np.nan, rng.random(n).round(5)),
    "plan": rng.choice(["basic", "plus", "pro", "enterprise"], n, p=[0.5, 0.3, 0.15, 0.05]),
    "region": rng.choice([f"r{i:03d}" for i in range(200)], n),
})
df.to_csv(csv, index=False)
df.to_parquet(pq, index=False, row_group_size=1_000_000)
"""

PANDAS = "import pandas as pd, sys\nd = pd.read_{fmt}(sys.argv[1])\nd.describe(include='all').to_string()"
POLARS = "import polars as pl, sys\nd = pl.read_{fmt}(sys.argv[1])\nd.describe()"
DUCKDB = "import duckdb, sys\nduckdb.sql(\"SUMMARIZE SELECT * FROM '\" + sys.argv[1] + \"'\").fetchall()"


def timed(cmd, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"{cmd[:3]} failed: {r.stderr.decode()[-2000:]}")
    return statistics.median(out)


def peak_rss(cmd):
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return int(r.stderr.decode().strip().splitlines()[-1]) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=12_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scratch", default=os.environ.get("RUNLENS_BENCH_SCRATCH", "/tmp/runlens-bench") + "/s10")
    ap.add_argument("--runlens", default=os.environ.get("RUNLENS_BIN", str(REPO / "target/release/runlens")))
    a = ap.parse_args()
    py = venv()
    base = Path(a.scratch)
    project = base / "project"
    csv, pq = project / "t.csv", project / "t.parquet"
    stamp = base / f"rows-{a.rows}"
    if not stamp.exists():
        project.mkdir(parents=True, exist_ok=True)
        print(f"writing {a.rows} rows...", file=sys.stderr)
        subprocess.run([py, "-c", GEN, str(a.rows), str(csv), str(pq)], check=True)
        stamp.touch()
    for f in (csv, pq):  # page cache warm
        with open(f, "rb") as h:
            while h.read(1 << 24):
                pass
    rl = [a.runlens, "--data-dir", str(base / "data")]
    print(f"S10: {a.rows:,} rows x 10 columns; CSV {csv.stat().st_size / 1e9:.2f} GB, Parquet {pq.stat().st_size / 1e9:.2f} GB; medians of {a.reps}")
    for fmt, f in (("csv", csv), ("parquet", pq)):
        ours_cmd = rl + ["data", "show", str(project), f.name, "--rows", "5", "--format", "json"]
        ours = timed(ours_cmd, a.reps)
        peers = {
            "pandas": timed([py, "-c", PANDAS.format(fmt=fmt), str(f)], a.reps),
            "polars": timed([py, "-c", POLARS.format(fmt=fmt), str(f)], a.reps),
            "duckdb": timed([py, "-c", DUCKDB, str(f)], a.reps),
        }
        best = min(peers, key=peers.get)
        rss = peak_rss(ours_cmd)
        line = "  ".join(f"{k} {v:.2f} s" for k, v in peers.items())
        print(f"{fmt:8} Runlens {ours:.2f} s (peak RSS {rss:.0f} MiB)   {line}   vs fastest ({best}) {peers[best] / ours:.1f}x")


if __name__ == "__main__":
    main()
