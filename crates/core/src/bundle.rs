//! Deployment bundles: a registered version as one reproducible, signed tar archive that ops can
//! check with stock tools (`sha256sum -c`, `minisign -V`) or with `runlens bundle verify`.
//!
//! `<name>-<version>.tar` holds one folder `<name>-<version>/`:
//! `model/` (the version's pinned files, as registered), `bundle.json` (canonical JSON: the
//! version, its aliases, stage, digest, files, lineage, approvals), `MODEL_CARD.md` and its curve
//! images, `SHA256SUMS` (every other file, `sha256sum -c` format, paths relative to the folder),
//! `SHA256SUMS.minisig` (the exporter's registry key; its trusted comment names model@version and
//! the digest) and `runlens.pub`. Entries are sorted by name, owned by uid/gid 0 with fixed modes,
//! dated at the version's registration: the same version exported twice is the same bytes.
//! The archive is written to `<file>.partial` and renamed; any failure removes it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::files::ProjectFs;
use crate::index::Index;
use crate::registry::event::{canonical, hex, sha256_hex};
use crate::registry::{keys, pin, Identity};
use crate::Error;

/// What an export wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Bundle {
    pub path: PathBuf,
    pub model: String,
    pub version: u64,
    pub digest: String,
    /// Files in the archive (folders not counted) and their bytes.
    pub files: usize,
    pub bytes: u64,
}

/// How far an export is: files and bytes written of the totals.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct BundleProgress {
    pub files_done: usize,
    pub files_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// What `bundle verify` found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BundleCheck {
    pub model: Option<String>,
    pub version: Option<u64>,
    /// Files whose SHA-256 was checked against SHA256SUMS.
    pub checked: usize,
    /// The key id that signed SHA256SUMS, when the signature verified.
    pub signed_by: Option<String>,
    /// One line per file that differs, is missing or is extra, and per signature problem.
    pub problems: Vec<String>,
}

