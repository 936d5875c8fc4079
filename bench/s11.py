#!/usr/bin/env python3
"""S11: drift of a 1M-row batch against a 12M-row reference, 10 columns.

    python3 bench/s11.py [--ref-rows 12000000] [--batch-rows 1000000] [--reps 3]
                         [--evidently-ref-rows N] [--no-peers] [--scratch /tmp/runlens-bench/s11]

Ours: `runlens data drift PROJECT --reference reference.csv batch.csv --format json`, every
statistic of every column (KS, Wasserstein, PSI, JS, chi-squared, null share) under the default
rules. "first" is a fresh data dir: the reference is read and kept (sorted columns and counts in
the app-data dir); "kept" is every run after it, which reads the kept reference a column at a time.
Peers, on the same files in the same run:
- scipy per column: pandas `read_csv` of both files, then `scipy.stats.ks_2samp` per numeric
  column and `chi2_contingency` per categorical one (what a script would do; fewer statistics).
- polars + scipy: the same tests on columns read by polars (multi-threaded).
- DuckDB: both files loaded, then in SQL each numeric column's KS statistic (the largest gap
  between the two cumulative shares, over the distinct values) and each other column's counts
  per value (no p-values).
- Evidently `Report([DataDriftPreset()])` (0.7.23, its defaults), on the whole reference unless
  --evidently-ref-rows takes its first N rows (it holds both tables in pandas several times over:
  about 5 GB and 5 minutes at 12M rows).
Each is a whole process, page cache warm; medians of --reps (Evidently once). Peak RSS by
/usr/bin/time. The peers come from PyPI into ~/.cache/runlens-bench-drift-venv (made on first use).
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
PEERS = ["evidently==0.7.23", "pandas==2.3.3", "scipy==1.17.1", "numpy<2.5", "polars==1.35.2", "duckdb==1.4.2"]


def venv():
    return peers.venv(PEERS, "RUNLENS_BENCH_DRIFT_VENV", "runlens-bench-drift-venv")


# The S10 table; the batch has the same columns, with `charges` shifted by a quarter of its std and
# the `plan` shares moved by 5 points.
GEN = r"""
import numpy as np, pandas as pd, sys
n, seed, shifted, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
rng = np.random.default_rng(seed)
p = [0.45, 0.35, 0.15, 0.05] if shifted else [0.5, 0.3, 0.15, 0.05]
pd.DataFrame({
    "id": np.arange(n) + seed * 100_000_000,
    "tenure": rng.uniform(0, 72, n).round(1),
    "charges": rng.normal(70 if shifted else 65, 20, n).round(2),
    "calls": rng.poisson(1.5, n),
    "score": rng.normal(0, 1, n).round(6),
    "spend": rng.lognormal(3, 1, n).round(3),
    "age": rng.integers(18, 90, n),
    "ratio": np.where(rng.random(n) < 0.02, np.nan, rng.random(n).round(5)),
    "plan": rng.choice(["basic", "plus", "pro", "enterprise"], n, p=p),
    "region": rng.choice([f"r{i:03d}" for i in range(200)], n),
}).to_csv(out, index=False)
"""

SCIPY = r"""
import pandas as pd, sys
from scipy import stats
r, c = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
out = {}
for col in c.columns:
    if pd.api.types.is_numeric_dtype(c[col]):
        out[col] = stats.ks_2samp(r[col].dropna(), c[col].dropna()).pvalue
    else:
        t = pd.concat([r[col].value_counts(), c[col].value_counts()], axis=1).fillna(0)
        out[col] = stats.chi2_contingency(t.T.values)[1]
print(out)
"""

POLARS = r"""
import numpy as np, polars as pl, sys
from scipy import stats
r, c = pl.read_csv(sys.argv[1]), pl.read_csv(sys.argv[2])
out = {}
for col in c.columns:
    if c[col].dtype.is_numeric():
        a, b = r[col].drop_nulls().to_numpy(), c[col].drop_nulls().to_numpy()
        out[col] = stats.ks_2samp(a[np.isfinite(a)], b[np.isfinite(b)]).pvalue
    else:
        t = r[col].value_counts().join(c[col].value_counts(), on=col, how="full", coalesce=True).fill_null(0)
        out[col] = stats.chi2_contingency(t.select(pl.exclude(col)).to_numpy().T)[1]
print(out)
"""

DUCKDB = r"""
import duckdb, sys
con = duckdb.connect()
con.execute(f"CREATE TABLE r AS SELECT * FROM read_csv_auto('{sys.argv[1]}')")
con.execute(f"CREATE TABLE c AS SELECT * FROM read_csv_auto('{sys.argv[2]}')")
KS = '''
WITH v AS (SELECT {q} AS x, 1 AS s FROM r WHERE {q} IS NOT NULL AND isfinite({q}::DOUBLE)
           UNION ALL SELECT {q}, 2 FROM c WHERE {q} IS NOT NULL AND isfinite({q}::DOUBLE)),
     g AS (SELECT x, count(*) FILTER (WHERE s = 1) AS a, count(*) FILTER (WHERE s = 2) AS b FROM v GROUP BY x),
     n AS (SELECT sum(a) AS na, sum(b) AS nb FROM g)
SELECT max(abs(ca / na - cb / nb)) FROM (
    SELECT sum(a) OVER w AS ca, sum(b) OVER w AS cb FROM g WINDOW w AS (ORDER BY x ROWS UNBOUNDED PRECEDING)
), n
'''
out = {}
for name, ty, *_ in con.execute("DESCRIBE c").fetchall():
    q = '"' + name + '"'
    if ty in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "SMALLINT"):
        out[name] = con.execute(KS.format(q=q)).fetchone()[0]
    else:
        out[name] = len(con.execute(f"SELECT {q}, count(*) FROM r GROUP BY 1 UNION ALL SELECT {q}, count(*) FROM c GROUP BY 1").fetchall())
