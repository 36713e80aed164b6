//! Mailbox send + receive on one thread: [`MESSAGES`] `u64`s per batch through a
//! bounded channel of capacity [`CAPACITY`].
//!
//! Two processes (a producer and a consumer) on one single-threaded executor:
//!
//! - [`RavelinProcs`]: a Ravelin [`Executor`] (one worker, on [`LinuxPlatform`]) run by
//!   the benchmark thread; the producer `send(..).await`s into a
//!   `mailbox::channel::<u64, 64>()` (waiting for room when it is full), the consumer
//!   `recv().await`s;
//! - [`TokioProcs`]: the same two tasks on Tokio's `current_thread` runtime over
//!   `tokio::sync::mpsc::channel(64)`.
//!
//! Both pairs are started once and live across batches: each batch, the benchmark thread
//! hands the producer a batch size through a control channel and runs the executor until
//! the consumer reports the batch received, so no spawn is part of a batch.
//!
//! And one plain loop on one thread, no executor: `try_send` until the channel is full,
//! then `try_recv` until it is empty, again and again; [`RavelinLoop`] over a Ravelin
//! mailbox, [`CrossbeamLoop`] over `crossbeam_channel::bounded(64)`.
//!
//! Every consumer checks that it receives `0, 1, 2, …` (each message once, in order) and
//! panics otherwise; a batch returns how many messages were received.

use crossbeam_channel::{TryRecvError as CbTryRecvError, TrySendError as CbTrySendError};
use ravelin_kernel::lightproc::ProcHandle;
use ravelin_kernel::mailbox::{self, Receiver, Sender, TrySendError};
use ravelin_kernel::sched::Executor;
use ravelin_linux::LinuxPlatform;

use super::Workload;

/// Messages per batch, the same for every system.
pub const MESSAGES: usize = 10_000;

/// Capacity of every data channel: 1,024, as the benchmarks issue's workload states.
pub const CAPACITY: usize = 1_024;

/// Checks that `message` is the one `expected` and counts it.
#[inline]
fn check(message: u64, expected: &mut u64) {
    assert_eq!(message, *expected, "message lost, repeated or reordered");
    *expected += 1;
}

/// A producer and a consumer proc on a Ravelin [`Executor`] that the benchmark thread
/// runs.
pub struct RavelinProcs {
    executor: &'static Executor,
    /// To the producer: how many messages to send next.
    start: Option<Sender<u64, 1>>,
    /// From the consumer: how many messages it has received in all, once per batch.
    done: Receiver<u64, 1>,
    procs: [ProcHandle<()>; 2],
    received: u64,
}

impl RavelinProcs {
    /// A workload with its executor made and its two procs spawned.
    ///
    /// The executor and its platform are leaked (an `Executor` needs `&'static`): a few
    /// hundred bytes per workload.
    pub fn new() -> Self {
        let platform: &'static LinuxPlatform = Box::leak(Box::new(LinuxPlatform::new(1)));
        let executor: &'static Executor = Box::leak(Box::new(Executor::new(platform)));
        let (start, mut start_rx) = mailbox::channel::<u64, 1>();
        let (done_tx, done) = mailbox::channel::<u64, 1>();
        let (tx, mut rx) = mailbox::channel::<u64, CAPACITY>();
        let producer = executor.spawn(async move {
            let mut next = 0u64;
            while let Some(count) = start_rx.recv().await {
                for _ in 0..count {
                    tx.send(next).await.expect("consumer gone");
                    next += 1;
                }
            }
        });
        let consumer = executor.spawn(async move {
            let mut expected = 0u64;
            while let Some(message) = rx.recv().await {
                check(message, &mut expected);
                if expected.is_multiple_of(MESSAGES as u64) {
                    done_tx.try_send(expected).expect("batch report not taken");
                }
            }
        });
        Self {
            executor,
            start: Some(start),
            done,
            procs: [producer, consumer],
            received: 0,
        }
    }
}

impl Default for RavelinProcs {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for RavelinProcs {
    fn name(&self) -> &'static str {
        "Ravelin Executor"
    }

    fn elements(&self) -> usize {
        MESSAGES
    }

    fn run_batch(&mut self) -> usize {
        let start = self.start.as_ref().expect("producer running");
        start.try_send(MESSAGES as u64).expect("producer busy");
        loop {
            if let Ok(total) = self.done.try_recv() {
                let batch = total - self.received;
                self.received = total;
                return batch as usize;
            }
            // Nothing else can wake a proc of this executor: no progress is a bug.
            assert!(self.executor.run_once() > 0, "mailbox workload stalled");
        }
    }
}

impl Drop for RavelinProcs {
    fn drop(&mut self) {
        // No more batches: the producer ends, which ends the consumer.
        drop(self.start.take());
        while !self.procs.iter().all(ProcHandle::is_finished) {
            if self.executor.run_once() == 0 {
                break;
            }
        }
    }
}

impl std::fmt::Debug for RavelinProcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RavelinProcs")
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

/// A producer and a consumer task on Tokio's `current_thread` runtime, run by the
/// benchmark thread in `block_on`.
#[derive(Debug)]
pub struct TokioProcs {
    runtime: tokio::runtime::Runtime,
    start: tokio::sync::mpsc::Sender<u64>,
    done: tokio::sync::mpsc::Receiver<u64>,
    received: u64,
}

