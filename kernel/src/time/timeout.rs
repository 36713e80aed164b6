//! [`Timeout`]: a future with a deadline, and [`Elapsed`], the error when it is missed.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use ravelin_hal::Instant;

use super::Sleep;

/// A future that runs an inner future until a deadline; made by [`Timers::timeout`] and
/// [`Timers::timeout_at`](super::Timers::timeout_at).
///
/// It yields `Ok(output)` if the inner future completes first, or `Err(Elapsed)` once the
/// deadline has passed. The inner future is polled first, so one that is ready at the
/// deadline wins. When time runs out the inner future is not dropped until the `Timeout`
/// is.
///
/// [`Timers::timeout`]: super::Timers::timeout
#[must_use = "futures do nothing unless polled"]
pub struct Timeout<'t, F> {
    /// Structurally pinned.
    future: F,
    /// Structurally pinned.
    sleep: Sleep<'t>,
}

impl<'t, F> Timeout<'t, F> {
    pub(super) fn new(future: F, sleep: Sleep<'t>) -> Self {
        Self { future, sleep }
    }

    /// The instant at which time runs out.
    #[must_use]
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The inner future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The inner future, pinned.
    pub fn get_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
        // SAFETY: `future` is structurally pinned: it is never moved out of a pinned
        // `Timeout`, which has no `Drop` of its own.
        unsafe { self.map_unchecked_mut(|this| &mut this.future) }
    }

    /// The inner future, from a `Timeout` that was never pinned (so never polled).
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<'_, F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out; both fields are projected as pinned below.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `future` is structurally pinned (see `get_mut`).
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // SAFETY: `sleep` is structurally pinned, like `future`.
        let sleep = unsafe { Pin::new_unchecked(&mut this.sleep) };
        sleep.poll(cx).map(|()| Err(Elapsed(())))
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("deadline", &self.sleep.deadline())
            .finish()
    }
}

/// The error of a [`Timeout`] whose deadline passed before its future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl core::error::Error for Elapsed {}
