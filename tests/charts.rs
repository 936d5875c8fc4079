//! Chart queries: M4 from chunk summaries equals M4 over every point, and every spike survives at
//! every zoom.

use proptest::prelude::*;
use runlens_core::ChartX;
use runlens_core::{m4_points, m4_points_along, XAxis};

use crate::common::*;

/// A long noisy series with a few spikes, as JSONL.
fn series_text(n: usize, seed: u64) -> (String, Vec<(i64, f64)>) {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut pts = Vec::new();
    let mut text = String::new();
    let mut step = 0i64;
    for i in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        step += 1 + (x >> 60) as i64 % 3; // gaps
        let noise = ((x >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
        let mut v = 1.0 / (1.0 + i as f64 / 500.0) + 0.05 * noise;
        if i % 997 == 13 {
            v += 50.0; // a spike
        }
        if i % 1499 == 7 {
            v = f64::NAN;
        }
        pts.push((step, v));
        let vs = if v.is_nan() { "NaN".to_string() } else { format!("{v:?}") };
        // Wall-clock time mostly follows the steps, with a clock jump back and a few rows without one.
        let t = 1_700_000_000_000i64 + step * 1000 - if i > n / 2 { 5_000 } else { 0 };
        if i % 4001 == 5 {
            text.push_str(&format!("{{\"step\": {step}, \"loss\": {vs}}}\n"));
        } else {
            text.push_str(&format!("{{\"step\": {step}, \"timestamp\": {t}, \"loss\": {vs}}}\n"));
        }
    }
    (text, pts)
}

/// The series of `series_text(n, seed)`, indexed: the scratch folder (keep it alive), the index,
/// the run and every point.
fn indexed_series(
    n: usize,
    seed: u64,
) -> (Scratch, runlens_core::Index, runlens_core::RunRow, Vec<runlens_core::Point>) {
    let s = Scratch::new();
    let project = s.project();
    let (text, _) = series_text(n, seed);
    std::fs::write(project.join("log.jsonl"), text).unwrap();
    let (index, _) = open_and_scan(&s.data(), &project);
    let run = index.find_run("log.jsonl").unwrap();
    let all = index.series(run.uid, "loss").unwrap();
    (s, index, run, all)
}

fn pairs(p: &[runlens_core::Point]) -> Vec<(i64, u64)> {
    p.iter().map(|p| (p.step, p.value.to_bits())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(16), .. ProptestConfig::default() })]

    #[test]
    fn m4_from_chunks_equals_m4_over_points(n in 1usize..6000, width in prop_oneof![1usize..6, 1usize..400], zoom in proptest::option::of((0.0f64..1.0, 0.0f64..1.0)), seed in 0u64..1000) {
        let (_s, index, run, all) = indexed_series(n, seed);
        let (first, last) = (all[0].step as f64, all[all.len() - 1].step as f64);
        let range = zoom.map(|(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            (first + a * (last - first), first + b * (last - first))
        });
        let (lo, hi) = range.unwrap_or((first, last));
        let got = index.chart(run.uid, "loss", width, ChartX::Step, range).unwrap();
        let want = m4_points(&all, width, lo, hi);
        prop_assert_eq!(pairs(&got), pairs(&want));
        prop_assert!(got.len() <= 4 * width);
        // The highest and lowest points in the range are always drawn, whatever the width.
        let inside: Vec<&runlens_core::Point> = all.iter().filter(|p| p.value.is_finite() && (p.step as f64) >= lo && (p.step as f64) <= hi).collect();
        if let (Some(top), Some(bottom)) = (
            inside.iter().max_by(|a, b| a.value.total_cmp(&b.value)),
            inside.iter().min_by(|a, b| a.value.total_cmp(&b.value)),
        ) {
            prop_assert!(got.iter().any(|q| q.value == top.value), "max {} lost", top.value);
            prop_assert!(got.iter().any(|q| q.value == bottom.value), "min {} lost", bottom.value);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(16), .. ProptestConfig::default() })]

    /// Along wall-clock time too: chunk summaries give what every point gives, points without a
    /// time are left out, and relative time is the same chart shifted to start at 0.
    #[test]
    fn m4_along_time_equals_m4_over_points(n in 1usize..6000, width in prop_oneof![1usize..6, 1usize..300], seed in 0u64..1000) {
        let (_s, index, run, all) = indexed_series(n, seed);
        let times: Vec<f64> = all.iter().map(|p| p.ts).filter(|t| !t.is_nan()).collect();
        prop_assume!(!times.is_empty());
        let (lo, hi) = (times.iter().cloned().fold(f64::INFINITY, f64::min), times.iter().cloned().fold(f64::NEG_INFINITY, f64::max));
        let got = index.chart(run.uid, "loss", width, ChartX::Time, None).unwrap();
        let want = m4_points_along(&all, width, lo, hi, XAxis::Time);
        let triple = |p: &[runlens_core::Point]| p.iter().map(|p| (p.step, p.value.to_bits(), p.ts.to_bits())).collect::<Vec<_>>();
        prop_assert_eq!(triple(&got), triple(&want));
        let rel = index.chart(run.uid, "loss", width, ChartX::Relative, None).unwrap();
        prop_assert_eq!(rel.len(), got.len());
        for (r, g) in rel.iter().zip(&got) {
            prop_assert_eq!(r.ts, g.ts - lo);
        }
    }
}

