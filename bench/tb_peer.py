#!/usr/bin/env python3
"""TensorBoard peers for S1 (cold indexing of TensorBoard event files).

    python bench/tb_peer.py --logdir DIR --peer accumulator|plugin-accumulator|data-server \
        [--reps N] [--warmup N] [--out f.json]

Run with a Python that has tensorboard (2.21.0) and tensorboard-data-server (0.7.2), grpcio for
the data-server check (e.g. ~/.cache/runlens-fixtures-venv/bin/python). Every repetition is a
fresh process, so each starts with nothing loaded ("cold" = empty in-memory state). The page cache
is warm: before anything is timed every file under DIR is read once (untimed) and `--warmup` runs
(default 1) of the same peer are made and discarded.

Peers, and what is timed:

* accumulator: TensorBoard's classic Python loader, everything kept:
      m = event_multiplexer.EventMultiplexer(size_guidance={every kind: 0}, purge_orphaned_data=True)
      m.AddRunsFromDirectory(DIR); m.Reload()
  `load_seconds` = those three calls, in a child Python process after its imports;
  `process_seconds` = the whole child process (interpreter start, imports, load, and the untimed
  count below), measured by the parent. Peak RSS = the child's ru_maxrss right after Reload().
  Then (untimed) every point is read back with m.Scalars(run, tag) and counted.
  Without TensorFlow installed (the usual case for PyTorch users) TensorBoard reads records with
  its pure-Python stub reader, which checks both CRC-32Cs of every record in pure Python.
* plugin-accumulator: the same through plugin_event_multiplexer.EventMultiplexer (what
  `tensorboard --load_fast=false` uses; scalars are migrated to tensor events, `tensor_size_guidance`
  {scalars: 0}); points read back with m.Tensors(run, tag).
* data-server: the Rust `server` binary shipped in tensorboard-data-server
  (tensorboard_data_server.server_binary()), started as TensorBoard starts it, plus load-once and
  keep-all flags:
      server --logdir DIR --reload once --samples-per-plugin scalars=all --port 0
             --port-file F --die-after-stdin --error-file E --verbose
  `load_seconds` = from just before spawning the process to the moment its stderr shows
  "Finished load cycle" (the line it logs at -v after one pass over the logdir; with --reload once
  there is no second pass). Peak RSS = VmHWM of the server from /proc at that moment. Then
  (untimed as load; `read_seconds` reported apart) every point is read over its gRPC API:
  ListScalars (plugin "scalars"), then ReadScalars per run with downsample num_points = 2**31-1
  (more than any series holds), and counted. Then stdin is closed and the server exits.
  The server's default --no-checksum is kept (records are CRC-checked only if parsing fails).

CPU: `cpu_seconds` = user + system CPU time of the loading process over the timed region
(accumulator: getrusage delta around the load in the child; data-server: /proc/PID/stat utime +
stime of all its threads at "Finished load cycle"). On a busy machine it is the steadier figure.

Checks for every repetition (the result has "ok"): number of runs, series and points, sum of
steps and math.fsum of values equal the generator's manifest (<DIR>.manifest.json), every series
has the full step count, and every run's spike (tag train/loss, value 1e6, at the manifest step)
is present.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def warm_page_cache(logdir: str) -> dict:
    t = time.perf_counter()
    n = b = 0
    for root, _, files in os.walk(logdir):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                while True:
                    chunk = f.read(1 << 22)
                    if not chunk:
                        break
                    b += len(chunk)
            n += 1
    return {"files": n, "bytes": b, "seconds": round(time.perf_counter() - t, 3)}


def load_manifest(logdir: str):
    p = logdir.rstrip("/") + ".manifest.json"
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return None


class Tally:
    """Counts what a reader returned; compared against the manifest."""

    def __init__(self):
        self.runs = set()
        self.series = 0
        self.points = 0
        self.sum_steps = 0
        self.values = []
        self.series_lengths = {}
        self.spikes = {}  # run -> list of steps where train/loss == 1e6

    def add(self, run, tag, steps, values):
        self.runs.add(run)
        self.series += 1
        self.points += len(steps)
        self.sum_steps += sum(steps)
        self.values.append(math.fsum(values))
        self.series_lengths[len(steps)] = self.series_lengths.get(len(steps), 0) + 1
        if tag == "train/loss":
            self.spikes[run] = [s for s, v in zip(steps, values) if v == 1.0e6]

    def result(self, man) -> dict:
        r = {"runs": len(self.runs), "series": self.series, "points": self.points,
             "sum_steps": self.sum_steps, "value_fsum": math.fsum(self.values),
             "series_lengths": {str(k): v for k, v in sorted(self.series_lengths.items())}}
        if man:
            spikes = man["spike"]["steps"]
            r["checks"] = {
                "runs": len(self.runs) == man["runs"],
                "series": self.series == man["runs"] * man["n_tags"],
                "points": self.points == man["points"],
                "sum_steps": self.sum_steps == man["sum_steps"],
                "value_fsum": r["value_fsum"] == man["value_fsum"],
                "full_series": set(self.series_lengths) == {man["steps"]},
                "spikes": all(self.spikes.get(run) == [s] for run, s in spikes.items()),
            }
            r["spikes_found"] = sum(1 for run, s in spikes.items() if s in self.spikes.get(run, []))
            r["ok"] = all(r["checks"].values())
        return r


# ------------------------------------------------------------------------------- accumulator
def accumulator_child(logdir: str, flavor: str) -> dict:
    import resource
    t_imp = time.perf_counter()
    if flavor == "accumulator":
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.backend.event_processing import event_multiplexer as em
        sg = {ea.COMPRESSED_HISTOGRAMS: 0, ea.IMAGES: 0, ea.AUDIO: 0, ea.SCALARS: 0,
              ea.HISTOGRAMS: 0, ea.TENSORS: 0}
    else:
        from tensorboard.backend.event_processing import plugin_event_accumulator as ea
        from tensorboard.backend.event_processing import plugin_event_multiplexer as em
        sg = {ea.TENSORS: 0, ea.GRAPH: 0, ea.META_GRAPH: 0, ea.RUN_METADATA: 0}
    import_seconds = time.perf_counter() - t_imp

    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if flavor == "accumulator":
        m = em.EventMultiplexer(size_guidance=sg, purge_orphaned_data=True)
    else:
        m = em.EventMultiplexer(size_guidance=sg, tensor_size_guidance={"scalars": 0},
                                purge_orphaned_data=True)
    m.AddRunsFromDirectory(logdir)
    m.Reload()
    load_seconds = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    maxrss_kb = ru1.ru_maxrss
    cpu_seconds = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)

    t1 = time.perf_counter()
    tally = Tally()
    if flavor == "accumulator":
        for run, kinds in sorted(m.Runs().items()):
            for tag in kinds["scalars"]:
                evs = m.Scalars(run, tag)
                tally.add(run, tag, [e.step for e in evs], [e.value for e in evs])
    else:
        from tensorboard.util import tensor_util
        for run, tags in sorted(m.PluginRunToTagToContent("scalars").items()):
            for tag in tags:
                evs = m.Tensors(run, tag)
                tally.add(run, tag, [e.step for e in evs],
                          [float(tensor_util.make_ndarray(e.tensor_proto).item()) for e in evs])
    count_seconds = time.perf_counter() - t1
    return {"import_seconds": round(import_seconds, 3), "load_seconds": load_seconds,
            "cpu_seconds": round(cpu_seconds, 3),
            "count_seconds": round(count_seconds, 3), "peak_rss_mb": round(maxrss_kb / 1024, 1),
            "tally": tally}


def run_accumulator(logdir: str, flavor: str, man) -> dict:
    t = time.perf_counter()
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--logdir", logdir, "--peer", flavor,
                        "--_child"], capture_output=True, text=True)
    process_seconds = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"child failed ({p.returncode}): {p.stderr[-3000:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["process_seconds"] = round(process_seconds, 3)
    return r


# ------------------------------------------------------------------------------- data server
def _proc_cpu_seconds(pid: int):
    """user + system CPU seconds of a process so far (all its threads), from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _proc_status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM", "VmRSS", "Threads")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def read_all_scalars(port: int, tally: Tally) -> dict:
    import grpc
    from tensorboard.data.proto import data_provider_pb2 as dp
    from tensorboard.data.proto import data_provider_pb2_grpc as dpg

    ch = grpc.insecure_channel(f"localhost:{port}", options=[("grpc.max_receive_message_length", -1)])
    stub = dpg.TensorBoardDataProviderStub(ch)
    pf = dp.PluginFilter(plugin_name="scalars")
    lst = stub.ListScalars(dp.ListScalarsRequest(plugin_filter=pf))
    listed = {r.run_name: [t.tag_name for t in r.tags] for r in lst.runs}
    max_steps = {(r.run_name, t.tag_name): t.metadata.max_step for r in lst.runs for t in r.tags}
    resp_bytes = 0
    for run in sorted(listed):
        req = dp.ReadScalarsRequest(plugin_filter=pf, downsample=dp.Downsample(num_points=2**31 - 1),
                                    run_tag_filter=dp.RunTagFilter(runs=dp.RunFilter(names=[run])))
        resp = stub.ReadScalars(req)
        resp_bytes += resp.ByteSize()
        for r in resp.runs:
            for t in r.tags:
                tally.add(r.run_name, t.tag_name, list(t.data.step), list(t.data.value))
    ch.close()
    return {"listed_runs": len(listed), "listed_series": sum(len(v) for v in listed.values()),
            "max_step_max": max(max_steps.values()) if max_steps else None, "response_bytes": resp_bytes}


