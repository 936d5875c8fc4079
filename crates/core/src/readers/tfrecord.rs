//! TFRecord framing, as TensorBoard event files use it:
//! `u64 len | u32 masked_crc32c(len) | data[len] | u32 masked_crc32c(data)`, little-endian.
//!
//! A record cut short at the end of the file is not an error: the writer is still writing it, and
//! the next read resumes at its start. A bad length checksum or an absurd length stops the file
//! (nothing after it can be trusted to be a record boundary); a bad data checksum skips one record.

use std::io::{self, Read};

/// Longer records are refused without allocating: TensorBoard's own summaries stay far below this
/// (images and graphs included).
pub const MAX_RECORD: u64 = 256 << 20;

pub fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c::crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// What the next read of a record file gave.
pub enum Step<'a> {
    /// A record whose checksums hold, and where it starts.
    Record { at: u64, data: &'a [u8] },
    /// A record of `len` bytes at `at` whose data checksum fails: skipped.
    Corrupt { at: u64, len: u64 },
    /// The end of the file, or a record not yet complete: resume at `Records::offset` later.
    End,
    /// A bad length checksum or length: nothing after `at` is read.
    Broken { at: u64, why: String },
}

/// Reads records one at a time from `r`, which starts at byte `offset` of its file and ends at
/// byte `end`.
pub struct Records<R> {
    r: R,
    /// Just past the last whole record (or the start of a broken one).
    pub offset: u64,
    end: u64,
    buf: Vec<u8>,
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> Records<R> {
    pub fn new(r: R, offset: u64, end: u64) -> Records<R> {
        Records { r, offset, end, buf: Vec::new() }
    }

    pub fn next_record(&mut self) -> io::Result<Step<'_>> {
        let mut head = [0u8; 12];
        let n = fill(&mut self.r, &mut head)?;
        if n < head.len() {
            return Ok(Step::End);
        }
        let len = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
        let len_crc = u32::from_le_bytes(head[8..].try_into().expect("4 bytes"));
        if masked_crc(&head[..8]) != len_crc {
            let why = if head.iter().all(|&b| b == 0) {
                "zero bytes where a record should start (a zero-filled tail)".to_string()
            } else {
                "bad length checksum".to_string()
            };
            return Ok(Step::Broken { at: self.offset, why });
        }
        if len > MAX_RECORD {
            return Ok(Step::Broken {
                at: self.offset,
                why: format!("a record length of {len} bytes, over the {} MiB limit", MAX_RECORD >> 20),
            });
        }
        // Never allocate for bytes the file does not hold: a record cut by the end is read later.
        if self.offset + 12 + len + 4 > self.end {
            return Ok(Step::End);
        }
        let total = len as usize + 4;
        self.buf.resize(total, 0);
        if fill(&mut self.r, &mut self.buf)? < total {
            return Ok(Step::End);
        }
        let at = self.offset;
        self.offset += 12 + total as u64;
        let (data, crc) = self.buf.split_at(len as usize);
        if masked_crc(data) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            return Ok(Step::Corrupt { at, len });
        }
        Ok(Step::Record { at, data })
    }
}

/// One record's bytes, framed: for tests and tools that write event files.
pub fn frame(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(bytes: &[u8]) -> Vec<String> {
        let mut r = Records::new(bytes, 0, bytes.len() as u64);
        let mut out = Vec::new();
        loop {
            match r.next_record().unwrap() {
                Step::Record { data, .. } => out.push(format!("rec {}", data.len())),
                Step::Corrupt { at, len } => out.push(format!("corrupt {at} {len}")),
                Step::End => {
                    out.push(format!("end {}", r.offset));
                    return out;
                }
                Step::Broken { at, why } => {
                    out.push(format!("broken {at} {why}"));
                    return out;
                }
            }
        }
    }

    /// A record length the file cannot hold (200 MiB in a few bytes) allocates nothing: it is a cut
    /// record, read when the bytes arrive.
    #[test]
    fn a_length_past_the_end_allocates_nothing() {
        let len = (200u64 << 20).to_le_bytes();
        let mut bytes = len.to_vec();
        bytes.extend(masked_crc(&len).to_le_bytes());
        bytes.extend([0u8; 64]);
        let mut r = Records::new(&bytes[..], 0, bytes.len() as u64);
        assert!(matches!(r.next_record().unwrap(), Step::End));
        assert_eq!(r.offset, 0);
        assert!(r.buf.capacity() < 1024, "no allocation for a record the file does not hold");
    }

    #[test]
    #[allow(clippy::manual_rotate)] // spelled as TensorFlow's header spells it
    fn the_masked_crc_matches_tensorflow() {
        // TensorFlow's crc32c test vector, then masked as in tensorflow/core/lib/hash/crc32c.h.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        let c: u32 = 0xe306_9283;
        assert_eq!(masked_crc(b"123456789"), ((c >> 15) | (c << 17)).wrapping_add(0xa282_ead8));
    }

    #[test]
    fn cut_records_wait_and_bad_ones_are_named() {
        let mut file = frame(b"hello");
        file.extend(frame(b"world!"));
        assert_eq!(steps(&file), ["rec 5", "rec 6", "end 43"]);
        for cut in 0..file.len() {
            let got = steps(&file[..cut]);
            let expect_offset = if cut >= 21 { 21 } else { 0 };
            assert_eq!(got.last().unwrap(), &format!("end {expect_offset}"), "cut at {cut}");
        }
        let mut bad = file.clone();
        bad[14] ^= 1; // data of the first record
        assert_eq!(steps(&bad), ["corrupt 0 5", "rec 6", "end 43"]);
        let mut bad = file.clone();
        bad[21 + 8] ^= 1; // length checksum of the second record
        assert_eq!(steps(&bad), ["rec 5", "broken 21 bad length checksum"]);
        let mut zeros = frame(b"hello");
        zeros.extend([0u8; 40]);
        assert!(steps(&zeros)[1].starts_with("broken 21 zero bytes"));
        let huge = (1u64 << 63).to_le_bytes();
        let mut absurd = huge.to_vec();
        absurd.extend(masked_crc(&huge).to_le_bytes());
        assert!(steps(&absurd)[0].starts_with("broken 0 a record length of 9223372036854775808 bytes"));
    }
}
