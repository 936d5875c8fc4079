//! The framing of W&B's `.wandb` transaction log (`run-<id>.wandb`): leveldb's log format with
//! three changes, as `wandb-core` writes it (`core/pkg/leveldb`):
//!
//! - a 7-byte file header: `":W&B"`, u16le 0xBEE1, u8 version 0; it belongs to block 0;
//! - 32 KiB blocks from file offset 0; a chunk never crosses a block end, and fewer than 7 bytes
//!   left in a block are zero padding;
//! - chunk = `crc u32le | length u16le | type u8 | payload`, type 1 FULL, 2 FIRST, 3 MIDDLE,
//!   4 LAST; `crc` is plain CRC-32/IEEE (zlib's) of the type byte and the payload, not masked.
//!
//! A record is one FULL chunk, or FIRST, MIDDLE..., LAST. A record not complete at the end of the
//! file is not an error: the writer buffers whole blocks, so a live or killed run ends anywhere.
//! Reading stops before it and `Log::offset` is where to resume.
//!
//! Damage is skipped, never trusted: a chunk whose checksum fails loses its record, and a chunk
//! header that cannot be right (unknown type, a length past the block end) loses the rest of its
//! block; the next block starts a clean chunk again. A skip is reported only once the reader is
//! past it at a record boundary, so a resumed read never reports it twice.

use std::io::{self, Read};

pub const FILE_HEADER: [u8; 7] = [0x3a, 0x57, 0x26, 0x42, 0xe1, 0xbe, 0x00];
pub const BLOCK: u64 = 32 * 1024;
const CHUNK_HEADER: u64 = 7;
/// Longer records are skipped without being assembled: W&B's own records stay far below this
/// (a config of megabytes is already unusual).
pub const MAX_RECORD: usize = 64 << 20;

pub const FULL: u8 = 1;
pub const FIRST: u8 = 2;
#[cfg_attr(not(test), allow(dead_code))] // the unit tests write logs with these
pub const MIDDLE: u8 = 3;
pub const LAST: u8 = 4;

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

