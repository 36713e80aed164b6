//! The footprint twin on Embassy's executor: spawns three sleepers from a task pool of
//! four, waits for them, and meets the full pool, printing what
//! `firmware/src/bin/twin.rs` prints. Time comes from Ravelin's Cortex-M platform (the
//! same SysTick clock and alarm as the Ravelin twin) through an Embassy time driver.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Waker;

use critical_section::Mutex;
use embassy_executor::{Executor, Spawner};
use embassy_time::Timer;
use embassy_time_queue_utils::Queue;
use ravelin_firmware::{PLATFORM, check, entry, exceptions, finish, log, now_ms, start};
use ravelin_hal::{Clock, Instant};

static ORDER: AtomicU32 = AtomicU32::new(0);
static DONE: AtomicU32 = AtomicU32::new(0);

/// Embassy's time driver on the platform's SysTick clock and alarm, in microseconds.
struct Driver {
    queue: Mutex<RefCell<Queue>>,
}

impl Driver {
    /// Wakes what is due and arms the alarm for the next expiration.
    fn rearm(&self, queue: &mut Queue) {
        loop {
            let next = queue.next_expiration(embassy_time_driver::Driver::now(self));
            if next == u64::MAX || PLATFORM.set_alarm(Instant::from_nanos(next * 1_000)) {
                break;
            }
        }
    }
}

impl embassy_time_driver::Driver for Driver {
    fn now(&self) -> u64 {
        PLATFORM.now().as_nanos() / 1_000
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow_ref_mut(cs);
            if queue.schedule_wake(at, waker) {
                self.rearm(&mut queue);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: Driver = Driver {
    queue: Mutex::new(RefCell::new(Queue::new())),
});

exceptions!(hard_fault);

#[cortex_m_rt::exception]
fn SysTick() {
    PLATFORM.on_systick();
    critical_section::with(|cs| DRIVER.rearm(&mut DRIVER.queue.borrow_ref_mut(cs)));
}

#[embassy_executor::task(pool_size = 4)]
async fn sleeper(id: u32, millis: u64) {
    Timer::after_millis(millis).await;
    log!("sleeper {} woke at {} ms", id, now_ms());
    ORDER.store(ORDER.load(Ordering::Relaxed) * 10 + id, Ordering::Relaxed);
    DONE.store(DONE.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

#[embassy_executor::task]
async fn run(spawner: Spawner) {
    for (id, millis) in [(1, 30), (2, 10), (3, 20)] {
        if spawner.spawn(sleeper(id, millis)).is_err() {
            check!(false, "spawned");
        }
    }
    // Embassy has no join: wait until the three have counted themselves done.
    while DONE.load(Ordering::Relaxed) < 3 {
        Timer::after_millis(1).await;
    }
    for _ in 0..3 {
        check!(true, "joined");
    }
    check!(ORDER.load(Ordering::Relaxed) == 231, "deadline order");
    let mut refused = 0;
    for _ in 0..5 {
        if spawner.spawn(sleeper(9, 1_000)).is_err() {
            refused += 1;
        }
    }
    check!(refused == 1, "a full pool refused the fifth spawn");
    finish()
}

#[entry]
fn main() -> ! {
    start("twin");
    let Some(executor) = cortex_m::singleton!(: Executor = Executor::new()) else {
        ravelin_firmware::fail_hard(format_args!("main ran twice"));
    };
    executor.run(|spawner| {
        if spawner.spawn(run(spawner)).is_err() {
            ravelin_firmware::fail_hard(format_args!("the run task did not spawn"));
        }
    })
}
