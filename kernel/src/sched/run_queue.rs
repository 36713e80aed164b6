//! [`RunQueue`]: an intrusive, lock-free, multi-producer run queue whose consumer takes
//! everything at once.
//!
//! Producers push a `Runnable` by linking its header in front of the current head with a
//! compare-exchange (a Treiber stack push). The single consumer takes the whole list
//! with one `swap(null)` and walks it in reverse, so procs run in the order they became
//! ready, and procs readied meanwhile wait for the next batch (no proc can starve the
//! others by waking itself). This is the shape of Embassy's run queue.
//!
//! Why this is safe without ABA protection: nodes are only ever removed by the
//! consumer's `swap`, which takes the whole list; no producer ever reads a node's link
//! after it has been published, and a node is pushed again only after the consumer has
//! taken it out and run it (a proc has at most one `Runnable`, state rule 5).
//!
//! Every operation is a bounded number of atomic instructions except the push's
//! compare-exchange loop, which retries only when another push won: `push` is safe to
//! call from interrupt handlers. Memory: none; the links live in the proc headers.

use core::ptr::{self, NonNull};

use crate::lightproc::Runnable;
use crate::lightproc::header::Header;
use crate::sync::{AtomicPtr, Ordering};

/// The queue: a pointer to the most recently pushed proc.
pub(crate) struct RunQueue {
    head: AtomicPtr<Header>,
}

impl RunQueue {
    /// An empty queue.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// An empty queue (loom's atomics are not `const`).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Pushes `runnable`. Returns true if the queue was empty, so that its consumer may
    /// be parked and needs an unpark.
    pub(crate) fn push(&self, runnable: Runnable) -> bool {
        let node = runnable.into_header();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: we hold the proc's Runnable (it was just turned into `node`), so
            // its link is ours until the compare-exchange publishes it (state rule 5).
            unsafe { Header::set_queue_next(node, NonNull::new(head)) };
            // Release: the link (and the proc) are visible to the consumer's Acquire.
            match self.head.compare_exchange_weak(
                head,
                node.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return head.is_null(),
                Err(actual) => head = actual,
            }
        }
    }

    /// Takes every queued proc, oldest first.
    pub(crate) fn take_all(&self) -> Batch {
        let mut newest = NonNull::new(self.head.swap(ptr::null_mut(), Ordering::Acquire));
        // Reverse the list in place so the batch yields the oldest first.
        let mut oldest = None;
        while let Some(node) = newest {
            // SAFETY: the swap made every node of the list ours (state rule 5), and the
            // Acquire saw the links their producers wrote.
            newest = unsafe { Header::queue_next(node) };
            // SAFETY: as above.
            unsafe { Header::set_queue_next(node, oldest) };
            oldest = Some(node);
        }
        Batch { next: oldest }
    }
}

/// Procs taken from a [`RunQueue`] (or the injection queue), oldest first: a list linked
/// through the headers. Dropping a batch with procs left in it drops their `Runnable`s,
/// which cancels them.
pub(crate) struct Batch {
    next: Option<NonNull<Header>>,
}

impl Batch {
    /// A batch of the list that starts at `first` and ends at a `None` link.
    ///
    /// # Safety
    /// The caller hands over the Runnable of every proc in the list.
    #[cfg(feature = "alloc")]
    pub(crate) unsafe fn from_list(first: Option<NonNull<Header>>) -> Self {
        Self { next: first }
    }
}

impl Iterator for Batch {
    type Item = Runnable;

    fn next(&mut self) -> Option<Runnable> {
        let node = self.next?;
        // SAFETY: the batch holds the Runnable of every node in it (state rule 5).
        self.next = unsafe { Header::queue_next(node) };
        // SAFETY: each node carries the reference of the Runnable pushed for it, handed
        // out exactly once here.
        Some(unsafe { Runnable::from_header(node) })
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.for_each(drop);
    }
}

// SAFETY: a batch owns the Runnables in it, and Runnables are Send.
unsafe impl Send for Batch {}

#[cfg(all(test, not(loom), feature = "alloc"))]
mod tests {
    extern crate std;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::vec::Vec;

    use super::*;
    use crate::lightproc::{ProcHandle, spawn};

    fn proc_returning(i: usize) -> (Runnable, ProcHandle<usize>) {
        spawn(async move { i }, |r: Runnable| drop(r))
    }

    #[test]
    fn batch_yields_oldest_first_and_push_reports_empty() {
        let q = RunQueue::new();
        let mut handles = Vec::new();
        for i in 0..5 {
            let (r, h) = proc_returning(i);
            assert_eq!(q.push(r), i == 0);
            handles.push(h);
        }
        let ids: Vec<_> = q.take_all().map(|r| r.id()).collect();
        let expected: Vec<_> = handles.iter().map(|h| h.id()).collect();
        assert_eq!(ids, expected);
        assert!(q.take_all().next().is_none());
    }

    #[test]
    fn a_dropped_batch_cancels_what_is_left() {
        let q = RunQueue::new();
        let (r1, h1) = proc_returning(1);
        let (r2, h2) = proc_returning(2);
        q.push(r1);
        q.push(r2);
        let mut batch = q.take_all();
        batch.next().unwrap().run();
        drop(batch);
        assert!(h1.is_finished() && h2.is_finished());
    }

    #[test]
    fn concurrent_producers_lose_nothing() {
        let per_thread = if cfg!(miri) { 20 } else { 5_000 };
        let q = Arc::new(RunQueue::new());
        let ran = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..3)
            .map(|_| {
                let (q, ran) = (q.clone(), ran.clone());
                std::thread::spawn(move || {
                    for _ in 0..per_thread {
                        let ran = ran.clone();
                        let (r, h) = spawn(async move { ran.fetch_add(1, SeqCst) }, drop);
                        h.detach();
                        q.push(r);
                    }
                })
            })
            .collect();
        let mut taken = 0;
        while taken < 3 * per_thread {
            for r in q.take_all() {
                r.run();
                taken += 1;
            }
            std::thread::yield_now();
        }
        producers.into_iter().for_each(|p| p.join().unwrap());
        assert_eq!(ran.load(SeqCst), 3 * per_thread);
        assert!(q.take_all().next().is_none());
    }
}