def run_data_server(logdir: str, man, samples: str) -> dict:
    import tensorboard_data_server
    binary = tensorboard_data_server.server_binary()
    tmp = tempfile.mkdtemp(prefix="tbds-")
    port_file, err_file = os.path.join(tmp, "port"), os.path.join(tmp, "error")
    cmd = [binary, "--logdir", logdir, "--reload", "once", "--samples-per-plugin", samples,
           "--port", "0", "--port-file", port_file, "--die-after-stdin", "--error-file", err_file,
           "--verbose"]
    lines = []
    started = threading.Event()
    finished = threading.Event()
    marks = {}

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, bufsize=1)

    def reader():
        for line in proc.stderr:
            now = time.perf_counter()
            if "Finished load cycle" in line and "finished" not in marks:
                marks["finished"] = now
                marks["status_at_finish"] = _proc_status(proc.pid)
                marks["cpu_at_finish"] = _proc_cpu_seconds(proc.pid)
                finished.set()
            elif "Starting load cycle" in line and "starting" not in marks:
                marks["starting"] = now
                started.set()
            lines.append((round(now - t0, 4), line.rstrip()))

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    while not finished.wait(0.5):
        if proc.poll() is not None:
            th.join(2)
            err = open(err_file).read() if os.path.exists(err_file) else ""
            raise RuntimeError(f"data server exited {proc.returncode}: {err} {lines[-20:]}")
    load_seconds = marks["finished"] - t0
    for _ in range(100):
        if os.path.exists(port_file) and open(port_file).read().endswith("\n"):
            break
        time.sleep(0.05)
    port = int(open(port_file).read())
    tally = Tally()
    t1 = time.perf_counter()
    info = read_all_scalars(port, tally)
    read_seconds = time.perf_counter() - t1
    status_after_read = _proc_status(proc.pid)
    proc.stdin.close()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    th.join(2)
    shutil.rmtree(tmp, ignore_errors=True)
    fin_line = next((l for _, l in lines if "Finished load cycle" in l), "")
    st = marks["status_at_finish"]
    return {"binary": binary, "cmd": cmd, "load_seconds": load_seconds,
            "cpu_seconds": marks["cpu_at_finish"],
            "cycle_seconds": round(marks["finished"] - marks.get("starting", t0), 4),
            "finished_line": fin_line, "read_seconds": round(read_seconds, 3),
            "peak_rss_mb": round(st.get("VmHWM", 0) / 1024, 1),
            "rss_at_finish_mb": round(st.get("VmRSS", 0) / 1024, 1),
            "threads": st.get("Threads"),
            "peak_rss_after_read_mb": round(status_after_read.get("VmHWM", 0) / 1024, 1),
            "grpc": info, "log_head": lines[:8], "log_lines": len(lines), "tally": tally}


