//! `Index::data_drift`: how each column of one or more current tables differs from the same column
//! of a reference table, by the statistics of `drift.rs`, and whether that is drift under one of
//! the rule sets of `rules.rs`.
//!
//! Tables are read row by row with `table::read`; each column keeps its finite numbers (8 bytes a
//! row) and a count per distinct value. A column is numeric when `data show` would type it integer
//! or float, categorical when string or boolean; ±inf is left out of the numeric statistics (as
//! Evidently drops it) and the null share is nulls / rows.

use std::collections::BTreeMap;
use std::path::Path;

use super::drift;
use super::rules::{self, EvidentlyTest, EvidentlyType};
use crate::table::{self, Cell, Rows};
use crate::Error;

/// Which rules decide drift.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DriftRules {
    /// Holm-corrected significance and an effect size (see `rules.rs`).
    #[default]
    Runlens,
    /// Evidently's DataDriftPreset defaults, exactly.
    Evidently,
}

/// A test's statistic and p-value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestValue {
    pub statistic: f64,
    pub p_value: f64,
}

/// One column's drift; what does not apply is None.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDrift {
    pub name: String,
    /// The current's type as `data show` has it: "integer", "float", "boolean", "string", "empty".
    pub kind: String,
    /// The test that decided: runlens "ks" (a numeric column with more than 10 distinct values) or
    /// "chi2_contingency" (rare values pooled; "id" for a key column, never drifted by its values;
    /// "null_share" when its null share alone drifted); evidently "ks", "wasserstein",
    /// "chisquare", "z", "jensenshannon" or "text"; "none" when a side has no values.
    pub method: String,
    pub drift: bool,
    /// The deciding value: the p-value (runlens: Holm-adjusted) or the distance.
    pub score: Option<f64>,
    pub ks: Option<TestValue>,
    pub wasserstein: Option<f64>,
    pub wasserstein_norm: Option<f64>,
    /// runlens: the 2 x k contingency test (rare values pooled); evidently: the one-sample test against the reference.
    pub chi2: Option<TestValue>,
    /// The two-proportion z test (two values at most).
    pub z: Option<TestValue>,
    pub psi: Option<f64>,
    pub js: Option<f64>,
    /// The largest change in one value's share (categorical and discrete numeric columns under the
    /// runlens rules).
    pub share_change: Option<f64>,
    /// Null share of (reference, current).
    pub null_share: (f64, f64),
    /// runlens: the two-proportion z test of the null counts, when either side has a null.
    pub nulls_z: Option<TestValue>,
}

/// One current table against the reference.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftReport {
    /// The current table as given (a path, or PATH@REV resolved to its project path).
    pub path: String,
    /// "workspace", a commit id, or "file" for a path outside the project.
    pub rev: String,
    pub columns: Vec<ColumnDrift>,
    pub share_drifted: f64,
    pub drift: bool,
    /// Columns left out, columns not reproduced, and the like.
    pub warnings: Vec<String>,
}

/// One column being read (typed as `table::stats::Column` types it).
#[derive(Default)]
struct Collect {
    nulls: u64,
    nums: Vec<f64>,
    all_int: bool,
    texts: BTreeMap<String, u64>,
    trues: u64,
    falses: u64,
    text: bool,
}

/// A number as a category: its shortest round-trip text ("3" for 3.0), -0 as 0.
fn num_key(f: f64) -> String {
    format!("{}", f + 0.0)
}

