//! [`Executor`]: the single-core executor, for bare metal (and for tests).
//!
//! One worker runs a loop over one [`RunQueue`]: take every ready proc, run each once,
//! fire the timers that are due, and when nothing was ready, park through the HAL until
//! an unpark or the next timer deadline. Needs no allocator: the queue and the timer
//! wheel are intrusive, and procs can come from a static [`ProcPool`].
//!
//! No lost wake-up: a proc is woken by pushing its `Runnable`; the push that finds the
//! queue empty unparks the worker. The worker only parks after a `take_all` found the
//! queue empty, and any push after that `take_all` sees an empty queue and unparks, so
//! either the worker sees the proc when it looks, or its park returns at once on the
//! token (the HAL's `Park` contract). Pushing is lock-free, so procs may be woken and
//! spawned from interrupt handlers.
//!
//! A `static` executor made by [`Executor::new`] holds the platform's address in its
//! initial value, so it is in `.data`: it takes its size (about 2.9 KB on 32-bit targets)
//! in flash as well as in RAM. One made by [`Executor::uninit`] is all zeros, so it is in
//! `.bss` (RAM only); [`Executor::init`] then gives it its platform, in place, once.
//!
//! ```
//! use ravelin_hal::{Clock, Duration, Instant, TestPlatform};
//! use ravelin_kernel::sched::Executor;
//!
//! static PLATFORM: TestPlatform = TestPlatform::new(1);
//! static EXECUTOR: Executor = Executor::new(&PLATFORM);
//!
//! PLATFORM.set_auto_advance(true); // parking until a deadline jumps the virtual clock
//! let mut handle = EXECUTOR.spawn(async {
//!     EXECUTOR.sleep(Duration::from_millis(250)).await;
//!     6 * 7
//! });
//! assert_eq!(EXECUTOR.block_on(&mut handle).unwrap(), 42);
//! assert_eq!(PLATFORM.now(), Instant::from_nanos(250_000_000));
//! ```

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use ravelin_hal::{Duration, Instant, Platform, WorkerId};

use super::run_queue::RunQueue;
use crate::lightproc::{
    Builder, JoinError, ProcHandle, ProcPool, Runnable, Schedule, ScheduleReason, SpawnError,
};
use crate::sync::untracked::{AtomicUsize, Ordering};
use crate::sync::{OnceRef, fence};
use crate::time::{Sleep, Timeout, Timers};

/// A single-core executor: one run queue, one worker, parking through the platform.
pub struct Executor {
    queue: RunQueue,
    /// Unset only between [`Executor::uninit`] and [`Executor::init`].
    platform: OnceRef<dyn Platform>,
    timers: Timers,
    worker: WorkerId,
    polls: AtomicUsize,
    parks: AtomicUsize,
}

/// The `Schedule` value every proc of an [`Executor`] carries, and a handle to spawn
/// more from anywhere (it is `Copy`, `Send` and `Sync`).
#[derive(Clone, Copy)]
pub struct Spawner {
    executor: &'static Executor,
}

impl Executor {
    /// An executor whose worker is worker 0 of `platform`.
    #[cfg(not(loom))]
    pub const fn new(platform: &'static dyn Platform) -> Self {
        Self {
            queue: RunQueue::new(),
            platform: OnceRef::new(platform),
            timers: Timers::new(platform),
            worker: WorkerId::new(0),
            polls: AtomicUsize::new(0),
            parks: AtomicUsize::new(0),
        }
    }

    /// An executor whose worker is worker 0 of `platform` (loom's atomics are not
    /// `const`).
    #[cfg(loom)]
    pub fn new(platform: &'static dyn Platform) -> Self {
        Self {
            queue: RunQueue::new(),
            platform: OnceRef::new(platform),
            timers: Timers::new(platform),
            worker: WorkerId::new(0),
            polls: AtomicUsize::new(0),
            parks: AtomicUsize::new(0),
        }
    }

