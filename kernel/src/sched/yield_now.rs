//! [`yield_now`]: let the other ready procs run.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Yields once: the proc is rescheduled behind the procs already ready (its scheduler
/// sees [`ScheduleReason::Yielded`](crate::lightproc::ScheduleReason::Yielded)).
///
/// ```
/// # use ravelin_hal::TestPlatform;
/// # use ravelin_kernel::sched::{Executor, yield_now};
/// # static PLATFORM: TestPlatform = TestPlatform::new(1);
/// # static EXECUTOR: Executor = Executor::new(&PLATFORM);
/// let mut handle = EXECUTOR.spawn(async {
///     yield_now().await;
///     "resumed"
/// });
/// assert_eq!(EXECUTOR.run_once(), 1); // polled once: yielded
/// assert_eq!(EXECUTOR.block_on(&mut handle).unwrap(), "resumed");
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
