//! Deployment bundles: a registered version as one reproducible, signed archive that ops can
//! check with stock tools (`sha256sum -c`, `minisign -V`, `skopeo`) or with `runlens bundle verify`.
//!
//! A bundle's files, by their path inside it: `model/` (the version's pinned files, as
//! registered), `bundle.json` (canonical JSON: the version, its aliases, stage, digest, files,
//! lineage, approvals), `MODEL_CARD.md` and its curve images, `serve/` (how to serve this flavor,
//! [`serve`]), `provenance.json` (in-toto + SLSA, [`provenance`]), `SHA256SUMS` (every other file,
//! `sha256sum -c` format), `SHA256SUMS.minisig` (the exporter's registry key; its trusted comment
//! names model@version and the digest) and `runlens.pub`.
//!
//! Two formats carry them ([`archive`]): a tar archive with one folder `<name>-<version>/`
//! (`.tar`, or `.tar.zst` with `--compress zstd`), or an OCI image layout archive whose
//! manifest uses the CNCF ModelPack media types, one layer per file ([`oci`]). Entries are
//! sorted by name, owned by uid/gid 0 with fixed modes, dated at the version's registration: the
//! same version exported twice is the same bytes. The archive is written to `<file>.partial` and
//! renamed; any failure removes it.

mod archive;
mod oci;
mod provenance;
mod serve;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde_json::json;

use crate::files::ProjectFs;
use crate::index::Index;
use crate::registry::event::{canonical, sha256_hex};
use crate::registry::fold::{ModelState, VersionState};
use crate::registry::{keys, pin, Identity};
use crate::Error;

pub use verify::verify_bundle;

/// What an export wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Bundle {
    pub path: PathBuf,
    pub model: String,
    pub version: u64,
    pub digest: String,
    /// Files in the bundle (folders not counted) and their bytes.
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
    /// "tar", "tar+zstd" or "oci".
    pub format: String,
    pub model: Option<String>,
    pub version: Option<u64>,
    /// Files whose SHA-256 was checked against SHA256SUMS.
    pub checked: usize,
    /// The key id that signed SHA256SUMS, when the signature verified.
    pub signed_by: Option<String>,
    /// One line per file that differs, is missing or is extra, and per signature problem.
    pub problems: Vec<String>,
}

/// The container a bundle is written as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleFormat {
    /// A tar archive holding the folder `<name>-<version>/`.
    #[default]
    Tar,
    /// An OCI image layout archive (ModelPack media types), for `skopeo copy oci-archive:...`.
    Oci,
}

/// How a tar bundle is compressed. Weights barely compress, so none by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Zstd,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BundleOptions {
    pub format: BundleFormat,
    pub compress: Compression,
}

impl BundleOptions {
    /// The archive's file name for the folder name `<name>-<version>`.
    fn file_name(&self, root: &str) -> String {
        match (self.format, self.compress) {
            (BundleFormat::Oci, _) => format!("{root}.oci.tar"),
            (BundleFormat::Tar, Compression::None) => format!("{root}.tar"),
            (BundleFormat::Tar, Compression::Zstd) => format!("{root}.tar.zst"),
        }
    }
}

/// One file a bundle will hold.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlannedFile {
    /// Its path inside the bundle, e.g. `model/model.pkl`.
    pub path: String,
    pub bytes: u64,
    /// "model", "serve", "card", "metadata" or "signature".
    pub part: String,
}

/// What exporting a version would write, before anything is written: for a dialog to show.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BundlePlan {
    pub model: String,
    pub version: u64,
    pub digest: Option<String>,
    /// The archive's file name with the default options.
    pub file_name: String,
    /// Every file but the signature and the public key, which the export adds.
    pub files: Vec<PlannedFile>,
    pub bytes: u64,
    /// The model's flavors (MLflow's MLmodel), e.g. `["python_function", "sklearn"]`.
    pub flavors: Vec<String>,
    /// One line per way `serve/` offers to serve it; empty when it has no recipe for this model.
    pub serve: Vec<String>,
    /// Why an export would be refused (nothing would be written), e.g. files changed on disk.
    pub refused: Option<String>,
}

/// A file's contents, as the bundle will hold it.
pub(crate) enum Body<'a> {
    Bytes(Vec<u8>),
    /// A generated file that is run (`serve/serve.sh`): mode 0755.
    Script(Vec<u8>),
    /// A model file: its path on disk, the SHA-256 it was pinned with and its size. Copied and
    /// hashed in one pass; a mismatch stops the export.
    Pinned(PathBuf, &'a str, u64),
}

