//! The false-alarm and power harness behind `data drift`'s default rules (issue 12), with
//! Evidently's DataDriftPreset defaults (`--rules evidently`) side by side.
//!
//! From a fixed seed it draws a reference table (10,000 and 100,000 rows) and, per scenario, many
//! current batches of 10,000 rows with the same columns, and scores every batch under both rule
//! sets through `runlens_core::drift_tables` (the code `data drift` runs on files):
//! - (a) same: every batch from the reference's distribution; a batch with any alarm is a false
//!   alarm (target: at most 1%). (d) is the high-cardinality columns' own rate in (a);
//! - (b) shift: `normal`'s mean moved by 0.25 standard deviations;
//! - (c) share: `plan`'s category "c" from 20% to 25% of rows, the others scaled down in proportion.
//!
//! For (b) and (c): how often the changed column alarms (target: at least 99%) and how often
//! another does. Columns: `id` (a key), `normal`, `skewed` (lognormal, 5% nulls), `count`
//! (binomial, 9 values), `flag` (boolean, 30% true), `plan` (5 categories, 2% nulls), `city` (200
//! categories, Zipf s = 1.1) and `sku` (2,000 categories, Zipf s = 1).
//!
//! ```sh
//! cargo run --release -p runlens-core --example drift_harness              # 1,000 batches a scenario
//! cargo run --release -p runlens-core --example drift_harness -- --batches 200 --seed 7
//! ```
//! Prints Markdown (bench/drift_harness.md keeps a run).

use std::collections::BTreeMap;
use std::time::Instant;

use runlens_core::{drift_tables, ColumnData, DriftReport, DriftRules, DriftTable};

const BATCH_ROWS: usize = 10_000;
const REFERENCE_ROWS: [usize; 2] = [10_000, 100_000];
const COLUMNS: [&str; 8] = ["id", "normal", "skewed", "count", "flag", "plan", "city", "sku"];
const PLAN: [f64; 5] = [0.35, 0.25, 0.20, 0.12, 0.08];
const PLAN_NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

/// splitmix64: a tiny deterministic generator (no dependency).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1), 53 bits.
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// An index drawn from cumulative weights (the last is 1).
    fn pick(&mut self, cumulative: &[f64]) -> usize {
        let u = self.uniform();
        cumulative.partition_point(|c| *c <= u).min(cumulative.len() - 1)
    }
}

fn cumulative(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let mut out: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect();
    *out.last_mut().unwrap() = 1.0;
    out
}

fn zipf(k: usize, s: f64) -> Vec<f64> {
    cumulative(&(1..=k).map(|i| (i as f64).powf(-s)).collect::<Vec<f64>>())
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Same,
    Shift,
    Share,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Same => "(a) same distribution",
            Scenario::Shift => "(b) normal: mean +0.25 sd",
            Scenario::Share => "(c) plan: \"c\" 20% -> 25%",
        }
    }
    /// The column the scenario changes.
    fn target(self) -> Option<&'static str> {
        match self {
            Scenario::Same => None,
            Scenario::Shift => Some("normal"),
            Scenario::Share => Some("plan"),
        }
    }
}

struct Dists {
    plan: Vec<f64>,
    plan_shifted: Vec<f64>,
    city: Vec<f64>,
    sku: Vec<f64>,
}

impl Dists {
    fn new() -> Dists {
        // "c" gains 5 points; the other four keep their ratios among themselves.
        let mut shifted = PLAN.to_vec();
        let scale = (1.0 - (PLAN[2] + 0.05)) / (1.0 - PLAN[2]);
        for (i, v) in shifted.iter_mut().enumerate() {
            *v = if i == 2 { PLAN[2] + 0.05 } else { *v * scale };
        }
        Dists {
            plan: cumulative(&PLAN),
            plan_shifted: cumulative(&shifted),
            city: zipf(200, 1.1),
            sku: zipf(2000, 1.0),
        }
    }
}

