#![cfg_attr(feature = "libfuzzer", no_main)]
// Harness and properties: runlens_core::fuzzing::wandb_log (crates/core/src/fuzzing.rs).
runlens_fuzz::fuzz_target!(|data: &[u8]| {
    runlens_core::fuzzing::wandb_log(data);
});
