//! Data statistics for the data-drift feature: how a column of the current data differs from the
//! same column of a reference, by the tests and distances the ML monitoring tools report
//! (Kolmogorov-Smirnov, Wasserstein, chi-squared, PSI, Jensen-Shannon, a two-proportion z-test).
//!
//! Pure functions on plain slices and maps, exact to scipy/numpy: `drift` has the statistics,
//! `special` the special functions behind their p-values, ported from scipy and cephes. Both are
//! checked against scipy's own answers in `tests/fixtures/drift/scipy.json` (made by `make.py` there).
//! `report` reads tables and builds `Index::data_drift`'s reports; `rules` decides drift (the
//! runlens rule and Evidently's DataDriftPreset defaults).

// A few helpers serve only the tests (`KsMethod::as_str`, `psi` and `jensen_shannon_numeric` on
// raw samples, `expected_from_reference`).
#![cfg_attr(not(test), allow(dead_code))]

pub(crate) mod drift;
pub(crate) mod monitor;
pub(crate) mod report;
pub(crate) mod rules;
pub(crate) mod special;
pub(crate) mod stored;
