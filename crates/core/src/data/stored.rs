//! The reference of `data drift`, kept: each column as `report` reads it (a numeric column's
//! finite numbers sorted, any other column's values counted), written once per reference version
//! into the app-data dir beside the project's index (`projects/<name>-<hash>.refs/`). Scoring a
//! batch then reads only the columns it needs, one at a time, and never the reference table.
//!
//! Like the index, it is a cache: deleting it costs one read of the reference table. A file is
//! named by the SHA-256 of its key: the Runlens version and the reference's identity (a file's
//! canonical path, size, modification time and the md5 of its first and last 64 KiB; a file read
//! out of git, its commit and path), so a changed reference is never answered from an old copy.
//!
//! The file: [`MAGIC`], the header's length (u64 LE), the header (JSON: the key, and per column
//! its name, type, rows, nulls, counts, and where its numbers are), then the numbers: a column's
//! sorted values as f64 LE, or, when its values repeat enough to save space, its distinct values
//! (f64 LE) followed by their counts (u64 LE). A file whose length is not what its header says,
//! or whose key differs, is not used.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::Digest;
use serde_json::{json, Value};

use super::report::Sample;
use crate::Error;

const MAGIC: &[u8; 16] = b"runlens-ref-v1\0\n";
/// At most this many references are kept per project (the least recently used go first)...
const KEEP: usize = 12;
/// ...and at most this many bytes of them.
const BUDGET: u64 = 6 << 30;

/// What names a reference's bytes: see the module's documentation.
/// A file in the project is opened through `fs` (no link followed); `None` for a file the user
/// named outside it.
pub(crate) fn file_key(fs: Option<&crate::files::ProjectFs>, p: &Path, what: &str) -> Option<String> {
    let mut f = match fs {
        Some(fs) => fs.open(p).ok()?,
        None => std::fs::File::open(p).ok()?,
    };
    let m = f.metadata().ok()?;
    let mtime = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    let canon = std::fs::canonicalize(p).ok()?;
    let mut h = md5::Md5::new();
    let mut buf = vec![0u8; 64 << 10];
    let k = read_full(&mut f, &mut buf).ok()?;
    h.update(&buf[..k]);
    if m.len() > 2 * buf.len() as u64 {
        f.seek(SeekFrom::End(-(buf.len() as i64))).ok()?;
        let k = read_full(&mut f, &mut buf).ok()?;
        h.update(&buf[..k]);
    }
    let ends: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(format!(
        "runlens {} | file {} | {} bytes | mtime {mtime} | ends {ends} | {what}",
        env!("CARGO_PKG_VERSION"),
        canon.display(),
        m.len()
    ))
}

/// The key of a table read out of git's own objects (immutable at a commit).
pub(crate) fn git_key(rev: &str, path: &str, len: usize) -> String {
    format!("runlens {} | git {rev}:{path} | {len} bytes", env!("CARGO_PKG_VERSION"))
}

fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn file_name(key: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(key.as_bytes());
    format!("{}.rlref", d.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>())
}

fn kind_of(s: &str) -> Option<&'static str> {
    ["integer", "float", "string", "boolean", "empty"].into_iter().find(|k| *k == s)
}

/// Runs of equal values in sorted numbers.
fn runs(sorted: &[f64]) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    1 + sorted.windows(2).filter(|w| w[0] != w[1]).count()
}

/// A kept reference, open.
pub(crate) struct Stored {
    file: PathBuf,
    pub(crate) path: String,
    columns: Vec<StoredColumn>,
    data_start: u64,
    /// Set when a column could not be read back as it was written.
    damaged: std::cell::Cell<bool>,
}

struct StoredColumn {
    name: String,
    kind: &'static str,
    rows: u64,
    nulls: u64,
    cats: BTreeMap<String, u64>,
    /// Byte offset from the data's start, the numbers' count, and the distinct values' count when
    /// stored as runs.
    offset: u64,
    nums: u64,
    runs: Option<u64>,
}

