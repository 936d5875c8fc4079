//! How a numeric column's values are kept while it is read (for [`super::stats::Column`]): a
//! count per distinct value while there are few ([`NumMap`]), decimals of a narrow span as a count
//! per integer ([`Dense`]), then every value in the order read: decimals as 32-bit integers at one
//! scale ([`Keys`]), others as doubles. The CSV scan hands numbers over in their digits
//! ([`Dec`]), which are counted and kept by integer arithmetic.

use super::scan::Dec;
use super::stats::hash_seed;

/// Past this many distinct values a numeric column keeps its values instead of a count per value.
pub(crate) const MAP_LIMIT: usize = 1 << 16;

/// A column's values are kept in parts of this many (8 MiB), never copied to grow.
pub(super) const PART: usize = 1 << 20;

/// A count per distinct f64 (by its bits), open addressing with linear probing; a slot whose
/// count is 0 is empty. NaN is never a key (a column holding one keeps its values instead).
#[derive(Clone)]
pub(crate) struct NumMap {
    pub(super) slots: Vec<(u64, u64)>,
    pub(super) len: usize,
    pub(super) shift: u32,
}

impl Default for NumMap {
    fn default() -> Self {
        NumMap { slots: vec![(0, 0); 64], len: 0, shift: 64 - 6 }
    }
}

