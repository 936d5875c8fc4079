//! The commands the front end calls. Each is thin: check the arguments, call the engine on a
//! blocking thread, turn the answer into its wire shape. Every path argument is checked here,
//! against the open project, before the engine sees it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tauri::ipc::{Channel, Response};
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use runlens_core::{Change, ChartX, Index, Progress, RunQuery, ScanOptions, ScanReport, WatchEvent, WatchOptions};

use crate::state::{AppState, Project, Recent};
use crate::wire::{self, Detail, Issue, Run, WireError};

type Res<T> = Result<T, WireError>;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Res<T> + Send + 'static) -> Res<T> {
    tauri::async_runtime::spawn_blocking(f).await.map_err(|e| WireError::new("internal", e.to_string()))?
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Indexing progress, sent at most every 50 ms.
#[derive(Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanEvent {
    Discovered { units: usize },
    Read { done: usize, total: usize, points: u64 },
}

#[derive(Serialize)]
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

fn scanned(root: &Path, r: ScanReport) -> Scanned {
    Scanned {
        path: root.to_string_lossy().into_owned(),
        name: root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        runs: r.runs,
        points: r.points,
        units_read: r.units_read,
        units_total: r.units_total,
        elapsed_ms: r.elapsed.as_millis() as u64,
        cancelled: r.cancelled,
        issues: r.diagnostics.into_iter().map(Issue::from).collect(),
    }
}

fn scan(index: &mut Index, progress: &Channel<ScanEvent>, cancel: &AtomicBool) -> Res<ScanReport> {
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut on_progress = |p: &Progress| {
        let event = match *p {
            Progress::Discovered { units } => ScanEvent::Discovered { units },
            Progress::Read { done, total, points } => {
                if done < total && last.elapsed() < Duration::from_millis(50) {
                    return;
                }
                ScanEvent::Read { done, total, points }
            }
        };
        last = Instant::now();
        let _ = progress.send(event);
    };
    Ok(index.scan(&ScanOptions::default(), &mut on_progress, cancel)?)
}

#[tauri::command]
pub fn recent_projects(state: State<'_, AppState>) -> Vec<Recent> {
    state.recent()
}

#[tauri::command]
pub fn forget_project(state: State<'_, AppState>, path: String) -> Res<()> {
    state.forget(&path).map_err(|e| WireError::new("io", e.to_string()))
}

#[derive(Serialize)]
pub struct Current {
    /// The open project's folder.
    pub open: Option<String>,
    /// A folder given on the command line, waiting to be opened.
    pub requested: Option<String>,
}

#[tauri::command]
pub fn current_project(state: State<'_, AppState>) -> Current {
    Current {
        open: state.project.lock().expect("lock").as_ref().map(|p| p.root.to_string_lossy().into_owned()),
        requested: state.requested.lock().expect("lock").take().map(|p| p.to_string_lossy().into_owned()),
    }
}

/// Shows the folder dialog; the folder chosen may then be opened.
#[tauri::command]
pub async fn pick_project(app: AppHandle) -> Res<Option<String>> {
    blocking(move || {
        let Some(picked) = app.dialog().file().set_title("Open a project folder").blocking_pick_folder() else {
            return Ok(None);
        };
        let path = picked.into_path().map_err(|e| WireError::new("project", e.to_string()))?;
        let canon = app.state::<AppState>().grant(&path)?;
        Ok(Some(canon.to_string_lossy().into_owned()))
    })
    .await
}

