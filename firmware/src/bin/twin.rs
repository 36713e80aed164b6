//! The footprint twin: the smallest program that spawns, sleeps, joins and meets a full
//! pool, written once on Ravelin (this file) and once on Embassy's executor
//! (`twin-embassy/`), so `footprint.sh` compares the two builds. Same output from both.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use ravelin_firmware::{PLATFORM, check, entry, exceptions, finish, log, now_ms, start};
use ravelin_hal::Duration;
use ravelin_kernel::lightproc::ProcPool;
use ravelin_kernel::sched::Executor;

// All zeros, so in `.bss`: `init` gives it the platform (as Embassy's twin makes its
// executor with `singleton!`).
static EXECUTOR: Executor = Executor::uninit();
static POOL: ProcPool<4, 128> = ProcPool::new();
static ORDER: AtomicU32 = AtomicU32::new(0);

exceptions!();

async fn sleeper(id: u32, millis: u64) {
    EXECUTOR.sleep(Duration::from_millis(millis)).await;
    log!("sleeper {} woke at {} ms", id, now_ms());
    ORDER.store(ORDER.load(Ordering::Relaxed) * 10 + id, Ordering::Relaxed);
}

#[entry]
fn main() -> ! {
    start("twin");
    if EXECUTOR.init(&PLATFORM).is_err() {
        ravelin_firmware::fail_hard(format_args!("main ran twice"));
    }
    let mut handles = [const { None }; 3];
    for (handle, (id, ms)) in handles.iter_mut().zip([(1, 30), (2, 10), (3, 20)]) {
        // Built in its pool slot: no copy of the future.
        match EXECUTOR.spawn_in_with(&POOL, move || sleeper(id, ms)) {
            Ok(spawned) => *handle = Some(spawned),
            Err(_) => check!(false, "spawned"),
        }
    }
    for mut handle in handles.into_iter().flatten() {
        check!(EXECUTOR.block_on(&mut handle).is_ok(), "joined");
    }
    check!(ORDER.load(Ordering::Relaxed) == 231, "deadline order");
    let mut refused = 0;
    let mut kept = [const { None }; 5];
    for slot in &mut kept {
        match EXECUTOR.spawn_in_with(&POOL, || sleeper(9, 1_000)) {
            Ok(handle) => *slot = Some(handle),
            Err(_) => refused += 1,
        }
    }
    check!(refused == 1, "a full pool refused the fifth spawn");
    finish()
}
