//! Column statistics over every row, exact: count, nulls, min, max, mean, std (ddof 1), the
//! quartiles as `numpy.quantile` (linear), the distinct count, the ten most frequent values and a
//! 10-bin histogram as `numpy.histogram(x, 10)`. A string column's min, max, mean and std are of
//! its values' lengths in characters.
//!
//! Numeric columns keep their values (8 bytes a row) to sort them once at the end; string and
//! boolean columns keep a count per distinct value.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::Cell;
use crate::data::drift;

/// A column's statistics (`data show`'s `columns`); what does not apply is None.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ColumnStats {
    pub name: String,
    /// "integer", "float", "boolean", "string", or "empty" (only nulls).
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u64,
    pub nulls: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub q25: Option<f64>,
    pub q50: Option<f64>,
    pub q75: Option<f64>,
    pub distinct: u64,
    /// The ten most frequent values with their counts, most frequent first (ties: smaller value
    /// first).
    pub top: Vec<(Value, u64)>,
    pub histogram: Option<Histogram>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

/// One column being read.
#[derive(Default)]
pub(crate) struct Column {
    nulls: u64,
    nums: Vec<f64>,
    all_int: bool,
    texts: HashMap<String, u64>,
    trues: u64,
    falses: u64,
    /// A text cell was seen: the column is a string column.
    text: bool,
}

