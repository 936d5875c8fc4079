//! Runs: the run table, filter completions, one run in full, and the diff of runs compared.

use tauri::{AppHandle, Manager};

use runlens_core::RunQuery;

use super::{blocking, Res};
use crate::state::AppState;
use crate::wire::{Completions, Detail, DiffRow, Run};

#[tauri::command]
pub async fn runs(app: AppHandle, filter: String, sort: Vec<String>) -> Res<Vec<Run>> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let index = project.reader.lock().expect("lock");
        let rows = index.runs(&RunQuery { filter, sort, ..Default::default() })?;
        Ok(rows.into_iter().map(Run::from).collect())
    })
    .await
}

#[tauri::command]
pub async fn completions(app: AppHandle) -> Res<Completions> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let c = project.reader.lock().expect("lock").completions(30)?;
        Ok(Completions { params: c.params, tags: c.tags, metrics: c.metrics })
    })
    .await
}

#[tauri::command]
pub async fn run_detail(app: AppHandle, run: String) -> Res<Detail> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let d = project.reader.lock().expect("lock").run_detail(&run)?;
        Ok(Detail::from(d))
    })
    .await
}

/// The params and tags of the runs being compared, side by side (MLflow's system tags left out).
#[tauri::command]
pub async fn diff(app: AppHandle, runs: Vec<String>, only_differences: bool) -> Res<Vec<DiffRow>> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let index = project.reader.lock().expect("lock");
        let rows = runs.iter().map(|r| index.find_run(r)).collect::<Result<Vec<_>, _>>()?;
        Ok(runlens_core::diff_runs(&rows, only_differences, true).into_iter().map(DiffRow::from).collect())
    })
    .await
}
