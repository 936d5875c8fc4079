//! Reading a growing text file from where the last scan stopped.
//!
//! For each file the index keeps its size, mtime, file id and the offset just past its last complete
//! record, plus the bytes just before that offset. A later scan reads only the bytes after the offset,
//! unless the file was truncated, replaced (new file id), or rewritten in place (the remembered bytes
//! changed): then it is read again from the start and the caller replaces what it had.

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::files::ProjectFs;

/// How many bytes before the offset are remembered to detect an in-place rewrite.
const GUARD: usize = 16;

/// What the index remembers of a file between scans.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    pub size: u64,
    pub mtime_ns: i64,
    pub file_id: u64,
    /// Just past the last complete record.
    pub offset: u64,
    /// Lines before `offset`, so diagnostics keep their line numbers across appends.
    pub lines: u64,
    /// Up to GUARD bytes before `offset`, hex.
    pub guard: String,
    /// The last line had no newline yet and was indexed only because the file had settled: any change
    /// re-reads the file from the start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    /// The read stopped at a piece's end ([`PIECE`]): the file has more to read even though it did
    /// not change, so the next read goes on from `offset`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Format-specific state (a CSV header, a JSONL step counter), as JSON text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub extra: String,
}

pub fn mtime_ns(md: &Metadata) -> i64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(unix)]
pub fn file_id(md: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    md.ino() ^ md.dev().rotate_left(32)
}

/// Windows and others: no stable id through std; size, mtime and the guard bytes still catch
/// replacements.
#[cfg(not(unix))]
pub fn file_id(_md: &Metadata) -> u64 {
    0
}

/// True when nothing about the file changed since `prev` was recorded.
pub fn unchanged(prev: &FileState, md: &Metadata) -> bool {
    !prev.partial && prev.size == md.len() && prev.mtime_ns == mtime_ns(md) && prev.file_id == file_id(md)
}

/// How many bytes of a text log one read takes at most (more when a single line is longer). A big
/// log is read in pieces, each written to the index before the next is read, so memory stays
/// bounded whatever the file's size.
pub const PIECE: u64 = 4 << 20;

pub enum Chunk {
    /// The file is as it was.
    Unchanged,
    /// New bytes after `prev.offset`; `more` when the file goes on past them (see [`PIECE`]).
    Append { bytes: Vec<u8>, first_line: u64, more: bool },
    /// Read from the start (first time, truncated, replaced or rewritten).
    Full { bytes: Vec<u8>, more: bool },
}

/// Up to `PIECE` bytes of `f` from `start` (its end at `size`), extended until the piece holds a
/// newline after its first `skip` bytes (the guard); `more` when bytes are left after it.
fn read_piece(f: &mut File, start: u64, size: u64, skip: usize) -> std::io::Result<(Vec<u8>, bool)> {
    f.seek(SeekFrom::Start(start))?;
    let total = size.saturating_sub(start);
    let mut bytes = Vec::with_capacity(total.min(PIECE) as usize);
    loop {
        let had = bytes.len();
        let want = (total - had as u64).min(PIECE);
        (&mut *f).take(want).read_to_end(&mut bytes)?;
        let short = ((bytes.len() - had) as u64) < want;
        if short || bytes.len() as u64 >= total || bytes[had.max(skip).min(bytes.len())..].contains(&b'\n') {
            break;
        }
    }
    let more = (bytes.len() as u64) < total;
    Ok((bytes, more))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Reads what is new in `path` since `prev`.
pub fn read_new(fs: &ProjectFs, path: &Path, prev: Option<&FileState>, md: &Metadata) -> std::io::Result<Chunk> {
    let size = md.len();
    if let Some(prev) = prev {
        if unchanged(prev, md) {
            return Ok(Chunk::Unchanged);
        }
        if !prev.pending && prev.file_id == file_id(md) && size >= prev.offset {
            let guard_len = prev.guard.len() as u64 / 2;
            let start = prev.offset - guard_len;
            let mut f = fs.open(path)?;
            let (mut bytes, more) = read_piece(&mut f, start, size, guard_len as usize)?;
            if bytes.len() as u64 >= guard_len && hex(&bytes[..guard_len as usize]) == prev.guard {
                bytes.drain(..guard_len as usize);
                return Ok(Chunk::Append { bytes, first_line: prev.lines + 1, more });
            }
        }
    }
    let (bytes, more) = read_piece(&mut fs.open(path)?, 0, size, 0)?;
    Ok(Chunk::Full { bytes, more })
}

/// What a reader took from a read: `consumed` bytes of `bytes` (read from the start, or after the
/// previous offset when `append`), `lines` complete lines in the file before the new offset, and
/// whether an unterminated last line was taken (`pending`).
pub struct Consumed<'a> {
    pub bytes: &'a [u8],
    pub append: bool,
    pub consumed: usize,
    pub lines: u64,
    pub pending: bool,
    /// The bytes were a piece and the file goes on ([`Chunk`]'s `more`).
    pub partial: bool,
}

/// The state to remember after a read.
pub fn next_state(md: &Metadata, prev: Option<&FileState>, c: Consumed, extra: String) -> FileState {
    let Consumed { bytes, append, consumed, lines, pending, partial } = c;
    let base = if append { prev.map_or(0, |p| p.offset) } else { 0 };
    let offset = base + consumed as u64;
    let guard = if consumed >= GUARD {
        hex(&bytes[consumed - GUARD..consumed])
    } else if append {
        // Previous guard bytes followed by the few consumed now, keeping at most GUARD.
        let prev_guard = prev.map(|p| p.guard.clone()).unwrap_or_default();
        let mut g = prev_guard + &hex(&bytes[..consumed]);
        if g.len() > GUARD * 2 {
            g = g[g.len() - GUARD * 2..].to_string();
        }
        g
    } else {
        hex(&bytes[..consumed])
    };
    FileState {
        size: md.len(),
        mtime_ns: mtime_ns(md),
        file_id: file_id(md),
        offset,
        lines,
        guard,
        pending,
        partial,
        extra,
    }
}

/// The length of the prefix of `bytes` that ends with a complete line ('\n'). A last line without
/// its newline is left for the next read: the writer may still be writing it. (CSV rows, whose
/// quoted fields may hold newlines, are cut by `csv_log`'s own rule.)
pub fn complete_prefix(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

/// Whether the writer is done with the file: then a last line without a newline is a complete record.
/// Runlens cannot know; it treats a last line as complete only once the file has not changed for a
/// while, which `settled` tells (the file's mtime is older than this many seconds).
pub const SETTLE_SECS: u64 = 2;

pub fn settled(md: &Metadata, now: std::time::SystemTime) -> bool {
    md.modified().ok().and_then(|t| now.duration_since(t).ok()).is_some_and(|age| age.as_secs() >= SETTLE_SECS)
}

/// Where to resume reading a file of self-delimiting binary records that `prev` described: the
/// remembered offset when the file only grew (same file id, not shorter, the bytes before the
/// offset unchanged), else None (read it again from the start).
pub fn resume_offset(file: &mut File, prev: &FileState, md: &Metadata) -> std::io::Result<Option<u64>> {
    if prev.file_id != file_id(md) || md.len() < prev.offset {
        return Ok(None);
    }
    Ok((guard_before(file, prev.offset)? == prev.guard).then_some(prev.offset))
}

/// The guard of `offset`: up to GUARD bytes before it, hex.
pub fn guard_before(file: &mut File, offset: u64) -> std::io::Result<String> {
    let start = offset.saturating_sub(GUARD as u64);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(GUARD);
    file.take(offset - start).read_to_end(&mut bytes)?;
    Ok(hex(&bytes))
}
