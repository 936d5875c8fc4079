//! The shapes that cross IPC. Core types stay plain; this module owns their serializable twins,
//! the `{code, message}` error, the arguments commands take, and the byte layout of chart series.
//!
//! The page's TypeScript types are generated from this module (ts-rs) into `ui/src/wire.gen.ts`,
//! committed: `cargo test -p runlens-desktop` fails when that file is stale, and
//! `RUNLENS_UPDATE_TS=1 cargo test -p runlens-desktop wire` writes it again. ts-rs is a
//! dev-dependency only (`cfg_attr(test, ...)`): the app's own build never compiles it.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use runlens_core::{Diagnostic, MetricSummary, Point, RegistryPolicy, RunDetail, RunRow};

#[cfg(test)]
use ts_rs::TS;

/// An error as the front end sees it: it branches on `code`, and shows `message` to a person.
/// `refused` is a registry change the model's state or the project's policy does not allow.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct WireError {
    #[cfg_attr(test, ts(type = "string"))]
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

// ---------------------------------------------------------------------------------------------
// Projects, scans, live updates

/// A project in the recent list (kept in `recent.json` in the data dir).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct Recent {
    pub path: String,
    pub name: String,
    /// Milliseconds since the epoch.
    pub opened_at: i64,
    pub runs: usize,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Current {
    /// The open project's folder.
    pub open: Option<String>,
    /// A folder given on the command line, waiting to be opened.
    pub requested: Option<String>,
}

/// Indexing progress, sent at most every 50 ms.
#[derive(Clone, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanEvent {
    Discovered { units: usize },
    Read { done: usize, total: usize, points: u64 },
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Scanned {
    pub path: String,
    pub name: String,
    pub runs: usize,
    /// Points added by this scan.
    pub points: u64,
    pub units_read: usize,
    pub units_total: usize,
    pub elapsed_ms: u64,
    pub cancelled: bool,
    pub issues: Vec<Issue>,
}

/// What the watcher sends: the changes one batch committed, or a note for the user.
#[derive(Clone, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WatchMsg {
    Changes {
        /// Run ids (as the run list has them) that are new or changed status.
        runs: Vec<String>,
        /// (run id, metric key) with new points.
        points: Vec<(String, String)>,
        removed: Vec<String>,
        /// Registry models whose events changed (someone wrote one); "" when the registry's
        /// policy or keys changed, which can change every model.
        registry: Vec<String>,
    },
    Notice {
        message: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Runs

/// A run as the page gets it: the core's run JSON (the CLI's shape, `RunRow::to_json`) plus
/// `user`. A test pins the two to the same JSON.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Run {
    pub id: String,
    pub source: String,
    pub path: String,
    pub name: Option<String>,
    pub experiment: Option<String>,
    pub status: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub parent_id: Option<String>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Serialized by the core (`MetricSummary`'s own `Serialize`).
    #[cfg_attr(test, ts(as = "BTreeMap<String, Metric>"))]
    pub metrics: BTreeMap<String, MetricSummary>,
    pub user: Option<String>,
}

impl From<RunRow> for Run {
    fn from(r: RunRow) -> Self {
        Run {
            id: r.id,
            source: r.source,
            path: r.path,
            name: r.name,
            experiment: r.experiment,
            status: r.status,
            start_time: r.start_time,
            end_time: r.end_time,
            parent_id: r.parent_id,
            params: r.params,
            tags: r.tags,
            metrics: r.metrics,
            user: r.user,
        }
    }
}

/// The TypeScript shape of the core's `MetricSummary` JSON (only for the generated types).
#[cfg(test)]
#[derive(TS)]
#[allow(dead_code)]
pub struct Metric {
    pub count: u64,
    #[ts(type = "Num")]
    pub last: f64,
    pub last_step: i64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Completions {
    pub params: BTreeMap<String, Vec<String>>,
    pub tags: BTreeMap<String, Vec<String>>,
    pub metrics: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
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
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "FileEntry"))]
pub struct File {
    /// Project-relative, '/'-separated: what `artifact` and `reveal` take.
    pub path: String,
    /// Relative to the group it belongs to (the artifact folder, or the model's folder).
    pub name: String,
    pub size: u64,
}

/// A model a run logged (an MLflow 3 logged model).
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
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
#[cfg_attr(test, derive(TS))]
pub struct Input {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub context: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
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

/// One param or tag across the runs being compared (the core's `DiffRow`).
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DiffRow {
    #[cfg_attr(test, ts(type = "\"params\" | \"tags\""))]
    pub section: &'static str,
    pub key: String,
    /// One value per run; null where the run does not have the key.
    pub values: Vec<Option<String>>,
    pub differs: bool,
}

impl From<runlens_core::DiffRow> for DiffRow {
    fn from(r: runlens_core::DiffRow) -> Self {
        DiffRow { section: r.section, key: r.key, values: r.values, differs: r.differs }
    }
}

/// The header before an artifact's bytes (`artifact` answers `u32 length, header JSON, bytes`).
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct ArtifactHeader {
    pub path: String,
    #[cfg_attr(test, ts(type = "\"image\" | \"text\" | \"table\" | \"json\" | \"yaml\" | \"mlmodel\" | \"binary\""))]
    pub kind: &'static str,
    pub mime: Option<&'static str>,
    pub size: u64,
    pub truncated: bool,
}

// ---------------------------------------------------------------------------------------------
// Charts

/// The x axis of a chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum XAxis {
    Step,
    Time,
    Relative,
}