fn num_text(f: f64, int: bool) -> String {
    if int && f.abs() < 9.0e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

impl Column {
    pub(crate) fn new() -> Column {
        Column { all_int: true, ..Default::default() }
    }

    pub(crate) fn push(&mut self, c: &Cell) {
        match c {
            Cell::Null => self.nulls += 1,
            Cell::Num(f, int) if !self.text => {
                self.nums.push(*f);
                self.all_int &= *int;
            }
            Cell::Num(f, int) => *self.texts.entry(num_text(*f, *int)).or_default() += 1,
            Cell::Bool(true) if !self.text => self.trues += 1,
            Cell::Bool(false) if !self.text => self.falses += 1,
            Cell::Bool(b) => *self.texts.entry(if *b { "True" } else { "False" }.into()).or_default() += 1,
            Cell::Text(s) => {
                if !self.text {
                    self.become_text();
                }
                match self.texts.get_mut(s.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        self.texts.insert(s.clone(), 1);
                    }
                }
            }
        }
    }

    /// Adds what `later` read (the rows after this column's) to this column.
    pub(crate) fn merge(&mut self, mut later: Column) {
        self.nulls += later.nulls;
        if self.text || later.text {
            if !self.text {
                self.become_text();
            }
            if !later.text {
                later.become_text();
            }
            for (k, n) in later.texts {
                *self.texts.entry(k).or_default() += n;
            }
            return;
        }
        self.nums.append(&mut later.nums);
        self.all_int &= later.all_int;
        self.trues += later.trues;
        self.falses += later.falses;
    }

    /// The first text cell: what was read as numbers or booleans is kept as text.
    fn become_text(&mut self) {
        self.text = true;
        let int = self.all_int;
        for f in std::mem::take(&mut self.nums) {
            *self.texts.entry(num_text(f, int)).or_default() += 1;
        }
        if self.trues > 0 {
            *self.texts.entry("True".into()).or_default() += std::mem::take(&mut self.trues);
        }
        if self.falses > 0 {
            *self.texts.entry("False".into()).or_default() += std::mem::take(&mut self.falses);
        }
    }

    pub(crate) fn finish(mut self, name: &str) -> ColumnStats {
        let mut s = ColumnStats {
            name: name.to_string(),
            kind: String::new(),
            count: 0,
            nulls: self.nulls,
            min: None,
            max: None,
            mean: None,
            std: None,
            q25: None,
            q50: None,
            q75: None,
            distinct: 0,
            top: Vec::new(),
            histogram: None,
        };
        let bools = self.trues + self.falses;
        if self.text || (bools > 0 && !self.nums.is_empty()) {
            if !self.text {
                self.become_text();
            }
            s.kind = "string".into();
            s.count = self.texts.values().sum();
            s.distinct = self.texts.len() as u64;
            let lens: Vec<f64> = self
                .texts
                .iter()
                .flat_map(|(t, &n)| std::iter::repeat_n(t.chars().count() as f64, n as usize))
                .collect();
            let mut sorted = lens;
            sorted.sort_unstable_by(f64::total_cmp);
            describe(&mut s, &sorted, false);
            s.q25 = None;
            s.q50 = None;
            s.q75 = None;
            let mut top: Vec<(&String, u64)> = self.texts.iter().map(|(k, &v)| (k, v)).collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            s.top = top.into_iter().take(10).map(|(k, v)| (Value::String(k.clone()), v)).collect();
        } else if bools > 0 {
            s.kind = "boolean".into();
            s.count = bools;
            s.distinct = (self.trues > 0) as u64 + (self.falses > 0) as u64;
            let mut top = vec![(Value::Bool(true), self.trues), (Value::Bool(false), self.falses)];
            top.retain(|t| t.1 > 0);
            top.sort_by(|a, b| b.1.cmp(&a.1).then((a.0 == Value::Bool(true)).cmp(&(b.0 == Value::Bool(true)))));
            s.top = top;
        } else if !self.nums.is_empty() {
            s.kind = if self.all_int { "integer" } else { "float" }.into();
            let mut x = std::mem::take(&mut self.nums);
            // Mean and std summed in file order, as numpy sums an array.
            let (m, sd) = mean_std(&x);
            sort_f64(&mut x);
            s.count = x.len() as u64;
            describe(&mut s, &x, true);
            s.mean = Some(m);
            s.std = sd;
            // Distinct values and their counts, from the sorted values.
            // Distinct values and the ten most frequent (by count, then the smaller value), in
            // one pass over the sorted values, keeping only the ten.
            let better = |a: &(f64, u64), b: &(f64, u64)| a.1 > b.1 || (a.1 == b.1 && a.0.total_cmp(&b.0).is_lt());
            let mut top: Vec<(f64, u64)> = Vec::with_capacity(11);
            let mut distinct = 0u64;
            let mut i = 0;
            while i < x.len() {
                let mut j = i + 1;
                while j < x.len() && x[j] == x[i] {
                    j += 1;
                }
                distinct += 1;
                let run = (x[i], (j - i) as u64);
                if top.len() < 10 || better(&run, &top[top.len() - 1]) {
                    let at = top.iter().position(|t| better(&run, t)).unwrap_or(top.len());
                    top.insert(at, run);
                    top.truncate(10);
                }
                i = j;
            }
            s.distinct = distinct;
            s.top = top.into_iter().map(|(v, n)| (super::cell_json(&Cell::Num(v, self.all_int)), n)).collect();
            if x.iter().all(|v| v.is_finite()) {
                let h = drift::histogram(&x, 10);
                s.histogram = Some(Histogram { edges: h.edges, counts: h.counts });
            }
        } else {
            s.kind = "empty".into();
        }
        s
    }
}

/// min, max, mean, std (ddof 1) and the quartiles of sorted values.
fn describe(s: &mut ColumnStats, sorted: &[f64], quartiles: bool) {
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else { return };
    s.min = Some(lo);
    s.max = Some(hi);
    s.mean = Some(mean(sorted));
    s.std = (sorted.len() > 1).then(|| drift::std(sorted, 1));
    if quartiles {
        s.q25 = Some(drift::quantile_sorted(sorted, 0.25));
        s.q50 = Some(drift::quantile_sorted(sorted, 0.5));
        s.q75 = Some(drift::quantile_sorted(sorted, 0.75));
    }
}

/// Mean and std (ddof 1) as pandas computes them: numpy's pairwise sums in the values' order.
fn mean_std(x: &[f64]) -> (f64, Option<f64>) {
    let m = mean(x);
    if x.len() < 2 {
        return (m, None);
    }
    let sq: Vec<f64> = x.iter().map(|v| (v - m) * (v - m)).collect();
    (m, Some((sum(&sq) / (x.len() - 1) as f64).sqrt()))
}

fn mean(x: &[f64]) -> f64 {
    sum(x) / x.len() as f64
}