impl Collect {
    fn push(&mut self, c: &Cell) {
        match c {
            Cell::Null => self.nulls += 1,
            Cell::Num(f, int) if !self.text => {
                self.nums.push(*f);
                self.all_int &= *int;
            }
            Cell::Num(f, _) => *self.texts.entry(num_key(*f)).or_default() += 1,
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

    fn become_text(&mut self) {
        self.text = true;
        for f in std::mem::take(&mut self.nums) {
            *self.texts.entry(num_key(f)).or_default() += 1;
        }
        if self.trues > 0 {
            *self.texts.entry("True".into()).or_default() += std::mem::take(&mut self.trues);
        }
        if self.falses > 0 {
            *self.texts.entry("False".into()).or_default() += std::mem::take(&mut self.falses);
        }
    }

    fn finish(mut self, rows: u64) -> Sample {
        let bools = self.trues + self.falses;
        if self.text || (bools > 0 && !self.nums.is_empty()) {
            if !self.text {
                self.become_text();
            }
            return Sample { kind: "string", rows, nulls: self.nulls, nums: Vec::new(), cats: self.texts };
        }
        if bools > 0 {
            let mut cats = BTreeMap::new();
            for (k, n) in [("False", self.falses), ("True", self.trues)] {
                if n > 0 {
                    cats.insert(k.to_string(), n);
                }
            }
            return Sample { kind: "boolean", rows, nulls: self.nulls, nums: Vec::new(), cats };
        }
        if self.nums.is_empty() {
            return Sample { kind: "empty", rows, nulls: self.nulls, nums: Vec::new(), cats: BTreeMap::new() };
        }
        numeric_sample(self.nums, self.all_int, rows, self.nulls)
    }
}

/// A numeric column's `Sample`: the finite numbers sorted (their counts by text are made only
/// when a test needs them, `Sample::counts`).
fn numeric_sample(nums: Vec<f64>, all_int: bool, rows: u64, nulls: u64) -> Sample {
    let kind = if all_int { "integer" } else { "float" };
    let mut nums: Vec<f64> = nums.into_iter().filter(|v| v.is_finite()).collect();
    crate::table::stats::sort_f64(&mut nums);
    Sample { kind, rows, nulls, nums, cats: BTreeMap::new() }
}

/// Sorted numbers counted by their text ("3" for 3.0, -0 as 0).
fn num_counts(sorted: &[f64]) -> BTreeMap<String, u64> {
    let mut cats: BTreeMap<String, u64> = BTreeMap::new();
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].partition_point(|v| *v == sorted[i]) + i;
        *cats.entry(num_key(sorted[i])).or_default() += (j - i) as u64;
        i = j;
    }
    cats
}

/// How many distinct values two sorted samples hold together, counting no further than
/// `limit + 1`.
fn distinct_union(a_sorted: &[f64], b_sorted: &[f64], limit: usize) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a_sorted.len() || j < b_sorted.len() {
        let v = match (a_sorted.get(i), b_sorted.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) | (None, Some(&x)) => x,
            (None, None) => unreachable!(),
        };
        n += 1;
        if n > limit {
            return n;
        }
        while a_sorted.get(i).is_some_and(|x| *x <= v) {
            i += 1;
        }
        while b_sorted.get(j).is_some_and(|x| *x <= v) {
            j += 1;
        }
    }
    n
}

/// A column given in memory rather than read from a table, as `data drift` would type it: for
/// scoring without files ([`drift_tables`]), as the false-alarm and power harness
/// (`examples/drift_harness.rs`) does.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData {
    /// Numbers; `integer` when every one was written as a whole number (`data show`'s "integer",
    /// pandas' int64 when there is no null). NaN and +-inf count as rows but are left out of the
    /// statistics, as +-inf read from a file is.
    Numbers { values: Vec<f64>, integer: bool, nulls: u64 },
    /// Strings, by count.
    Strings { counts: BTreeMap<String, u64>, nulls: u64 },
    /// Booleans, by count.
    Booleans { trues: u64, falses: u64, nulls: u64 },
}

/// Named columns prepared once (numbers sorted, values counted) for [`drift_tables`]: a
/// reference is scored against many batches without being prepared again.
pub struct DriftTable(Loaded);

