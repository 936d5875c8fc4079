//! Panics the engine catches and reports itself (a third-party decoder's, on a damaged file) are
//! not printed: the shells install [`install_panic_hook`], which stays quiet while such a call
//! runs on the thread, and prints every other panic as Rust's own hook does.

use std::cell::Cell;

thread_local! {
    static QUIET: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f`; a panic inside it is caught and given back as its message, unprinted.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET.with(|q| q.set(q.get() + 1));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(q.get() - 1));
    out.map_err(|payload| message(&*payload))
}

/// What a caught panic said.
pub(crate) fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Makes the process's panic hook skip the panics `catch_quietly` catches (they become errors
/// naming the file); any other panic is printed by the hook that was there before.
pub fn install_panic_hook() {
    let before = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if QUIET.with(|q| q.get()) == 0 {
            before(info);
        }
    }));
}