impl TokioProcs {
    /// A workload with its runtime built and its two tasks spawned.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio current_thread runtime");
        let (start, mut start_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let (done_tx, done) = tokio::sync::mpsc::channel::<u64>(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        runtime.spawn(async move {
            let mut next = 0u64;
            while let Some(count) = start_rx.recv().await {
                for _ in 0..count {
                    tx.send(next).await.expect("consumer gone");
                    next += 1;
                }
            }
        });
        runtime.spawn(async move {
            let mut expected = 0u64;
            while let Some(message) = rx.recv().await {
                check(message, &mut expected);
                if expected.is_multiple_of(MESSAGES as u64) {
                    done_tx.try_send(expected).expect("batch report not taken");
                }
            }
        });
        Self {
            runtime,
            start,
            done,
            received: 0,
        }
    }
}

impl Default for TokioProcs {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for TokioProcs {
    fn name(&self) -> &'static str {
        "Tokio current_thread, mpsc"
    }

    fn elements(&self) -> usize {
        MESSAGES
    }

    fn run_batch(&mut self) -> usize {
        let (start, done) = (&self.start, &mut self.done);
        let total = self.runtime.block_on(async {
            start.try_send(MESSAGES as u64).expect("producer busy");
            done.recv().await.expect("consumer gone")
        });
        let batch = total - self.received;
        self.received = total;
        batch as usize
    }
}

/// A Ravelin mailbox filled with `try_send` and drained with `try_recv` on one thread.
#[derive(Debug)]
pub struct RavelinLoop {
    tx: Sender<u64, CAPACITY>,
    rx: Receiver<u64, CAPACITY>,
    next: u64,
}

impl RavelinLoop {
    /// A workload with its mailbox made.
    pub fn new() -> Self {
        let (tx, rx) = mailbox::channel::<u64, CAPACITY>();
        Self { tx, rx, next: 0 }
    }
}

impl Default for RavelinLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for RavelinLoop {
    fn name(&self) -> &'static str {
        "Ravelin mailbox, try_send/try_recv"
    }

    fn elements(&self) -> usize {
        MESSAGES
    }

    fn run_batch(&mut self) -> usize {
        let first = self.next;
        let end = first + MESSAGES as u64;
        let (mut sent, mut expected) = (first, first);
        while expected < end {
            while sent < end {
                match self.tx.try_send(sent) {
                    Ok(()) => sent += 1,
                    Err(TrySendError::Full(_)) => break,
                    Err(TrySendError::Closed(_)) => panic!("receiver gone"),
                }
            }
            while let Ok(message) = self.rx.try_recv() {
                check(message, &mut expected);
            }
        }
        self.next = end;
        (end - first) as usize
    }
}

/// A `crossbeam_channel::bounded(64)` filled with `try_send` and drained with `try_recv`
/// on one thread.
#[derive(Debug)]
pub struct CrossbeamLoop {
    tx: crossbeam_channel::Sender<u64>,
    rx: crossbeam_channel::Receiver<u64>,
    next: u64,
}

impl CrossbeamLoop {
    /// A workload with its channel made.
    pub fn new() -> Self {
        let (tx, rx) = crossbeam_channel::bounded(CAPACITY);
        Self { tx, rx, next: 0 }
    }
}

impl Default for CrossbeamLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for CrossbeamLoop {
    fn name(&self) -> &'static str {
        "crossbeam-channel, try_send/try_recv"
    }

    fn elements(&self) -> usize {
        MESSAGES
    }

    fn run_batch(&mut self) -> usize {
        let first = self.next;
        let end = first + MESSAGES as u64;
        let (mut sent, mut expected) = (first, first);
        while expected < end {
            while sent < end {
                match self.tx.try_send(sent) {
                    Ok(()) => sent += 1,
                    Err(CbTrySendError::Full(_)) => break,
                    Err(CbTrySendError::Disconnected(_)) => panic!("receiver gone"),
                }
            }
            loop {
                match self.rx.try_recv() {
                    Ok(message) => check(message, &mut expected),
                    Err(CbTryRecvError::Empty) => break,
                    Err(CbTryRecvError::Disconnected) => panic!("sender gone"),
                }
            }
        }
        self.next = end;
        (end - first) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::allocations_per_element;

    fn all() -> [Box<dyn Workload>; 4] {
        [
            Box::new(RavelinProcs::new()),
            Box::new(TokioProcs::new()),
            Box::new(RavelinLoop::new()),
            Box::new(CrossbeamLoop::new()),
        ]
    }

    /// Each consumer asserts `0, 1, 2, …` across batches; here, that every batch is whole.
    #[test]
    fn every_message_arrives_once_in_order() {
        for mut workload in all() {
            for _ in 0..3 {
                assert_eq!(workload.run_batch(), MESSAGES, "{}", workload.name());
            }
        }
    }

    #[test]
    fn ravelin_mailboxes_allocate_nothing_per_message() {
        for mut workload in [
            Box::new(RavelinProcs::new()) as Box<dyn Workload>,
            Box::new(RavelinLoop::new()),
        ] {
            let per = allocations_per_element(&mut *workload).expect("counting allocator");
            assert_eq!(per.allocations, 0.0, "{}", workload.name());
        }
    }

    #[test]
    fn dropping_the_ravelin_pair_ends_both_procs() {
        let mut workload = RavelinProcs::new();
        workload.run_batch();
        let executor = workload.executor;
        drop(workload);
        // Both procs finished inside drop: nothing is left to run.
        assert_eq!(executor.run_once(), 0);
    }
}