/// A reference: read into memory, or kept (`stored.rs`) and read a column at a time.
enum Reference<'a> {
    Memory(&'a Loaded),
    Stored(&'a super::stored::Stored),
}

impl Reference<'_> {
    fn path(&self) -> &str {
        match self {
            Reference::Memory(l) => &l.path,
            Reference::Stored(s) => &s.path,
        }
    }

    fn names(&self) -> Vec<&str> {
        match self {
            Reference::Memory(l) => l.columns.iter().map(|(n, _)| n.as_str()).collect(),
            Reference::Stored(s) => s.names().collect(),
        }
    }

    fn column(&self, name: &str) -> Result<Option<std::borrow::Cow<'_, Sample>>, Error> {
        Ok(match self {
            Reference::Memory(l) => {
                l.columns.iter().find(|(n, _)| n == name).map(|(_, s)| std::borrow::Cow::Borrowed(s))
            }
            Reference::Stored(s) => s.column(name)?.map(std::borrow::Cow::Owned),
        })
    }
}

impl DriftTable {
    /// The columns in order; `name` is what reports call the table.
    pub fn new(name: &str, columns: Vec<(String, ColumnData)>) -> DriftTable {
        let columns = columns
            .into_iter()
            .map(|(n, data)| {
                let s = match data {
                    ColumnData::Numbers { values, integer, nulls } => {
                        let rows = values.len() as u64 + nulls;
                        if values.is_empty() {
                            Sample { kind: "empty", rows, nulls, nums: Vec::new(), cats: BTreeMap::new() }
                        } else {
                            numeric_sample(values, integer, rows, nulls)
                        }
                    }
                    ColumnData::Strings { counts, nulls } => {
                        let cats: BTreeMap<String, u64> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
                        let rows = cats.values().sum::<u64>() + nulls;
                        let kind = if cats.is_empty() { "empty" } else { "string" };
                        Sample { kind, rows, nulls, nums: Vec::new(), cats }
                    }
                    ColumnData::Booleans { trues, falses, nulls } => {
                        let cats: BTreeMap<String, u64> = [("False", falses), ("True", trues)]
                            .into_iter()
                            .filter(|(_, n)| *n > 0)
                            .map(|(k, n)| (k.to_string(), n))
                            .collect();
                        let kind = if cats.is_empty() { "empty" } else { "boolean" };
                        Sample { kind, rows: trues + falses + nulls, nulls, nums: Vec::new(), cats }
                    }
                };
                (n, s)
            })
            .collect();
        DriftTable(Loaded { path: name.to_string(), rev: "memory".into(), columns })
    }
}

/// How each column of `current` differs from the same column of `reference` under `rules`, as
/// `Index::data_drift` scores a table read from a file (the report's rev is "memory").
pub fn drift_tables(reference: &DriftTable, current: &DriftTable, rules: DriftRules) -> Result<DriftReport, Error> {
    compare(&Reference::Memory(&reference.0), &current.0, rules)
}

/// A column as read: its type, the finite numbers sorted (numeric types), every non-null value's
/// count (other types).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub(super) kind: &'static str,
    pub(super) rows: u64,
    pub(super) nulls: u64,
    pub(super) nums: Vec<f64>,
    pub(super) cats: BTreeMap<String, u64>,
}

impl Sample {
    fn numeric(&self) -> bool {
        matches!(self.kind, "integer" | "float")
    }

    fn null_share(&self) -> f64 {
        self.nulls as f64 / self.rows as f64
    }

    /// Non-null values (for a numeric column, the finite ones).
    fn count(&self) -> u64 {
        if self.numeric() {
            self.nums.len() as u64
        } else {
            self.cats.values().sum()
        }
    }

    /// Distinct non-null values.
    fn distinct(&self) -> u64 {
        if self.numeric() {
            distinct_union(&self.nums, &[], usize::MAX - 1) as u64
        } else {
            self.cats.len() as u64
        }
    }

    /// Every value's count, numbers by their shortest text.
    fn counts(&self) -> std::borrow::Cow<'_, BTreeMap<String, u64>> {
        if self.numeric() {
            std::borrow::Cow::Owned(num_counts(&self.nums))
        } else {
            std::borrow::Cow::Borrowed(&self.cats)
        }
    }

    /// A key column: integers or strings, at least two, none repeated.
    fn is_key(&self) -> bool {
        match self.kind {
            "integer" => self.nums.len() >= 2 && self.nums.windows(2).all(|w| w[0] != w[1]),
            _ => rules::is_key(self.kind, &self.cats),
        }
    }
}

