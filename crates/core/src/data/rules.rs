//! The two rule sets of `data drift`: which test decides a column and when it alarms.
//!
//! # `runlens` (the default)
//!
//! A column alarms when its change is both significant and large enough to matter
//! ([`runlens_alarm`], the whole rule):
//! - significance: the column's p-value, corrected across the report's columns with Holm's
//!   step-down method ([`holm`]), is below [`RUNLENS_ALPHA`] (0.01). The test depends on the
//!   column's cardinality: a numeric column (integer or float as `data show` types it) with more
//!   than [`DISCRETE_MAX`] (10) distinct values, reference and current together, takes the
//!   two-sample KS test; any other column (string, boolean, a binary or few-valued number) the
//!   chi-squared test of the 2 x k contingency table of reference and current counts
//!   (`drift::chi2_contingency`, Yates' correction at 2 cells), with the categories whose expected
//!   count is under [`MIN_EXPECTED`] (5) pooled into one cell ([`pool_rare`]). KS's p-value assumes
//!   no ties (with few values it is far too large: a binary column's is about 1); the pooling keeps
//!   the chi-squared approximation valid on a high-cardinality column's sparse tail. Unlike the
//!   one-sample test against the reference's shares (Evidently's), the contingency test counts the
//!   reference's own sampling noise, so two batches of one distribution do not misfire when the
//!   reference is not much larger than the batch;
//! - effect: PSI (10 bins at the reference's deciles, or per category) at least [`EFFECT`] (0.1, the
//!   "moderate" band; 0.25 is "significant"), or the normalized Wasserstein distance (numeric) at
//!   least 0.1, or the Jensen-Shannon distance (base e) at least 0.1, or, for a column tested by
//!   its counts, one value's share moved by at least [`SHARE_EFFECT`] (3 percentage points,
//!   [`share_change`]). PSI's bands alone miss share changes that matter: 20% -> 25% of rows on one
//!   of 5 categories is a PSI of 0.014 and a JS distance of 0.04.
//!
//! A key column (integers or strings, every value distinct on both sides, as an `id` is) is not a
//! distribution: it is reported with method "id", left out of the Holm family, and never drifts
//! (new rows bring new ids). [`is_key`] decides it. The share of drifted columns counts the
//! others.
//!
//! A column's null share is tested too, whenever either side has a null (a feed that starts
//! sending empty values is the commonest breakage): the two-proportion z test of null counts over
//! rows joins the same Holm family, and alarms with a move of at least [`SHARE_EFFECT`]
//! ([`nulls_alarm`]); a column drifted by its nulls alone reports method "null_share" and that
//! adjusted p-value as its score. This applies to a key column, and to one with no values left.
//!
//! With thousands of rows any change is significant, and with a few dozen a large one may not be:
//! asking for both keeps the false alarms of big batches and the noise of small ones out. At a few
//! hundred rows the effect sizes are themselves noisy (two samples of 560 from one uniform
//! distribution, data_versions' `tenure`, are 0.115 apart in normed Wasserstein, with a KS p of
//! 0.023), so there the significance level carries the false-alarm rate: 0.01, family-wise over
//! the columns thanks to Holm, for a gate that stops CI. So does it on a high-cardinality column,
//! whose per-category PSI and JS are over 0.1 from sampling noise alone (2,000 categories, 10,000
//! rows). The data set drifts when any column does (a gate for CI); its share of drifted columns
//! is reported.
//!
//! Measured by `examples/drift_harness.rs` (bench/drift_harness.md; seed 12, 1,000 batches of
//! 10,000 rows per case, references of 10,000 and 100,000 rows, 8 columns: an id, normal,
//! lognormal with nulls, binomial with 9 values, boolean, 5 categories with nulls, 200 and 2,000
//! Zipf categories): batches from the reference's distribution with any alarm 0.0% and 0.3%
//! (target at most 1%; all on the 2,000-category column); a 0.25 sd mean shift on the normal
//! column caught in 100.0% and 100.0% (normed Wasserstein 0.22 at the 1st percentile) and a
//! 5-point share change on one of the 5 categories in 100.0% and 100.0% (share change 0.0375 at
//! the 1st percentile; target at least 99%), other columns alarming with them in 0.0-0.7% (the
//! 2,000-category one: Holm's step-down relaxes the others' level once the changed column is out).
//! Evidently's defaults on the same batches alarm on a column of every batch (the id column's
//! Wasserstein distance, the 2,000-category column's Jensen-Shannon) and never catch the share
//! change.
//!
//! # `evidently`
//!
//! Evidently's `DataDriftPreset()` with its defaults, reproduced from Evidently 0.7.23 (pandas
//! 2.3.3, scipy 1.17.1), files under `evidently/`:
//! - column types, from the *current* data only (`core/report.py` `Context.data_definition` is the
//!   first input's; `core/datasets.py` `infer_column_type`): a float column is numerical; an integer
//!   one (pandas int64: whole numbers and no null, else pandas reads it as float) is categorical
//!   when it has at most `INTEGER_CARDINALITY_LIMIT` = 10 distinct values, else numerical; a
//!   boolean column (no null) is categorical; a string column is text when its distinct values are
//!   more than half its non-null count, else categorical; a boolean column with nulls (pandas
//!   object of bools) is "unknown" and left out, as are other types (`presets/drift.py` takes
//!   numerical, categorical and text columns);
//! - values: nulls and +-inf are dropped from both sides before anything
//!   (`legacy/calculations/data_drift.py` `get_one_column_drift`, as `ValueDrift` calls it with
//!   `is_contains_nans=None`); an empty side is an error there, and here;
//! - the test (`legacy/calculations/stattests/registry.py` `_get_default_stattest`), with n_ref the
//!   reference's remaining values and n_values the distinct values of both sides together:
//!   n_ref <= 1000: numerical: `ks` when n_values > 5, else `chisquare` (n_values > 2) or `z`;
//!   categorical: `chisquare` (n_values > 2) or `z`. n_ref > 1000: numerical: `wasserstein` when
//!   n_values > 5, else `jensenshannon`; categorical: `jensenshannon`;
//! - the tests (`stattests/*.py`): `ks` = `ks_2samp` p-value, drift when p <= 0.05 (<=, unlike the
//!   others); `chisquare` = `scipy.stats.chisquare(f_obs, f_exp)` over the union of values,
//!   f_exp = ref_count * (n_cur / n_ref), drift when p < 0.05; `z` = the two-proportion z test of
//!   the first sorted value's share with p = 2 (1 - norm.cdf(|z|)) (not the survival function: it
//!   is 0 beyond |z| ~ 8.3, and [`evidently_z`] computes it the same way to agree bit for bit at
//!   small p), p = 1 when both sides hold the same single value, drift when p < 0.05;
//!   `wasserstein` = Wasserstein distance / max(std(ref, ddof 0), 0.001), drift when >= 0.1;
//!   `jensenshannon` = `scipy.spatial.distance.jensenshannon` (base e) of the shares of each value
//!   (`utils.get_binned_data` takes the per-value branch: the test is only chosen with at most 5
//!   values, or for categories), drift when >= 0.1;
//! - the data set (`legacy/calculations/data_drift.py` `get_dataset_drift`, `DriftedColumnsCount`
//!   with `drift_share` 0.5): drifted columns / columns, drift when the share is >= 0.5.
//!
//! Not reproduced: text columns (Evidently trains a domain classifier on them; they are reported
//! as method "text", not drifted, with a warning, and counted in the share as Evidently counts
//! them), and one difference inside Evidently itself: `DriftedColumnsCount` (the data set's
//! verdict) keeps +-inf in a column that has no null, where `ValueDrift` (the per-column result)
//! drops it; here both drop it.

