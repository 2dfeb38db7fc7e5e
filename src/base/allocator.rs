//! How the programs' allocator (mimalloc, the `ntm` binary's and the Python module's global
//! allocator) treats freed memory.
//!
//! A training step allocates its tapes (tens of MB at batch 16) and frees them at its end.
//! mimalloc gives freed memory back to the system after a delay (a second in the version
//! built here), and memory given back is zeroed again by the kernel at its next first touch,
//! page by page, in the middle of the next steps. Measured with `ntm bench --models ntm
//! --engines fused --batches 16 --modes train --threads 2` (docs/performance.md): 2,064 page
//! faults and 1.81 s of CPU per process as released, 553 and 1.51 s keeping it. A process then
//! keeps the most it ever held, which it would need again at the next step anyway.

/// mimalloc's `mi_option_purge_delay` (its 16th option in the v3 header that
/// `libmimalloc-sys` builds, which the crate does not name), in milliseconds.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The delay mimalloc's header gives that option by default, by which it is recognised.
const DEFAULT_PURGE_DELAY: std::os::raw::c_long = 1000;

/// Keeps freed memory in the process instead of giving it back to the system, unless the
/// environment sets `MIMALLOC_PURGE_DELAY` (mimalloc's own setting, which then stands) or the
/// option does not hold its known default (another mimalloc version: nothing is changed). For
/// a program's start, before it starts threads of its own (mimalloc's options are plain
/// values, not atomics).
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: reading and setting one of mimalloc's options by its number, at the program's
    // start, while no other thread of the program allocates.
    unsafe {
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == DEFAULT_PURGE_DELAY {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
        }
    }
}