/// A table read into columns.
struct Table {
    names: Vec<String>,
    cols: Vec<Collect>,
    rows: u64,
}

impl Rows for Table {
    fn columns(&mut self, names: &[String]) {
        self.names = names.to_vec();
        self.cols = names.iter().map(|_| Collect { all_int: true, ..Default::default() }).collect();
    }

    fn row(&mut self, cells: &[Cell]) -> bool {
        self.rows += 1;
        for (c, cell) in self.cols.iter_mut().zip(cells) {
            c.push(cell);
        }
        true
    }
}

/// A table's columns by name, in file order, with its path and revision.
struct Loaded {
    path: String,
    rev: String,
    columns: Vec<(String, Sample)>,
}

/// Reads a table's rows into columns: `body` through `table::read_body` (text formats streamed,
/// Parquet from its file or bytes).
fn read_table(
    fs: &crate::files::ProjectFs,
    body: &crate::versions::Body,
    path: &str,
    at: &str,
) -> Result<Vec<(String, Sample)>, Error> {
    let format = table::format_of(path)
        .ok_or_else(|| Error::Refused(format!("{path}: not a table Runlens reads (CSV, TSV, JSONL, Parquet)")))?;
    if let Some(scanned) = table::scan_columns(fs, body, format) {
        let sc = scanned.map_err(|e| match e {
            Error::Project(m) => Error::Project(format!("{at}: {m}")),
            other => other,
        })?;
        return Ok(from_scan(sc));
    }
    let mut t = Table { names: Vec::new(), cols: Vec::new(), rows: 0 };
    table::read_body(fs, body, format, &mut t).map_err(|e| match e {
        Error::Project(m) => Error::Project(format!("{at}: {m}")),
        other => other,
    })?;
    let rows = t.rows;
    Ok(t.names.into_iter().zip(t.cols.into_iter().map(|c| c.finish(rows))).collect())
}

/// A table's columns from the scanner's statistics columns (typed the same way as [`Collect`]).
fn from_scan(sc: table::scan::Scanned) -> Vec<(String, Sample)> {
    let rows = sc.rows;
    sc.names
        .into_iter()
        .zip(sc.cols)
        .map(|(name, col)| {
            let d = col.into_drift();
            let mut nums = d.nums;
            crate::table::stats::sort_f64(&mut nums);
            let mut cats = BTreeMap::new();
            for (k, n) in d.counts {
                *cats.entry(k).or_default() += n;
            }
            (name, Sample { kind: d.kind, rows, nulls: d.nulls, nums, cats })
        })
        .collect()
}

/// Reads a table outside the project (the user named it): text formats streamed, Parquet whole.
fn read_outside(path: &Path, spec: &str) -> Result<Vec<(String, Sample)>, Error> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(format!("{spec}: no such file")),
        _ => Error::Io(format!("{spec}: {e}")),
    };
    let format = table::format_of(spec)
        .ok_or_else(|| Error::Refused(format!("{spec}: not a table Runlens reads (CSV, TSV, JSONL, Parquet)")))?;
    let parent = crate::files::ProjectFs::new(path.parent().unwrap_or(path));
    if let Some(scanned) = table::scan_columns(&parent, &crate::versions::Body::File(path.to_path_buf()), format) {
        return scanned.map(from_scan).map_err(|e| match e {
            Error::Project(m) => Error::Project(format!("{spec}: {m}")),
            other => other,
        });
    }
    if format == table::Format::Parquet {
        let bytes = std::fs::read(path).map_err(io)?;
        let fs = crate::files::ProjectFs::new(path.parent().unwrap_or(path));
        return read_table(&fs, &crate::versions::Body::Memory(bytes), spec, spec);
    }
    let f = std::fs::File::open(path).map_err(io)?;
    let mut t = Table { names: Vec::new(), cols: Vec::new(), rows: 0 };
    table::read(std::io::BufReader::with_capacity(1 << 20, f), format, &mut t).map_err(|e| match e {
        Error::Project(m) => Error::Project(format!("{spec}: {m}")),
        other => other,
    })?;
    let rows = t.rows;
    Ok(t.names.into_iter().zip(t.cols.into_iter().map(|c| c.finish(rows))).collect())
}

