//! Operation slots: one io_uring operation in flight, the future that waits for it, and
//! who owns its buffers until the kernel lets go of them (TRAPS 21).
//!
//! Each operation is an [`OpShared`], shared by the [`Op`] future and the driver's slot
//! table (see `slots`), which is on the worker thread that submitted it. The payload
//! (buffers, the file descriptor's owner, addresses: everything the kernel reads or
//! writes) sits inside it, at a heap address that does not change, from submission
//! until the kernel's completion has been reaped.
//!
//! ```text
//!                 completion                     future takes the result
//!   Submitted ------------------> Completed -----------------------------> Done
//!       |                             |
//!       | future dropped:             | future dropped before taking it:
//!       | ASYNC_CANCEL asked          | Payload::orphaned(result), now
//!       v                             v
//!   Cancelling --completion--> Payload::orphaned(result) ----------------> Done
//! ```
//!
//! - The driver holds the slot until the completion arrives, whatever the future does:
//!   the payload (and so the buffer and the fd) lives at least that long.
//! - A completion that nobody will take is handed to [`Payload::orphaned`]: a stream
//!   read keeps the bytes it consumed for the stream's next read, an accepted
//!   connection is closed. Nothing the kernel did is lost silently.
//! - The cancel is submitted by the owning worker only (SINGLE_ISSUER): a future
//!   dropped on another thread (after a steal) queues it on the owner's
//!   [`WorkerHandle`] and wakes it.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::WorkerHandle;

/// What an operation keeps alive for the kernel, and what becomes of a completion
/// nobody takes.
pub(crate) trait Payload: Send + 'static {
    /// The future was dropped while the operation was in flight; a cancel is asked.
    fn cancelling(&self) {}

    /// The operation completed with `result` (`-errno` on failure), but its future is
    /// gone. The default drops the payload.
    fn orphaned(self: Box<Self>, result: i32) {
        let _ = result;
    }
}

/// What the driver does after releasing itself: wake a future, or hand an orphaned
/// completion to its payload.
pub(crate) enum Outcome {
    Wake(Waker),
    Orphan(Box<dyn FnOnce() + Send>),
}

impl Outcome {
    pub(crate) fn settle(self) {
        match self {
            Self::Wake(waker) => waker.wake(),
            Self::Orphan(run) => run(),
        }
    }
}

/// The driver's view of an operation, whatever its payload.
pub(crate) trait Slot: Send + Sync {
    /// The kernel completed the operation with `result`.
    fn complete(&self, result: i32) -> Option<Outcome>;
}

enum State {
    Submitted(Option<Waker>),
    Completed(i32),
    Cancelling,
    Done,
}

struct Inner<T> {
    state: State,
    payload: Option<Box<T>>,
}

/// One operation, shared by its future and the driver that submitted it.
pub(crate) struct OpShared<T> {
    inner: Mutex<Inner<T>>,
    /// The worker whose ring has the operation (`None`: never submitted).
    owner: Option<Arc<WorkerHandle>>,
    user_data: u64,
}

impl<T> OpShared<T> {
    /// An operation submitted to `owner`'s ring with `user_data`.
    pub(crate) fn new(payload: Box<T>, owner: Option<Arc<WorkerHandle>>, user_data: u64) -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: State::Submitted(None),
                payload: Some(payload),
            }),
            owner,
            user_data,
        }
    }

    /// The operation's `user_data`.
    pub(crate) fn user_data(&self) -> u64 {
        self.user_data
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // No code that can panic runs under this lock.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Payload> Slot for OpShared<T> {
    fn complete(&self, result: i32) -> Option<Outcome> {
        let mut inner = self.lock();
        match core::mem::replace(&mut inner.state, State::Done) {
            State::Submitted(waker) => {
                inner.state = State::Completed(result);
                waker.map(Outcome::Wake)
            }
            State::Cancelling => {
                let payload = inner.payload.take()?;
                Some(Outcome::Orphan(Box::new(move || payload.orphaned(result))))
            }
            state @ (State::Completed(_) | State::Done) => {
                inner.state = state; // a second completion: not ours to act on
                None
            }
        }
    }
}

/// The future of one submitted operation: its result and its payload back.
pub(crate) struct Op<T: Payload> {
    shared: Option<Arc<OpShared<T>>>,
}

impl<T: Payload> Op<T> {
    /// The future of a submitted operation.
    pub(crate) fn new(shared: Arc<OpShared<T>>) -> Self {
        Self {
            shared: Some(shared),
        }
    }