/// One table of `rows` rows; ids start at `first_id`.
fn table(rng: &mut Rng, d: &Dists, rows: usize, first_id: u64, scenario: Scenario) -> DriftTable {
    let shift = if scenario == Scenario::Shift { 0.25 * 10.0 } else { 0.0 };
    let id: Vec<f64> = (0..rows as u64).map(|i| (first_id + i) as f64).collect();
    let normal: Vec<f64> = (0..rows).map(|_| 50.0 + 10.0 * rng.normal() + shift).collect();
    let mut skewed = Vec::with_capacity(rows);
    let mut skewed_nulls = 0;
    for _ in 0..rows {
        let v = (3.0 + 0.8 * rng.normal()).exp();
        if rng.uniform() < 0.05 {
            skewed_nulls += 1;
        } else {
            skewed.push(v);
        }
    }
    let count: Vec<f64> = (0..rows).map(|_| (0..8).filter(|_| rng.uniform() < 0.35).count() as f64).collect();
    let trues = (0..rows).filter(|_| rng.uniform() < 0.3).count() as u64;
    let plan_cdf = if scenario == Scenario::Share { &d.plan_shifted } else { &d.plan };
    let mut plan = BTreeMap::new();
    let mut plan_nulls = 0;
    for _ in 0..rows {
        if rng.uniform() < 0.02 {
            plan_nulls += 1;
        } else {
            *plan.entry(PLAN_NAMES[rng.pick(plan_cdf)].to_string()).or_insert(0u64) += 1;
        }
    }
    let categories = |rng: &mut Rng, cdf: &[f64], prefix: &str| {
        let mut n = vec![0u64; cdf.len()];
        for _ in 0..rows {
            n[rng.pick(cdf)] += 1;
        }
        n.iter().enumerate().filter(|(_, &c)| c > 0).map(|(i, &c)| (format!("{prefix}{i:04}"), c)).collect()
    };
    let city = categories(rng, &d.city, "city");
    let sku = categories(rng, &d.sku, "sku");
    let num = |values: Vec<f64>, integer: bool, nulls: u64| ColumnData::Numbers { values, integer, nulls };
    DriftTable::new(
        "batch",
        vec![
            ("id".into(), num(id, true, 0)),
            ("normal".into(), num(normal, false, 0)),
            ("skewed".into(), num(skewed, false, skewed_nulls)),
            ("count".into(), num(count, true, 0)),
            ("flag".into(), ColumnData::Booleans { trues, falses: rows as u64 - trues, nulls: 0 }),
            ("plan".into(), ColumnData::Strings { counts: plan, nulls: plan_nulls }),
            ("city".into(), ColumnData::Strings { counts: city, nulls: 0 }),
            ("sku".into(), ColumnData::Strings { counts: sku, nulls: 0 }),
        ],
    )
}

/// Tallies over batches for one rule set.
#[derive(Default, Clone)]
struct Tally {
    batches: u64,
    /// Batches where any column alarmed, and any but `id`.
    any: u64,
    any_but_id: u64,
    /// The report's own verdict (runlens: any column; Evidently: at least half the columns).
    dataset: u64,
    /// Per column: batches where it alarmed.
    column: BTreeMap<String, u64>,
    /// Batches where a column other than the scenario's target (and `id`) alarmed.
    other: u64,
    /// The method per column (from the last batch).
    method: BTreeMap<String, String>,
    /// The target column's effect sizes, for the margins: (W norm, share change, score).
    target_effects: Vec<(f64, f64, f64)>,
}

impl Tally {
    fn add(&mut self, r: &DriftReport, target: Option<&str>) {
        self.batches += 1;
        let alarmed: Vec<&str> = r.columns.iter().filter(|c| c.drift).map(|c| c.name.as_str()).collect();
        self.any += !alarmed.is_empty() as u64;
        self.any_but_id += alarmed.iter().any(|c| *c != "id") as u64;
        self.dataset += r.drift as u64;
        for c in &r.columns {
            *self.column.entry(c.name.clone()).or_default() += c.drift as u64;
            self.method.insert(c.name.clone(), c.method.clone());
            if Some(c.name.as_str()) == target {
                self.target_effects.push((
                    c.wasserstein_norm.unwrap_or(f64::NAN),
                    c.share_change.unwrap_or(f64::NAN),
                    c.score.unwrap_or(f64::NAN),
                ));
            }
        }
        self.other += alarmed.iter().any(|c| *c != "id" && Some(*c) != target) as u64;
    }
    fn merge(&mut self, o: Tally) {
        self.batches += o.batches;
        self.any += o.any;
        self.any_but_id += o.any_but_id;
        self.dataset += o.dataset;
        self.other += o.other;
        for (k, v) in o.column {
            *self.column.entry(k).or_default() += v;
        }
        self.method.extend(o.method);
        self.target_effects.extend(o.target_effects);
    }
}