impl NumMap {
    #[inline(always)]
    pub(super) fn slot(&self, k: u64) -> usize {
        let k = k ^ hash_seed();
        ((k ^ (k >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Adds `n` (> 0) to `k`'s count.
    #[inline(always)]
    pub(crate) fn add(&mut self, k: u64, n: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(k);
        loop {
            let s = &mut self.slots[i];
            if s.1 == 0 {
                *s = (k, n);
                self.len += 1;
                if self.len * 2 > self.slots.len() {
                    self.grow();
                }
                return;
            }
            if s.0 == k {
                s.1 += n;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    pub(super) fn grow(&mut self) {
        let old = std::mem::replace(&mut self.slots, vec![(0, 0); 0]);
        self.slots = vec![(0, 0); old.len() * 2];
        self.shift -= 1;
        self.len = 0;
        for (k, n) in old {
            if n > 0 {
                self.add(k, n);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn entries(&self) -> impl Iterator<Item = (f64, u64)> + Clone + '_ {
        self.slots.iter().filter(|s| s.1 > 0).map(|&(k, n)| (f64::from_bits(k), n))
    }
}

/// Decimals of at most k digits after the point in a narrow span of integers (value x 10^k): a
/// count per integer from `lo`, 4 bytes each, small enough to stay in the CPU's cache (a count
/// map of as many values would not). Each value comes back bit for bit from its integer (so
/// distinct integers are distinct values, in the same order), but -0.0, counted with 0.0 and
/// by itself in `neg_zeros`.
#[derive(Clone)]
pub(crate) struct Dense {
    /// 10^k.
    pub(super) p: f64,
    pub(super) k: u32,
    pub(super) lo: i64,
    pub(super) counts: Vec<u32>,
    pub(super) n: u64,
    pub(super) neg_zeros: u64,
}

/// The scales 10^k (k <= 9) at which decimals are counted per integer, smallest first.
pub(super) const SCALES: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// The scales as integers.
pub(super) const POW10_U64: [u64; 10] =
    [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// A count map of this many distinct values (and each power of two past it) is counted per
/// integer when its span is narrow: at most [`DENSE_SPAN`], and 8 slots per value.
pub(super) const DENSE_FROM: usize = 1 << 3;

/// The widest span counted per integer while reading (1 MiB of counts).
pub(super) const DENSE_SPAN: u64 = 1 << 18;

impl Dense {
    /// `v`'s integer at scale `p` when `v` comes back from it bit for bit (-0.0 as 0).
    #[inline(always)]
    pub(super) fn key(v: f64, p: f64) -> Option<i64> {
        let x = v * p;
        if x.is_nan() || x.abs() >= (1u64 << 50) as f64 {
            return None;
        }
        let r = round_small(x);
        ((r / p).to_bits() == v.to_bits() || v == 0.0).then_some(r as i64)
    }

    /// A count map's values counted per integer, when they are all decimals at one scale in a
    /// span of at most `max_span`.
    pub(super) fn of_map(m: &NumMap, max_span: u64) -> Option<Dense> {
        let k = SCALES.iter().position(|&p| m.entries().all(|(x, _)| Dense::key(x, p).is_some()))?;
        let p = SCALES[k];
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (x, _) in m.entries() {
            let k = Dense::key(x, p)?;
            lo = lo.min(k);
            hi = hi.max(k);
        }
        if lo > hi || (hi - lo) as u64 + 1 > max_span {
            return None;
        }
        let mut d = Dense { p, k: k as u32, lo, counts: vec![0; (hi - lo + 1) as usize], n: 0, neg_zeros: 0 };
        for (x, c) in m.entries() {
            d.add(x, c);
        }
        Some(d)
    }

    /// Counts `v` `times` times; false (and nothing counted) when it is not a decimal at this
    /// scale, or the span would grow past [`DENSE_SPAN`].
    #[inline(always)]
    pub(super) fn add(&mut self, v: f64, times: u64) -> bool {
        let Some(k) = Dense::key(v, self.p) else { return false };
        let i = k.wrapping_sub(self.lo) as u64;
        if (i >= self.counts.len() as u64 && !self.widen(k)) || self.n + times >= u32::MAX as u64 {
            return false;
        }
        self.counts[(k - self.lo) as usize] += times as u32;
        self.n += times;
        if v.to_bits() == (-0.0f64).to_bits() {
            self.neg_zeros += times;
        }
        true
    }

    /// [`Dense::add`] of a number given in its digits, by integer arithmetic (the same integer
    /// [`Dense::key`] gives its value); false when it is not at this scale or out of the span.
    #[inline(always)]
    pub(super) fn add_dec(&mut self, d: Dec) -> bool {
        if d.frac > self.k || self.n + 1 >= u32::MAX as u64 {
            return false;
        }
        let Some(key) = d.m.checked_mul(POW10_U64[(self.k - d.frac) as usize]) else { return false };
        if key >= 1 << 50 {
            return false;
        }
        let key = if d.neg { -(key as i64) } else { key as i64 };
        let i = key.wrapping_sub(self.lo) as u64;
        if i >= self.counts.len() as u64 {
            return false;
        }
        self.counts[i as usize] += 1;
        self.n += 1;
        self.neg_zeros += d.is_neg_zero() as u64;
        true
    }

    /// Makes room for the integer `k`, doubling the span toward it (within the limit).
    #[cold]
    pub(super) fn widen(&mut self, k: i64) -> bool {
        let hi = self.lo + self.counts.len() as i64 - 1;
        let need = (hi.max(k) - self.lo.min(k)) as u64 + 1;
        if need > DENSE_SPAN {
            return false;
        }
        let span = need.max(self.counts.len() as u64 * 2).min(DENSE_SPAN) as i64;
        let lo = if k < self.lo { hi - span + 1 } else { self.lo };
        let mut counts = vec![0u32; span as usize];
        let at = (self.lo - lo) as usize;
        counts[at..at + self.counts.len()].copy_from_slice(&self.counts);
        self.counts = counts;
        self.lo = lo;
        true
    }

    /// Each distinct value with its count, ascending (-0.0 before 0.0).
    pub(super) fn entries(&self) -> impl Iterator<Item = (f64, u64)> + Clone + '_ {
        let zero = self.lo.checked_neg().map_or(usize::MAX, |z| z as usize);
        self.counts.iter().enumerate().filter(|e| *e.1 > 0).flat_map(move |(i, &c)| {
            let neg = if i == zero { self.neg_zeros } else { 0 };
            let v = (i as i64 + self.lo) as f64 / self.p;
            [(-0.0, neg), (v, c as u64 - neg)].into_iter().filter(|e| e.1 > 0)
        })
    }
}

/// `a` with every value of `entries` added, when all fit.
pub(super) fn with_all(a: &Dense, mut entries: impl Iterator<Item = (f64, u64)>) -> Option<Dense> {
    let mut b = a.clone();
    entries.all(|(x, c)| b.add(x, c)).then_some(b)
}

/// Decimals of at most k digits after the point kept as their integers (value x 10^k) in 4
/// bytes each, in the order read: half the memory of their doubles, and no decimal to find in
/// them when finished. Each value comes back bit for bit from its integer, but -0.0 (kept as 0,
/// counted in `neg_zeros`).
#[derive(Clone)]
pub(crate) struct Keys {
    pub(super) p: f64,
    pub(super) k: u32,
    pub(super) done: Vec<Vec<i32>>,
    pub(super) cur: Vec<i32>,
    pub(super) neg_zeros: u64,
}

/// Keys are kept in parts of this many (8 MiB).
pub(super) const KEY_PART: usize = 1 << 21;

impl Keys {
    /// Values with their counts as keys, when they are all decimals at one scale whose integers
    /// fit in 32 bits.
    pub(super) fn of(entries: impl Iterator<Item = (f64, u64)> + Clone) -> Option<Keys> {
        let k = (0..SCALES.len()).find(|&k| entries.clone().all(|(x, _)| Keys::fits(x, SCALES[k])))?;
        Keys::at_scale(k, entries)
    }

    pub(super) fn fits(x: f64, p: f64) -> bool {
        Dense::key(x, p).is_some_and(|k| i32::try_from(k).is_ok())
    }

    /// [`Keys::of`] at the scale 10^k, when they all fit it.
    pub(super) fn at_scale(k: usize, entries: impl Iterator<Item = (f64, u64)> + Clone) -> Option<Keys> {
        if !entries.clone().all(|(x, _)| Keys::fits(x, SCALES[k])) {
            return None;
        }
        let n: u64 = entries.clone().map(|e| e.1).sum();
        let mut keys = Keys {
            p: SCALES[k],
            k: k as u32,
            done: Vec::new(),
            cur: Vec::with_capacity((n as usize).max(KEY_PART)),
            neg_zeros: 0,
        };
        for (x, c) in entries {
            keys.push(x, c);
        }
        Some(keys)
    }

    pub(super) fn len(&self) -> usize {
        self.done.iter().map(Vec::len).sum::<usize>() + self.cur.len()
    }

    #[inline(always)]
    pub(super) fn put(&mut self, key: i32) {
        if self.cur.len() == self.cur.capacity() && self.cur.len() >= KEY_PART {
            self.done.push(std::mem::replace(&mut self.cur, Vec::with_capacity(KEY_PART)));
        }
        self.cur.push(key);
    }

    /// Adds `x` `n` times; false (nothing added) when it has no key at this scale.
    #[inline(always)]
    pub(super) fn push(&mut self, x: f64, n: u64) -> bool {
        let Some(k) = Dense::key(x, self.p).and_then(|k| i32::try_from(k).ok()) else { return false };
        for _ in 0..n {
            self.put(k);
        }
        if x.to_bits() == (-0.0f64).to_bits() {
            self.neg_zeros += n;
        }
        true
    }

    /// [`Keys::push`] of a number given in its digits, by integer arithmetic.
    #[inline(always)]
    pub(super) fn push_dec(&mut self, d: Dec) -> bool {
        if d.frac > self.k || d.m > i32::MAX as u64 {
            return false;
        }
        let key = d.m * POW10_U64[(self.k - d.frac) as usize];
        if key > i32::MAX as u64 {
            return false;
        }
        self.put(if d.neg { -(key as i32) } else { key as i32 });
        self.neg_zeros += d.is_neg_zero() as u64;
        true
    }

    /// Appends `later`'s keys after these (the same scale).
    pub(super) fn append(&mut self, mut later: Keys) {
        debug_assert_eq!(self.k, later.k);
        if !self.cur.is_empty() {
            self.done.push(std::mem::take(&mut self.cur));
        }
        self.done.append(&mut later.done);
        self.cur = later.cur;
        self.neg_zeros += later.neg_zeros;
    }

    /// The values as doubles, in order.
    pub(super) fn values(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.len());
        let zero = self.neg_zeros > 0;
        for part in self.done.iter().chain([&self.cur]) {
            v.extend(part.iter().map(|&k| k as f64 / self.p));
        }
        if zero {
            // -0.0 was kept as 0: which zeros were -0.0 is not kept, and their order does not
            // change a statistic.
            let mut left = self.neg_zeros;
            for x in v.iter_mut().filter(|x| **x == 0.0) {
                if left == 0 {
                    break;
                }
                *x = -0.0;
                left -= 1;
            }
        }
        v
    }
}

/// A numeric column's values: a count per distinct value while there are few, then a count per
/// integer for decimals in a narrow span, else every value in the order read (decimals that fit
/// as keys, others as doubles).
#[derive(Clone)]
pub(crate) enum Nums {
    Map(NumMap),
    Dense(Dense),
    Keys(Keys),
    /// The values in order: `done`'s parts, then `cur` (parts read by different threads are
    /// joined only when the column is finished, on its finishing thread).
    Vec {
        done: Vec<Vec<f64>>,
        cur: Vec<f64>,
    },
}

impl Default for Nums {
    fn default() -> Self {
        Nums::Map(NumMap::default())
    }
}

impl Nums {
    pub(super) fn len(&self) -> usize {
        match self {
            Nums::Map(m) => m.len(),
            Nums::Dense(d) => d.n as usize,
            Nums::Keys(k) => k.len(),
            Nums::Vec { done, cur } => done.iter().map(Vec::len).sum::<usize>() + cur.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[cfg(test)]
    pub(super) fn mode(&self) -> &'static str {
        match self {
            Nums::Map(_) => "map",
            Nums::Dense(_) => "dense",
            Nums::Keys(_) => "keys",
            Nums::Vec { .. } => "values",
        }
    }

    /// From counts to values (in no particular order); then the values' parts and the last one.
    pub(super) fn values_mut(&mut self) -> (&mut Vec<Vec<f64>>, &mut Vec<f64>) {
        let counted: Option<(u64, Vec<(f64, u64)>)> = match self {
            Nums::Map(m) => Some((m.entries().map(|e| e.1).sum(), m.entries().collect())),
            Nums::Dense(d) => Some((d.n, d.entries().collect())),
            Nums::Keys(k) => {
                *self = Nums::Vec { done: Vec::new(), cur: k.values() };
                None
            }
            Nums::Vec { .. } => None,
        };
        if let Some((n, entries)) = counted {
            let mut v = Vec::with_capacity((n as usize).max(MAP_LIMIT * 4));
            for (x, n) in entries {
                v.extend(std::iter::repeat_n(x, n as usize));
            }
            *self = Nums::Vec { done: Vec::new(), cur: v };
        }
        match self {
            Nums::Vec { done, cur } => (done, cur),
            _ => unreachable!(),
        }
    }

    /// Every value in order, in parts.
    pub(super) fn into_parts(mut self) -> Vec<Vec<f64>> {
        let (done, cur) = self.values_mut();
        let mut parts = std::mem::take(done);
        parts.push(std::mem::take(cur));
        parts.retain(|p| !p.is_empty());
        parts
    }

    /// Every value in order, in one vector.
    pub(super) fn into_values(mut self) -> Vec<f64> {
        let (done, cur) = self.values_mut();
        if done.is_empty() {
            return std::mem::take(cur);
        }
        let mut all = Vec::with_capacity(done.iter().map(Vec::len).sum::<usize>() + cur.len());
        for part in done.drain(..) {
            all.extend_from_slice(&part);
        }
        all.extend_from_slice(cur);
        all
    }

    #[inline(always)]
    pub(super) fn push(&mut self, f: f64) {
        self.push_n(f, 1)
    }

    /// Adds `f` `n` (> 0) times.
    #[inline(always)]
    pub(super) fn push_n(&mut self, f: f64, n: u64) {
        match self {
            Nums::Map(m) if !f.is_nan() => {
                let before = m.len;
                m.add(f.to_bits(), n);
                if m.len > before && m.len >= DENSE_FROM && m.len.is_power_of_two() {
                    let max_span = (8 * m.len as u64).min(DENSE_SPAN);
                    if let Some(d) = Dense::of_map(m, max_span) {
                        *self = Nums::Dense(d);
                    }
                } else if m.len > MAP_LIMIT {
                    match Keys::of(m.entries()) {
                        Some(k) => *self = Nums::Keys(k),
                        None => {
                            self.values_mut();
                        }
                    }
                }
            }
            Nums::Dense(d) => {
                if !d.add(f, n) {
                    match Keys::of(d.entries()) {
                        Some(k) => *self = Nums::Keys(k),
                        None => {
                            self.values_mut();
                        }
                    }
                    self.push_n(f, n);
                }
            }
            Nums::Keys(k) => {
                if !k.push(f, n) {
                    self.values_mut();
                    self.push_n(f, n);
                }
            }
            Nums::Map(_) => {
                self.values_mut();
                self.push_n(f, n);
            }
            Nums::Vec { done, cur } => {
                for _ in 0..n {
                    if cur.len() == cur.capacity() && cur.len() >= PART {
                        // A new part rather than a bigger copy of this one.
                        done.push(std::mem::replace(cur, Vec::with_capacity(PART)));
                    }
                    cur.push(f)
                }
            }
        }
    }

    /// Appends `later`'s values after these.
    pub(super) fn append(&mut self, later: Nums) {
        let mut later = match (&mut *self, later) {
            (Nums::Map(a), Nums::Map(b)) => {
                for (x, n) in b.entries() {
                    a.add(x.to_bits(), n);
                }
                if a.len > MAP_LIMIT {
                    match Keys::of(a.entries()) {
                        Some(k) => *self = Nums::Keys(k),
                        None => {
                            self.values_mut();
                        }
                    }
                }
                return;
            }
            (Nums::Dense(a), Nums::Dense(b)) => match with_all(a, b.entries()) {
                Some(c) => return *a = c,
                None => Nums::Dense(b),
            },
            (Nums::Dense(a), Nums::Map(b)) => match with_all(a, b.entries()) {
                Some(c) => return *a = c,
                None => Nums::Map(b),
            },
            (Nums::Map(a), Nums::Dense(b)) => match with_all(&b, a.entries()) {
                Some(c) => return *self = Nums::Dense(c),
                None => Nums::Dense(b),
            },
            (Nums::Keys(a), Nums::Keys(b)) if a.k == b.k => return a.append(b),
            (Nums::Keys(a), b @ (Nums::Map(_) | Nums::Dense(_))) => {
                let entries: Vec<(f64, u64)> = match &b {
                    Nums::Map(m) => m.entries().collect(),
                    Nums::Dense(d) => d.entries().collect(),
                    _ => unreachable!(),
                };
                match Keys::at_scale(a.k as usize, entries.into_iter()) {
                    Some(k) => return a.append(k),
                    None => b,
                }
            }
            (a @ (Nums::Map(_) | Nums::Dense(_)), Nums::Keys(b)) => {
                let entries: Vec<(f64, u64)> = match a {
                    Nums::Map(m) => m.entries().collect(),
                    Nums::Dense(d) => d.entries().collect(),
                    _ => unreachable!(),
                };
                match Keys::at_scale(b.k as usize, entries.into_iter()) {
                    Some(mut k) => {
                        k.append(b);
                        return *self = Nums::Keys(k);
                    }
                    None => Nums::Keys(b),
                }
            }
            (_, b) => b,
        };
        let (b_done, b_cur) = later.values_mut();
        let (done, cur) = self.values_mut();
        if !cur.is_empty() {
            done.push(std::mem::take(cur));
        }
        done.append(b_done);
        *cur = std::mem::take(b_cur);
    }
}

/// `x` rounded to an integer (ties to even), inline: for |x| < 2^51 only.
#[inline(always)]
pub(super) fn round_small(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 x 2^52
    (x + MAGIC) - MAGIC
}