enum Body<'a> {
    Bytes(Vec<u8>),
    /// A generated file that is run (`serve/serve.sh`): mode 0755.
    Script(Vec<u8>),
    /// A model file: its path on disk and the SHA-256 it was pinned with.
    Pinned(PathBuf, &'a str, u64),
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
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

impl Index {
    /// Exports `target` (NAME@VERSION or NAME@ALIAS, one of our versions) as
    /// `<out_dir>/<name>-<version>.tar`, signed with `who`'s registry key. Refused when a file of
    /// the version changed on disk since it was registered (also when one changes during the export).
    pub fn bundle_export(&self, target: &str, out_dir: &Path, who: &Identity) -> Result<Bundle, Error> {
        self.bundle_export_with(target, out_dir, who, &mut |_| {}, &std::sync::atomic::AtomicBool::new(false))
    }

    /// [`bundle_export`](Self::bundle_export), reporting progress (after each file, and every
    /// 8 MiB of a big one) and stopping when `cancel` is set: a cancelled export leaves nothing
    /// behind and says so.
    pub fn bundle_export_with(
        &self,
        target: &str,
        out_dir: &Path,
        who: &Identity,
        progress: &mut dyn FnMut(BundleProgress),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Bundle, Error> {
        let (m, v) = self.registry_version(target)?;
        if m.source != "runlens" {
            return Err(Error::Refused(format!(
                "{} is an MLflow model: import it (`runlens registry import-mlflow`) to export a bundle",
                m.name
            )));
        }
        if v.changed_on_disk {
            return Err(Error::Refused(format!(
                "{}@{}: its files changed on disk since it was registered (`runlens registry verify` names them): not exported",
                m.name, v.version
            )));
        }
        let digest = v.digest.clone().ok_or_else(|| Error::Refused("the version pins no files".into()))?;
        let root = format!("{}-{}", m.name, v.version);
        crate::paths::component(&root).ok_or_else(|| Error::Refused(format!("{root:?} cannot be a file name")))?;
        let fs = ProjectFs::new(&self.root);
        // Every entry, by its path inside the bundle folder.
        let mut entries: Vec<(String, Body)> = Vec::new();
        for f in &v.files {
            let parts: Vec<&str> = f.path.split('/').collect();
            if parts.iter().any(|p| crate::paths::component(p).is_none()) {
                return Err(Error::Refused(format!("a pinned file has an unusable path: {:?}", f.path)));
            }
            let disk = pin::disk_path(&self.root, &v, f)
                .ok_or_else(|| Error::Refused(format!("{}: not found in the project", f.path)))?;
            entries.push((format!("model/{}", f.path), Body::Pinned(disk, &f.sha256, f.size)));
        }
        let (card, images) = self.card_of(&m, &v, "MODEL_CARD")?;
        entries.push(("MODEL_CARD.md".into(), Body::Bytes(crate::registry::card::merge(&card, None).into_bytes())));
        for (name, png) in images {
            entries.push((name, Body::Bytes(png)));
        }
        let info = json!({
            "format": "runlens-bundle/1",
            "model": m.name,
            "version": v.version,
            "description": v.description,
            "model_description": m.description,
            "aliases": v.aliases,
            "stage": v.stage,
            "tags": v.tags,
            "digest": digest,
            "files": v.files,
            "source": v.source,
            "lineage": v.lineage,
            "imported_from": v.imported_from,
            "registered_at": v.created_at,
            "registered_by": v.created_by,
            "registered_event": v.register,
            "approvals": v.approvals.iter().map(|a| json!({"by": a.by, "at": a.at, "comment": a.comment, "key": a.key})).collect::<Vec<_>>(),
            "runlens_version": env!("CARGO_PKG_VERSION"),
        });
        let mut bundle_json = canonical(&info);
        bundle_json.push(b'\n');
        entries.push(("bundle.json".into(), Body::Bytes(bundle_json)));
        for (path, body) in serve_files(&m.name, &v) {
            entries.push((path, body));
        }
        let events: Vec<(String, String)> = self
            .registry_history(&m.name)?
            .into_iter()
            .filter(|e| e.skipped.is_none() && (e.version == Some(v.version) || e.version.is_none()))
            .map(|e| (e.kind, e.hash))
            .collect();
        let run_files = run_files(&fs, &self.root, v.run_path.as_deref());
        let mut provenance = canonical(&provenance(&m.name, &v, &digest, &events, &run_files));
        provenance.push(b'\n');
        entries.push(("provenance.json".into(), Body::Bytes(provenance)));
        // SHA256SUMS from the pinned hashes and the generated files' bytes; the copy below checks
        // every model file against its pin.
        let mut sums: Vec<(String, String)> = entries
            .iter()
            .map(|(p, b)| {
                let h = match b {
                    Body::Bytes(bytes) | Body::Script(bytes) => sha256_hex(bytes),
                    Body::Pinned(_, sha, _) => sha.to_string(),
                };
                (p.clone(), h)
            })
            .collect();
        sums.sort();
        let sums_text: String = sums.iter().map(|(p, h)| format!("{h}  {p}\n")).collect();
        let signer = keys::Signer::load_or_create(&who.key_dir)?;
        let sig = signer
            .sign_with_comment(sums_text.as_bytes(), &format!("runlens bundle {}@{} {digest}", m.name, v.version))?;
        entries.push(("SHA256SUMS".into(), Body::Bytes(sums_text.into_bytes())));
        entries.push(("SHA256SUMS.minisig".into(), Body::Bytes(sig.into_bytes())));
        entries.push(("runlens.pub".into(), Body::Bytes(signer.public_file(&who.actor().display()).into_bytes())));
        entries.sort_by(|a, b| a.0.cmp(&b.0));

        std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
        let out = out_dir.join(format!("{root}.tar"));
        let partial = out_dir.join(format!("{root}.tar.partial"));
        let mtime = v.created_at.unwrap_or(0).max(0) as u64 / 1000;
        let result = write_tar(&fs, &partial, &root, &entries, mtime, progress, cancel).and_then(|(files, bytes)| {
            std::fs::rename(&partial, &out).map_err(|e| io_error(&out, e))?;
            Ok((files, bytes))
        });
        match result {
            Ok((files, bytes)) => Ok(Bundle { path: out, model: m.name, version: v.version, digest, files, bytes }),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e)
            }
        }
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

/// Writes the archive: folders before their contents, everything in name order; model files
/// hashed while copied and checked against their pins.
fn write_tar(
    fs: &ProjectFs,
    path: &Path,
    root: &str,
    entries: &[(String, Body)],
    mtime: u64,
    progress: &mut dyn FnMut(BundleProgress),
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(usize, u64), Error> {
    use std::sync::atomic::Ordering;
    let files_total = entries.len();
    let bytes_total: u64 = entries
        .iter()
        .map(|(_, b)| match b {
            Body::Bytes(x) | Body::Script(x) => x.len() as u64,
            Body::Pinned(_, _, size) => *size,
        })
        .sum();
    let cancelled = || Error::Refused("the export was cancelled: nothing was written".into());
    let file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, EarlyWriteback::new(file)));
    tar.mode(tar::HeaderMode::Deterministic);
    let mut dirs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    dirs.insert(format!("{root}/"));
    for (p, _) in entries {
        let parts: Vec<&str> = p.split('/').collect();
        for i in 1..parts.len() {
            dirs.insert(format!("{root}/{}/", parts[..i].join("/")));
        }
    }
    let mut names: Vec<(String, Option<&Body>)> = dirs.into_iter().map(|d| (d, None)).collect();
    names.extend(entries.iter().map(|(p, b)| (format!("{root}/{p}"), Some(b))));
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut files, mut bytes) = (0usize, 0u64);
    let err = |e: std::io::Error| io_error(path, e);
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
                let f = fs.open(disk).map_err(|e| Error::Io(format!("{}: {e}", disk.display())))?;
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
                let mut reader = HashingReader {
                    inner: f.take(*size),
                    hash: Sha256::new(),
                    n: 0,
                    next_report: 8 << 20,
                    report: &mut report,
                };
                tar.append_data(&mut h, &name, &mut reader).map_err(|e| {
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
                let mut rest = [0u8; 1];
                let (n_read, sha_read) = (reader.n, hex(&reader.hash.clone().finalize()));
                let grew = reader.inner.into_inner().read(&mut rest).map(|n| n > 0).unwrap_or(false);
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
    let mut w = tar.into_inner().map_err(err)?;
    w.flush().map_err(err)?;
    let f = w.into_inner().map_err(|e| err(e.into_error()))?;
    f.file.sync_all().map_err(err)?;
    Ok((files, bytes))
}

/// A file writer that asks the OS to start writing each 32 MiB to disk as soon as it is written
/// (Linux `sync_file_range`), so the final fsync waits for little and the disk works while the
/// next files are read and hashed. Elsewhere it is a plain file.
struct EarlyWriteback {
    file: std::fs::File,
    written: u64,
    started: u64,
}

impl EarlyWriteback {
    fn new(file: std::fs::File) -> EarlyWriteback {
        EarlyWriteback { file, written: 0, started: 0 }
    }
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

/// Hashes what it reads, and every 8 MiB reports how far it is; `report` returning false stops
/// the read (a cancel) with an error.
struct HashingReader<'a, R> {
    inner: R,
    hash: Sha256,
    n: u64,
    next_report: u64,
    report: &'a mut dyn FnMut(u64) -> bool,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.hash.update(&buf[..k]);
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

/// Checks a bundle archive: every file against `SHA256SUMS` (differs, missing, extra) and the
/// signature of `SHA256SUMS` against the bundled `runlens.pub`.
pub fn verify_bundle(path: &Path) -> Result<BundleCheck, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let mut archive = tar::Archive::new(std::io::BufReader::with_capacity(1 << 20, file));
    let bad = |e: std::io::Error| Error::Project(format!("{}: not a readable tar archive: {e}", path.display()));
    let mut hashes: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut small: std::collections::BTreeMap<String, Vec<u8>> = std::collections::BTreeMap::new();
    let mut root: Option<String> = None;
    let mut problems = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let first = name.split('/').next().unwrap_or("").to_string();
        if root.get_or_insert_with(|| first.clone()) != &first {
            problems.push(format!("{name}: outside the bundle's folder"));
            continue;
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular => {}
            other => {
                problems.push(format!("{name}: a {other:?} entry, not a file"));
                continue;
            }
        }
        let rel = name.split_once('/').map(|x| x.1).unwrap_or("").to_string();
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut keep = Vec::new();
        loop {
            let k = entry.read(&mut buf).map_err(bad)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            if ["SHA256SUMS", "SHA256SUMS.minisig", "runlens.pub", "bundle.json"].contains(&rel.as_str())
                && keep.len() < 16 << 20
            {
                keep.extend_from_slice(&buf[..k]);
            }
        }
        if !keep.is_empty() {
            small.insert(rel.clone(), keep);
        }
        hashes.insert(rel, hex(&h.finalize()));
    }
    let text = |k: &str| small.get(k).map(|b| String::from_utf8_lossy(b).into_owned());
    let Some(sums) = text("SHA256SUMS") else {
        problems.push("SHA256SUMS: missing".into());
        return Ok(BundleCheck { model: None, version: None, checked: 0, signed_by: None, problems });
    };
    let mut listed = std::collections::BTreeSet::new();
    let mut checked = 0;
    for line in sums.lines() {
        let Some((h, p)) = line.split_once("  ") else {
            problems.push(format!("SHA256SUMS: a line that is not `<sha256>  <path>`: {line:?}"));
            continue;
        };
        listed.insert(p.to_string());
        match hashes.get(p) {
            None => problems.push(format!("{p}: missing")),
            Some(actual) if actual != h => {
                problems.push(format!("{p}: differs (SHA-256 {actual}, SHA256SUMS says {h})"))
            }
            Some(_) => checked += 1,
        }
    }
    for p in hashes.keys() {
        if !listed.contains(p) && !["SHA256SUMS", "SHA256SUMS.minisig", "runlens.pub"].contains(&p.as_str()) {
            problems.push(format!("{p}: extra (not in SHA256SUMS)"));
        }
    }
    let mut signed_by = None;
    match (text("SHA256SUMS.minisig"), text("runlens.pub").and_then(|t| keys::parse_public(&t))) {
        (Some(sig), Some((pk, id))) => {
            match minisign::SignatureBox::from_string(&sig)
                .and_then(|b| minisign::verify(&pk, &b, std::io::Cursor::new(sums.as_bytes()), true, false, false))
            {
                Ok(()) => signed_by = Some(id),
                Err(e) => problems.push(format!("SHA256SUMS.minisig: does not verify with runlens.pub: {e}")),
            }
        }
        (None, _) => problems.push("SHA256SUMS.minisig: missing".into()),
        (_, None) => problems.push("runlens.pub: missing or not a minisign public key".into()),
    }
    let info: Option<Value> = small.get("bundle.json").and_then(|b| serde_json::from_slice(b).ok());
    Ok(BundleCheck {
        model: info.as_ref().and_then(|i| i["model"].as_str().map(str::to_string)),
        version: info.as_ref().and_then(|i| i["version"].as_u64()),
        checked,
        signed_by,
        problems,
    })
}

/// What `serve/` gets for this version: for an MLflow pyfunc model, a start script for MLflow's
/// scoring server (offline, `--env-manager local`), a Dockerfile doing the same from the model's
/// own `requirements.txt`, an MLServer `model-settings.json` (Open Inference Protocol v2, through
/// MLServer's MLflow runtime, which loads any pyfunc model whatever its serialization), and a README.
fn serve_files<'a>(name: &str, v: &crate::registry::VersionState) -> Vec<(String, Body<'a>)> {
    let flavors = v.lineage.pointer("/model/flavors").and_then(Value::as_object);
    let Some(flavors) = flavors.filter(|f| f.contains_key("python_function")) else { return Vec::new() };
    let python = flavors
        .get("python_function")
        .and_then(|f| f.get("python_version"))
        .and_then(Value::as_str)
        .and_then(|p| {
            let mut parts = p.split('.');
            Some(format!("{}.{}", parts.next()?, parts.next()?))
        })
        .filter(|p| p.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .unwrap_or_else(|| "3.11".into());
    let has = |f: &str| v.files.iter().any(|x| x.path == f);
    let script = "#!/bin/sh\n\
# Serves ../model offline with MLflow's scoring server on http://${HOST:-127.0.0.1}:${PORT:-5000}/invocations\n\
# (install ../model/requirements.txt first, e.g. in a virtualenv).\n\
set -e\n\
cd \"$(dirname \"$0\")\"\n\
exec mlflow models serve -m ../model --env-manager local --host \"${HOST:-127.0.0.1}\" --port \"${PORT:-5000}\"\n";
    let reqs = if has("requirements.txt") {
        "COPY model/requirements.txt /srv/model/requirements.txt\nRUN pip install --no-cache-dir -r /srv/model/requirements.txt\n"
    } else {
        "RUN pip install --no-cache-dir mlflow\n"
    };
    let docker = format!(
        "# Build from the bundle's folder: docker build -f serve/Dockerfile -t {image} .\n\
FROM python:{python}-slim\n\
WORKDIR /srv\n\
{reqs}COPY model/ /srv/model/\n\
EXPOSE 8080\n\
CMD [\"mlflow\", \"models\", \"serve\", \"-m\", \"/srv/model\", \"--env-manager\", \"local\", \"--host\", \"0.0.0.0\", \"--port\", \"8080\"]\n",
        image = name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-"),
    );
    let settings = canonical(&json!({
        "name": name,
        "implementation": "mlserver_mlflow.MLflowRuntime",
        "parameters": {"uri": "../model", "version": v.version.to_string()},
    }));
    let readme = format!(
        "# Serving {name} version {v}\n\n\
- MLflow, offline: `pip install -r ../model/requirements.txt`, then `./serve.sh` (POST JSON to http://127.0.0.1:5000/invocations).\n\
- Docker: from the bundle's folder, `docker build -f serve/Dockerfile -t {name_l} . && docker run -p 8080:8080 {name_l}`.\n\
- MLServer (Open Inference Protocol v2): `pip install mlserver mlserver-mlflow`, then `mlserver start serve/` (POST to /v2/models/{name}/infer).\n",
        v = v.version,
        name_l = name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-"),
    );
    let mut settings = settings;
    settings.push(b'\n');
    vec![
        ("serve/Dockerfile".into(), Body::Bytes(docker.into_bytes())),
        ("serve/README.md".into(), Body::Bytes(readme.into_bytes())),
        ("serve/model-settings.json".into(), Body::Bytes(settings)),
        ("serve/serve.sh".into(), Body::Script(script.as_bytes().to_vec())),
    ]
}

/// The source run's own files (metadata, logs; at most 2,000 files of at most 64 MiB each), with
/// their SHA-256, for the provenance's dependencies.
fn run_files(fs: &ProjectFs, root: &Path, run_path: Option<&str>) -> Vec<(String, String)> {
    let Some(rel) = run_path.map(|p| p.split('#').next().unwrap_or(p)) else { return Vec::new() };
    let Some(start) = crate::paths::project_file(root, rel) else { return Vec::new() };
    let mut out = Vec::new();
    let mut stack = vec![start];
    while let Some(p) = stack.pop() {
        if out.len() >= 2000 {
            break;
        }
        if fs.is_file(&p) {
            if fs.stat(&p).map(|m| m.len() <= 64 << 20).unwrap_or(false) {
                if let (Ok((_, sha)), Some(r)) = (pin::hash_file(fs, &p), crate::paths::rel(root, &p)) {
                    out.push((r, sha));
                }
            }
            continue;
        }
        for e in fs.list(&p).unwrap_or_default() {
            if e.is_file() || e.is_dir() {
                stack.push(e.path);
            }
        }
    }
    out.sort();
    out
}

/// An in-toto statement with a SLSA v1 provenance predicate: the subjects are the model's files,
/// the builder is Runlens, the dependencies the source run's files and the registry events behind
/// the version. No time and no host: the bundle is reproducible.
fn provenance(
    name: &str,
    v: &crate::registry::VersionState,
    digest: &str,
    events: &[(String, String)],
    run_files: &[(String, String)],
) -> Value {
    let subjects: Vec<Value> =
        v.files.iter().map(|f| json!({"name": format!("model/{}", f.path), "digest": {"sha256": f.sha256}})).collect();
    let mut deps: Vec<Value> =
        run_files.iter().map(|(p, sha)| json!({"uri": format!("project:{p}"), "digest": {"sha256": sha}})).collect();
    deps.extend(events.iter().map(|(kind, hash)| {
        json!({"uri": format!("project:.runlens/registry/{name}/events/{hash}.json"), "digest": {"sha256": hash}, "annotations": {"kind": kind}})
    }));
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "urn:runlens:bundle:v1",
                "externalParameters": {"model": name, "version": v.version, "digest": digest},
                "internalParameters": {"source": v.source},
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {"id": format!("urn:runlens:runlens:{}", env!("CARGO_PKG_VERSION"))},
                "metadata": {"invocationId": format!("{name}@{}:{digest}", v.version)},
            },
        },
    })
}
