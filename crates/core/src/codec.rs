//! The chunk codec: a block of points as compressed columns, plus its summary.
//!
//! Layout: varint n | steps (zigzag varint of the first step, then zigzag deltas) |
//! values (XOR with the previous bit pattern, stored as a control byte + the non-zero middle bytes) |
//! timestamps (one flag byte: 0 = all missing, 1 = XOR-coded like values).
//! Values and timestamps keep their exact bit patterns: NaN and ±inf survive.

use crate::model::Point;

/// Points per chunk. A chunk is the unit of decoding and of the M4 shortcut.
pub const CHUNK_POINTS: usize = 1024;

/// What the index keeps about a chunk beside its bytes, so queries can skip decoding it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChunkSummary {
    pub n: usize,
    pub first: Point,
    pub last: Point,
    /// Smallest finite value and its step (None when no value is finite).
    pub min: Option<(f64, i64)>,
    pub max: Option<(f64, i64)>,
    pub ts_min: f64,
    pub ts_max: f64,
    /// Timestamps of the min and max points (NaN when missing).
    pub min_ts: f64,
    pub max_ts: f64,
    /// Points that have a timestamp.
    pub n_ts: usize,
}

pub fn summarize(points: &[Point]) -> ChunkSummary {
    let mut min: Option<(f64, i64)> = None;
    let mut max: Option<(f64, i64)> = None;
    let (mut ts_min, mut ts_max) = (f64::NAN, f64::NAN);
    let (mut min_ts, mut max_ts) = (f64::NAN, f64::NAN);
    let mut n_ts = 0;
    for p in points {
        if p.value.is_finite() {
            if min.is_none_or(|(m, _)| p.value < m) {
                min = Some((p.value, p.step));
                min_ts = p.ts;
            }
            if max.is_none_or(|(m, _)| p.value > m) {
                max = Some((p.value, p.step));
                max_ts = p.ts;
            }
        }
        if !p.ts.is_nan() {
            n_ts += 1;
            ts_min = if ts_min.is_nan() { p.ts } else { ts_min.min(p.ts) };
            ts_max = if ts_max.is_nan() { p.ts } else { ts_max.max(p.ts) };
        }
    }
    ChunkSummary {
        n: points.len(),
        first: points[0],
        last: points[points.len() - 1],
        min,
        max,
        ts_min,
        ts_max,
        min_ts,
        max_ts,
        n_ts,
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_xor(out: &mut Vec<u8>, prev: &mut u64, bits: u64) {
    let x = bits ^ *prev;
    *prev = bits;
    if x == 0 {
        out.push(0x80);
        return;
    }
    let lead = (x.leading_zeros() / 8) as usize;
    let trail = (x.trailing_zeros() / 8) as usize;
    out.push(((lead as u8) << 4) | trail as u8);
    let bytes = x.to_be_bytes();
    out.extend_from_slice(&bytes[lead..8 - trail]);
}

pub fn encode(points: &[Point]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * 6 + 8);
    put_varint(&mut out, points.len() as u64);
    let mut prev_step = 0i64;
    for p in points {
        put_varint(&mut out, zigzag(p.step.wrapping_sub(prev_step)));
        prev_step = p.step;
    }
    let mut prev = 0u64;
    for p in points {
        put_xor(&mut out, &mut prev, p.value.to_bits());
    }
    if points.iter().all(|p| p.ts.is_nan()) {
        out.push(0);
    } else {
        out.push(1);
        let mut prev = 0u64;
        for p in points {
            put_xor(&mut out, &mut prev, p.ts.to_bits());
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error("corrupt chunk in the index")]
pub struct CorruptChunk;

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Result<u8, CorruptChunk> {
        let v = *self.b.get(self.i).ok_or(CorruptChunk)?;
        self.i += 1;
        Ok(v)
    }
    fn varint(&mut self) -> Result<u64, CorruptChunk> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(CorruptChunk)
    }
    fn xor(&mut self, prev: &mut u64) -> Result<u64, CorruptChunk> {
        let c = self.byte()?;
        if c == 0x80 {
            return Ok(*prev);
        }
        let (lead, trail) = ((c >> 4) as usize, (c & 15) as usize);
        if lead + trail > 8 {
            return Err(CorruptChunk);
        }
        let k = 8 - trail - lead;
        let src = self.b.get(self.i..self.i + k).ok_or(CorruptChunk)?;
        self.i += k;
        let mut bytes = [0u8; 8];
        bytes[lead..8 - trail].copy_from_slice(src);
        *prev ^= u64::from_be_bytes(bytes);
        Ok(*prev)
    }
}

/// Appends the chunk's points to `out`.
pub fn decode_into(data: &[u8], out: &mut Vec<Point>) -> Result<(), CorruptChunk> {
    decode_with(data, out, true)
}

/// Appends the chunk's points to `out`; without `with_ts` their times are left NaN (not decoded).
pub fn decode_with(data: &[u8], out: &mut Vec<Point>, with_ts: bool) -> Result<(), CorruptChunk> {
    let mut c = Cursor { b: data, i: 0 };
    let n = c.varint()? as usize;
    if n > data.len() * 8 {
        return Err(CorruptChunk);
    }
    let base = out.len();
    let mut step = 0i64;
    for _ in 0..n {
        step = step.wrapping_add(unzigzag(c.varint()?));
        out.push(Point { step, value: 0.0, ts: f64::NAN });
    }
    let mut prev = 0u64;
    for p in &mut out[base..] {
        p.value = f64::from_bits(c.xor(&mut prev)?);
    }
    if with_ts && c.byte()? == 1 {
        let mut prev = 0u64;
        for p in &mut out[base..] {
            p.ts = f64::from_bits(c.xor(&mut prev)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_bit() {
        let vals = [0.0, -0.0, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.1f32 as f64, 1e-300, f64::MAX];
        let pts: Vec<Point> = vals
            .iter()
            .enumerate()
            .map(|(i, &v)| Point {
                step: (i as i64) * 7 - 3,
                value: v,
                ts: if i % 3 == 0 { f64::NAN } else { 1.7e12 + i as f64 },
            })
            .collect();
        let mut back = Vec::new();
        decode_into(&encode(&pts), &mut back).unwrap();
        assert_eq!(back.len(), pts.len());
        for (a, b) in pts.iter().zip(&back) {
            assert_eq!(a.step, b.step);
            assert_eq!(a.value.to_bits(), b.value.to_bits());
            assert_eq!(a.ts.to_bits(), b.ts.to_bits());
        }
    }

    #[test]
    fn truncated_chunk_is_an_error_not_a_panic() {
        let pts: Vec<Point> = (0..50).map(|i| Point { step: i, value: i as f64 * 0.3, ts: 1e12 }).collect();
        let data = encode(&pts);
        for cut in 0..data.len() {
            let mut out = Vec::new();
            assert!(decode_into(&data[..cut], &mut out).is_err());
        }
    }
}