impl crate::index::Index {
    /// Reads `spec`: an absolute path to a file anywhere (the user's explicit argument, read as
    /// is), or `PATH`/`PATH@REV` in the project through `data_open`.
    fn drift_load(&self, spec: &str) -> Result<Loaded, Error> {
        let p = Path::new(spec);
        if p.is_absolute() {
            let columns = read_outside(p, spec)?;
            return Ok(Loaded { path: spec.to_string(), rev: "file".into(), columns });
        }
        let bytes = self.data_open(spec)?;
        let at = format!("{}@{}", bytes.path, crate::versions::short_rev(&bytes.rev));
        let fs = crate::files::ProjectFs::new(&self.root);
        let columns = read_table(&fs, &bytes.body, &bytes.path, &at)?;
        Ok(Loaded { path: bytes.path, rev: bytes.rev, columns })
    }

    /// How each `current` table (absolute paths, or `PATH`/`PATH@REV` in the project) differs from
    /// `reference` (`PATH`/`PATH@REV`, or an absolute path), column by column, under `rules`: one
    /// report per current table, in order. The columns are the current's; one the reference lacks
    /// is an error (Refused), as is a table Runlens does not read.
    pub fn data_drift(
        &self,
        reference_spec: &str,
        current: &[String],
        rules: DriftRules,
    ) -> Result<Vec<DriftReport>, Error> {
        let (mut stored, mut loaded) = match self.drift_reference(reference_spec)? {
            Ok(s) => (Some(s), None),
            Err(l) => (None, Some(l)),
        };
        let mut out = Vec::with_capacity(current.len());
        for spec in current {
            let cur = self.drift_load(spec)?;
            if let Some(s) = &stored {
                let report = compare(&Reference::Stored(s), &cur, rules);
                if !s.damaged() {
                    out.push(report?);
                    continue;
                }
                // A damaged copy: forgotten, and the table read again (and kept anew).
                stored.take().expect("stored").forget();
                loaded = Some(self.drift_reference(reference_spec)?.err().ok_or_else(|| {
                    Error::Io(format!("{reference_spec}: its kept copy is damaged and could not be removed"))
                })?);
            }
            out.push(compare(&Reference::Memory(loaded.as_ref().expect("loaded")), &cur, rules)?);
        }
        Ok(out)
    }

    /// The reference `spec`, kept (`stored.rs`) when it was read before; otherwise read, and kept
    /// for next time.
    fn drift_reference(&self, spec: &str) -> Result<Result<super::stored::Stored, Loaded>, Error> {
        let dir = self.side_dir("refs");
        let p = Path::new(spec);
        let (key, loaded) = if p.is_absolute() {
            if let Some(s) = super::stored::file_key(None, p, spec).and_then(|k| super::stored::open(&dir, &k)) {
                return Ok(Ok(s));
            }
            let key = super::stored::file_key(None, p, spec);
            let columns = read_outside(p, spec)?;
            (key, Loaded { path: spec.to_string(), rev: "file".into(), columns })
        } else {
            let bytes = self.data_open(spec)?;
            let key = match &bytes.body {
                crate::versions::Body::File(f) => {
                    super::stored::file_key(Some(&crate::files::ProjectFs::new(&self.root)), f, &bytes.path)
                }
                crate::versions::Body::Memory(b) => Some(super::stored::git_key(&bytes.rev, &bytes.path, b.len())),
            };
            if let Some(s) = key.as_deref().and_then(|k| super::stored::open(&dir, k)) {
                return Ok(Ok(s));
            }
            let at = format!("{}@{}", bytes.path, crate::versions::short_rev(&bytes.rev));
            let fs = crate::files::ProjectFs::new(&self.root);
            let columns = read_table(&fs, &bytes.body, &bytes.path, &at)?;
            (key, Loaded { path: bytes.path, rev: bytes.rev, columns })
        };
        // Keeping it is an optimisation: a full disk or a read-only data dir only costs speed.
        if let Some(key) = key {
            let _ = super::stored::store(&dir, &key, &loaded.path, &loaded.rev, &loaded.columns);
        }
        Ok(Err(loaded))
    }
}

