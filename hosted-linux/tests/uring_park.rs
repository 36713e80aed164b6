//! The io_uring parker and the futex fallback against the same park-token tests.
//!
//! Every test runs on each available configuration: io_uring woken by MSG_RING,
//! io_uring woken through an eventfd (with and without DEFER_TASKRUN), and the futex
//! parker. Where io_uring is unavailable the uring configurations are skipped with a
//! printed line, and the futex one still runs. Each test is bounded by a watchdog.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration as StdDuration;

use ravelin_hal::{Clock, Duration, Instant};
use ravelin_linux::uring::{SleepMode, UringOptions, WakeMethod};
use ravelin_linux::{
    AnyParker, Backend, BackendPreference, MonotonicClock, ParkToken, Parker, UringParker,
};

fn now() -> Instant {
    MonotonicClock.now()
}

struct Config {
    name: &'static str,
    make: fn() -> AnyParker,
    /// How a uring parker should end up sleeping (None: futex).
    expect: Option<SleepMode>,
}

fn uring_msg_ring() -> AnyParker {
    AnyParker::Uring(UringParker::new())
}

fn uring_eventfd() -> AnyParker {
    AnyParker::Uring(UringParker::with_options(UringOptions {
        wake: WakeMethod::EventFd,
        ..UringOptions::default()
    }))
}

fn uring_eventfd_no_defer() -> AnyParker {
    AnyParker::Uring(UringParker::with_options(UringOptions {
        wake: WakeMethod::EventFd,
        defer_taskrun: false,
    }))
}

fn futex() -> AnyParker {
    AnyParker::Futex(Parker::new())
}

/// The configurations this machine can run, printing the ones it skips.
fn configs() -> Vec<Config> {
    let mut configs = Vec::new();
    match Backend::detect_with(BackendPreference::Auto) {
        Backend::Uring(features) => {
            if features.msg_ring_wakes() {
                configs.push(Config {
                    name: "uring+msg_ring",
                    make: uring_msg_ring,
                    expect: Some(SleepMode::MsgRing),
                });
            } else {
                println!("SKIP uring+msg_ring: MSG_RING wake-ups unavailable ({features})");
            }
            configs.push(Config {
                name: "uring+eventfd",
                make: uring_eventfd,
                expect: Some(SleepMode::EventFd),
            });
            configs.push(Config {
                name: "uring+eventfd,no-defer",
                make: uring_eventfd_no_defer,
                expect: Some(SleepMode::EventFd),
            });
        }
        Backend::Fallback(reason) => {
            println!("SKIP io_uring configurations: io_uring unavailable here: {reason}");
        }
    }
    configs.push(Config {
        name: "futex",
        make: futex,
        expect: None,
    });
    configs
}

/// Runs `test` on every configuration, each under a watchdog of `limit`.
fn on_every_backend(limit: StdDuration, test: fn(&'static str, fn() -> AnyParker)) {
    for config in configs() {
        let (name, make) = (config.name, config.make);
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            test(name, make);
            let _ = tx.send(());
        });
        match rx.recv_timeout(limit) {
            Ok(()) => worker.join().unwrap(),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // The test panicked: report its panic.
                if let Err(panic) = worker.join() {
                    eprintln!("[{name}] failed");
                    std::panic::resume_unwind(panic);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("[{name}] hung for {limit:?}"),
        }
        println!("[{name}] ok");
    }
}

const WATCHDOG: StdDuration = StdDuration::from_secs(10);
const SAFETY: Duration = Duration::from_secs(5);

#[test]
fn unpark_before_park_returns_at_once() {
    on_every_backend(WATCHDOG, |name, make| {
        let p = make();
        p.unpark();
        let start = now();
        p.park(Some(start + SAFETY));
        assert!(
            now() < start + Duration::from_secs(1),
            "[{name}] park slept"
        );
        // A second park with a token again, after the ring exists.
        p.unpark();
        let start = now();
        p.park(None);
        assert!(
            now() < start + Duration::from_secs(1),
            "[{name}] park slept"
        );
    });
}

