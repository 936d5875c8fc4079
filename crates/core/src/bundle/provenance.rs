//! `provenance.json`: an in-toto statement with a SLSA v1 provenance predicate for a bundle.

use std::path::Path;

use serde_json::{json, Value};

use crate::files::ProjectFs;
use crate::registry::pin;

/// The source run's own files (metadata, logs; at most 2,000 files of at most 64 MiB each), with
/// their SHA-256, for the provenance's dependencies.
pub(super) fn run_files(fs: &ProjectFs, root: &Path, run_path: Option<&str>) -> Vec<(String, String)> {
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
pub(super) fn statement(
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
