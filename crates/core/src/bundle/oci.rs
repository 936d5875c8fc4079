//! A bundle as an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`), for
//! `skopeo copy oci-archive:<file> docker://...` and any OCI registry.
//!
//! The manifest follows the CNCF ModelPack spec: artifact type
//! `application/vnd.cncf.model.manifest.v1+json`, a ModelPack config, and one uncompressed
//! (`.raw`) layer per bundle file, named by the `org.cncf.model.filepath` annotation: weights,
//! weight configs (MLmodel, requirements), docs (card, bundle.json, provenance, SHA256SUMS and its
//! signature) and code (`serve/`). A layer's blob is the file's bytes, so its digest is the
//! file's SHA-256 as `SHA256SUMS` lists it, and a model file's is the SHA-256 it was pinned with.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Body, Contents};
use crate::registry::event::{canonical, sha256_hex};
use crate::registry::fold::VersionState;

pub(super) const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(super) const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(super) const ARTIFACT: &str = "application/vnd.cncf.model.manifest.v1+json";
pub(super) const CONFIG: &str = "application/vnd.cncf.model.config.v1+json";
pub(super) const FILEPATH: &str = "org.cncf.model.filepath";

/// The ModelPack media type of a bundle file, by its path.
fn media_type(path: &str) -> &'static str {
    if let Some(file) = path.strip_prefix("model/") {
        let lower = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
        let config = lower == "mlmodel"
            || [".yaml", ".yml", ".txt", ".json", ".md", ".cfg", ".ini", ".toml"].iter().any(|e| lower.ends_with(e));
        return if config {
            "application/vnd.cncf.model.weight.config.v1.raw"
        } else {
            "application/vnd.cncf.model.weight.v1.raw"
        };
    }
    if path.starts_with("serve/") {
        return "application/vnd.cncf.model.code.v1.raw";
    }
    "application/vnd.cncf.model.doc.v1.raw"
}

/// RFC 3339 UTC from seconds since the epoch.
fn rfc3339(secs: u64) -> String {
    crate::model::format_utc(secs as i64 * 1000).replace(' ', "T") + "Z"
}

/// ModelPack's `config.format`: ONNX, or the MLflow flavor that is not the generic pyfunc.
fn format_of(v: &VersionState, c: &Contents) -> Option<String> {
    if c.entries.iter().any(|(p, _)| p.starts_with("model/") && p.to_ascii_lowercase().ends_with(".onnx")) {
        return Some("onnx".into());
    }
    let flavors = v.lineage.pointer("/model/flavors").and_then(Value::as_object)?;
    flavors.keys().find(|k| *k != "python_function").or_else(|| flavors.keys().next()).cloned()
}

/// The entries of the OCI layout archive for `c`'s files.
pub(super) fn layout<'a>(c: &Contents<'a>, v: &'a VersionState) -> Vec<(String, Body<'a>)> {
    let created = rfc3339(c.mtime);
    let mut blobs: BTreeMap<String, Body<'a>> = BTreeMap::new();
    let mut layers = Vec::new();
    for (path, body) in &c.entries {
        let digest = body.sha256();
        let mode = if matches!(body, Body::Script(_)) { 0o755 } else { 0o644 };
        let meta = json!({
            "name": path, "mode": mode, "uid": 0, "gid": 0, "size": body.size(), "mtime": created, "typeflag": 48,
        });
        layers.push(json!({
            "mediaType": media_type(path),
            "digest": format!("sha256:{digest}"),
            "size": body.size(),
            "annotations": {
                FILEPATH: path,
                "org.cncf.model.file.metadata+json": String::from_utf8(canonical(&meta)).unwrap_or_default(),
            },
        }));
        blobs.entry(digest).or_insert_with(|| match body {
            Body::Bytes(b) | Body::Script(b) => Body::Bytes(b.clone()),
            Body::Pinned(p, sha, size) => Body::Pinned(p.clone(), sha, *size),
        });
    }
    let diff_ids: Vec<&Value> = layers.iter().map(|l| &l["digest"]).collect();
    let mut descriptor = json!({
        "name": c.name,
        "version": c.version.to_string(),
        "createdAt": created,
    });
    if let Some(by) = &v.created_by {
        descriptor["authors"] = json!([by]);
    }
    if let Some(d) = v.description.as_ref().filter(|d| !d.is_empty()) {
        descriptor["description"] = json!(d);
    }
    if let Some(rev) = v.lineage.pointer("/code/commit").and_then(Value::as_str) {
        descriptor["revision"] = json!(rev);
    }
    let mut config = json!({
        "descriptor": descriptor,
        "config": {},
        "modelfs": {"type": "layers", "diff_ids": diff_ids},
    });
    if let Some(f) = format_of(v, c) {
        config["config"]["format"] = json!(f);
    }
    let config = canonical(&config);
    let config_digest = sha256_hex(&config);
    let manifest = canonical(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": ARTIFACT,
        "config": {"mediaType": CONFIG, "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": layers,
        "annotations": {
            "org.opencontainers.image.title": c.name,
            "org.opencontainers.image.version": c.version.to_string(),
            "org.opencontainers.image.created": created,
            "org.runlens.bundle.digest": c.digest,
        },
    }));
    let manifest_digest = sha256_hex(&manifest);
    let index = canonical(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [{
            "mediaType": MANIFEST,
            "artifactType": ARTIFACT,
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": c.version.to_string()},
        }],
    }));
    blobs.insert(config_digest, Body::Bytes(config));
    blobs.insert(manifest_digest, Body::Bytes(manifest));
    let mut out: Vec<(String, Body<'a>)> = blobs.into_iter().map(|(d, b)| (format!("blobs/sha256/{d}"), b)).collect();
    out.push(("index.json".into(), Body::Bytes(index)));
    out.push(("oci-layout".into(), Body::Bytes(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec())));
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
