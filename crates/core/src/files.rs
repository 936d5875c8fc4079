//! The one way the engine touches the project's files. The project folder is untrusted input: a
//! colleague's share, a cloned repository, an archive. Every read, listing and stat of a project
//! file goes through a [`ProjectFs`], which
//! - never leaves the project root (a path outside it, or with `..`, is refused),
//! - never follows a symbolic link (on Windows: a junction or other name-surrogate reparse point):
//!   every folder on the way is checked with `lstat`, and the file itself is opened with
//!   `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO cannot hang a scan) and must be a regular file,
//! - reads with a size cap the caller names.
//!
//! Folders already checked (or listed: a listing's types come from the directory itself, without
//! following) are remembered for the life of the `ProjectFs`, one reader thread's part of a scan or
//! one walk, so a reader pays one system call per file as before.
//!
//! Writes into the project (the registry's files under `.runlens/`) are atomic: a temporary file in the same folder, fsync,
//! rename (or link, which never replaces), fsync of the folder; the temporary file is removed on
//! every failure.
//!
//! What this does not close: a folder swapped for a link between its check and the open of a file
//! in it (a race an attacker must win while the scan runs). Linux's `openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` would close it; it is not used yet.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

/// What a listing entry is, seen without following it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symbolic link (or a Windows junction): never followed.
    Link,
    /// A FIFO, socket or device: never opened.
    Other,
    /// A name that is not valid UTF-8 (`name` holds it lossily): skipped and reported by callers.
    BadName,
}

/// One entry of a folder.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub kind: Kind,
}

impl Entry {
    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }
    /// The entry's own metadata (its folder was checked when listed; a link is not followed).
    pub fn metadata(&self) -> io::Result<Metadata> {
        std::fs::symlink_metadata(&self.path)
    }
}

/// The error for a symbolic link where a file or folder was expected.
pub fn link_error(path: &Path) -> io::Error {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    io::Error::other(format!("{name} is a symbolic link: not followed"))
}

/// True when `e` is the refusal of a link (so callers can word their diagnostic).
pub fn is_link_error(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Other && e.to_string().ends_with("is a symbolic link: not followed")
}

fn outside_error(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, format!("{} is outside the project: not read", path.display()))
}

/// Read access to one project folder. Not shared across threads: each reader thread makes its own.
pub struct ProjectFs<'a> {
    root: &'a Path,
    checked: RefCell<HashSet<PathBuf>>,
}

