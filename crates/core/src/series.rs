//! Metric series in the index: sorted chunks of compressed points with per-chunk summaries, plus a
//! per-series summary row for the run table. Appends touch only the last chunk; points that arrive
//! out of order rewrite the series, so every series stays sorted by (step, timestamp, file order).

use rusqlite::{params, Connection, OptionalExtension};

use crate::codec::{self, summarize, ChunkSummary, CHUNK_POINTS};
use crate::model::Point;

/// A last chunk smaller than this takes appended points into itself; a bigger one is left as it
/// is. Live appends (a few points every 100 ms) then rewrite at most this many points each.
pub const TAIL_MERGE: usize = 128;

fn real(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

struct Existing {
    sid: i64,
    count: i64,
    last: Point,
    min: Option<f64>,
    max: Option<f64>,
}

fn write_chunks(tx: &Connection, sid: i64, first_seq: i64, points: &[Point]) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO chunks(sid, seq, n, first_step, last_step, first_bits, last_bits, first_ts, last_ts, ts_min, ts_max,
                            vmin, vmin_step, vmax, vmax_step, data, n_ts, vmin_ts, vmax_ts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?;
    for (i, chunk) in points.chunks(CHUNK_POINTS).enumerate() {
        let s = summarize(chunk);
        st.execute(params![
            sid,
            first_seq + i as i64,
            s.n as i64,
            s.first.step,
            s.last.step,
            s.first.value.to_bits() as i64,
            s.last.value.to_bits() as i64,
            real(s.first.ts),
            real(s.last.ts),
            real(s.ts_min),
            real(s.ts_max),
            s.min.map(|m| m.0),
            s.min.map(|m| m.1),
            s.max.map(|m| m.0),
            s.max.map(|m| m.1),
            codec::encode(chunk),
            s.n_ts as i64,
            real(s.min_ts),
            real(s.max_ts),
        ])?;
    }
    Ok(())
}

fn decode_chunks(tx: &Connection, sid: i64, from_seq: i64) -> rusqlite::Result<Vec<Point>> {
    let mut st = tx.prepare_cached("SELECT data FROM chunks WHERE sid = ?1 AND seq >= ?2 ORDER BY seq")?;
    let mut out = Vec::new();
    let mut rows = st.query(params![sid, from_seq])?;
    while let Some(r) = rows.next()? {
        let data: Vec<u8> = r.get(0)?;
        codec::decode_into(&data, &mut out).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    }
    Ok(out)
}

/// Adds `points` (in file order) to the series `key` of run `run`, owned by `file`.
/// `new_series` promises that the run has no series `key` yet (its unit is new to the index).
pub fn append(
    tx: &Connection,
    run: i64,
    key: &str,
    file: &str,
    mut points: Vec<Point>,
    new_series: bool,
) -> rusqlite::Result<()> {
    if points.is_empty() {
        return Ok(());
    }
    points.sort_by(Point::cmp_order); // stable: file order breaks ties
    let existing = if new_series {
        None
    } else {
        tx.prepare_cached(
            "SELECT sid, count, last_bits, last_step, last_ts, min, max FROM series WHERE run = ?1 AND key = ?2",
        )?
        .query_row(params![run, key], |r| {
            Ok(Existing {
                sid: r.get(0)?,
                count: r.get(1)?,
                last: Point {
                    value: f64::from_bits(r.get::<_, i64>(2)? as u64),
                    step: r.get(3)?,
                    ts: r.get::<_, Option<f64>>(4)?.unwrap_or(f64::NAN),
                },
                min: r.get(5)?,
                max: r.get(6)?,
            })
        })
        .optional()?
    };
    let (sid, all_count, tail_from_seq, tail, min, max) = match existing {
        None => {
            // A new series: one insert with its summary, then its chunks.
            let s = summarize(&points);
            tx.prepare_cached(
                "INSERT INTO series(run, key, file, count, last, last_bits, last_step, last_ts, first_step, min, max)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                run,
                key,
                file,
                points.len() as i64,
                real(s.last.value),
                s.last.value.to_bits() as i64,
                s.last.step,
                real(s.last.ts),
                s.first.step,
                s.min.map(|m| m.0),
                s.max.map(|m| m.0)
            ])?;
            return write_chunks(tx, tx.last_insert_rowid(), 0, &points);
        }
        Some(e) => {
            let in_order = points[0].cmp_order(&e.last) != std::cmp::Ordering::Less;
            if in_order {
                // Only a small last chunk is rewritten with the new points; past TAIL_MERGE points
                // they start a new chunk. So a live append costs O(new points), not O(chunk).
                let (seq, n): (i64, i64) = tx
                    .prepare_cached("SELECT seq, n FROM chunks WHERE sid = ?1 ORDER BY seq DESC LIMIT 1")?
                    .query_row([e.sid], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if (n as usize) < TAIL_MERGE {
                    let mut tail = decode_chunks(tx, e.sid, seq)?;
                    tx.prepare_cached("DELETE FROM chunks WHERE sid = ?1 AND seq >= ?2")?
                        .execute(params![e.sid, seq])?;
                    tail.extend(points);
                    (e.sid, e.count - n, seq, tail, e.min, e.max)
                } else {
                    (e.sid, e.count, seq + 1, points, e.min, e.max)
                }
            } else {
                let mut all = decode_chunks(tx, e.sid, 0)?;
                all.extend(points);
                all.sort_by(Point::cmp_order);
                tx.prepare_cached("DELETE FROM chunks WHERE sid = ?1")?.execute([e.sid])?;
                (e.sid, 0, 0, all, None, None)
            }
        }
    };
    write_chunks(tx, sid, tail_from_seq, &tail)?;
    let s: ChunkSummary = summarize(&tail);
    let min = match (min, s.min) {
        (Some(a), Some((b, _))) => Some(a.min(b)),
        (a, b) => a.or(b.map(|x| x.0)),
    };
    let max = match (max, s.max) {
        (Some(a), Some((b, _))) => Some(a.max(b)),
        (a, b) => a.or(b.map(|x| x.0)),
    };
    let first_step: i64 = if tail_from_seq == 0 {
        s.first.step
    } else {
        tx.prepare_cached("SELECT first_step FROM chunks WHERE sid = ?1 AND seq = 0")?.query_row([sid], |r| r.get(0))?
    };
    tx.prepare_cached(
        "UPDATE series SET count = ?2, last = ?3, last_bits = ?4, last_step = ?5, last_ts = ?6, first_step = ?7, min = ?8, max = ?9, file = ?10 WHERE sid = ?1",
    )?
    .execute(params![
        sid,
        all_count + tail.len() as i64,
        real(s.last.value),
        s.last.value.to_bits() as i64,
        s.last.step,
        real(s.last.ts),
        first_step,
        min,
        max,
        file
    ])?;
    Ok(())
}

/// One chunk's summary as stored, for queries that can skip decoding.
#[derive(Clone, Debug)]
pub struct StoredChunk {
    pub summary: ChunkSummary,
    pub seq: i64,
}

/// Every point of a series, sorted.
pub fn read_all(conn: &rusqlite::Connection, sid: i64) -> rusqlite::Result<Vec<Point>> {
    let mut st = conn.prepare_cached("SELECT data FROM chunks WHERE sid = ?1 ORDER BY seq")?;
    let mut out = Vec::new();
    let mut rows = st.query([sid])?;
    while let Some(r) = rows.next()? {
        let data = r.get_ref(0)?.as_blob()?;
        codec::decode_into(data, &mut out).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    }
    Ok(out)
}

/// Which coordinate buckets are cut along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XAxis {
    Step,
    /// Wall-clock time (ms since the epoch).
    Time,
}