use super::drift;
use super::special;

/// Evidently's significance level.
pub(crate) const ALPHA: f64 = 0.05;
/// The runlens rule's family-wise significance level (Holm).
pub(crate) const RUNLENS_ALPHA: f64 = 0.01;
/// The effect size a runlens alarm needs (PSI, normed Wasserstein, Jensen-Shannon), and
/// Evidently's distance threshold.
pub(crate) const EFFECT: f64 = 0.1;
/// The change in one value's share a runlens alarm needs otherwise (categorical and discrete
/// columns): 3 percentage points.
pub(crate) const SHARE_EFFECT: f64 = 0.03;
/// Evidently's share of drifted columns at which the data set drifts.
pub(crate) const EVIDENTLY_SHARE: f64 = 0.5;

/// Holm's step-down adjusted p-values, in the input's order: with the p-values sorted ascending,
/// adj_(i) = max over j <= i of min(1, (m - j + 1) p_(j)) (1-based). A NaN p-value counts as 1.
pub(crate) fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let clean: Vec<f64> = p.iter().map(|&v| if v.is_nan() { 1.0 } else { v }).collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean[a].total_cmp(&clean[b]));
    let mut out = vec![1.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let v = ((m - rank) as f64 * clean[i]).min(1.0);
        running = running.max(v);
        out[i] = running;
    }
    out
}

