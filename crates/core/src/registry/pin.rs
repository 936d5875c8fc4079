//! A version's files, pinned: path, size and SHA-256 each, and a digest over them. The digest is
//! the SHA-256 of the manifest `sha256sum` prints for the model's files (one `<sha256>  <path>`
//! line each, sorted by path, paths relative to the model folder), so `sha256sum -c` can check a
//! copy and the digest does not depend on where the model lies.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::event::{hex, sha256_hex};
use super::fold::{PinnedFile, VersionState};
use crate::files::{Kind, ProjectFs};
use crate::Error;

pub fn digest(files: &[PinnedFile]) -> String {
    let mut sorted: Vec<&PinnedFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest: String = sorted.iter().map(|f| format!("{}  {}\n", f.sha256, f.path)).collect();
    sha256_hex(manifest.as_bytes())
}

/// Size and SHA-256 of one project file, read through the file-access layer (never a link).
pub fn hash_file(fs: &ProjectFs, path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = fs.open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex(&h.finalize())))
}

/// The files of the model at project-relative `model_path` (a file, or every file under a
/// folder), hashed; a link or special file inside is refused, since it could not be pinned.
pub fn pin(
    conn: &Connection,
    fs: &ProjectFs,
    root: &Path,
    model_path: &str,
    is_file: bool,
) -> Result<(Vec<PinnedFile>, String), Error> {
    let base = root.join(model_path);
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    if is_file {
        let name = base.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        found.push((name, base.clone()));
    } else {
        walk(fs, &base, "", &mut found)?;
        if found.is_empty() {
            return Err(Error::Refused(format!("{model_path} holds no files: there is nothing to register")));
        }
    }
    let mut files = Vec::with_capacity(found.len());
    for (rel, path) in found {
        let (size, sha256) = hash_file(fs, &path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        remember(conn, fs, root, &path, size, &sha256);
        files.push(PinnedFile { path: rel, size, sha256 });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let d = digest(&files);
    Ok((files, d))
}

fn walk(fs: &ProjectFs, dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
    let entries = fs.list(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    for e in entries {
        let rel = if prefix.is_empty() { e.name.clone() } else { format!("{prefix}/{}", e.name) };
        match e.kind {
            Kind::File => out.push((rel, e.path)),
            Kind::Dir => walk(fs, &e.path, &rel, out)?,
            Kind::Link => {
                return Err(Error::Refused(format!(
                    "{} is a symbolic link: a model's files must be real files to be pinned",
                    e.path.display()
                )))
            }
            Kind::Other | Kind::BadName => {
                return Err(Error::Refused(format!("{} is not a regular file with a UTF-8 name", e.path.display())))
            }
        }
    }
    Ok(())
}

/// Where a pinned file of `v` lies: the model path itself for a single-file model, else under it.
pub fn disk_path(root: &Path, v: &VersionState, f: &PinnedFile) -> Option<PathBuf> {
    let base = v.model_path.as_deref()?;
    let is_file = v.source.get("kind").and_then(|k| k.as_str()) == Some("file");
    let rel = if is_file { base.to_string() } else { format!("{base}/{}", f.path) };
    crate::paths::project_file(root, &rel).or_else(|| {
        // Not there (or not a plain path): still a path to report as missing.
        (!rel.split('/').any(|p| p == ".." || p.is_empty())).then(|| root.join(&rel))
    })
}

pub fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn remember(conn: &Connection, fs: &ProjectFs, root: &Path, path: &Path, size: u64, sha256: &str) {
    let (Some(rel), Ok(md)) = (crate::paths::rel(root, path), fs.stat_file(path)) else { return };
    let _ = conn.execute(
        "INSERT OR REPLACE INTO pinned_files(path, size, mtime_ns, sha256) VALUES (?1, ?2, ?3, ?4)",
        params![rel, size as i64, mtime_ns(&md), sha256],
    );
}

/// Whether any pinned file of `v` is missing or differs.
pub fn changed_on_disk(conn: &Connection, fs: &ProjectFs, root: &Path, v: &VersionState) -> bool {
    changed_files(conn, fs, root, v).next().is_some()
}

/// The pinned files of `v` that are missing or differ, lazily. A file whose size and modification
/// time are those of its last hashing is taken as unchanged (the index remembers them); any other
/// is hashed again.
pub fn changed_files<'a>(
    conn: &'a Connection,
    fs: &'a ProjectFs,
    root: &'a Path,
    v: &'a VersionState,
) -> impl Iterator<Item = &'a PinnedFile> + 'a {
    v.files.iter().filter(move |f| {
        let Some(path) = disk_path(root, v, f) else { return true };
        let Ok(md) = fs.stat_file(&path) else { return true };
        if md.len() != f.size {
            return true;
        }
        let rel = crate::paths::rel(root, &path).unwrap_or_default();
        let known: Option<(i64, i64, String)> = conn
            .query_row("SELECT size, mtime_ns, sha256 FROM pinned_files WHERE path = ?1", [&rel], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .ok()
            .flatten();
        if let Some((size, mtime, sha)) = known {
            if size as u64 == md.len() && mtime == mtime_ns(&md) {
                return sha != f.sha256;
            }
        }
        match hash_file(fs, &path) {
            Ok((size, sha)) => {
                remember(conn, fs, root, &path, size, &sha);
                sha != f.sha256
            }
            Err(_) => true,
        }
    })
}