    /// An executor without a platform yet: all zeros, so a `static` of it is in `.bss`
    /// and costs no flash. [`init`](Self::init) gives it its platform before it runs.
    ///
    /// Procs may be spawned into it before `init` (they run once it does); anything that
    /// reads the clock or parks before `init` panics: running it
    /// ([`run_once`](Self::run_once), [`run`](Self::run), [`block_on`](Self::block_on)),
    /// its timers ([`sleep`](Self::sleep) and the like).
    ///
    /// ```
    /// use ravelin_hal::{Duration, TestPlatform};
    /// use ravelin_kernel::sched::Executor;
    ///
    /// static PLATFORM: TestPlatform = TestPlatform::new(1);
    /// static EXECUTOR: Executor = Executor::uninit();
    ///
    /// let mut handle = EXECUTOR.spawn(async { 7 });
    /// EXECUTOR.init(&PLATFORM).unwrap();
    /// assert!(EXECUTOR.init(&PLATFORM).is_err(), "only once");
    /// PLATFORM.set_auto_advance(true);
    /// assert_eq!(EXECUTOR.block_on(&mut handle).unwrap(), 7);
    /// let mut slept = EXECUTOR.spawn(EXECUTOR.sleep(Duration::from_millis(3)));
    /// EXECUTOR.block_on(&mut slept).unwrap();
    /// ```
    #[cfg(not(loom))]
    #[must_use]
    pub const fn uninit() -> Self {
        Self {
            queue: RunQueue::new(),
            platform: OnceRef::unset(),
            timers: Timers::unset(),
            worker: WorkerId::new(0),
            polls: AtomicUsize::new(0),
            parks: AtomicUsize::new(0),
        }
    }

    /// An executor without a platform yet (loom's atomics are not `const`).
    #[cfg(loom)]
    #[must_use]
    pub fn uninit() -> Self {
        Self {
            queue: RunQueue::new(),
            platform: OnceRef::unset(),
            timers: Timers::unset(),
            worker: WorkerId::new(0),
            polls: AtomicUsize::new(0),
            parks: AtomicUsize::new(0),
        }
    }

    /// Gives an executor made by [`uninit`](Self::uninit) its platform (worker 0 of
    /// `platform` is its worker), in place. `Err(AlreadyInit)` if it has one: it was
    /// made by [`new`](Self::new), or `init` ran before (or is running on another
    /// thread: then `Err` does not mean the executor is ready yet; run it only from
    /// the thread whose `init` returned `Ok`).
    pub fn init(&self, platform: &'static dyn Platform) -> Result<(), AlreadyInit> {
        // The clock first: whoever sees the platform set also sees the timers' clock
        // (its Release store comes before the platform's).
        self.timers.set_clock(platform).map_err(|()| AlreadyInit)?;
        self.platform.set(platform).map_err(|_| AlreadyInit)?;
        // Pairs with the fence in `Spawner::schedule`: a spawn from another thread that
        // pushed before this point but read the platform unset is seen by the worker's
        // next look at the queue, or the spawn sees the platform and unparks it
        // (store-buffering: Release/Acquire alone would allow both to miss).
        fence(core::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// The platform; panics before [`init`](Self::init).
    fn platform(&self) -> &'static dyn Platform {
        match self.platform.get() {
            Some(platform) => platform,
            None => not_initialised(),
        }
    }

    /// A spawner for this executor.
    pub fn spawner(&'static self) -> Spawner {
        Spawner { executor: self }
    }

    /// Spawns `future` on the heap; it runs when the executor next runs.
    #[cfg(feature = "alloc")]
    pub fn spawn<F>(&'static self, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawner().spawn(future)
    }

    /// Spawns `future` into a slot of `pool`; a full pool hands it back.
    pub fn spawn_in<F, const N: usize, const SIZE: usize>(
        &'static self,
        pool: &'static ProcPool<N, SIZE>,
        future: F,
    ) -> Result<ProcHandle<F::Output>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawner().spawn_in(pool, future)
    }

