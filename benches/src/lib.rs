//! Benchmarks of Ravelin against its peers, measured side by side in one run.
//!
//! The workloads live in [`workloads`] and are shared by the criterion suites
//! (`cargo bench -p ravelin-benches`) and the quick side-by-side table
//! (`cargo run --release -p ravelin-benches --bin compare [-- --quick]`), so the two never
//! measure different code. [`alloc_count`] is the counting global allocator the `compare`
//! binary installs to report heap allocations and bytes per spawn.
//!
//! The multi-worker workloads run Ravelin's work-stealing scheduler through
//! [`ravelin_rt::RavelinRuntime`] and the peers' runtimes through [`peer_rt`].

pub mod alloc_count;
pub mod peer_rt;
pub mod ravelin_rt;
pub mod workloads;

/// The unit tests count allocations too.
#[cfg(test)]
#[global_allocator]
static GLOBAL: alloc_count::CountingAlloc = alloc_count::CountingAlloc;