impl From<XAxis> for runlens_core::ChartX {
    fn from(x: XAxis) -> Self {
        match x {
            XAxis::Step => runlens_core::ChartX::Step,
            XAxis::Time => runlens_core::ChartX::Time,
            XAxis::Relative => runlens_core::ChartX::Relative,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Png,
    Svg,
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

// ---------------------------------------------------------------------------------------------
// The model registry

/// Who the app writes registry events as: this user, this machine, this signing key.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Me {
    pub user: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// "Ana Lima <ana@example.org>" when a git identity is known, else the OS user.
    pub display: String,
    pub host: String,
    /// The id of this user's signing key; null until their first signed change makes it.
    pub key_id: Option<String>,
}

/// A registry model: ours (`source` "runlens") or MLflow's ("mlflow", "mlflow-db"; read-only).
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct RegModel {
    pub name: String,
    pub source: String,
    pub read_only: bool,
    /// Where an MLflow registry lives (its `models/<name>` folder or its `mlflow.db`).
    pub location: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Alias -> version number.
    pub aliases: BTreeMap<String, u64>,
    pub versions: Vec<RegVersion>,
    /// Files in the events folder that are not valid events, with why (left out of the state).
    pub invalid_files: Vec<InvalidFile>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct InvalidFile {
    pub file: String,
    pub why: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct RegVersion {
    pub version: u64,
    pub run_id: Option<String>,
    /// The run's path in the index: what `run_detail` takes. Null when the run is not indexed.
    pub run_path: Option<String>,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub aliases: Vec<String>,
    pub created_at: Option<i64>,
    pub created_by: Option<String>,
    /// The root digest over the pinned files.
    pub digest: Option<String>,
    pub files: Vec<PinnedFile>,
    /// A pinned file's size or SHA-256 differs on disk now (or the file is gone).
    pub changed_on_disk: bool,
    pub archived: bool,
    pub approvals: Vec<Approval>,
    /// How many of `approvals` the project's policy counts now (the engine's count: listed
    /// approvers only when the policy lists any, never the author's unless it allows that).
    pub counted_approvals: usize,
    pub rejections: Vec<Approval>,
    /// The key that signed the register event (its author's).
    pub author_key: String,
    /// The register event's hash.
    pub register: String,
    /// Project-relative path of the model's files (a file or a folder).
    pub model_path: Option<String>,
    pub source: VersionSource,
    /// What the version came from, recorded when it was registered; null for MLflow's versions.
    pub lineage: Option<Lineage>,
    /// Where an imported version came from.
    pub imported_from: Option<ImportedFrom>,
    /// The reference dataset its drift is measured against (`data reference`), if set.
    pub dataset: Option<ReferenceData>,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct PinnedFile {
    /// Inside the model (a folder's files) or the file's name.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Approval {
    pub by: String,
    pub at: i64,
    pub comment: String,
    /// The key that signed it.
    pub key: String,
    /// Whether the project's policy counts this person's approval of this version (a listed
    /// approver's, not the author's unless the policy allows it). False for rejections.
    pub counts: bool,
}

/// Where a version's files were taken from (the register event's `source`).
#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct VersionSource {
    /// The run's format (mlflow, lightning, ...), or the MLflow store for MLflow's versions.
    #[serde(deserialize_with = "lenient")]
    pub format: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub run_id: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub run_path: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub run_name: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub experiment: Option<String>,
    /// Project-relative path of the files.
    #[serde(deserialize_with = "lenient")]
    pub path: Option<String>,
    /// "file", "folder", "mlflow-model", "logged-model" (or "unresolved").
    #[serde(deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub model_id: Option<String>,
    /// MLflow's source URI (MLflow's versions).
    #[serde(deserialize_with = "lenient")]
    pub uri: Option<String>,
}

/// Where an imported version came from in MLflow.
#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct ImportedFrom {
    #[serde(deserialize_with = "lenient")]
    pub source: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub location: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub version: Option<u64>,
    #[serde(deserialize_with = "lenient")]
    pub stage: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub created_by: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub created_at: Option<i64>,
}

/// A version's lineage (the register event's `lineage`). Every part is read leniently: a part
/// that does not have the expected shape is left empty, the rest still shows.
#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct Lineage {
    #[serde(deserialize_with = "lenient")]
    pub run: Option<LineageRun>,
    #[serde(deserialize_with = "lenient")]
    pub params: BTreeMap<String, String>,
    /// Final values; NaN and ±inf as strings.
    #[serde(deserialize_with = "lenient")]
    #[cfg_attr(test, ts(type = "{ [key in string]: Num | null }"))]
    pub metrics: BTreeMap<String, Value>,
    #[serde(deserialize_with = "lenient")]
    pub code: Option<LineageCode>,
    #[serde(deserialize_with = "lenient")]
    pub data: LineageData,
    #[serde(deserialize_with = "lenient")]
    pub model: Option<LineageModel>,
}

#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct LineageRun {
    pub format: Option<String>,
    pub id: Option<String>,
    pub path: Option<String>,
    pub name: Option<String>,
    pub experiment: Option<String>,
    pub status: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct LineageCode {
    pub commit: Option<String>,
    /// Where the commit was found: "run tag mlflow.source.git.commit", "project HEAD".
    pub from: Option<String>,
    pub branch: Option<String>,
    pub repo: Option<String>,
    /// Whether the tree was dirty, when the run's tool recorded it.
    pub dirty: Option<bool>,
}

#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct LineageData {
    #[serde(deserialize_with = "lenient")]
    pub inputs: Vec<LineageInput>,
    #[serde(deserialize_with = "lenient")]
    pub dvc: Vec<DvcDep>,
}

#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct LineageInput {
    pub name: Option<String>,
    pub digest: Option<String>,
    pub source_type: Option<String>,
    pub source: Option<String>,
    pub context: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct DvcDep {
    #[serde(deserialize_with = "lenient")]
    pub stage: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub path: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub md5: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub size: Option<u64>,
}

/// What the model's `MLmodel` says (never the model file itself).
#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct LineageModel {
    /// Flavor -> its version fields.
    #[serde(deserialize_with = "lenient")]
    #[cfg_attr(test, ts(type = "{ [flavor in string]: { [key in string]: unknown } }"))]
    pub flavors: BTreeMap<String, Value>,
    #[serde(deserialize_with = "lenient")]
    pub signature: Option<Signature>,
    /// The saved input example, parsed as JSON when it is.
    #[cfg_attr(test, ts(type = "unknown"))]
    pub input_example: Value,
    #[serde(deserialize_with = "lenient")]
    pub mlflow_version: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub utc_time_created: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub model_size_bytes: Option<u64>,
}

/// An MLmodel signature: MLflow's column or tensor specs, as MLflow wrote them.
#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct Signature {
    #[cfg_attr(test, ts(type = "unknown"))]
    pub inputs: Value,
    #[cfg_attr(test, ts(type = "unknown"))]
    pub outputs: Value,
    #[cfg_attr(test, ts(type = "unknown"))]
    pub params: Value,
}

/// Reads a part of a JSON object that another writer made: a part of another shape is left at
/// its default instead of failing the whole.
fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> Option<T> {
    if v.is_null() {
        return None;
    }
    serde_json::from_value(v).ok()
}

