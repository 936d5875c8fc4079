//! `registry verify`: everything checked from the files themselves, nothing taken from the index.
//! - every event file: its name is the SHA-256 of its bytes, it parses, it names its own model,
//!   its signature verifies with a published key;
//! - every parent an event names is there (a deleted event that was not a head is caught here);
//! - the policy allows every event, judged on the model as it was just before it;
//! - every pinned file of every version still has its size and SHA-256.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::event::Event;
use super::{fold, pin, store};
use crate::files::{Kind, ProjectFs};
use crate::Error;

/// One thing that does not hold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    pub model: String,
    /// The event's hash, when the problem is an event.
    pub event: Option<String>,
    /// The file, project-relative, when the problem is a file.
    pub file: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.event, &self.file) {
            (Some(e), _) => write!(f, "{}: event {e}: {}", self.model, self.message),
            (None, Some(file)) => write!(f, "{}: {file}: {}", self.model, self.message),
            (None, None) => write!(f, "{}: {}", self.model, self.message),
        }
    }
}

pub fn verify(fs: &ProjectFs, root: &Path, only: Option<&str>) -> Result<Vec<Problem>, Error> {
    let policy = store::load_policy(fs, root)?;
    let mut problems = Vec::new();
    let keys_dir = store::registry_dir(root).join(store::KEYS);
    if let Ok(entries) = fs.list(&keys_dir) {
        let mut keys = store::Keys::default();
        for e in entries.iter().filter(|e| !e.name.starts_with('.')) {
            let id = e.name.strip_suffix(".pub").unwrap_or("");
            let bad = if e.kind != Kind::File {
                Some("is not a regular file".to_string())
            } else {
                keys.get(fs, root, id).err()
            };
            if let Some(why) = bad {
                problems.push(Problem {
                    model: "keys".into(),
                    event: None,
                    file: Some(format!("{}/{}/{}", store::DIR, store::KEYS, e.name)),
                    message: why,
                });
            }
        }
    }
    let names = match only {
        Some(n) => vec![n.to_string()],
        None => store::model_names(fs, root),
    };
    for name in names {
        verify_model(fs, root, &name, &policy, &mut problems);
    }
    Ok(problems)
}

fn verify_model(fs: &ProjectFs, root: &Path, name: &str, policy: &super::policy::Policy, out: &mut Vec<Problem>) {
    let dir = store::events_dir(root, name);
    let problem = |event: Option<&str>, file: Option<String>, message: String| Problem {
        model: name.to_string(),
        event: event.map(str::to_string),
        file,
        message,
    };
    let listing = match store::list_events(fs, root, name) {
        Ok(l) => l,
        Err(e) => {
            out.push(problem(None, Some(format!("{}/{name}/events", store::DIR)), e.to_string()));
            return;
        }
    };
    for (file, why) in &listing.bad {
        out.push(problem(None, Some(format!("{}/{name}/events/{file}", store::DIR)), why.clone()));
    }
    let present: HashSet<&String> = listing.files.keys().collect();
    let mut paths: Vec<PathBuf> = present.iter().map(|h| dir.join(format!("{h}.json"))).collect();
    paths.sort();
    // Reading and signature checks on every core: they dominate for big models.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let chunk = paths.len().div_ceil(threads).max(1);
    let results: Vec<Vec<(String, Result<Event, String>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let fs = ProjectFs::new(root);
                    let mut keys = store::Keys::default();
                    part.iter()
                        .map(|p| {
                            let h = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                            (h, store::read_event(&fs, root, &mut keys, p).map(|(ev, _)| ev))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut events = Vec::new();
    for (h, r) in results.into_iter().flatten() {
        match r {
            Ok(ev) if ev.model != name => out.push(problem(
                Some(&h),
                None,
                format!("names model {:?} but lies in the folder of {name:?}", ev.model),
            )),
            Ok(ev) => events.push(ev),
            Err(why) => out.push(problem(Some(&h), None, why)),
        }
    }
    events.sort_by(|a, b| a.hash.cmp(&b.hash));
    for ev in &events {
        for p in &ev.parents {
            if !present.contains(p) {
                out.push(problem(
                    Some(&ev.hash),
                    None,
                    format!("names parent {p}, which is missing: an event was deleted"),
                ));
            }
        }
    }
    let order = fold::order(&events);
    let folded = fold::fold(name, &events, &order, policy, None);
    for (h, why) in &folded.skipped {
        out.push(problem(Some(h), None, format!("does not hold: {why}")));
    }
    for v in &folded.state.versions {
        for f in &v.files {
            let Some(path) = pin::disk_path(root, v, f) else {
                out.push(problem(
                    None,
                    Some(f.path.clone()),
                    format!("version {}: the file's path is not usable", v.version),
                ));
                continue;
            };
            let rel = crate::paths::rel(root, &path).unwrap_or_else(|| f.path.clone());
            match pin::hash_file(fs, &path) {
                Ok((_, sha)) if sha == f.sha256 => {}
                Ok((size, sha)) => out.push(problem(
                    None,
                    Some(rel),
                    format!(
                        "version {}: changed on disk (SHA-256 {sha}, {size} bytes; pinned {}, {} bytes)",
                        v.version, f.sha256, f.size
                    ),
                )),
                Err(e) => out.push(problem(None, Some(rel), format!("version {}: {e}", v.version))),
            }
        }
    }
}
