//! Workloads shared by the criterion suites and the `compare` binary.
//!
//! Each workload is a [`Workload`]: one call of [`Workload::run_batch`] does a fixed
//! amount of work ([`Workload::elements`] units), the same for Ravelin and its peer, so
//! times per element compare directly.
//!
//! - [`spawn`]: spawn + run + join of an empty process on one thread, with the peers
//!   that need crates of their own in [`spawn_embassy`] and [`spawn_monoio`];
//! - [`spawn_multi`]: the same on all [`WORKERS`] workers of a multi-threaded runtime;
//! - [`steal`]: many small processes spawned from one worker, stolen by the others;
//! - [`idle`]: CPU time of an idle runtime;
//! - [`file_read`]: 4 KiB random reads from the page cache at depth 1 and 32;
//! - [`mailbox`]: mailbox send + receive on one thread, and heap allocations per message;
//! - [`ping_pong`]: round trips between two processes on [`WORKERS`] workers;
//! - [`restart`]: a supervisor restarting a failing child on [`WORKERS`] workers;
//! - [`tcp_echo`]: loopback TCP echo with 64 connections, server CPU per round trip;
//! - [`scale`]: a million idle processes with 8-slot mailboxes: memory, spawn, delivery
//!   and shutdown per process.

pub mod file_read;
pub mod idle;
pub mod mailbox;
pub mod ping_pong;
pub mod restart;
pub mod scale;
pub mod spawn;
pub mod spawn_embassy;
pub mod spawn_monoio;
pub mod spawn_multi;
pub mod steal;
pub mod tcp_echo;

/// Worker threads of every multi-threaded runtime measured: this machine's 2 cores.
pub const WORKERS: usize = 2;

use crate::alloc_count::{self, Counts};

/// A repeatable unit of measured work.
pub trait Workload {
    /// Short name for tables and criterion ids, e.g. `"ravelin (heap)"`.
    fn name(&self) -> &'static str;

    /// How many elements (procs, messages, …) one batch handles.
    fn elements(&self) -> usize;

    /// Does one batch; returns how many elements completed (equal to
    /// [`elements`](Self::elements)), for `black_box` and sanity checks.
    fn run_batch(&mut self) -> usize;
}

/// Heap allocations and bytes per element of one steady-state batch: one batch is run
/// first to warm up queues and buffers, then a second one is counted.
///
/// Returns `None` unless [`CountingAlloc`](crate::alloc_count::CountingAlloc) is the
/// global allocator.
pub fn allocations_per_element(workload: &mut dyn Workload) -> Option<PerElement> {
    if !alloc_count::is_installed() {
        return None;
    }
    workload.run_batch();
    let (done, Counts { allocations, bytes }) = alloc_count::count(|| workload.run_batch());
    assert_eq!(done, workload.elements(), "{} lost work", workload.name());
    let n = workload.elements() as f64;
    Some(PerElement {
        allocations: allocations as f64 / n,
        bytes: bytes as f64 / n,
    })
}

/// Average heap use per element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerElement {
    /// Heap allocations per element.
    pub allocations: f64,
    /// Bytes allocated per element.
    pub bytes: f64,
}
