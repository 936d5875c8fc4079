//! What a version came from, recorded when it is registered: the run (params, final metrics), the
//! code (git commit), the data (MLflow dataset inputs, DVC-tracked dependencies) and the model's
//! own metadata (MLmodel flavors and signature). Everything comes from metadata files; a model
//! file is never loaded.
//!
//! Whether the git tree was dirty is not computed: that needs `git status`, and running git in an
//! untrusted folder runs the hooks and filters its config names. A run's own record of it is kept
//! when the tool wrote one.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::files::ProjectFs;
use crate::model::Num;
use crate::query::RunDetail;
use crate::readers::{yaml, MAX_META_BYTES};
use crate::Error;

const SMALL: u64 = 1 << 20;

/// Where the model named by `path` lies, as a project-relative path, and what it is: a logged
/// model's id (`m-...`), a path inside the run's artifact folder, or a project-relative path.
pub fn resolve_model_path(
    fs: &ProjectFs,
    root: &Path,
    d: &RunDetail,
    path: &str,
) -> Result<(String, &'static str, Option<String>), Error> {
    let path = path.trim_end_matches(['/', '\\']);
    if path.starts_with("m-") && !path.contains(['/', '\\']) {
        let m = d.models.iter().find(|m| m.model_id == path).ok_or_else(|| {
            let ids: Vec<&str> = d.models.iter().map(|m| m.model_id.as_str()).collect();
            Error::NotFound(format!(
                "run {} has no logged model {path:?}{}",
                d.run.id,
                if ids.is_empty() { String::new() } else { format!("; it has {}", ids.join(", ")) }
            ))
        })?;
        let dir = m.dir.clone().ok_or_else(|| {
            Error::NotFound(format!("the files of logged model {path} are not inside the project: nothing to pin"))
        })?;
        return Ok((dir, "logged-model", Some(path.to_string())));
    }
    let mut candidates = Vec::new();
    if let Some(a) = &d.artifact_dir {
        candidates.push(format!("{a}/{path}"));
    }
    let p = Path::new(path);
    if p.is_absolute() {
        // As given; else with its folder canonicalized (`/tmp` is `/private/tmp` on macOS, like the
        // root). Either way the path inside the project is then walked without following a link.
        let canon = || Some(std::fs::canonicalize(p.parent()?).ok()?.join(p.file_name()?));
        if let Some(r) = crate::paths::rel(root, p).or_else(|| crate::paths::rel(root, &canon()?)) {
            candidates.push(r);
        }
    } else {
        candidates.push(path.replace('\\', "/"));
    }
    for rel in candidates {
        let Some(full) = crate::paths::project_file(root, &rel) else { continue };
        let Ok(md) = fs.stat(&full) else { continue };
        let kind = if md.is_file() {
            "file"
        } else if fs.is_file(&full.join("MLmodel")) {
            "mlflow-model"
        } else {
            "folder"
        };
        return Ok((rel, kind, read_model_id(fs, &full)));
    }
    Err(Error::NotFound(format!(
        "{path:?} is not a file or folder of run {} (looked in its artifact folder{} and in the project), or not a logged model id",
        d.run.id,
        d.artifact_dir.as_deref().map(|a| format!(" {a}")).unwrap_or_default()
    )))
}

fn read_model_id(fs: &ProjectFs, dir: &Path) -> Option<String> {
    let text = fs.read_text(&dir.join("MLmodel"), SMALL, "an MLmodel file").ok()?;
    yaml(&text).ok()?.get("model_id").and_then(Value::as_str).map(str::to_string)
}

/// The lineage object of a register event.
pub fn lineage(fs: &ProjectFs, root: &Path, d: &RunDetail, model_path: &str) -> Value {
    let r = &d.run;
    let metrics: Map<String, Value> =
        r.metrics.iter().map(|(k, m)| (k.clone(), serde_json::to_value(Num(m.last)).unwrap_or(Value::Null))).collect();
    let inputs: Vec<Value> = d
        .inputs
        .iter()
        .map(|i| json!({"name": i.name, "digest": i.digest, "source_type": i.source_type, "source": i.source, "context": i.context}))
        .collect();
    json!({
        "run": {"format": r.source, "id": r.id, "path": r.path, "name": r.name, "experiment": r.experiment,
                 "status": r.status, "start_time": r.start_time, "end_time": r.end_time},
        "params": r.params,
        "metrics": metrics,
        "code": code(fs, root, d),
        "data": {"inputs": inputs, "dvc": dvc_deps(fs, root)},
        "model": mlmodel(fs, &root.join(model_path)),
    })
}

/// The git commit: the run's own tag when its tool wrote one, else the project repository's HEAD.
fn code(fs: &ProjectFs, root: &Path, d: &RunDetail) -> Value {
    let tags = &d.run.tags;
    for key in ["mlflow.source.git.commit", "git.commit", "git_commit", "commit"] {
        if let Some(c) = tags.get(key).filter(|c| c.len() >= 7 && c.chars().all(|c| c.is_ascii_hexdigit())) {
            return json!({
                "commit": c,
                "from": format!("run tag {key}"),
                "branch": tags.get("mlflow.source.git.branch"),
                "repo": tags.get("mlflow.source.git.repoURL"),
                "dirty": tags.get("git.dirty").map(|v| v == "true" || v == "True"),
            });
        }
    }
    match git_head(fs, root) {
        Some((commit, branch)) => {
            json!({"commit": commit, "from": "project HEAD", "branch": branch, "dirty": Value::Null})
        }
        None => Value::Null,
    }
}

