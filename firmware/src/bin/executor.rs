//! The single-core executor on a static pool: spawning, joining, sleeping on the
//! SysTick alarm, a full pool and a too-small slot refusing a spawn and handing the
//! future back, and cancelling a sleeping proc. No allocator is linked.
#![no_std]
#![no_main]

use core::cell::Cell;

use critical_section::Mutex;
use ravelin_firmware::{PLATFORM, check, entry, exceptions, finish, log, ms, now_ms, start};
use ravelin_hal::{Clock, Duration};
use ravelin_kernel::lightproc::{ProcPool, SpawnError};
use ravelin_kernel::sched::Executor;

static EXECUTOR: Executor = Executor::new(&PLATFORM);
static POOL: ProcPool<4, 256> = ProcPool::new();

/// The ids of the procs in the order they finished, one decimal digit each.
static FINISHED: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));

exceptions!();

#[entry]
fn main() -> ! {
    start("executor: static pool, spawn, join, sleep, full pool");
    spawn_join_sleep();
    full_pool_hands_the_future_back();
    too_large_hands_the_future_back();
    cancel_a_sleeping_proc();
    finish()
}

/// Sleeps `millis` on the executor's timers, records that proc `id` finished, and
/// returns the millisecond it woke at.
async fn sleeper(id: u32, millis: u64) -> u64 {
    EXECUTOR.sleep(Duration::from_millis(millis)).await;
    critical_section::with(|cs| {
        let finished = FINISHED.borrow(cs);
        finished.set(finished.get() * 10 + id);
    });
    now_ms()
}

fn spawn_join_sleep() {
    let start = now_ms();
    let parks = EXECUTOR.parks();
    let spawned = [(1, 30), (2, 10), (3, 20)]
        .map(|(id, millis)| (millis, EXECUTOR.spawn_in(&POOL, sleeper(id, millis))));
    check!(POOL.in_use() == 3, "three procs spawned into the pool of 4");
    for (millis, spawned) in spawned {
        let Ok(mut handle) = spawned else {
            check!(false, "spawn of the {} ms sleeper", millis);
            continue;
        };
        match EXECUTOR.block_on(&mut handle) {
            Ok(woke) => {
                log!("sleep {} ms: woke at {} ms", millis, woke - start);
                // The wheel counts whole milliseconds and rounds a deadline up.
                check!(
                    woke - start == millis + 1,
                    "the {} ms sleeper woke at its deadline, rounded up to the next ms",
                    millis
                );
            }
            Err(error) => check!(false, "join of the {} ms sleeper: {:?}", millis, error),
        }
    }
    let order = critical_section::with(|cs| FINISHED.borrow(cs).get());
    check!(
        order == 231,
        "procs finished in deadline order (got {})",
        order
    );
    let parks = EXECUTOR.parks() - parks;
    check!(
        (3..=6).contains(&parks),
        "the idle worker parked until each deadline instead of spinning"
    );
    check!(POOL.in_use() == 0, "joined procs gave their slots back");
}

fn full_pool_hands_the_future_back() {
    let mut handles = [const { None }; 4];
    for (i, slot) in handles.iter_mut().enumerate() {
        *slot = EXECUTOR.spawn_in(&POOL, sleeper(4, 5)).ok();
        check!(slot.is_some(), "spawn {} of 4 into the pool", i + 1);
    }
    let refused = EXECUTOR.spawn_in(&POOL, async { 42u32 });
    let Err(SpawnError::Full(future)) = refused else {
        check!(false, "a full pool refuses the fifth spawn");
        return;
    };
    check!(
        true,
        "a full pool refuses the fifth spawn with SpawnError::Full"
    );
    if let Some(mut first) = handles[0].take() {
        check!(EXECUTOR.block_on(&mut first).is_ok(), "the first proc ran");
    }
    check!(POOL.in_use() == 3, "a joined proc freed its slot");
    match EXECUTOR.spawn_in(&POOL, future) {
        Ok(mut handle) => {
            let answer = EXECUTOR.block_on(&mut handle);
            check!(
                matches!(answer, Ok(42)),
                "the handed-back future spawned and ran"
            );
        }
        Err(_) => check!(false, "the handed-back future spawned into the freed slot"),
    }
    for mut handle in handles.into_iter().flatten() {
        check!(EXECUTOR.block_on(&mut handle).is_ok(), "a queued proc ran");
    }
    check!(POOL.in_use() == 0, "every slot is free again");
}

fn too_large_hands_the_future_back() {
    let big = [7u8; 512];
    let future = async move { big.iter().map(|&b| u32::from(b)).sum::<u32>() };
    match EXECUTOR.spawn_in(&POOL, future) {
        Err(SpawnError::TooLarge {
            needed, slot_size, ..
        }) => check!(
            needed > slot_size && slot_size == 256,
            "a future larger than a slot is refused with SpawnError::TooLarge"
        ),
        _ => check!(false, "a future larger than a slot is refused"),
    }
}

fn cancel_a_sleeping_proc() {
    let before = PLATFORM.now();
    let spawned = EXECUTOR.spawn_in(&POOL, sleeper(9, 1_000));
    let Ok(mut handle) = spawned else {
        check!(false, "spawn of the proc to cancel");
        return;
    };
    EXECUTOR.run_once();
    handle.cancel();
    let joined = EXECUTOR.block_on(&mut handle);
    check!(
        joined.is_err_and(|error| error.is_cancelled()),
        "a cancelled proc joins as JoinError::Cancelled"
    );
    check!(
        ms(PLATFORM.now()) - ms(before) < 1,
        "cancelling did not wait for the proc's 1000 ms timer"
    );
    drop(handle);
    check!(POOL.in_use() == 0, "the cancelled proc freed its slot");
}