impl RegModel {
    /// A model as the page gets it, each version's approvals judged by the project's `policy`.
    pub fn new(m: runlens_core::ModelState, policy: &RegistryPolicy) -> Self {
        RegModel {
            read_only: m.source != "runlens",
            name: m.name,
            source: m.source,
            location: m.location,
            description: m.description,
            tags: m.tags,
            aliases: m.aliases,
            versions: m.versions.into_iter().map(|v| RegVersion::new(v, policy)).collect(),
            invalid_files: m.invalid_files.into_iter().map(|(file, why)| InvalidFile { file, why }).collect(),
        }
    }
}

impl RegVersion {
    /// A version as the page gets it; the policy's count of its approvals, and whether each counts.
    pub fn new(v: runlens_core::VersionState, policy: &RegistryPolicy) -> Self {
        let counted_approvals = policy.counted_approvals(&v);
        // Whether one approval counts: the engine's count over a version with only that one.
        let mut probe = v.clone();
        let approvals = v
            .approvals
            .into_iter()
            .map(|a| {
                probe.approvals = vec![a.clone()];
                let counts = policy.counted_approvals(&probe) == 1;
                Approval { by: a.by, at: a.at, comment: a.comment, key: a.key, counts }
            })
            .collect();
        RegVersion {
            version: v.version,
            run_id: v.run_id,
            run_path: v.run_path,
            stage: v.stage,
            status: v.status,
            description: v.description,
            tags: v.tags,
            aliases: v.aliases,
            created_at: v.created_at,
            created_by: v.created_by,
            digest: v.digest,
            files: v.files.into_iter().map(|f| PinnedFile { path: f.path, size: f.size, sha256: f.sha256 }).collect(),
            changed_on_disk: v.changed_on_disk,
            archived: v.archived,
            approvals,
            counted_approvals,
            rejections: v
                .rejections
                .into_iter()
                .map(|a| Approval { by: a.by, at: a.at, comment: a.comment, key: a.key, counts: false })
                .collect(),
            author_key: v.author_key,
            register: v.register,
            model_path: v.model_path,
            source: from_json(v.source).unwrap_or_default(),
            lineage: from_json(v.lineage),
            imported_from: from_json(v.imported_from),
            dataset: from_json(v.dataset),
        }
    }
}

/// The project's registry policy (`.runlens/registry/policy.yaml`) as the engine reads it: what
/// it protects and whose approvals count. With no policy file, nothing is protected and a
/// version's author still may not approve it.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "RegistryPolicy"))]
pub struct Policy {
    /// The keys whose approvals count; empty: anyone's (but the author's, unless allowed).
    pub approvers: Vec<PolicyKey>,
    /// Whether a version's author may approve it (the default: no).
    pub author_may_approve: bool,
    /// Events before this time (ms) are not judged by the policy.
    pub since: Option<i64>,
    /// Protected aliases (without `@`): approvals needed.
    pub aliases: BTreeMap<String, u32>,
    /// Protected stages, as the policy writes them (matched case-insensitively): approvals needed.
    pub stages: BTreeMap<String, u32>,
}

/// A key the policy names, with who signs with it when the project's history tells.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct PolicyKey {
    /// The key id (16 hex digits).
    pub key: String,
    /// "Lee Chen <lee@example.org>": the author of the latest event this key signed, if any.
    pub name: Option<String>,
}

impl Policy {
    /// The policy with each approver's name from `signers` (key id -> who signed with it).
    pub fn new(p: RegistryPolicy, signers: &BTreeMap<String, String>) -> Self {
        Policy {
            approvers: p.approvers.into_iter().map(|key| PolicyKey { name: signers.get(&key).cloned(), key }).collect(),
            author_may_approve: p.author_may_approve,
            since: p.since,
            aliases: p.aliases,
            stages: p.stages,
        }
    }
}

/// Who wrote an event.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Actor {
    /// The OS user.
    pub user: String,
    /// The git identity, when one was configured.
    pub name: Option<String>,
    pub email: Option<String>,
}

/// One event of a model's history, in fold order.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct HistoryItem {
    /// The event's SHA-256 (its file name).
    pub hash: String,
    /// register, set_alias, remove_alias, set_tag, delete_tag, set_description, transition,
    /// request_approval, approve, reject, archive, restore, set_dataset.
    pub kind: String,
    pub version: Option<u64>,
    /// When it was written (UTC, ms).
    pub at: i64,
    pub actor: Actor,
    /// "Ana Lima <ana@example.org>" when a git identity is known, else the OS user.
    pub who: String,
    /// The machine it was written on.
    pub host: String,
    pub parents: Vec<String>,
    /// The id of the key that signed it.
    pub signed_by: String,
    #[cfg_attr(test, ts(type = "{ [key in string]: unknown }"))]
    pub payload: serde_json::Map<String, Value>,
    /// Why the event does not count (the policy refused it, its version is unknown), if it does not.
    pub skipped: Option<String>,
}

impl From<runlens_core::HistoryEntry> for HistoryItem {
    fn from(h: runlens_core::HistoryEntry) -> Self {
        HistoryItem {
            who: h.actor.display(),
            hash: h.hash,
            kind: h.kind,
            version: h.version,
            at: h.at,
            actor: Actor { user: h.actor.user, name: h.actor.name, email: h.actor.email },
            host: h.host,
            parents: h.parents,
            signed_by: h.signed_by,
            payload: h.payload,
            skipped: h.skipped,
        }
    }
}

/// A change to a model (no version in the target) or a version (`NAME@VERSION` or `NAME@ALIAS`).
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegistryChange {
    SetAlias { alias: String },
    RemoveAlias { alias: String },
    SetTag { key: String, value: String },
    DeleteTag { key: String },
    SetDescription { description: String },
    Transition { stage: String, comment: String },
    RequestApproval { comment: String },
    Approve { comment: String },
    Reject { comment: String },
    Archive,
    Restore,
}