fn x_of(p: &Point, axis: XAxis) -> f64 {
    match axis {
        XAxis::Step => p.step as f64,
        XAxis::Time => p.ts,
    }
}

/// M4 downsampling: for each of `buckets` equal-width buckets over [x0, x1], the first, last, min
/// and max point (each once, in series order). Chunks that fall inside one bucket are merged from
/// their summaries without being decoded, so the cost follows the buckets, not the points.
/// Along the time axis, points without a time are left out; along steps, the points' `ts` is NaN
/// (a step chart has no use for it, and not decoding it saves a third of the work).
pub fn m4(
    conn: &rusqlite::Connection,
    sid: i64,
    buckets: usize,
    axis: XAxis,
    range: Option<(f64, f64)>,
) -> rusqlite::Result<Vec<Point>> {
    let buckets = buckets.max(1);
    let mut st = conn.prepare_cached(
        "SELECT seq, n, first_step, last_step, first_bits, last_bits, first_ts, last_ts, ts_min, ts_max, vmin, vmin_step, vmax, vmax_step,
                n_ts, vmin_ts, vmax_ts
         FROM chunks WHERE sid = ?1 AND last_step >= ?2 AND first_step <= ?3 ORDER BY seq",
    )?;
    // Along steps, chunks are sorted by step: read only the summaries of those the range touches.
    let (s_lo, s_hi) = match (axis, range) {
        (XAxis::Step, Some((a, b))) => (a.floor().max(i64::MIN as f64) as i64, b.ceil().min(i64::MAX as f64) as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let chunks: Vec<StoredChunk> = st
        .query_map(params![sid, s_lo, s_hi], |r| {
            let first_ts: Option<f64> = r.get(6)?;
            let last_ts: Option<f64> = r.get(7)?;
            Ok(StoredChunk {
                seq: r.get(0)?,
                summary: ChunkSummary {
                    n: r.get::<_, i64>(1)? as usize,
                    first: Point {
                        step: r.get(2)?,
                        value: f64::from_bits(r.get::<_, i64>(4)? as u64),
                        ts: first_ts.unwrap_or(f64::NAN),
                    },
                    last: Point {
                        step: r.get(3)?,
                        value: f64::from_bits(r.get::<_, i64>(5)? as u64),
                        ts: last_ts.unwrap_or(f64::NAN),
                    },
                    ts_min: r.get::<_, Option<f64>>(8)?.unwrap_or(f64::NAN),
                    ts_max: r.get::<_, Option<f64>>(9)?.unwrap_or(f64::NAN),
                    min: r.get::<_, Option<f64>>(10)?.zip(r.get::<_, Option<i64>>(11)?),
                    max: r.get::<_, Option<f64>>(12)?.zip(r.get::<_, Option<i64>>(13)?),
                    n_ts: r.get::<_, i64>(14)? as usize,
                    min_ts: r.get::<_, Option<f64>>(15)?.unwrap_or(f64::NAN),
                    max_ts: r.get::<_, Option<f64>>(16)?.unwrap_or(f64::NAN),
                },
            })
        })?
        .collect::<Result<_, _>>()?;
    if chunks.is_empty() {
        return Ok(Vec::new());
    }
    let (lo, hi) = match (range, axis) {
        (Some(r), _) => r,
        (None, XAxis::Step) => (chunks[0].summary.first.step as f64, chunks[chunks.len() - 1].summary.last.step as f64),
        (None, XAxis::Time) => {
            let lo = chunks.iter().map(|c| c.summary.ts_min).fold(f64::NAN, f64::min);
            let hi = chunks.iter().map(|c| c.summary.ts_max).fold(f64::NAN, f64::max);
            if lo.is_nan() {
                return Ok(Vec::new());
            }
            (lo, hi)
        }
    };
    let width = (hi - lo) / buckets as f64;
    let bucket_of = |x: f64| -> usize {
        if width <= 0.0 || !width.is_finite() {
            0
        } else {
            (((x - lo) / width).floor().max(0.0) as usize).min(buckets - 1)
        }
    };
    let mut acc = M4Acc::default();
    let mut out = Vec::new();
    let mut data_stmt = conn.prepare_cached("SELECT data FROM chunks WHERE sid = ?1 AND seq = ?2")?;
    let mut buf = Vec::new();
    for c in &chunks {
        let s = &c.summary;
        // Along steps, chunks are sorted: skip those outside the range, and take whole ones that
        // lie inside one bucket from the summary.
        if axis == XAxis::Step {
            if (s.last.step as f64) < lo || (s.first.step as f64) > hi {
                continue;
            }
            let (b0, b1) = (bucket_of(s.first.step as f64), bucket_of(s.last.step as f64));
            if b0 == b1 && s.first.step as f64 >= lo && s.last.step as f64 <= hi {
                acc.merge_summary(b0, s, &mut out);
                continue;
            }
        } else {
            if s.ts_max.is_nan() || s.ts_max < lo || s.ts_min > hi {
                continue;
            }
            // Every point has a time, all inside the range and one bucket: the summary will do.
            let (b0, b1) = (bucket_of(s.ts_min), bucket_of(s.ts_max));
            if b0 == b1 && s.n_ts == s.n && s.ts_min >= lo && s.ts_max <= hi {
                acc.merge_summary(b0, s, &mut out);
                continue;
            }
        }
        buf.clear();
        let data: Vec<u8> = data_stmt.query_row(params![sid, c.seq], |r| r.get(0))?;
        // Along steps the times are not needed: leave them undecoded.
        codec::decode_with(&data, &mut buf, axis == XAxis::Time)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        for p in &buf {
            let x = x_of(p, axis);
            if x.is_nan() || x < lo || x > hi {
                continue;
            }
            acc.push(bucket_of(x), *p, &mut out);
        }
    }
    acc.flush(&mut out);
    if axis == XAxis::Step {
        // Only (step, value) matter along steps; times would be filled for some points only.
        for p in &mut out {
            p.ts = f64::NAN;
        }
    }
    Ok(out)
}

/// The M4 state of the bucket being filled: first, last, min and max with their positions.
#[derive(Default)]
struct M4Acc {
    bucket: Option<usize>,
    next: u64,
    first: Option<(u64, Point)>,
    last: Option<(u64, Point)>,
    min: Option<(u64, Point)>,
    max: Option<(u64, Point)>,
}

impl M4Acc {
    fn start(&mut self, b: usize, out: &mut Vec<Point>) {
        if self.bucket != Some(b) {
            self.flush(out);
            self.bucket = Some(b);
        }
    }
    fn add(&mut self, i: u64, p: Point) {
        if self.first.is_none() {
            self.first = Some((i, p));
        }
        if self.last.is_none_or(|(j, _)| i >= j) {
            self.last = Some((i, p));
        }
        if p.value.is_finite() {
            if self.min.is_none_or(|(_, m)| p.value < m.value) {
                self.min = Some((i, p));
            }
            if self.max.is_none_or(|(_, m)| p.value > m.value) {
                self.max = Some((i, p));
            }
        }
    }
    fn push(&mut self, b: usize, p: Point, out: &mut Vec<Point>) {
        self.start(b, out);
        let i = self.next;
        self.next += 1;
        self.add(i, p);
    }
    /// A whole chunk inside one bucket, from its summary.
    fn merge_summary(&mut self, b: usize, s: &ChunkSummary, out: &mut Vec<Point>) {
        self.start(b, out);
        let base = self.next;
        let n = s.n.max(1) as u64;
        self.next += n;
        let at = |step: i64, other: Option<i64>| -> u64 {
            if step == s.first.step {
                base
            } else if step == s.last.step {
                base + n - 1
            } else {
                base + 1 + u64::from(other.is_some_and(|o| o < step))
            }
        };
        self.add(base, s.first);
        let (min_step, max_step) = (s.min.map(|m| m.1), s.max.map(|m| m.1));
        if let Some((v, step)) = s.min {
            self.add(at(step, max_step), Point { step, value: v, ts: s.min_ts });
        }
        if let Some((v, step)) = s.max {
            self.add(at(step, min_step), Point { step, value: v, ts: s.max_ts });
        }
        self.add(base + n - 1, s.last);
    }
    fn flush(&mut self, out: &mut Vec<Point>) {
        if self.bucket.is_some() {
            let mut picks: Vec<(u64, Point)> =
                [self.first, self.min, self.max, self.last].into_iter().flatten().collect();
            picks.sort_by_key(|(i, _)| *i);
            let start = out.len();
            for (_, p) in picks {
                if !out[start..].iter().any(|q| same(q, &p)) {
                    out.push(p);
                }
            }
        }
        let next = self.next;
        *self = M4Acc { next, ..Default::default() };
    }
}

/// Two points are the same on a chart when step and value agree.
fn same(a: &Point, b: &Point) -> bool {
    a.step == b.step && a.value.to_bits() == b.value.to_bits()
}

/// M4 over points in memory: the reference the chunked version is tested against, and the way the
/// CLI downsamples a series it already holds.
pub fn m4_points(points: &[Point], buckets: usize, lo: f64, hi: f64) -> Vec<Point> {
    m4_points_along(points, buckets, lo, hi, XAxis::Step)
}

/// `m4_points` along either axis; points without a coordinate are left out.
pub fn m4_points_along(points: &[Point], buckets: usize, lo: f64, hi: f64, axis: XAxis) -> Vec<Point> {
    let buckets = buckets.max(1);
    let width = (hi - lo) / buckets as f64;
    let mut acc = M4Acc::default();
    let mut out = Vec::new();
    for p in points {
        let x = x_of(p, axis);
        if x.is_nan() || x < lo || x > hi {
            continue;
        }
        let b = if width <= 0.0 || !width.is_finite() {
            0
        } else {
            (((x - lo) / width).floor().max(0.0) as usize).min(buckets - 1)
        };
        acc.push(b, *p, &mut out);
    }
    acc.flush(&mut out);
    out
}
