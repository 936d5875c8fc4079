//! Data versions: what the project tracks (DVC, Git LFS) with each path's versions and the runs
//! and models that used them, a version's column statistics (its progress over a `Channel`,
//! cancellable), and the diff of two versions.
//! Each runs on its own index connection, so the app's queries go on meanwhile. Every statistic
//! and every diff is the engine's; this checks the page's specs and passes them on.

use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use runlens_core::Index;

use super::{blocking, Res};
use crate::state::{AppState, DataJobs};
use crate::wire::{
    ColumnDone, DataDiff, DataListing, DataProfile, DataProgress, DriftReport, DriftRules, MonitorScore, WireError,
};

/// The first rows `data_show` returns with the statistics.
const HEAD_ROWS: usize = 20;
/// The longest job id the page may name.
const MAX_JOB: usize = 64;

/// A data spec from the page: `PATH` or `PATH@REV`, PATH relative to the project. Absolute paths
/// and `..` are refused here; the engine then reads only what lies inside the project.
fn check_spec(spec: &str) -> Res<()> {
    let path = spec.rsplit_once('@').map_or(spec, |(p, _)| p);
    let p = Path::new(path);
    let bad = path.trim().is_empty()
        || spec.contains('\0')
        || spec.len() > 4096
        || p.is_absolute()
        || path.starts_with('\\')
        || p.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        || path.split(['/', '\\']).any(|c| c == "..");
    if bad {
        return Err(WireError::new(
            "invalid",
            format!("{spec:?}: give a tracked path of the project, PATH or PATH@REV"),
        ));
    }
    Ok(())
}

fn check_job(job: &str) -> Res<()> {
    if job.is_empty() || job.len() > MAX_JOB || !job.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(WireError::new("invalid", format!("{job:?}: not a job id")));
    }
    Ok(())
}

/// Forgets a running `data_show` when it ends, however it ends.
struct Running<'a> {
    jobs: &'a DataJobs,
    job: &'a str,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.jobs.running.lock().expect("lock").remove(self.job);
    }
}

/// Every tracked file and folder with its versions, newest first; with `check`, every version
/// whose bytes are here is hashed again. On its own index connection: walking a long git history
/// must not hold up the run table's queries.
#[tauri::command]
pub async fn data_ls(app: AppHandle, check: bool) -> Res<DataListing> {
    with_own_index(app, move |index| Ok(index.data_ls(check)?.into())).await
}

/// Runs `f` on a blocking thread with a connection of its own to the open project's index.
async fn with_own_index<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&Index) -> Res<T> + Send + 'static,
) -> Res<T> {
    blocking(move || {
        let state = app.state::<AppState>();
        let project = state.current()?;
        let index = Index::open(&state.data_dir, &project.root)?;
        f(&index)
    })
    .await
}

/// The column statistics of `spec` (`PATH` or `PATH@REV`) over every row, and its first rows.
/// Runs on its own index connection, so the app's queries go on meanwhile; bytes read arrive over
/// `on_progress`. `job` names it for `data_show_cancel`, which stops it (`{code: "cancelled"}`).
#[tauri::command]
pub async fn data_show(
    app: AppHandle,
    spec: String,
    job: String,
    on_progress: Channel<DataProgress>,
) -> Res<DataProfile> {
    check_spec(&spec)?;
    check_job(&job)?;
    blocking(move || {
        let state = app.state::<AppState>();
        let project = state.current()?;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut running = state.data_jobs.running.lock().expect("lock");
            if running.contains_key(&job) {
                return Err(WireError::new("busy", format!("{job}: already running")));
            }
            running.insert(job.clone(), cancel.clone());
        }
        let _running = Running { jobs: &state.data_jobs, job: &job };
        let index = Index::open(&state.data_dir, &project.root)?;
        // The first rows at once (reading only the start of the file), then every row's statistics.
        if let Ok((columns, head)) = index.data_head(&spec, HEAD_ROWS) {
            let _ = on_progress.send(DataProgress {
                done: 0,
                total: 0,
                columns: Some(columns),
                head: Some(head),
                column: None,
            });
        }
        let mut last: Option<Instant> = None;
        let mut on = |done: u64, total: u64| {
            let end = done >= total;
            if !end && last.is_some_and(|t| t.elapsed() < Duration::from_millis(50)) {
                return;
            }
            last = Some(Instant::now());
            let _ = on_progress.send(DataProgress { done, total, columns: None, head: None, column: None });
        };
        // Each column's statistics as soon as they are finished.
        let mut on_column = |rows: u64, i: usize, c: &runlens_core::ColumnStats| {
            let column = Some(ColumnDone { index: i as u32, rows, stats: c.clone().into() });
            let _ = on_progress.send(DataProgress { done: 0, total: 0, columns: None, head: None, column });
        };
        Ok(index.data_show_with(&spec, HEAD_ROWS, &mut on, &mut on_column, &cancel)?.into())
    })
    .await
}