impl<'a> ProjectFs<'a> {
    /// `root` must be the canonical project folder (as `Index::open` makes it).
    pub fn new(root: &'a Path) -> ProjectFs<'a> {
        ProjectFs { root, checked: RefCell::new(HashSet::new()) }
    }

    /// Checks that `dir` is the root or a real folder under it, reached without a link.
    fn check_dir(&self, dir: &Path) -> io::Result<()> {
        if dir == self.root || self.checked.borrow().contains(dir) {
            return Ok(());
        }
        self.walk_dirs(dir, false)
    }

    /// Walks from the root to `dir`, one folder at a time, each `lstat`-checked (a link or a
    /// non-folder is an error) before going deeper; with `create`, a missing folder is made first.
    fn walk_dirs(&self, dir: &Path, create: bool) -> io::Result<()> {
        let rel = dir.strip_prefix(self.root).map_err(|_| outside_error(dir))?;
        let mut p = self.root.to_path_buf();
        for c in rel.components() {
            match c {
                Component::Normal(n) => p.push(n),
                Component::CurDir => continue,
                _ => return Err(outside_error(dir)),
            }
            if self.checked.borrow().contains(&p) {
                continue;
            }
            if create {
                match std::fs::create_dir(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            let md = std::fs::symlink_metadata(&p)?;
            if md.file_type().is_symlink() {
                return Err(link_error(&p));
            }
            if !md.is_dir() {
                return Err(io::Error::new(io::ErrorKind::NotADirectory, format!("{} is not a folder", p.display())));
            }
            self.checked.borrow_mut().insert(p.clone());
        }
        Ok(())
    }

    fn check_parent(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            Some(parent) if path != self.root => {
                if path.file_name().is_none() {
                    return Err(outside_error(path)); // ends in `..`
                }
                self.check_dir(parent)
            }
            _ => Err(outside_error(path)),
        }
    }

    /// The metadata of `path` itself; a link is an error ([`is_link_error`]), never followed.
    pub fn stat(&self, path: &Path) -> io::Result<Metadata> {
        if path == self.root {
            return std::fs::symlink_metadata(path);
        }
        self.check_parent(path)?;
        let md = std::fs::symlink_metadata(path)?;
        if md.file_type().is_symlink() {
            return Err(link_error(path));
        }
        if md.is_dir() {
            self.checked.borrow_mut().insert(path.to_path_buf());
        }
        Ok(md)
    }

    /// The metadata of a regular file; anything else (a folder, a link, a FIFO) is an error.
    pub fn stat_file(&self, path: &Path) -> io::Result<Metadata> {
        let md = self.stat(path)?;
        if !md.is_file() {
            return Err(io::Error::other(format!("{} is not a regular file", path.display())));
        }
        Ok(md)
    }

    pub fn is_file(&self, path: &Path) -> bool {
        self.stat(path).is_ok_and(|m| m.is_file())
    }

    pub fn is_dir(&self, path: &Path) -> bool {
        self.check_dir(path).is_ok() && self.stat(path).is_ok_and(|m| m.is_dir())
    }

    /// Whether anything (a link included) is at `path`.
    pub fn exists(&self, path: &Path) -> bool {
        self.check_parent(path).is_ok() && std::fs::symlink_metadata(path).is_ok()
    }

    /// Opens a regular file for reading, never through a link.
    pub fn open(&self, path: &Path) -> io::Result<File> {
        self.check_parent(path)?;
        let f = open_no_follow(path)?;
        let md = f.metadata()?;
        if !md.is_file() {
            return Err(io::Error::other(format!("{} is not a regular file", path.display())));
        }
        Ok(f)
    }

    /// The entries of a folder, sorted by name. The folder itself must be a real folder; its
    /// sub-folders are remembered as checked.
    pub fn list(&self, dir: &Path) -> io::Result<Vec<Entry>> {
        Ok(self.list_inner(dir, false)?.into_iter().map(|(e, _)| e).collect())
    }

    /// As [`list`](Self::list), with each entry's own metadata (not following links), read
    /// relative to the open folder: cheaper than a `stat` of each full path.
    pub fn list_with_metadata(&self, dir: &Path) -> io::Result<Vec<(Entry, Option<Metadata>)>> {
        self.list_inner(dir, true)
    }

    fn list_inner(&self, dir: &Path, with_metadata: bool) -> io::Result<Vec<(Entry, Option<Metadata>)>> {
        self.check_dir(dir)?;
        let mut out = Vec::new();
        for ent in std::fs::read_dir(dir)? {
            let ent = ent?;
            let md = if with_metadata { ent.metadata().ok() } else { None };
            let path = ent.path();
            let Ok(ft) = ent.file_type() else { continue };
            let (name, bad) = match ent.file_name().into_string() {
                Ok(n) => (n, false),
                Err(n) => (n.to_string_lossy().into_owned(), true),
            };
            let kind = if bad {
                Kind::BadName
            } else if ft.is_symlink() {
                Kind::Link
            } else if ft.is_dir() {
                Kind::Dir
            } else if ft.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            if kind == Kind::Dir {
                self.checked.borrow_mut().insert(path.clone());
            }
            out.push((Entry { name, path, kind }, md));
        }
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(out)
    }

    /// A whole file of at most `cap` bytes; a bigger one is an error naming the limit and `what`.
    pub fn read(&self, path: &Path, cap: u64, what: &str) -> io::Result<Vec<u8>> {
        let f = self.open(path)?;
        let len = f.metadata()?.len();
        let too_big =
            || io::Error::new(io::ErrorKind::FileTooLarge, format!("larger than the {} limit for {what}", size(cap)));
        if len > cap {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("{len} bytes: larger than the {} limit for {what}", size(cap)),
            ));
        }
        // Never more than the cap, even if the file grew since the stat.
        let mut bytes = Vec::with_capacity(len as usize);
        f.take(cap + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > cap {
            return Err(too_big());
        }
        Ok(bytes)
    }

    /// A whole UTF-8 text file of at most `cap` bytes, without a byte-order mark.
    pub fn read_text(&self, path: &Path, cap: u64, what: &str) -> io::Result<String> {
        let bytes = self.read(path, cap, what)?;
        let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => rest.to_vec(),
            None => bytes,
        };
        String::from_utf8(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8"))
    }

    /// Makes `dir` and the folders on the way to it, inside the root, never through a link (a link
    /// on the way, or a file where a folder should be, is an error).
    pub fn create_dirs(&self, dir: &Path) -> io::Result<()> {
        self.walk_dirs(dir, true)
    }

    /// Creates `path` holding `bytes`, atomically and never replacing anything: a unique temporary
    /// file in the same folder, fsync, a hard link to `path` (which fails if `path` exists), an
    /// fsync of the folder. Where the file system has no hard links (FAT, some shares) the
    /// temporary file is renamed instead, after checking that `path` is not there: the registry's
    /// files are named by their content or key, so a racing writer can only put the same thing
    /// there. On any failure the temporary file is removed and `path` is as it was. Returns false
    /// when `path` was already there.
    pub fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<bool> {
        self.check_parent(path)?;
        let dir = path.parent().ok_or_else(|| outside_error(path))?;
        let name = path.file_name().ok_or_else(|| outside_error(path))?.to_string_lossy().into_owned();
        let (tmp, mut f) = create_temp(dir, &name)?;
        let result = (|| -> io::Result<bool> {
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            let placed = match std::fs::hard_link(&tmp, path) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                Err(e) if matches!(e.kind(), io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied) => {
                    if std::fs::symlink_metadata(path).is_ok() {
                        false
                    } else {
                        std::fs::rename(&tmp, path)?;
                        true
                    }
                }
                Err(e) => return Err(e),
            };
            sync_dir(dir)?;
            Ok(placed)
        })();
        // After a rename the temporary name is gone; after a link (or a failure) it is removed.
        let _ = std::fs::remove_file(&tmp);
        result
    }
}