    /// An operation that was never submitted: it completes at once with `result`.
    pub(crate) fn ready(payload: Box<T>, result: i32) -> Self {
        let shared = OpShared::new(payload, None, 0);
        shared.lock().state = State::Completed(result);
        Self::new(Arc::new(shared))
    }
}

impl<T: Payload> Future for Op<T> {
    type Output = (i32, Box<T>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(shared) = self.shared.as_ref() else {
            return Poll::Pending; // polled after completion: never again ready
        };
        let mut inner = shared.lock();
        match &mut inner.state {
            State::Submitted(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            State::Completed(result) => {
                let result = *result;
                inner.state = State::Done;
                let payload = inner.payload.take();
                drop(inner);
                self.shared = None;
                match payload {
                    Some(payload) => Poll::Ready((result, payload)),
                    None => Poll::Pending,
                }
            }
            State::Cancelling | State::Done => Poll::Pending,
        }
    }
}

impl<T: Payload> Drop for Op<T> {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let mut inner = shared.lock();
        match core::mem::replace(&mut inner.state, State::Done) {
            State::Submitted(_) => {
                inner.state = State::Cancelling;
                if let Some(payload) = &inner.payload {
                    payload.cancelling();
                }
                drop(inner);
                if let Some(owner) = &shared.owner {
                    super::cancel(owner, shared.user_data);
                }
            }
            State::Completed(result) => {
                let payload = inner.payload.take();
                drop(inner);
                if let Some(payload) = payload {
                    payload.orphaned(result);
                }
            }
            state @ (State::Cancelling | State::Done) => inner.state = state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering as AtomicOrdering};

    /// Records what became of it.
    #[derive(Default)]
    struct Record {
        cancelling: AtomicUsize,
        orphaned: AtomicI32,
    }

    struct Probe(Arc<Record>);

    impl Payload for Probe {
        fn cancelling(&self) {
            self.0.cancelling.fetch_add(1, AtomicOrdering::Relaxed);
        }
        fn orphaned(self: Box<Self>, result: i32) {
            self.0.orphaned.store(result, AtomicOrdering::Relaxed);
        }
    }

    fn op() -> (Op<Probe>, Arc<OpShared<Probe>>, Arc<Record>) {
        let record = Arc::new(Record::default());
        let shared = Arc::new(OpShared::new(Box::new(Probe(record.clone())), None, 7));
        (Op::new(shared.clone()), shared, record)
    }

    fn poll(op: &mut Op<Probe>) -> Poll<(i32, Box<Probe>)> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(op).poll(&mut cx)
    }

    #[test]
    fn a_completion_wakes_the_future_and_hands_back_the_payload() {
        let (mut op, shared, record) = op();
        assert!(poll(&mut op).is_pending());
        assert!(matches!(shared.complete(12), Some(Outcome::Wake(_))));
        let Poll::Ready((result, _payload)) = poll(&mut op) else {
            panic!("completed")
        };
        assert_eq!(result, 12);
        assert!(
            shared.complete(13).is_none(),
            "a second completion is ignored"
        );
        drop(op);
        assert_eq!(record.cancelling.load(AtomicOrdering::Relaxed), 0);
    }

    #[test]
    fn a_dropped_operation_keeps_its_payload_until_the_completion() {
        let (mut op, shared, record) = op();
        assert!(poll(&mut op).is_pending());
        drop(op);
        assert_eq!(record.cancelling.load(AtomicOrdering::Relaxed), 1);
        assert!(
            shared.lock().payload.is_some(),
            "the kernel may still use it"
        );
        // The read completed although the cancel was asked: 5 bytes consumed.
        let Some(Outcome::Orphan(run)) = shared.complete(5) else {
            panic!("an orphaned completion")
        };
        run();
        assert_eq!(record.orphaned.load(AtomicOrdering::Relaxed), 5);
        assert!(shared.lock().payload.is_none());
    }

    #[test]
    fn a_completion_never_taken_is_handed_to_the_payload() {
        let (mut op, shared, record) = op();
        assert!(poll(&mut op).is_pending());
        assert!(shared.complete(9).is_some());
        drop(op); // e.g. its deadline fired in the same poll
        assert_eq!(record.orphaned.load(AtomicOrdering::Relaxed), 9);
        assert_eq!(record.cancelling.load(AtomicOrdering::Relaxed), 0);
    }

    #[test]
    fn an_operation_never_submitted_completes_at_once() {
        let record = Arc::new(Record::default());
        let mut op = Op::ready(Box::new(Probe(record)), -libc::EBADF);
        assert!(matches!(poll(&mut op), Poll::Ready((r, _)) if r == -libc::EBADF));
    }
}