/// Stops the `data_show` named `job`, if it runs; true when it did.
#[tauri::command]
pub fn data_show_cancel(state: State<'_, AppState>, job: String) -> bool {
    match state.data_jobs.running.lock().expect("lock").get(&job) {
        Some(cancel) => {
            cancel.store(true, Ordering::SeqCst);
            true
        }
        None => false,
    }
}

/// Two versions of a dataset: `a` and `b` are `PATH` or `PATH@REV`; with `key`, the rows added,
/// removed and changed. Reads both whole.
#[tauri::command]
pub async fn data_diff(app: AppHandle, a: String, b: String, key: Option<String>) -> Res<DataDiff> {
    check_spec(&a)?;
    check_spec(&b)?;
    let key = key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
    if key.as_ref().is_some_and(|k| k.contains('\0') || k.len() > 1024) {
        return Err(WireError::new("invalid", "not a column name"));
    }
    with_own_index(app, move |index| Ok(index.data_diff(&a, &b, key.as_deref())?.into())).await
}

/// How `current` differs from `reference` (both `PATH` or `PATH@REV` in the project), column by
/// column, under `rules` (runlens by default). Reads both whole, on its own index connection.
#[tauri::command]
pub async fn data_drift(
    app: AppHandle,
    reference: String,
    current: String,
    rules: Option<DriftRules>,
) -> Res<DriftReport> {
    check_spec(&reference)?;
    check_spec(&current)?;
    let rules = rules.unwrap_or_default();
    with_own_index(app, move |index| {
        let report = index
            .data_drift(&reference, std::slice::from_ref(&current), rules.into())?
            .into_iter()
            .next()
            .ok_or_else(|| WireError::new("internal", "no drift report"))?;
        Ok(DriftReport::new(report, rules))
    })
    .await
}

/// The batches `data watch` scored for `model` (every version), oldest first: the files under
/// `.runlens/monitor/<model>/`.
#[tauri::command]
pub async fn monitor_scores(app: AppHandle, model: String) -> Res<Vec<MonitorScore>> {
    if model.is_empty() || model.len() > 1024 || model.contains('\0') {
        return Err(WireError::new("invalid", "not a model name"));
    }
    with_own_index(app, move |index| Ok(index.monitor_scores(&model)?.into_iter().map(MonitorScore::from).collect()))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_stay_inside_the_project() {
        for ok in ["data/train.csv", "data/train.csv@workspace", "data/images@4558dd45", "./data/x.csv@v1.0", "a@b@c"] {
            assert!(check_spec(ok).is_ok(), "{ok:?}");
        }
        for bad in
            ["", "@abc", "/etc/passwd", "/etc/passwd@HEAD", "../x.csv", "data/../../x@HEAD", "a\0b", "\\\\server\\x"]
        {
            assert_eq!(check_spec(bad).unwrap_err().code, "invalid", "{bad:?}");
        }
    }

    #[test]
    fn job_ids_are_short_and_plain() {
        assert!(check_job("show-1_a").is_ok());
        for bad in ["", "a b", "x/y", &"j".repeat(65)] {
            assert!(check_job(bad).is_err(), "{bad:?}");
        }
    }
}