impl StoredColumn {
    fn bytes(&self) -> u64 {
        match self.runs {
            Some(r) => r * 16,
            None => self.nums * 8,
        }
    }
}

/// Writes `columns` as the reference named `key` into `dir` (atomically: a temporary file renamed),
/// then drops the least recently used ones over [`KEEP`] or [`BUDGET`].
pub(crate) fn store(dir: &Path, key: &str, path: &str, rev: &str, columns: &[(String, Sample)]) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut offset = 0u64;
    let mut header_cols = Vec::new();
    let mut as_runs = Vec::new();
    for (name, s) in columns {
        let r = runs(&s.nums) as u64;
        let use_runs = r * 2 < s.nums.len() as u64;
        let bytes = if use_runs { r * 16 } else { s.nums.len() as u64 * 8 };
        header_cols.push(json!({
            "name": name, "kind": s.kind, "rows": s.rows, "nulls": s.nulls,
            "cats": s.cats.iter().map(|(k, n)| json!([k, n])).collect::<Vec<_>>(),
            "offset": offset, "nums": s.nums.len(), "runs": if use_runs { Some(r) } else { None },
        }));
        as_runs.push(use_runs);
        offset += bytes;
    }
    let header = serde_json::to_vec(&json!({"key": key, "path": path, "rev": rev, "columns": header_cols}))
        .map_err(|e| Error::Io(e.to_string()))?;
    let target = dir.join(file_name(key));
    let tmp = dir.join(format!(".{}.{}.tmp", file_name(key), std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        w.write_all(MAGIC)?;
        w.write_all(&(header.len() as u64).to_le_bytes())?;
        w.write_all(&header)?;
        for ((_, s), use_runs) in columns.iter().zip(&as_runs) {
            if *use_runs {
                let mut counts = Vec::new();
                let mut i = 0;
                while i < s.nums.len() {
                    let j = s.nums[i..].partition_point(|v| *v == s.nums[i]) + i;
                    w.write_all(&s.nums[i].to_le_bytes())?;
                    counts.push((j - i) as u64);
                    i = j;
                }
                for c in counts {
                    w.write_all(&c.to_le_bytes())?;
                }
            } else {
                for v in &s.nums {
                    w.write_all(&v.to_le_bytes())?;
                }
            }
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &target)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    evict(dir, &target);
    Ok(())
}

/// Drops the least recently used references (by modification time, which [`open`] refreshes)
/// beyond [`KEEP`] files or [`BUDGET`] bytes, never `keep`.
fn evict(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rlref"))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let (mut n, mut bytes) = (0usize, 0u64);
    for (_, len, p) in files {
        n += 1;
        bytes += len;
        if p != keep && (n > KEEP || bytes > BUDGET) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// The reference named `key` in `dir`, when it is there whole.
pub(crate) fn open(dir: &Path, key: &str) -> Option<Stored> {
    let file = dir.join(file_name(key));
    let mut f = std::fs::File::open(&file).ok()?;
    let len = f.metadata().ok()?.len();
    let mut magic = [0u8; 16];
    f.read_exact(&mut magic).ok()?;
    let mut hl = [0u8; 8];
    f.read_exact(&mut hl).ok()?;
    let hl = u64::from_le_bytes(hl);
    if &magic != MAGIC || hl > len {
        return None;
    }
    let mut header = vec![0u8; hl as usize];
    f.read_exact(&mut header).ok()?;
    let h: Value = serde_json::from_slice(&header).ok()?;
    if h["key"].as_str() != Some(key) {
        return None;
    }
    let mut columns = Vec::new();
    for c in h["columns"].as_array()? {
        let mut cats = BTreeMap::new();
        for kv in c["cats"].as_array()? {
            cats.insert(kv[0].as_str()?.to_string(), kv[1].as_u64()?);
        }
        columns.push(StoredColumn {
            name: c["name"].as_str()?.to_string(),
            kind: kind_of(c["kind"].as_str()?)?,
            rows: c["rows"].as_u64()?,
            nulls: c["nulls"].as_u64()?,
            cats,
            offset: c["offset"].as_u64()?,
            nums: c["nums"].as_u64()?,
            runs: if c["runs"].is_null() { None } else { Some(c["runs"].as_u64()?) },
        });
    }
    let data_start = 24 + hl;
    let data: u64 = columns.iter().map(StoredColumn::bytes).sum();
    if data_start + data != len {
        return None;
    }
    // Used now: the last to be evicted.
    if let Ok(w) = std::fs::File::options().write(true).open(&file) {
        let _ = w.set_modified(SystemTime::now());
    }
    Some(Stored { file, path: h["path"].as_str()?.to_string(), columns, data_start, damaged: Default::default() })
}

/// Reads `n` little-endian 8-byte words.
fn read_words(f: &mut std::fs::File, n: u64) -> std::io::Result<Vec<[u8; 8]>> {
    let mut out = Vec::with_capacity(n as usize);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = n as usize * 8;
    while left > 0 {
        let k = left.min(buf.len());
        f.read_exact(&mut buf[..k])?;
        out.extend(buf[..k].chunks_exact(8).map(|c| <[u8; 8]>::try_from(c).expect("8 bytes")));
        left -= k;
    }
    Ok(out)
}

impl Stored {
    /// Whether a column could not be read back: the caller forgets this copy ([`Stored::forget`])
    /// and reads the table.
    pub(crate) fn damaged(&self) -> bool {
        self.damaged.get()
    }

    pub(crate) fn forget(self) {
        let _ = std::fs::remove_file(&self.file);
    }

    /// The columns' names, in the table's order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The column `name` as `report` read it, or None when the reference has none.
    pub(crate) fn column(&self, name: &str) -> Result<Option<Sample>, Error> {
        let Some(c) = self.columns.iter().find(|c| c.name == name) else { return Ok(None) };
        let io = |e: std::io::Error| {
            self.damaged.set(true);
            Error::Io(format!("{}: {e}", self.file.display()))
        };
        let mut f = std::fs::File::open(&self.file).map_err(io)?;
        f.seek(SeekFrom::Start(self.data_start + c.offset)).map_err(io)?;
        let nums = match c.runs {
            None => read_words(&mut f, c.nums).map_err(io)?.into_iter().map(f64::from_le_bytes).collect(),
            Some(r) => {
                let values: Vec<f64> = read_words(&mut f, r).map_err(io)?.into_iter().map(f64::from_le_bytes).collect();
                if values.windows(2).any(|w| w[0].partial_cmp(&w[1]) != Some(Ordering::Less)) {
                    self.damaged.set(true);
                    return Err(Error::Io(format!("{}: column {name} is damaged", self.file.display())));
                }
                let counts: Vec<u64> = read_words(&mut f, r).map_err(io)?.into_iter().map(u64::from_le_bytes).collect();
                let total = counts.iter().try_fold(0u64, |a, k| a.checked_add(*k));
                if total != Some(c.nums) {
                    self.damaged.set(true);
                    return Err(Error::Io(format!("{}: column {name} is damaged", self.file.display())));
                }
                let mut nums = Vec::with_capacity(c.nums as usize);
                for (v, k) in values.into_iter().zip(counts) {
                    nums.extend(std::iter::repeat_n(v, k as usize));
                }
                nums
            }
        };
        if nums.windows(2).any(|w| w[0].partial_cmp(&w[1]).is_none_or(|o| o == Ordering::Greater))
            || nums.iter().any(|v| !v.is_finite())
        {
            self.damaged.set(true);
            return Err(Error::Io(format!("{}: column {name} is damaged", self.file.display())));
        }
        Ok(Some(Sample { kind: c.kind, rows: c.rows, nulls: c.nulls, nums, cats: c.cats.clone() }))
    }
}
