#!/usr/bin/env python3
"""S9: a deployment bundle of a 1 GB model, and its check, against the stock tools.

    python3 bench/s9.py [--gib 1] [--reps 3] [--scratch /tmp/runlens-bench/s9] [--runlens target/release/runlens]

A project with one JSONL run and a model folder (`model/weights.bin`, N GiB of float32 noise, plus
a small config), registered once with `runlens registry register` (untimed). Then, page cache warm,
medians of --reps, each a whole process:
  export:  `runlens bundle PROJECT big@1 -o OUT`  vs  `tar --sort=name -cf OUT.tar model` + `sha256sum model/*`
  verify:  `runlens bundle verify OUT/big-1.tar`  vs  `sha256sum -c SHA256SUMS` in the unpacked bundle
  OCI:     `runlens bundle ... --format oci`  vs  the same tar + sha256sum; its verify  vs
           `skopeo copy oci-archive:... oci:DIR` (which checks every blob's digest), where skopeo is installed
Needs the standard library, tar and sha256sum (coreutils); skopeo for the last row.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd, reps, cwd=None, shell=False):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=cwd, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"{cmd} failed: {r.stderr.decode()}")
    return statistics.median(out)


def timed_fn(fn, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scratch", default=os.environ.get("RUNLENS_BENCH_SCRATCH", "/tmp/runlens-bench") + "/s9")
    ap.add_argument("--runlens", default=os.environ.get("RUNLENS_BIN", str(REPO / "target/release/runlens")))
    a = ap.parse_args()
    base = Path(a.scratch)
    project, data, cfg = base / "project", base / "data", base / "config"
    size = int(a.gib * (1 << 30))
    weights = project / "model" / "weights.bin"
    if not weights.exists() or weights.stat().st_size != size:
        shutil.rmtree(base, ignore_errors=True)
        (project / "model").mkdir(parents=True)
        with open(project / "train.jsonl", "w") as f:
            for i in range(100):
                f.write(f'{{"step": {i}, "loss": {1 / (i + 1)}}}\n')
        (project / "model" / "config.json").write_text('{"layers": 24, "d_model": 1024}\n')
        print(f"writing {a.gib} GiB of weights...", file=sys.stderr)
        with open(weights, "wb") as f:
            chunk = os.urandom(1 << 24)
            for _ in range(size // len(chunk)):
                f.write(chunk)
            f.write(chunk[: size % len(chunk)])
        rl = [a.runlens, "--data-dir", str(data), "--config-dir", str(cfg)]
        subprocess.run(rl + ["registry", "register", str(project), "train.jsonl", "model", "--name", "big"], check=True)
    rl = [a.runlens, "--data-dir", str(data), "--config-dir", str(cfg)]
    for p in (project / "model").iterdir():  # page cache warm
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass
    out = base / "out"
    shutil.rmtree(out, ignore_errors=True)

    def ours_export():
        shutil.rmtree(out, ignore_errors=True)
        return subprocess.run(rl + ["bundle", str(project), "big@1", "-o", str(out)], check=True, stdout=subprocess.DEVNULL)

    exports = []
    for _ in range(a.reps):
        t = time.perf_counter()
        ours_export()
        exports.append(time.perf_counter() - t)
    ours = statistics.median(exports)
    peer_tar = base / "peer.tar"
    peer = timed(f"tar --sort=name -cf '{peer_tar}' model && sha256sum model/* > /dev/null", a.reps, cwd=project, shell=True)
    tar_file = out / "big-1.tar"
    ours_v = timed(rl + ["bundle", "verify", str(tar_file)], a.reps)
    unpacked = base / "unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    unpacked.mkdir()
    subprocess.run(["tar", "xf", str(tar_file), "-C", str(unpacked)], check=True)
    peer_v = timed("sha256sum -c SHA256SUMS > /dev/null", a.reps, cwd=unpacked / "big-1", shell=True)
    oci_out = base / "oci"

    def oci_export():
        shutil.rmtree(oci_out, ignore_errors=True)
        subprocess.run(rl + ["bundle", str(project), "big@1", "-o", str(oci_out), "--format", "oci"], check=True, stdout=subprocess.DEVNULL)

    ours_oci = timed_fn(oci_export, a.reps)
    oci_file = oci_out / "big-1.oci.tar"
    ours_oci_v = timed(rl + ["bundle", "verify", str(oci_file)], a.reps)
    skopeo = shutil.which("skopeo")
    copied = base / "skopeo-copy"
    peer_oci_v = skopeo and timed(f"rm -rf '{copied}' && skopeo copy -q 'oci-archive:{oci_file}' 'oci:{copied}:1'", a.reps, shell=True)
    mib = size / (1 << 20)
    print(f"S9: a {a.gib} GiB model; medians of {a.reps}; page cache warm")
    print(f"export  Runlens bundle {ours:.2f} s ({mib / ours:.0f} MiB/s)   tar cf + sha256sum {peer:.2f} s ({mib / peer:.0f} MiB/s)   {peer / ours:.1f}x")
    print(f"verify  Runlens bundle verify {ours_v:.2f} s ({mib / ours_v:.0f} MiB/s)   sha256sum -c {peer_v:.2f} s ({mib / peer_v:.0f} MiB/s)   {peer_v / ours_v:.1f}x")
    print(f"export --format oci  Runlens {ours_oci:.2f} s ({mib / ours_oci:.0f} MiB/s)   tar cf + sha256sum {peer:.2f} s   {peer / ours_oci:.1f}x")
    if peer_oci_v:
        print(f"verify oci  Runlens bundle verify {ours_oci_v:.2f} s ({mib / ours_oci_v:.0f} MiB/s)   skopeo copy oci-archive: {peer_oci_v:.2f} s ({mib / peer_oci_v:.0f} MiB/s)   {peer_oci_v / ours_oci_v:.1f}x")


if __name__ == "__main__":
    main()
