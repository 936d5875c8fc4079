#!/usr/bin/env python3
"""Generate TensorBoard event files for benchmark S1 (cold indexing of TensorBoard logs).

    python bench/gen_events.py --shape small|large --out DIR [--seed N] [--jobs N]
    python bench/gen_events.py --runs 2 --tags 3 --steps 500 --out DIR      # any other shape
    python bench/gen_events.py --validate --out DIR                          # check against tensorboardX

Shapes (runs x scalar tags x steps): small = 256 x 16 x 1,000 (4,096,000 points),
large = 32 x 32 x 20,000 (20,480,000 points).

Writes DIR/run_XXXX/events.out.tfevents.<ts>.bench, one file per run, in exactly the bytes that
tensorboardX's (and torch.utils.tensorboard's) SummaryWriter.add_scalar writes:

  * record framing: uint64 length, uint32 masked CRC-32C of the length, the Event bytes,
    uint32 masked CRC-32C of the Event bytes (little endian; mask = rotr15 + 0xa282ead8);
  * first Event: wall_time = run start, file_version = "brain.Event:2";
  * then, for step in 0..steps-1, for each tag in order: Event{wall_time (double, field 1),
    step (varint, field 2; absent for step 0, proto3 default), summary (field 5) =
    Summary{value = [Summary.Value{tag (field 1), simple_value (float32, field 2)}]}}.

wall_time strictly increases within a run (run start + 0.5 s + 0.05 s per step + 0.1 ms per tag).
Values are float32 curves with noise, deterministic from --seed. Every run has one spike: tag
"train/loss" at a seeded step (in the middle half of the run) holds 1e6 (a reader that samples,
such as TensorBoard's defaults, would usually drop it). The spike steps are in the manifest.

No protobuf or CRC library is used per record: each run's records are assembled with numpy
(records grouped by (tag, length of the step varint) share one byte layout) and CRC-32C is
computed column-wise over all records of a group at once with a 256-entry table. Here that is
~2 us per point per process (large: ~20 s on 2 processes) against ~58 us per add_scalar for
tensorboardX's own writer (~20 min for large); `--validate` checks the bytes against tensorboardX.

Manifest: <DIR>.manifest.json (beside DIR, not inside it, so no indexer sees it as a log file):
shape, seed, runs, tags, steps, points, files, bytes, seconds, spike (tag, value, step per run),
sum_steps and value_fsum (math.fsum of every value as float64) for cross-checking readers.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import shutil
import struct
import sys
import time

import numpy as np

GENERATOR_VERSION = 1
SHAPES = {"small": (256, 16, 1000), "large": (32, 32, 20000)}
SPIKE_TAG = "train/loss"
SPIKE_VALUE = 1.0e6
BASE_TIME = 1_700_000_000.0  # run r starts at BASE_TIME + seed * 1e6 + r * 86400

_GROUPS = ["train", "val", "test", "sys", "opt", "eval", "aux", "misc"]
_NAMES = ["loss", "accuracy", "lr", "grad_norm", "throughput", "f1", "precision", "recall"]


def tag_names(n: int) -> list[str]:
    """train/loss, train/accuracy, ..., val/loss, ...; train/loss is always first (the spike tag)."""
    out = [f"{g}/{m}" for g in _GROUPS for m in _NAMES]
    if n > len(out):
        out += [f"extra/metric_{i:04d}" for i in range(n - len(out))]
    return out[:n]


# ---------------------------------------------------------------- CRC-32C (Castagnoli), vectorised
def _crc_table() -> np.ndarray:
    t = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t[i] = c
    return t


CRC_TABLE = _crc_table()


def crc32c_rows(m: np.ndarray) -> np.ndarray:
    """CRC-32C of every row of a 2-D uint8 array (all rows the same length)."""
    crc = np.full(m.shape[0], 0xFFFFFFFF, dtype=np.uint32)
    t = CRC_TABLE
    for j in range(m.shape[1]):
        crc = t[(crc ^ m[:, j]) & 0xFF] ^ (crc >> 8)
    return crc ^ np.uint32(0xFFFFFFFF)


def mask_crc(crc: np.ndarray) -> np.ndarray:
    crc = crc.astype(np.uint64)
    return ((((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF).astype(np.uint32)


def masked_crc32c(data: bytes) -> int:
    return int(mask_crc(crc32c_rows(np.frombuffer(data, dtype=np.uint8)[None, :]))[0])


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def record(event: bytes) -> bytes:
    hdr = struct.pack("<Q", len(event))
    return hdr + struct.pack("<I", masked_crc32c(hdr)) + event + struct.pack("<I", masked_crc32c(event))


# ---------------------------------------------------------------- data
def run_start(seed: int, r: int) -> float:
    return BASE_TIME + seed * 1_000_000 + r * 86_400


def run_data(seed: int, r: int, ntags: int, steps: int):
    """(walls[steps, ntags] float64, values[steps, ntags] float32, spike_step)."""
    rng = np.random.default_rng([seed, r])
    t0 = run_start(seed, r)
    s = np.arange(steps, dtype=np.float64)
    walls = t0 + 0.5 + s[:, None] * 0.05 + np.arange(ntags)[None, :] * 1e-4
    decay = rng.uniform(0.05, 0.5, size=ntags) * max(steps, 1)
    level = rng.uniform(0.1, 10.0, size=ntags)
    noise = rng.normal(0.0, 0.02, size=(steps, ntags))
    vals = level[None, :] * (np.exp(-s[:, None] / decay[None, :]) + 0.05) * (1.0 + noise)
    vals = vals.astype(np.float32)
    lo, hi = steps // 4, max(steps // 4 + 1, (3 * steps) // 4)
    spike_step = int(rng.integers(lo, hi))
    vals[spike_step, 0] = np.float32(SPIKE_VALUE)
    return walls, vals, spike_step


def _varint_class(steps: np.ndarray) -> np.ndarray:
    """Byte length of the step field's varint; 0 for step 0 (field omitted)."""
    c = np.zeros(steps.shape, dtype=np.int64)
    nz = steps > 0
    v = steps.astype(np.uint64)
    k = np.ones(steps.shape, dtype=np.int64)
    lim = np.uint64(128)
    while True:
        more = v >= lim
        if not more.any():
            break
        k += more
        lim = lim * np.uint64(128)
    c[nz] = k[nz]
    return c