/// The runlens rule for one column: significant after Holm (`adjusted_p` < [`RUNLENS_ALPHA`]) and
/// an effect of at least [`EFFECT`] on PSI, the normed Wasserstein distance or Jensen-Shannon, or
/// of at least [`SHARE_EFFECT`] on the largest change of one value's share (None where one does
/// not apply: Wasserstein for a categorical column, the share change for a continuous one).
pub(crate) fn runlens_alarm(
    adjusted_p: f64,
    psi: Option<f64>,
    wasserstein_norm: Option<f64>,
    js: Option<f64>,
    share_change: Option<f64>,
) -> bool {
    let big = |v: Option<f64>, at: f64| v.is_some_and(|v| v >= at);
    adjusted_p < RUNLENS_ALPHA
        && (big(psi, EFFECT) || big(wasserstein_norm, EFFECT) || big(js, EFFECT) || big(share_change, SHARE_EFFECT))
}

/// The runlens rule for a column's null share: its two-proportion z test significant after Holm
/// (in the same family as the value tests) and the share moved by at least [`SHARE_EFFECT`].
pub(crate) fn nulls_alarm(adjusted_p: f64, null_share: (f64, f64)) -> bool {
    adjusted_p < RUNLENS_ALPHA && (null_share.0 - null_share.1).abs() >= SHARE_EFFECT
}

/// A numeric column with at most this many distinct values (reference and current together) is
/// discrete: tested as categories (chi-squared), since KS assumes no ties.
pub(crate) const DISCRETE_MAX: usize = 10;

/// The smallest expected count a category keeps its own cell with in the runlens contingency
/// test (Cochran's rule); rarer categories are pooled.
pub(crate) const MIN_EXPECTED: f64 = 5.0;

/// The 2 x k table of the runlens chi-squared test: categories (aligned counts of reference and
/// current) whose expected count is at least [`MIN_EXPECTED`] on both sides keep their cell, the
/// rest are pooled into one; a pooled cell still under that joins the smallest kept one. Without
/// it the chi-squared approximation fails on the sparse tail of a high-cardinality column (a
/// category seen once has an expected count of 0.5 on each side).
pub(crate) fn pool_rare(reference: &[u64], current: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let (r_tot, c_tot) = (reference.iter().sum::<u64>() as f64, current.iter().sum::<u64>() as f64);
    // Expected count of a category with column total t in the smaller row: t * min / total.
    let needed = MIN_EXPECTED * (r_tot + c_tot) / r_tot.min(c_tot);
    let (mut r, mut c) = (Vec::new(), Vec::new());
    let (mut rest_r, mut rest_c) = (0u64, 0u64);
    for (&a, &b) in reference.iter().zip(current) {
        if (a + b) as f64 >= needed {
            r.push(a);
            c.push(b);
        } else {
            rest_r += a;
            rest_c += b;
        }
    }
    if rest_r + rest_c > 0 {
        let smallest = (0..r.len()).min_by_key(|&i| r[i] + c[i]);
        match smallest {
            Some(i) if ((rest_r + rest_c) as f64) < needed => {
                r[i] += rest_r;
                c[i] += rest_c;
            }
            _ => {
                r.push(rest_r);
                c.push(rest_c);
            }
        }
    }
    (r, c)
}

/// The largest change in one value's share between two aligned count rows (the L-infinity
/// distance of the two distributions), NaN when a side is empty.
pub(crate) fn share_change(reference: &[u64], current: &[u64]) -> f64 {
    let (r_tot, c_tot) = (reference.iter().sum::<u64>() as f64, current.iter().sum::<u64>() as f64);
    if r_tot == 0.0 || c_tot == 0.0 {
        return f64::NAN;
    }
    reference.iter().zip(current).map(|(&a, &b)| (a as f64 / r_tot - b as f64 / c_tot).abs()).fold(0.0, f64::max)
}