/// Opens a project the user chose, indexing what changed since the last time.
#[tauri::command]
pub async fn open_project(app: AppHandle, path: String, on_progress: Channel<ScanEvent>) -> Res<Scanned> {
    blocking(move || {
        let state = app.state::<AppState>();
        let root = state.check_open(&path)?;
        if let Some(old) = state.project.lock().expect("lock").as_ref() {
            old.cancel.store(true, Ordering::SeqCst);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let mut writer = Index::open(&state.data_dir, &root)?;
        let report = scan(&mut writer, &on_progress, &cancel)?;
        let runs = report.runs;
        let out = scanned(&root, report);
        let project = Project {
            root: root.clone(),
            reader: Mutex::new(writer),
            scanning: AtomicBool::new(false),
            watching: AtomicBool::new(false),
            watch_channel: Mutex::new(None),
            cancel,
        };
        *state.project.lock().expect("lock") = Some(Arc::new(project));
        if let Err(e) = state.remember(&root, runs, now_ms()) {
            eprintln!("runlens: could not save the recent projects list: {e}");
        }
        Ok(out)
    })
    .await
}

/// Brings the open project's index up to date (a key, and on window focus). None when a scan is
/// already running.
#[tauri::command]
pub async fn refresh(app: AppHandle, on_progress: Channel<ScanEvent>) -> Res<Option<Scanned>> {
    blocking(move || {
        let state = app.state::<AppState>();
        let project = state.current()?;
        if project.scanning.swap(true, Ordering::SeqCst) {
            return Ok(None);
        }
        let result = Index::open(&state.data_dir, &project.root)
            .map_err(WireError::from)
            .and_then(|mut writer| scan(&mut writer, &on_progress, &project.cancel));
        project.scanning.store(false, Ordering::SeqCst);
        Ok(Some(scanned(&project.root, result?)))
    })
    .await
}

/// What the watcher sends: the changes one batch committed, or a note for the user.
#[derive(Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WatchMsg {
    Changes {
        /// Run ids (as the run list has them) that are new or changed status.
        runs: Vec<String>,
        /// (run id, metric key) with new points.
        points: Vec<(String, String)>,
        removed: Vec<String>,
    },
    Notice {
        message: String,
    },
}

/// Follows the open project while runs train: changes arrive over `on_change` once they are
/// committed, until another project is opened. One watcher per project; a later call only moves
/// its messages to the new channel.
#[tauri::command]
pub fn watch(app: AppHandle, on_change: Channel<WatchMsg>) -> Res<()> {
    let state = app.state::<AppState>();
    let project = state.current()?;
    *project.watch_channel.lock().expect("lock") = Some(on_change);
    if project.watching.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let data_dir = state.data_dir.clone();
    std::thread::Builder::new()
        .name("runlens-watch".into())
        .spawn(move || {
            let send = |m: WatchMsg| {
                if let Some(ch) = project.watch_channel.lock().expect("lock").as_ref() {
                    let _ = ch.send(m);
                }
            };
            let notice = |message: String| send(WatchMsg::Notice { message });
            let mut index = match Index::open(&data_dir, &project.root) {
                Ok(i) => i,
                Err(e) => return notice(format!("live updates are off: {e}")),
            };
            let mut on = |ev: WatchEvent<'_>| match ev {
                WatchEvent::Notice(n) => notice(n.to_string()),
                WatchEvent::Ready { .. } => {}
                WatchEvent::Changes(changes) => {
                    let (mut runs, mut points, mut removed) = (Vec::new(), Vec::new(), Vec::new());
                    for c in changes {
                        match c {
                            Change::Run { run, .. } => runs.push(run.clone()),
                            Change::Points { run, key, .. } => points.push((run.clone(), key.clone())),
                            Change::Removed { run } => removed.push(run.clone()),
                            Change::Registry { .. } => {}
                        }
                    }
                    send(WatchMsg::Changes { runs, points, removed });
                }
            };
            if let Err(e) = index.watch(&WatchOptions::default(), &mut on, &project.cancel) {
                notice(format!("live updates stopped: {e}"));
            }
            project.watching.store(false, Ordering::SeqCst);
        })
        .map_err(|e| WireError::new("internal", e.to_string()))?;
    Ok(())
}

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