def build_run(walls: np.ndarray, vals: np.ndarray, tags: list[str], t0: float) -> bytes:
    """All bytes of one run's event file."""
    steps, ntags = vals.shape
    first = record(b"\x09" + struct.pack("<d", t0) + b"\x1a" + varint(13) + b"brain.Event:2")
    step_arr = np.arange(steps, dtype=np.int64)
    vcls = _varint_class(step_arr)
    # record length per (step, tag): 12 + event + 4
    tag_b = [t.encode() for t in tags]
    vlen = [2 + len(tb) + 5 for tb in tag_b]  # Value: 0x0a len tag 0x15 f32
    for v in vlen:
        assert v < 128
    slen = [2 + v for v in vlen]  # Summary: 0x0a len Value
    ev_len_tag = np.array([9 + 2 + s for s in slen], dtype=np.int64)  # wall + (0x2a len Summary)
    step_part = np.where(vcls > 0, 1 + vcls, 0)  # 0x10 + varint
    ev_len = step_part[:, None] + ev_len_tag[None, :]  # [steps, ntags]
    rec_len = 16 + ev_len
    offs = np.empty(steps * ntags, dtype=np.int64)
    flat = rec_len.ravel()
    offs[0] = len(first)
    np.cumsum(flat[:-1], out=offs[1:])
    offs[1:] += len(first)
    total = len(first) + int(flat.sum())
    out = np.empty(total, dtype=np.uint8)
    out[: len(first)] = np.frombuffer(first, dtype=np.uint8)
    offs = offs.reshape(steps, ntags)

    for cls in np.unique(vcls):
        srows = np.nonzero(vcls == cls)[0]
        n = len(srows)
        sv = step_arr[srows].astype(np.uint64)
        for k, tb in enumerate(tag_b):
            L = int(ev_len_tag[k] + (1 + cls if cls > 0 else 0))
            m = np.empty((n, 16 + L), dtype=np.uint8)
            hdr = struct.pack("<Q", L)
            m[:, 0:8] = np.frombuffer(hdr, dtype=np.uint8)
            m[:, 8:12] = np.frombuffer(struct.pack("<I", masked_crc32c(hdr)), dtype=np.uint8)
            p = 12
            m[:, p] = 0x09
            m[:, p + 1 : p + 9] = np.ascontiguousarray(walls[srows, k]).view(np.uint8).reshape(n, 8)
            p += 9
            if cls > 0:
                m[:, p] = 0x10
                p += 1
                v = sv.copy()
                for i in range(int(cls)):
                    b = (v & np.uint64(0x7F)).astype(np.uint8)
                    if i < cls - 1:
                        b |= 0x80
                    m[:, p] = b
                    v >>= np.uint64(7)
                    p += 1
            tail = b"\x2a" + bytes([slen[k]]) + b"\x0a" + bytes([vlen[k]]) + b"\x0a" + bytes([len(tb)]) + tb + b"\x15"
            m[:, p : p + len(tail)] = np.frombuffer(tail, dtype=np.uint8)
            p += len(tail)
            m[:, p : p + 4] = np.ascontiguousarray(vals[srows, k]).view(np.uint8).reshape(n, 4)
            p += 4
            assert p == 12 + L
            crc = mask_crc(crc32c_rows(m[:, 12 : 12 + L]))
            m[:, p : p + 4] = crc.astype("<u4").view(np.uint8).reshape(n, 4)
            idx = offs[srows, k][:, None] + np.arange(16 + L, dtype=np.int64)[None, :]
            out[idx] = m
    return out.tobytes()


