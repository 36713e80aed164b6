//! Lightprocs on the deterministic test platform: spawn, wake, join, timers, cancel and a
//! caught panic, run by the kernel's single-core `Executor`, which parks through the HAL
//! whenever nothing is ready.
//!
//! `cargo run -p ravelin-kernel --example lightprocs`
//!
//! The clock is virtual: it only moves when the worker parks until a timer deadline
//! (auto-advance), so the printed times are the same on every run and every machine.

use std::sync::Mutex;
use std::task::{Poll, Waker};

use ravelin_hal::{Clock, Duration, TestPlatform};
use ravelin_kernel::lightproc::{Builder, JoinError, ProcHandle};
use ravelin_kernel::sched::Executor;

static PLATFORM: TestPlatform = TestPlatform::new(1);
static EXECUTOR: Executor = Executor::new(&PLATFORM);

fn log(what: std::fmt::Arguments<'_>) {
    let ms = PLATFORM.now().as_nanos() / 1_000_000;
    println!("[{ms:>4} ms] {what}");
}

/// A one-slot channel: `send` stores a value and wakes the receiver.
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
    let handle = EXECUTOR
        .spawner()
        .spawn_with(Builder::new().name(name), future);
    log(format_args!("spawned  {}", handle.stack()));
    handle
}

fn main() {
    // Panics are caught at the poll boundary; keep the default hook's report short.
    std::panic::set_hook(Box::new(|info| {
        log(format_args!("panic caught in a proc: {info}"))
    }));
    PLATFORM.set_auto_advance(true);

    static MAILBOX: Slot = Slot {
        value: Mutex::new((None, None)),
    };
    // A consumer that waits for a value, and a producer that sends it after a delay.
    let consumer = spawn("consumer", async {
        let v = MAILBOX.recv().await;
        log(format_args!("consumer received {v}"));
        v * 2
    });
    spawn("producer", async {
        EXECUTOR.sleep(Duration::from_millis(250)).await;
        log(format_args!("producer sends 21"));
        MAILBOX.send(21)
    })
    .detach();
    // A parent that joins the consumer: a ProcHandle is itself a future.
    let mut parent = spawn("parent", async move {
        let doubled = consumer.await.expect("consumer completed");
        format!("consumer answered {doubled}")
    });
    // A proc that would never finish in time, and one that panics.
    let mut slow = spawn("slow", async {
        let never = std::future::pending::<()>();
        EXECUTOR.timeout(Duration::from_secs(1), never).await
    });
    let mut faulty = spawn("faulty", async { panic!("sensor unplugged") });
    let mut stuck = spawn("stuck", std::future::pending::<()>());

    log(format_args!(
        "joined   parent: {:?}",
        EXECUTOR.block_on(&mut parent)
    ));
    log(format_args!(
        "joined   slow: {:?}",
        EXECUTOR.block_on(&mut slow)
    ));
    match EXECUTOR.block_on(&mut faulty) {
        Err(JoinError::Panicked(panic)) => log(format_args!(
            "joined   faulty: panicked with {:?}; the worker survived",
            panic.message().unwrap_or("?")
        )),
        other => log(format_args!("joined   faulty: {other:?}")),
    }
    log(format_args!("cancel   {}", stuck.stack()));
    stuck.cancel();
    log(format_args!(
        "joined   stuck: {:?}",
        EXECUTOR.block_on(&mut stuck)
    ));
    println!(
        "polls: {}, parks: {}, virtual clock jumps: {}",
        EXECUTOR.polls(),
        EXECUTOR.parks(),
        PLATFORM.clock_jumps()
    );
}
