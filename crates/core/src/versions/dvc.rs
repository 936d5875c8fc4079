//! DVC's own files and hashes: `.dvc` files and `dvc.lock` parsed from their bytes (a working-tree
//! file or a git blob alike), and DVC's md5s recomputed exactly.
//!
//! - DVC 3.x (`hash: md5`): the plain md5 of the bytes.
//! - DVC 2.x (no `hash:` field, "md5-dos2unix"): the bytes are read in 1 MiB pieces; a piece whose
//!   first 512 bytes look like text (no NUL, at most 30% outside printable ASCII and `\n\r\t\f\b`)
//!   is hashed with every `\r\n` turned into `\n`, any other piece as it is (dvc-data's
//!   `Dos2UnixHashStreamFile`: a `\r\n` split across two pieces stays).
//! - A folder (`<md5>.dir`): the md5 of its listing, `json.dumps(sorted([{"md5", "relpath"}]),
//!   sort_keys=True)` as Python writes it (`", "` and `": "` separators, non-ASCII escaped).

use std::io::Read;

use md5::{Digest, Md5};
use serde_json::Value;

/// One output (or dependency) that DVC records with its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tracked {
    /// Project-relative, `/`-separated.
    pub path: String,
    /// The md5, with `.dir` for a folder.
    pub md5: String,
    pub size: Option<u64>,
    pub nfiles: Option<u64>,
    /// Hashed the DVC 2.x way (CRLF -> LF in text pieces).
    pub legacy: bool,
    /// Where DVC records it: the `.dvc` file's path, or `dvc.lock:<stage>`.
    pub via: String,
    /// A stage output (false: a stage dependency).
    pub out: bool,
}