fn value(t: (f64, f64)) -> TestValue {
    TestValue { statistic: t.0, p_value: t.1 }
}

/// One table against the reference.
fn compare(reference: &Reference, cur: &Loaded, rules: DriftRules) -> Result<DriftReport, Error> {
    let mut warnings = Vec::new();
    for name in reference.names() {
        if !cur.columns.iter().any(|(n, _)| n == name) {
            warnings.push(format!("{name}: in the reference, not in {}", cur.path));
        }
    }
    let mut columns = Vec::new();
    for (name, c) in &cur.columns {
        let r = reference.column(name)?.ok_or_else(|| {
            Error::Refused(format!("{}: column {name} is not in the reference {}", cur.path, reference.path()))
        })?;
        let col = match rules {
            DriftRules::Runlens => Some(runlens_column(name, &r, c)),
            DriftRules::Evidently => evidently_column(name, &r, c, &mut warnings)?,
        };
        columns.extend(col);
    }
    let (share_drifted, drift) = match rules {
        DriftRules::Runlens => {
            // The family Holm corrects for: the columns' value tests, and the null-share test of
            // every column with a null on either side.
            let tested = |c: &ColumnDrift| !matches!(c.method.as_str(), "none" | "id");
            let mut p: Vec<f64> = columns.iter().filter(|c| tested(c)).map(|c| c.score.unwrap_or(f64::NAN)).collect();
            let values = p.len();
            p.extend(columns.iter().filter_map(|c| c.nulls_z.map(|t| t.p_value)));
            let adjusted = rules::holm(&p);
            let (by_value, by_nulls) = adjusted.split_at(values);
            for (c, adj) in columns.iter_mut().filter(|c| tested(c)).zip(by_value) {
                c.score = Some(*adj);
                c.drift = rules::runlens_alarm(*adj, c.psi, c.wasserstein_norm, c.js, c.share_change);
            }
            for (c, adj) in columns.iter_mut().filter(|c| c.nulls_z.is_some()).zip(by_nulls) {
                if !c.drift && rules::nulls_alarm(*adj, c.null_share) {
                    c.drift = true;
                    c.method = "null_share".into();
                    c.score = Some(*adj);
                }
            }
            // The share of the columns that can drift: key columns cannot.
            let counted = columns.iter().filter(|c| c.method != "id").count();
            let n = columns.iter().filter(|c| c.drift).count();
            (if counted == 0 { 0.0 } else { n as f64 / counted as f64 }, n > 0)
        }
        DriftRules::Evidently => {
            let n = columns.iter().filter(|c| c.drift).count();
            let share = n as f64 / columns.len() as f64;
            (share, share >= rules::EVIDENTLY_SHARE)
        }
    };
    Ok(DriftReport { path: cur.path.clone(), rev: cur.rev.clone(), columns, share_drifted, drift, warnings })
}

fn empty_column(name: &str, kind: &str, method: &str, null_share: (f64, f64)) -> ColumnDrift {
    ColumnDrift {
        name: name.to_string(),
        kind: kind.to_string(),
        method: method.to_string(),
        drift: false,
        score: None,
        ks: None,
        wasserstein: None,
        wasserstein_norm: None,
        chi2: None,
        z: None,
        psi: None,
        js: None,
        share_change: None,
        null_share,
        nulls_z: None,
    }
}

