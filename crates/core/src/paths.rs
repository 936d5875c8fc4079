//! Paths found inside other tools' metadata are untrusted text. This module is the one place that turns
//! them into files we may read: decode once, normalise, and stay under the project root without
//! following a symlink.

use std::path::{Component, Path, PathBuf};

/// The project-relative, '/'-separated form of `path`, or None when it is not under `root`
/// or is not valid UTF-8.
pub fn rel(root: &Path, path: &Path) -> Option<String> {
    let r = path.strip_prefix(root).ok()?;
    let mut s = String::new();
    for c in r.components() {
        match c {
            Component::Normal(n) => {
                if !s.is_empty() {
                    s.push('/');
                }
                s.push_str(n.to_str()?);
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(s)
}

/// Splits a location written by a tool (`file:///x/y`, `/x/y`, `C:\x\y`, `x/y`) into normalised
/// components, or None when it must not be used as a local path at all: another scheme (`s3:`,
/// `dbfs:`, `models:`), a query or fragment, a parent-directory step, or any encoding left after
/// one round of percent-decoding.
fn local_components(location: &str) -> Option<(bool, Vec<String>)> {
    let loc = location.trim();
    if loc.is_empty() || loc.contains(['?', '#', ';', '\0']) {
        return None;
    }
    let mut rest = loc;
    let lower = loc.to_ascii_lowercase();
    if lower.starts_with("file:") {
        rest = &loc[5..];
        if let Some(r) = rest.strip_prefix("//") {
            // file://host/path: only an empty host or localhost is local.
            let slash = r.find('/')?;
            let host = &r[..slash];
            if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
                return None;
            }
            rest = &r[slash..];
        }
    } else if let Some(colon) = loc.find(':') {
        let scheme = &loc[..colon];
        let is_drive = colon == 1 && scheme.chars().all(|c| c.is_ascii_alphabetic());
        if !is_drive && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
            return None; // another scheme, or an empty one
        }
    }
    let decoded = percent_encoding::percent_decode_str(rest).decode_utf8().ok()?;
    if has_percent_escape(&decoded) {
        return None; // double encoding
    }
    let unified = decoded.replace('\\', "/");
    let absolute = unified.starts_with('/') || unified.get(1..2) == Some(":");
    let mut parts = Vec::new();
    for (i, part) in unified.split('/').enumerate() {
        match part {
            "" | "." => {}
            ".." => return None,
            p if i == 0 && p.len() == 2 && p.ends_with(':') => {} // a drive letter
            p => parts.push(p.to_string()),
        }
    }
    Some((absolute, parts))
}

fn has_percent_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3).any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// True when `location` is an acceptable local location whose last components are `tail`.
pub fn ends_with(location: &str, tail: &[&str]) -> bool {
    local_components(location).is_some_and(|(_, parts)| {
        parts.len() >= tail.len() && parts[parts.len() - tail.len()..].iter().zip(tail).all(|(a, b)| a == b)
    })
}

