//! Lightprocs on the deterministic test platform: spawn, wake, join, cancel and a caught
//! panic, driven by a one-worker run loop that parks through the HAL when idle.
//!
//! `cargo run -p ravelin-kernel --example lightprocs`
//!
//! Every poll advances the virtual clock by 1 ms, so the printed times are the same on
//! every run and every machine.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ravelin_hal::{Clock, Park, TestPlatform, WorkerId};
use ravelin_kernel::lightproc::{
    Builder, JoinError, ProcHandle, ProcStack, Runnable, Schedule, ScheduleReason,
};

static PLATFORM: TestPlatform = TestPlatform::new(1);
const WORKER: WorkerId = WorkerId::new(0);
static EXECUTOR: Executor = Executor {
    queue: Mutex::new(VecDeque::new()),
};

/// The smallest executor: one queue, one worker, parking when the queue is empty.
struct Executor {
    queue: Mutex<VecDeque<Runnable>>,
}

/// The schedule value every proc carries: a pointer to the executor.
#[derive(Clone, Copy)]
struct OnWorker(&'static Executor);

fn log(what: std::fmt::Arguments<'_>) {
    let ms = PLATFORM.now().as_nanos() / 1_000_000;
    println!("[{ms:>3} ms] {what}");
}

impl Schedule for OnWorker {
    fn schedule(&self, runnable: Runnable, reason: ScheduleReason) {
        log(format_args!("schedule {} ({reason:?})", runnable.stack()));
        self.0.queue.lock().unwrap().push_back(runnable);
        PLATFORM.unpark(WORKER); // publish, then unpark: the worker cannot miss it
    }
    fn started(&self, stack: &ProcStack) {
        log(format_args!("started  {stack}"));
    }
    fn completed(&self, stack: &ProcStack) {
        log(format_args!("completed {stack}"));
    }
    fn failed(&self, stack: &ProcStack, error: &JoinError) {
        log(format_args!("failed   {stack}: {error}"));
    }
}

/// A one-slot channel: `send` stores a value and wakes the receiver.
#[derive(Default)]
struct Slot {
    value: Mutex<(Option<u32>, Option<Waker>)>,
}

impl Slot {
    fn send(&self, v: u32) {
        let mut inner = self.value.lock().unwrap();
        inner.0 = Some(v);
        if let Some(waker) = inner.1.take() {
            waker.wake();
        }
    }
    async fn recv(&self) -> u32 {
        std::future::poll_fn(|cx| {
            let mut inner = self.value.lock().unwrap();
            match inner.0.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    inner.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

fn spawn<F>(name: &'static str, future: F) -> ProcHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (runnable, handle) = Builder::new().name(name).spawn(future, OnWorker(&EXECUTOR));
    runnable.schedule();
    handle
}

/// Runs ready procs until none is left, parking through the HAL whenever the queue is
/// empty. The test platform's `park` returns at once when no unpark token is pending
/// (a spurious wake-up, which the contract allows), so an empty queue after a park
/// means the system is idle.
fn run_until_idle() {
    loop {
        let next = EXECUTOR.queue.lock().unwrap().pop_front();
        match next {
            Some(runnable) => {
                PLATFORM.advance(Duration::from_millis(1));
                runnable.run();
            }
            None => {
                PLATFORM.park(WORKER, None);
                if EXECUTOR.queue.lock().unwrap().is_empty() {
                    return;
                }
            }
        }
    }
}

/// Polls a handle whose proc has finished.
fn join<T: std::fmt::Debug>(mut handle: ProcHandle<T>) -> Poll<Result<T, JoinError>> {
    std::pin::Pin::new(&mut handle).poll(&mut Context::from_waker(Waker::noop()))
}

fn main() {
    // Panics are caught at the poll boundary; keep the default hook's report short.
    std::panic::set_hook(Box::new(|info| {
        log(format_args!("panic in a proc: {info}"))
    }));

    static MAILBOX: Slot = Slot {
        value: Mutex::new((None, None)),
    };
    // A consumer that waits for a value, and a producer that sends it.
    let consumer = spawn("consumer", async { MAILBOX.recv().await * 2 });
    spawn("producer", async { MAILBOX.send(21) }).detach();
    // A parent that joins the consumer: a ProcHandle is itself a future.
    let parent = spawn("parent", async move {
        let doubled = consumer.await.expect("consumer completed");
        format!("consumer answered {doubled}")
    });
    // A proc that never finishes, and one that panics.
    let stuck = spawn("stuck", std::future::pending::<()>());
    let faulty = spawn("faulty", async { panic!("sensor unplugged") });

    run_until_idle();
    log(format_args!("cancel   {}", stuck.stack()));
    stuck.cancel();
    run_until_idle();

    log(format_args!("joined   parent: {:?}", join(parent)));
    log(format_args!("joined   stuck: {:?}", join(stuck)));
    log(format_args!("joined   faulty: {:?}", join(faulty)));
    println!(
        "worker parked {} times, unparked {} times; the panic did not take it down",
        PLATFORM.parks(WORKER),
        PLATFORM.unparks(WORKER)
    );
}
