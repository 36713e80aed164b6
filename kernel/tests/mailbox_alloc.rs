//! Sending and receiving never allocate: a counting global allocator watches a ping-pong
//! between two procs over two mailboxes, through full mailboxes and waiting senders.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use ravelin_hal::TestPlatform;
use ravelin_kernel::mailbox;
use ravelin_kernel::sched::Executor;

struct Counting;

std::thread_local! {
    /// Counts only on the thread that runs the ping-pong (the test harness's own threads
    /// allocate now and then, independently of the code under test).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, SeqCst);
        }
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn send_and_receive_allocate_nothing() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    let rounds: u32 = if cfg!(miri) { 50 } else { 10_000 };
    let (ping_tx, mut ping_rx) = mailbox::channel::<u32, 2>();
    let (pong_tx, mut pong_rx) = mailbox::channel::<u32, 2>();
    let mut ponger = EXECUTOR.spawn(async move {
        while let Some(n) = ping_rx.recv().await {
            pong_tx.send(n + 1).await.unwrap();
        }
    });
    let mut pinger = EXECUTOR.spawn(async move {
        let mut sum = 0u64;
        for i in 0..rounds {
            // Bursts of three into a mailbox of two: the third send waits for room.
            for k in 0..3 {
                ping_tx.send(i * 3 + k).await.unwrap();
            }
            for _ in 0..3 {
                sum += u64::from(pong_rx.recv().await.unwrap());
            }
        }
        sum
    });
    // The counter counts on this thread (a check of the instrument itself).
    COUNTING.with(|c| c.set(true));
    drop(std::hint::black_box(Box::new(1u64)));
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.swap(0, SeqCst), 1);
    // Spawning allocated the two procs and the mailboxes; count from here on.
    EXECUTOR.run_once(); // first polls
    COUNTING.with(|c| c.set(true));
    let sum = EXECUTOR.block_on(&mut pinger).unwrap();
    COUNTING.with(|c| c.set(false));
    EXECUTOR.block_on(&mut ponger).unwrap();
    let n = u64::from(rounds) * 3;
    assert_eq!(sum, n * (n + 1) / 2);
    assert_eq!(
        ALLOCATIONS.load(SeqCst),
        0,
        "allocations during {n} round trips"
    );
}