# ------------------------------------------------------------------------------- driver
def one_rep(a, man) -> dict:
    la = os.getloadavg()
    if a.peer == "data-server":
        r = run_data_server(a.logdir, man, a.samples)
        r.update(r.pop("tally").result(man))
    else:
        r = run_accumulator(a.logdir, a.peer, man)
    r["loadavg_before"] = [round(x, 2) for x in la]
    r["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    if man:
        r["points_per_second"] = round(man["points"] / r["load_seconds"])
    r["load_seconds"] = round(r["load_seconds"], 3)
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--peer", required=True, choices=["accumulator", "plugin-accumulator", "data-server"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs of the peer first (default 1)")
    ap.add_argument("--samples", default="scalars=all", help="data-server --samples-per-plugin value")
    ap.add_argument("--out")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.logdir = os.path.abspath(a.logdir)
    man = load_manifest(a.logdir)

    if a._child:
        r = accumulator_child(a.logdir, a.peer)
        r.update(r.pop("tally").result(man))
        print(json.dumps(r))
        return 0

    res = {"peer": a.peer, "logdir": a.logdir, "python": sys.executable,
           "manifest": {k: man[k] for k in ("shape", "runs", "n_tags", "steps", "points", "bytes")} if man else None,
           "nproc": os.cpu_count(), "nice": os.nice(0)}
    try:
        import tensorboard
        import tensorboard_data_server
        res["versions"] = {"tensorboard": tensorboard.__version__,
                           "tensorboard_data_server": tensorboard_data_server.__version__}
    except Exception:  # noqa: BLE001
        pass
    res["page_cache_warm"] = warm_page_cache(a.logdir)
    res["warmup"], res["reps"] = [], []
    for i in range(a.warmup + a.reps):
        r = one_rep(a, man)
        kind = "warmup" if i < a.warmup else "reps"
        res[kind].append(r)
        print(f"[{a.peer}] {kind} {len(res[kind])}: load {r['load_seconds']:.2f}s "
              f"{r.get('points_per_second', 0):,} pts/s rss {r['peak_rss_mb']} MB ok={r.get('ok')} "
              f"load avg {r['loadavg_before'][0]}", file=sys.stderr, flush=True)
        if a.out:
            with open(a.out, "w") as f:
                json.dump(res, f, indent=1)
    reps = res["reps"] or res["warmup"]
    secs = [r["load_seconds"] for r in reps]
    res["summary"] = {
        "n": len(reps), "load_seconds_median": round(statistics.median(secs), 3),
        "load_seconds_min": min(secs), "load_seconds_max": max(secs),
        "points_per_second_median": round(man["points"] / statistics.median(secs)) if man else None,
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in reps),
        "cpu_seconds_median": (round(statistics.median(r["cpu_seconds"] for r in reps), 3)
                               if all(r.get("cpu_seconds") is not None for r in reps) else None),
        "all_ok": all(r.get("ok") for r in reps + res["warmup"]),
    }
    if a.peer != "data-server":
        res["summary"]["process_seconds_median"] = round(statistics.median(r["process_seconds"] for r in reps), 3)
    print(json.dumps(res["summary"]))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0 if res["summary"]["all_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