impl Body<'_> {
    fn size(&self) -> u64 {
        match self {
            Body::Bytes(b) | Body::Script(b) => b.len() as u64,
            Body::Pinned(_, _, size) => *size,
        }
    }

    fn sha256(&self) -> String {
        match self {
            Body::Bytes(b) | Body::Script(b) => sha256_hex(b),
            Body::Pinned(_, sha, _) => sha.to_string(),
        }
    }
}

/// A version's bundle files, by path inside the bundle, sorted.
struct Contents<'a> {
    name: String,
    version: u64,
    digest: String,
    /// `<name>-<version>`: the tar bundle's folder.
    root: String,
    /// The registration time, seconds: every entry's mtime.
    mtime: u64,
    entries: Vec<(String, Body<'a>)>,
}

fn part_of(path: &str) -> &'static str {
    match path.split('/').next().unwrap_or("") {
        "model" => "model",
        "serve" => "serve",
        "SHA256SUMS.minisig" | "runlens.pub" => "signature",
        p if p.starts_with("MODEL_CARD") => "card",
        _ => "metadata",
    }
}

fn refusal(index: &Index, m: &ModelState, v: &VersionState) -> Option<String> {
    if m.source != "runlens" {
        return Some(format!(
            "{} is an MLflow model: import it (`runlens registry import-mlflow`) to export a bundle",
            m.name
        ));
    }
    if v.digest.is_none() {
        return Some(format!("{}@{} pins no files", m.name, v.version));
    }
    let fs = ProjectFs::new(&index.root);
    let changed: Vec<&str> =
        pin::changed_files(&index.conn, &fs, &index.root, v).map(|f| f.path.as_str()).take(5).collect();
    (!changed.is_empty()).then(|| {
        format!(
            "{}@{}: its files changed on disk since it was registered ({}): not exported",
            m.name,
            v.version,
            changed.iter().map(|p| format!("model/{p}")).collect::<Vec<_>>().join(", ")
        )
    })
}

impl Index {
    /// What exporting `target` (NAME@VERSION or NAME@ALIAS) would write, and whether it would be
    /// refused. Reads no model bytes beyond re-hashing files whose size or time changed.
    pub fn bundle_plan(&self, target: &str) -> Result<BundlePlan, Error> {
        let (m, v) = self.registry_version(target)?;
        let refused = refusal(self, &m, &v);
        let root = format!("{}-{}", m.name, v.version);
        let flavors = v
            .lineage
            .pointer("/model/flavors")
            .and_then(|f| f.as_object())
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default();
        let (files, digest) = if m.source == "runlens" && v.digest.is_some() {
            let c = self.bundle_contents(&m, &v, None)?;
            let files: Vec<PlannedFile> = c
                .entries
                .iter()
                .map(|(p, b)| PlannedFile { path: p.clone(), bytes: b.size(), part: part_of(p).into() })
                .collect();
            (files, Some(c.digest))
        } else {
            (Vec::new(), v.digest.clone())
        };
        Ok(BundlePlan {
            bytes: files.iter().map(|f| f.bytes).sum(),
            file_name: BundleOptions::default().file_name(&root),
            serve: serve::recipes(&v).iter().map(|s| s.to_string()).collect(),
            model: m.name,
            version: v.version,
            digest,
            files,
            flavors,
            refused,
        })
    }

    /// Exports `target` (NAME@VERSION or NAME@ALIAS, one of our versions) as a tar archive
    /// `<out_dir>/<name>-<version>.tar`, signed with `who`'s registry key. Refused when a file of
    /// the version changed on disk since it was registered (also when one changes during the export).
    pub fn bundle_export(&self, target: &str, out_dir: &Path, who: &Identity) -> Result<Bundle, Error> {
        self.bundle_export_with(target, out_dir, who, BundleOptions::default(), &mut |_| {}, &AtomicBool::new(false))
    }

