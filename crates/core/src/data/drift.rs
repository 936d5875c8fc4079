//! Drift statistics between a reference column and a current column, equal to scipy's and
//! numpy's (scipy 1.17.1, numpy 2.4.6): the same code paths, ported, not re-derived.
//!
//! Inputs are plain slices with nulls and NaN already removed by the caller. Numeric functions
//! named `*_sorted` or taking `*_sorted` arguments need them sorted ascending (the reference is
//! stored sorted; sorting the current column is the caller's job): that is what makes KS and
//! Wasserstein O(n) merges instead of scipy's sorts and binary searches. Categorical functions take
//! category -> count maps; the union of their keys is walked in key order, which fixes the order
//! of every sum (numpy's pairwise sums depend on it at the last bit).
//!
//! Everything here is checked against scipy's own output by the tests at the bottom, on data the
//! tests regenerate from `tests/fixtures/drift/scipy.json` (made by `make.py` beside it).

use std::collections::BTreeMap;

use super::special::{chi2_sf, clip, kstwo_sf, norm_sf, np_sum, np_sum_map};

// ---------------------------------------------------------------------------------------------
// Kolmogorov-Smirnov, two samples, two-sided (scipy.stats.ks_2samp with its defaults)
// ---------------------------------------------------------------------------------------------

/// How the KS p-value was computed, as scipy chose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KsMethod {
    /// The exact distribution (Hodges' lattice paths), tried when both samples have at most
    /// 10000 values.
    Exact,
    /// Kolmogorov's asymptotic distribution, `kstwo.sf(d, round(n1 n2 / (n1 + n2)))`.
    Asymp,
}

impl KsMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KsMethod::Exact => "exact",
            KsMethod::Asymp => "asymp",
        }
    }
}

/// A two-sample Kolmogorov-Smirnov test result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ks {
    /// sup |F_a - F_b|; on the exact path scipy reports it as h / lcm(n1, n2), see `ks_2samp`.
    pub(crate) statistic: f64,
    pub(crate) p_value: f64,
    pub(crate) method: KsMethod,
}

/// scipy's MAX_AUTO_N: 'auto' tries the exact p-value when max(n1, n2) <= this.
const KS_MAX_AUTO_N: usize = 10_000;