fn crc_update(mut c: u32, data: &[u8]) -> u32 {
    for &b in data {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    c
}

/// CRC-32/IEEE, as zlib's `crc32`.
#[cfg_attr(not(test), allow(dead_code))] // the unit tests write logs with these
pub fn crc32(data: &[u8]) -> u32 {
    !crc_update(!0, data)
}

/// A chunk's checksum: over its type byte, then its payload.
pub fn chunk_crc(kind: u8, payload: &[u8]) -> u32 {
    !crc_update(crc_update(!0, &[kind]), payload)
}

/// What the next read of a log gave.
pub enum Next<'a> {
    /// A whole record, and the offset of its first chunk.
    Record { at: u64, data: &'a [u8] },
    /// The end of the file, or of what is whole in it: resume at `Log::offset` later.
    End,
}

enum Asm {
    /// Between records.
    Idle,
    /// A record whose FIRST chunk is at `at`.
    Building { at: u64 },
    /// Chunks of a record already lost: dropped up to its LAST (or the next FULL or FIRST).
    Dropping,
}

/// Reads records one at a time from `r`, which starts at byte `from` of a file of `end` bytes.
/// `from` must be past the file header and at a record boundary (a previous `offset`).
pub struct Log<R> {
    r: R,
    pos: u64,
    end: u64,
    /// Just past the last record boundary read: where a later read resumes.
    pub offset: u64,
    asm: Asm,
    buf: Vec<u8>,
    chunk: Vec<u8>,
    /// Damage noticed since the last record boundary, and damage the reader is past.
    pending: Vec<(u64, String)>,
    done: Vec<(u64, String)>,
}

impl<R: Read> Log<R> {
    pub fn new(r: R, from: u64, end: u64) -> Log<R> {
        Log {
            r,
            pos: from,
            end,
            offset: from,
            asm: Asm::Idle,
            buf: Vec::new(),
            chunk: Vec::new(),
            pending: Vec::new(),
            done: Vec::new(),
        }
    }

    /// The damage skipped so far (byte offset, what), each reported once.
    pub fn take_skips(&mut self) -> Vec<(u64, String)> {
        std::mem::take(&mut self.done)
    }

    fn boundary(&mut self, at: u64) {
        self.offset = at;
        self.done.append(&mut self.pending);
    }

    fn skip(&mut self, n: u64) -> io::Result<()> {
        let got = io::copy(&mut (&mut self.r).take(n), &mut io::sink())?;
        if got < n {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file got shorter while it was read"));
        }
        self.pos += n;
        Ok(())
    }

    pub fn next_record(&mut self) -> io::Result<Next<'_>> {
        loop {
            let block_end = (self.pos / BLOCK + 1) * BLOCK;
            let left = block_end - self.pos;
            if left < CHUNK_HEADER {
                if block_end > self.end {
                    return Ok(Next::End);
                }
                self.skip(left)?; // the block trailer
                continue;
            }
            if self.end - self.pos < CHUNK_HEADER {
                return Ok(Next::End);
            }
            let at = self.pos;
            let mut h = [0u8; 7];
            self.r.read_exact(&mut h)?;
            self.pos += CHUNK_HEADER;
            let crc = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            let len = u16::from_le_bytes([h[4], h[5]]) as u64;
            let kind = h[6];
            if crc == 0 && len == 0 && kind == 0 {
                // A zeroed rest of a block (preallocated): W&B's own reader skips it too.
                if block_end > self.end {
                    return Ok(Next::End);
                }
                self.skip(block_end - self.pos)?;
                if matches!(self.asm, Asm::Idle) {
                    self.boundary(self.pos);
                }
                continue;
            }
            if !(FULL..=LAST).contains(&kind) || CHUNK_HEADER + len > left {
                // Its length cannot be trusted, so neither can anything after it in this block.
                // A block not yet complete is waited for: the writer may still fill it.
                if block_end > self.end {
                    return Ok(Next::End);
                }
                let what = if (FULL..=LAST).contains(&kind) {
                    format!("a chunk length of {len} bytes past the end of its block")
                } else {
                    format!("a chunk of unknown type {kind}")
                };
                self.lost_in_progress(at);
                self.pending.push((at, format!("{what} at byte {at}: the rest of its block is skipped")));
                self.skip(block_end - self.pos)?;
                self.asm = Asm::Dropping; // what continues at the next block belongs to a lost record
                continue;
            }
            if self.end - self.pos < len {
                return Ok(Next::End);
            }
            self.chunk.resize(len as usize, 0);
            self.r.read_exact(&mut self.chunk)?;
            self.pos += len;
            if kind == FULL || kind == FIRST {
                self.lost_in_progress(at);
                self.asm = Asm::Idle;
                self.boundary(at);
            }
            if chunk_crc(kind, &self.chunk) != crc {
                self.pending.push((at, format!("a chunk of {len} bytes at byte {at} fails its checksum")));
                self.buf.clear();
                if kind == FULL || kind == LAST {
                    self.asm = Asm::Idle;
                    self.boundary(self.pos);
                } else {
                    self.asm = Asm::Dropping;
                }
                continue;
            }
            match (kind, &self.asm) {
                (FULL, _) => {
                    self.boundary(self.pos);
                    return Ok(Next::Record { at, data: &self.chunk });
                }
                (FIRST, _) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(&self.chunk);
                    self.asm = Asm::Building { at };
                }
                (_, Asm::Idle) => {
                    let name = if kind == LAST { "LAST" } else { "MIDDLE" };
                    self.pending.push((at, format!("a {name} chunk at byte {at} with no FIRST chunk before it")));
                    if kind == LAST {
                        self.boundary(self.pos);
                    } else {
                        self.asm = Asm::Dropping;
                    }
                }
                (_, Asm::Dropping) => {
                    if kind == LAST {
                        self.asm = Asm::Idle;
                        self.boundary(self.pos);
                    }
                }
                (_, &Asm::Building { at: start }) => {
                    if self.buf.len() + self.chunk.len() > MAX_RECORD {
                        self.pending.push((
                            start,
                            format!("a record at byte {start} longer than the {} MiB limit", MAX_RECORD >> 20),
                        ));
                        self.buf = Vec::new();
                        if kind == LAST {
                            self.asm = Asm::Idle;
                            self.boundary(self.pos);
                        } else {
                            self.asm = Asm::Dropping;
                        }
                        continue;
                    }
                    self.buf.extend_from_slice(&self.chunk);
                    if kind == LAST {
                        self.asm = Asm::Idle;
                        self.boundary(self.pos);
                        return Ok(Next::Record { at: start, data: &self.buf });
                    }
                }
            }
        }
    }

    /// A record being assembled when a chunk that cannot continue it comes: it is lost.
    fn lost_in_progress(&mut self, at: u64) {
        if let Asm::Building { at: start } = self.asm {
            self.pending.push((start, format!("a record at byte {start} cut off by the chunk at byte {at}")));
            self.buf.clear();
            self.asm = Asm::Dropping;
        }
    }
}