impl From<RegistryChange> for runlens_core::RegistryChange {
    fn from(c: RegistryChange) -> Self {
        use runlens_core::RegistryChange as C;
        match c {
            RegistryChange::SetAlias { alias } => C::SetAlias(alias),
            RegistryChange::RemoveAlias { alias } => C::RemoveAlias(alias),
            RegistryChange::SetTag { key, value } => C::SetTag { key, value },
            RegistryChange::DeleteTag { key } => C::DeleteTag(key),
            RegistryChange::SetDescription { description } => C::SetDescription(description),
            RegistryChange::Transition { stage, comment } => C::Transition { stage, comment },
            RegistryChange::RequestApproval { comment } => C::RequestApproval { comment },
            RegistryChange::Approve { comment } => C::Approve { comment },
            RegistryChange::Reject { comment } => C::Reject { comment },
            RegistryChange::Archive => C::Archive,
            RegistryChange::Restore => C::Restore,
        }
    }
}

/// What a registry write did.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Written {
    pub name: String,
    pub version: Option<u64>,
    pub digest: Option<String>,
    /// The new event's hash.
    pub event: String,
}

impl From<runlens_core::Written> for Written {
    fn from(w: runlens_core::Written) -> Self {
        Written { name: w.name, version: w.version, digest: w.digest, event: w.event }
    }
}

/// What importing one MLflow model did.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Imported {
    pub name: String,
    /// "mlflow" or "mlflow-db".
    pub source: String,
    pub location: String,
    /// Our version numbers this import made.
    pub versions: Vec<u64>,
    /// What was not imported, and why.
    pub skipped: Vec<String>,
}

impl From<runlens_core::Imported> for Imported {
    fn from(i: runlens_core::Imported) -> Self {
        Imported { name: i.name, source: i.source, location: i.location, versions: i.versions, skipped: i.skipped }
    }
}

/// One thing `verify` found that does not hold.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Problem {
    pub model: String,
    /// The event's hash, when the problem is an event.
    pub event: Option<String>,
    /// The file, project-relative, when the problem is a file.
    pub file: Option<String>,
    pub message: String,
}

impl From<runlens_core::Problem> for Problem {
    fn from(p: runlens_core::Problem) -> Self {
        Problem { model: p.model, event: p.event, file: p.file, message: p.message }
    }
}

/// A version's model card, generated into the app's cache folder.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct ModelCard {
    /// Where the card was written (the Markdown file).
    pub path: String,
    pub markdown: String,
    /// The training curves it links to, by the name the Markdown uses.
    pub images: Vec<CardImage>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct CardImage {
    /// The file name, as the Markdown links it.
    pub name: String,
    /// `data:image/png;base64,...`
    pub data_url: String,
}

// ---------------------------------------------------------------------------------------------
// Deployment bundles

/// What exporting a version would write, before anything is written (the engine's `BundlePlan`),
/// and the folder the dialog offers first.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct BundlePlan {
    pub model: String,
    pub version: u64,
    pub digest: Option<String>,
    /// The archive's name as a plain tar (`<name>-<version>.tar`).
    pub file_name: String,
    /// Every file but the signature and the public key, which the export adds.
    pub files: Vec<BundleFile>,
    pub bytes: u64,
    /// The model's flavors (MLflow's MLmodel), e.g. `["python_function", "sklearn"]`.
    pub flavors: Vec<String>,
    /// One line per way `serve/` offers to serve it; empty when there is no recipe for this model.
    pub serve: Vec<String>,
    /// Why an export would be refused (nothing would be written), e.g. files changed on disk.
    pub refused: Option<String>,
    /// Where the dialog proposes to write: the Downloads folder, else the project's parent.
    pub default_dir: String,
}

/// One file of a bundle, by its path inside it (`model/model.pkl`).
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct BundleFile {
    pub path: String,
    pub bytes: u64,
    #[cfg_attr(test, ts(type = "\"model\" | \"serve\" | \"card\" | \"metadata\" | \"signature\""))]
    pub part: String,
}

impl BundlePlan {
    pub fn new(p: runlens_core::BundlePlan, default_dir: String) -> Self {
        BundlePlan {
            model: p.model,
            version: p.version,
            digest: p.digest,
            file_name: p.file_name,
            files: p.files.into_iter().map(|f| BundleFile { path: f.path, bytes: f.bytes, part: f.part }).collect(),
            bytes: p.bytes,
            flavors: p.flavors,
            serve: p.serve,
            refused: p.refused,
            default_dir,
        }
    }
}

/// The container a bundle is written as: a tar of `<name>-<version>/`, or an OCI image layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum BundleFormat {
    Tar,
    Oci,
}

/// How a tar bundle is compressed (an OCI bundle never is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum BundleCompression {
    None,
    Zstd,
}

impl BundleFormat {
    pub fn options(self, compress: BundleCompression) -> runlens_core::BundleOptions {
        runlens_core::BundleOptions {
            format: match self {
                BundleFormat::Tar => runlens_core::BundleFormat::Tar,
                BundleFormat::Oci => runlens_core::BundleFormat::Oci,
            },
            compress: match compress {
                BundleCompression::None => runlens_core::Compression::None,
                BundleCompression::Zstd => runlens_core::Compression::Zstd,
            },
        }
    }
}

/// How far an export is, sent at most every 50 ms and once at the end.
#[derive(Clone, Copy, Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct BundleProgress {
    pub files_done: usize,
    pub files_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

impl From<runlens_core::BundleProgress> for BundleProgress {
    fn from(p: runlens_core::BundleProgress) -> Self {
        BundleProgress {
            files_done: p.files_done,
            files_total: p.files_total,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
        }
    }
}

/// What an export wrote.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct BundleWritten {
    /// The archive: what `bundle_reveal` takes.
    pub path: String,
    pub model: String,
    pub version: u64,
    pub digest: String,
    /// Files in the bundle and their bytes.
    pub files: usize,
    pub bytes: u64,
}

