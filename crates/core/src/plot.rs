//! Chart images for export and reports: the same lines the app draws (M4 per pixel column, so every
//! spike is kept), rendered by plotters to SVG or PNG with a bundled font, so an image looks the
//! same on every machine.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::Error;

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct PlotLine {
    pub label: String,
    pub color: (u8, u8, u8),
    /// (x, y) in draw order; a non-finite y (or ≤ 0 on a log axis) breaks the line.
    pub points: Vec<(f64, f64)>,
    /// Drawn thin and pale behind the others (the raw line under a smoothed one).
    pub faint: bool,
}

#[derive(Clone, Debug)]
pub struct PlotSpec {
    pub title: String,
    pub x_label: String,
    pub log_y: bool,
    pub width: u32,
    pub height: u32,
}

const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static FONT_ONCE: Once = Once::new();

fn fonts() {
    FONT_ONCE.call_once(|| {
        // The bundled font is known to parse; a failure would only mean text is left out.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Io(format!("chart image: {e:?}"))
}

/// The y a line is drawn at, or None where it breaks.
fn y_of(v: f64, log_y: bool) -> Option<f64> {
    if !v.is_finite() || (log_y && v <= 0.0) {
        None
    } else if log_y {
        Some(v.log10())
    } else {
        Some(v)
    }
}

fn short(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    spec: &PlotSpec,
    lines: &[PlotLine],
) -> Result<(), Error>
where
    DB::ErrorType: 'static,
{
    fonts();
    root.fill(&WHITE).map_err(err)?;
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for l in lines {
        for &(x, v) in &l.points {
            if let (true, Some(y)) = (x.is_finite(), y_of(v, spec.log_y)) {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x0 == x1 {
        x1 = x0 + 1.0;
    }
    let pad = if y1 > y0 { (y1 - y0) * 0.04 } else { 0.5 };
    let (y0, y1) = (y0 - pad, y1 + pad);
    let log_y = spec.log_y;
    let mut chart = ChartBuilder::on(&root)
        .caption(&spec.title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc(&spec.x_label)
        .x_label_formatter(&|x| short(*x))
        .y_label_formatter(&|y| if log_y { short(10f64.powf(*y)) } else { short(*y) })
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    // Faint lines first, so the others are drawn over them.
    let mut order: Vec<&PlotLine> = lines.iter().collect();
    order.sort_by_key(|l| !l.faint);
    for l in order {
        let (r, g, b) = l.color;
        let style =
            if l.faint { RGBColor(r, g, b).mix(0.3).stroke_width(1) } else { RGBColor(r, g, b).stroke_width(2) };
        // One path per unbroken stretch.
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(x, v) in &l.points {
            match y_of(v, log_y) {
                Some(y) if x.is_finite() => segments.last_mut().expect("one").push((x, y)),
                _ => {
                    if !segments.last().expect("one").is_empty() {
                        segments.push(Vec::new());
                    }
                }
            }
        }
        let mut first = true;
        for seg in segments.into_iter().filter(|s| !s.is_empty()) {
            let drawn = if seg.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(seg[0], 3, style.filled()))).map_err(err)?
            } else {
                chart.draw_series(LineSeries::new(seg, style)).map_err(err)?
            };
            if first && !l.faint {
                drawn.label(&l.label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], RGBColor(r, g, b).stroke_width(2))
                });
            }
            first = false;
        }
    }
    if lines.iter().any(|l| !l.faint) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// The chart as an SVG document.
pub fn render_svg(spec: &PlotSpec, lines: &[PlotLine]) -> Result<String, Error> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (spec.width, spec.height)).into_drawing_area();
        draw(root, spec, lines)?;
    }
    Ok(out)
}

/// The chart as a PNG image.
pub fn render_png(spec: &PlotSpec, lines: &[PlotLine]) -> Result<Vec<u8>, Error> {
    let (w, h) = (spec.width, spec.height);
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(root, spec, lines)?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(&rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}
