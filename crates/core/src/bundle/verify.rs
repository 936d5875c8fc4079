//! `bundle verify`: every file of a bundle against its `SHA256SUMS`, and the signature of
//! `SHA256SUMS` against the bundled `runlens.pub`. Reads tar, zstd-compressed tar and OCI layout
//! bundles, telling them apart by their bytes, not their names.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{oci, BundleCheck};
use crate::registry::event::hex;
use crate::registry::keys;
use crate::Error;

/// Files kept in memory while reading, to be parsed: the sums, the signature, the key, bundle.json.
const KEPT: [&str; 4] = ["SHA256SUMS", "SHA256SUMS.minisig", "runlens.pub", "bundle.json"];
/// Not listed in SHA256SUMS: itself, its signature, the key.
const UNLISTED: [&str; 3] = ["SHA256SUMS", "SHA256SUMS.minisig", "runlens.pub"];
const SMALL: usize = 16 << 20;

/// One archive entry read: its SHA-256 and, when small, its bytes.
struct Read1 {
    sha256: String,
    bytes: Option<Vec<u8>>,
}

/// Whether an OCI blob may be one of the files to parse (JSON, SHA256SUMS, a minisign file), by
/// its first bytes: weights are never held in memory.
fn parseable(first: &[u8]) -> bool {
    first.starts_with(b"{")
        || first.starts_with(b"untrusted comment:")
        || (first.len() > 66 && first[..64].iter().all(u8::is_ascii_hexdigit) && &first[64..66] == b"  ")
}

fn read_entry(r: &mut impl Read, keep: bool, blob: bool) -> std::io::Result<Read1> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut kept = keep.then(Vec::new);
    let mut first = true;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        if std::mem::take(&mut first) && blob && !parseable(&buf[..k]) {
            kept = None;
        }
        h.update(&buf[..k]);
        if let Some(v) = kept.as_mut() {
            if v.len() + k > SMALL {
                kept = None;
            } else {
                v.extend_from_slice(&buf[..k]);
            }
        }
    }
    Ok(Read1 { sha256: hex(&h.finalize()), bytes: kept })
}

/// Checks a bundle archive (`.tar`, `.tar.zst` or `.oci.tar`).
pub fn verify_bundle(path: &Path) -> Result<BundleCheck, Error> {
    let open = || std::fs::File::open(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())));
    let mut magic = [0u8; 4];
    let n = open()?.read(&mut magic).unwrap_or(0);
    let zstd = n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd];
    let file = std::io::BufReader::with_capacity(1 << 20, open()?);
    let reader: Box<dyn Read> = if zstd {
        Box::new(
            zstd::stream::read::Decoder::with_buffer(file)
                .map_err(|e| Error::Project(format!("{}: not a readable zstd stream: {e}", path.display())))?,
        )
    } else {
        Box::new(file)
    };
    let bad = |e: std::io::Error| Error::Project(format!("{}: not a readable bundle archive: {e}", path.display()));
    let mut archive = tar::Archive::new(reader);
    // Every regular entry by its name in the archive.
    let mut entries: BTreeMap<String, Read1> = BTreeMap::new();
    let mut problems = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular => {}
            other => {
                problems.push(format!("{name}: a {other:?} entry, not a file"));
                continue;
            }
        }
        let base = name.rsplit('/').next().unwrap_or("");
        let blob = name.starts_with("blobs/");
        let keep = KEPT.contains(&base) || name == "index.json" || blob;
        let r = read_entry(&mut entry, keep, blob).map_err(bad)?;
        entries.insert(name, r);
    }
    if entries.contains_key("oci-layout") && entries.contains_key("index.json") {
        let (files, small) = oci_files(&entries, &mut problems);
        return Ok(check(if zstd { "oci+zstd" } else { "oci" }, files, small, problems));
    }
    // A tar bundle: one folder holding everything.
    let mut files = BTreeMap::new();
    let mut small = BTreeMap::new();
    let mut root: Option<String> = None;
    for (name, r) in entries {
        let (first, rel) = name.split_once('/').unwrap_or((name.as_str(), ""));
        if root.get_or_insert_with(|| first.to_string()) != first || rel.is_empty() {
            problems.push(format!("{name}: outside the bundle's folder"));
            continue;
        }
        if let Some(b) = r.bytes.filter(|_| KEPT.contains(&rel)) {
            small.insert(rel.to_string(), b);
        }
        files.insert(rel.to_string(), r.sha256);
    }
    Ok(check(if zstd { "tar+zstd" } else { "tar" }, files, small, problems))
}