/// The numeric statistics (KS, Wasserstein and its normed value, PSI and JS at the reference's
/// deciles) into `c`.
fn numeric_suite(c: &mut ColumnDrift, r: &[f64], x: &[f64]) {
    c.ks = drift::ks_2samp(r, x).map(|k| TestValue { statistic: k.statistic, p_value: k.p_value });
    c.wasserstein = drift::wasserstein(r, x);
    c.wasserstein_norm = c.wasserstein.map(|w| drift::over_reference_std(w, r));
    let bins = drift::decile_bins(r, x);
    c.psi = Some(bins.psi());
    c.js = Some(bins.jensen_shannon());
}

/// The categorical statistics that do not depend on the rules (PSI, JS per category) into `c`.
fn categorical_effects(c: &mut ColumnDrift, r: &BTreeMap<String, u64>, x: &BTreeMap<String, u64>) {
    c.psi = Some(drift::psi_categorical(r, x));
    c.js = Some(drift::jensen_shannon_categorical(r, x));
}

/// The runlens chi-squared test of value counts (rare values pooled, `rules::pool_rare`), the
/// z test when there are two values, and the largest share change, into `col`; `score` = its
/// p-value.
fn runlens_counts(col: &mut ColumnDrift, r: &Sample, c: &Sample) {
    let (rc, cc) = (r.counts(), c.counts());
    let al = drift::align(&rc, &cc);
    let (pr, pc) = rules::pool_rare(&al.reference, &al.current);
    col.chi2 = drift::chi2_contingency(&pr, &pc).map(|(s, p, _)| TestValue { statistic: s, p_value: p });
    if al.keys.len() <= 2 {
        let x1 = al.reference.iter().skip(1).sum::<u64>();
        let x2 = al.current.iter().skip(1).sum::<u64>();
        col.z = Some(value(drift::z_test_two_proportions(x1, r.count(), x2, c.count())));
    }
    col.share_change = Some(rules::share_change(&al.reference, &al.current));
    col.score = col.chi2.map(|t| t.p_value);
}

/// A column under the runlens rules, before Holm: `score` holds the raw p-value. A numeric column
/// with more than `rules::DISCRETE_MAX` distinct values is tested by KS, any other by
/// `runlens_counts`; a key column is "id".
fn runlens_column(name: &str, r: &Sample, c: &Sample) -> ColumnDrift {
    let null_share = (r.null_share(), c.null_share());
    let numeric = (r.numeric() || r.kind == "empty") && (c.numeric() || c.kind == "empty");
    let mut col = empty_column(name, c.kind, if numeric { "ks" } else { "chi2_contingency" }, null_share);
    if r.nulls + c.nulls > 0 {
        col.nulls_z = Some(value(drift::z_test_two_proportions(r.nulls, r.rows, c.nulls, c.rows)));
    }
    let empty = if numeric { r.nums.is_empty() || c.nums.is_empty() } else { r.cats.is_empty() || c.cats.is_empty() };
    if empty {
        col.method = "none".into();
        return col;
    }
    if numeric {
        numeric_suite(&mut col, &r.nums, &c.nums);
        col.score = col.ks.map(|k| k.p_value);
        if distinct_union(&r.nums, &c.nums, rules::DISCRETE_MAX) <= rules::DISCRETE_MAX {
            col.method = "chi2_contingency".into();
            runlens_counts(&mut col, r, c);
        }
    } else {
        categorical_effects(&mut col, &r.cats, &c.cats);
        runlens_counts(&mut col, r, c);
    }
    if r.is_key() && c.is_key() {
        col.method = "id".into();
        col.score = None;
    }
    col
}

