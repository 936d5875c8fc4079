#![cfg_attr(feature = "libfuzzer", no_main)]
// Harness and properties: runlens_core::fuzzing::dvclive_json (crates/core/src/fuzzing.rs).
runlens_fuzz::fuzz_target!(|data: &[u8]| {
    runlens_core::fuzzing::dvclive_json(data);
});