/// An OCI layout's bundle files (path → SHA-256) from its manifest's layers, after checking every
/// blob against its name, and the kept files' bytes.
fn oci_files(
    entries: &BTreeMap<String, Read1>,
    problems: &mut Vec<String>,
) -> (BTreeMap<String, String>, BTreeMap<String, Vec<u8>>) {
    let mut files = BTreeMap::new();
    let mut small = BTreeMap::new();
    let mut blobs: BTreeMap<&str, &Read1> = BTreeMap::new();
    for (name, r) in entries {
        if let Some(d) = name.strip_prefix("blobs/sha256/") {
            if r.sha256 != d {
                problems.push(format!("{name}: differs (its SHA-256 is {})", r.sha256));
            }
            blobs.insert(d, r);
        } else if name != "index.json" && name != "oci-layout" {
            problems.push(format!("{name}: extra (not part of an OCI layout)"));
        }
    }
    let json = |d: &str| -> Option<Value> { blobs.get(d)?.bytes.as_ref().and_then(|b| serde_json::from_slice(b).ok()) };
    let index: Option<Value> = entries["index.json"].bytes.as_ref().and_then(|b| serde_json::from_slice(b).ok());
    let manifest_digest = index
        .as_ref()
        .and_then(|i| i.pointer("/manifests/0/digest"))
        .and_then(Value::as_str)
        .and_then(|d| d.strip_prefix("sha256:"));
    let Some(manifest) = manifest_digest.and_then(json) else {
        problems.push("index.json: names no readable manifest".into());
        return (files, small);
    };
    if manifest["artifactType"] != oci::ARTIFACT {
        problems.push(format!("manifest: artifact type {} is not a ModelPack model", manifest["artifactType"]));
    }
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    let config = manifest.pointer("/config/digest").and_then(Value::as_str).and_then(|d| d.strip_prefix("sha256:"));
    let diff_ids: Vec<Value> = config
        .and_then(json)
        .and_then(|c| c.pointer("/modelfs/diff_ids").cloned())
        .and_then(|d| d.as_array().cloned())
        .unwrap_or_default();
    if diff_ids.iter().collect::<Vec<_>>() != layers.iter().map(|l| &l["digest"]).collect::<Vec<_>>() {
        problems.push("config: modelfs.diff_ids do not list the manifest's layers".into());
    }
    for l in layers {
        let Some(path) =
            l.pointer(&format!("/annotations/{}", oci::FILEPATH.replace('/', "~1"))).and_then(Value::as_str)
        else {
            problems.push(format!("a layer {} without a {} annotation", l["digest"], oci::FILEPATH));
            continue;
        };
        let digest = l["digest"].as_str().and_then(|d| d.strip_prefix("sha256:")).unwrap_or("");
        match blobs.get(digest) {
            // A blob that differs from its name was named above; the path is then missing.
            Some(r) if r.sha256 == digest => {
                if let Some(b) = r.bytes.as_ref().filter(|_| KEPT.contains(&path)) {
                    small.insert(path.to_string(), b.clone());
                }
                files.insert(path.to_string(), digest.to_string());
            }
            Some(_) => {}
            None => problems.push(format!("{path}: missing (no blob sha256:{digest})")),
        }
    }
    (files, small)
}

/// The checks common to every format, on the bundle's files (path inside the bundle → SHA-256).
fn check(
    format: &str,
    files: BTreeMap<String, String>,
    small: BTreeMap<String, Vec<u8>>,
    mut problems: Vec<String>,
) -> BundleCheck {
    let text = |k: &str| small.get(k).map(|b| String::from_utf8_lossy(b).into_owned());
    let info: Option<Value> = small.get("bundle.json").and_then(|b| serde_json::from_slice(b).ok());
    let mut out = BundleCheck {
        format: format.into(),
        model: info.as_ref().and_then(|i| i["model"].as_str().map(str::to_string)),
        version: info.as_ref().and_then(|i| i["version"].as_u64()),
        checked: 0,
        signed_by: None,
        problems: Vec::new(),
    };
    let Some(sums) = text("SHA256SUMS") else {
        problems.push("SHA256SUMS: missing".into());
        out.problems = problems;
        return out;
    };
    let mut listed = BTreeSet::new();
    for line in sums.lines() {
        let Some((h, p)) = line.split_once("  ") else {
            problems.push(format!("SHA256SUMS: a line that is not `<sha256>  <path>`: {line:?}"));
            continue;
        };
        listed.insert(p.to_string());
        match files.get(p) {
            None => problems.push(format!("{p}: missing")),
            Some(actual) if actual != h => {
                problems.push(format!("{p}: differs (SHA-256 {actual}, SHA256SUMS says {h})"))
            }
            Some(_) => out.checked += 1,
        }
    }
    for p in files.keys() {
        if !listed.contains(p) && !UNLISTED.contains(&p.as_str()) {
            problems.push(format!("{p}: extra (not in SHA256SUMS)"));
        }
    }
    match (text("SHA256SUMS.minisig"), text("runlens.pub").and_then(|t| keys::parse_public(&t))) {
        (Some(sig), Some((pk, id))) => {
            match minisign::SignatureBox::from_string(&sig)
                .and_then(|b| minisign::verify(&pk, &b, std::io::Cursor::new(sums.as_bytes()), true, false, false))
            {
                Ok(()) => out.signed_by = Some(id),
                Err(e) => problems.push(format!("SHA256SUMS.minisig: does not verify with runlens.pub: {e}")),
            }
        }
        (None, _) => problems.push("SHA256SUMS.minisig: missing".into()),
        (_, None) => problems.push("runlens.pub: missing or not a minisign public key".into()),
    }
    out.problems = problems;
    out
}