    /// Spawns into a slot of `pool` the future `make` returns, called once the slot is
    /// claimed (so the optimiser can build it in place); a full pool hands `make` back,
    /// not called. See [`Spawner::spawn_in_with`].
    pub fn spawn_in_with<M, F, const N: usize, const SIZE: usize>(
        &'static self,
        pool: &'static ProcPool<N, SIZE>,
        make: M,
    ) -> Result<ProcHandle<F::Output>, SpawnError<M>>
    where
        M: FnOnce() -> F,
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawner().spawn_in_with(pool, make)
    }

    /// The executor's timers (their clock is the platform's).
    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// A future that completes after `duration`; see [`Timers::sleep`].
    pub fn sleep(&self, duration: Duration) -> Sleep<'_> {
        self.timers.sleep(duration)
    }

    /// A future that completes at `deadline`; see [`Timers::sleep_until`].
    pub fn sleep_until(&self, deadline: Instant) -> Sleep<'_> {
        self.timers.sleep_until(deadline)
    }

    /// `future`, or `Err(Elapsed)` if it takes longer than `duration`; see
    /// [`Timers::timeout`].
    pub fn timeout<F: IntoFuture>(
        &self,
        duration: Duration,
        future: F,
    ) -> Timeout<'_, F::IntoFuture> {
        self.timers.timeout(duration, future)
    }

    /// Fires the timers that are due, then runs every proc that is ready, once each;
    /// returns how many ran. Procs made ready while this runs wait for the next call.
    pub fn run_once(&self) -> usize {
        self.timers.process(self.platform().now());
        let mut ran = 0;
        for runnable in self.queue.take_all() {
            runnable.run();
            ran += 1;
        }
        // Only this worker writes the counter: a load and a store, no read-modify-write.
        let polls = self.polls.load(Ordering::Relaxed);
        self.polls.store(polls + ran, Ordering::Relaxed);
        ran
    }

    /// Parks the worker until it is unparked, the next timer is due, or spuriously.
    fn park(&self) {
        let deadline = self.timers.next_deadline();
        let platform = self.platform();
        if deadline.is_some_and(|due| due <= platform.now()) {
            return; // a timer is due: no sleep
        }
        let parks = self.parks.load(Ordering::Relaxed);
        self.parks.store(parks + 1, Ordering::Relaxed);
        platform.park(self.worker, deadline);
    }

    /// Runs procs for ever, parking whenever none is ready: the main loop of a firmware.
    pub fn run(&self) -> ! {
        loop {
            if self.run_once() == 0 {
                self.park();
            }
        }
    }

    /// Runs procs until `handle`'s proc has finished, parking when none is ready, and
    /// returns its output.
    pub fn block_on<T>(&self, handle: &mut ProcHandle<T>) -> Result<T, JoinError> {
        loop {
            if handle.is_finished() {
                let mut cx = Context::from_waker(Waker::noop());
                if let Poll::Ready(output) = Pin::new(&mut *handle).poll(&mut cx) {
                    return output;
                }
            }
            if self.run_once() == 0 && !handle.is_finished() {
                self.park();
            }
        }
    }

    /// Polls so far (procs run, including cancelled ones dropped by a run).
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::Relaxed)
    }

    /// Times the worker parked.
    pub fn parks(&self) -> usize {
        self.parks.load(Ordering::Relaxed)
    }
}

