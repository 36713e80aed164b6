//! [`Inject`]: the global injection queue of the multi-worker scheduler.
//!
//! Spawns and wake-ups from outside a worker land here, as do the procs a worker's full
//! local queue overflows. It is an intrusive FIFO list (the links live in the proc
//! headers, so it needs no memory and has no capacity limit beyond the number of procs)
//! behind a short lock, with an atomic length so that workers can see it is empty
//! without taking the lock.
//!
//! Closing the queue (at shutdown) makes every later push hand its `Runnable` back, so
//! that no proc is left in a queue nobody will drain: such a proc would keep the
//! scheduler alive through its own `Schedule` value.

use core::ptr::NonNull;

use super::run_queue::Batch;
use crate::lightproc::Runnable;
use crate::lightproc::header::Header;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// The queue.
pub struct Inject {
    list: Mutex<List>,
    /// The number of queued procs; written under the lock, read without it.
    len: AtomicUsize,
}

struct List {
    head: Option<NonNull<Header>>,
    tail: Option<NonNull<Header>>,
    closed: bool,
}

// SAFETY: the list owns the Runnables linked in it (state rule 5), and Runnables are Send.
unsafe impl Send for List {}

impl Inject {
    /// An empty, open queue.
    #[allow(clippy::new_without_default)] // crate-private; `pub` only for the loom export
    pub fn new() -> Self {
        Self {
            list: Mutex::new(List {
                head: None,
                tail: None,
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// True if no proc is queued (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// The number of queued procs (a snapshot).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Queues `runnable` at the back; a closed queue hands it back.
    pub fn push(&self, runnable: Runnable) -> Result<(), Runnable> {
        let mut list = self.list.lock();
        if list.closed {
            return Err(runnable);
        }
        let node = runnable.into_header();
        // SAFETY: the list owns `node`'s Runnable from now on (state rule 5).
        unsafe { list.push_back(node) };
        self.len
            .store(self.len.load(Ordering::Relaxed) + 1, Ordering::Release);
        Ok(())
    }

    /// Takes the proc at the front.
    pub fn pop(&self) -> Option<Runnable> {
        if self.is_empty() {
            return None;
        }
        let mut list = self.list.lock();
        let node = list.head?;
        // SAFETY: the list owns every node in it, so their links are its to read.
        list.head = unsafe { Header::queue_next(node) };
        if list.head.is_none() {
            list.tail = None;
        }
        self.len
            .store(self.len.load(Ordering::Relaxed) - 1, Ordering::Release);
        drop(list);
        // SAFETY: the node carried its Runnable's reference into the list; it leaves
        // exactly once, here.
        Some(unsafe { Runnable::from_header(node) })
    }

    /// Takes up to `max` procs from the front, under one lock.
    pub(crate) fn pop_batch(&self, max: usize) -> Batch {
        if self.is_empty() || max == 0 {
            // SAFETY: the empty list hands over nothing.
            return unsafe { Batch::from_list(None) };
        }
        let mut list = self.list.lock();
        let first = list.head;
        let mut last = None;
        let mut taken = 0;
        while taken < max {
            let Some(node) = list.head else { break };
            // SAFETY: the list owns every node in it, so their links are its to read.
            list.head = unsafe { Header::queue_next(node) };
            last = Some(node);
            taken += 1;
        }
        if let Some(last) = last {
            // SAFETY: `last` is ours now; cutting its link ends the batch there.
            unsafe { Header::set_queue_next(last, None) };
        }
        if list.head.is_none() {
            list.tail = None;
        }
        self.len
            .store(self.len.load(Ordering::Relaxed) - taken, Ordering::Release);
        drop(list);
        // SAFETY: the nodes from `first` to `last` left the list together, carrying
        // their Runnables' references.
        unsafe { Batch::from_list(if taken == 0 { None } else { first }) }
    }

    /// Closes the queue: later pushes hand their Runnable back. Returns true if it was
    /// open.
    pub fn close(&self) -> bool {
        let mut list = self.list.lock();
        !core::mem::replace(&mut list.closed, true)
    }
}

impl List {
    /// # Safety
    /// The caller hands the list `node`'s Runnable.
    unsafe fn push_back(&mut self, node: NonNull<Header>) {
        // SAFETY: the list owns `node` now.
        unsafe { Header::set_queue_next(node, None) };
        match self.tail {
            // SAFETY: the list owns `tail`.
            Some(tail) => unsafe { Header::set_queue_next(tail, Some(node)) },
            None => self.head = Some(node),
        }
        self.tail = Some(node);
    }
}

impl Drop for Inject {
    fn drop(&mut self) {
        // Anything left is cancelled: its Runnable is dropped here.
        while self.pop().is_some() {}
    }
}

#[cfg(all(test, not(loom), feature = "alloc"))]
mod tests {
    use super::*;
    use crate::lightproc::spawn;

    #[test]
    fn fifo_and_close_hands_back() {
        let q = Inject::new();
        assert!(q.is_empty() && q.pop().is_none());
        let (r1, h1) = spawn(async { 1 }, drop);
        let (r2, h2) = spawn(async { 2 }, drop);
        q.push(r1).unwrap();
        q.push(r2).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().unwrap().id(), h1.id());
        assert!(q.close());
        assert!(!q.close());
        let (r3, _h3) = spawn(async { 3 }, drop);
        assert!(q.push(r3).is_err(), "a closed queue hands the proc back");
        assert_eq!(
            q.pop().unwrap().id(),
            h2.id(),
            "closing keeps what was queued"
        );
        assert!(q.pop().is_none());
    }

    #[test]
    fn pop_batch_takes_a_prefix_in_order() {
        let q = Inject::new();
        let handles: std::vec::Vec<_> = (0..5)
            .map(|i| {
                let (r, h) = spawn(async move { i }, drop);
                q.push(r).unwrap();
                h
            })
            .collect();
        let ids: std::vec::Vec<_> = q.pop_batch(3).map(|r| r.id()).collect();
        assert_eq!(ids, [handles[0].id(), handles[1].id(), handles[2].id()]);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_batch(10).count(), 2);
        assert!(q.is_empty() && q.pop_batch(1).next().is_none());
        let (r, _h) = spawn(async {}, drop);
        q.push(r).unwrap();
        assert_eq!(q.pop().map(|_| ()), Some(()), "the tail was reset");
    }

    #[test]
    fn dropping_the_queue_cancels_what_is_left() {
        let q = Inject::new();
        let (r, h) = spawn(async { 1 }, drop);
        q.push(r).unwrap();
        drop(q);
        assert!(h.is_finished());
    }
}
