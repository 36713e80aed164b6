//! [`unless_stopped`]: a piece of work raced against a stop request, as the cluster's
//! processes do at every wait (the supervisor's `stopping()` beside a receive, an ask,
//! a sleep).

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;

/// `work`'s output, or `None` once `stop` completes (checked first, so a stop is never
/// starved by work that is always ready).
pub(crate) async fn unless_stopped<S, W>(mut stop: Pin<&mut S>, work: W) -> Option<W::Output>
where
    S: Future<Output = ()>,
    W: Future,
{
    let mut work = pin!(work);
    poll_fn(|cx| {
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        work.as_mut().poll(cx).map(Some)
    })
    .await
}
