//! Chart images (export): plotters draws exactly the chart data, with the bundled font.

use runlens_core::ChartX;
use runlens_core::{render_png, render_svg, PlotLine, PlotSpec};

use crate::common::{open_and_scan, repo_path, Scratch};

fn demo_lines() -> (Scratch, Vec<PlotLine>, Vec<usize>) {
    let s = Scratch::new();
    let (index, _) = open_and_scan(&s.data(), &repo_path("assets/demo"));
    let mut lines = Vec::new();
    let mut finite = Vec::new();
    for (name, color) in [("trial-3-adamw-lr0.001", (47, 126, 216)), ("trial-6-sgd-lr0.3", (232, 116, 59))] {
        let run =
            index.runs(&Default::default()).unwrap().into_iter().find(|r| r.name.as_deref() == Some(name)).unwrap();
        let pts = index.chart(run.uid, "train_loss", 800, ChartX::Step, None).unwrap();
        finite.push(pts.iter().filter(|p| p.value.is_finite()).count());
        lines.push(PlotLine {
            label: name.into(),
            color,
            points: pts.iter().map(|p| (p.step as f64, p.value)).collect(),
            faint: false,
        });
    }
    (s, lines, finite)
}

fn spec() -> PlotSpec {
    PlotSpec { title: "train_loss".into(), x_label: "step".into(), log_y: false, width: 800, height: 450 }
}

#[test]
fn svg_holds_every_finite_point_and_breaks_at_nan() {
    let (_s, lines, finite) = demo_lines();
    let svg = render_svg(&spec(), &lines).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains(">\ntrain_loss\n</text>"), "the title is text");
    assert!(svg.contains("trial-6-sgd-lr0.3"), "the legend names the runs");
    // Each line is a polyline; together they hold every finite point (trial-6 ends in NaN).
    let mut counts: Vec<usize> = svg
        .split("<polyline")
        .skip(1)
        .map(|p| {
            let pts = p.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
            pts.split_whitespace().count()
        })
        .filter(|&n| n > 2) // legend swatches are 2-point paths
        .collect();
    counts.sort();
    let mut want = finite.clone();
    want.sort();
    assert_eq!(counts, want);
}

#[test]
fn png_is_drawn_with_each_runs_colour() {
    let (_s, lines, _) = demo_lines();
    let png_bytes = render_png(&spec(), &lines).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (800, 450));
    for l in &lines {
        let (r, g, b) = l.color;
        let n = buf[..info.buffer_size()].chunks(3).filter(|p| p[0] == r && p[1] == g && p[2] == b).count();
        assert!(n > 300, "{}: {n} pixels in its colour", l.label);
    }
    // Text was drawn (the bundled font): dark pixels exist outside the plot lines.
    let dark = buf[..info.buffer_size()].chunks(3).filter(|p| p[0] < 60 && p[1] < 60 && p[2] < 60).count();
    assert!(dark > 200, "{dark} dark pixels of text");
}
