//! The service's allocator is mimalloc (set in `main.rs`) instead of glibc's malloc: an ingest
//! or a `logs` page allocates for every record, and glibc's arenas took a fifth of the
//! gateway's CPU under load, their locks contended between the runtime's threads, and kept
//! freed memory in the peak RSS (`README.md`, HTTP load bench). SQLite still allocates from
//! glibc, which `heap_trim` keeps trimming.
//!
//! Two of mimalloc's defaults are changed, measured with the HTTP load bench at 1M records:
//! - transparent huge pages off (the crate's `no_thp` feature): with them a thread's heap
//!   grows by 2 MiB pages, and the peak RSS of the `logs` doors went from 64 to 93 MiB;
//! - freed memory goes back to the system after 100 ms instead of 1 s: peak RSS 38-62 MiB
//!   against 47-67, at the same rate (immediately, 0 ms: 35-52 MiB but 10-15% slower).
//!   `MIMALLOC_PURGE_DELAY` (milliseconds) in the environment still wins.

use std::os::raw::{c_int, c_long};

/// `mi_option_purge_delay`: its place in mimalloc.h's `mi_option_e` (the same in v2 and v3),
/// which the binding does not name.
const PURGE_DELAY: c_int = 15;

/// How long freed memory stays with mimalloc before it goes back to the system.
pub const PURGE_DELAY_MS: c_long = 100;

/// Sets this service's defaults; call first thing in `main`.
pub fn tune() {
    // SAFETY: sets one option's default value; any thread may, at any time.
    unsafe { libmimalloc_sys::mi_option_set_default(PURGE_DELAY, PURGE_DELAY_MS) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_tuned() {
        // SAFETY: reads an option's value.
        let get = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(
                get(),
                1000,
                "mimalloc v3's default purge delay, at this index"
            );
        }
        tune();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), PURGE_DELAY_MS);
        }
    }
}
