//! A column chunk of a flat Parquet file read page by page for `data show`: dictionary-encoded
//! values are counted by their index and added to the column once per distinct value (no
//! per-value decoding or hashing), plain values one by one. The record reader
//! ([`super::scan_parquet_groups`]) reads the chunks this does not take (booleans, other
//! encodings), as their metadata tells before any page is read.

use parquet::basic::{Encoding, Type as Physical};
use parquet::column::page::Page;

use super::stats::Column;

/// A dictionary page's values.
enum Dict {
    /// Integers (true) or floats, as f64.
    Num(Vec<f64>, bool),
    Text(Vec<Vec<u8>>),
}

/// Whether [`read_chunk`] reads a chunk, by its metadata: a number or text column, flat, its
/// values plain or dictionary-encoded, its levels RLE.
pub(crate) fn takes(chunk: &parquet::file::metadata::ColumnChunkMetaData, max_def: i16) -> bool {
    max_def <= 1
        && matches!(
            chunk.column_type(),
            Physical::INT32 | Physical::INT64 | Physical::FLOAT | Physical::DOUBLE | Physical::BYTE_ARRAY
        )
        && chunk.encodings().all(|e| {
            matches!(e, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY | Encoding::RLE)
        })
}

/// Reads a chunk [`takes`] into `col`; false when a page is not as its metadata said, or its data
/// ends early (then `col` holds part of the chunk).
pub(crate) fn read_chunk(
    pages: &mut dyn Iterator<Item = parquet::errors::Result<Page>>,
    ty: Physical,
    max_def: i16,
    col: &mut Column,
) -> bool {
    if max_def > 1 {
        return false;
    }
    let mut dict: Option<Dict> = None;
    let mut counts: Vec<u64> = Vec::new();
    loop {
        let page = match pages.next() {
            Some(Ok(p)) => p,
            None => break,
            Some(Err(_)) => return false,
        };
        match page {
            Page::DictionaryPage { buf, num_values, encoding, .. } => {
                if dict.is_some() || !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                    return false;
                }
                let n = num_values as usize;
                let d = match ty {
                    Physical::INT32 => {
                        Dict::Num(fixed::<4>(&buf, n).map(|b| i32::from_le_bytes(b) as f64).collect(), true)
                    }
                    Physical::INT64 => {
                        Dict::Num(fixed::<8>(&buf, n).map(|b| i64::from_le_bytes(b) as f64).collect(), true)
                    }
                    Physical::FLOAT => {
                        Dict::Num(fixed::<4>(&buf, n).map(|b| f32::from_le_bytes(b) as f64).collect(), false)
                    }
                    Physical::DOUBLE => Dict::Num(fixed::<8>(&buf, n).map(f64::from_le_bytes).collect(), false),
                    Physical::BYTE_ARRAY => {
                        // At least 4 bytes a value: a count the page cannot hold is not believed.
                        let mut v = Vec::with_capacity(n.min(buf.len() / 4));
                        let mut at = 0;
                        for _ in 0..n {
                            match byte_array(&buf, &mut at) {
                                Some(b) => v.push(b.to_vec()),
                                None => return false,
                            }
                        }
                        Dict::Text(v)
                    }
                    _ => return false,
                };
                let len = match &d {
                    Dict::Num(v, _) => v.len(),
                    Dict::Text(v) => v.len(),
                };
                if len != n {
                    return false;
                }
                counts = vec![0; n];
                dict = Some(d);
            }
            Page::DataPage { buf, num_values, encoding, def_level_encoding, .. } => {
                let n = num_values as usize;
                let (present, values) = if max_def == 0 {
                    (n, &buf[..])
                } else {
                    if def_level_encoding != Encoding::RLE || buf.len() < 4 {
                        return false;
                    }
                    let len = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
                    let Some(levels) = buf.get(4..4 + len) else { return false };
                    let Some(present) = count_present(levels, n) else { return false };
                    (present, &buf[4 + len..])
                };
                col.push_nulls((n - present) as u64);
                if !values_into(values, encoding, ty, present, dict.as_ref(), &mut counts, col) {
                    return false;
                }
            }
            Page::DataPageV2 {
                buf, num_values, encoding, num_nulls, def_levels_byte_len, rep_levels_byte_len, ..
            } => {
                let skip = def_levels_byte_len as usize + rep_levels_byte_len as usize;
                let (n, nulls) = (num_values as usize, num_nulls as usize);
                if rep_levels_byte_len != 0 || nulls > n || skip > buf.len() || (max_def == 0 && nulls > 0) {
                    return false;
                }
                col.push_nulls(nulls as u64);
                if !values_into(&buf[skip..], encoding, ty, n - nulls, dict.as_ref(), &mut counts, col) {
                    return false;
                }
            }
        }
    }
    // Each dictionary value once, with its count.
    match dict {
        Some(Dict::Num(v, int)) => {
            for (x, &c) in v.iter().zip(&counts).filter(|e| *e.1 > 0) {
                if x.is_nan() {
                    col.push_nulls(c);
                } else {
                    col.push_num_n(*x, int, c);
                }
            }
        }
        Some(Dict::Text(v)) => {
            for (b, &c) in v.iter().zip(&counts).filter(|e| *e.1 > 0) {
                col.push_text_lossy_n(b, c);
            }
        }
        None => {}
    }
    true
}