impl From<runlens_core::Bundle> for BundleWritten {
    fn from(b: runlens_core::Bundle) -> Self {
        BundleWritten {
            path: b.path.to_string_lossy().into_owned(),
            model: b.model,
            version: b.version,
            digest: b.digest,
            files: b.files,
            bytes: b.bytes,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Data versions: tracked data, a version's column statistics, the diff of two versions

/// What the project tracks (DVC, Git LFS) and its versions through the git history (`data ls`).
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DataListing {
    pub items: Vec<DataItem>,
    /// What could not be seen: not a repository, a shallow clone, a file that does not parse.
    pub notes: Vec<String>,
    /// With `check`: each version whose bytes here do not hash to what was recorded.
    pub problems: Vec<String>,
}

/// A tracked file or folder and its versions, newest first.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DataItem {
    pub path: String,
    /// "file" or "dir".
    pub kind: String,
    /// What tracks it: `.dvc` files, `dvc.lock:<stage>`, `git-lfs`.
    pub tracked_by: Vec<String>,
    pub versions: Vec<DataVersion>,
}

/// One version of a tracked path.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DataVersion {
    /// The commit id, or "workspace" for the working tree when it differs from HEAD.
    pub rev: String,
    /// The commit's time, ms since the epoch (null for the working tree).
    pub at: Option<i64>,
    /// The commit's summary line.
    pub message: Option<String>,
    /// DVC's md5 (`<md5>.dir` for a folder); for a Git LFS file, `sha256:<oid>`.
    pub md5: String,
    pub size: Option<u64>,
    pub nfiles: Option<u64>,
    /// Whether its bytes can be read here (DVC cache, LFS objects, or the working tree).
    pub in_cache: bool,
    /// Ids of the runs made at a commit where the path had this version.
    pub runs: Vec<String>,
    /// Registered model versions ("name@version") made from such runs.
    pub models: Vec<String>,
}

impl From<runlens_core::DataListing> for DataListing {
    fn from(l: runlens_core::DataListing) -> Self {
        DataListing {
            items: l
                .items
                .into_iter()
                .map(|i| DataItem {
                    path: i.path,
                    kind: i.kind,
                    tracked_by: i.tracked_by,
                    versions: i
                        .versions
                        .into_iter()
                        .map(|v| DataVersion {
                            rev: v.rev,
                            at: v.at,
                            message: v.message,
                            md5: v.md5,
                            size: v.size,
                            nfiles: v.nfiles,
                            in_cache: v.in_cache,
                            runs: v.runs,
                            models: v.models,
                        })
                        .collect(),
                })
                .collect(),
            notes: l.notes,
            problems: l.problems,
        }
    }
}

/// How far `data_show` has read: bytes of the version's file, sent at most every 50 ms and once
/// at the end.
#[derive(Clone, Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DataProgress {
    pub done: u64,
    pub total: u64,
    /// Sent once, first, as soon as they are read: the column names and the first rows, before
    /// any statistics.
    pub columns: Option<Vec<String>>,
    #[cfg_attr(test, ts(type = "Array<{ [column in string]: Cell }> | null"))]
    pub head: Option<Vec<serde_json::Map<String, Value>>>,
    /// One column's statistics as soon as they are finished, with its index in `columns` and the
    /// table's row count (after every byte was read; the rest follow, then the whole profile).
    pub column: Option<ColumnDone>,
}

/// A column finished while the others still are (`DataProgress::column`).
#[derive(Clone, Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct ColumnDone {
    pub index: u32,
    pub rows: u64,
    pub stats: ColumnStats,
}

/// A table's column statistics over every row, and its first rows (`data show`).
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DataProfile {
    pub path: String,
    /// "workspace" or the commit id.
    pub rev: String,
    pub rows: u64,
    pub columns: Vec<ColumnStats>,
    /// The first rows, column name to cell.
    #[cfg_attr(test, ts(type = "Array<{ [column in string]: Cell }>"))]
    pub head: Vec<serde_json::Map<String, Value>>,
    /// A recomputed hash that differs from what DVC recorded, and the like.
    pub warnings: Vec<String>,
}

/// One column's statistics; what does not apply is null. A string column's min, max, mean and
/// std are of its values' lengths.
#[derive(Clone, Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct ColumnStats {
    pub name: String,
    /// "integer", "float", "boolean", "string", or "empty" (only nulls).
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u64,
    pub nulls: u64,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub min: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub max: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub mean: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub std: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub q25: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub q50: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub q75: Option<runlens_core::Num>,
    pub distinct: u64,
    /// The ten most frequent values with their counts, most frequent first.
    #[cfg_attr(test, ts(type = "Array<[Cell, number]>"))]
    pub top: Vec<(Value, u64)>,
    /// Numeric columns: `numpy.histogram(x, 10)`.
    pub histogram: Option<Histogram>,
}

#[derive(Clone, Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Histogram {
    /// counts.length + 1 bin edges, ascending.
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

impl From<runlens_core::ColumnStats> for ColumnStats {
    fn from(c: runlens_core::ColumnStats) -> Self {
        let num = |v: Option<f64>| v.map(runlens_core::Num);
        ColumnStats {
            name: c.name,
            kind: c.kind,
            count: c.count,
            nulls: c.nulls,
            min: num(c.min),
            max: num(c.max),
            mean: num(c.mean),
            std: num(c.std),
            q25: num(c.q25),
            q50: num(c.q50),
            q75: num(c.q75),
            distinct: c.distinct,
            top: c.top,
            histogram: c.histogram.map(|h| Histogram { edges: h.edges, counts: h.counts }),
        }
    }
}

impl From<runlens_core::DataProfile> for DataProfile {
    fn from(p: runlens_core::DataProfile) -> Self {
        DataProfile {
            path: p.path,
            rev: p.rev,
            rows: p.rows,
            columns: p.columns.into_iter().map(ColumnStats::from).collect(),
            head: p.head,
            warnings: p.warnings,
        }
    }
}

