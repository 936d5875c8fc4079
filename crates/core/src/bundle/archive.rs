//! Writing a bundle's entries as one deterministic tar archive, plain or zstd-compressed: folders
//! before their contents, everything in name order, uid/gid 0, fixed modes, one mtime. Model files
//! are hashed while they are copied and checked against their pins.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use super::{Body, BundleProgress, Compression};
use crate::files::ProjectFs;
use crate::registry::event::hex;
use crate::Error;

pub(super) fn io_error(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::StorageFull => {
            Error::Io(format!("the disk holding {} is full: the bundle was not written", path.display()))
        }
        std::io::ErrorKind::ReadOnlyFilesystem => {
            Error::Io(format!("{} is on a read-only disk: the bundle was not written", path.display()))
        }
        _ => Error::Io(format!("{}: {e} (the bundle was not written)", path.display())),
    }
}

fn header(kind: tar::EntryType, size: u64, mode: u32, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    let _ = h.set_username("");
    let _ = h.set_groupname("");
    h
}

/// The zstd level: zstd's default, a good trade for text-heavy models.
const ZSTD_LEVEL: i32 = 3;

/// Where the tar stream goes: the file, or a zstd encoder writing to it.
enum Sink {
    Plain(EarlyWriteback),
    Zstd(zstd::stream::write::Encoder<'static, EarlyWriteback>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

impl Sink {
    fn new(file: std::fs::File, compress: Compression) -> std::io::Result<Sink> {
        let w = EarlyWriteback { file, written: 0, started: 0 };
        Ok(match compress {
            Compression::None => Sink::Plain(w),
            Compression::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(w, ZSTD_LEVEL)?;
                // The input size is unknown to the frame header either way; a checksum lets
                // `zstd -t` and every reader catch a damaged frame.
                e.include_checksum(true)?;
                Sink::Zstd(e)
            }
        })
    }

    fn finish(self) -> std::io::Result<std::fs::File> {
        let mut w = match self {
            Sink::Plain(w) => w,
            Sink::Zstd(e) => e.finish()?,
        };
        w.flush()?;
        Ok(w.file)
    }
}

/// Writes `entries` (paths inside the bundle, sorted, under the folder `prefix` when given) to
/// `path` and fsyncs it.
#[allow(clippy::too_many_arguments)]
pub(super) fn write(
    fs: &ProjectFs,
    path: &Path,
    prefix: Option<&str>,
    entries: &[(String, Body)],
    mtime: u64,
    compress: Compression,
    progress: &mut dyn FnMut(BundleProgress),
    cancel: &AtomicBool,
) -> Result<(), Error> {
    let files_total = entries.len();
    let bytes_total: u64 = entries.iter().map(|(_, b)| b.size()).sum();
    let cancelled = || Error::Cancelled("the export was cancelled: nothing was written".into());
    let err = |e: std::io::Error| io_error(path, e);
    let file = std::fs::File::create(path).map_err(err)?;
    let mut tar =
        tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, Sink::new(file, compress).map_err(err)?));
    tar.mode(tar::HeaderMode::Deterministic);
    let full = |p: &str| match prefix {
        Some(root) => format!("{root}/{p}"),
        None => p.to_string(),
    };
    let mut dirs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    if let Some(root) = prefix {
        dirs.insert(format!("{root}/"));
    }
    for (p, _) in entries {
        let parts: Vec<&str> = p.split('/').collect();
        for i in 1..parts.len() {
            dirs.insert(full(&format!("{}/", parts[..i].join("/"))));
        }
    }
    let mut names: Vec<(String, Option<&Body>)> = dirs.into_iter().map(|d| (d, None)).collect();
    names.extend(entries.iter().map(|(p, b)| (full(p), Some(b))));
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut files, mut bytes) = (0usize, 0u64);
    for (name, body) in names {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        match body {
            None => {
                let mut h = header(tar::EntryType::Directory, 0, 0o755, mtime);
                tar.append_data(&mut h, &name, std::io::empty()).map_err(err)?;
            }
            Some(Body::Bytes(b)) | Some(Body::Script(b)) => {
                let mode = if matches!(body, Some(Body::Script(_))) { 0o755 } else { 0o644 };
                let mut h = header(tar::EntryType::Regular, b.len() as u64, mode, mtime);
                tar.append_data(&mut h, &name, &b[..]).map_err(err)?;
                files += 1;
                bytes += b.len() as u64;
            }
            Some(Body::Pinned(disk, sha, size)) => {
                let f = fs.open(disk).map_err(|e| {
                    Error::Refused(format!(
                        "{}: {e}: not exported (a link or a missing file is never followed)",
                        disk.display()
                    ))
                })?;
                let mut h = header(tar::EntryType::Regular, *size, 0o644, mtime);
                let done_before = bytes;
                let mut report = |n: u64| {
                    progress(BundleProgress {
                        files_done: files,
                        files_total,
                        bytes_done: done_before + n,
                        bytes_total,
                    });
                    !cancel.load(Ordering::Relaxed)
                };
                // One thread reads and hashes, this one writes: both cores busy, one pass over the bytes.
                let (chunks, ready) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(4);
                let (spare, spares) = std::sync::mpsc::channel::<Vec<u8>>();
                let (appended, read) = std::thread::scope(|s| {
                    let reader = s.spawn(move || read_and_hash(f, *size, chunks, spares));
                    let mut from = ChannelReader {
                        ready,
                        spare,
                        chunk: Vec::new(),
                        at: 0,
                        n: 0,
                        next_report: 8 << 20,
                        report: &mut report,
                    };
                    let appended = tar.append_data(&mut h, &name, &mut from);
                    // Stops the reader if the write failed before it was done.
                    drop(from);
                    (
                        appended,
                        reader.join().unwrap_or_else(|_| Err(std::io::Error::other("the reading thread panicked"))),
                    )
                });
                appended.map_err(|e| {
                    if e.to_string() == CANCELLED && cancel.load(Ordering::Relaxed) {
                        cancelled()
                    } else if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        Error::Refused(format!(
                            "{}: it got shorter while it was exported: not exported",
                            disk.display()
                        ))
                    } else {
                        err(e)
                    }
                })?;
                let (n_read, sha_read, grew) = read.map_err(|e| Error::Io(format!("{}: {e}", disk.display())))?;
                if n_read != *size || grew || sha_read != *sha {
                    return Err(Error::Refused(format!(
                        "{}: its bytes no longer match the SHA-256 it was registered with (it changed on disk): not exported",
                        disk.display()
                    )));
                }
                files += 1;
                bytes += size;
            }
        }
        if body.is_some() {
            progress(BundleProgress { files_done: files, files_total, bytes_done: bytes, bytes_total });
        }
    }
    let w = tar.into_inner().map_err(err)?;
    let sink = w.into_inner().map_err(|e| err(e.into_error()))?;
    sink.finish().map_err(err)?.sync_all().map_err(err)
}

