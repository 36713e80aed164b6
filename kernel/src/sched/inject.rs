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

use crate::lightproc::Runnable;
use crate::lightproc::header::Header;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// The queue.
pub(crate) struct Inject {
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
    pub(crate) fn new() -> Self {
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
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// The number of queued procs (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Queues `runnable` at the back; a closed queue hands it back.
    pub(crate) fn push(&self, runnable: Runnable) -> Result<(), Runnable> {
        let mut list = self.list.lock();
        if list.closed {
            return Err(runnable);
        }
        let node = runnable.into_header();
        // SAFETY: the list owns `node`'s Runnable from now on (state rule 5).
        unsafe { list.push_back(node) };
        self.len.store(self.len.load(Ordering::Relaxed) + 1, Ordering::Release);
        Ok(())
    }

    /// Takes the proc at the front.
    pub(crate) fn pop(&self) -> Option<Runnable> {
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
        self.len.store(self.len.load(Ordering::Relaxed) - 1, Ordering::Release);
        drop(list);
        // SAFETY: the node carried its Runnable's reference into the list; it leaves
        // exactly once, here.
        Some(unsafe { Runnable::from_header(node) })
    }

    /// Closes the queue: later pushes hand their Runnable back. Returns true if it was
    /// open.
    pub(crate) fn close(&self) -> bool {
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
        assert_eq!(q.pop().unwrap().id(), h2.id(), "closing keeps what was queued");
        assert!(q.pop().is_none());
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
