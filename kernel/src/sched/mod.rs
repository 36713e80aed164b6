//! The scheduler: per-worker run queues, the global injection queue, work stealing in
//! topology order and the single-core run loop all live here, as they land.
//!
//! So far it holds the per-worker [`local_queue`]: a bounded ring owned by one worker,
//! from which other workers steal half at a time.

// Items are `pub` (not `pub(crate)`) only so that, under `--cfg loom`, lib.rs can
// re-export them to the loom models through `__loom`; in other builds the module is
// crate-private and nothing here is reachable from outside.
#[cfg_attr(
    not(loom),
    expect(
        unreachable_pub,
        reason = "pub only for the loom re-export; the module is crate-private"
    )
)]
// The scheduler that uses the queue has not landed yet: until it does, only the tests
// and the loom models use it. Remove this once the scheduler calls it.
#[cfg_attr(
    not(any(test, loom)),
    expect(dead_code, reason = "used by the scheduler, which has not landed yet")
)]
pub(crate) mod local_queue;
