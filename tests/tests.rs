//! The one integration-test binary (one link step). Each module is a topic.

#![allow(clippy::type_complexity)]

mod common;

mod artifacts;
mod bundle;
mod bundle_serve;
mod charts;
mod cli;
mod data_drift;
mod data_versions;
mod dvclive;
mod fuzz_regressions;
mod hostile;
mod hydra;
mod incremental;
mod memory;
mod plot;
mod realruns;
mod registry;
mod reliability;
mod sacred;
mod tables;
mod tensorboard;
mod truth;
mod wandb;
mod watch;