/// numpy's sum: pairwise summation in blocks of 8, as `np.add.reduce` does on a contiguous array.
fn sum(x: &[f64]) -> f64 {
    fn pairwise(x: &[f64]) -> f64 {
        if x.len() < 8 {
            return x.iter().fold(0.0, |a, b| a + b);
        }
        if x.len() <= 128 {
            let mut r = [0.0f64; 8];
            r.copy_from_slice(&x[..8]);
            let mut i = 8;
            while i + 8 <= x.len() {
                for k in 0..8 {
                    r[k] += x[i + k];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for v in &x[i..] {
                res += v;
            }
            return res;
        }
        let mut n2 = x.len() / 2;
        n2 -= n2 % 8;
        pairwise(&x[..n2]) + pairwise(&x[n2..])
    }
    pairwise(x)
}

/// Finishes every column, on two threads (each column's sort is independent).
pub(crate) fn finish_all(cols: Vec<Column>, names: &[String]) -> Vec<ColumnStats> {
    let mut jobs: Vec<(usize, Column)> = cols.into_iter().enumerate().collect();
    // The biggest first, alternating, so the two threads get about as much.
    jobs.sort_by_key(|(_, c)| std::cmp::Reverse(c.nums.len() + c.texts.len()));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (k, j) in jobs.into_iter().enumerate() {
        if k % 2 == 0 {
            a.push(j)
        } else {
            b.push(j)
        }
    }
    let run = |jobs: Vec<(usize, Column)>| -> Vec<(usize, ColumnStats)> {
        jobs.into_iter().map(|(i, c)| (i, c.finish(names.get(i).map(String::as_str).unwrap_or("")))).collect()
    };
    let mut out: Vec<(usize, ColumnStats)> = std::thread::scope(|sc| {
        let other = sc.spawn(|| run(b));
        let mut mine = run(a);
        mine.extend(other.join().unwrap_or_default());
        mine
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, s)| s).collect()
}

/// Sorts as `f64::total_cmp` does, by an LSD radix sort of the values' ordered bit patterns (six
/// passes of 11 bits, a pass skipped when every value has the same digit): several times faster
/// than a comparison sort on millions of values.
pub(crate) fn sort_f64(x: &mut [f64]) {
    if x.len() < 1 << 12 {
        x.sort_unstable_by(f64::total_cmp);
        return;
    }
    // total_cmp's order as unsigned integers: flip every bit of negatives, the sign bit of the rest.
    let key = |v: f64| {
        let b = v.to_bits();
        if b >> 63 == 1 {
            !b
        } else {
            b | (1 << 63)
        }
    };
    let unkey = |k: u64| f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k });
    let mut a: Vec<u64> = x.iter().map(|&v| key(v)).collect();
    let mut b: Vec<u64> = vec![0; a.len()];
    const BITS: u32 = 11;
    const MASK: u64 = (1 << BITS) - 1;
    for pass in 0..64_u32.div_ceil(BITS) {
        let shift = pass * BITS;
        let mut counts = vec![0usize; 1 << BITS];
        for &k in &a {
            counts[((k >> shift) & MASK) as usize] += 1;
        }
        if counts.contains(&a.len()) {
            continue;
        }
        let mut sum = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        for &k in &a {
            let d = ((k >> shift) & MASK) as usize;
            b[counts[d]] = k;
            counts[d] += 1;
        }
        std::mem::swap(&mut a, &mut b);
    }
    for (v, k) in x.iter_mut().zip(a) {
        *v = unkey(k);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_radix_sort_orders_as_total_cmp() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed
        };
        let mut x: Vec<f64> = (0..50_000)
            .map(|i| match i % 7 {
                0 => -((next() % 1000) as f64) / 3.0,
                1 => f64::from_bits(next()),
                2 => 0.0,
                3 => -0.0,
                4 => f64::INFINITY,
                5 => f64::NEG_INFINITY,
                _ => (next() % 100_000) as f64 / 7.0,
            })
            .filter(|v| !v.is_nan())
            .collect();
        let mut want = x.clone();
        want.sort_by(f64::total_cmp);
        super::sort_f64(&mut x);
        assert!(x.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