/// A column under Evidently's rules; None when Evidently leaves it out.
fn evidently_column(
    name: &str,
    r: &Sample,
    c: &Sample,
    warnings: &mut Vec<String>,
) -> Result<Option<ColumnDrift>, Error> {
    let null_share = (r.null_share(), c.null_share());
    let ty = rules::evidently_type(c.kind, c.nulls, c.count(), c.distinct());
    match ty {
        EvidentlyType::Unknown => {
            warnings.push(format!("{name}: a {} column with nulls, which Evidently leaves out", c.kind));
            return Ok(None);
        }
        EvidentlyType::Text => {
            warnings.push(format!(
                "{name}: a text column to Evidently (more distinct values than half its rows); its \
                 text drift test (a trained classifier) is not reproduced, the column counts as not drifted"
            ));
            return Ok(Some(empty_column(name, c.kind, "text", null_share)));
        }
        _ => {}
    }
    if r.count() == 0 || c.count() == 0 {
        let side = if r.count() == 0 { "reference" } else { "current" };
        return Err(Error::Refused(format!("{name}: no values in the {side} (Evidently stops on an empty column)")));
    }
    if ty == EvidentlyType::Numerical && !r.numeric() {
        return Err(Error::Refused(format!(
            "{name}: numerical in the current, {} in the reference (Evidently stops on it)",
            r.kind
        )));
    }
    // Distinct values of both sides: for numbers, counted on the sorted values (no keys cloned).
    let n_values = if r.numeric() && c.numeric() {
        distinct_union(&r.nums, &c.nums, usize::MAX - 1)
    } else {
        drift::align(&r.counts(), &c.counts()).keys.len()
    } as u64;
    let test = rules::evidently_test(ty, r.count(), n_values);
    let mut col = empty_column(name, c.kind, test.name(), null_share);
    let score = match test {
        EvidentlyTest::Ks | EvidentlyTest::Wasserstein => {
            numeric_suite(&mut col, &r.nums, &c.nums);
            if test == EvidentlyTest::Ks {
                col.ks.map_or(f64::NAN, |k| k.p_value)
            } else {
                col.wasserstein_norm.unwrap_or(f64::NAN)
            }
        }
        EvidentlyTest::Chisquare | EvidentlyTest::Z | EvidentlyTest::JensenShannon => {
            let (rc, cc) = (r.counts(), c.counts());
            let al = drift::align(&rc, &cc);
            col.chi2 = rules::evidently_chisquare(&al.reference, &al.current).map(value);
            if al.keys.len() <= 2 {
                col.z = Some(value(rules::evidently_z(&al.reference, &al.current)));
            }
            categorical_effects(&mut col, &rc, &cc);
            match test {
                EvidentlyTest::Chisquare => col.chi2.map_or(f64::NAN, |t| t.p_value),
                EvidentlyTest::Z => col.z.map_or(f64::NAN, |t| t.p_value),
                _ => col.js.unwrap_or(f64::NAN),
            }
        }
    };
    col.score = Some(score);
    col.drift = test.drifted(score);
    Ok(Some(col))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scanner's columns (`from_scan`) are the row reader's (`Collect`), value for value, on
    /// the fixtures' tricky tables and every drift fixture.
    #[test]
    fn the_scanner_reads_columns_as_the_row_reader_does() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let mut files = vec![fixtures.join("tables/tricky.csv"), fixtures.join("tables/tricky.parquet")];
        for case in std::fs::read_dir(fixtures.join("drift_rules")).unwrap().flatten() {
            for side in ["reference.csv", "current.csv"] {
                if case.path().join(side).is_file() {
                    files.push(case.path().join(side));
                }
            }
        }
        assert!(files.len() > 6, "{files:?}");
        for file in files {
            let fs = crate::files::ProjectFs::new(file.parent().unwrap());
            let body = crate::versions::Body::File(file.clone());
            let format = table::format_of(&file.to_string_lossy()).unwrap();
            let fast = from_scan(table::scan_columns(&fs, &body, format).expect("scanned").unwrap());
            let mut t = Table { names: Vec::new(), cols: Vec::new(), rows: 0 };
            table::read_body(&fs, &body, format, &mut t).unwrap();
            let rows = t.rows;
            let slow: Vec<(String, Sample)> =
                t.names.into_iter().zip(t.cols.into_iter().map(|c| c.finish(rows))).collect();
            assert_eq!(fast.len(), slow.len(), "{}", file.display());
            for (f, s) in fast.iter().zip(&slow) {
                assert_eq!(f, s, "{}: column {}", file.display(), s.0);
            }
        }
    }
}