def event_filename(t0: float) -> str:
    return f"events.out.tfevents.{int(t0)}.bench"


def _write_run(args):
    out, seed, r, ntags, steps = args
    tags = tag_names(ntags)
    walls, vals, spike = run_data(seed, r, ntags, steps)
    t0 = run_start(seed, r)
    data = build_run(walls, vals, tags, t0)
    d = os.path.join(out, f"run_{r:04d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, event_filename(t0)), "wb") as f:
        f.write(data)
    vsum = math.fsum(vals.astype(np.float64).ravel().tolist())
    return r, len(data), spike, vsum


def generate(out: str, seed: int, runs: int, ntags: int, steps: int, jobs: int, shape: str) -> dict:
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    t = time.perf_counter()
    work = [(out, seed, r, ntags, steps) for r in range(runs)]
    if jobs > 1 and runs > 1:
        with mp.Pool(jobs) as pool:
            res = pool.map(_write_run, work, chunksize=1)
    else:
        res = [_write_run(w) for w in work]
    secs = time.perf_counter() - t
    res.sort()
    man = {
        "generator": "bench/gen_events.py",
        "generator_version": GENERATOR_VERSION,
        "shape": shape,
        "seed": seed,
        "dir": os.path.abspath(out),
        "runs": runs,
        "tags": tag_names(ntags),
        "n_tags": ntags,
        "steps": steps,
        "points": runs * ntags * steps,
        "files": runs,
        "bytes": sum(x[1] for x in res),
        "seconds": round(secs, 3),
        "jobs": jobs,
        "sum_steps": runs * ntags * (steps * (steps - 1) // 2),
        "value_fsum": math.fsum(x[3] for x in res),
        "spike": {"tag": SPIKE_TAG, "value": SPIKE_VALUE,
                  "steps": {f"run_{x[0]:04d}": x[2] for x in res}},
    }
    with open(out.rstrip("/") + ".manifest.json", "w") as f:
        json.dump(man, f, indent=1)
    return man


# ---------------------------------------------------------------- validation against tensorboardX
def validate(out: str, seed: int) -> dict:
    """Write the same run with tensorboardX's SummaryWriter and with this generator; compare bytes,
    then read both with TensorBoard's EventAccumulator and compare every scalar."""
    from tensorboardX import SummaryWriter
    from tensorboard.backend.event_processing import event_accumulator as ea

    ntags, steps = 3, 16500  # steps cross the 1-, 2- and 3-byte varint boundaries (128, 16384)
    res = {"ntags": ntags, "steps": steps, "checks": {}}
    if os.path.exists(out):
        shutil.rmtree(out)
    gen_dir, tbx_dir = os.path.join(out, "gen"), os.path.join(out, "tbx")
    os.makedirs(tbx_dir)
    _write_run((gen_dir, seed, 0, ntags, steps))
    gen_file = os.path.join(gen_dir, "run_0000", os.listdir(os.path.join(gen_dir, "run_0000"))[0])

    tags = tag_names(ntags)
    walls, vals, spike = run_data(seed, 0, ntags, steps)
    vals[1, 1] = np.float32(0.0)  # a zero simple_value (oneof: must still be written)
    vals[2, 2] = np.float32(-0.0)
    t0 = run_start(seed, 0)
    real_time = time.time
    time.time = lambda: t0  # the file_version event's wall_time (and the name's timestamp)
    try:
        w = SummaryWriter(tbx_dir, flush_secs=3600)
    finally:
        time.time = real_time
    t = time.perf_counter()
    for s in range(steps):
        for k, tag in enumerate(tags):
            w.add_scalar(tag, float(vals[s, k]), s, walltime=float(walls[s, k]))
    w.close()
    res["tensorboardx_seconds"] = round(time.perf_counter() - t, 3)
    tbx_file = os.path.join(tbx_dir, os.listdir(tbx_dir)[0])
    ours = build_run(walls, vals, tags, t0)
    with open(gen_file + ".zeros", "wb") as f:  # the same data incl. the zero values
        f.write(ours)
    with open(tbx_file, "rb") as f:
        theirs = f.read()
    res["checks"]["bytes_identical"] = ours == theirs
    res["bytes"] = [len(ours), len(theirs)]
    if ours != theirs:
        i = next((i for i in range(min(len(ours), len(theirs))) if ours[i] != theirs[i]), None)
        res["first_difference_at"] = i
    # the file written by the normal path (no zeros) equals build_run on unmodified data
    w2, v2, _ = run_data(seed, 0, ntags, steps)
    with open(gen_file, "rb") as f:
        res["checks"]["written_file_matches_build"] = f.read() == build_run(w2, v2, tags, t0)

    def load(path):
        acc = ea.EventAccumulator(path, size_guidance={ea.SCALARS: 0})
        acc.Reload()
        return {tag: [(e.wall_time, e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}

    a, b = load(tbx_file), load(gen_file + ".zeros")
    res["checks"]["accumulator_equal"] = a == b
    res["checks"]["accumulator_points"] = sum(len(v) for v in b.values()) == ntags * steps
    res["checks"]["spike_present"] = any(e[1] == spike and e[2] == SPIKE_VALUE for e in b[SPIKE_TAG])
    # an independent CRC: TensorBoard's own pure-Python one, on a few records
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_mcrc
    res["checks"]["crc_matches_tensorboard"] = all(
        tb_mcrc(x) == masked_crc32c(x) for x in [b"", b"a", b"123456789", ours[:100], ours[12:60]])
    res["ok"] = all(res["checks"].values())
    with open(os.path.join(out, "validation.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="small")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--tags", type=int)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--validate", action="store_true",
                    help="write one run with tensorboardX and with this generator into OUT and compare")
    a = ap.parse_args()
    if a.validate:
        res = validate(a.out, a.seed)
        print(json.dumps(res, indent=1))
        return 0 if res["ok"] else 1
    runs, ntags, steps = SHAPES[a.shape]
    custom = any(x is not None for x in (a.runs, a.tags, a.steps))
    runs = a.runs if a.runs is not None else runs
    ntags = a.tags if a.tags is not None else ntags
    steps = a.steps if a.steps is not None else steps
    man = generate(a.out, a.seed, runs, ntags, steps, a.jobs, "custom" if custom else a.shape)
    print(json.dumps({k: man[k] for k in ("shape", "runs", "n_tags", "steps", "points", "bytes", "seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