/// A file's project-relative path from its folder's (`dir`, '/'-separated, "" for the project
/// itself) and its path inside that folder.
pub fn join_path(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

/// Runs logged through `mlflow server` name their artifacts `mlflow-artifacts:/<exp>/<run>/artifacts`
/// (or `mlflow-artifacts://host:port/...`); the server keeps them in `./mlartifacts/` beside its
/// store by default. This gives that place as a location relative to the store's folder
/// (`mlartifacts/<exp>/<run>/artifacts`), for `resolve_in_project`; None for any other location.
pub fn mlflow_artifacts(location: &str) -> Option<String> {
    let rest = location.trim().strip_prefix("mlflow-artifacts:")?;
    let rest = match rest.strip_prefix("//") {
        Some(r) => &r[r.find('/')?..],
        None => rest,
    };
    Some(format!("mlartifacts/{}", rest.trim_start_matches('/')))
}

/// `name` when it is usable as one path component: not empty, not `.` or `..`, no separator
/// (`/`, `\\`), no NUL, no `:` (a Windows drive or stream), at most 255 bytes. Ids and names
/// taken from other tools' metadata are joined into paths only through this.
pub fn component(name: &str) -> Option<&str> {
    let bad =
        name.is_empty() || name == "." || name == ".." || name.len() > 255 || name.contains(['/', '\\', '\0', ':']);
    (!bad).then_some(name)
}

/// Checks that `rel_parts` names an existing entry under `root`, with no symlink on the way.
/// A project-relative, '/'-separated path as a path under `root`, or None when it has `..`, is
/// absolute, is empty, or passes through a symlink.
pub fn project_file(root: &Path, rel_path: &str) -> Option<PathBuf> {
    let parts: Vec<String> = rel_path.split('/').map(String::from).collect();
    if rel_path.is_empty()
        || parts.iter().any(|p| {
            p.is_empty() || p == "." || p == ".." || p.contains(['\\', '\0']) || (cfg!(windows) && p.contains(':'))
        })
    {
        return None;
    }
    walk_no_symlink(root, &parts)
}

fn walk_no_symlink(root: &Path, rel_parts: &[String]) -> Option<PathBuf> {
    let mut p = root.to_path_buf();
    for part in rel_parts {
        p.push(part);
        let md = std::fs::symlink_metadata(&p).ok()?;
        if md.file_type().is_symlink() {
            return None;
        }
    }
    Some(p)
}

/// Resolves a location written by a tool to an existing path inside `root`.
///
/// The location may be stale: a folder copied from another machine keeps the absolute paths of the
/// machine that wrote it. Then the longest tail of the location that exists under `root` is used
/// (`file:///cluster/u/proj/mlruns/1/abc/artifacts` → `<root>/mlruns/1/abc/artifacts`). A relative
/// location is taken relative to `base` (a directory inside `root`), then to the root, then by tails. Nothing outside `root` is ever
/// returned, and no symlink is followed.
pub fn resolve_in_project(root: &Path, base: &Path, location: &str) -> Option<PathBuf> {
    let (absolute, parts) = local_components(location)?;
    if !absolute {
        let base_rel = rel(root, base)?;
        let mut all: Vec<String> = base_rel.split('/').filter(|s| !s.is_empty()).map(String::from).collect();
        all.extend(parts.iter().cloned());
        if let Some(p) = walk_no_symlink(root, &all) {
            return Some(p);
        }
        // Relative to where the tool ran, usually the project root: the tails below try that.
        return (0..parts.len()).find_map(|start| walk_no_symlink(root, &parts[start..]));
    }
    // Absolute and inside the root as written.
    let root_parts: Vec<String> = root
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => n.to_str().map(String::from),
            _ => None,
        })
        .collect();
    if parts.len() >= root_parts.len() && parts[..root_parts.len()] == root_parts[..] {
        if let Some(p) = walk_no_symlink(root, &parts[root_parts.len()..]) {
            return Some(p);
        }
    }
    // Stale: the longest tail that exists under the root, or under a folder between the root and
    // `base` (a store copied into a subfolder: `/opt/mlflow/mlruns/1/r/artifacts` is
    // `<root>/chapter08/mlruns/1/r/artifacts`).
    let base_parts: Vec<String> =
        rel(root, base).map(|r| r.split('/').filter(|s| !s.is_empty()).map(String::from).collect()).unwrap_or_default();
    for start in 1..parts.len() {
        for depth in 0..=base_parts.len() {
            let mut all = base_parts[..depth].to_vec();
            all.extend(parts[start..].iter().cloned());
            if let Some(p) = walk_no_symlink(root, &all) {
                return Some(p);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_locations_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        std::fs::create_dir_all(root.join("mlruns/1/r/artifacts")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        let base = root.join("mlruns/1/r");
        let bad = [
            "file:///etc/",
            "/etc/passwd",
            "../../..",
            "file:///x/mlruns/1/r/artifacts#/../../../etc",
            "file:///x/mlruns/1/r/artifacts?/../../../etc",
            "mlruns/1/r/artifacts;../../..",
            "file:///x/%2e%2e%2f%2e%2e%2fetc",
            "file:///x/%252e%252e%252fetc",
            "..\\..\\..\\etc",
            "//proc/self/root",
            "dbfs:/mlruns/1/r/artifacts",
            "s3://bucket/mlruns/1/r/artifacts",
            "://mlruns/1/r/artifacts",
            "file://evil-host/mlruns/1/r/artifacts",
            "",
        ];
        for b in bad {
            assert_eq!(resolve_in_project(&root, &base, b), None, "{b}");
        }
        // "/etc/passwd" does not exist under root even though root/etc does.
        assert_eq!(resolve_in_project(&root, &base, "/etc/passwd"), None);
    }

    #[test]
    fn stale_absolute_location_resolves_under_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        std::fs::create_dir_all(root.join("mlruns/1/r/artifacts")).unwrap();
        let got = resolve_in_project(&root, &root, "file:///cluster/home/u/old/mlruns/1/r/artifacts").unwrap();
        assert_eq!(got, root.join("mlruns/1/r/artifacts"));
        let own = format!("file://{}/mlruns/1/r/artifacts", root.display());
        assert_eq!(resolve_in_project(&root, &root, &own).unwrap(), root.join("mlruns/1/r/artifacts"));
        let rel = resolve_in_project(&root, &root.join("mlruns/1/r"), "artifacts").unwrap();
        assert_eq!(rel, root.join("mlruns/1/r/artifacts"));
        // A store in a subfolder, written elsewhere: found below the run's own folders.
        std::fs::create_dir_all(root.join("ch08/mlruns/2/s/artifacts")).unwrap();
        let got = resolve_in_project(&root, &root.join("ch08/mlruns/2/s"), "file:///opt/mlflow/mlruns/2/s/artifacts");
        assert_eq!(got, Some(root.join("ch08/mlruns/2/s/artifacts")));
    }

    #[test]
    fn mlflow_server_locations_map_to_mlartifacts() {
        assert_eq!(
            mlflow_artifacts("mlflow-artifacts:/1/abc/artifacts").as_deref(),
            Some("mlartifacts/1/abc/artifacts")
        );
        assert_eq!(
            mlflow_artifacts("mlflow-artifacts://localhost:5000/1/abc/artifacts").as_deref(),
            Some("mlartifacts/1/abc/artifacts")
        );
        assert_eq!(mlflow_artifacts("file:///x/mlruns/1/abc/artifacts"), None);
        // Whatever follows still goes through resolve_in_project's checks.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        std::fs::create_dir_all(root.join("mlartifacts/1/abc/artifacts")).unwrap();
        let loc = mlflow_artifacts("mlflow-artifacts:/1/abc/artifacts").unwrap();
        assert_eq!(resolve_in_project(&root, &root, &loc), Some(root.join("mlartifacts/1/abc/artifacts")));
        let bad = mlflow_artifacts("mlflow-artifacts:/../../etc").unwrap();
        assert_eq!(resolve_in_project(&root, &root, &bad), None);
    }

    #[test]
    fn components_are_single_names() {
        for ok in ["abc", "m-0123", "run.json", "a b", "é"] {
            assert_eq!(component(ok), Some(ok));
        }
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "c:", "a\0", &"x".repeat(256)] {
            assert_eq!(component(bad), None, "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        std::fs::create_dir_all(root.join("mlruns/1/r")).unwrap();
        std::os::unix::fs::symlink("/", root.join("mlruns/1/r/artifacts")).unwrap();
        assert_eq!(resolve_in_project(&root, &root, "mlruns/1/r/artifacts/etc"), None);
        assert_eq!(resolve_in_project(&root, &root, "mlruns/1/r/artifacts"), None);
    }
}