fn pct(n: u64, of: u64) -> String {
    format!("{:.1}%", 100.0 * n as f64 / of as f64)
}

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let mut batches = 1000usize;
    let mut seed = 12u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--batches" => batches = args.next().and_then(|v| v.parse().ok()).expect("--batches N"),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).expect("--seed N"),
            _ => {
                eprintln!("usage: drift_harness [--batches N] [--seed N]");
                std::process::exit(2);
            }
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let d = Dists::new();
    let started = Instant::now();
    println!("# Drift rules: false alarms and power\n");
    println!(
        "`cargo run --release -p runlens-core --example drift_harness -- --batches {batches} --seed {seed}`: \
         {batches} batches of {BATCH_ROWS} rows per scenario and reference size, {threads} threads.\n"
    );
    let scenarios = [Scenario::Same, Scenario::Shift, Scenario::Share];
    let mut results: Vec<(usize, Scenario, Tally, Tally)> = Vec::new();
    for (ri, &n_ref) in REFERENCE_ROWS.iter().enumerate() {
        let reference = table(&mut Rng::new(seed, 1000 + ri as u64), &d, n_ref, 0, Scenario::Same);
        for (si, &sc) in scenarios.iter().enumerate() {
            let t0 = Instant::now();
            let (runlens, evidently) = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (reference, d) = (&reference, &d);
                        s.spawn(move || {
                            let (mut rl, mut ev) = (Tally::default(), Tally::default());
                            for b in (t..batches).step_by(threads) {
                                // Each batch its own stream: the same batches whatever the thread count.
                                let stream = ((ri * 16 + si) as u64) << 32 | b as u64;
                                let first_id = (n_ref + b * BATCH_ROWS) as u64;
                                let cur = table(&mut Rng::new(seed, stream), d, BATCH_ROWS, first_id, sc);
                                let r = drift_tables(reference, &cur, DriftRules::Runlens).expect("runlens");
                                rl.add(&r, sc.target());
                                let e = drift_tables(reference, &cur, DriftRules::Evidently).expect("evidently");
                                ev.add(&e, sc.target());
                            }
                            (rl, ev)
                        })
                    })
                    .collect();
                let (mut rl, mut ev) = (Tally::default(), Tally::default());
                for h in handles {
                    let (a, b) = h.join().expect("a harness thread panicked");
                    rl.merge(a);
                    ev.merge(b);
                }
                (rl, ev)
            });
            eprintln!("reference {n_ref}, {}: {:.1?}", sc.name(), t0.elapsed());
            results.push((n_ref, sc, runlens, evidently));
        }
    }

    println!("## Summary\n");
    println!(
        "Per cell: runlens / evidently. \"Any column\" counts a batch once however many columns \
         alarmed; Evidently's own data-set verdict needs half the columns (`drift_share` 0.5).\n"
    );
    println!("| reference rows | scenario | any column | any column but `id` | changed column | another column (not `id`) | evidently data-set verdict |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for (n_ref, sc, rl, ev) in &results {
        let target = |t: &Tally| match sc.target() {
            Some(c) => pct(t.column[c], t.batches),
            None => "-".into(),
        };
        let other = |t: &Tally| if sc.target().is_some() { pct(t.other, t.batches) } else { "-".into() };
        println!(
            "| {n_ref} | {} | {} / {} | {} / {} | {} / {} | {} / {} | {} |",
            sc.name(),
            pct(rl.any, rl.batches),
            pct(ev.any, ev.batches),
            pct(rl.any_but_id, rl.batches),
            pct(ev.any_but_id, ev.batches),
            target(rl),
            target(ev),
            other(rl),
            other(ev),
            pct(ev.dataset, ev.batches),
        );
    }
    println!("\n## Per column: share of batches where the column alarmed (runlens / evidently)\n");
    print!("| reference rows | scenario |");
    for c in COLUMNS {
        print!(" `{c}` |");
    }
    println!();
    println!("|---:|---|{}", "---:|".repeat(COLUMNS.len()));
    for (n_ref, sc, rl, ev) in &results {
        print!("| {n_ref} | {} |", sc.name());
        for c in COLUMNS {
            print!(" {} / {} |", pct(rl.column[c], rl.batches), pct(ev.column[c], ev.batches));
        }
        println!();
    }
    println!("\n(d) the high-cardinality columns on same-distribution batches are the `city` and `sku` cells of the (a) rows.\n");
    println!("## Methods (runlens / evidently)\n");
    for (n_ref, sc, rl, ev) in &results {
        if *sc != Scenario::Same {
            continue;
        }
        let m: Vec<String> = COLUMNS.iter().map(|c| format!("`{c}` {} / {}", rl.method[*c], ev.method[*c])).collect();
        println!("- reference {n_ref}: {}", m.join(", "));
    }
    println!("\n## Margins of the changed column (runlens)\n");
    println!("| reference rows | scenario | effect | 1st percentile | median | largest Holm-adjusted p |");
    println!("|---:|---|---|---:|---:|---:|");
    for (n_ref, sc, rl, _) in &results {
        let (effect, what) = match sc {
            Scenario::Same => continue,
            Scenario::Shift => (rl.target_effects.iter().map(|e| e.0).collect::<Vec<_>>(), "normed Wasserstein"),
            Scenario::Share => (rl.target_effects.iter().map(|e| e.1).collect::<Vec<_>>(), "share change"),
        };
        let worst_p = rl.target_effects.iter().map(|e| e.2).fold(0.0, f64::max);
        println!(
            "| {n_ref} | {} | {what} | {:.4} | {:.4} | {worst_p:.3e} |",
            sc.name(),
            quantile(effect.clone(), 0.01),
            quantile(effect, 0.5)
        );
    }
    println!("\nTotal time: {:.1?} ({threads} threads).", started.elapsed());
}