/// Joins a path DVC wrote relative to `dir` (a project-relative folder, "" for the root) into a
/// project-relative path; `None` when it leaves the project or is absolute.
pub(crate) fn join(dir: &str, rel: &str) -> Option<String> {
    let rel = rel.replace('\\', "/");
    if rel.starts_with('/') || rel.contains(':') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn entry(o: &Value, dir: &str, via: &str, out: bool) -> Option<Tracked> {
    let md5 = o.get("md5").and_then(Value::as_str)?;
    if !md5.trim_end_matches(".dir").chars().all(|c| c.is_ascii_hexdigit()) || md5.len() < 32 {
        return None;
    }
    Some(Tracked {
        path: join(dir, o.get("path").and_then(Value::as_str)?)?,
        md5: md5.to_string(),
        size: o.get("size").and_then(Value::as_u64),
        nfiles: o.get("nfiles").and_then(Value::as_u64),
        legacy: o.get("hash").and_then(Value::as_str) != Some("md5"),
        via: via.to_string(),
        out,
    })
}

/// The outputs a `.dvc` file at `path` (project-relative) records.
pub(crate) fn parse_dvc_file(path: &str, text: &str) -> Result<Vec<Tracked>, String> {
    let v = crate::readers::yaml(text)?;
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    Ok(v.get("outs")
        .and_then(Value::as_array)
        .map(|outs| outs.iter().filter_map(|o| entry(o, dir, path, true)).collect())
        .unwrap_or_default())
}

/// The dependencies and outputs with hashes a `dvc.lock` at `path` records, per stage.
pub(crate) fn parse_lock(path: &str, text: &str) -> Result<Vec<Tracked>, String> {
    let v = crate::readers::yaml(text)?;
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut out = Vec::new();
    if let Some(stages) = v.get("stages").and_then(Value::as_object) {
        for (name, st) in stages {
            let via = if dir.is_empty() { format!("dvc.lock:{name}") } else { format!("{dir}/dvc.lock:{name}") };
            for (key, is_out) in [("deps", false), ("outs", true)] {
                for o in st.get(key).and_then(Value::as_array).into_iter().flatten() {
                    out.extend(entry(o, dir, &via, is_out));
                }
            }
        }
    }
    Ok(out)
}

/// dvc-data's `istextblock`.
fn is_text_block(block: &[u8]) -> bool {
    if block.is_empty() {
        return true;
    }
    if block.contains(&0) {
        return false;
    }
    let nontext = block
        .iter()
        .filter(|&&b| !((32..127).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x08)))
        .count();
    nontext as f64 / block.len() as f64 <= 0.30
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// DVC's md5 of a stream: plain (3.x), or the 2.x way (`legacy`). Returns (md5, bytes read).
pub(crate) fn md5_of(mut r: impl Read, legacy: bool) -> std::io::Result<(String, u64)> {
    const PIECE: usize = 1 << 20;
    let mut h = Md5::new();
    let mut buf = vec![0u8; PIECE];
    let mut n = 0u64;
    loop {
        // A whole piece, as Python's buffered read(2**20) returns one.
        let mut k = 0;
        while k < PIECE {
            match r.read(&mut buf[k..]) {
                Ok(0) => break,
                Ok(m) => k += m,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if k == 0 {
            break;
        }
        n += k as u64;
        let piece = &buf[..k];
        if legacy && is_text_block(&piece[..k.min(512)]) {
            let mut i = 0;
            while i < piece.len() {
                match piece[i..].windows(2).position(|w| w == b"\r\n") {
                    Some(p) => {
                        h.update(&piece[i..i + p]);
                        h.update(b"\n");
                        i += p + 2;
                    }
                    None => {
                        h.update(&piece[i..]);
                        break;
                    }
                }
            }
        } else {
            h.update(piece);
        }
        if k < PIECE {
            break;
        }
    }
    Ok((hex(&h.finalize()), n))
}

/// Python's `json.dumps` of a string (ensure_ascii): `"`, `\\`, control characters and every
/// non-ASCII character escaped (UTF-16 surrogate pairs above the BMP).
fn py_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `.dir` md5 of a folder from its files' (relpath, md5), as DVC computes it.
pub(crate) fn dir_md5(files: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut s = String::from("[");
    for (i, (rel, md5)) in sorted.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str("{\"md5\": ");
        py_json_str(md5, &mut s);
        s.push_str(", \"relpath\": ");
        py_json_str(rel, &mut s);
        s.push('}');
    }
    s.push(']');
    format!("{}.dir", hex(&Md5::digest(s.as_bytes())))
}

/// A `.dir` object's listing (from the DVC cache): (relpath, md5) of each file.
pub(crate) fn parse_dir_listing(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    v.as_array()?
        .iter()
        .map(|e| Some((e.get("relpath")?.as_str()?.to_string(), e.get("md5")?.as_str()?.to_string())))
        .collect()
}

/// Where DVC keeps an object in its cache, project-relative: 3.x `files/md5/xx/rest` for 3.x
/// hashes, the 2.x `xx/rest` layout for legacy ones.
/// Nothing for a value that is not an md5 (32 hex digits, `.dir` allowed): it comes from the
/// project's metadata (a `.dvc` file, a `.dir` listing) and is never joined into a path unchecked.
pub(crate) fn cache_paths(md5: &str, legacy: bool) -> Vec<String> {
    let hex = md5.strip_suffix(".dir").unwrap_or(md5);
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Vec::new();
    }
    let (a, b) = md5.split_at(2);
    let v3 = format!(".dvc/cache/files/md5/{a}/{b}");
    let v2 = format!(".dvc/cache/{a}/{b}");
    if legacy {
        vec![v2, v3]
    } else {
        vec![v3, v2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dvc_files_and_locks_parse_with_paths_relative_to_their_folder() {
        let t = parse_dvc_file(
            "data/train.csv.dvc",
            "outs:\n- md5: 857b8143a60cd86d112a6f097b63517e\n  size: 11239\n  hash: md5\n  path: train.csv\n",
        )
        .unwrap();
        assert_eq!(t[0].path, "data/train.csv");
        assert!(!t[0].legacy);
        let t = parse_dvc_file("a/x.dvc", "outs:\n- md5: ea1c7aa38b351fdd7b9b6a20accfd9a4\n  path: ../../etc/passwd\n")
            .unwrap();
        assert!(t.is_empty(), "a path out of the project is dropped");
        let lock = "schema: '2.0'\nstages:\n  train:\n    cmd: x\n    deps:\n    - path: data/train.csv\n      hash: md5\n      md5: 857b8143a60cd86d112a6f097b63517e\n      size: 1\n    outs:\n    - path: models\n      hash: md5\n      md5: 96e60ad1d00acb9421807b70174d16f6.dir\n      nfiles: 3\n";
        let t = parse_lock("dvc.lock", lock).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].via.as_str(), t[0].out, t[1].out, t[1].nfiles), ("dvc.lock:train", false, true, Some(3)));
    }

    #[test]
    fn legacy_md5_turns_crlf_into_lf_in_text_pieces_only() {
        let text = b"a\r\nb\r\n";
        assert_eq!(md5_of(&text[..], true).unwrap().0, hex(&Md5::digest(b"a\nb\n")));
        assert_eq!(md5_of(&text[..], false).unwrap().0, hex(&Md5::digest(text)));
        let binary = b"\0\r\n";
        assert_eq!(md5_of(&binary[..], true).unwrap().0, hex(&Md5::digest(binary)));
        // A CRLF split across the 1 MiB boundary stays as it is.
        let mut big = vec![b'x'; (1 << 20) - 1];
        big.extend_from_slice(b"\r\nend\r\n");
        let mut want = big[..1 << 20].to_vec();
        want.extend_from_slice(b"\nend\n");
        assert_eq!(md5_of(&big[..], true).unwrap().0, hex(&Md5::digest(&want)));
    }

    #[test]
    fn only_an_md5_becomes_a_cache_path() {
        assert_eq!(
            cache_paths("e391389069bf9eb4fcc958b5b54781fb", false)[0],
            ".dvc/cache/files/md5/e3/91389069bf9eb4fcc958b5b54781fb"
        );
        assert_eq!(
            cache_paths("96e60ad1d00acb9421807b70174d16f6.dir", true)[0],
            ".dvc/cache/96/e60ad1d00acb9421807b70174d16f6.dir"
        );
        for bad in ["../../../../etc/passwd", "../e391389069bf9eb4fcc958b5b5478", "e39138", ""] {
            assert!(cache_paths(bad, false).is_empty(), "{bad}");
        }
    }

    #[test]
    fn dir_md5_is_pythons_json_listing() {
        // json.dumps([{"md5": "0", "relpath": "b"}, {"md5": "1", "relpath": "caf\u00e9"}], sort_keys=True)
        let s = "[{\"md5\": \"0\", \"relpath\": \"b\"}, {\"md5\": \"1\", \"relpath\": \"caf\\u00e9\"}]";
        let want = format!("{}.dir", hex(&Md5::digest(s.as_bytes())));
        assert_eq!(dir_md5(&[("café".into(), "1".into()), ("b".into(), "0".into())]), want);
    }
}
