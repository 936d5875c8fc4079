#![cfg_attr(feature = "libfuzzer", no_main)]
// Harness and properties: runlens_core::fuzzing::parquet_pages (crates/core/src/fuzzing.rs).
runlens_fuzz::fuzz_target!(|data: &[u8]| {
    runlens_core::fuzzing::parquet_pages(data);
});