#[test]
fn a_chart_of_a_long_series_reads_few_chunks_and_keeps_spikes() {
    let s = Scratch::new();
    let project = s.project();
    let (text, pts) = series_text(200_000, 7);
    std::fs::write(project.join("log.jsonl"), text).unwrap();
    let (index, _) = open_and_scan(&s.data(), &project);
    let run = index.find_run("log.jsonl").unwrap();
    let chart = index.chart(run.uid, "loss", 1600, ChartX::Step, None).unwrap();
    assert!(chart.len() <= 4 * 1600 && chart.len() > 1600, "{}", chart.len());
    let spikes: Vec<&(i64, f64)> = pts.iter().filter(|(_, v)| *v > 10.0).collect();
    assert_eq!(spikes.len(), 201);
    for (step, v) in spikes {
        assert!(chart.iter().any(|p| p.step == *step && p.value == *v), "spike at {step}");
    }
}

/// Smoothing is TensorBoard's debiased EMA over every point (NaN skipped), not over the points a
/// chart happens to draw: with a chart as wide as the series it equals the EMA computed here.
#[test]
fn smoothing_is_a_debiased_ema_over_the_full_series() {
    let (_s, index, run, all) = indexed_series(5000, 7);
    let uid = run.uid;
    let pts: Vec<(i64, f64)> = all.iter().map(|p| (p.step, p.value)).collect();
    let w = 0.9;
    let mut last = 0.0;
    let mut n = 0;
    let mut want = Vec::new();
    for &(step, v) in &pts {
        if v.is_finite() {
            last = last * w + (1.0 - w) * v;
            n += 1;
            want.push((step, last / (1.0 - w.powi(n))));
        } else {
            want.push((step, v));
        }
    }
    let got = index.chart_smoothed(uid, "loss", 1_000_000, ChartX::Step, None, w).unwrap();
    assert_eq!(got.len(), want.len());
    for (g, (step, v)) in got.iter().zip(&want) {
        assert_eq!(g.step, *step);
        assert!(
            g.value.to_bits() == v.to_bits() || (g.value - v).abs() <= 1e-12 * v.abs().max(1.0),
            "{} vs {v}",
            g.value
        );
    }
    // Zoomed in, the smoothed values are those of the full series (not restarted at the zoom edge).
    let (lo, hi) = (pts[3000].0 as f64, pts[3100].0 as f64);
    let zoomed = index.chart_smoothed(uid, "loss", 1_000_000, ChartX::Step, Some((lo, hi)), w).unwrap();
    assert_eq!(zoomed.len(), 101);
    assert_eq!(zoomed[0].value.to_bits(), got[3000].value.to_bits());
}
