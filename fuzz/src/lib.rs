//! `fuzz_target!` for either engine, chosen by cargo feature.
//! Each target file starts with `#![cfg_attr(feature = "libfuzzer", no_main)]`.

#[cfg(feature = "afl")]
pub use afl;
#[cfg(feature = "libfuzzer")]
pub use libfuzzer_sys;

#[cfg(all(feature = "afl", feature = "libfuzzer"))]
compile_error!("enable exactly one of the features `afl` and `libfuzzer`");

#[macro_export]
macro_rules! fuzz_target {
    (|$data:ident: &[u8]| $body:block) => {
        #[cfg(feature = "libfuzzer")]
        $crate::libfuzzer_sys::fuzz_target!(|$data: &[u8]| $body);

        #[cfg(feature = "afl")]
        fn main() {
            // Persistent mode: one process runs many inputs; a panic aborts
            // the process and afl-fuzz records the input as a crash.
            $crate::afl::fuzz!(|$data: &[u8]| $body);
        }

        #[cfg(not(any(feature = "afl", feature = "libfuzzer")))]
        fn main() {
            // Plain build: run the target once on stdin (handy for replaying a crash).
            use std::io::Read;
            let mut $data = Vec::new();
            std::io::stdin().read_to_end(&mut $data).unwrap();
            let $data: &[u8] = &$data;
            $body
        }
    };
}