impl Spawner {
    /// The executor this spawner spawns on.
    pub fn executor(self) -> &'static Executor {
        self.executor
    }

    /// Spawns `future` on the heap.
    #[cfg(feature = "alloc")]
    pub fn spawn<F>(self, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(Builder::new(), future)
    }

    /// Spawns `future` on the heap with `builder`'s options (a name).
    #[cfg(feature = "alloc")]
    pub fn spawn_with<F>(self, builder: Builder, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, handle) = builder.spawn(future, self);
        runnable.schedule();
        handle
    }

    /// Spawns `future` into a slot of `pool`; a full pool hands it back.
    pub fn spawn_in<F, const N: usize, const SIZE: usize>(
        self,
        pool: &'static ProcPool<N, SIZE>,
        future: F,
    ) -> Result<ProcHandle<F::Output>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, handle) = Builder::new().spawn_in(pool, future, self)?;
        runnable.schedule();
        Ok(handle)
    }

    /// Spawns into a slot of `pool` the future `make` returns, calling it only once the
    /// slot is claimed; a full pool (or a proc larger than a slot) hands `make` back in
    /// the error, not called.
    ///
    /// Since `make` runs once the slot is claimed, the optimiser can build the future in
    /// its slot instead of moving it there (not a language guarantee: debug builds, or a
    /// `make` that is not inlined, still copy; measured on the twin firmware, release),
    /// and a refused spawn moves only `make` (usually a few captured arguments): on a
    /// microcontroller this spares copying large futures, and the `memcpy` that does it.
    ///
    /// ```
    /// use ravelin_hal::TestPlatform;
    /// use ravelin_kernel::lightproc::{ProcPool, SpawnError};
    /// use ravelin_kernel::sched::Executor;
    ///
    /// static PLATFORM: TestPlatform = TestPlatform::new(1);
    /// static EXECUTOR: Executor = Executor::new(&PLATFORM);
    /// static POOL: ProcPool<1, 128> = ProcPool::new();
    ///
    /// async fn double(n: u32) -> u32 {
    ///     n * 2
    /// }
    ///
    /// let spawner = EXECUTOR.spawner();
    /// let mut handle = spawner.spawn_in_with(&POOL, || double(21)).unwrap();
    /// let Err(SpawnError::Full(make)) = spawner.spawn_in_with(&POOL, || double(4)) else {
    ///     panic!("one slot");
    /// };
    /// assert_eq!(EXECUTOR.block_on(&mut handle).unwrap(), 42);
    /// drop(handle);
    /// let mut handle = spawner.spawn_in_with(&POOL, make).unwrap(); // handed back
    /// assert_eq!(EXECUTOR.block_on(&mut handle).unwrap(), 8);
    /// ```
    pub fn spawn_in_with<M, F, const N: usize, const SIZE: usize>(
        self,
        pool: &'static ProcPool<N, SIZE>,
        make: M,
    ) -> Result<ProcHandle<F::Output>, SpawnError<M>>
    where
        M: FnOnce() -> F,
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, handle) = Builder::new().spawn_in_with(pool, make, self)?;
        runnable.schedule();
        Ok(handle)
    }
}

impl Schedule for Spawner {
    fn schedule(&self, runnable: Runnable, _reason: ScheduleReason) {
        let executor = self.executor;
        // Before `init` no worker can be parked on this executor: nothing to unpark. A
        // platform read unset is read again after a fence that pairs with `init`'s, so a
        // push racing `init` and the worker's first park is never missed by both.
        if executor.queue.push(runnable)
            && let Some(platform) = executor.platform.get().or_else(|| {
                fence(core::sync::atomic::Ordering::SeqCst);
                executor.platform.get()
            })
        {
            platform.unpark(executor.worker);
        }
    }
}

/// The panic of an executor, or of its timers, used before [`Executor::init`]: out of
/// line, one for both.
#[cold]
#[inline(never)]
pub(crate) fn not_initialised() -> ! {
    panic!("executor used before `Executor::init` gave it a platform")
}

/// The error of [`Executor::init`] on an executor that already has a platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyInit;

impl fmt::Display for AlreadyInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the executor already has a platform")
    }
}

impl core::error::Error for AlreadyInit {}

#[cfg(all(test, not(loom), feature = "std"))]
mod tests {
    use super::*;
    use ravelin_hal::{Clock, TestPlatform};
    use std::sync::Mutex;
    use std::vec::Vec;

