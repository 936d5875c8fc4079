//! Plain data types shared by the readers, the index and the queries.
//! Nothing here knows about SQLite, the CLI or JSON output formats.

use std::collections::BTreeMap;

/// Where a run came from. The string forms are part of the CLI contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Mlflow,
    MlflowDb,
    Lightning,
    Keras,
    Csv,
    Jsonl,
    Tensorboard,
    Wandb,
    Sacred,
    Dvclive,
    Dvc,
    Hydra,
    /// Runlens's own drift scores (`data watch`).
    Monitor,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Mlflow => "mlflow",
            Source::MlflowDb => "mlflow-db",
            Source::Lightning => "lightning",
            Source::Keras => "keras",
            Source::Csv => "csv",
            Source::Jsonl => "jsonl",
            Source::Tensorboard => "tensorboard",
            Source::Wandb => "wandb",
            Source::Sacred => "sacred",
            Source::Dvclive => "dvclive",
            Source::Dvc => "dvc",
            Source::Hydra => "hydra",
            Source::Monitor => "runlens-monitor",
        }
    }
}

/// Run status, lower-case in the index and in every output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Scheduled => "scheduled",
            Status::Finished => "finished",
            Status::Failed => "failed",
            Status::Killed => "killed",
        }
    }
    /// MLflow's integer status codes (file store) and names (SQL store).
    pub fn from_mlflow(s: &str) -> Option<Status> {
        match s.trim().to_ascii_uppercase().as_str() {
            "1" | "RUNNING" => Some(Status::Running),
            "2" | "SCHEDULED" => Some(Status::Scheduled),
            "3" | "FINISHED" => Some(Status::Finished),
            "4" | "FAILED" => Some(Status::Failed),
            "5" | "KILLED" => Some(Status::Killed),
            _ => None,
        }
    }
    /// Sacred's run.json `status`. TIMEOUT (interrupted by a time limit) counts as failed.
    pub fn from_sacred(s: &str) -> Option<Status> {
        match s {
            "COMPLETED" => Some(Status::Finished),
            "FAILED" | "TIMEOUT" => Some(Status::Failed),
            "INTERRUPTED" => Some(Status::Killed),
            "RUNNING" => Some(Status::Running),
            "QUEUED" => Some(Status::Scheduled),
            _ => None,
        }
    }
}

/// One metric point. `ts` is milliseconds since the epoch, NaN when the format has no time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub step: i64,
    pub value: f64,
    pub ts: f64,
}

impl Point {
    /// The order key of a series: (step, timestamp); file order breaks ties (stable sorts).
    pub fn order_key(&self) -> (i64, f64) {
        (self.step, if self.ts.is_nan() { f64::NEG_INFINITY } else { self.ts })
    }
    pub fn cmp_order(&self, other: &Point) -> std::cmp::Ordering {
        let (a, b) = (self.order_key(), other.order_key());
        a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
    }
}

/// A problem found while reading, naming the file (project-relative) and line when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            _ if self.file.is_empty() => write!(f, "{}", self.message),
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// A number as the JSON the shells print and send: NaN and ±inf, which JSON cannot hold, become
/// the strings "NaN", "Infinity" and "-Infinity".
pub fn json_num(v: f64) -> serde_json::Value {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        serde_json::json!(v)
    }
}

/// An f64 that serializes as [`json_num`] writes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Num(pub f64);

impl serde::Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v == f64::INFINITY {
            s.serialize_str("Infinity")
        } else if v == f64::NEG_INFINITY {
            s.serialize_str("-Infinity")
        } else {
            s.serialize_f64(v)
        }
    }
}

/// A file of a run's artifacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub size: u64,
}

/// A dataset the run consumed (MLflow dataset inputs).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DatasetInput {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub context: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A model the run logged (MLflow 3 logged models; MLmodel is read as text, never loaded).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LoggedModel {
    pub model_id: String,
    pub name: String,
    pub step: Option<i64>,
    /// Project-relative directory holding the model's files, when it lies inside the project.
    pub dir: Option<String>,
    pub flavors: Vec<String>,
    pub signature_inputs: Option<String>,
    pub signature_outputs: Option<String>,
    pub files: Vec<Artifact>,
}

/// Everything about a run except its metric points.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RunMeta {
    pub id: String,
    pub name: Option<String>,
    pub experiment: Option<String>,
    pub experiment_id: Option<String>,
    pub status: Option<Status>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub parent_id: Option<String>,
    pub user: Option<String>,
    pub deleted: bool,
    /// The artifact location as the tool wrote it (text only; may be stale or hostile).
    pub artifact_uri: Option<String>,
    /// Where the artifacts were found inside the project, if anywhere.
    pub artifact_dir: Option<String>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub artifacts: Vec<Artifact>,
    pub inputs: Vec<DatasetInput>,
    pub models: Vec<LoggedModel>,
}

/// UTC "YYYY-MM-DD HH:MM:SS" from ms since the epoch.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", sod / 3600, sod % 3600 / 60, sod % 60)
}
