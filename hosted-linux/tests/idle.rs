//! An idle scheduler does nothing: its workers park in their IO drivers (io_uring, or
//! the epoll fallback) and use no CPU.

use std::sync::Arc;
use std::time::Duration;

use ravelin_kernel::sched::Scheduler;
use ravelin_linux::{BackendPreference, LinuxPlatform};

/// CPU time (user + system) the calling thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn an_idle_runtime_with_two_workers_uses_no_cpu_for_ten_seconds() {
    idle_for_ten_seconds(BackendPreference::Auto);
}

#[test]
fn an_idle_runtime_on_the_fallback_uses_no_cpu_for_ten_seconds() {
    idle_for_ten_seconds(BackendPreference::Fallback);
}

fn idle_for_ten_seconds(preference: BackendPreference) {
    let platform = LinuxPlatform::builder()
        .workers(2)
        .pin(false)
        .backend(preference)
        .build()
        .unwrap();
    eprintln!("backend: {}", platform.backend());
    let scheduler = Scheduler::new(Arc::new(platform)).unwrap();
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let s = scheduler.clone();
            std::thread::spawn(move || {
                s.run_worker(i);
                thread_cpu_time()
            })
        })
        .collect();
    // Some work first, so the workers have run and gone idle again; one proc stays
    // asleep on a timer an hour away, so the workers park with a deadline.
    let s = scheduler.clone();
    let sleeper = scheduler.spawn(async move {
        s.sleep(Duration::from_secs(3600)).await;
    });
    let handle = scheduler.spawn(async { 1 });
    while !handle.is_finished() {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(100)); // let both reach their park
    let before: Vec<usize> = (0..2).map(|i| scheduler.worker_stats(i).parks).collect();
    std::thread::sleep(Duration::from_secs(10));
    let after: Vec<usize> = (0..2).map(|i| scheduler.worker_stats(i).parks).collect();
    assert_eq!(scheduler.timers().registered(), 1);
    sleeper.cancel();
    scheduler.shutdown();
    let cpu: Vec<Duration> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    eprintln!(
        "worker CPU over their whole life: {cpu:?}; parks before/after idle: {before:?}/{after:?}"
    );
    // No periodic wake-ups while idle: not one extra park in ten seconds.
    assert_eq!(before, after, "idle workers woke up");
    // A spinning worker would use ~10 s; a parked one, nothing measurable.
    for time in cpu {
        assert!(
            time < Duration::from_millis(100),
            "worker used {time:?} of CPU"
        );
    }
}
