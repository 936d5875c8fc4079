//! Reading one artifact file of a run for a preview.
//!
//! The file must be one the index lists for that run (an artifact, or a file of a logged model), and
//! it must resolve inside the project without a symlink: a shell passes whatever its front end asked
//! for, and this is where that request is checked. Model files are never deserialized: a preview
//! reads bytes as text or as an image, and anything else is only named.

use std::io::Read;
use std::path::PathBuf;

use crate::files::ProjectFs;
use crate::index::Index;
use crate::paths;
use crate::Error;

/// How a file can be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviewKind {
    Image,
    Text,
    /// Comma- or tab-separated text.
    Table,
    Json,
    Yaml,
    /// MLflow's `MLmodel`: YAML, shown with its flavors and signature.
    MlModel,
    /// Not shown: model weights, pickles, archives, unknown binary.
    Binary,
}

impl PreviewKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PreviewKind::Image => "image",
            PreviewKind::Text => "text",
            PreviewKind::Table => "table",
            PreviewKind::Json => "json",
            PreviewKind::Yaml => "yaml",
            PreviewKind::MlModel => "mlmodel",
            PreviewKind::Binary => "binary",
        }
    }
}

/// What a preview holds: at most `limit` bytes of the file.
#[derive(Clone, Debug)]
pub struct ArtifactPreview {
    /// Project-relative path.
    pub path: String,
    pub kind: PreviewKind,
    /// MIME type for images.
    pub mime: Option<&'static str>,
    pub size: u64,
    pub bytes: Vec<u8>,
    /// The file is longer than what `bytes` holds.
    pub truncated: bool,
}

/// Files that hold code or pickled objects: named, never read.
const NEVER_READ: &[&str] = &[
    "pkl",
    "pickle",
    "joblib",
    "pt",
    "pth",
    "ckpt",
    "bin",
    "onnx",
    "h5",
    "hdf5",
    "keras",
    "pb",
    "safetensors",
    "npy",
    "npz",
    "zip",
    "gz",
    "tar",
    "tgz",
    "bz2",
    "xz",
    "zst",
    "7z",
    "so",
    "dll",
    "dylib",
    "exe",
    "whl",
    "parquet",
    "feather",
    "arrow",
    "db",
    "sqlite",
    "cbm",
    "ubj",
    "model",
    "tflite",
    "mar",
    "pdparams",
];

fn image_mime(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// The preview kind a file name calls for, or None when the content has to decide (text or binary).
pub fn kind_by_name(path: &str) -> Option<PreviewKind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name == "MLmodel" {
        return Some(PreviewKind::MlModel);
    }
    let lower = name.to_ascii_lowercase();
    // "model.pkl.gz" is a pickle whatever its last extension.
    if lower.split('.').skip(1).any(|e| matches!(e, "pkl" | "pickle" | "joblib" | "pt" | "pth")) {
        return Some(PreviewKind::Binary);
    }
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if image_mime(ext).is_some() {
        return Some(PreviewKind::Image);
    }
    if NEVER_READ.contains(&ext) {
        return Some(PreviewKind::Binary);
    }
    Some(match ext {
        "csv" | "tsv" => PreviewKind::Table,
        "json" | "jsonl" | "ndjson" => {
            if ext == "json" {
                PreviewKind::Json
            } else {
                PreviewKind::Text
            }
        }
        "yaml" | "yml" => PreviewKind::Yaml,
        "txt" | "log" | "md" | "py" | "sh" | "cfg" | "ini" | "toml" | "out" | "err" | "html" | "xml" | "rst" => {
            PreviewKind::Text
        }
        _ => return None,
    })
}

/// Bytes of text shown at most; longer files are cut and marked.
pub const TEXT_LIMIT: usize = 1 << 20;
/// Images larger than this are named, not shown.
pub const IMAGE_LIMIT: u64 = 32 << 20;

