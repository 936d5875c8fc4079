#!/usr/bin/env python3
"""S2, the peer: TensorBoard's Rust data server (tensorboard-data-server, what `tensorboard`
runs by default) following the same live writes as crates/core/examples/live_bench.rs.

The writer is live_bench in --write-only mode (100 runs appending 16 scalars every 100 ms, each
write logged as `run step unix_ms`). The data server runs with its default reload loop
(--reload 5) and every scalar kept; this script polls its gRPC ListScalars every 20 ms and notes
when each run's max_step for train/loss moves: a step is queryable from then on. Latency = that
moment minus the write's time. Writes in the first 10 s (the server's first load) are not
counted. Then the writer stops and the server's CPU is read over --idle-s seconds.

    ~/.cache/runlens-fixtures-venv/bin/python bench/s2_peer.py --dir /scratch/bench/s2peer \\
        [--writer target/release/examples/live_bench] [--seconds 40] [--reload 5] [--out f.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import grpc
import tensorboard_data_server
from tensorboard.data.proto import data_provider_pb2 as pb
from tensorboard.data.proto import data_provider_pb2_grpc as pbg

WARMUP_S = 10.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[round((len(xs) - 1) * p)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--writer", default="target/release/examples/live_bench")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--tags", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--reload", default="5")
    ap.add_argument("--idle-s", type=int, default=10)
    ap.add_argument("--out")
    a = ap.parse_args()
    log = a.dir.rstrip("/") + ".writes"
    port_file = a.dir.rstrip("/") + ".port"
    for p in (log, port_file):
        if os.path.exists(p):
            os.remove(p)
    writer = subprocess.Popen([a.writer, "--dir", a.dir, "--runs", str(a.runs), "--tags", str(a.tags),
                               "--seconds", str(a.seconds), "--write-only", log])
    while not os.path.isdir(a.dir) or len(os.listdir(a.dir)) < a.runs:
        time.sleep(0.01)
    server = subprocess.Popen([tensorboard_data_server.server_binary(), "--logdir", a.dir, "--port", "0",
                               "--port-file", port_file, "--reload", a.reload,
                               "--samples-per-plugin", "scalars=all", "--die-after-stdin"],
                              stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while not (os.path.exists(port_file) and open(port_file).read().endswith("\n")):
        time.sleep(0.01)
    port = int(open(port_file).read())
    stub = pbg.TensorBoardDataProviderStub(grpc.insecure_channel(f"localhost:{port}"))
    req = pb.ListScalarsRequest(experiment_id="", plugin_filter=pb.PluginFilter(plugin_name="scalars"),
                                run_tag_filter=pb.RunTagFilter(tags=pb.TagFilter(names=["train/loss"])))
    t_start = time.time()
    seen: dict[str, tuple[int, float]] = {}  # run -> (max_step, when it was first seen)
    visible_at: dict[tuple[int, int], float] = {}
    polls = 0
    while writer.poll() is None or time.time() - t_start < a.seconds + 12:
        try:
            resp = stub.ListScalars(req, timeout=5)
        except grpc.RpcError:
            time.sleep(0.02)
            continue
        polls += 1
        now = time.time() * 1000.0
        for run in resp.runs:
            r = int(run.run_name.split("_")[-1])
            for tag in run.tags:
                step = tag.metadata.max_step
                prev = seen.get(run.run_name, (-1, 0.0))[0]
                if step > prev:
                    for s in range(prev + 1, step + 1):
                        visible_at[(r, s)] = now
                    seen[run.run_name] = (step, now)
        if writer.poll() is not None and time.time() - t_start > a.seconds + 12:
            break
        time.sleep(0.02)
    t_written_end = time.time()
    writes = {}
    first = None
    with open(log) as f:
        for line in f:
            r, s, ms = line.split()
            writes[(int(r), int(s))] = float(ms)
            first = float(ms) if first is None else min(first, float(ms))
    lat = [visible_at[k] - ms for k, ms in writes.items() if k in visible_at and ms - first > WARMUP_S * 1000]
    counted = sum(1 for k, ms in writes.items() if ms - first > WARMUP_S * 1000)
    c0 = cpu_seconds(server.pid)
    time.sleep(a.idle_s)
    idle = (cpu_seconds(server.pid) - c0) / a.idle_s * 100
    server.stdin.close()
    server.wait(timeout=10)
    res = {
        "peer": "tensorboard-data-server " + subprocess.run([tensorboard_data_server.server_binary(), "--version"],
                                                            capture_output=True, text=True).stdout.strip(),
        "reload_s": a.reload, "runs": a.runs, "tags": a.tags, "seconds": a.seconds,
        "steps_counted": counted, "steps_seen": len(lat), "polls": polls,
        "latency_ms": {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "p99": pct(lat, 0.99), "max": max(lat) if lat else None},
        "server_cpu_percent_idle": idle,
        "load": open("/proc/loadavg").read().strip(),
    }
    print(json.dumps(res, indent=2))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