#[derive(Serialize)]
pub struct Completions {
    pub params: std::collections::BTreeMap<String, Vec<String>>,
    pub tags: std::collections::BTreeMap<String, Vec<String>>,
    pub metrics: Vec<String>,
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

/// Metric curves of several runs, M4-downsampled to `width` pixel columns over `range` (all of
/// the data when absent), as bytes (see `wire::encode_series`). With `smoothing` > 0 each run also
/// gets its EMA, computed over the full series.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn chart(
    app: AppHandle,
    runs: Vec<String>,
    key: String,
    width: usize,
    x: String,
    range: Option<(f64, f64)>,
    smoothing: f64,
) -> Res<Response> {
    let axis = match x.as_str() {
        "step" => ChartX::Step,
        "time" => ChartX::Time,
        "relative" => ChartX::Relative,
        _ => return Err(WireError::new("invalid", format!("unknown x axis {x:?}: use step, time or relative"))),
    };
    if runs.len() > 1000 {
        return Err(WireError::new("invalid", "a chart shows at most 1000 runs"));
    }
    let width = width.clamp(1, 8192);
    let range = range.filter(|(a, b)| a.is_finite() && b.is_finite() && a <= b);
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let index = project.reader.lock().expect("lock");
        let by_step = axis == ChartX::Step;
        let mut series = Vec::new();
        for (i, run) in runs.iter().enumerate() {
            let uid = index.find_run(run)?.uid;
            let raw = match index.chart(uid, &key, width, axis, range) {
                Ok(points) => points,
                Err(runlens_core::Error::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            series.push((i as u32, 0, wire::xy(&raw, by_step)));
            if smoothing > 0.0 {
                let smooth = index.chart_smoothed(uid, &key, width, axis, range, smoothing)?;
                series.push((i as u32, 1, wire::xy(&smooth, by_step)));
            }
        }
        Ok(Response::new(wire::encode_series(&series)))
    })
    .await
}

#[derive(Serialize)]
struct ArtifactHeader<'a> {
    path: &'a str,
    kind: &'static str,
    mime: Option<&'static str>,
    size: u64,
    truncated: bool,
}

/// One of a run's files for a preview: `u32 header length, header JSON, content bytes`.
/// Only files the index lists for that run, inside the project, are read.
#[tauri::command]
pub async fn artifact(app: AppHandle, run: String, path: String) -> Res<Response> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let p = project.reader.lock().expect("lock").read_artifact(&run, &path)?;
        let header = serde_json::to_vec(&ArtifactHeader {
            path: &p.path,
            kind: p.kind.as_str(),
            mime: p.mime,
            size: p.size,
            truncated: p.truncated,
        })
        .expect("serializable");
        let mut out = Vec::with_capacity(4 + header.len() + p.bytes.len());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&p.bytes);
        Ok(Response::new(out))
    })
    .await
}

/// The params and tags of the runs being compared, side by side (MLflow's system tags left out).
#[tauri::command]
pub async fn diff(app: AppHandle, runs: Vec<String>, only_differences: bool) -> Res<Vec<runlens_core::DiffRow>> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let index = project.reader.lock().expect("lock");
        let rows = runs.iter().map(|r| index.find_run(r)).collect::<Result<Vec<_>, _>>()?;
        Ok(runlens_core::diff_runs(&rows, only_differences, true))
    })
    .await
}

/// Shows a run's folder, or one of its files, in the system's file manager.
#[tauri::command]
pub async fn reveal(app: AppHandle, run: String, path: Option<String>) -> Res<()> {
    blocking(move || {
        let project = app.state::<AppState>().current()?;
        let target = {
            let index = project.reader.lock().expect("lock");
            match &path {
                Some(p) => index.run_file(&run, p)?,
                None => index.run_location(&run)?,
            }
        };
        app.opener().reveal_item_in_dir(&target).map_err(|e| WireError::new("io", e.to_string()))
    })
    .await
}

/// Whether a link from logged data may be opened: https and mailto only.
pub fn safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") && lower.len() > 8) || (lower.starts_with("mailto:") && lower.len() > 7)
}

/// Opens a link from logged data in the browser: https and mailto only, never `file:`, `smb:`,
/// `javascript:` or anything else.
#[tauri::command]
pub fn open_url(app: AppHandle, url: String) -> Res<()> {
    if !safe_url(&url) || url.chars().any(char::is_control) {
        return Err(WireError::new("forbidden", format!("{url}: only https and mailto links are opened")));
    }
    app.opener().open_url(url, None::<&str>).map_err(|e| WireError::new("io", e.to_string()))
}