    #[test]
    fn runs_in_fifo_order_and_defers_procs_readied_meanwhile() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        static ORDER: Mutex<Vec<u32>> = Mutex::new(Vec::new());
        let a = EXECUTOR.spawn(async {
            ORDER.lock().unwrap().push(1);
            crate::sched::yield_now().await;
            ORDER.lock().unwrap().push(3);
        });
        let b = EXECUTOR.spawn(async { ORDER.lock().unwrap().push(2) });
        assert_eq!(EXECUTOR.run_once(), 2);
        assert_eq!(*ORDER.lock().unwrap(), [1, 2]);
        assert_eq!(EXECUTOR.run_once(), 1);
        assert_eq!(*ORDER.lock().unwrap(), [1, 2, 3]);
        assert!(a.is_finished() && b.is_finished());
        assert_eq!(EXECUTOR.polls(), 3);
    }

    #[test]
    fn only_a_push_onto_an_empty_queue_unparks_the_worker() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        let worker = WorkerId::new(0);
        let waker: Mutex<Option<Waker>> = Mutex::new(None);
        let waker = std::sync::Arc::new(waker);
        let w = waker.clone();
        let mut waiting = EXECUTOR.spawn(std::future::poll_fn(move |cx| {
            let mut slot = w.lock().unwrap();
            if slot.is_some() {
                return Poll::Ready("woken");
            }
            *slot = Some(cx.waker().clone());
            Poll::Pending
        }));
        let _second = EXECUTOR.spawn(async {});
        assert_eq!(
            PLATFORM.unparks(worker),
            1,
            "the second push found work queued"
        );
        assert_eq!(EXECUTOR.run_once(), 2);
        assert_eq!(EXECUTOR.run_once(), 0, "idle: the worker would park now");
        waker.lock().unwrap().as_ref().unwrap().wake_by_ref();
        assert_eq!(
            PLATFORM.unparks(worker),
            2,
            "a wake onto the empty queue unparks"
        );
        assert!(PLATFORM.token_pending(worker));
        assert_eq!(EXECUTOR.block_on(&mut waiting).unwrap(), "woken");
    }

    #[test]
    fn static_pool_spawns_need_no_allocator_and_full_hands_back() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        static POOL: ProcPool<2, 256> = ProcPool::new();
        let mut a = EXECUTOR.spawn_in(&POOL, async { 1 }).unwrap();
        let mut b = EXECUTOR.spawn_in(&POOL, async { 2 }).unwrap();
        assert!(matches!(
            EXECUTOR.spawn_in(&POOL, async { 3 }),
            Err(SpawnError::Full(_))
        ));
        assert_eq!(EXECUTOR.block_on(&mut a).unwrap(), 1);
        assert_eq!(EXECUTOR.block_on(&mut b).unwrap(), 2);
        drop((a, b));
        assert_eq!(POOL.in_use(), 0);
    }

    #[test]
    fn spawn_in_with_builds_only_in_a_slot_and_hands_the_maker_back() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        static SMALL: ProcPool<1, 32> = ProcPool::new();
        static POOL: ProcPool<1, 256> = ProcPool::new();
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let make = |n: u32| {
            move || {
                MADE.fetch_add(1, Ordering::Relaxed);
                async move { [n; 16] }
            }
        };
        let Err(SpawnError::TooLarge { future, needed, .. }) =
            EXECUTOR.spawn_in_with(&SMALL, make(1))
        else {
            panic!("a proc of a 64-byte future does not fit 32 bytes");
        };
        assert!(needed > 64);
        let mut handle = EXECUTOR.spawn_in_with(&POOL, future).unwrap();
        let Err(SpawnError::Full(_)) = EXECUTOR.spawn_in_with(&POOL, make(2)) else {
            panic!("one slot");
        };
        assert_eq!(
            MADE.load(Ordering::Relaxed),
            1,
            "only the spawned one was made"
        );
        assert_eq!(EXECUTOR.block_on(&mut handle).unwrap(), [1; 16]);
    }

    #[test]
    fn timers_fire_in_deadline_order_at_the_right_virtual_time() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        static FIRED: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());
        PLATFORM.set_auto_advance(true);
        let handles: Vec<_> = [30u64, 10, 20, 10]
            .into_iter()
            .map(|ms| {
                EXECUTOR.spawn(async move {
                    EXECUTOR.sleep(Duration::from_millis(ms)).await;
                    let now = PLATFORM.now().as_nanos() / 1_000_000;
                    FIRED.lock().unwrap().push((ms, now));
                })
            })
            .collect();
        for mut h in handles {
            EXECUTOR.block_on(&mut h).unwrap();
        }
        assert_eq!(
            *FIRED.lock().unwrap(),
            [(10, 10), (10, 10), (20, 20), (30, 30)]
        );
        assert_eq!(EXECUTOR.timers().registered(), 0);
    }

    #[test]
    fn a_busy_proc_does_not_starve_a_timer() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let busy = EXECUTOR.spawn(async {
            let mut spins = 0u32;
            while !STOP.load(std::sync::atomic::Ordering::SeqCst) {
                PLATFORM.advance(Duration::from_micros(100)); // each poll takes time
                spins += 1;
                crate::sched::yield_now().await;
            }
            spins
        });
        let mut sleeper = EXECUTOR.spawn(async {
            EXECUTOR.sleep(Duration::from_millis(5)).await;
            STOP.store(true, std::sync::atomic::Ordering::SeqCst);
            PLATFORM.now()
        });
        let woke = EXECUTOR.block_on(&mut sleeper).unwrap();
        assert!(woke >= Instant::from_nanos(5_000_000) && woke <= Instant::from_nanos(6_200_000));
        let mut busy = busy;
        assert!(EXECUTOR.block_on(&mut busy).unwrap() >= 50);
    }

    #[test]
    fn a_timeout_gives_up_on_a_slow_proc() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        PLATFORM.set_auto_advance(true);
        let mut h = EXECUTOR.spawn(async {
            let slow = EXECUTOR.sleep(Duration::from_secs(10));
            let fast = EXECUTOR
                .timeout(Duration::from_millis(1), async { 7 })
                .await;
            (EXECUTOR.timeout(Duration::from_secs(1), slow).await, fast)
        });
        let (slow, fast) = EXECUTOR.block_on(&mut h).unwrap();
        assert!(slow.is_err());
        assert_eq!(fast, Ok(7));
        assert_eq!(PLATFORM.now(), Instant::from_nanos(1_000_000_000));
    }

    #[test]
    fn an_uninit_executor_takes_spawns_then_its_platform_once() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::uninit();
        static POOL: ProcPool<1, 256> = ProcPool::new();
        let mut handle = EXECUTOR.spawn_in(&POOL, async { 5 }).unwrap();
        assert_eq!(
            PLATFORM.unparks(WorkerId::new(0)),
            0,
            "no platform to unpark yet"
        );
        assert_eq!(EXECUTOR.init(&PLATFORM), Ok(()));
        assert_eq!(EXECUTOR.init(&PLATFORM), Err(AlreadyInit));
        PLATFORM.set_auto_advance(true);
        assert_eq!(EXECUTOR.block_on(&mut handle).unwrap(), 5);
        let mut slept = EXECUTOR.spawn(EXECUTOR.sleep(Duration::from_millis(2)));
        assert_eq!(
            PLATFORM.unparks(WorkerId::new(0)),
            1,
            "a platform to unpark"
        );
        EXECUTOR.block_on(&mut slept).unwrap();
        assert_eq!(EXECUTOR.timers().now(), Instant::from_nanos(2_000_000));
    }

    #[test]
    fn a_panicking_maker_frees_its_pool_slot() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        static POOL: ProcPool<1, 256> = ProcPool::new();
        let unwound = std::panic::catch_unwind(|| {
            let _ = EXECUTOR.spawn_in_with(&POOL, || -> core::future::Ready<u32> {
                panic!("the maker panics")
            });
        });
        assert!(unwound.is_err());
        assert_eq!(POOL.in_use(), 0, "the slot is free again");
        assert!(
            EXECUTOR
                .spawn_in_with(&POOL, || core::future::ready(1u32))
                .is_ok()
        );
    }

    #[test]
    fn an_executor_made_with_its_platform_refuses_init() {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        assert_eq!(EXECUTOR.init(&PLATFORM), Err(AlreadyInit));
        assert_eq!(EXECUTOR.run_once(), 0);
    }

    #[test]
    #[should_panic(expected = "before `Executor::init`")]
    fn running_before_init_panics() {
        static EXECUTOR: Executor = Executor::uninit();
        EXECUTOR.run_once();
    }

    #[test]
    #[should_panic(expected = "before `Executor::init`")]
    fn sleeping_before_init_panics() {
        static EXECUTOR: Executor = Executor::uninit();
        drop(EXECUTOR.sleep(Duration::from_millis(1)));
    }
}
