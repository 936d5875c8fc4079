//! The one integration-test binary (one link step). Each module is a topic.

mod common;

mod charts;
mod cli;
mod incremental;
mod reliability;
mod truth;