#[test]
fn unpark_from_another_thread_wakes_a_parked_worker() {
    on_every_backend(WATCHDOG, |name, make| {
        let p = Arc::new(make());
        // Delays from "already there" to "long after the park began", so that the
        // unpark lands before, during and after the owner's entry into the kernel.
        for delay_us in [0u64, 10, 100, 1_000, 20_000] {
            let woken = Arc::new(AtomicBool::new(false));
            let (q, w) = (p.clone(), woken.clone());
            let waker = std::thread::spawn(move || {
                std::thread::sleep(StdDuration::from_micros(delay_us));
                w.store(true, Ordering::Release);
                q.unpark();
            });
            let start = now();
            while !woken.load(Ordering::Acquire) {
                p.park(Some(start + SAFETY));
                assert!(
                    now() < start + SAFETY,
                    "[{name}] not woken within 5 s (delay {delay_us} us)"
                );
            }
            waker.join().unwrap();
        }
    });
}

#[test]
fn park_with_a_deadline_returns_at_the_deadline() {
    on_every_backend(WATCHDOG, |name, make| {
        let p = make();
        for ms in [1, 30] {
            let deadline = now() + Duration::from_millis(ms);
            p.park(Some(deadline));
            let woke = now();
            assert!(woke >= deadline, "[{name}] returned before the deadline");
            assert!(woke < deadline + Duration::from_secs(2), "[{name}] late");
        }
        // The same deadline twice (the ring keeps its armed timeout), then a past one.
        let deadline = now() + Duration::from_millis(10);
        p.park(Some(deadline));
        p.park(Some(deadline));
        assert!(now() >= deadline);
        let start = now();
        p.park(Some(Instant::ZERO));
        assert!(
            now() < start + Duration::from_secs(1),
            "[{name}] past deadline slept"
        );
    });
}

#[test]
fn many_unparks_coalesce_into_one_token() {
    on_every_backend(WATCHDOG, |name, make| {
        let p = Arc::new(make());
        for _ in 0..1000 {
            p.unpark();
        }
        let unparkers: Vec<_> = (0..4)
            .map(|_| {
                let q = p.clone();
                std::thread::spawn(move || (0..1000).for_each(|_| q.unpark()))
            })
            .collect();
        unparkers.into_iter().for_each(|t| t.join().unwrap());
        p.park(None); // the one token
        let deadline = now() + Duration::from_millis(20);
        p.park(Some(deadline)); // no second token: sleeps to the deadline
        assert!(now() >= deadline, "[{name}] unparks did not coalesce");
    });
}

#[test]
fn a_replaced_deadline_does_not_wake_the_worker_later() {
    on_every_backend(WATCHDOG, |name, make| {
        let p = Arc::new(make());
        let start = now();
        // Park until +100 ms but be woken at ~10 ms: the ring's timeout stays armed.
        let q = p.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(StdDuration::from_millis(10));
            q.unpark();
        });
        p.park(Some(start + Duration::from_millis(100)));
        t.join().unwrap();
        // Now park with no deadline: the old timeout must not end this park at 100 ms.
        let q = p.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(StdDuration::from_millis(300));
            q.unpark();
        });
        p.park(None);
        assert!(
            now() >= start + Duration::from_millis(300),
            "[{name}] woken by a timeout that was replaced"
        );
        t.join().unwrap();
    });
}