/// Writes a file the user chose (an export, a CSV) atomically: a temporary file in the same folder,
/// fsync, rename over `path`, fsync of the folder; the temporary file is removed on failure.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| outside_error(path))?.to_string_lossy().into_owned();
    let (tmp, mut f) = create_temp(dir, &name)?;
    let result = (|| -> io::Result<()> {
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// A new file named `.<name>.<pid>-<n>.tmp` in `dir`, created exclusively.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The file system kind of `path` when it is one where file events do not arrive (network shares,
/// FUSE, 9p as WSL2 uses for Windows drives).
pub fn remote_fs(path: &Path) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid NUL-terminated path and a zeroed out-parameter of the right type.
        if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
            return None;
        }
        let kind = match (st.f_type as u64) & 0xffff_ffff {
            0x6969 => "nfs",
            0x517b => "smb",
            0xff53_4d42 => "cifs",
            0xfe53_4d42 => "smb2",
            0x6573_5546 => "fuse",
            0x0102_1997 => "9p",
            0x5346_414f => "afs",
            0x00c3_6400 => "ceph",
            0x7375_7245 => "coda",
            _ => return None,
        };
        Some(kind.to_string())
    }
    #[cfg(target_os = "macos")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
            return None;
        }
        let name: String = st.f_fstypename.iter().take_while(|&&b| b != 0).map(|&b| b as u8 as char).collect();
        ["nfs", "smbfs", "afpfs", "webdav", "macfuse", "osxfuse", "fusefs", "cifs"]
            .contains(&name.as_str())
            .then_some(name)
    }
    #[cfg(windows)]
    {
        // A UNC path (\\server\share) is a network share.
        let s = path.as_os_str().to_string_lossy();
        (s.starts_with(r"\\") && !s.starts_with(r"\\?\") || s.starts_with(r"\\?\UNC\")).then(|| "smb".to_string())
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = path;
        None
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows has no fsync of a folder; NTFS journals the rename itself.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path).map_err(|e| {
        // ELOOP on Linux and macOS, EMLINK on FreeBSD: say what it is.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            link_error(path)
        } else {
            e
        }
    })
}

/// Windows: open the reparse point itself, and refuse it when it is a link; any other reparse
/// point (a cloud placeholder, deduplicated data) is opened again normally.
#[cfg(windows)]
fn open_no_follow(path: &Path) -> io::Result<File> {
    use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
    let f = std::fs::OpenOptions::new().read(true).custom_flags(FILE_FLAG_OPEN_REPARSE_POINT).open(path)?;
    let md = f.metadata()?;
    if md.file_type().is_symlink() {
        return Err(link_error(path));
    }
    if md.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return File::open(path);
    }
    Ok(f)
}