/// Saves text the page made (a CSV of the run table) where the user chooses in a save dialog.
/// Returns the path written, or None when the dialog was cancelled. Written atomically.
#[tauri::command]
pub async fn save_text(app: AppHandle, name: String, text: String) -> Res<Option<String>> {
    blocking(move || {
        let name: String = name.chars().filter(|c| !"/\\:\0".contains(*c)).collect();
        let Some(picked) = app.dialog().file().set_file_name(&name).blocking_save_file() else {
            return Ok(None);
        };
        let path = picked.into_path().map_err(|e| WireError::new("io", e.to_string()))?;
        runlens_core::write_file_atomic(&path, text.as_bytes())
            .map_err(|e| WireError::new("io", format!("{}: {e}", path.display())))?;
        Ok(Some(path.to_string_lossy().into_owned()))
    })
    .await
}

fn parse_hex(c: &str) -> Option<(u8, u8, u8)> {
    let h = c.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let v = u32::from_str_radix(h, 16).ok()?;
    Some(((v >> 16) as u8, (v >> 8) as u8, v as u8))
}

/// Saves a chart as PNG or SVG, rendered by plotters in Rust from the same M4 data the page draws
/// (`width` pixel columns, the same zoom range, smoothing and axes), where the user chooses.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn export_chart(
    app: AppHandle,
    runs: Vec<String>,
    colors: Vec<String>,
    key: String,
    x: String,
    range: Option<(f64, f64)>,
    smoothing: f64,
    log_y: bool,
    format: String,
) -> Res<Option<String>> {
    let axis = match x.as_str() {
        "step" => ChartX::Step,
        "time" => ChartX::Time,
        "relative" => ChartX::Relative,
        _ => return Err(WireError::new("invalid", format!("unknown x axis {x:?}"))),
    };
    if format != "png" && format != "svg" {
        return Err(WireError::new("invalid", format!("unknown image format {format:?}: use png or svg")));
    }
    blocking(move || {
        let (width, height) = (1600u32, 900u32);
        let project = app.state::<AppState>().current()?;
        let lines = {
            let index = project.reader.lock().expect("lock");
            let mut lines = Vec::new();
            for (i, run) in runs.iter().enumerate().take(1000) {
                let row = index.find_run(run)?;
                let color = colors.get(i).and_then(|c| parse_hex(c)).unwrap_or((90, 90, 90));
                let label = row.name.clone().unwrap_or_else(|| row.id.clone());
                let by_step = axis == ChartX::Step;
                // Seconds on time axes, as the page shows them.
                let conv = |pts: Vec<runlens_core::Point>| -> Vec<(f64, f64)> {
                    wire::xy(&pts, by_step)
                        .into_iter()
                        .map(|(x, y)| (if by_step { x } else { x / 1000.0 }, y))
                        .collect()
                };
                let raw = match index.chart(row.uid, &key, width as usize, axis, range) {
                    Ok(p) => p,
                    Err(runlens_core::Error::NotFound(_)) => continue,
                    Err(e) => return Err(e.into()),
                };
                lines.push(runlens_core::PlotLine {
                    label: label.clone(),
                    color,
                    points: conv(raw),
                    faint: smoothing > 0.0,
                });
                if smoothing > 0.0 {
                    let s = index.chart_smoothed(row.uid, &key, width as usize, axis, range, smoothing)?;
                    lines.push(runlens_core::PlotLine { label, color, points: conv(s), faint: false });
                }
            }
            lines
        };
        let spec = runlens_core::PlotSpec {
            title: key.clone(),
            x_label: match axis {
                ChartX::Step => "step".into(),
                ChartX::Time => "wall time (s since the epoch)".into(),
                ChartX::Relative => "time since the first point (s)".into(),
            },
            log_y,
            width,
            height,
        };
        let bytes = if format == "svg" {
            runlens_core::render_svg(&spec, &lines)?.into_bytes()
        } else {
            runlens_core::render_png(&spec, &lines)?
        };
        let name: String =
            key.chars().map(|c| if c.is_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        let Some(picked) = app.dialog().file().set_file_name(format!("{name}.{format}")).blocking_save_file() else {
            return Ok(None);
        };
        let path = picked.into_path().map_err(|e| WireError::new("io", e.to_string()))?;
        runlens_core::write_file_atomic(&path, &bytes)
            .map_err(|e| WireError::new("io", format!("{}: {e}", path.display())))?;
        Ok(Some(path.to_string_lossy().into_owned()))
    })
    .await
}
