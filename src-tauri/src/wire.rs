//! The shapes that cross IPC. Core types stay plain; this module owns their serializable twins,
//! the `{code, message}` error, and the byte layout of chart series.

use std::collections::BTreeMap;

use serde::Serialize;

use runlens_core::{Diagnostic, Point, RunDetail, RunRow};

/// An error as the front end sees it: it branches on `code`, and shows `message` to a person.
#[derive(Clone, Debug, Serialize)]
pub struct WireError {
    pub code: &'static str,
    pub message: String,
}

impl From<runlens_core::Error> for WireError {
    fn from(e: runlens_core::Error) -> Self {
        WireError { code: e.code(), message: e.to_string() }
    }
}

impl WireError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        WireError { code, message: message.into() }
    }
}

/// A run as the page gets it: the core's run JSON (the CLI's shape) plus `user`.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Run(serde_json::Value);

impl From<RunRow> for Run {
    fn from(r: RunRow) -> Self {
        let mut v = r.to_json();
        v["user"] = r.user.into();
        Run(v)
    }
}

#[derive(Serialize)]
pub struct Issue {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

impl From<Diagnostic> for Issue {
    fn from(d: Diagnostic) -> Self {
        Issue { file: d.file, line: d.line, message: d.message }
    }
}

#[derive(Serialize)]
pub struct File {
    /// Project-relative, '/'-separated: what `artifact` and `reveal` take.
    pub path: String,
    /// Relative to the group it belongs to (the artifact folder, or the model's folder).
    pub name: String,
    pub size: u64,
}

#[derive(Serialize)]
pub struct Model {
    pub model_id: String,
    pub name: String,
    pub step: Option<i64>,
    pub dir: Option<String>,
    pub flavors: Vec<String>,
    pub signature_inputs: Option<String>,
    pub signature_outputs: Option<String>,
    pub files: Vec<File>,
}

#[derive(Serialize)]
pub struct Input {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub context: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Serialize)]
pub struct Detail {
    pub run: Run,
    pub artifact_dir: Option<String>,
    pub artifacts: Vec<File>,
    pub models: Vec<Model>,
    pub inputs: Vec<Input>,
    pub issues: Vec<Issue>,
}

use runlens_core::join_path as join;

impl From<RunDetail> for Detail {
    fn from(d: RunDetail) -> Self {
        let dir = d.artifact_dir.clone();
        Detail {
            artifacts: d
                .artifacts
                .into_iter()
                .filter_map(|a| dir.as_deref().map(|dir| File { path: join(dir, &a.path), name: a.path, size: a.size }))
                .collect(),
            models: d
                .models
                .into_iter()
                .map(|m| Model {
                    files: m
                        .files
                        .into_iter()
                        .filter_map(|f| {
                            m.dir.as_deref().map(|dir| File { path: join(dir, &f.path), name: f.path, size: f.size })
                        })
                        .collect(),
                    model_id: m.model_id,
                    name: m.name,
                    step: m.step,
                    dir: m.dir,
                    flavors: m.flavors,
                    signature_inputs: m.signature_inputs,
                    signature_outputs: m.signature_outputs,
                })
                .collect(),
            inputs: d
                .inputs
                .into_iter()
                .map(|i| Input {
                    name: i.name,
                    digest: i.digest,
                    source_type: i.source_type,
                    source: i.source,
                    context: i.context,
                    tags: i.tags,
                })
                .collect(),
            issues: d.diagnostics.into_iter().map(Issue::from).collect(),
            artifact_dir: d.artifact_dir,
            run: d.run.into(),
        }
    }
}

/// One line of a chart: the index of its run in the request, its kind (0 raw, 1 smoothed), its points.
pub type ChartSeries = (u32, u32, Vec<(f64, f64)>);

/// Chart series as bytes, little-endian, every f64 array 8-byte aligned:
/// `u32 count, u32 0`, then per series `u32 run (index into the request), u32 kind (0 raw,
/// 1 smoothed), u32 n, u32 0, f64 x[n], f64 y[n]`. The front end reads them as Float64Arrays.
pub fn encode_series(series: &[ChartSeries]) -> Vec<u8> {
    let total: usize = series.iter().map(|(_, _, p)| 16 + p.len() * 16).sum();
    let mut out = Vec::with_capacity(8 + total);
    out.extend_from_slice(&(series.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for (run, kind, pts) in series {
        out.extend_from_slice(&run.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(pts.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for (x, _) in pts {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for (_, y) in pts {
            out.extend_from_slice(&y.to_le_bytes());
        }
    }
    out
}

/// The x of a chart point along the requested axis.
pub fn xy(points: &[Point], by_step: bool) -> Vec<(f64, f64)> {
    points.iter().map(|p| (if by_step { p.step as f64 } else { p.ts }, p.value)).collect()
}
