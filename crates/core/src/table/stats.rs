//! Column statistics over every row, exact: count, nulls, min, max, mean, std (ddof 1), the
//! quartiles as `numpy.quantile` (linear), the distinct count, the ten most frequent values and a
//! 10-bin histogram as `numpy.histogram(x, 10)`. A string column's min, max, mean and std are of
//! its values' lengths in characters.
//!
//! A numeric column is kept as [`super::nums`] says while it is read (a count per distinct
//! value, a count per integer, then its values: decimals as 32-bit integers, others as doubles),
//! and finished here: from the counts, from a count array when its values' span is no wider than
//! their number, else sorted. String and boolean columns keep a count per distinct value.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

#[cfg(test)]
use super::nums::MAP_LIMIT;
use super::nums::{round_small, Dense, Keys, NumMap, Nums, SCALES};
use super::scan::Dec;
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

/// A per-process random seed for the text hashes: a file crafted to collide cannot slow a scan
/// down (the counts never depend on it; every output is sorted).
pub(super) fn hash_seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1
    })
}

/// A fast hash for the text values' map (FxHash's step, its high bits folded into the low ones),
/// seeded by [`hash_seed`].
#[derive(Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Default for FastHasher {
    fn default() -> FastHasher {
        FastHasher(hash_seed())
    }
}

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut b = bytes;
        while b.len() >= 8 {
            h = (h.rotate_left(5) ^ u64::from_le_bytes(b[..8].try_into().unwrap())).wrapping_mul(K);
            b = &b[8..];
        }
        if !b.is_empty() {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w) ^ ((b.len() as u64) << 59)).wrapping_mul(K);
        }
        self.0 = h;
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

/// A count per distinct text cell (its bytes, checked as UTF-8 when first added): open
/// addressing, the first 16 bytes of each key in its slot (a hit compares two words), the rest in
/// an arena. A slot whose count is 0 is empty.
#[derive(Clone, Default)]
pub(crate) struct TextCounts {
    slots: Vec<TextSlot>,
    len: usize,
    arena: Vec<u8>,
}

#[derive(Clone, Copy, Default)]
struct TextSlot {
    head: [u64; 2],
    len: usize,
    /// Where the bytes past the 16th are in the arena.
    off: usize,
    count: u64,
}

#[inline(always)]
fn text_head(b: &[u8]) -> [u64; 2] {
    // The first 16 bytes, zero-padded, little-endian: by whole-word loads (overlapping ones for
    // a short text) rather than a copy.
    let le8 = |s: &[u8]| u64::from_le_bytes(s[..8].try_into().unwrap());
    let le4 = |s: &[u8]| u32::from_le_bytes(s[..4].try_into().unwrap()) as u64;
    let n = b.len();
    if n >= 16 {
        [le8(b), le8(&b[8..])]
    } else if n > 8 {
        [le8(b), le8(&b[n - 8..]) >> ((16 - n) * 8)]
    } else if n == 8 {
        [le8(b), 0]
    } else if n >= 4 {
        [le4(b) | (le4(&b[n - 4..]) << ((n - 4) * 8)), 0]
    } else {
        let mut w = 0u64;
        for (i, &c) in b.iter().enumerate() {
            w |= (c as u64) << (8 * i);
        }
        [w, 0]
    }
}