/// Two versions of a dataset (`data diff`): for tables, the schema, row counts and (with a key)
/// the rows added, removed and changed; for DVC folders, their files.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DataDiff {
    /// "table" or "folder".
    pub kind: String,
    pub a: DiffSide,
    pub b: DiffSide,
    /// Tables: columns only in b.
    pub columns_added: Vec<String>,
    /// Tables: columns only in a.
    pub columns_removed: Vec<String>,
    pub columns_retyped: Vec<Retyped>,
    /// The key rows were matched by (tables, when one was given).
    pub key: Option<String>,
    pub rows_added: Option<u64>,
    pub rows_removed: Option<u64>,
    pub rows_changed: Option<u64>,
    /// Up to 20 changed cells, in b's row order.
    pub changed_cells: Vec<ChangedCell>,
    /// Folders: their files as `dvc diff --json --show-hash` lists them.
    pub files: Option<FolderFiles>,
    /// Duplicate keys and the like.
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DiffSide {
    pub path: String,
    /// "workspace" or the commit id.
    pub rev: String,
    /// Rows of a table; files of a folder.
    pub rows: u64,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Retyped {
    pub name: String,
    pub from: String,
    pub to: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct ChangedCell {
    #[cfg_attr(test, ts(type = "Cell"))]
    pub key: Value,
    pub column: String,
    #[cfg_attr(test, ts(type = "Cell"))]
    pub a: Value,
    #[cfg_attr(test, ts(type = "Cell"))]
    pub b: Value,
}

/// A folder's files between two versions (`dvc diff --json --show-hash`'s lists). A list that
/// does not have the expected shape is left empty.
#[derive(Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct FolderFiles {
    #[serde(deserialize_with = "lenient")]
    pub added: Vec<FolderFile>,
    #[serde(deserialize_with = "lenient")]
    pub deleted: Vec<FolderFile>,
    /// The folder itself is listed (its path ends in "/") when its `.dir` hash changed.
    #[serde(deserialize_with = "lenient")]
    pub modified: Vec<FolderChange>,
    #[serde(deserialize_with = "lenient")]
    pub renamed: Vec<FolderRename>,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct FolderFile {
    pub path: String,
    pub hash: String,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct OldNew {
    pub old: String,
    pub new: String,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct FolderChange {
    pub path: String,
    pub hash: OldNew,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct FolderRename {
    pub path: OldNew,
    pub hash: String,
}

impl From<runlens_core::DataDiff> for DataDiff {
    fn from(d: runlens_core::DataDiff) -> Self {
        let side = |s: runlens_core::DiffSide| DiffSide { path: s.path, rev: s.rev, rows: s.rows };
        DataDiff {
            kind: d.kind,
            a: side(d.a),
            b: side(d.b),
            columns_added: d.columns_added,
            columns_removed: d.columns_removed,
            columns_retyped: d
                .columns_retyped
                .into_iter()
                .map(|r| Retyped { name: r.name, from: r.from, to: r.to })
                .collect(),
            key: d.key,
            rows_added: d.rows_added,
            rows_removed: d.rows_removed,
            rows_changed: d.rows_changed,
            changed_cells: d
                .changed_cells
                .into_iter()
                .map(|c| ChangedCell { key: c.key, column: c.column, a: c.a, b: c.b })
                .collect(),
            files: d.files.map(|f| serde_json::from_value(f).unwrap_or_default()),
            warnings: d.warnings,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Drift and monitoring

/// Which rules decide drift, as the page names them.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(TS))]
pub enum DriftRules {
    /// Holm-corrected significance and an effect size.
    #[default]
    Runlens,
    /// Evidently's DataDriftPreset defaults.
    Evidently,
}

impl From<DriftRules> for runlens_core::DriftRules {
    fn from(r: DriftRules) -> Self {
        match r {
            DriftRules::Runlens => runlens_core::DriftRules::Runlens,
            DriftRules::Evidently => runlens_core::DriftRules::Evidently,
        }
    }
}

/// One current table against the reference (`data drift`).
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct DriftReport {
    pub path: String,
    /// "workspace", a commit id, or "file".
    pub rev: String,
    /// "runlens" or "evidently": the rules that decided.
    pub rules: String,
    pub columns: Vec<ColumnDrift>,
    #[cfg_attr(test, ts(type = "Num"))]
    pub share_drifted: runlens_core::Num,
    pub drift: bool,
    pub warnings: Vec<String>,
}

/// One column's drift; what does not apply is null.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct ColumnDrift {
    pub name: String,
    /// The current's type as `data show` has it.
    #[serde(rename = "type")]
    pub kind: String,
    /// The test that decided: "ks", "chi2_contingency", "id" (a key column, never drifted),
    /// "wasserstein", "chisquare", "z", "jensenshannon", "text", or "none".
    pub method: String,
    pub drift: bool,
    /// The deciding value: the p-value (runlens: Holm-adjusted) or the distance.
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub score: Option<runlens_core::Num>,
    pub ks: Option<TestValue>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub wasserstein: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub wasserstein_norm: Option<runlens_core::Num>,
    pub chi2: Option<TestValue>,
    pub z: Option<TestValue>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub psi: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub js: Option<runlens_core::Num>,
    /// The largest change in one value's share.
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub share_change: Option<runlens_core::Num>,
    pub null_share: NullShare,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct TestValue {
    #[cfg_attr(test, ts(type = "Num"))]
    pub statistic: runlens_core::Num,
    #[cfg_attr(test, ts(type = "Num"))]
    pub p_value: runlens_core::Num,
}

/// The share of nulls in the reference and in the current.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct NullShare {
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub reference: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub current: Option<runlens_core::Num>,
}

impl DriftReport {
    pub fn new(r: runlens_core::DriftReport, rules: DriftRules) -> Self {
        let num = |v: Option<f64>| v.map(runlens_core::Num);
        let test = |t: Option<runlens_core::TestValue>| {
            t.map(|t| TestValue { statistic: runlens_core::Num(t.statistic), p_value: runlens_core::Num(t.p_value) })
        };
        DriftReport {
            path: r.path,
            rev: r.rev,
            rules: match rules {
                DriftRules::Runlens => "runlens",
                DriftRules::Evidently => "evidently",
            }
            .to_string(),
            columns: r
                .columns
                .into_iter()
                .map(|c| ColumnDrift {
                    name: c.name,
                    kind: c.kind,
                    method: c.method,
                    drift: c.drift,
                    score: num(c.score),
                    ks: test(c.ks),
                    wasserstein: num(c.wasserstein),
                    wasserstein_norm: num(c.wasserstein_norm),
                    chi2: test(c.chi2),
                    z: test(c.z),
                    psi: num(c.psi),
                    js: num(c.js),
                    share_change: num(c.share_change),
                    null_share: NullShare {
                        reference: Some(runlens_core::Num(c.null_share.0)),
                        current: Some(runlens_core::Num(c.null_share.1)),
                    },
                })
                .collect(),
            share_drifted: runlens_core::Num(r.share_drifted),
            drift: r.drift,
            warnings: r.warnings,
        }
    }
}

/// A number as a score file keeps it: a JSON number, or "NaN" / "Infinity" / "-Infinity".
fn num_of(v: &Value) -> Option<runlens_core::Num> {
    match v {
        Value::Number(n) => n.as_f64().map(runlens_core::Num),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(runlens_core::Num(f64::NAN)),
            "Infinity" => Some(runlens_core::Num(f64::INFINITY)),
            "-Infinity" => Some(runlens_core::Num(f64::NEG_INFINITY)),
            _ => None,
        },
        _ => None,
    }
}

/// A model version's reference dataset (`data reference`): what its drift is measured against.
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct ReferenceData {
    pub path: String,
    /// "workspace" or the commit id.
    pub rev: String,
    /// The md5 of the bytes, and DVC's record of them.
    pub md5: Option<String>,
    pub size: Option<u64>,
    pub dvc_md5: Option<String>,
}

/// One batch `data watch` scored against a model version's reference dataset (a file under
/// `.runlens/monitor/<model>/`), always under the runlens rules.
#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct MonitorScore {
    pub model: String,
    pub version: u64,
    /// The batch file as given to `data watch`, and the md5 of its bytes.
    pub file: String,
    pub md5: String,
    /// When it was scored, ms since the epoch (a pass's batches share it).
    pub at: i64,
    pub reference: Option<ReferenceData>,
    pub drift: bool,
    #[cfg_attr(test, ts(type = "Num"))]
    pub share_drifted: runlens_core::Num,
    /// Per column, in name order.
    pub columns: Vec<MonitorColumn>,
    /// The score's file, project-relative.
    pub record: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct MonitorColumn {
    pub name: String,
    pub drift: bool,
    pub method: String,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub score: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub psi: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub js: Option<runlens_core::Num>,
    #[cfg_attr(test, ts(type = "Num | null"))]
    pub wasserstein_norm: Option<runlens_core::Num>,
    pub null_share: NullShare,
}

impl From<runlens_core::MonitorScore> for MonitorScore {
    fn from(s: runlens_core::MonitorScore) -> Self {
        let mut columns: Vec<MonitorColumn> = s
            .columns
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(name, c)| MonitorColumn {
                        name: name.clone(),
                        drift: c["drift"].as_bool().unwrap_or(false),
                        method: c["method"].as_str().unwrap_or("").to_string(),
                        score: num_of(&c["score"]),
                        psi: num_of(&c["psi"]),
                        js: num_of(&c["js"]),
                        wasserstein_norm: num_of(&c["wasserstein_norm"]),
                        null_share: NullShare {
                            reference: num_of(&c["null_share"]["reference"]),
                            current: num_of(&c["null_share"]["current"]),
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        columns.sort_by(|a, b| a.name.cmp(&b.name));
        MonitorScore {
            model: s.model,
            version: s.version,
            file: s.file,
            md5: s.md5,
            at: s.at,
            reference: from_json(s.reference),
            drift: s.drift,
            share_drifted: runlens_core::Num(s.share_drifted),
            columns,
            record: s.record,
        }
    }
}

/// A folder watched for new batches in the app (`monitor_watch`): what it watches and what it did.
#[derive(Serialize, Debug)]
#[cfg_attr(test, derive(TS))]
pub struct MonitorWatchState {
    /// NAME@ALIAS or NAME@VERSION, resolved again at every pass.
    pub target: String,
    /// The folder, canonical.
    pub dir: String,
    pub started_at: i64,
    /// The version the target named at the last pass.
    pub version: Option<u64>,
    /// Batches scored since it started, those that drifted, and those where a column crossed its
    /// threshold (a notification each).
    pub batches: u64,
    pub drifted: u64,
    pub crossings: u64,
    /// Why the last pass failed (it tries again), or null.
    pub last_error: Option<String>,
    pub last_pass_at: Option<i64>,
}

/// Standard base64 with padding, for the card's images.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every type the page sees, in the order the generated file declares them.
    fn declarations() -> String {
        let cfg = ts_rs::Config::new().with_large_int("number");
        let mut out = String::from(
            "// Generated from src-tauri/src/wire.rs by ts-rs: do not edit. To regenerate:\n\
             //   RUNLENS_UPDATE_TS=1 cargo test -p runlens-desktop wire\n\
             // (`cargo test` fails while this file is stale.)\n\n\
             /** A float that may be \"NaN\", \"Infinity\" or \"-Infinity\" (JSON has no such numbers). */\n\
             export type Num = number | \"NaN\" | \"Infinity\" | \"-Infinity\";\n\n\
             /** A table's cell as its reader typed it (as pandas reads it). */\n\
             export type Cell = string | number | boolean | null;\n",
        );
        macro_rules! decl {
            ($($t:ty),* $(,)?) => {$(
                out.push('\n');
                if let Some(docs) = <$t as TS>::docs() {
                    out.push_str(&docs);
                }
                out.push_str("export ");
                out.push_str(&<$t as TS>::decl(&cfg));
                out.push('\n');
            )*};
        }
        decl!(
            WireError,
            Recent,
            Current,
            ScanEvent,
            Scanned,
            WatchMsg,
            Run,
            Metric,
            Completions,
            Issue,
            File,
            Model,
            Input,
            Detail,
            DiffRow,
            ArtifactHeader,
            XAxis,
            ImageFormat,
            Me,
            RegModel,
            InvalidFile,
            RegVersion,
            PinnedFile,
            Approval,
            Policy,
            PolicyKey,
            VersionSource,
            ImportedFrom,
            Lineage,
            LineageRun,
            LineageCode,
            LineageData,
            LineageInput,
            DvcDep,
            LineageModel,
            Signature,
            Actor,
            HistoryItem,
            RegistryChange,
            Written,
            Imported,
            Problem,
            ModelCard,
            CardImage,
            BundlePlan,
            BundleFile,
            BundleFormat,
            BundleCompression,
            BundleProgress,
            BundleWritten,
            DataListing,
            DataItem,
            DataVersion,
            DataProgress,
            ColumnDone,
            DataProfile,
            ColumnStats,
            Histogram,
            DataDiff,
            DiffSide,
            Retyped,
            ChangedCell,
            FolderFiles,
            FolderFile,
            OldNew,
            FolderChange,
            FolderRename,
            DriftRules,
            DriftReport,
            ColumnDrift,
            TestValue,
            NullShare,
            ReferenceData,
            MonitorScore,
            MonitorColumn,
            MonitorWatchState,
        );
        out
    }

    #[test]
    fn wire_typescript_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/wire.gen.ts");
        let want = declarations();
        if std::env::var_os("RUNLENS_UPDATE_TS").is_some() {
            std::fs::write(&path, &want).expect("write wire.gen.ts");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "ui/src/wire.gen.ts is stale: run `RUNLENS_UPDATE_TS=1 cargo test -p runlens-desktop wire` and commit it"
        );
    }

    #[test]
    fn run_json_is_the_cores_plus_user() {
        let mut metrics = BTreeMap::new();
        metrics.insert(
            "loss".to_string(),
            MetricSummary { count: 3, last: f64::NAN, last_step: 2, first_step: 0, min: Some(0.5), max: None },
        );
        let row = RunRow {
            uid: 1,
            id: "abc".into(),
            source: "mlflow".into(),
            path: "mlruns/1/abc".into(),
            name: Some("r".into()),
            experiment: None,
            experiment_id: Some("1".into()),
            status: Some("finished".into()),
            start_time: Some(1),
            end_time: None,
            parent_id: None,
            user: Some("ana".into()),
            deleted: false,
            params: [("lr".to_string(), "0.1".to_string())].into(),
            tags: BTreeMap::new(),
            metrics,
        };
        let mut want = row.to_json();
        want["user"] = "ana".into();
        assert_eq!(serde_json::to_value(Run::from(row)).unwrap(), want);
    }

    #[test]
    fn errors_cross_as_code_and_message() {
        let e = WireError::from(runlens_core::Error::Refused("production needs 2 approvals".into()));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "refused", "message": e.message.clone()})
        );
    }

    #[test]
    fn changes_arrive_as_tagged_objects() {
        let c: RegistryChange =
            serde_json::from_value(serde_json::json!({"kind": "transition", "stage": "Staging", "comment": "ok"}))
                .unwrap();
        assert!(matches!(c, RegistryChange::Transition { ref stage, .. } if stage == "Staging"));
        let c: RegistryChange = serde_json::from_value(serde_json::json!({"kind": "archive"})).unwrap();
        assert!(matches!(c, RegistryChange::Archive));
    }

    #[test]
    fn lineage_of_another_shape_keeps_what_it_can() {
        let v = serde_json::json!({
            "run": {"id": "abc", "path": "mlruns/1/abc"},
            "params": {"lr": 3},
            "metrics": {"acc": 0.9, "loss": "NaN"},
            "code": {"commit": "0123abc", "dirty": "maybe"},
            "data": {"inputs": [], "dvc": [{"path": "data.csv", "md5": "x", "size": 10}]},
            "model": {"flavors": {"sklearn": {"sklearn_version": "1.5"}}, "signature": null, "input_example": [[1, 2]]}
        });
        let l: Lineage = from_json(v).unwrap();
        assert_eq!(l.run.unwrap().id.as_deref(), Some("abc"));
        assert!(l.params.is_empty(), "params of another shape are left out");
        assert_eq!(l.metrics.len(), 2);
        assert!(l.code.is_none(), "a code object of another shape is left out");
        assert_eq!(l.data.dvc[0].size, Some(10));
        assert!(l.model.unwrap().flavors.contains_key("sklearn"));
    }

    fn version_state(approvals: &[(&str, &str)]) -> runlens_core::VersionState {
        let approvals: Vec<Value> = approvals
            .iter()
            .map(|(by, key)| serde_json::json!({"by": by, "at": 1, "comment": "ok", "key": key}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "version": 2, "run_id": null, "run_path": null, "stage": null, "status": null, "description": null,
            "tags": {}, "aliases": [], "created_at": 1, "created_by": "Ana", "digest": null, "files": [],
            "changed_on_disk": false, "archived": false, "approvals": approvals, "register": "r",
            "author_key": "AAAA000011112222", "model_path": null, "source": null, "lineage": null,
            "imported_from": null, "rejections": [{"by": "Lee", "at": 2, "comment": "no", "key": "1C7D6F678CF8F072"}],
            "dataset": null
        }))
        .unwrap()
    }

    #[test]
    fn approvals_are_counted_as_the_policy_counts_them() {
        let v = version_state(&[("Lee", "1C7D6F678CF8F072"), ("Ana", "AAAA000011112222"), ("Bob", "BBBB000011112222")]);
        // No policy: anyone's approval counts but the author's.
        let w = RegVersion::new(v.clone(), &RegistryPolicy::default());
        assert_eq!(w.counted_approvals, 2);
        assert_eq!(w.approvals.iter().map(|a| a.counts).collect::<Vec<_>>(), [true, false, true]);
        assert!(!w.rejections[0].counts);
        // Listed approvers only.
        let listed = RegistryPolicy { approvers: vec!["1C7D6F678CF8F072".into()], ..Default::default() };
        let w = RegVersion::new(v.clone(), &listed);
        assert_eq!(w.counted_approvals, 1);
        assert_eq!(w.approvals.iter().map(|a| a.counts).collect::<Vec<_>>(), [true, false, false]);
        // The author's own, when the policy allows it.
        let own = RegistryPolicy { author_may_approve: true, ..Default::default() };
        assert_eq!(RegVersion::new(v, &own).counted_approvals, 3);
    }

    #[test]
    fn the_policy_names_its_approvers_when_the_history_does() {
        let mut p = RegistryPolicy {
            approvers: vec!["1C7D6F678CF8F072".into(), "5C3A1F0E9B2D4A11".into()],
            since: Some(5),
            ..Default::default()
        };
        p.aliases.insert("champion".into(), 1);
        p.stages.insert("Production".into(), 2);
        let signers = [("1C7D6F678CF8F072".to_string(), "Lee Chen <lee@example.org>".to_string())].into();
        assert_eq!(
            serde_json::to_value(Policy::new(p, &signers)).unwrap(),
            serde_json::json!({
                "approvers": [
                    {"key": "1C7D6F678CF8F072", "name": "Lee Chen <lee@example.org>"},
                    {"key": "5C3A1F0E9B2D4A11", "name": null}
                ],
                "author_may_approve": false,
                "since": 5,
                "aliases": {"champion": 1},
                "stages": {"Production": 2}
            })
        );
    }

    #[test]
    fn bundle_options_arrive_as_plain_words() {
        let f: BundleFormat = serde_json::from_value(serde_json::json!("oci")).unwrap();
        let c: BundleCompression = serde_json::from_value(serde_json::json!("zstd")).unwrap();
        let o = f.options(c);
        assert_eq!(o.format, runlens_core::BundleFormat::Oci);
        assert_eq!(o.compress, runlens_core::Compression::Zstd);
        assert_eq!(BundleFormat::Tar.options(BundleCompression::None), runlens_core::BundleOptions::default());
        assert!(serde_json::from_value::<BundleFormat>(serde_json::json!("zip")).is_err());
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }
}