/// A file writer that asks the OS to start writing each 32 MiB to disk as soon as it is written
/// (Linux `sync_file_range`), so the final fsync waits for little and the disk works while the
/// next files are read and hashed. Elsewhere it is a plain file.
struct EarlyWriteback {
    file: std::fs::File,
    written: u64,
    started: u64,
}

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        const STEP: u64 = 32 << 20;
        if self.written - self.started >= STEP {
            #[cfg(target_os = "linux")]
            {
                use std::os::fd::AsRawFd;
                // SAFETY: a valid open descriptor and a range inside what was written; the call only
                // schedules writeback and has no memory effects.
                unsafe {
                    libc::sync_file_range(
                        self.file.as_raw_fd(),
                        self.started as i64,
                        (self.written - self.started) as i64,
                        libc::SYNC_FILE_RANGE_WRITE,
                    );
                }
            }
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

const CANCELLED: &str = "the export was cancelled";

/// Reads `size` bytes of `f` in 1 MiB pieces, hashing each, and sends them to the writer (taking
/// buffers back from it); stops when the writer hangs up. Returns the bytes read, their SHA-256,
/// and whether the file had more bytes than `size`.
fn read_and_hash(
    f: std::fs::File,
    size: u64,
    chunks: std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
    spares: std::sync::mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<(u64, String, bool)> {
    let mut f = f.take(size);
    let mut hash = Sha256::new();
    let mut n = 0u64;
    loop {
        let mut buf = spares.try_recv().unwrap_or_default();
        buf.resize(1 << 20, 0);
        let k = match f.read(&mut buf) {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let kind = e.kind();
                let _ = chunks.send(Err(e));
                return Err(kind.into());
            }
        };
        if k == 0 {
            break;
        }
        buf.truncate(k);
        hash.update(&buf);
        n += k as u64;
        if chunks.send(Ok(buf)).is_err() {
            break;
        }
    }
    let mut rest = [0u8; 1];
    let grew = f.into_inner().read(&mut rest).map(|k| k > 0).unwrap_or(false);
    Ok((n, hex(&hash.finalize()), grew))
}

/// The writer's side: reads the pieces the reading thread sends, gives their buffers back, and
/// every 8 MiB reports how far it is; `report` returning false stops the read (a cancel) with an
/// error.
struct ChannelReader<'a> {
    ready: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    spare: std::sync::mpsc::Sender<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    n: u64,
    next_report: u64,
    report: &'a mut dyn FnMut(u64) -> bool,
}

impl Read for ChannelReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.chunk.len() {
            match self.ready.recv() {
                Ok(Ok(next)) => {
                    let old = std::mem::replace(&mut self.chunk, next);
                    let _ = self.spare.send(old);
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The reader is done.
                Err(_) => return Ok(0),
            }
        }
        let k = buf.len().min(self.chunk.len() - self.at);
        buf[..k].copy_from_slice(&self.chunk[self.at..self.at + k]);
        self.at += k;
        self.n += k as u64;
        if self.n >= self.next_report {
            self.next_report = self.n + (8 << 20);
            if !(self.report)(self.n) {
                // Not `Interrupted`: `io::copy` retries those.
                return Err(std::io::Error::other(CANCELLED));
            }
        }
        Ok(k)
    }
}