print(out)
"""

EVIDENTLY = r"""
import pandas as pd, sys
from evidently import Report
from evidently.presets import DataDriftPreset
r = pd.read_csv(sys.argv[1], nrows=int(sys.argv[3]))
c = pd.read_csv(sys.argv[2])
Report([DataDriftPreset()]).run(reference_data=r, current_data=c).dict()
"""


def run(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    dt = time.perf_counter() - t
    if r.returncode not in (0, 1):
        sys.exit(f"{cmd[:4]} failed ({r.returncode}): {r.stderr.decode()[-2000:]}")
    return dt, int(r.stderr.decode().strip().splitlines()[-1]) / 1024, r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref-rows", type=int, default=12_000_000)
    ap.add_argument("--batch-rows", type=int, default=1_000_000)
    ap.add_argument("--evidently-ref-rows", type=int, default=0, help="0: the whole reference")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-peers", action="store_true", help="only Runlens")
    ap.add_argument("--no-evidently", action="store_true", help="every peer but Evidently (5 minutes)")
    ap.add_argument("--scratch", default=os.environ.get("RUNLENS_BENCH_SCRATCH", "/tmp/runlens-bench") + "/s11")
    ap.add_argument("--runlens", default=os.environ.get("RUNLENS_BIN", str(REPO / "target/release/runlens")))
    a = ap.parse_args()
    py = venv()
    base = Path(a.scratch)
    project = base / "project"
    ref, batch = project / "reference.csv", project / "batch.csv"
    stamp = base / f"rows-{a.ref_rows}-{a.batch_rows}"
    if not stamp.exists():
        project.mkdir(parents=True, exist_ok=True)
        print(f"writing {a.ref_rows:,} + {a.batch_rows:,} rows...", file=sys.stderr)
        subprocess.run([py, "-c", GEN, str(a.ref_rows), "10", "0", str(ref)], check=True)
        subprocess.run([py, "-c", GEN, str(a.batch_rows), "11", "1", str(batch)], check=True)
        stamp.touch()
    for f in (ref, batch):  # page cache warm
        with open(f, "rb") as h:
            while h.read(1 << 24):
                pass
    data = base / "data"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    ours = [a.runlens, "--data-dir", str(data), "data", "drift", str(project), "--reference", "reference.csv",
            "batch.csv", "--format", "json"]
    print(f"S11: reference {a.ref_rows:,} rows ({ref.stat().st_size / 1e9:.2f} GB), batch {a.batch_rows:,} rows, "
          f"10 columns; medians of {a.reps}")
    first, first_rss, out = run(ours)
    kept = [run(ours) for _ in range(a.reps)]
    t, rss = statistics.median(k[0] for k in kept), max(k[1] for k in kept)
    import json
    drifted = [c["name"] for c in json.loads(out)["columns"] if c["drift"]]
    print(f"Runlens first {first:.2f} s (peak RSS {first_rss:.0f} MiB); kept reference {t:.2f} s "
          f"(peak RSS {rss:.0f} MiB); drifted: {', '.join(drifted)}")
    if a.no_peers:
        return
    sp = [run([py, "-c", SCIPY, str(ref), str(batch)]) for _ in range(a.reps)]
    st, srss = statistics.median(s[0] for s in sp), max(s[1] for s in sp)
    print(f"scipy per column (pandas read) {st:.2f} s (peak RSS {srss:.0f} MiB): {st / t:.1f}x ours kept, "
          f"{st / first:.1f}x ours first")
    for label, code in (("polars + scipy per column", POLARS), ("DuckDB SQL (KS statistics, counts)", DUCKDB)):
        pp = [run([py, "-c", code, str(ref), str(batch)]) for _ in range(a.reps)]
        pt, prss = statistics.median(x[0] for x in pp), max(x[1] for x in pp)
        print(f"{label} {pt:.2f} s (peak RSS {prss:.0f} MiB): {pt / t:.1f}x ours kept, {pt / first:.1f}x ours first")
    if a.no_evidently:
        return
    n = a.evidently_ref_rows or a.ref_rows
    et, erss, _ = run([py, "-c", EVIDENTLY, str(ref), str(batch), str(n)])
    print(f"Evidently DataDriftPreset on {n:,} reference rows {et:.2f} s (peak RSS {erss:.0f} MiB): "
          f"{et / t:.1f}x ours kept on {a.ref_rows:,}, {et / first:.1f}x ours first")


if __name__ == "__main__":
    main()