#[inline(always)]
fn text_hash(head: [u64; 2], b: &[u8]) -> u64 {
    let mut h = (head[0] ^ hash_seed()).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (head[1] ^ b.len() as u64).wrapping_mul(0x8bb8_4b93_962e_acc9);
    if b.len() > 16 {
        for c in b[16..].chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    h ^ (h >> 29)
}

impl TextCounts {
    /// Adds 1 to the count of `b` if it has one.
    #[inline(always)]
    pub(crate) fn hit(&mut self, b: &[u8]) -> bool {
        if self.len == 0 {
            return false;
        }
        let head = text_head(b);
        let mask = self.slots.len() - 1;
        let mut i = (text_hash(head, b) as usize) & mask;
        loop {
            let s = &mut self.slots[i];
            if s.count == 0 {
                return false;
            }
            if s.head == head
                && s.len == b.len()
                && (b.len() <= 16 || self.arena[s.off..s.off + b.len() - 16] == b[16..])
            {
                s.count += 1;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `n` (> 0) to the count of `s`.
    pub(crate) fn add(&mut self, s: &str, n: u64) {
        if self.slots.is_empty() {
            self.slots = vec![TextSlot::default(); 16];
        }
        let b = s.as_bytes();
        let head = text_head(b);
        let mask = self.slots.len() - 1;
        let mut i = (text_hash(head, b) as usize) & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot.count == 0 {
                let off = self.arena.len();
                if b.len() > 16 {
                    self.arena.extend_from_slice(&b[16..]);
                }
                *slot = TextSlot { head, len: b.len(), off, count: n };
                self.len += 1;
                if self.len * 4 > self.slots.len() * 3 {
                    self.grow();
                }
                return;
            }
            if slot.head == head
                && slot.len == b.len()
                && (b.len() <= 16 || self.arena[slot.off..slot.off + b.len() - 16] == b[16..])
            {
                slot.count += n;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let bigger = vec![TextSlot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        let mask = self.slots.len() - 1;
        for s in old.into_iter().filter(|s| s.count > 0) {
            let key = self.key(&s);
            let mut i = (text_hash(s.head, &key) as usize) & mask;
            while self.slots[i].count > 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    fn key(&self, s: &TextSlot) -> Vec<u8> {
        let mut k = Vec::with_capacity(s.len);
        k.extend_from_slice(&s.head[0].to_le_bytes());
        k.extend_from_slice(&s.head[1].to_le_bytes());
        k.truncate(s.len.min(16));
        if s.len > 16 {
            k.extend_from_slice(&self.arena[s.off..s.off + s.len - 16]);
        }
        k
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every text and its count (in no particular order).
    fn entries(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        self.slots.iter().filter(|s| s.count > 0).map(|s| (String::from_utf8(self.key(s)).unwrap_or_default(), s.count))
    }
}

pub(crate) type TextMap = HashMap<Box<str>, u64, std::hash::BuildHasherDefault<FastHasher>>;

/// A column as `data drift` takes it ([`Column::into_drift`]).
pub(crate) struct DriftColumn {
    pub(crate) kind: &'static str,
    pub(crate) nulls: u64,
    pub(crate) nums: Vec<f64>,
    pub(crate) counts: Vec<(String, u64)>,
}

/// One column being read.
#[derive(Default, Clone)]
pub(crate) struct Column {
    nulls: u64,
    nums: Nums,
    all_int: bool,
    /// The counts of numbers and booleans in a string column (as text).
    texts: TextMap,
    /// The counts of text cells.
    raw: TextCounts,
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

fn add_text(texts: &mut TextMap, s: &str, n: u64) {
    match texts.get_mut(s) {
        Some(c) => *c += n,
        None => {
            texts.insert(s.into(), n);
        }
    }
}

impl Column {
    pub(crate) fn new() -> Column {
        Column { all_int: true, ..Default::default() }
    }

    pub(crate) fn push(&mut self, c: &Cell) {
        match c {
            Cell::Null => self.push_null(),
            Cell::Num(f, int) => self.push_num(*f, *int),
            Cell::Bool(b) => self.push_bool(*b),
            Cell::Text(s) => self.push_text(s),
        }
    }

    #[inline(always)]
    pub(crate) fn push_null(&mut self) {
        self.nulls += 1;
    }

    pub(crate) fn push_nulls(&mut self, n: u64) {
        self.nulls += n;
    }

    #[inline(always)]
    pub(crate) fn push_num(&mut self, f: f64, int: bool) {
        if self.text {
            add_text(&mut self.texts, &num_text(f, int), 1);
        } else {
            self.nums.push(f);
            self.all_int &= int;
        }
    }

    /// A number given in its digits: counted per integer without its double when the column
    /// is so counted.
    #[inline(always)]
    pub(crate) fn push_dec(&mut self, d: Dec) {
        if !self.text {
            let done = match &mut self.nums {
                Nums::Dense(x) => x.add_dec(d),
                Nums::Keys(x) => x.push_dec(d),
                _ => false,
            };
            if done {
                self.all_int &= d.frac == 0;
                return;
            }
        }
        self.push_num(d.value(), d.frac == 0)
    }

    /// A number `n` (> 0) times.
    pub(crate) fn push_num_n(&mut self, f: f64, int: bool, n: u64) {
        if self.text {
            add_text(&mut self.texts, &num_text(f, int), n);
        } else {
            self.nums.push_n(f, n);
            self.all_int &= int;
        }
    }

    #[inline]
    pub(crate) fn push_bool(&mut self, b: bool) {
        if self.text {
            add_text(&mut self.texts, if b { "True" } else { "False" }, 1);
        } else if b {
            self.trues += 1;
        } else {
            self.falses += 1;
        }
    }

    #[inline]
    pub(crate) fn push_text(&mut self, s: &str) {
        if !self.text {
            self.become_text();
        }
        self.raw.add(s, 1);
    }

    /// Counts a cell known to be text, as these bytes, when this column has counted it before
    /// (so they are UTF-8 and typed as text): the quick way for repeated strings.
    #[inline(always)]
    pub(crate) fn hit_text(&mut self, b: &[u8]) -> bool {
        self.raw.hit(b)
    }

    /// A text cell from bytes that may not be UTF-8 (made so as `String::from_utf8_lossy` does).
    #[inline]
    pub(crate) fn push_text_lossy(&mut self, b: &[u8]) {
        if !self.hit_text(b) {
            self.push_text(&String::from_utf8_lossy(b));
        }
    }

    /// [`Column::push_text_lossy`] `n` (> 0) times.
    pub(crate) fn push_text_lossy_n(&mut self, b: &[u8], n: u64) {
        if !self.text {
            self.become_text();
        }
        self.raw.add(&String::from_utf8_lossy(b), n);
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
            if self.texts.len() < later.texts.len() {
                std::mem::swap(&mut self.texts, &mut later.texts);
            }
            for (k, n) in later.texts {
                add_text(&mut self.texts, &k, n);
            }
            if self.raw.len() < later.raw.len() {
                std::mem::swap(&mut self.raw, &mut later.raw);
            }
            for (k, n) in later.raw.entries() {
                self.raw.add(&k, n);
            }
            return;
        }
        self.nums.append(later.nums);
        self.all_int &= later.all_int;
        self.trues += later.trues;
        self.falses += later.falses;
    }

    /// The first text cell: what was read as numbers or booleans is kept as text.
    fn become_text(&mut self) {
        self.text = true;
        let int = self.all_int;
        match std::mem::take(&mut self.nums) {
            Nums::Map(m) => {
                for (f, n) in m.entries() {
                    add_text(&mut self.texts, &num_text(f, int), n);
                }
            }
            Nums::Dense(d) => {
                for (f, n) in d.entries() {
                    add_text(&mut self.texts, &num_text(f, int), n);
                }
            }
            v @ (Nums::Vec { .. } | Nums::Keys(_)) => {
                for f in v.into_values() {
                    add_text(&mut self.texts, &num_text(f, int), 1);
                }
            }
        }
        if self.trues > 0 {
            add_text(&mut self.texts, "True", std::mem::take(&mut self.trues));
        }
        if self.falses > 0 {
            add_text(&mut self.texts, "False", std::mem::take(&mut self.falses));
        }
    }

    /// The column as `data drift` takes it: typed as [`Column::finish`] types it, its finite
    /// numbers in no order (numeric types), or every value's count (other types; numbers by
    /// their shortest text, -0 as 0, as `data drift` counts them).
    pub(crate) fn into_drift(mut self) -> DriftColumn {
        let bools = self.trues + self.falses;
        let nulls = self.nulls;
        if self.text || (bools > 0 && !self.nums.is_empty()) {
            if !self.text {
                self.become_text();
            }
            let mut counts: Vec<(String, u64)> =
                self.texts.into_iter().map(|(k, n)| (if &*k == "-0" { "0".into() } else { k.into() }, n)).collect();
            counts.extend(self.raw.entries());
            return DriftColumn { kind: "string", nulls, nums: Vec::new(), counts };
        }
        if bools > 0 {
            let counts = [("False", self.falses), ("True", self.trues)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| (k.to_string(), n))
                .collect();
            return DriftColumn { kind: "boolean", nulls, nums: Vec::new(), counts };
        }
        if self.nums.is_empty() {
            return DriftColumn { kind: "empty", nulls, nums: Vec::new(), counts: Vec::new() };
        }
        let kind = if self.all_int { "integer" } else { "float" };
        let mut nums = match self.nums {
            Nums::Map(m) => {
                let mut v = Vec::with_capacity(m.entries().map(|e| e.1 as usize).sum());
                for (x, n) in m.entries().filter(|e| e.0.is_finite()) {
                    v.extend(std::iter::repeat_n(x, n as usize));
                }
                v
            }
            Nums::Dense(d) => {
                let mut v = Vec::with_capacity(d.n as usize);
                for (x, n) in d.entries() {
                    v.extend(std::iter::repeat_n(x, n as usize));
                }
                v
            }
            v @ (Nums::Vec { .. } | Nums::Keys(_)) => v.into_values(),
        };
        nums.retain(|v| v.is_finite());
        DriftColumn { kind, nulls, nums, counts: Vec::new() }
    }

    /// How much work finishing this column is (to share columns between threads).
    fn weight(&self) -> usize {
        let nums = match &self.nums {
            v @ Nums::Vec { .. } => v.len() * 4,
            Nums::Map(m) => m.len(),
            Nums::Dense(d) => d.counts.len(),
            Nums::Keys(k) => k.len() * 3,
        };
        nums + self.texts.len() + self.raw.len()
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
            for (k, n) in std::mem::take(&mut self.raw).entries() {
                add_text(&mut self.texts, &k, n);
            }
            s.count = self.texts.values().sum();
            s.distinct = self.texts.len() as u64;
            // The lengths in characters, a count per length.
            let mut lens: std::collections::BTreeMap<usize, u64> = Default::default();
            for (t, &n) in &self.texts {
                *lens.entry(t.chars().count()).or_default() += n;
            }
            let lens: Vec<(f64, u64)> = lens.into_iter().map(|(l, n)| (l as f64, n)).collect();
            if let (Some(lo), Some(hi)) = (lens.first(), lens.last()) {
                s.min = Some(lo.0);
                s.max = Some(hi.0);
                let (m, sd) = mean_std_counted(&lens, s.count);
                s.mean = Some(m);
                s.std = sd;
            }
            let mut top: Vec<(&str, u64)> = self.texts.iter().map(|(k, &v)| (&**k, v)).collect();
            let by = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then(a.0.cmp(b.0));
            if top.len() > 10 {
                top.select_nth_unstable_by(9, by);
                top.truncate(10);
            }
            top.sort_by(by);
            s.top = top.into_iter().map(|(k, v)| (Value::String(k.to_string()), v)).collect();
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
            // A count per value, unless a value is so big that value times count could overflow.
            if let Nums::Map(m) = &self.nums {
                if m.entries().any(|(x, _)| x.abs() > 1e290) {
                    self.nums.values_mut();
                }
            }
            match std::mem::take(&mut self.nums) {
                Nums::Map(m) => self.finish_counted(&mut s, m),
                Nums::Dense(d) => self.finish_dense(&mut s, d),
                Nums::Keys(k) => self.finish_keys(&mut s, k),
                v @ Nums::Vec { .. } => self.finish_values(&mut s, v.into_parts()),
            }
        } else {
            s.kind = "empty".into();
        }
        s
    }

    /// A numeric column's statistics from a count per distinct value.
    fn finish_counted(&self, s: &mut ColumnStats, m: NumMap) {
        let mut e: Vec<(f64, u64)> = m.entries().collect();
        e.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let n: u64 = e.iter().map(|x| x.1).sum();
        s.count = n;
        let (mean, sd) = mean_std_counted(&e, n);
        s.mean = Some(mean);
        s.std = sd;
        self.describe_counted(s, &e, n);
    }

    /// A numeric column's statistics from a count per integer.
    fn finish_dense(&self, s: &mut ColumnStats, d: Dense) {
        s.count = d.n;
        let (mean, sd) = mean_std_of(d.entries(), d.n);
        s.mean = Some(mean);
        s.std = sd;
        let zero = (d.neg_zeros > 0).then(|| ((-d.lo) as usize, d.neg_zeros as u32));
        let (p, lo) = (d.p, d.lo);
        self.describe_dense(s, &Counts::wide(d.counts), |i| (i as i64 + lo) as f64 / p, zero);
    }

    /// min, max, quartiles, distinct values, the most frequent and the histogram of `n` values
    /// given as distinct values (by their bits) in ascending order (total_cmp) with their counts.
    fn describe_counted(&self, s: &mut ColumnStats, e: &[(f64, u64)], n: u64) {
        s.min = e.first().map(|x| x.0);
        s.max = e.last().map(|x| x.0);
        // The k-th value of the sorted values: by the running counts.
        let mut ends: Vec<u64> = Vec::with_capacity(e.len());
        let mut run = 0;
        for x in e {
            run += x.1;
            ends.push(run);
        }
        let at = |k: usize| e[ends.partition_point(|&end| end <= k as u64)].0;
        s.q25 = Some(quantile_at(n as usize, 0.25, at));
        s.q50 = Some(quantile_at(n as usize, 0.5, at));
        s.q75 = Some(quantile_at(n as usize, 0.75, at));
        // Runs of equal values (0.0 and -0.0 are one value, shown as the first).
        let merged: Vec<(f64, u64)>;
        let runs: &[(f64, u64)] = if e.windows(2).any(|w| w[0].0 == w[1].0) {
            let mut r: Vec<(f64, u64)> = Vec::with_capacity(e.len());
            for &(x, c) in e {
                match r.last_mut() {
                    Some(last) if last.0 == x => last.1 += c,
                    _ => r.push((x, c)),
                }
            }
            merged = r;
            &merged
        } else {
            e
        };
        s.distinct = runs.len() as u64;
        s.top = top_of(runs.iter().copied(), self.all_int);
        if let (Some(lo), Some(hi)) = (e.first(), e.last()) {
            if lo.0.is_finite() && hi.0.is_finite() {
                let edges = drift::histogram(&[lo.0, hi.0], 10).edges;
                // The bins are in the values' order: each bin's last value by a binary search.
                let mut counts = vec![0u64; 10];
                let mut below = 0;
                for (b, c) in counts.iter_mut().enumerate() {
                    let end = if b == 9 {
                        n
                    } else {
                        match e.partition_point(|x| bin_of(x.0, &edges) <= b) {
                            0 => 0,
                            j => ends[j - 1],
                        }
                    };
                    *c = end - below;
                    below = end;
                }
                s.histogram = Some(Histogram { edges, counts });
            }
        }
    }

    /// min, max, quartiles, distinct values, the most frequent and the histogram of values given
    /// as a count per index (not all 0), each index's value given by `value`, distinct and
    /// ascending with the index.
    /// `neg_zeros`: how many of the values at the index of 0 are -0.0 (they come first there, as
    /// in total_cmp's order, and equal 0.0 as numpy's sort has them).
    fn describe_dense<C: Copy + Into<u32>>(
        &self,
        s: &mut ColumnStats,
        counts: &Counts<C>,
        value: impl Fn(usize) -> f64,
        neg_zeros: Option<(usize, u32)>,
    ) {
        // One pass over the counts, no division but for the values asked for.
        let len = counts.low.len();
        let (Some(first), Some(last)) =
            ((0..len).position(|i| counts.get(i) > 0), (0..len).rposition(|i| counts.get(i) > 0))
        else {
            return;
        };
        let n: u64 = (first..=last).map(|i| counts.get(i) as u64).sum();
        let neg = |i: usize| match neg_zeros {
            Some((z, k)) if i == z => k as u64,
            _ => 0,
        };
        // The first value at an index (a run's), and the k-th smallest when it is at index i
        // after `below` smaller ones.
        let start = |i: usize| if neg(i) > 0 { -0.0 } else { value(i) };
        let kth = |i: usize, k: u64, below: u64| {
            if neg_zeros.is_some_and(|(z, _)| z == i) {
                if k < below + neg(i) {
                    -0.0
                } else {
                    0.0
                }
            } else {
                value(i)
            }
        };
        // The ranks the quartiles read, as quantile_at asks for them.
        let asked = std::cell::RefCell::new(Vec::new());
        for q in [0.25, 0.5, 0.75] {
            quantile_at(n as usize, q, |k| {
                asked.borrow_mut().push(k as u64);
                0.0
            });
        }
        let mut ranks = asked.into_inner();
        ranks.sort_unstable();
        ranks.dedup();
        let mut at_rank = vec![0.0; ranks.len()];
        let lo = start(first);
        let hi = kth(last, n - 1, n - counts.get(last) as u64);
        // Each histogram bin's end as an index (the bins are in the values' order).
        let edges = (lo.is_finite() && hi.is_finite()).then(|| drift::histogram(&[lo, hi], 10).edges);
        let bounds: Vec<usize> = match &edges {
            Some(edges) => (0..9)
                .map(|b| {
                    let (mut l, mut r) = (first, last + 1);
                    while l < r {
                        let mid = l + (r - l) / 2;
                        if bin_of(value(mid), edges) <= b {
                            l = mid + 1;
                        } else {
                            r = mid;
                        }
                    }
                    l
                })
                .chain([usize::MAX])
                .collect(),
            None => vec![usize::MAX; 10],
        };
        let mut bins = [0u64; 10];
        let mut bin = 0;
        let (mut below, mut distinct, mut next_rank) = (0u64, 0u64, 0usize);
        // The ten most frequent as (index, count), most frequent first (ties: the smaller index,
        // met first).
        let mut top: Vec<(usize, u64)> = Vec::with_capacity(11);
        for i in first..=last {
            let c = counts.get(i);
            if c == 0 {
                continue;
            }
            let c = c as u64;
            distinct += 1;
            while next_rank < ranks.len() && ranks[next_rank] < below + c {
                at_rank[next_rank] = kth(i, ranks[next_rank], below);
                next_rank += 1;
            }
            if top.len() < 10 || c > top[top.len() - 1].1 {
                let at = top.iter().position(|t| c > t.1).unwrap_or(top.len());
                top.insert(at, (i, c));
                top.truncate(10);
            }
            while i >= bounds[bin] {
                bin += 1;
            }
            bins[bin] += c;
            below += c;
        }
        let at = |k: usize| at_rank[ranks.partition_point(|&r| r < k as u64)];
        s.min = Some(lo);
        s.max = Some(hi);
        s.q25 = Some(quantile_at(n as usize, 0.25, at));
        s.q50 = Some(quantile_at(n as usize, 0.5, at));
        s.q75 = Some(quantile_at(n as usize, 0.75, at));
        s.top = top_of(top.into_iter().map(|(i, c)| (start(i), c)), self.all_int);
        s.distinct = distinct;
        if let Some(edges) = edges {
            s.histogram = Some(Histogram { edges, counts: bins.to_vec() });
        }
    }

    /// A numeric column's statistics from every value, in the order read (in parts).
    fn finish_values(&self, s: &mut ColumnStats, parts: Vec<Vec<f64>>) {
        let n: usize = parts.iter().map(Vec::len).sum();
        if n == 0 {
            return;
        }
        // Mean and std in twice the precision, in any order: the values' order is not the
        // file's once a count map became values (and the map's order follows a seeded hash), so
        // numpy's order-bound pairwise sums could not be reproduced; these agree with them to
        // numpy's own rounding, and are the same on every run.
        let (m, sd) = mean_std_values(&parts, n);
        s.count = n as u64;
        s.mean = Some(m);
        s.std = sd;
        let le = |a: &f64, b: &f64| a.total_cmp(b).is_le();
        let sorted = parts.iter().all(|p| p.is_sorted_by(le))
            && parts.windows(2).all(|w| match (w[0].last(), w[1].first()) {
                (Some(a), Some(b)) => le(a, b),
                _ => true,
            });
        if sorted {
            let x = concat(parts);
            self.describe_sorted(s, n, |i| x[i], |i, j| x[i] == x[j], false);
        } else if let Some((p, lo, hi, neg_zeros)) = decimal_plan(&parts) {
            let span = (hi - lo) as u64 + 1;
            if span <= (n as u64).max(1 << 16) && n < u32::MAX as usize {
                // Decimals in a span no wider than the count: a count per integer (value x
                // 10^k), a byte each, and no sort. Each
                // integer gives its value back bit for bit, so distinct integers are distinct
                // values, in the same order.
                let mut counts = Counts::bytes(span as usize);
                for part in &parts {
                    for &v in part {
                        counts.bump((round_small(v * p) as i64 - lo) as usize);
                    }
                }
                drop(parts);
                let zero = (neg_zeros > 0).then(|| ((-lo) as usize, neg_zeros as u32));
                self.describe_dense(s, &counts, |i| (i as i64 + lo) as f64 / p, zero);
                return;
            }
            if neg_zeros > 0 {
                // -0.0 would come back as 0.0 from its integer: sorted as they are instead.
                return self.finish_sorted_bits(s, n, parts);
            }
            // Decimals: sorted as integers (value x 10^k), which span few bits.
            let mut keys: Vec<u64> = if parts.len() == 1 {
                parts.into_iter().flatten().map(|v| (round_small(v * p) as i64 - lo) as u64).collect()
            } else {
                let mut k = Vec::with_capacity(n);
                for part in parts {
                    k.extend(part.iter().map(|&v| (round_small(v * p) as i64 - lo) as u64));
                }
                k
            };
            radix_sort(&mut keys);
            self.describe_sorted(s, n, |i| (keys[i] as i64 + lo) as f64 / p, |i, j| keys[i] == keys[j], false);
        } else {
            self.finish_sorted_bits(s, n, parts);
        }
    }

    /// A numeric column's statistics from its keys.
    fn finish_keys(&self, s: &mut ColumnStats, k: Keys) {
        let n = k.len();
        if n == 0 {
            return;
        }
        let p = k.p;
        let mut parts = k.done;
        parts.push(k.cur);
        parts.retain(|x| !x.is_empty());
        // One pass: the span, whether in order, and the exact sums of the keys and their squares.
        let (mut lo, mut hi, mut sum, mut squares, mut sorted, mut rising, mut last) =
            (i32::MAX, i32::MIN, 0i128, 0u128, true, true, None);
        for part in &parts {
            for &x in part {
                lo = lo.min(x);
                hi = hi.max(x);
                sum += x as i128;
                squares += (x as i64 * x as i64) as u128;
                if let Some(l) = last {
                    sorted &= x >= l;
                    rising &= x > l;
                }
                last = Some(x);
            }
        }
        let (m, sd) = match mean_std_keys(sum, squares, n as u64, p) {
            Some(ms) => ms,
            // Past 2^32 values: the squares about the mean, in doubles (a part's sum at a time).
            None => {
                let m = sum as f64 / n as f64 / p;
                let ss: f64 = parts.iter().map(|x| x.iter().map(|&k| (k as f64 / p - m).powi(2)).sum::<f64>()).sum();
                (m, Some((ss / (n - 1) as f64).sqrt()))
            }
        };
        s.count = n as u64;
        s.mean = Some(m);
        s.std = sd;
        let span = (hi as i64 - lo as i64) as u64 + 1;
        let zero = (k.neg_zeros > 0).then(|| ((-(lo as i64)) as usize, k.neg_zeros as u32));
        if rising && k.neg_zeros == 0 {
            // Every key distinct, in order (an id): read where asked, in place.
            let key = |i: usize| {
                let (mut i, mut q) = (i, 0);
                while i >= parts[q].len() {
                    i -= parts[q].len();
                    q += 1;
                }
                parts[q][i]
            };
            return self.describe_sorted(s, n, |i| key(i) as f64 / p, |i, j| i == j, true);
        }
        if sorted && k.neg_zeros == 0 {
            let x = if parts.len() == 1 { parts.pop().unwrap_or_default() } else { parts.concat() };
            return self.describe_sorted(s, n, |i| x[i] as f64 / p, |i, j| x[i] == x[j], false);
        }
        if span <= (n as u64).max(1 << 16) && n < u32::MAX as usize {
            // A byte per count (a quarter of the memory to touch), the rest aside.
            let mut counts = Counts::bytes(span as usize);
            for part in &parts {
                for &x in part {
                    counts.bump((x as i64 - lo as i64) as usize);
                }
            }
            drop(parts);
            self.describe_dense(s, &counts, |i| (i as i64 + lo as i64) as f64 / p, zero);
            return;
        }
        let mut keys: Vec<u64> = Vec::with_capacity(n);
        for part in parts {
            keys.extend(part.iter().map(|&x| (x as i64 - lo as i64) as u64));
        }
        radix_sort(&mut keys);
        // -0.0 (kept as 0) first among the zeros.
        let z = (-(lo as i64)) as u64;
        let first_zero = if k.neg_zeros > 0 { keys.partition_point(|&x| x < z) } else { 0 };
        let neg = k.neg_zeros as usize;
        self.describe_sorted(
            s,
            n,
            |i| {
                if keys[i] == z && i < first_zero + neg {
                    -0.0
                } else {
                    (keys[i] as i64 + lo as i64) as f64 / p
                }
            },
            |i, j| keys[i] == keys[j],
            false,
        );
    }

    /// [`Column::finish_values`]'s last resort: every value sorted by its bits in total_cmp's order.
    fn finish_sorted_bits(&self, s: &mut ColumnStats, n: usize, parts: Vec<Vec<f64>>) {
        let mut keys: Vec<u64> = if parts.len() == 1 {
            parts.into_iter().flatten().map(sort_key).collect()
        } else {
            let mut k = Vec::with_capacity(n);
            for part in parts {
                k.extend(part.iter().map(|&v| sort_key(v)));
            }
            k
        };
        radix_sort(&mut keys);
        self.describe_sorted(s, n, |i| sort_unkey(keys[i]), |i, j| sort_unkey(keys[i]) == sort_unkey(keys[j]), false);
    }

    /// min, max, quartiles, distinct values, the most frequent and the histogram of `n` sorted
    /// values, the i-th given by `at`; `same(i, j)`: the i-th and j-th are equal (==);
    /// `distinct`: no two are (then neither is called for each value).
    fn describe_sorted(
        &self,
        s: &mut ColumnStats,
        n: usize,
        at: impl Fn(usize) -> f64,
        same: impl Fn(usize, usize) -> bool,
        distinct: bool,
    ) {
        let (lo, hi) = (at(0), at(n - 1));
        s.min = Some(lo);
        s.max = Some(hi);
        s.q25 = Some(quantile_at(n, 0.25, &at));
        s.q50 = Some(quantile_at(n, 0.5, &at));
        s.q75 = Some(quantile_at(n, 0.75, &at));
        if distinct {
            // Each once: the ten most frequent are the ten smallest.
            s.top = top_of((0..n.min(10)).map(|i| (at(i), 1)), self.all_int);
            s.distinct = n as u64;
        } else {
            self.runs_sorted(s, n, &at, &same);
        }
        self.histogram_sorted(s, n, lo, hi, &at);
    }

    /// [`Column::describe_sorted`]'s distinct values and the ten most frequent, in one pass.
    fn runs_sorted(
        &self,
        s: &mut ColumnStats,
        n: usize,
        at: &impl Fn(usize) -> f64,
        same: &impl Fn(usize, usize) -> bool,
    ) {
        let mut distinct = 0u64;
        let runs = std::iter::from_fn({
            let mut i = 0;
            move || {
                if i >= n {
                    return None;
                }
                let mut j = i + 1;
                while j < n && same(j, i) {
                    j += 1;
                }
                let run = (at(i), (j - i) as u64);
                i = j;
                Some(run)
            }
        })
        .inspect(|_| distinct += 1);
        s.top = top_of(runs, self.all_int);
        s.distinct = distinct;
    }

    /// [`Column::describe_sorted`]'s histogram: each bin's end by a binary search.
    fn histogram_sorted(&self, s: &mut ColumnStats, n: usize, lo: f64, hi: f64, at: &impl Fn(usize) -> f64) {
        if lo.is_finite() && hi.is_finite() {
            let edges = drift::histogram(&[lo, hi], 10).edges;
            // The bins are in the values' order: each bin's end by a binary search.
            let mut counts = vec![0u64; 10];
            let mut start = 0;
            for (b, c) in counts.iter_mut().enumerate() {
                let end = if b == 9 {
                    n
                } else {
                    let (mut l, mut r) = (start, n);
                    while l < r {
                        let mid = l + (r - l) / 2;
                        if bin_of(at(mid), &edges) <= b {
                            l = mid + 1;
                        } else {
                            r = mid;
                        }
                    }
                    l
                };
                *c = (end - start) as u64;
                start = end;
            }
            s.histogram = Some(Histogram { edges, counts });
        }
    }
}

/// A count per index: `low` each (a u32, or a byte with `high` the rest, `high` empty until a
/// count first passes 255).
struct Counts<C> {
    low: Vec<C>,
    high: Vec<u32>,
}

impl Counts<u32> {
    fn wide(counts: Vec<u32>) -> Counts<u32> {
        Counts { low: counts, high: Vec::new() }
    }
}

impl Counts<u8> {
    /// `len` counts of 0, a byte each.
    fn bytes(len: usize) -> Counts<u8> {
        Counts { low: vec![0; len], high: Vec::new() }
    }

    #[inline(always)]
    fn bump(&mut self, i: usize) {
        let c = &mut self.low[i];
        *c = c.wrapping_add(1);
        if *c == 0 {
            self.carry(i);
        }
    }

    #[cold]
    fn carry(&mut self, i: usize) {
        if self.high.is_empty() {
            self.high = vec![0; self.low.len()];
        }
        self.high[i] += 1;
    }
}

impl<C: Copy + Into<u32>> Counts<C> {
    #[inline(always)]
    fn get(&self, i: usize) -> u32 {
        let c: u32 = self.low[i].into();
        if self.high.is_empty() {
            c
        } else {
            c + (self.high[i] << 8)
        }
    }
}

fn concat(parts: Vec<Vec<f64>>) -> Vec<f64> {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_default();
    }
    let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for p in parts {
        all.extend_from_slice(&p);
    }
    all
}

/// Whether the values are all decimals with at most k digits after the point (k <= 9, guessed
/// from a sample): then 10^k, the smallest and largest value x 10^k, and how many are -0.0. Each
/// value but -0.0 must come back bit for bit from its integer (so NaN and infinities never do).
fn decimal_plan(parts: &[Vec<f64>]) -> Option<(f64, i64, i64, u64)> {
    let n: usize = parts.iter().map(Vec::len).sum();
    let step = (n / 1024).max(1);
    let p = SCALES
        .into_iter()
        .find(|&p| parts.iter().all(|x| x.iter().step_by(step).all(|&v| Dense::key(v, p).is_some())))?;
    let (mut lo, mut hi, mut neg_zeros) = (i64::MAX, i64::MIN, 0u64);
    for x in parts {
        for &v in x {
            let k = Dense::key(v, p)?;
            neg_zeros += (v.to_bits() == (-0.0f64).to_bits()) as u64;
            lo = lo.min(k);
            hi = hi.max(k);
        }
    }
    Some((p, lo, hi, neg_zeros))
}

/// The ten most frequent of runs of equal values in ascending order (by count, then the smaller
/// value), keeping only ten as it goes.
fn top_of(runs: impl Iterator<Item = (f64, u64)>, int: bool) -> Vec<(Value, u64)> {
    let better = |a: &(f64, u64), b: &(f64, u64)| a.1 > b.1 || (a.1 == b.1 && a.0.total_cmp(&b.0).is_lt());
    let mut top: Vec<(f64, u64)> = Vec::with_capacity(11);
    for run in runs {
        if top.len() < 10 || better(&run, &top[top.len() - 1]) {
            let at = top.iter().position(|t| better(&run, t)).unwrap_or(top.len());
            top.insert(at, run);
            top.truncate(10);
        }
    }
    top.into_iter().map(|(v, n)| (super::cell_json(&Cell::Num(v, int)), n)).collect()
}

/// The bin of `v` (finite, within the edges) as `numpy.histogram` puts it, for edges from
/// `drift::histogram`: the same arithmetic, so the same bin. Monotone in `v`.
#[inline]
fn bin_of(v: f64, edges: &[f64]) -> usize {
    let bins = edges.len() - 1;
    let (first, last) = (edges[0], edges[bins]);
    let f = ((v - first) / (last - first)) * bins as f64;
    let mut idx = (f as usize).min(bins - 1);
    if v < edges[idx] && idx > 0 {
        idx -= 1;
    }
    if v >= edges[idx + 1] && idx != bins - 1 {
        idx += 1;
    }
    idx
}

/// `numpy.quantile(x, q)` (linear) of `n` sorted values, the k-th given by `at` (as
/// `drift::quantile_sorted`, which it must equal).
fn quantile_at(n: usize, q: f64, at: impl Fn(usize) -> f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let virtual_index = (n - 1) as f64 * q;
    let (prev, next) = if virtual_index.is_nan() || virtual_index >= (n - 1) as f64 {
        (n as i64 - 1, n as i64 - 1)
    } else if virtual_index < 0.0 {
        (0, 0)
    } else {
        let p = virtual_index.floor() as i64;
        (p, p + 1)
    };
    let prev_for_gamma = if virtual_index.is_nan() || virtual_index >= (n - 1) as f64 { -1 } else { prev };
    let gamma = virtual_index - prev_for_gamma as f64;
    let a = at(prev as usize);
    let b = if next == prev { a } else { at(next as usize) };
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Mean and std (ddof 1) of values given with their counts (`n` in all): each square
/// `(x - mean)^2` as numpy computes it, the sums in twice the precision (so within numpy's own
/// rounding of its pairwise sums).
fn mean_std_counted(e: &[(f64, u64)], n: u64) -> (f64, Option<f64>) {
    mean_std_of(e.iter().copied(), n)
}

/// [`mean_std_counted`] of the values and counts an iterator gives.
fn mean_std_of(e: impl Iterator<Item = (f64, u64)> + Clone, n: u64) -> (f64, Option<f64>) {
    let m = dot2(e.clone()) / n as f64;
    if n < 2 {
        return (m, None);
    }
    let ss = dot2(e.map(|(x, c)| {
        let d = x - m;
        (d * d, c)
    }));
    (m, Some((ss / (n - 1) as f64).sqrt()))
}

/// Σ x·c in double-double arithmetic (Ogita, Rump and Oishi's Dot2), or plainly when a term is
/// not finite (infinities and NaN as numpy's sum has them).
fn dot2(terms: impl Iterator<Item = (f64, u64)> + Clone) -> f64 {
    if terms.clone().any(|(x, _)| !x.is_finite()) {
        return terms.fold(0.0, |a, (x, c)| a + x * c as f64);
    }
    let (mut s, mut err) = (0.0f64, 0.0f64);
    for (x, c) in terms {
        let c = c as f64;
        let p = x * c;
        let pe = x.mul_add(c, -p);
        let t = s + p;
        let z = t - s;
        err += (s - (t - z)) + (p - z) + pe;
        s = t;
    }
    s + err
}

/// Mean and std (ddof 1) of `n` (> 0) values k / p from the exact sums of the keys k (each below
/// 2^31 in size) and of their squares: the exact results rounded a few times, so within numpy's
/// own rounding of its sums, and the same in any order. None past 2^32 values.
fn mean_std_keys(sum: i128, squares: u128, n: u64, p: f64) -> Option<(f64, Option<f64>)> {
    if n >= 1 << 32 {
        return None;
    }
    let m = sum as f64 / n as f64 / p;
    if n < 2 {
        return Some((m, None));
    }
    // n Σk² - (Σk)² is n² times the variance of the keys (ddof 0): exact below 2^127, never
    // negative.
    let spread = (n as i128 * squares as i128 - sum * sum) as f64;
    Some((m, Some((spread / (n as f64 * (n - 1) as f64)).sqrt() / p)))
}

/// Mean and std (ddof 1) of values in parts (`n` in all), as [`mean_std_counted`] computes them:
/// the result does not depend on the values' order.
fn mean_std_values(parts: &[Vec<f64>], n: usize) -> (f64, Option<f64>) {
    let m = sum2(parts, |x| x) / n as f64;
    if n < 2 {
        return (m, None);
    }
    let ss = sum2(parts, |x| {
        let d = x - m;
        d * d
    });
    (m, Some((ss / (n - 1) as f64).sqrt()))
}

/// Σ f(x) over the parts in double-double arithmetic, as [`dot2`] with unit counts but in four
/// lanes (each a running sum and its error, joined in a fixed order), so the additions do not
/// wait on each other; plainly when a term or the sum is not finite.
fn sum2(parts: &[Vec<f64>], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    let (mut s, mut e) = ([0.0f64; 4], [0.0f64; 4]);
    #[inline(always)]
    fn add(s: &mut f64, e: &mut f64, x: f64) {
        let t = *s + x;
        let z = t - *s;
        *e += (*s - (t - z)) + (x - z);
        *s = t;
    }
    for p in parts {
        let mut quads = p.chunks_exact(4);
        for q in &mut quads {
            for l in 0..4 {
                add(&mut s[l], &mut e[l], f(q[l]));
            }
        }
        for &x in quads.remainder() {
            add(&mut s[0], &mut e[0], f(x));
        }
    }
    if s.iter().chain(&e).any(|v| !v.is_finite()) {
        return parts.iter().flat_map(|p| p.iter()).fold(0.0, |a, &x| a + f(x));
    }
    let (mut total, mut err) = (s[0], e[0]);
    for l in 1..4 {
        add(&mut total, &mut err, s[l]);
        err += e[l];
    }
    total + err
}

#[cfg(test)]
/// Mean and std (ddof 1) as pandas computes them: numpy's pairwise sums in the values' order,
/// the values given in parts (`n` in all) summed as the one array they make.
fn mean_std_parts(parts: &[&[f64]], n: usize) -> (f64, Option<f64>) {
    let m = sum_parts(parts, n, |v| v) / n as f64;
    if n < 2 {
        return (m, None);
    }
    (m, Some((sum_parts(parts, n, |v| (v - m) * (v - m)) / (n - 1) as f64).sqrt()))
}

#[cfg(test)]
/// [`sum_map`] of the array the parts make, without making it.
fn sum_parts(parts: &[&[f64]], n: usize, f: impl Fn(f64) -> f64 + Copy) -> f64 {
    fn rec(parts: &[&[f64]], off: usize, len: usize, f: impl Fn(f64) -> f64 + Copy) -> f64 {
        if len <= 128 {
            // The block: inside one part, or gathered from two.
            let mut start = 0;
            for p in parts {
                if off >= start && off + len <= start + p.len() {
                    return sum_map(&p[off - start..off - start + len], f);
                }
                start += p.len();
            }
            let mut buf = [0.0f64; 128];
            for (k, b) in buf[..len].iter_mut().enumerate() {
                let mut at = off + k;
                for p in parts {
                    if at < p.len() {
                        *b = p[at];
                        break;
                    }
                    at -= p.len();
                }
            }
            return sum_map(&buf[..len], f);
        }
        let mut n2 = len / 2;
        n2 -= n2 % 8;
        rec(parts, off, n2, f) + rec(parts, off + n2, len - n2, f)
    }
    rec(parts, 0, n, f)
}

#[cfg(test)]
/// numpy's sum of `f(x)`: pairwise summation in blocks of 8, as `np.add.reduce` does on a
/// contiguous array (numpy sums the mapped array; the same values, the same order).
fn sum_map(x: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    fn pairwise(x: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
        if x.len() < 8 {
            return x.iter().fold(0.0, |a, &b| a + f(b));
        }
        if x.len() <= 128 {
            let mut r = [0.0f64; 8];
            for k in 0..8 {
                r[k] = f(x[k]);
            }
            let mut i = 8;
            while i + 8 <= x.len() {
                for k in 0..8 {
                    r[k] += f(x[i + k]);
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for &v in &x[i..] {
                res += f(v);
            }
            return res;
        }
        let mut n2 = x.len() / 2;
        n2 -= n2 % 8;
        pairwise(&x[..n2], f) + pairwise(&x[n2..], f)
    }
    pairwise(x, f)
}

/// [`finish_all_with`] without a hand-over.
#[cfg(test)]
pub(crate) fn finish_all(cols: Vec<Column>, names: &[String]) -> Vec<ColumnStats> {
    finish_all_with(cols, names, &mut |_, _| {})
}

/// Finishes every column on two threads (each column's sort is independent), handing each to
/// `on_done` (its index, its statistics) as soon as it is finished; this thread hands over.
pub(crate) fn finish_all_with(
    cols: Vec<Column>,
    names: &[String],
    on_done: &mut dyn FnMut(usize, &ColumnStats),
) -> Vec<ColumnStats> {
    let mut jobs: Vec<(usize, Column)> = cols.into_iter().enumerate().collect();
    // The biggest first, each to the thread with less so far.
    jobs.sort_by_key(|(_, c)| std::cmp::Reverse(c.weight()));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut wa, mut wb) = (0usize, 0usize);
    for j in jobs {
        let w = j.1.weight() + 1;
        if wa <= wb {
            wa += w;
            a.push(j)
        } else {
            wb += w;
            b.push(j)
        }
    }
    let (tx, rx) = std::sync::mpsc::channel::<(usize, ColumnStats)>();
    let mut out: Vec<(usize, ColumnStats)> = Vec::with_capacity(names.len());
    std::thread::scope(|sc| {
        for jobs in [a, b] {
            let tx = tx.clone();
            sc.spawn(move || {
                for (i, c) in jobs {
                    if tx.send((i, c.finish(names.get(i).map(String::as_str).unwrap_or("")))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for (i, s) in rx {
            on_done(i, &s);
            out.push((i, s));
        }
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, s)| s).collect()
}

/// total_cmp's order as unsigned integers: flip every bit of negatives, the sign bit of the rest.
#[inline(always)]
fn sort_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

#[inline(always)]
fn sort_unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Sorts as `f64::total_cmp` does, by an LSD radix sort of the values' ordered bit patterns (six
/// passes of 11 bits, a pass skipped when every value has the same digit): several times faster
/// than a comparison sort on millions of values.
pub(crate) fn sort_f64(x: &mut [f64]) {
    if x.len() < 1 << 12 {
        x.sort_unstable_by(f64::total_cmp);
        return;
    }
    let mut a: Vec<u64> = x.iter().map(|&v| sort_key(v)).collect();
    radix_sort(&mut a);
    for (v, k) in x.iter_mut().zip(a) {
        *v = sort_unkey(k);
    }
}

/// An LSD radix sort of u64 keys: only the bits some key has set, in digits of at most 12 bits,
/// every digit's counts in one first pass, a pass skipped when every key has the same digit.
fn radix_sort(a: &mut Vec<u64>) {
    let bits = 64 - a.iter().fold(0u64, |o, &k| o | k).leading_zeros();
    if bits == 0 {
        return;
    }
    let passes = bits.div_ceil(12);
    let width = bits.div_ceil(passes);
    let mask = (1u64 << width) - 1;
    let mut counts = vec![vec![0usize; 1 << width]; passes as usize];
    for &k in a.iter() {
        for (p, c) in counts.iter_mut().enumerate() {
            c[((k >> (p as u32 * width)) & mask) as usize] += 1;
        }
    }
    let mut b: Vec<u64> = Vec::new();
    for (pass, c) in counts.iter_mut().enumerate() {
        if c.contains(&a.len()) {
            continue;
        }
        if b.is_empty() {
            b = vec![0; a.len()];
        }
        let shift = pass as u32 * width;
        let mut sum = 0;
        for c in c.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        for &k in a.iter() {
            let d = ((k >> shift) & mask) as usize;
            b[c[d]] = k;
            c[d] += 1;
        }
        std::mem::swap(a, &mut b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_texts_head_is_its_first_16_bytes_zero_padded() {
        let text: Vec<u8> = (1..=20).collect();
        for n in 0..=20 {
            let mut w = [0u8; 16];
            w[..n.min(16)].copy_from_slice(&text[..n.min(16)]);
            let want = [u64::from_le_bytes(w[..8].try_into().unwrap()), u64::from_le_bytes(w[8..].try_into().unwrap())];
            assert_eq!(text_head(&text[..n]), want, "{n} bytes");
        }
    }

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
        let decimals: Vec<f64> = (0..50_000).map(|i| (((i * 7919) % 20_011) as i64 - 10_000) as f64 / 1000.0).collect();
        let mut want_d = decimals.clone();
        want_d.sort_by(f64::total_cmp);
        let (p, lo, _, _) = decimal_plan(std::slice::from_ref(&decimals)).expect("decimals");
        let mut keys: Vec<u64> = decimals.iter().map(|&v| (round_small(v * p) as i64 - lo) as u64).collect();
        radix_sort(&mut keys);
        assert!(keys.iter().zip(&want_d).all(|(&k, b)| ((k as i64 + lo) as f64 / p).to_bits() == b.to_bits()));
        assert!(decimal_plan(std::slice::from_ref(&x)).is_none());
        super::sort_f64(&mut x);
        assert!(x.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[cfg(test)]
mod against_numpy {
    use super::*;

    /// The statistics as the code before count maps computed them (numpy's way, every value
    /// sorted), for a column of numbers.
    fn reference(x: &[f64], int: bool) -> ColumnStats {
        let (m, sd) = mean_std_parts(&[x], x.len());
        let mut sorted = x.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut runs: Vec<(f64, u64)> = Vec::new();
        for &v in &sorted {
            match runs.last_mut() {
                Some(r) if r.0 == v => r.1 += 1,
                _ => runs.push((v, 1)),
            }
        }
        let h = sorted.iter().all(|v| v.is_finite()).then(|| drift::histogram(x, 10));
        ColumnStats {
            name: "x".into(),
            kind: if int { "integer" } else { "float" }.into(),
            count: x.len() as u64,
            nulls: 0,
            min: sorted.first().copied(),
            max: sorted.last().copied(),
            mean: Some(m),
            std: sd,
            q25: Some(drift::quantile_sorted(&sorted, 0.25)),
            q50: Some(drift::quantile_sorted(&sorted, 0.5)),
            q75: Some(drift::quantile_sorted(&sorted, 0.75)),
            distinct: runs.len() as u64,
            top: top_of(runs.into_iter(), int),
            histogram: h.map(|h| Histogram { edges: h.edges, counts: h.counts }),
        }
    }

    /// `got` is `want`, but mean and std, which need only agree to 1e-12.
    fn assert_as_numpy(got: &ColumnStats, want: &ColumnStats) {
        let close = |p: Option<f64>, q: Option<f64>| match (p, q) {
            (Some(p), Some(q)) => p == q || (p - q).abs() <= 1e-12 * q.abs() || (p.is_nan() && q.is_nan()),
            (p, q) => p == q,
        };
        assert!(close(got.mean, want.mean) && close(got.std, want.std), "{got:?} vs {want:?}");
        let strip = |c: &ColumnStats| format!("{:?}", ColumnStats { mean: None, std: None, ..c.clone() });
        assert_eq!(strip(got), strip(want));
    }

    /// How a column of these numbers is kept once read.
    fn mode_of(x: &[f64]) -> &'static str {
        let mut c = Column::new();
        x.iter().for_each(|&v| c.push_num(v, false));
        c.nums.mode()
    }

    fn check(x: &[f64], int: bool) {
        let mut c = Column::new();
        for &v in x {
            c.push_num(v, int);
        }
        assert_as_numpy(&c.finish("x"), &reference(x, int));
    }

    /// [`check`] on a column read as two parts (as two threads read it) and merged.
    fn check_merged(x: &[f64], k: usize) -> (&'static str, &'static str) {
        let (mut a, mut b) = (Column::new(), Column::new());
        x[..k].iter().for_each(|&v| a.push_num(v, false));
        x[k..].iter().for_each(|&v| b.push_num(v, false));
        let modes = (a.nums.mode(), b.nums.mode());
        a.merge(b);
        assert_as_numpy(&a.finish("x"), &reference(x, false));
        modes
    }

    #[test]
    fn narrow_decimals_are_counted_per_integer() {
        // Many distinct decimals in a narrow span: counted per integer, the span growing both
        // ways (ascending, then descending values).
        let narrow: Vec<f64> = (0..60_000).map(|i| (((i * 7919) % 20_000) as i64 - 5000) as f64 / 100.0).collect();
        assert_eq!(mode_of(&narrow), "dense");
        check(&narrow, false);
        let up: Vec<f64> = (0..30_000).map(|i| i as f64 / 100.0).collect();
        let down: Vec<f64> = up.iter().rev().copied().collect();
        assert_eq!((mode_of(&up), mode_of(&down)), ("dense", "dense"));
        check(&up, false);
        check(&down, false);
        // -0.0 among them.
        let mut z = narrow.clone();
        for i in (5000..z.len()).step_by(700) {
            z[i] = -0.0;
        }
        assert_eq!(mode_of(&z), "dense");
        check(&z, false);
        // Values the counts cannot hold: the span too wide, a value with more digits, NaN and
        // infinity; each kept as values from then on.
        let mut wide = narrow.clone();
        wide.extend((0..100).map(|i| i as f64 * 1e4));
        let mut digits = narrow.clone();
        digits.push(1.0 / 3.0);
        let mut inf = narrow.clone();
        inf.push(f64::INFINITY);
        assert_eq!(mode_of(&wide), "keys");
        check(&wide, false);
        for x in [&digits, &inf] {
            assert_eq!(mode_of(x), "values");
            check(x, false);
        }
        let mut nan = narrow.clone();
        nan.push(f64::NAN);
        assert_eq!(mode_of(&nan), "values");
        // Two parts merged: dense and dense (the same scale, then not), dense and a count map
        // both ways, dense and values.
        assert_eq!(check_merged(&narrow, 30_000), ("dense", "dense"));
        let mut scales = narrow.clone();
        scales.extend((0..20_000).map(|i| (2 * i + 1) as f64 / 1e4));
        assert_eq!(check_merged(&scales, 60_000), ("dense", "dense"));
        assert_eq!(check_merged(&narrow, 59_000), ("dense", "map"));
        let mut late = narrow[..1000].to_vec();
        late.extend_from_slice(&narrow);
        assert_eq!(check_merged(&late, 1000), ("map", "dense"));
        assert_eq!(check_merged(&wide, 60_000), ("dense", "map"));
        let mut spread: Vec<f64> = narrow.clone();
        spread.extend((0..70_000).map(|i| i as f64 * 1e3));
        assert_eq!(check_merged(&spread, 60_000), ("dense", "keys"));
    }

    /// [`check`] of numbers read from their text, as the CSV scan reads them (the quick
    /// numbers as [`Dec`]s); the column's mode at the end.
    fn check_texts(texts: &[String]) -> &'static str {
        let mut c = Column::new();
        let mut x = Vec::new();
        let mut int = true;
        for t in texts {
            match super::super::scan::kind_of(t.as_bytes()).unwrap() {
                super::super::scan::Kind::Dec(d) => {
                    c.push_dec(d);
                    x.push(d.value());
                    int &= d.frac == 0;
                }
                super::super::scan::Kind::Num(f, i) => {
                    c.push_num(f, i);
                    x.push(f);
                    int &= i;
                }
                _ => panic!("{t:?} is not a number"),
            }
        }
        let mode = c.nums.mode();
        assert_as_numpy(&c.finish("x"), &reference(&x, int));
        mode
    }

    #[test]
    fn wide_decimals_are_kept_as_32_bit_integers() {
        let mut seed = 5u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        // Many distinct decimals in a span wider than their count (sorted as integers), and in
        // one narrower (counted), with -0.0 among them in both.
        let n = 400_000;
        let wide: Vec<f64> = (0..n).map(|_| ((next() % 10_000_000) as i64 - 5_000_000) as f64 / 1e6).collect();
        let narrow: Vec<f64> = (0..n).map(|_| ((next() % 300_000) as i64 - 20_000) as f64 / 1e3).collect();
        for x in [&wide, &narrow] {
            assert_eq!(mode_of(x), "keys");
            check(x, false);
            let mut z = x.clone();
            for i in (0..n).step_by(997) {
                z[i] = -0.0;
            }
            z[70_000] = 0.0;
            assert_eq!(mode_of(&z), "keys");
            check(&z, false);
        }
        // A value more frequent than a count's first byte holds (counted past 255).
        let mut heavy = narrow.clone();
        heavy.extend(std::iter::repeat_n(1.5, 700));
        assert_eq!(mode_of(&heavy), "keys");
        check(&heavy, false);
        // Decimals whose integers pass 32 bits are kept as doubles, and counted when finished
        // (a value past 255 times too).
        let mut big: Vec<f64> = (0..n).map(|_| (3_000_000_000 + (next() % 300_000) as i64) as f64 / 1e3).collect();
        big.extend(std::iter::repeat_n(3_000_100.5, 700));
        assert_eq!(mode_of(&big), "values");
        check(&big, false);
        // Ascending integers (an id): kept in order, not counted.
        let id: Vec<f64> = (0..n).map(|i| i as f64).collect();
        assert_eq!(mode_of(&id), "keys");
        check(&id, true);
        // What 32 bits at the scale cannot hold: kept as values from then on.
        for bad in [1e10, 1.0 / 3.0, 0.1234567, f64::INFINITY, f64::NAN] {
            let mut x = wide.clone();
            x.push(bad);
            x.extend_from_slice(&narrow[..100]);
            assert_eq!(mode_of(&x), "values", "{bad}");
            if !bad.is_nan() {
                check(&x, false);
            }
        }
        // Read from text (by integer arithmetic): integers and shorter decimals at a finer
        // scale, -0 (0.0) and -0.0, a number past 32 bits and one written otherwise.
        let texts = |x: &[f64], digits: usize| x.iter().map(|v| format!("{v:.digits$}")).collect::<Vec<_>>();
        assert_eq!(check_texts(&texts(&wide, 6)), "keys");
        let mut t = texts(&narrow, 3);
        for (i, extra) in ["7", "-3", "2.5", "-0", "-0.0", "-0.000", "0.10", "-12.75"].iter().enumerate() {
            t[300_000 + 37 * i] = extra.to_string();
        }
        t.extend(t[..70_000].to_vec());
        // Zero the most frequent value, -0.0 first among them (so shown as the top value).
        for i in 0..60 {
            t[310_000 + 101 * i] = ["-0.0", "0", "0.00"][i % 3].to_string();
        }
        assert_eq!(check_texts(&t), "keys");
        let mut past = t.clone();
        past.push("3000000.5".into());
        assert_eq!(check_texts(&past), "values");
        let mut other = t.clone();
        other.push("1e2".into());
        other.push("+4".into());
        assert_eq!(check_texts(&other), "keys");
        let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        assert_eq!(check_texts(&ids), "keys");
        // Counted per integer from text: decimals in a narrow span with -0.0 the most frequent,
        // and a few small integers.
        let mut dt: Vec<String> =
            (0..100_000).map(|i| format!("{:.2}", (((i * 7919) % 20_000) - 5000) as f64 / 100.0)).collect();
        for i in 0..90 {
            dt[50_000 + 101 * i] = ["-0.0", "0", "-0.00", "1.5", "-3"][i % 5].to_string();
        }
        assert_eq!(check_texts(&dt), "dense");
        let small: Vec<String> = (0..10_000).map(|_| (next() % 12).to_string()).collect();
        assert_eq!(check_texts(&small), "dense");
        // Two parts merged: keys and keys (the same scale, then not), keys with a count map and
        // with counts per integer both ways, keys and values both ways.
        assert_eq!(check_merged(&wide, n / 2), ("keys", "keys"));
        let mut scales = wide.clone();
        scales.extend((0..n).map(|_| ((next() % 300_000) as i64 - 20_000) as f64 / 1e2));
        assert_eq!(check_merged(&scales, n), ("keys", "keys"));
        let mut few = wide.clone();
        few.extend_from_slice(&narrow[..500]);
        assert_eq!(check_merged(&few, n), ("keys", "map"));
        let mut first_few = narrow[..500].to_vec();
        first_few.extend_from_slice(&wide);
        assert_eq!(check_merged(&first_few, 500), ("map", "keys"));
        let dense: Vec<f64> = (0..60_000).map(|i| ((i * 7919) % 20_000) as f64 / 100.0).collect();
        let mut d = dense.clone();
        d.extend_from_slice(&narrow);
        assert_eq!(check_merged(&d, 60_000), ("dense", "keys"));
        let mut d = narrow.clone();
        d.extend_from_slice(&dense);
        assert_eq!(check_merged(&d, n), ("keys", "dense"));
        let thirds: Vec<f64> = (0..n).map(|i| i as f64 / 3.0).collect();
        let mut v = wide.clone();
        v.extend_from_slice(&thirds);
        assert_eq!(check_merged(&v, n), ("keys", "values"));
        let mut v = thirds.clone();
        v.extend_from_slice(&wide);
        assert_eq!(check_merged(&v, n), ("values", "keys"));
    }

    #[test]
    fn counted_and_kept_values_give_numpys_statistics() {
        let mut seed = 3u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        // At the limit of distinct values, one under and one past it.
        for distinct in [MAP_LIMIT - 1, MAP_LIMIT, MAP_LIMIT + 1] {
            let x: Vec<f64> = (0..distinct * 2).map(|i| ((i * 7919) % distinct) as f64 / 100.0 - 50.0).collect();
            check(&x, false);
        }
        check(&(0..200_000).map(|i| (i % 1000) as f64).collect::<Vec<_>>(), true);
        // Signed zeros, infinities, huge values, ties for the most frequent.
        check(&[0.0, -0.0, 1.0, -0.0, 2.0, 2.0, 1.0], false);
        check(&[1.0, f64::INFINITY, 3.0, f64::NEG_INFINITY, 3.0], false);
        check(&[1e300, 1e300, -1e300, 5.0], false);
        check(&[7.0], true);
        let x: Vec<f64> = (0..100_000).map(|_| (next() % 5000) as f64 / 8.0 - 100.0).collect();
        check(&x, false);
        let x: Vec<f64> = (0..100_000).map(|_| f64::from_bits(next() << 20 | 0x3ff0_0000_0000_0000)).collect();
        check(&x, false);
        // Decimals past the limit counted per integer (value x 10^k) when their span is at most
        // their count: span == count (shuffled, negative, two decimals), span == count + 1 (sorted
        // as integers instead), integers shuffled (an id), ties for the most frequent.
        let m = MAP_LIMIT + 10;
        let x: Vec<f64> = (0..m).map(|i| (((i * 7919) % m) as i64 - 40_000) as f64 / 100.0).collect();
        check(&x, false);
        let mut y = x.clone();
        let at = y.iter().position(|&v| v == 0.0).unwrap();
        y[at] = (m as i64 - 40_000) as f64 / 100.0;
        check(&y, false);
        check(&(0..m).map(|i| ((i * 7919) % m) as f64).collect::<Vec<_>>(), true);
        let z: Vec<f64> = (0..300_000).map(|_| (next() % 90_001) as f64 / 1e5).collect();
        check(&z, false);
        let w: Vec<f64> = (0..m * 3).map(|i| (((i * 104_729) % (m * 2)) as i64 - 70_000) as f64 / 1e3).collect();
        check(&w, false);
        // -0.0 among them (as pandas writes a tiny negative rounded): counted with 0.0, first in
        // its run; at the lowest and the highest index too, and past the count (sorted instead).
        let mut v = w.clone();
        for i in (0..v.len()).step_by(1000) {
            v[i] = -0.0;
        }
        check(&v, false);
        let low: Vec<f64> = (0..m * 2).map(|i| if i % 3 == 0 { -0.0 } else { (i % m) as f64 / 1e2 }).collect();
        check(&low, false);
        let high: Vec<f64> = (0..m * 2).map(|i| if i % 3 == 0 { 0.0 } else { -((i % m) as f64) / 1e2 }).collect();
        let mut high = high;
        high[1] = -0.0;
        check(&high, false);
        let only_neg: Vec<f64> = (0..m * 2).map(|i| if i % 3 == 0 { -0.0 } else { -((i % m) as f64) / 1e2 }).collect();
        check(&only_neg, false);
        // The median between the last -0.0 and the first 0.0 (numpy gives 0.0 there).
        let mut mid: Vec<f64> = (1..=m).map(|i| i as f64 / 1e2).collect();
        mid.extend(std::iter::repeat_n(0.0, 5));
        mid.extend(std::iter::repeat_n(-0.0, m + 5));
        check(&mid, false);
        let wide: Vec<f64> =
            (0..m * 2).map(|i| if i % 5 == 0 { -0.0 } else { (i * 7919 % (m * 4)) as f64 / 1e2 }).collect();
        check(&wide, false);
        // A number between the quartiles' neighbours: quantile_at is drift::quantile_sorted.
        for n in 1..40 {
            let x: Vec<f64> = (0..n).map(|i| (i * i) as f64 / 3.0).collect();
            for q in [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0] {
                assert_eq!(quantile_at(n, q, |i| x[i]).to_bits(), drift::quantile_sorted(&x, q).to_bits());
            }
        }
    }
}