/// A log holding `records`, framed as `wandb-core` frames them (block padding, FIRST/MIDDLE/LAST
/// across blocks, a zero-length FIRST when exactly 7 bytes are left): for tests and tools.
#[cfg_attr(not(test), allow(dead_code))] // the unit tests write logs with these
pub fn encode(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = FILE_HEADER.to_vec();
    for rec in records {
        let mut rest: &[u8] = rec;
        let mut first = true;
        loop {
            let left = BLOCK as usize - out.len() % BLOCK as usize;
            if left < CHUNK_HEADER as usize {
                out.resize(out.len() + left, 0);
                continue;
            }
            let n = rest.len().min(left - CHUNK_HEADER as usize);
            let last = n == rest.len();
            let kind = match (first, last) {
                (true, true) => FULL,
                (true, false) => FIRST,
                (false, false) => MIDDLE,
                (false, true) => LAST,
            };
            out.extend_from_slice(&chunk_crc(kind, &rest[..n]).to_le_bytes());
            out.extend_from_slice(&(n as u16).to_le_bytes());
            out.push(kind);
            out.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            first = false;
            if last {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (first chunk, length, offset after it) of a record.
    type Rec = (u64, usize, u64);

    /// Every record, the final offset, the skips.
    fn read_all(bytes: &[u8]) -> (Vec<Rec>, u64, Vec<(u64, String)>) {
        let mut log = Log::new(&bytes[7..], 7, bytes.len() as u64);
        let mut recs = Vec::new();
        let mut skips = Vec::new();
        while let Next::Record { at, data } = log.next_record().unwrap() {
            let len = data.len();
            recs.push((at, len, log.offset));
            skips.extend(log.take_skips());
        }
        skips.extend(log.take_skips());
        (recs, log.offset, skips)
    }

    #[test]
    fn the_checksum_is_zlibs_crc32() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(chunk_crc(1, b"23456789"), crc32(b"\x0123456789"));
    }

    #[test]
    fn records_across_blocks_and_cuts_at_every_byte() {
        let sizes = [10usize, 32_700, 40, 70_000, 0, 5, BLOCK as usize - 7 - 7 - 7];
        let records: Vec<Vec<u8>> =
            sizes.iter().enumerate().map(|(i, &n)| (0..n).map(|j| (i * 31 + j) as u8).collect()).collect();
        let file = encode(&records);
        let (recs, offset, skips) = read_all(&file);
        assert_eq!(recs.iter().map(|r| r.1).collect::<Vec<_>>(), sizes);
        assert_eq!(offset, file.len() as u64);
        assert!(skips.is_empty());
        // Cut anywhere: only whole records, and the offset is the end of the last one.
        for cut in (7..file.len()).step_by(97).chain(file.len() - 300..file.len()) {
            let (got, offset, skips) = read_all(&file[..cut]);
            let whole = recs.iter().filter(|r| r.2 <= cut as u64).count();
            assert_eq!(got.len(), whole, "cut at {cut}");
            assert!(skips.is_empty(), "cut at {cut}: {skips:?}");
            assert_eq!(offset, if whole == 0 { 7 } else { recs[whole - 1].2 }, "cut at {cut}");
            // Resuming at the offset with the rest of the file gives the rest of the records.
            let mut log = Log::new(&file[offset as usize..], offset, file.len() as u64);
            let mut n = 0;
            while let Next::Record { .. } = log.next_record().unwrap() {
                n += 1;
            }
            assert_eq!(whole + n, sizes.len(), "cut at {cut}");
        }
    }

    #[test]
    fn damage_is_skipped_and_named_once() {
        let records: Vec<Vec<u8>> = (0..40).map(|i| vec![i as u8; 1000 + i]).collect();
        let file = encode(&records);
        let (clean, _, _) = read_all(&file);
        // A payload byte of record 3: that record is lost, the others kept.
        let mut bad = file.clone();
        let at3 = clean[3].0;
        bad[at3 as usize + 20] ^= 0x10;
        let (got, _, skips) = read_all(&bad);
        assert_eq!(got.len(), 39);
        assert_eq!(skips, vec![(at3, format!("a chunk of 1003 bytes at byte {at3} fails its checksum"))]);
        // An impossible chunk type in a complete block: the rest of the block is skipped.
        let mut bad = file.clone();
        bad[at3 as usize + 6] = 9;
        let (got, _, skips) = read_all(&bad);
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert!(skips[0].1.starts_with(&format!("a chunk of unknown type 9 at byte {at3}")));
        let next_block = got.iter().position(|r| r.0 >= BLOCK).unwrap();
        assert_eq!(next_block, 3, "records of the next blocks are read again");
        // A zero-filled tail is waited for, not reported.
        let mut zeros = file.clone();
        zeros.extend([0u8; 100]);
        let (got, offset, skips) = read_all(&zeros);
        assert_eq!((got.len(), offset, skips.len()), (40, file.len() as u64, 0));
    }
}