/// A key column under the runlens rule: integers or strings, at least two values, each once.
pub(crate) fn is_key(kind: &str, counts: &std::collections::BTreeMap<String, u64>) -> bool {
    matches!(kind, "integer" | "string") && counts.len() >= 2 && counts.values().all(|&n| n == 1)
}

/// A column's type as Evidently infers it from the current data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EvidentlyType {
    Numerical,
    Categorical,
    Text,
    /// Left out of the report.
    Unknown,
}

/// `infer_column_type` on what pandas would make of the column: `kind` as `data show` types it,
/// its nulls, and its distinct non-null values.
pub(crate) fn evidently_type(kind: &str, nulls: u64, count: u64, distinct: u64) -> EvidentlyType {
    match kind {
        // Whole numbers without a null are int64; with one, float64.
        "integer" if nulls == 0 => {
            if distinct <= 10 {
                EvidentlyType::Categorical
            } else {
                EvidentlyType::Numerical
            }
        }
        "integer" | "float" => EvidentlyType::Numerical,
        // All null: pandas reads float64 of NaN.
        "empty" => EvidentlyType::Numerical,
        "boolean" if nulls == 0 => EvidentlyType::Categorical,
        "boolean" => EvidentlyType::Unknown,
        _ => {
            if distinct as f64 > count as f64 * 0.5 {
                EvidentlyType::Text
            } else {
                EvidentlyType::Categorical
            }
        }
    }
}

/// Evidently's default tests, by their registered names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EvidentlyTest {
    Ks,
    Wasserstein,
    Chisquare,
    Z,
    JensenShannon,
}

impl EvidentlyTest {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EvidentlyTest::Ks => "ks",
            EvidentlyTest::Wasserstein => "wasserstein",
            EvidentlyTest::Chisquare => "chisquare",
            EvidentlyTest::Z => "z",
            EvidentlyTest::JensenShannon => "jensenshannon",
        }
    }

    /// Evidently's verdict on its score.
    pub(crate) fn drifted(self, score: f64) -> bool {
        match self {
            EvidentlyTest::Ks => score <= ALPHA,
            EvidentlyTest::Chisquare | EvidentlyTest::Z => score < ALPHA,
            EvidentlyTest::Wasserstein | EvidentlyTest::JensenShannon => score >= EFFECT,
        }
    }
}

/// `_get_default_stattest` for a numerical or categorical column.
pub(crate) fn evidently_test(ty: EvidentlyType, n_ref: u64, n_values: u64) -> EvidentlyTest {
    let numerical = ty == EvidentlyType::Numerical;
    if n_ref <= 1000 {
        if numerical && n_values > 5 {
            EvidentlyTest::Ks
        } else if n_values > 2 {
            EvidentlyTest::Chisquare
        } else {
            EvidentlyTest::Z
        }
    } else if numerical && n_values > 5 {
        EvidentlyTest::Wasserstein
    } else {
        EvidentlyTest::JensenShannon
    }
}

/// Evidently's `_chi_stat_test`: observed = the current's counts, expected = the reference's
/// times n_cur / n_ref, over the union of values; `drift::chisquare` on them.
pub(crate) fn evidently_chisquare(reference: &[u64], current: &[u64]) -> Option<(f64, f64)> {
    let n_ref = reference.iter().sum::<u64>() as f64;
    let n_cur = current.iter().sum::<u64>() as f64;
    let k_norm = n_cur / n_ref;
    let expected: Vec<f64> = reference.iter().map(|&r| r as f64 * k_norm).collect();
    let observed: Vec<f64> = current.iter().map(|&c| c as f64).collect();
    drift::chisquare(&observed, &expected)
}