    /// [`bundle_export`](Self::bundle_export) in a chosen format, reporting progress (after each
    /// file, and every 8 MiB of a big one) and stopping when `cancel` is set: a cancelled export
    /// leaves nothing behind and says so.
    pub fn bundle_export_with(
        &self,
        target: &str,
        out_dir: &Path,
        who: &Identity,
        options: BundleOptions,
        progress: &mut dyn FnMut(BundleProgress),
        cancel: &AtomicBool,
    ) -> Result<Bundle, Error> {
        if options.format == BundleFormat::Oci && options.compress != Compression::None {
            return Err(Error::Refused(
                "an OCI bundle keeps its layers uncompressed (ModelPack raw layers): drop --compress".into(),
            ));
        }
        let (m, v) = self.registry_version(target)?;
        if let Some(why) = refusal(self, &m, &v) {
            return Err(Error::Refused(why));
        }
        let signer = keys::Signer::load_or_create(&who.key_dir)?;
        let c = self.bundle_contents(&m, &v, Some((&signer, &who.actor().display())))?;
        let entries = match options.format {
            BundleFormat::Tar => None,
            BundleFormat::Oci => Some(oci::layout(&c, &v)),
        };
        let (prefix, entries) = match &entries {
            None => (Some(c.root.as_str()), &c.entries),
            Some(e) => (None, e),
        };
        std::fs::create_dir_all(out_dir).map_err(|e| archive::io_error(out_dir, e))?;
        let out = out_dir.join(options.file_name(&c.root));
        let mut partial = out.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let fs = ProjectFs::new(&self.root);
        let written = archive::write(&fs, &partial, prefix, entries, c.mtime, options.compress, progress, cancel)
            .and_then(|()| std::fs::rename(&partial, &out).map_err(|e| archive::io_error(&out, e)));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        Ok(Bundle {
            path: out,
            model: c.name,
            version: c.version,
            digest: c.digest,
            files: c.entries.len(),
            bytes: c.entries.iter().map(|(_, b)| b.size()).sum(),
        })
    }

    /// The bundle's files for `v`; with a signer (and the name its public key file gives), the
    /// signature and public key too.
    fn bundle_contents<'a>(
        &self,
        m: &ModelState,
        v: &'a VersionState,
        signer: Option<(&keys::Signer, &str)>,
    ) -> Result<Contents<'a>, Error> {
        let digest = v.digest.clone().ok_or_else(|| Error::Refused("the version pins no files".into()))?;
        let root = format!("{}-{}", m.name, v.version);
        crate::paths::component(&root).ok_or_else(|| Error::Refused(format!("{root:?} cannot be a file name")))?;
        let fs = ProjectFs::new(&self.root);
        let mut entries: Vec<(String, Body)> = Vec::new();
        for f in &v.files {
            if f.path.split('/').any(|p| crate::paths::component(p).is_none()) {
                return Err(Error::Refused(format!("a pinned file has an unusable path: {:?}", f.path)));
            }
            let disk = pin::disk_path(&self.root, v, f)
                .ok_or_else(|| Error::Refused(format!("{}: not found in the project", f.path)))?;
            entries.push((format!("model/{}", f.path), Body::Pinned(disk, &f.sha256, f.size)));
        }
        let (card, images) = self.card_of(m, v, "MODEL_CARD")?;
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
        entries.extend(serve::files(&m.name, v));
        let events: Vec<(String, String)> = self
            .registry_history(&m.name)?
            .into_iter()
            .filter(|e| e.skipped.is_none() && (e.version == Some(v.version) || e.version.is_none()))
            .map(|e| (e.kind, e.hash))
            .collect();
        let run_files = provenance::run_files(&fs, &self.root, v.run_path.as_deref());
        let mut prov = canonical(&provenance::statement(&m.name, v, &digest, &events, &run_files));
        prov.push(b'\n');
        entries.push(("provenance.json".into(), Body::Bytes(prov)));
        // SHA256SUMS from the pinned hashes and the generated files' bytes; the copy checks every
        // model file against its pin.
        let mut sums: Vec<(String, String)> = entries.iter().map(|(p, b)| (p.clone(), b.sha256())).collect();
        sums.sort();
        let sums_text: String = sums.iter().map(|(p, h)| format!("{h}  {p}\n")).collect();
        if let Some((signer, who)) = signer {
            let sig = signer.sign_with_comment(
                sums_text.as_bytes(),
                &format!("runlens bundle {}@{} {digest}", m.name, v.version),
            )?;
            entries.push(("SHA256SUMS.minisig".into(), Body::Bytes(sig.into_bytes())));
            entries.push(("runlens.pub".into(), Body::Bytes(signer.public_file(who).into_bytes())));
        }
        entries.push(("SHA256SUMS".into(), Body::Bytes(sums_text.into_bytes())));
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Contents {
            name: m.name.clone(),
            version: v.version,
            digest,
            root,
            mtime: v.created_at.unwrap_or(0).max(0) as u64 / 1000,
            entries,
        })
    }
}
