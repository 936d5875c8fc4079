#![cfg_attr(feature = "libfuzzer", no_main)]
// Harness and properties: runlens_core::fuzzing::table_scan (crates/core/src/fuzzing.rs).
runlens_fuzz::fuzz_target!(|data: &[u8]| {
    runlens_core::fuzzing::table_scan(data);
});