#[test]
fn ten_thousand_round_trips_between_two_threads() {
    const ROUNDS: u64 = 10_000;
    on_every_backend(StdDuration::from_secs(30), |name, make| {
        let (a, b) = (Arc::new(make()), Arc::new(make()));
        let turn = Arc::new(AtomicU64::new(0));
        let limit = now() + Duration::from_secs(20);
        let (a2, b2, turn2) = (a.clone(), b.clone(), turn.clone());
        let started = now();
        let other = std::thread::spawn(move || {
            for i in 0..ROUNDS {
                while turn2.load(Ordering::Acquire) != 2 * i + 1 {
                    b2.park(Some(limit));
                    assert!(now() < limit, "[{name}] B stuck at round {i}");
                }
                turn2.store(2 * i + 2, Ordering::Release);
                a2.unpark();
            }
        });
        for i in 0..ROUNDS {
            turn.store(2 * i + 1, Ordering::Release);
            b.unpark();
            while turn.load(Ordering::Acquire) != 2 * i + 2 {
                a.park(Some(limit));
                assert!(now() < limit, "[{name}] A stuck at round {i}");
            }
        }
        other.join().unwrap();
        let per = (now() - started).as_nanos() / u128::from(ROUNDS);
        println!("[{name}] {ROUNDS} round trips, {per} ns each");
    });
}

#[test]
fn detection_reports_the_backend() {
    let backend = Backend::detect();
    println!("Backend::detect(): {backend}");
    println!(
        "kernel.io_uring_disabled = {}",
        ravelin_linux::io_uring_disabled()
    );
    let auto = Backend::detect_with(BackendPreference::Auto);
    println!("Backend::detect_with(Auto): {auto}");
    let forced = Backend::detect_with(BackendPreference::Fallback);
    println!("Backend::detect_with(Fallback): {forced}");
    assert!(!forced.is_uring());
    // Each configuration's parker sleeps the way it was asked to.
    for config in configs() {
        let p = (config.make)();
        p.unpark();
        p.park(None);
        if let AnyParker::Uring(u) = &p {
            println!("[{}] sleeps by {:?}", config.name, u.sleep_mode());
            assert_eq!(u.sleep_mode(), config.expect, "[{}]", config.name);
        }
        assert!(matches!(p, AnyParker::Futex(_)) == config.expect.is_none());
    }
    if auto.is_uring() {
        assert!(matches!(auto.parker(), AnyParker::Uring(_)));
    }
}

/// CPU time (user + system) the calling thread has used.
fn thread_cpu_time() -> StdDuration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    StdDuration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn a_worker_parked_without_deadline_for_two_seconds_uses_no_cpu() {
    // All configurations at once, so the test takes two seconds, not eight.
    let runs: Vec<_> = configs()
        .into_iter()
        .map(|config| {
            let p = Arc::new((config.make)());
            let done = Arc::new(AtomicBool::new(false));
            let returns = Arc::new(AtomicUsize::new(0));
            let ready = Arc::new(AtomicBool::new(false));
            let (q, d, r, ready2) = (p.clone(), done.clone(), returns.clone(), ready.clone());
            let sleeper = std::thread::spawn(move || {
                // Create the ring (first park) before measuring.
                q.unpark();
                q.park(None);
                let before = thread_cpu_time();
                ready2.store(true, Ordering::Release);
                while !d.load(Ordering::Acquire) {
                    q.park(None);
                    r.fetch_add(1, Ordering::Relaxed);
                }
                thread_cpu_time() - before
            });
            (config.name, p, done, returns, ready, sleeper)
        })
        .collect();
    while !runs.iter().all(|r| r.4.load(Ordering::Acquire)) {
        std::thread::sleep(StdDuration::from_millis(1));
    }
    std::thread::sleep(StdDuration::from_secs(2));
    for (name, p, done, returns, _, sleeper) in runs {
        done.store(true, Ordering::Release);
        p.unpark();
        let cpu = sleeper.join().unwrap();
        let returns = returns.load(Ordering::Relaxed);
        println!("[{name}] parked 2 s: {cpu:?} of CPU, {returns} park return(s)");
        assert!(cpu < StdDuration::from_millis(5), "[{name}] used {cpu:?}");
        assert!(returns <= 2, "[{name}] woke {returns} times while idle");
    }
}