impl Index {
    /// The project-relative paths of every file the index lists for a run: its artifacts and the
    /// files of its logged models.
    pub fn run_files(&self, run_id: &str) -> Result<Vec<(String, u64)>, Error> {
        let d = self.run_detail(run_id)?;
        let mut out = Vec::new();
        if let Some(dir) = &d.artifact_dir {
            for a in &d.artifacts {
                out.push((crate::paths::join_path(dir, &a.path), a.size));
            }
        }
        for m in &d.models {
            if let Some(dir) = &m.dir {
                for f in &m.files {
                    out.push((crate::paths::join_path(dir, &f.path), f.size));
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Where a run lives on disk, for "reveal in file manager": its folder or log file, or for a
    /// run of an `mlflow.db` (path `mlflow.db#<id>`) its artifact folder when it has one, else the
    /// database file. Checked: inside the project, reached without a symlink.
    pub fn run_location(&self, run: &str) -> Result<PathBuf, Error> {
        let row = self.find_run(run)?;
        let rel = match row.path.split_once('#') {
            Some((db, _)) => {
                let detail = self.run_detail(&row.path)?;
                detail.artifact_dir.filter(|d| paths::project_file(self.root(), d).is_some()).unwrap_or(db.to_string())
            }
            None => row.path.clone(),
        };
        if rel.is_empty() {
            return Ok(self.root().to_path_buf()); // the project folder is the run
        }
        paths::project_file(self.root(), &rel)
            .ok_or_else(|| Error::NotFound(format!("{rel}: not inside the project, or reached through a link")))
    }

    /// The file on disk for a project-relative `path` of a run, checked: listed for the run, inside
    /// the project, reached without a symlink, a regular file.
    pub fn run_file(&self, run_id: &str, path: &str) -> Result<PathBuf, Error> {
        let listed = self.run_files(run_id)?.into_iter().any(|(p, _)| p == path);
        if !listed {
            return Err(Error::NotFound(format!("{path:?} is not a file of run {run_id}")));
        }
        let file = paths::project_file(self.root(), path)
            .ok_or_else(|| Error::NotFound(format!("{path}: not a file inside the project")))?;
        let fs = ProjectFs::new(self.root());
        fs.stat_file(&file).map_err(|e| Error::NotFound(format!("{path}: {e}")))?;
        Ok(file)
    }

    /// Reads a run's file for a preview. Never more than `TEXT_LIMIT` bytes of text; binary files
    /// are not read at all.
    pub fn read_artifact(&self, run_id: &str, path: &str) -> Result<ArtifactPreview, Error> {
        let file = self.run_file(run_id, path)?;
        let io = |e: std::io::Error| Error::Io(format!("{path}: {e}"));
        let fs = ProjectFs::new(self.root());
        let size = fs.stat_file(&file).map_err(io)?.len();
        let mut kind = kind_by_name(path);
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        let mut preview = ArtifactPreview {
            path: path.to_string(),
            kind: kind.unwrap_or(PreviewKind::Binary),
            mime: None,
            size,
            bytes: Vec::new(),
            truncated: false,
        };
        match kind {
            Some(PreviewKind::Binary) => return Ok(preview),
            Some(PreviewKind::Image) => {
                if size > IMAGE_LIMIT {
                    preview.truncated = true;
                    return Ok(preview);
                }
                preview.mime = image_mime(&ext);
                preview.bytes = fs.read(&file, IMAGE_LIMIT, "an image preview").map_err(io)?;
                return Ok(preview);
            }
            _ => {}
        }
        let mut bytes = Vec::new();
        fs.open(&file).map_err(io)?.take(TEXT_LIMIT as u64 + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() > TEXT_LIMIT {
            bytes.truncate(TEXT_LIMIT);
            preview.truncated = true;
        }
        if kind.is_none() {
            // Unknown extension: text when it decodes and holds no NUL.
            let probe = &bytes[..bytes.len().min(8192)];
            let text = !probe.contains(&0) && utf8_prefix_ok(probe);
            kind = Some(if text { PreviewKind::Text } else { PreviewKind::Binary });
        }
        preview.kind = kind.unwrap_or(PreviewKind::Binary);
        if preview.kind == PreviewKind::Binary {
            return Ok(preview);
        }
        // Never cut a UTF-8 sequence in two.
        if preview.truncated {
            while !bytes.is_empty() && std::str::from_utf8(&bytes).is_err() {
                bytes.pop();
            }
        }
        preview.bytes = bytes;
        Ok(preview)
    }
}

/// Valid UTF-8, allowing a sequence cut by the end of the probe.
fn utf8_prefix_ok(b: &[u8]) -> bool {
    match std::str::from_utf8(b) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name() {
        assert_eq!(kind_by_name("a/MLmodel"), Some(PreviewKind::MlModel));
        assert_eq!(kind_by_name("model.pkl.gz"), Some(PreviewKind::Binary));
        assert_eq!(kind_by_name("w.PT"), Some(PreviewKind::Binary));
        assert_eq!(kind_by_name("plots/loss.PNG"), Some(PreviewKind::Image));
        assert_eq!(kind_by_name("x.tsv"), Some(PreviewKind::Table));
        assert_eq!(kind_by_name("conf.yml"), Some(PreviewKind::Yaml));
        assert_eq!(kind_by_name("README"), None);
    }
}
