//! Git LFS: which paths `.gitattributes` sends through `filter=lfs`, and pointer files.

use std::path::Path;

use super::dvc::Tracked;
use crate::files::ProjectFs;

/// The root `.gitattributes` patterns with `filter=lfs`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Patterns(Vec<String>);

/// gitattributes-style glob: `*` and `?` within a path component, `**` across components.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) if p.get(1) == Some(&b'*') => {
            let rest = if p.get(2) == Some(&b'/') { &p[3..] } else { &p[2..] };
            (0..=s.len()).any(|i| (i == 0 || s[i - 1] == b'/') && glob(rest, &s[i..])) || glob(rest, s)
        }
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && glob(p, &s[1..])),
        (Some(b'?'), Some(c)) => *c != b'/' && glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) => a == b && glob(&p[1..], &s[1..]),
        _ => false,
    }
}

impl Patterns {
    pub(crate) fn read(fs: &ProjectFs, root: &Path) -> Patterns {
        let text = fs.read_text(&root.join(".gitattributes"), 1 << 20, ".gitattributes").unwrap_or_default();
        Patterns(
            text.lines()
                .filter(|l| l.split_whitespace().skip(1).any(|a| a == "filter=lfs"))
                .filter_map(|l| l.split_whitespace().next())
                .map(|p| p.trim_start_matches('/').to_string())
                .collect(),
        )
    }

    /// Whether a file of this name could match (a pattern without `/` matches the name).
    pub(crate) fn may_match_name(&self, name: &str) -> bool {
        self.0.iter().any(|p| {
            let last = p.rsplit('/').next().unwrap_or(p);
            glob(last.as_bytes(), name.as_bytes()) || last.contains("**")
        })
    }

    /// Whether the project-relative `path` goes through LFS.
    pub(crate) fn matches(&self, path: &str) -> bool {
        self.0.iter().any(|p| {
            if p.contains('/') {
                glob(p.as_bytes(), path.as_bytes())
            } else {
                glob(p.as_bytes(), path.rsplit('/').next().unwrap_or(path).as_bytes())
            }
        })
    }
}

pub(crate) struct Pointer {
    pub oid: String,
    pub size: u64,
}

impl Pointer {
    pub(crate) fn tracked(&self, path: &str) -> Tracked {
        Tracked {
            path: path.to_string(),
            md5: format!("sha256:{}", self.oid),
            size: Some(self.size),
            nfiles: None,
            legacy: false,
            via: "git-lfs".into(),
            out: true,
        }
    }
}

/// A Git LFS pointer file (spec v1): `version`, `oid sha256:<64 hex>`, `size`.
pub(crate) fn parse_pointer(text: &str) -> Option<Pointer> {
    if text.len() > 1024 || !text.starts_with("version https://git-lfs.github.com/spec/v1") {
        return None;
    }
    let mut oid = None;
    let mut size = None;
    for l in text.lines() {
        if let Some(o) = l.strip_prefix("oid sha256:") {
            oid = Some(o.trim().to_string()).filter(|o| o.len() == 64 && o.chars().all(|c| c.is_ascii_hexdigit()));
        } else if let Some(s) = l.strip_prefix("size ") {
            size = s.trim().parse().ok();
        }
    }
    Some(Pointer { oid: oid?, size: size? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_gitattributes_does() {
        let p = Patterns(vec!["data/*.bin".into(), "*.pt".into(), "models/**/*.onnx".into()]);
        assert!(p.matches("data/blob.bin") && !p.matches("data/sub/blob.bin") && !p.matches("blob.bin"));
        assert!(p.matches("a/b/w.pt") && p.matches("models/x/y/m.onnx") && p.matches("models/m.onnx"));
        assert!(p.may_match_name("blob.bin") && !p.may_match_name("x.csv"));
    }
}
