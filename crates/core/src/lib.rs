//! The Runlens engine: finds the runs that ML tools already wrote in a project folder, indexes them
//! into one SQLite database per project, and answers queries over it.
//!
//! It knows nothing of the desktop shell or the CLI: both are thin layers over [`Index`].
//! See ARCHITECTURE.md for the map.

pub mod artifacts;
pub mod codec;
pub mod files;
pub mod filter;
pub mod index;
pub mod model;
pub mod paths;
pub mod plot;
pub mod query;
pub mod readers;
pub mod scan;
pub mod schema;
pub mod series;
pub mod tail;
pub mod watch;

pub use artifacts::{ArtifactPreview, PreviewKind};
pub use index::{default_data_dir, index_path, Index};
pub use model::{Diagnostic, Point, Source, Status};
pub use query::{ChartX, Completions, MetricSummary, RunDetail, RunQuery, RunRow};
pub use scan::{Progress, ScanOptions, ScanReport};
pub use watch::{Change, WatchEvent, WatchOptions};

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
        }
    }
}