/// Evidently's `_z_stat_test` on the counts of each value in sorted order (the first is the
/// "0" side): (z, p) with its own arithmetic, p = 2 (1 - ndtr(|z|)).
pub(crate) fn evidently_z(reference: &[u64], current: &[u64]) -> (f64, f64) {
    let ref_values = reference.iter().filter(|&&c| c > 0).count();
    let cur_values = current.iter().filter(|&&c| c > 0).count();
    let same_single =
        ref_values == 1 && cur_values == 1 && reference.iter().zip(current).any(|(&r, &c)| r > 0 && c > 0);
    if same_single {
        return (0.0, 1.0);
    }
    let n1 = reference.iter().sum::<u64>() as f64;
    let n2 = current.iter().sum::<u64>() as f64;
    // sum(ref.apply(0 if x == keys[0] else 1)): the values other than the first.
    let s1 = (reference.iter().sum::<u64>() - reference.first().copied().unwrap_or(0)) as f64;
    let s2 = (current.iter().sum::<u64>() - current.first().copied().unwrap_or(0)) as f64;
    let p1 = s1 / n1;
    let p2 = s2 / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    (z, 2.0 * (1.0 - special::ndtr(z.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_is_step_down_and_monotone() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        // sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> 0.06)
        assert_eq!(adj, vec![0.03, 0.06, 0.06, 0.02]);
        assert_eq!(holm(&[f64::NAN, 0.5]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn rare_categories_are_pooled_until_each_cell_expects_five() {
        // 20 + 20 rows: a cell needs a column total of 5 * 40 / 20 = 10.
        assert_eq!(pool_rare(&[8, 6, 3, 2, 1], &[7, 5, 4, 3, 1]), (vec![8, 6, 6], vec![7, 5, 8]));
        // The pooled cell (3 + 2 = 5) still under 10 joins the smallest kept one.
        assert_eq!(pool_rare(&[10, 7, 1, 2], &[9, 8, 2, 1]), (vec![10, 10], vec![9, 11]));
        // Nothing common enough: one cell, which the contingency test calls no evidence.
        assert_eq!(pool_rare(&[1, 1, 1], &[1, 1, 1]), (vec![3], vec![3]));
        assert_eq!(drift::chi2_contingency(&[3], &[3]), Some((0.0, 1.0, 0)));
        assert_eq!(pool_rare(&[50, 50], &[40, 60]), (vec![50, 50], vec![40, 60]));
    }

    #[test]
    fn share_change_is_the_largest_move_of_one_value() {
        assert!((share_change(&[50, 30, 20], &[45, 30, 25]) - 0.05).abs() < 1e-15);
        assert_eq!(share_change(&[1, 1], &[2, 2]), 0.0);
        assert!(share_change(&[0, 0], &[1, 2]).is_nan());
        // Significant and a 3-point share change, or PSI, W norm or JS at 0.1; never without significance.
        assert!(runlens_alarm(0.001, Some(0.01), None, Some(0.02), Some(0.03)));
        assert!(!runlens_alarm(0.001, Some(0.01), None, Some(0.02), Some(0.029)));
        assert!(runlens_alarm(0.001, None, Some(0.1), None, None));
        assert!(!runlens_alarm(0.01, Some(1.0), Some(1.0), Some(1.0), Some(1.0)));
    }

    #[test]
    fn evidently_picks_tests_as_its_registry_does() {
        use EvidentlyTest::*;
        use EvidentlyType::*;
        assert_eq!(evidently_test(Numerical, 1000, 6), Ks);
        assert_eq!(evidently_test(Numerical, 1000, 5), Chisquare);
        assert_eq!(evidently_test(Numerical, 1000, 2), Z);
        assert_eq!(evidently_test(Categorical, 1000, 3), Chisquare);
        assert_eq!(evidently_test(Categorical, 1000, 1), Z);
        assert_eq!(evidently_test(Numerical, 1001, 6), Wasserstein);
        assert_eq!(evidently_test(Numerical, 1001, 5), JensenShannon);
        assert_eq!(evidently_test(Categorical, 1001, 2), JensenShannon);
        assert!(Ks.drifted(0.05) && !Chisquare.drifted(0.05) && Wasserstein.drifted(0.1));
    }

    #[test]
    fn evidently_types_columns_from_what_pandas_reads() {
        assert_eq!(evidently_type("integer", 0, 100, 10), EvidentlyType::Categorical);
        assert_eq!(evidently_type("integer", 0, 100, 11), EvidentlyType::Numerical);
        assert_eq!(evidently_type("integer", 1, 100, 3), EvidentlyType::Numerical);
        assert_eq!(evidently_type("boolean", 1, 100, 2), EvidentlyType::Unknown);
        assert_eq!(evidently_type("string", 0, 100, 50), EvidentlyType::Categorical);
        assert_eq!(evidently_type("string", 0, 100, 51), EvidentlyType::Text);
    }
}