/// `scipy.stats.ks_2samp(a, b)` (alternative 'two-sided', method 'auto'), on sorted samples in
/// O(n1 + n2) (plus the exact p-value's own cost, see below). None when a sample is empty
/// (scipy raises).
///
/// As scipy 1.17.1 does:
/// - the statistic is max(D+, D-) over the pooled values, each ECDF as count / n in f64;
/// - when max(n1, n2) <= 10000 it tries the exact p-value: it rounds d to h / lcm(n1, n2) with
///   h = round(d * lcm) (half to even) and reports that d as the statistic; equal sizes use
///   `_compute_prob_outside_square` (O(n)), unequal ones `_compute_outer_prob_inside_method`
///   (O(max(n1, n2) * window), the window being about 2 d min(n1, n2) wide: up to ~1e8 steps at
///   10000 vs 9999 with disjoint samples, about 0.1 s);
/// - the exact attempt fails, and scipy falls back to the asymptotic p-value (with the rounded d),
///   when it returns a probability outside [0, 1]. That happens for equal sizes at small h, where
///   2P of the alternating series rounds above 1: 1000 vs 1000 at h in {1, 2, 4, 8}, 10000 vs
///   10000 at 19 values of h up to 25. The p-value is then about 1 either way, but the method
///   says "asymp";
/// - otherwise `kstwo.sf(d, round(n1 n2 / (n1 + n2)))` (round half to even), clipped to [0, 1].
///
/// (scipy's `_count_paths_outside_method` and Hodges' approximation serve only the one-sided
/// alternatives, which the product does not use, so they are not ported.)
pub(crate) fn ks_2samp(a_sorted: &[f64], b_sorted: &[f64]) -> Option<Ks> {
    let (n1, n2) = (a_sorted.len(), b_sorted.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    debug_assert!(a_sorted.is_sorted() && b_sorted.is_sorted());
    let (a, b) = (a_sorted, b_sorted);
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    // cddiffs = searchsorted(a, v, 'right') / n1 - searchsorted(b, v, 'right') / n2 over every
    // pooled value v: the extremes are taken at distinct values, so walk those.
    let (mut i, mut j) = (0, 0);
    let (mut max_s, mut min_s) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < n1 || j < n2 {
        let v = if j >= n2 || (i < n1 && a[i] <= b[j]) { a[i] } else { b[j] };
        while i < n1 && a[i] <= v {
            i += 1;
        }
        while j < n2 && b[j] <= v {
            j += 1;
        }
        let diff = i as f64 / n1f - j as f64 / n2f;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = clip(-min_s);
    let mut d = if min_s > max_s { min_s } else { max_s };

    let g = gcd(n1 as u64, n2 as u64);
    let mut method = if n1.max(n2) <= KS_MAX_AUTO_N { KsMethod::Exact } else { KsMethod::Asymp };
    let mut prob = f64::NEG_INFINITY;
    if method == KsMethod::Exact {
        let (success, rounded, p) = attempt_exact(n1 as u64, n2 as u64, g, d);
        d = rounded;
        prob = p;
        if !success {
            method = KsMethod::Asymp;
        }
    }
    if method == KsMethod::Asymp {
        let (m, n) = (n1f.max(n2f), n1f.min(n2f));
        let en = m * n / (m + n);
        prob = kstwo_sf(d, en.round_ties_even());
    }
    Some(Ks { statistic: d, p_value: clip(prob), method })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp` for the two-sided alternative: (success, d as h/lcm, p).
fn attempt_exact(n1: u64, n2: u64, g: u64, d: f64) -> (bool, f64, f64) {
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return (true, d, 1.0);
    }
    let prob = if n1 == n2 {
        compute_prob_outside_square(n1 as i64, h as i64)
    } else {
        compute_outer_prob_inside_method(n1 as i64, n2 as i64, g as i64, h as i64)
    };
    ((0.0..=1.0).contains(&prob), d, prob)
}

/// Pr(D_{n,n} >= h/n), the proportion of lattice paths that touch x - y = +-h
/// (scipy `_compute_prob_outside_square`: 2 (A0 (1 - A1 (1 - A2 (...)))), Horner-like).
fn compute_prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = (n as f64 / h as f64).floor() as i64;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// The proportion of lattice paths from (0, 0) to (m, n) that leave |x/m - y/n| < h/lcm(m, n),
/// computed directly as 1 - p by Viehmann's recursion (scipy `_compute_outer_prob_inside_method`,
/// pythran-compiled there: plain double arithmetic as here).
fn compute_outer_prob_inside_method(m: i64, n: i64, g: i64, h: i64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in &mut a[minj as usize..(maxj as usize).min(len_a)] {
        *v = 0.0;
    }
    for i in 1..=m {
        let lastminj = minj;
        let lastlen = curlen;
        minj = ((((ng * i - h) as f64 / mg as f64).floor() as i64) + 1).max(0);
        minj = minj.min(n);
        maxj = (((ng * i + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * fi + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = (maxj - minj) as usize;
            let to = (from + (lastlen - curlen) as usize).min(len_a);
            for v in &mut a[from.min(len_a)..to] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

// ---------------------------------------------------------------------------------------------
// Wasserstein-1 (scipy.stats.wasserstein_distance)
// ---------------------------------------------------------------------------------------------

/// `scipy.stats.wasserstein_distance(a, b)` (unweighted), on sorted samples in O(n1 + n2).
/// None when a sample is empty (scipy raises).
///
/// scipy integrates |F_a - F_b| over the pooled values with `np.vecdot` (BLAS ddot); this sums the
/// same products (|i/n1 - j/n2| times the gap to the next distinct value, each rounded as in
/// scipy) with a compensated sum, so it is at least as accurate; the two agree to ~1e-15 relative.
pub(crate) fn wasserstein(a_sorted: &[f64], b_sorted: &[f64]) -> Option<f64> {
    let (n1, n2) = (a_sorted.len(), b_sorted.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    debug_assert!(a_sorted.is_sorted() && b_sorted.is_sorted());
    let (a, b) = (a_sorted, b_sorted);
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let (mut i, mut j) = (0, 0);
    let mut sum = Neumaier::default();
    let mut v = if a[0] <= b[0] { a[0] } else { b[0] };
    loop {
        while i < n1 && a[i] <= v {
            i += 1;
        }
        while j < n2 && b[j] <= v {
            j += 1;
        }
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        sum.add((i as f64 / n1f - j as f64 / n2f).abs() * (next - v));
        v = next;
    }
    Some(sum.total())
}

/// `wasserstein(reference, current) / max(std(reference, ddof 0), 0.001)`: the distance in units
/// of the reference's spread (Evidently's normed Wasserstein), with the floor for a constant
/// reference. Both samples sorted; None when one is empty.
pub(crate) fn wasserstein_norm(reference_sorted: &[f64], current_sorted: &[f64]) -> Option<f64> {
    Some(over_reference_std(wasserstein(reference_sorted, current_sorted)?, reference_sorted))
}

/// A Wasserstein distance over the reference's std (ddof 0, floor 0.001), as `wasserstein_norm`.
pub(crate) fn over_reference_std(w: f64, reference_sorted: &[f64]) -> f64 {
    let s = std(reference_sorted, 0);
    // Python's max(s, 0.001): s unless 0.001 is greater.
    w / if 0.001 > s { 0.001 } else { s }
}

/// Neumaier's compensated sum.
#[derive(Default)]
struct Neumaier {
    sum: f64,
    c: f64,
}

impl Neumaier {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.c += (self.sum - t) + x;
        } else {
            self.c += (x - t) + self.sum;
        }
        self.sum = t;
    }
    fn total(&self) -> f64 {
        self.sum + self.c
    }
}

// ---------------------------------------------------------------------------------------------
// numpy: quantile (linear), std, histogram
// ---------------------------------------------------------------------------------------------

/// `numpy.quantile(x, q)` with the default 'linear' method, for sorted x (NaN when x is empty).
pub(crate) fn quantile_sorted(x_sorted: &[f64], q: f64) -> f64 {
    let n = x_sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    debug_assert!(x_sorted.is_sorted());
    let virtual_index = (n - 1) as f64 * q;
    let (prev, next) = if virtual_index.is_nan() || virtual_index >= (n - 1) as f64 {
        (n as i64 - 1, n as i64 - 1) // numpy's index -1
    } else if virtual_index < 0.0 {
        (0, 0)
    } else {
        let p = virtual_index.floor() as i64;
        (p, p + 1)
    };
    // numpy takes gamma against the adjusted previous index (-1 stands for the last, 0 below).
    let prev_for_gamma = if virtual_index.is_nan() || virtual_index >= (n - 1) as f64 { -1 } else { prev };
    let gamma = virtual_index - prev_for_gamma as f64;
    let (a, b) = (x_sorted[prev as usize], x_sorted[next as usize]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// `numpy.std(x, ddof=ddof)`: sqrt(sum((x - mean)^2) / (n - ddof)) with numpy's pairwise sums,
/// so bit for bit numpy's for the same order of x (NaN when n <= ddof).
pub(crate) fn std(x: &[f64], ddof: usize) -> f64 {
    let n = x.len();
    let mean = np_sum(x) / n as f64;
    let ss = np_sum_map(x, |v| {
        let d = v - mean;
        d * d
    });
    (ss / n.saturating_sub(ddof) as f64).sqrt()
}

/// A histogram: `bins + 1` edges and `bins` counts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Histogram {
    pub(crate) edges: Vec<f64>,
    pub(crate) counts: Vec<u64>,
}

/// `numpy.histogram(x, bins)`: equal-width bins from min to max (the last bin closed on the right),
/// a constant column spread over [v - 0.5, v + 0.5], an empty one over [0, 1]. x in any order,
/// finite. `bins` must be at least 1.
pub(crate) fn histogram(x: &[f64], bins: usize) -> Histogram {
    assert!(bins >= 1, "histogram needs at least one bin");
    let (mut first, mut last) = if x.is_empty() {
        (0.0, 1.0)
    } else {
        x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    };
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let edges = linspace(first, last, bins + 1);
    let mut counts = vec![0u64; bins];
    let norm_denom = last - first;
    let nb = bins as f64;
    for &v in x {
        if !(v >= first && v <= last) {
            continue;
        }
        let f = ((v - first) / norm_denom) * nb;
        let mut idx = f as usize; // astype(intp): truncation
        if idx == bins {
            idx -= 1;
        }
        if v < edges[idx] {
            idx -= 1;
        }
        if v >= edges[idx + 1] && idx != bins - 1 {
            idx += 1;
        }
        counts[idx] += 1;
    }
    Histogram { edges, counts }
}

/// `numpy.linspace(start, stop, num)` (endpoint included).
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    let div = num - 1;
    let delta = stop - start;
    let mut y: Vec<f64> = (0..num).map(|i| i as f64).collect();
    if div > 0 {
        let step = delta / div as f64;
        if step == 0.0 {
            for v in &mut y {
                *v = *v / div as f64 * delta;
            }
        } else {
            for v in &mut y {
                *v *= step;
            }
        }
    } else {
        for v in &mut y {
            *v *= delta;
        }
    }
    for v in &mut y {
        *v += start;
    }
    if num > 1 {
        y[num - 1] = stop;
    }
    y
}

// ---------------------------------------------------------------------------------------------
// Decile bins of the reference: PSI and Jensen-Shannon for numeric columns
// ---------------------------------------------------------------------------------------------

/// The floor applied to every share before PSI's logarithm.
pub(crate) const PSI_FLOOR: f64 = 1e-4;

/// The 10 bins at the reference's deciles and how many reference and current values fall in each.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DecileBins {
    /// `numpy.quantile(reference, [0.1, 0.2, ..., 0.9])`.
    pub(crate) edges: [f64; 9],
    pub(crate) reference: [u64; 10],
    pub(crate) current: [u64; 10],
}

/// Bins reference and current at the reference's deciles: the bin of x is
/// `numpy.searchsorted(edges, x, side="right")`, 0..=9, so values outside the reference's range
/// land in the end bins and equal edges (heavy ties) leave bins empty. The reference sorted, the
/// current in any order.
pub(crate) fn decile_bins(reference_sorted: &[f64], current: &[f64]) -> DecileBins {
    let edges = decile_edges(reference_sorted);
    let mut reference = [0u64; 10];
    // #{x : bin(x) <= b} = #{x < edges[b]} for sorted x.
    let mut below = 0u64;
    for (b, e) in edges.iter().enumerate() {
        let upto = reference_sorted.partition_point(|v| v < e) as u64;
        reference[b] = upto - below;
        below = upto;
    }
    reference[9] = reference_sorted.len() as u64 - below;
    let mut current_counts = [0u64; 10];
    for v in current {
        current_counts[decile_bin(&edges, *v)] += 1;
    }
    DecileBins { edges, reference, current: current_counts }
}

/// The 9 inner edges: the reference's deciles, linear interpolation (NaN for an empty reference).
pub(crate) fn decile_edges(reference_sorted: &[f64]) -> [f64; 9] {
    std::array::from_fn(|k| quantile_sorted(reference_sorted, (k + 1) as f64 / 10.0))
}

/// `numpy.searchsorted(edges, x, side="right")`.
pub(crate) fn decile_bin(edges: &[f64; 9], x: f64) -> usize {
    edges.partition_point(|e| *e <= x)
}

impl DecileBins {
    fn shares(counts: &[u64; 10]) -> [f64; 10] {
        let n = counts.iter().sum::<u64>() as f64;
        counts.map(|c| c as f64 / n)
    }

    /// PSI over the bins (see `psi_from_shares`).
    pub(crate) fn psi(&self) -> f64 {
        psi_from_shares(&Self::shares(&self.reference), &Self::shares(&self.current))
    }

    /// `scipy.spatial.distance.jensenshannon` of the bins' shares (unfloored).
    pub(crate) fn jensen_shannon(&self) -> f64 {
        jensen_shannon(&Self::shares(&self.reference), &Self::shares(&self.current))
    }
}

/// The population stability index of a numeric column over the reference's decile bins.
pub(crate) fn psi(reference_sorted: &[f64], current: &[f64]) -> f64 {
    decile_bins(reference_sorted, current).psi()
}

/// The Jensen-Shannon distance of a numeric column over the reference's decile bins.
pub(crate) fn jensen_shannon_numeric(reference_sorted: &[f64], current: &[f64]) -> f64 {
    decile_bins(reference_sorted, current).jensen_shannon()
}

/// PSI = sum((a - e) ln(a / e)) over the bins, e the reference's and a the current's share, each
/// floored at `PSI_FLOOR` (numpy's order: `np.sum((a - e) * np.log(a / e))`). Shares of an empty
/// side are NaN, and so is the PSI.
pub(crate) fn psi_from_shares(reference: &[f64], current: &[f64]) -> f64 {
    assert_eq!(reference.len(), current.len(), "PSI needs the same bins on both sides");
    let terms: Vec<f64> = reference
        .iter()
        .zip(current)
        .map(|(&e, &a)| {
            let (e, a) = (floor_share(e), floor_share(a));
            (a - e) * (a / e).ln()
        })
        .collect();
    np_sum(&terms)
}

/// np.maximum(share, PSI_FLOOR) (NaN stays NaN).
fn floor_share(s: f64) -> f64 {
    if s.is_nan() || s >= PSI_FLOOR {
        s
    } else {
        PSI_FLOOR
    }
}

/// `scipy.spatial.distance.jensenshannon(p, q)` (base e): p and q are normalised to sum 1, then
/// sqrt((KL(p || m) + KL(q || m)) / 2) with m = (p + q) / 2, each KL by `scipy.special.rel_entr`.
pub(crate) fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    assert_eq!(p.len(), q.len(), "Jensen-Shannon needs the same support on both sides");
    let (ps, qs) = (np_sum(p), np_sum(q));
    let p: Vec<f64> = p.iter().map(|v| v / ps).collect();
    let q: Vec<f64> = q.iter().map(|v| v / qs).collect();
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    let left: Vec<f64> = p.iter().zip(&m).map(|(&x, &y)| rel_entr(x, y)).collect();
    let right: Vec<f64> = q.iter().zip(&m).map(|(&x, &y)| rel_entr(x, y)).collect();
    let js = np_sum(&left) + np_sum(&right);
    (js / 2.0).sqrt()
}

/// x ln(x / y) with rel_entr's conventions (scipy/special/_convex_analysis.pxd).
fn rel_entr(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 || y <= 0.0 {
        return if x == 0.0 && y >= 0.0 { 0.0 } else { f64::INFINITY };
    }
    let ratio = x / y;
    if 0.5 < ratio && ratio < 2.0 {
        x * ((x - y) / y).ln_1p()
    } else if f64::MIN_POSITIVE < ratio && ratio < f64::INFINITY {
        x * ratio.ln()
    } else {
        x * (x.ln() - y.ln())
    }
}

// ---------------------------------------------------------------------------------------------
// Categorical columns
// ---------------------------------------------------------------------------------------------

/// Counts of reference and current over the union of their categories, in key order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Aligned<K> {
    pub(crate) keys: Vec<K>,
    pub(crate) reference: Vec<u64>,
    pub(crate) current: Vec<u64>,
}

/// The union of two category -> count maps, in key order, 0 where a side lacks a category.
pub(crate) fn align<K: Ord + Clone>(reference: &BTreeMap<K, u64>, current: &BTreeMap<K, u64>) -> Aligned<K> {
    let mut out = Aligned { keys: Vec::new(), reference: Vec::new(), current: Vec::new() };
    let (mut r, mut c) = (reference.iter().peekable(), current.iter().peekable());
    loop {
        let (key, rc, cc) = match (r.peek(), c.peek()) {
            (None, None) => break,
            (Some(&(rk, &rv)), None) => {
                r.next();
                (rk, rv, 0)
            }
            (None, Some(&(ck, &cv))) => {
                c.next();
                (ck, 0, cv)
            }
            (Some(&(rk, &rv)), Some(&(ck, &cv))) => match rk.cmp(ck) {
                std::cmp::Ordering::Less => {
                    r.next();
                    (rk, rv, 0)
                }
                std::cmp::Ordering::Greater => {
                    c.next();
                    (ck, 0, cv)
                }
                std::cmp::Ordering::Equal => {
                    r.next();
                    c.next();
                    (rk, rv, cv)
                }
            },
        };
        out.keys.push(key.clone());
        out.reference.push(rc);
        out.current.push(cc);
    }
    out
}

/// Observed (the current's counts) and expected (`ref_count * n_cur / n_ref`) frequencies over
/// the union of categories in key order, for `chisquare`. A category new in the current has
/// expected 0, which makes scipy's statistic inf and its p-value 0.
pub(crate) fn expected_from_reference<K: Ord + Clone>(
    reference: &BTreeMap<K, u64>,
    current: &BTreeMap<K, u64>,
) -> (Vec<K>, Vec<f64>, Vec<f64>) {
    let al = align(reference, current);
    let n_ref = al.reference.iter().sum::<u64>() as f64;
    let n_cur = al.current.iter().sum::<u64>() as f64;
    let observed = al.current.iter().map(|&c| c as f64).collect();
    let expected = al.reference.iter().map(|&r| r as f64 * n_cur / n_ref).collect();
    (al.keys, observed, expected)
}

/// `scipy.stats.chisquare(observed, expected)`: Pearson's statistic sum((o - e)^2 / e) and its
/// chi-squared survival function with k - 1 degrees of freedom. None where scipy raises: different
/// lengths, no categories, or sums differing by more than sqrt(eps) relative. An expected 0 with
/// observed > 0 gives (inf, 0); a single category gives (0, NaN) (0 degrees of freedom).
pub(crate) fn chisquare(observed: &[f64], expected: &[f64]) -> Option<(f64, f64)> {
    if observed.len() != expected.len() || observed.is_empty() {
        return None;
    }
    let (os, es) = (np_sum(observed), np_sum(expected));
    let relative_diff = (os - es).abs() / nan_min(os, es);
    if relative_diff > f64::EPSILON.sqrt() {
        return None;
    }
    let stat = pearson(observed, expected);
    Some((stat, chi2_sf((observed.len() - 1) as f64, stat)))
}

/// np.minimum (NaN propagates).
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// sum((o - e)^2 / e) in numpy's order.
fn pearson(observed: &[f64], expected: &[f64]) -> f64 {
    let terms: Vec<f64> = observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| {
            let d = o - e;
            d * d / e
        })
        .collect();
    np_sum(&terms)
}

/// `scipy.stats.chi2_contingency` of the 2 x k table [reference_row; current_row] with its
/// defaults: (statistic, p-value, dof = k - 1). With dof 1 (a 2 x 2 table) Yates' correction moves
/// each observed count toward its expected one by min(0.5, |o - e|). dof 0 (one category) is
/// (0, 1, 0). None where scipy raises: rows of different lengths, no categories, or a zero row or
/// column total (an expected frequency of 0).
pub(crate) fn chi2_contingency(reference_row: &[u64], current_row: &[u64]) -> Option<(f64, f64, usize)> {
    let k = reference_row.len();
    if k == 0 || current_row.len() != k {
        return None;
    }
    let rows = [reference_row, current_row];
    // Margins and total are sums of integers, exact in f64 below 2^53 (numpy's pairwise order
    // cannot change them).
    let row_sums: Vec<f64> = rows.iter().map(|r| r.iter().sum::<u64>() as f64).collect();
    let col_sums: Vec<f64> = (0..k).map(|j| (reference_row[j] + current_row[j]) as f64).collect();
    let total = row_sums[0] + row_sums[1];
    let mut observed = Vec::with_capacity(2 * k);
    let mut expected = Vec::with_capacity(2 * k);
    for (i, row) in rows.iter().enumerate() {
        for j in 0..k {
            observed.push(row[j] as f64);
            expected.push(row_sums[i] * col_sums[j] / total);
        }
    }
    if expected.contains(&0.0) {
        return None;
    }
    let dof = k - 1;
    if dof == 0 {
        return Some((0.0, 1.0, 0));
    }
    if dof == 1 {
        for (o, &e) in observed.iter_mut().zip(&expected) {
            let diff = e - *o;
            let direction = if diff > 0.0 {
                1.0
            } else if diff < 0.0 {
                -1.0
            } else {
                0.0
            };
            let magnitude = diff.abs().min(0.5);
            *o += magnitude * direction;
        }
    }
    let stat = pearson(&observed, &expected);
    Some((stat, chi2_sf(dof as f64, stat), dof))
}

/// Evidently's `proportions_diff_z_test` for a binary column: x1 of n1 reference values and x2 of
/// n2 current values are the positive class. z = (p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2)) with
/// P = (x1 + x2) / (n1 + n2) the pooled share (computed from the counts, so exact up to one
/// rounding), and the two-sided p = 2 norm.sf(|z|) (accurate in the tail, unlike Evidently's
/// 2 (1 - cdf), which bottoms out at 1e-16).
///
/// Degenerate cases: P = 0 or P = 1 (no positive, or no negative, value on either side) means
/// both sides are identical and the variance is 0: this returns (0, 1), no evidence of drift,
/// where the formula would give 0/0 = NaN. An empty side (n1 or n2 = 0) gives (NaN, NaN).
pub(crate) fn z_test_two_proportions(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, f64) {
    if n1 == 0 || n2 == 0 {
        return (f64::NAN, f64::NAN);
    }
    debug_assert!(x1 <= n1 && x2 <= n2);
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let (p1, p2) = (x1 as f64 / n1f, x2 as f64 / n2f);
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    if pooled == 0.0 || pooled == 1.0 {
        return (0.0, 1.0);
    }
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    (z, 2.0 * norm_sf(z.abs()))
}

/// PSI of a categorical column over the union of categories in key order, shares floored at
/// `PSI_FLOOR` as for numeric columns.
pub(crate) fn psi_categorical<K: Ord + Clone>(reference: &BTreeMap<K, u64>, current: &BTreeMap<K, u64>) -> f64 {
    let (e, a) = category_shares(reference, current);
    psi_from_shares(&e, &a)
}

/// Jensen-Shannon distance of a categorical column's shares over the union of categories.
pub(crate) fn jensen_shannon_categorical<K: Ord + Clone>(
    reference: &BTreeMap<K, u64>,
    current: &BTreeMap<K, u64>,
) -> f64 {
    let (e, a) = category_shares(reference, current);
    jensen_shannon(&e, &a)
}

fn category_shares<K: Ord + Clone>(reference: &BTreeMap<K, u64>, current: &BTreeMap<K, u64>) -> (Vec<f64>, Vec<f64>) {
    let al = align(reference, current);
    let share = |counts: &[u64]| {
        let n = counts.iter().sum::<u64>() as f64;
        counts.iter().map(|&c| c as f64 / n).collect::<Vec<f64>>()
    };
    (share(&al.reference), share(&al.current))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::time::Instant;

    // ---- the generator of tests/fixtures/drift/make.py, bit for bit ----

    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    fn draw(seed: u64, i: u64) -> u64 {
        let mut z = seed.wrapping_add((i + 1).wrapping_mul(GAMMA));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    struct Spec {
        n: usize,
        seed: u64,
        terms: u64,
        range: u64,
        shift: i64,
        cap: Option<i64>,
    }

    impl Spec {
        fn from(v: &Value) -> Spec {
            let u = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
            Spec {
                n: u("n") as usize,
                seed: u("seed"),
                terms: u("terms"),
                range: u("range"),
                shift: v["shift"].as_i64().unwrap(),
                cap: v.get("cap").and_then(Value::as_i64),
            }
        }

        fn value(&self, j: u64) -> i64 {
            let mut k = 0u64;
            for t in 0..self.terms {
                k += draw(self.seed, j * self.terms + t) % self.range;
            }
            let k = k as i64 + self.shift;
            self.cap.map_or(k, |c| k.min(c))
        }

        /// How many values take each integer k = base + index (the draws have a small range).
        fn tally(&self) -> (i64, Vec<u64>) {
            let base = self.shift;
            let mut counts = vec![0u64; (self.terms * (self.range - 1) + 1) as usize];
            for j in 0..self.n as u64 {
                counts[(self.value(j) - base) as usize] += 1;
            }
            (base, counts)
        }

        /// The categorical column: category k -> count.
        fn counts(&self) -> BTreeMap<i64, u64> {
            let (base, counts) = self.tally();
            counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(i, &c)| (base + i as i64, c)).collect()
        }

        /// The numeric column k_j / 1000, sorted (a counting sort: the caller's job in the product).
        fn numeric_sorted(&self) -> Vec<f64> {
            let (base, counts) = self.tally();
            let mut out = Vec::with_capacity(self.n);
            for (i, &c) in counts.iter().enumerate() {
                out.extend(std::iter::repeat_n((base + i as i64) as f64 / 1000.0, c as usize));
            }
            out
        }
    }

    fn fixture() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/drift/scipy.json");
        serde_json::from_str(&std::fs::read_to_string(path).expect("read scipy.json")).expect("parse scipy.json")
    }

    fn num(v: &Value) -> f64 {
        match v {
            Value::String(s) => match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                _ => panic!("not a number: {s}"),
            },
            v => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
        }
    }

    /// Collects every disagreement, so one run shows them all.
    #[derive(Default)]
    struct Check {
        bad: Vec<String>,
        checked: usize,
        /// The largest relative differences seen (statistics, p-values), for the record.
        worst_stat: f64,
        worst_p: f64,
    }

    fn rel(ours: f64, theirs: f64) -> f64 {
        if ours == theirs || (ours.is_nan() && theirs.is_nan()) {
            0.0
        } else {
            (ours - theirs).abs() / theirs.abs()
        }
    }

    impl Check {
        /// A statistic: within 1e-12 relative (equal when 0, inf or NaN).
        fn stat(&mut self, what: &str, ours: f64, theirs: f64) {
            self.checked += 1;
            self.worst_stat = self.worst_stat.max(rel(ours, theirs));
            let ok = if ours.is_nan() || theirs.is_nan() {
                ours.is_nan() && theirs.is_nan()
            } else {
                ours == theirs || (ours - theirs).abs() <= 1e-12 * theirs.abs()
            };
            if !ok {
                self.bad.push(format!("{what}: ours {ours:e}, scipy {theirs:e}"));
            }
        }
        /// Bit for bit (numpy's quantiles, std, histograms are pure IEEE arithmetic in a fixed order).
        fn exact(&mut self, what: &str, ours: f64, theirs: f64) {
            self.checked += 1;
            if !(ours.to_bits() == theirs.to_bits()
                || (ours == 0.0 && theirs == 0.0)
                || (ours.is_nan() && theirs.is_nan()))
            {
                self.bad.push(format!("{what}: ours {ours:e}, numpy {theirs:e} (must be identical)"));
            }
        }
        /// A p-value: within 1e-10 relative or 1e-300 absolute.
        fn p(&mut self, what: &str, ours: f64, theirs: f64) {
            self.checked += 1;
            if theirs.abs() > 1e-290 {
                self.worst_p = self.worst_p.max(rel(ours, theirs));
            }
            let ok = if ours.is_nan() || theirs.is_nan() {
                ours.is_nan() && theirs.is_nan()
            } else {
                ours == theirs || (ours - theirs).abs() <= 1e-300 || (ours - theirs).abs() <= 1e-10 * theirs.abs()
            };
            if !ok {
                self.bad.push(format!("{what}: ours {ours:e}, scipy {theirs:e}"));
            }
        }
        fn same<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, ours: T, theirs: T) {
            self.checked += 1;
            if ours != theirs {
                self.bad.push(format!("{what}: ours {ours:?}, scipy {theirs:?}"));
            }
        }
        fn finish(self, min_checked: usize) {
            eprintln!(
                "{} values checked; largest relative difference: statistics {:e}, p-values {:e}",
                self.checked, self.worst_stat, self.worst_p
            );
            assert!(self.checked >= min_checked, "only {} values checked: the fixture lost cases", self.checked);
            assert!(
                self.bad.is_empty(),
                "{} of {} values differ:\n{}",
                self.bad.len(),
                self.checked,
                self.bad.join("\n")
            );
        }
    }

    const QS: [f64; 7] = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0];

    #[test]
    fn numeric_cases_equal_scipy() {
        let fx = fixture();
        let cases = fx["numeric"].as_array().expect("numeric cases");
        let mut ck = Check::default();
        let mut methods = BTreeMap::new();
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let t0 = Instant::now();
            let reference = Spec::from(&case["reference"]).numeric_sorted();
            let current = Spec::from(&case["current"]).numeric_sorted();
            let t_gen = t0.elapsed();

            let t1 = Instant::now();
            let ks = ks_2samp(&reference, &current).expect("non-empty");
            let t_ks = t1.elapsed();
            let want = &case["ks"];
            ck.exact(&format!("{name} ks statistic"), ks.statistic, num(&want["statistic"]));
            ck.p(&format!("{name} ks p-value"), ks.p_value, num(&want["p_value"]));
            ck.same(&format!("{name} ks method"), ks.method.as_str(), want["method"].as_str().unwrap());
            *methods.entry(ks.method.as_str()).or_insert(0) += 1;

            let t2 = Instant::now();
            let w = wasserstein(&reference, &current).unwrap();
            let t_w = t2.elapsed();
            ck.stat(&format!("{name} wasserstein"), w, num(&case["wasserstein"]));
            ck.stat(
                &format!("{name} wasserstein_norm"),
                wasserstein_norm(&reference, &current).unwrap(),
                num(&case["wasserstein_norm"]),
            );
            ck.exact(&format!("{name} std ddof 0"), std(&reference, 0), num(&case["ref_std0"]));
            ck.exact(&format!("{name} std ddof 1"), std(&reference, 1), num(&case["ref_std1"]));
            ck.exact(&format!("{name} current std"), std(&current, 0), num(&case["cur_std0"]));
            for (q, want) in QS.iter().zip(case["ref_quantiles"].as_array().unwrap()) {
                ck.exact(&format!("{name} quantile {q}"), quantile_sorted(&reference, *q), num(want));
            }
            for (k, (ours, want)) in
                decile_edges(&reference).iter().zip(case["ref_deciles"].as_array().unwrap()).enumerate()
            {
                ck.exact(&format!("{name} decile {}", k + 1), *ours, num(want));
            }
            for (side, x) in [("ref", &reference), ("cur", &current)] {
                let h = histogram(x, 10);
                let counts: Vec<u64> = case[format!("{side}_hist_counts")]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect();
                ck.same(&format!("{name} {side} histogram counts"), h.counts, counts);
                for (k, (ours, want)) in
                    h.edges.iter().zip(case[format!("{side}_hist_edges")].as_array().unwrap()).enumerate()
                {
                    ck.exact(&format!("{name} {side} histogram edge {k}"), *ours, num(want));
                }
            }
            let t3 = Instant::now();
            let bins = decile_bins(&reference, &current);
            let t_bins = t3.elapsed();
            let as_counts =
                |k: &str| -> Vec<u64> { case[k].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect() };
            ck.same(&format!("{name} reference decile bins"), bins.reference.to_vec(), as_counts("ref_bins"));
            ck.same(&format!("{name} current decile bins"), bins.current.to_vec(), as_counts("cur_bins"));
            ck.stat(&format!("{name} psi"), bins.psi(), num(&case["psi"]));
            ck.stat(&format!("{name} jensen-shannon"), bins.jensen_shannon(), num(&case["jensen_shannon"]));
            ck.stat(&format!("{name} psi()"), psi(&reference, &current), num(&case["psi"]));
            ck.stat(
                &format!("{name} jensen_shannon_numeric()"),
                jensen_shannon_numeric(&reference, &current),
                num(&case["jensen_shannon"]),
            );
            eprintln!(
                "{name:32} n={:>8} vs {:>8}  gen {:>7.1?}  ks {:>9.2?} ({})  wasserstein {:>7.1?}  bins {:>7.1?}",
                reference.len(),
                current.len(),
                t_gen,
                t_ks,
                ks.method.as_str(),
                t_w,
                t_bins
            );
        }
        // The fixture must keep exercising both methods and scipy's fallback.
        assert!(
            methods.get("exact").copied().unwrap_or(0) >= 8 && methods.get("asymp").copied().unwrap_or(0) >= 8,
            "{methods:?}"
        );
        ck.finish(cases.len() * 50);
    }

    #[test]
    fn categorical_cases_equal_scipy() {
        let fx = fixture();
        let cases = fx["categorical"].as_array().expect("categorical cases");
        let mut ck = Check::default();
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let reference = Spec::from(&case["reference"]).counts();
            let current = Spec::from(&case["current"]).counts();
            let (keys, observed, expected) = expected_from_reference(&reference, &current);
            let want_keys: Vec<i64> = case["keys"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
            ck.same(&format!("{name} categories"), keys, want_keys);

            let want = case["chisquare"].as_array().unwrap();
            let (stat, p) = chisquare(&observed, &expected).expect("scipy accepted it");
            ck.stat(&format!("{name} chisquare statistic"), stat, num(&want[0]));
            ck.p(&format!("{name} chisquare p-value"), p, num(&want[1]));

            let al = align(&reference, &current);
            match (chi2_contingency(&al.reference, &al.current), case["chi2_contingency"].as_array()) {
                (Some((stat, p, dof)), Some(want)) => {
                    ck.stat(&format!("{name} chi2_contingency statistic"), stat, num(&want[0]));
                    ck.p(&format!("{name} chi2_contingency p-value"), p, num(&want[1]));
                    ck.same(&format!("{name} chi2_contingency dof"), dof as u64, want[2].as_u64().unwrap());
                }
                (ours, theirs) => {
                    ck.same(&format!("{name} chi2_contingency accepted"), ours.is_some(), theirs.is_some())
                }
            }
            ck.stat(&format!("{name} psi"), psi_categorical(&reference, &current), num(&case["psi"]));
            ck.stat(
                &format!("{name} jensen-shannon"),
                jensen_shannon_categorical(&reference, &current),
                num(&case["jensen_shannon"]),
            );
            if let Some(want) = case.get("z_test") {
                let count = |m: &BTreeMap<i64, u64>| (m.get(&1).copied().unwrap_or(0), m.values().sum::<u64>());
                let ((x1, n1), (x2, n2)) = (count(&reference), count(&current));
                let (z, p) = z_test_two_proportions(x1, n1, x2, n2);
                ck.stat(&format!("{name} z"), z, num(&want[0]));
                ck.p(&format!("{name} z-test p-value"), p, num(&want[1]));
            }
        }
        ck.finish(cases.len() * 8);
    }

    #[test]
    fn chisquare_refuses_what_scipy_refuses() {
        assert_eq!(chisquare(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(chisquare(&[], &[]), None);
        // sums 10 and 10.001: scipy raises (relative difference 1e-4 > 1.5e-8)
        assert_eq!(chisquare(&[5.0, 5.0], &[5.0, 5.001]), None);
        assert!(chisquare(&[5.0, 5.0], &[5.0, 5.0 + 1e-12]).is_some());
        // a zero column (a category absent from both rows) and an empty row make scipy raise
        assert_eq!(chi2_contingency(&[3, 0, 4], &[2, 0, 5]), None);
        assert_eq!(chi2_contingency(&[0, 0], &[2, 5]), None);
        assert_eq!(chi2_contingency(&[1, 2], &[3]), None);
    }

    #[test]
    fn z_test_degenerate_cases() {
        assert_eq!(z_test_two_proportions(0, 10, 0, 20), (0.0, 1.0));
        assert_eq!(z_test_two_proportions(10, 10, 20, 20), (0.0, 1.0));
        assert!(z_test_two_proportions(0, 0, 1, 2).0.is_nan());
        let (z, p) = z_test_two_proportions(5, 10, 5, 10);
        assert_eq!((z, p), (0.0, 1.0));
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(ks_2samp(&[], &[1.0]), None);
        assert_eq!(wasserstein(&[1.0], &[]), None);
        assert!(quantile_sorted(&[], 0.5).is_nan());
        let h = histogram(&[], 10);
        assert_eq!(h.counts, vec![0; 10]);
        assert_eq!(h.edges.first(), Some(&0.0));
        assert_eq!(h.edges.last(), Some(&1.0));
    }
}