/// The commit `.git/HEAD` points at, and the branch, read from git's files (no git process).
pub fn git_head(fs: &ProjectFs, root: &Path) -> Option<(String, Option<String>)> {
    let git = root.join(".git");
    let head = fs.read_text(&git.join("HEAD"), 4096, "git HEAD").ok()?;
    let head = head.trim();
    let is_commit = |s: &str| s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit());
    let Some(r) = head.strip_prefix("ref:").map(str::trim) else {
        return is_commit(head).then(|| (head.to_string(), None));
    };
    let parts: Vec<&str> = r.split('/').collect();
    if parts.iter().any(|p| crate::paths::component(p).is_none()) {
        return None;
    }
    let branch = r.strip_prefix("refs/heads/").map(str::to_string);
    let loose = parts.iter().fold(git.clone(), |p, c| p.join(c));
    if let Ok(text) = fs.read_text(&loose, 4096, "a git ref") {
        let c = text.trim().to_string();
        return is_commit(&c).then_some((c, branch));
    }
    let packed = fs.read_text(&git.join("packed-refs"), MAX_META_BYTES, "git packed-refs").ok()?;
    packed.lines().find_map(|l| {
        let (c, name) = l.split_once(' ')?;
        (name.trim() == r && is_commit(c)).then(|| (c.to_string(), branch.clone()))
    })
}

/// `user.name` and `user.email` of a git config file's `[user]` section.
pub fn git_user(text: &str) -> (Option<String>, Option<String>) {
    let (mut section, mut name, mut email) = (String::new(), None, None);
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            section = l.trim_matches(|c| c == '[' || c == ']').trim().to_ascii_lowercase();
        } else if section == "user" {
            if let Some((k, v)) = l.split_once('=') {
                let v = v.trim().trim_matches('"').to_string();
                match k.trim().to_ascii_lowercase().as_str() {
                    "name" => name = Some(v),
                    "email" => email = Some(v),
                    _ => {}
                }
            }
        }
    }
    (name, email)
}

/// The dependencies `dvc.lock` records with their hashes (DVC-tracked data and code).
fn dvc_deps(fs: &ProjectFs, root: &Path) -> Vec<Value> {
    let Ok(text) = fs.read_text(&root.join("dvc.lock"), MAX_META_BYTES, "dvc.lock") else { return Vec::new() };
    let Ok(v) = yaml(&text) else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(stages) = v.get("stages").and_then(Value::as_object) {
        for (stage, s) in stages {
            for dep in s.get("deps").and_then(Value::as_array).into_iter().flatten() {
                let Some(path) = dep.get("path").and_then(Value::as_str) else { continue };
                let md5 = dep.get("md5").or_else(|| dep.get("etag")).or_else(|| dep.get("checksum"));
                out.push(json!({"stage": stage, "path": path, "md5": md5, "size": dep.get("size")}));
            }
        }
    }
    out
}

/// Flavors, signature, input example and provenance from a model folder's `MLmodel`, if it has one.
pub fn mlmodel(fs: &ProjectFs, dir: &Path) -> Value {
    let Ok(text) = fs.read_text(&dir.join("MLmodel"), SMALL, "an MLmodel file") else { return Value::Null };
    let Ok(m) = yaml(&text) else { return Value::Null };
    let flavors: Map<String, Value> = m
        .get("flavors")
        .and_then(Value::as_object)
        .map(|f| {
            f.iter()
                .map(|(k, v)| {
                    // A flavor's version fields, not its loader details.
                    let keep: Map<String, Value> = v
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .filter(|(k, _)| k.ends_with("_version") || k.as_str() == "serialization_format")
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        })
                        .unwrap_or_default();
                    (k.clone(), Value::Object(keep))
                })
                .collect()
        })
        .unwrap_or_default();
    let sig = m.get("signature").and_then(Value::as_object).map(|s| {
        let parse = |k: &str| {
            s.get(k).and_then(Value::as_str).map(|t| serde_json::from_str::<Value>(t).unwrap_or_else(|_| t.into()))
        };
        json!({"inputs": parse("inputs"), "outputs": parse("outputs"), "params": parse("params")})
    });
    let example = m
        .get("saved_input_example_info")
        .and_then(|i| i.get("artifact_path"))
        .and_then(Value::as_str)
        .and_then(crate::paths::component)
        .and_then(|name| fs.read_text(&dir.join(name), 64 << 10, "an input example").ok())
        .map(|t| serde_json::from_str::<Value>(&t).unwrap_or(Value::String(t)));
    json!({
        "flavors": flavors,
        "signature": sig,
        "input_example": example,
        "mlflow_version": m.get("mlflow_version"),
        "model_uuid": m.get("model_uuid"),
        "utc_time_created": m.get("utc_time_created"),
        "model_size_bytes": m.get("model_size_bytes"),
    })
}