/// A data page's `n` present values: dictionary indices counted, or plain values added.
fn values_into(
    buf: &[u8],
    encoding: Encoding,
    ty: Physical,
    n: usize,
    dict: Option<&Dict>,
    counts: &mut [u64],
    col: &mut Column,
) -> bool {
    match encoding {
        Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => {
            if dict.is_none() || buf.is_empty() {
                return n == 0 && dict.is_some();
            }
            let width = buf[0];
            let size = counts.len() as u32;
            let mut ok = true;
            let read = hybrid(&buf[1..], width, n, |v, k| {
                if v < size {
                    counts[v as usize] += k as u64;
                } else {
                    ok = false;
                }
            });
            read.is_some() && ok
        }
        Encoding::PLAIN => match ty {
            Physical::INT32 => plain(buf, n, |b: [u8; 4]| col.push_num(i32::from_le_bytes(b) as f64, true)),
            Physical::INT64 => plain(buf, n, |b: [u8; 8]| col.push_num(i64::from_le_bytes(b) as f64, true)),
            Physical::FLOAT => plain(buf, n, |b: [u8; 4]| {
                let x = f32::from_le_bytes(b);
                if x.is_nan() {
                    col.push_null()
                } else {
                    col.push_num(x as f64, false)
                }
            }),
            Physical::DOUBLE => plain(buf, n, |b: [u8; 8]| {
                let x = f64::from_le_bytes(b);
                if x.is_nan() {
                    col.push_null()
                } else {
                    col.push_num(x, false)
                }
            }),
            Physical::BYTE_ARRAY => {
                let mut at = 0;
                for _ in 0..n {
                    match byte_array(buf, &mut at) {
                        Some(b) => col.push_text_lossy(b),
                        None => return false,
                    }
                }
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// `n` fixed-width values; fewer when `buf` is short.
fn fixed<const W: usize>(buf: &[u8], n: usize) -> impl Iterator<Item = [u8; W]> + '_ {
    buf.chunks_exact(W).take(n).map(|c| c.try_into().unwrap())
}

/// Adds `n` fixed-width plain values; false when `buf` holds fewer.
fn plain<const W: usize>(buf: &[u8], n: usize, mut add: impl FnMut([u8; W])) -> bool {
    if buf.len() / W < n {
        return false;
    }
    fixed::<W>(buf, n).for_each(&mut add);
    true
}

/// A plain byte array (its 4-byte length, then its bytes) at `at`, moving past it.
fn byte_array<'a>(buf: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let len = u32::from_le_bytes(buf.get(*at..*at + 4)?.try_into().ok()?) as usize;
    let b = buf.get(*at + 4..(*at + 4).checked_add(len)?)?;
    *at += 4 + len;
    Some(b)
}

/// How many of `n` definition levels (bit width 1, the RLE/bit-packed hybrid) are 1; None when
/// one is neither 0 nor 1.
fn count_present(levels: &[u8], n: usize) -> Option<usize> {
    let (mut present, mut bad) = (0, false);
    hybrid(levels, 1, n, |v, k| match v {
        0 => {}
        1 => present += k,
        _ => bad = true,
    })?;
    (!bad).then_some(present)
}

/// Decodes `n` values of the RLE/bit-packed hybrid encoding of bit width `width` (at most 32),
/// handing each run to `f` (the value, how many times); None when the data ends early.
fn hybrid(data: &[u8], width: u8, n: usize, mut f: impl FnMut(u32, usize)) -> Option<()> {
    let w = width as usize;
    if w > 32 {
        return None;
    }
    let mask: u64 = if w == 0 { 0 } else { u64::MAX >> (64 - w) };
    let mut pos = 0;
    let mut left = n;
    while left > 0 {
        // The run's header, a ULEB128 varint.
        let mut header = 0u64;
        let mut shift = 0;
        loop {
            let b = *data.get(pos)?;
            pos += 1;
            header |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
        if header & 1 == 0 {
            // A repeated value, in (w + 7) / 8 bytes.
            let run = (header >> 1) as usize;
            let bytes = w.div_ceil(8);
            let mut v = 0u32;
            for (i, &b) in data.get(pos..pos + bytes)?.iter().enumerate() {
                v |= (b as u32) << (8 * i);
            }
            pos += bytes;
            let k = run.min(left);
            if k == 0 {
                return None;
            }
            f(v, k);
            left -= k;
        } else {
            // Groups of 8 values, bit-packed from the least significant bit.
            let groups = (header >> 1) as usize;
            if groups == 0 {
                return None;
            }
            let bytes = groups.checked_mul(w)?;
            let packed = data.get(pos..pos.checked_add(bytes)?)?;
            pos += bytes;
            let k = groups.saturating_mul(8).min(left);
            let (mut acc, mut bits, mut at) = (0u64, 0usize, 0usize);
            for _ in 0..k {
                while bits < w {
                    acc |= (packed[at] as u64) << bits;
                    at += 1;
                    bits += 8;
                }
                f((acc & mask) as u32, 1);
                acc >>= w;
                bits -= w;
            }
            left -= k;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hybrid_encoding_decodes_runs_and_packed_groups() {
        // A run of 5 threes (width 2), then one group of 8 packed values 0..7 (width 3).
        let run = [5 << 1, 3];
        let mut got = Vec::new();
        hybrid(&run, 2, 5, |v, k| got.extend(std::iter::repeat_n(v, k))).unwrap();
        assert_eq!(got, vec![3; 5]);
        // 0..7 at 3 bits each, least significant bit first: 24 bits.
        let mut bits = 0u32;
        for v in 0..8u32 {
            bits |= v << (3 * v);
        }
        let packed = [(1 << 1) | 1, bits as u8, (bits >> 8) as u8, (bits >> 16) as u8];
        let mut got = Vec::new();
        hybrid(&packed, 3, 6, |v, k| got.extend(std::iter::repeat_n(v, k))).unwrap();
        assert_eq!(got, vec![0, 1, 2, 3, 4, 5]);
        // Data that ends early is refused.
        assert!(hybrid(&packed[..2], 3, 8, |_, _| {}).is_none());
        assert!(hybrid(&[5 << 1], 2, 5, |_, _| {}).is_none());
        // A huge count of zero-width groups (found by fuzzing) reads the values asked for.
        let mut n = 0;
        hybrid(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], 0, 5, |_, k| n += k).unwrap();
        assert_eq!(n, 5);
        // Definition levels: 0 or 1 only (a run of 3s is damage, not three values present).
        assert_eq!(count_present(&[4 << 1, 1, 2 << 1, 0], 6), Some(4));
        assert_eq!(count_present(&[4 << 1, 3], 4), None);
    }
}
