//! Git LFS: which paths `.gitattributes` sends through `filter=lfs`, and pointer files.

use std::path::Path;

use super::dvc::Tracked;
use crate::files::ProjectFs;

/// The `.gitattributes` patterns with `filter=lfs`, each with the folder of the file that says it
/// ("" for the root): a pattern applies under its folder, as git reads them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Patterns(Vec<(String, String)>);

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
    /// The root `.gitattributes`; the working tree's walk adds the nested ones ([`Patterns::add`]).
    pub(crate) fn read(fs: &ProjectFs, root: &Path) -> Patterns {
        let mut p = Patterns::default();
        if let Ok(text) = fs.read_text(&root.join(".gitattributes"), 1 << 20, ".gitattributes") {
            p.add("", &text);
        }
        p
    }

    /// The `filter=lfs` patterns of the `.gitattributes` in the folder `dir` (project-relative).
    pub(crate) fn add(&mut self, dir: &str, text: &str) {
        for l in text.lines().filter(|l| l.split_whitespace().skip(1).any(|a| a == "filter=lfs")) {
            if let Some(p) = l.split_whitespace().next() {
                self.0.push((dir.trim_matches('/').to_string(), p.trim_start_matches('/').to_string()));
            }
        }
    }

    /// Whether a file of this name could match (a pattern without `/` matches the name).
    pub(crate) fn may_match_name(&self, name: &str) -> bool {
        self.0.iter().any(|(_, p)| {
            let last = p.rsplit('/').next().unwrap_or(p);
            glob(last.as_bytes(), name.as_bytes()) || last.contains("**")
        })
    }

    /// Whether the project-relative `path` goes through LFS.
    pub(crate) fn matches(&self, path: &str) -> bool {
        self.0.iter().any(|(dir, p)| {
            let rel = if dir.is_empty() {
                path
            } else {
                match path.strip_prefix(dir.as_str()).and_then(|r| r.strip_prefix('/')) {
                    Some(r) => r,
                    None => return false,
                }
            };
            if p.contains('/') {
                glob(p.as_bytes(), rel.as_bytes())
            } else {
                glob(p.as_bytes(), rel.rsplit('/').next().unwrap_or(rel).as_bytes())
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
        let mut p = Patterns::default();
        p.add("", "data/*.bin filter=lfs diff=lfs merge=lfs -text\n*.pt filter=lfs\n/models/**/*.onnx filter=lfs\n*.txt text\n");
        assert!(p.matches("data/blob.bin") && !p.matches("data/sub/blob.bin") && !p.matches("blob.bin"));
        assert!(p.matches("a/b/w.pt") && p.matches("models/x/y/m.onnx") && p.matches("models/m.onnx"));
        assert!(p.may_match_name("blob.bin") && !p.may_match_name("x.csv") && !p.matches("notes.txt"));
    }

    #[test]
    fn a_nested_gitattributes_applies_under_its_folder() {
        let mut p = Patterns::default();
        p.add("assets/raw", "*.wav filter=lfs\nclips/*.mp4 filter=lfs\n");
        assert!(p.matches("assets/raw/a.wav") && p.matches("assets/raw/deep/b.wav"));
        assert!(!p.matches("a.wav") && !p.matches("assets/rawx/a.wav") && !p.matches("assets/a.wav"));
        assert!(p.matches("assets/raw/clips/c.mp4") && !p.matches("assets/raw/deep/clips/c.mp4"));
        assert!(p.may_match_name("a.wav") && p.may_match_name("c.mp4"));
    }
}
