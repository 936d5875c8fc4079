//! Data statistics for the data-drift feature: how a column of the current data differs from the
//! same column of a reference, by the tests and distances the ML monitoring tools report
//! (Kolmogorov-Smirnov, Wasserstein, chi-squared, PSI, Jensen-Shannon, a two-proportion z-test).
//!
//! Pure functions on plain slices and maps, exact to scipy/numpy: `drift` has the statistics,
//! `special` the special functions behind their p-values, ported from scipy and cephes. Both are
//! checked against scipy's own answers in `tests/fixtures/drift/scipy.json` (made by `make.py` there).

// Nothing outside this module calls it until the drift feature lands; the tests use all of it.
#![cfg_attr(not(test), allow(dead_code))]

pub(crate) mod drift;
pub(crate) mod special;