#[cfg(not(any(unix, windows)))]
fn open_no_follow(path: &Path) -> io::Result<File> {
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(link_error(path));
    }
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn links_are_never_followed_and_the_root_is_never_left() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "canary").unwrap();
        let root = dir.path().join("proj");
        std::fs::create_dir_all(root.join("run")).unwrap();
        std::fs::write(root.join("run/ok"), "fine").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("run/params")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret"), root.join("run/file")).unwrap();
        let fs = ProjectFs::new(&root);
        assert_eq!(fs.read_text(&root.join("run/ok"), 100, "test").unwrap(), "fine");
        for p in [root.join("run/params/secret"), root.join("run/file"), root.join("run/../outside/secret")] {
            let e = fs.read(&p, 100, "test").unwrap_err();
            assert!(!e.to_string().contains("canary"), "{e}");
        }
        assert!(is_link_error(&fs.read(&root.join("run/file"), 100, "t").unwrap_err()));
        assert!(is_link_error(&fs.list(&root.join("run/params")).unwrap_err()));
        assert!(fs.read(&outside.join("secret"), 100, "t").is_err());
        assert!(fs.stat(&root.join("run/params")).is_err());
        assert!(!fs.is_dir(&root.join("run/params")));
        let kinds: Vec<(String, Kind)> =
            fs.list(&root.join("run")).unwrap().into_iter().map(|e| (e.name, e.kind)).collect();
        assert_eq!(kinds, vec![("file".into(), Kind::Link), ("ok".into(), Kind::File), ("params".into(), Kind::Link)]);
        // A FIFO is not a regular file, and opening it does not hang.
        let fifo = root.join("run/fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(fs.read(&fifo, 100, "t").is_err());
    }

    /// Every module that reads the project goes through this one: a direct `std::fs` call there
    /// (or a `Path` method that follows links) fails this test.
    #[test]
    fn no_reader_touches_the_file_system_directly() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files: Vec<PathBuf> =
            ["scan.rs", "watch.rs", "tail.rs", "artifacts.rs", "query.rs"].iter().map(|f| src.join(f)).collect();
        for e in std::fs::read_dir(src.join("readers")).unwrap() {
            files.push(e.unwrap().path());
        }
        let forbidden = [
            "std::fs::read",
            "std::fs::File",
            "std::fs::metadata",
            "std::fs::symlink_metadata",
            "std::fs::canonicalize",
            "std::fs::OpenOptions",
            "File::open(",
            ".exists()",
            "path.is_file()",
            "path.is_dir()",
            "path.metadata()",
            ").is_file()",
            ").is_dir()",
            ").metadata()",
        ];
        let mut found = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for bad in forbidden {
                    if line.contains(bad) {
                        found.push(format!("{}:{}: {bad}", f.display(), i + 1));
                    }
                }
            }
        }
        assert!(found.is_empty(), "use ProjectFs instead:\n{}", found.join("\n"));
    }

    #[test]
    fn reads_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 5000]).unwrap();
        let fs = ProjectFs::new(dir.path());
        let e = fs.read(&dir.path().join("big"), 4096, "metadata").unwrap_err();
        assert_eq!(e.to_string(), "5000 bytes: larger than the 4 KiB limit for metadata");
        assert_eq!(fs.read(&dir.path().join("big"), 5000, "x").unwrap().len(), 5000);
    }

    #[cfg(unix)]
    #[test]
    fn folders_are_made_inside_the_root_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("p"), dir.path().join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join(".runlens")).unwrap();
        let fs = ProjectFs::new(&root);
        let e = fs.create_dirs(&root.join(".runlens/registry/keys")).unwrap_err();
        assert!(is_link_error(&e), "{e}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing made outside the root");
        assert!(fs.create_dirs(&root.join("a/b")).is_ok() && root.join("a/b").is_dir());
        assert!(fs.create_dirs(&dir.path().join("elsewhere")).is_err());
    }

    #[test]
    fn new_files_are_written_whole_never_replace_and_leave_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let fs = ProjectFs::new(dir.path());
        let p = dir.path().join("a.json");
        assert!(fs.write_new(&p, b"one").unwrap());
        assert!(!fs.write_new(&p, b"two").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }
}
