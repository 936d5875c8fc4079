//! S5/S6 (bench/README.md): the chart query the desktop app makes, timed on the engine.
//!
//! S5: every run's M4 series of one metric at `--width` pixel columns, as one query.
//! S6: `--zooms` successive zooms (or the ranges of `--ranges-from`, the peer's output), each a
//! refetch of every run's series over a narrower step range.
//! For each query it checks that every spike is kept: the maximum of each run's points in the
//! range must appear in the answer.
//!
//! cargo run --release -p runlens-core --example chart_bench -- PROJECT --key loss [--width 1600]
//!     [--reps 5] [--zooms 20 | --ranges-from peer.json] [--data-dir DIR] [--out runlens.json]

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use runlens_core::{ChartX, Index, RunQuery, ScanOptions};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let project = PathBuf::from(args.get(1).expect("usage: chart_bench PROJECT --key KEY"));
    let key = arg(&args, "--key").expect("--key");
    let width: usize = arg(&args, "--width").map_or(1600, |w| w.parse().expect("--width"));
    let reps: usize = arg(&args, "--reps").map_or(5, |w| w.parse().expect("--reps"));
    let data =
        arg(&args, "--data-dir").map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("runlens-chart-bench"));
    let mut index = Index::open(&data, &project).expect("open index");
    let t = Instant::now();
    let report = index.scan(&ScanOptions::default(), &mut |_| {}, &AtomicBool::new(false)).expect("scan");
    eprintln!("index: {} runs, {} new points in {:.2} s", report.runs, report.points, t.elapsed().as_secs_f64());

    let runs = index.runs(&RunQuery::default()).expect("runs");
    let runs: Vec<_> = runs.into_iter().filter(|r| r.metrics.contains_key(&key)).collect();
    // Truth for the spike check, outside any timing: every point of every run.
    let full: Vec<Vec<runlens_core::Point>> = runs.iter().map(|r| index.series(r.uid, &key).expect("series")).collect();
    let total: usize = full.iter().map(Vec::len).sum();
    eprintln!("{} runs with {key}, {total} points", runs.len());

    // The queries: the whole range, then the zooms.
    let mut ranges: Vec<Option<(f64, f64)>> = vec![None];
    if let Some(path) = arg(&args, "--ranges-from") {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read ranges")).expect("json");
        let list =
            v.get("zoom_ranges").or_else(|| v.pointer("/s6/zoom_ranges")).expect("zoom_ranges in the peer's JSON");
        for r in list.as_array().expect("array") {
            ranges.push(Some((r[0].as_f64().expect("start"), r[1].as_f64().expect("end"))));
        }
    } else if let Some(z) = arg(&args, "--zooms") {
        // Halve the step range around the first run's highest point, `z` times.
        let spike = full[0]
            .iter()
            .filter(|p| p.value.is_finite())
            .max_by(|a, b| a.value.total_cmp(&b.value))
            .expect("points")
            .step;
        let (mut lo, mut hi) = (full[0][0].step, full[0].last().expect("points").step);
        for _ in 0..z.parse::<usize>().expect("--zooms") {
            let half = ((hi - lo) / 4).max(1);
            lo = (spike - half).max(lo);
            hi = (spike + half).min(hi);
            ranges.push(Some((lo as f64, hi as f64)));
        }
    }

    let mut out = Vec::new();
    for range in &ranges {
        let mut times = Vec::new();
        let mut answer = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            answer = runs
                .iter()
                .map(|r| index.chart(r.uid, &key, width, ChartX::Step, *range).expect("chart"))
                .collect::<Vec<_>>();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let mut kept = true;
        for (pts, all) in answer.iter().zip(&full) {
            let inside = |s: i64| range.is_none_or(|(a, b)| (s as f64) >= a && (s as f64) <= b);
            let want = all
                .iter()
                .filter(|p| inside(p.step) && p.value.is_finite())
                .map(|p| p.value)
                .fold(f64::NEG_INFINITY, f64::max);
            let got = pts.iter().filter(|p| p.value.is_finite()).map(|p| p.value).fold(f64::NEG_INFINITY, f64::max);
            kept &= want == got;
        }
        let points: usize = answer.iter().map(Vec::len).sum();
        let ms = median(times.clone());
        println!(
            "{:>24}  {:>9.2} ms  {:>7} points  ({:.0} per run)  spikes kept: {}",
            range.map_or("full range".to_string(), |(a, b)| format!("{a}..{b}")),
            ms,
            points,
            points as f64 / runs.len() as f64,
            if kept { "all" } else { "NO" }
        );
        out.push(serde_json::json!({"range": range.map(|(a, b)| [a, b]), "ms_median": ms, "ms": times, "points": points, "spikes_kept": kept}));
    }
    if let Some(path) = arg(&args, "--out") {
        let doc =
            serde_json::json!({"runs": runs.len(), "points_total": total, "width": width, "key": key, "queries": out});
        std::fs::write(path, serde_json::to_vec_pretty(&doc).expect("json")).expect("write --out");
    }
}
