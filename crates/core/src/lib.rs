//! The Runlens engine: finds the runs that ML tools already wrote in a project folder, indexes them
//! into one SQLite database per project, and answers queries over it.
//!
//! It knows nothing of the desktop shell or the CLI: both are thin layers over [`Index`].
//! See ARCHITECTURE.md for the map.

pub(crate) mod artifacts;
pub(crate) mod bundle;
pub(crate) mod codec;
pub(crate) mod data;
pub(crate) mod files;
pub(crate) mod filter;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub(crate) mod index;
pub(crate) mod model;
pub(crate) mod panics;
pub(crate) mod paths;
pub(crate) mod plot;
pub(crate) mod query;
pub(crate) mod readers;
pub(crate) mod registry;
pub(crate) mod scan;
pub(crate) mod schema;
pub(crate) mod series;
pub(crate) mod table;
pub(crate) mod tail;
pub(crate) mod versions;
pub(crate) mod watch;

pub use artifacts::{ArtifactPreview, PreviewKind, TEXT_LIMIT};
pub use bundle::{
    verify_bundle, Bundle, BundleCheck, BundleFormat, BundleOptions, BundlePlan, BundleProgress, Compression,
    PlannedFile,
};
pub use data::monitor::{crossed_columns, monitor_crossings, Crossing, MonitorPass, MonitorScore};
pub use data::report::{drift_tables, ColumnData, ColumnDrift, DriftReport, DriftRules, DriftTable, TestValue};
pub use files::write_file_atomic;
pub use filter::mentioned_columns;
pub use index::{choose_data_dir, default_data_dir, index_path, Index};
pub use model::{
    format_utc, json_num, Artifact, DatasetInput, Diagnostic, LoggedModel, Num, Point, RunMeta, Source, Status,
};
pub use panics::install_panic_hook;
pub use paths::join_path;
pub use plot::{render_png, render_svg, PlotLine, PlotSpec};
pub use query::{diff_runs, ChartX, Completions, DiffRow, MetricSummary, RunDetail, RunQuery, RunRow};
pub use registry::{
    default_config_dir, parse_time, Actor, Approval, HistoryEntry, Identity, Imported, ModelState, PinnedFile, Problem,
    RegistryChange, RegistryPolicy, VersionState, Written,
};
pub use scan::{Progress, ScanOptions, ScanReport};
pub use series::{m4_points, m4_points_along, XAxis};
pub use table::diff::{ChangedCell, DataDiff, DiffSide, Retyped};
pub use table::stats::{ColumnStats, Histogram};
pub use table::DataProfile;
pub use versions::{short_rev, DataItem, DataListing, DataVersion};
pub use watch::{Change, WatchEvent, WatchOptions};

/// The messages of the binary formats Runlens reads, for tools and tests that write such files
/// (a TensorBoard event file, a W&B log record). Reading goes through [`Index`] only.
pub mod formats {
    pub use crate::readers::tb_proto::{Event, SessionLog, Summary, Value, SESSION_START};
    pub use crate::readers::tfrecord::{frame, masked_crc};
    pub use crate::readers::wandb_proto::Record;
}

/// Errors the engine reports to its shells. Messages are complete sentences for a person; shells
/// match on the variant, never on the text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project folder cannot be read at all.
    #[error("{0}")]
    Project(String),
    #[error("{0}")]
    Io(String),
    /// The index database failed.
    #[error("index: {0}")]
    Index(String),
    /// A filter or sort expression does not parse; the message points at the column.
    #[error("{0}")]
    Filter(String),
    #[error("{0}")]
    NotFound(String),
    /// A registry change the model's state or the project's policy does not allow; nothing was written.
    #[error("{0}")]
    Refused(String),
    /// A long task (a bundle export) stopped because its cancel flag was set; it left nothing behind.
    #[error("{0}")]
    Cancelled(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        let kept = "the index keeps what it had before this write";
        Error::Index(match e.sqlite_error_code() {
            Some(DiskFull) => format!("the disk holding the index is full: {kept}; free some space and scan again"),
            Some(ReadOnly) => format!("the index cannot be written, its disk is read-only: {kept}"),
            Some(SystemIoFailure) => format!("the disk failed while writing the index ({e}): {kept}"),
            _ => e.to_string(),
        })
    }
}

impl Error {
    /// A stable code per variant, for shells that send errors across a wire.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Project(_) => "project",
            Error::Io(_) => "io",
            Error::Index(_) => "index",
            Error::Filter(_) => "filter",
            Error::NotFound(_) => "not_found",
            Error::Refused(_) => "refused",
            Error::Cancelled(_) => "cancelled",
        }
    }
}
