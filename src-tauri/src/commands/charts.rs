//! Charts: metric curves for the page (bytes, M4-downsampled) and chart images saved to a file.

use tauri::ipc::Response;
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;

use runlens_core::ChartX;

use super::{blocking, Res};
use crate::state::AppState;
use crate::wire::{self, ImageFormat, WireError, XAxis};

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
    x: XAxis,
    range: Option<(f64, f64)>,
    smoothing: f64,
) -> Res<Response> {
    let axis = ChartX::from(x);
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
    x: XAxis,
    range: Option<(f64, f64)>,
    smoothing: f64,
    log_y: bool,
    format: ImageFormat,
) -> Res<Option<String>> {
    let axis = ChartX::from(x);
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
        let (bytes, ext) = match format {
            ImageFormat::Svg => (runlens_core::render_svg(&spec, &lines)?.into_bytes(), "svg"),
            ImageFormat::Png => (runlens_core::render_png(&spec, &lines)?, "png"),
        };
        let name: String =
            key.chars().map(|c| if c.is_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        let Some(picked) = app.dialog().file().set_file_name(format!("{name}.{ext}")).blocking_save_file() else {
            return Ok(None);
        };
        let path = picked.into_path().map_err(|e| WireError::new("io", e.to_string()))?;
        runlens_core::write_file_atomic(&path, &bytes)
            .map_err(|e| WireError::new("io", format!("{}: {e}", path.display())))?;
        Ok(Some(path.to_string_lossy().into_owned()))
    })
    .await
}
