//! Ping-pong: [`ROUND_TRIPS`] round trips per batch between two processes on two
//! workers (or two OS threads).
//!
//! A pinger sends `i` to a ponger, which sends it back; the pinger checks it and sends
//! `i + 1`. The channels are bounded (capacity [`CAPACITY`], though at most one message
//! is ever queued). Where each side runs is up to the runtime: the two may share a worker
//! or sit on both, as an application's would.
//!
//! - [`RavelinPingPong`]: two procs on Ravelin's [`Scheduler`] with [`WORKERS`] workers,
//!   over two `mailbox::channel::<u64, 64>()`s;
//! - [`TokioPingPong`]: two tasks on Tokio's `multi_thread` runtime with [`WORKERS`]
//!   workers, over two `tokio::sync::mpsc::channel(64)`s;
//! - [`CrossbeamPingPong`]: the benchmark thread and one other OS thread, over two
//!   `crossbeam_channel::bounded(64)`s (blocking `send`/`recv`);
//! - [`RactorPingPong`]: two ractor actors on Tokio's `multi_thread` runtime with
//!   [`WORKERS`] workers; each round trip is two `cast`s (the ping carries the pinger's
//!   `ActorRef`, the pong goes to it).
//!
//! The ponger lives across batches. The pinger is the benchmark thread (crossbeam), a
//! proc or task spawned per batch on a worker (Ravelin, Tokio: one spawn per
//! [`ROUND_TRIPS`] round trips), or a long-lived actor told to start (ractor).
//!
//! Forced across workers, [`CROSS_ROUND_TRIPS`] round trips per batch:
//!
//! - [`RavelinCrossWorkers`]: the pinger pinned to worker 0 and the ponger to worker 1
//!   ([`Scheduler::spawn_pinned`]) of a [`Runtime`] whose 2 workers are pinned to the
//!   first two allowed CPUs, over the same mailboxes; every message crosses workers, and
//!   a worker that runs out of work spins briefly before it parks;
//! - [`SpinningFloor`]: what a round trip between two cores costs at the least: two
//!   threads pinned to the same two CPUs hand a counter back and forth through one
//!   atomic, spinning, with no queue, waker or scheduler.
//!
//! Both park between batches (the floor's threads block on a channel, Ravelin's workers
//! park after their spin), so interleaved samples do not steal each other's cores, and
//! both start each batch from a blocked benchmark thread and wake it at the end.
//!
//! [`Scheduler`]: ravelin_kernel::sched::Scheduler
//! [`Scheduler::spawn_pinned`]: ravelin_kernel::sched::Scheduler::spawn_pinned

use std::hint::spin_loop;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use ravelin_kernel::mailbox::{self, Receiver, Sender};
use ravelin_linux::Runtime;

use super::{WORKERS, Workload};
use crate::peer_rt::tokio_multi_thread;
use crate::ravelin_rt::{RavelinRuntime, wait};

/// Round trips per batch, the same for every system.
pub const ROUND_TRIPS: usize = 1_000;

/// Capacity of every channel.
pub const CAPACITY: usize = 64;

/// Round trips per batch forced across workers (and of the spinning floor): enough that
/// starting and ending a batch (two or three thread wake-ups) is a few ns per round trip.
pub const CROSS_ROUND_TRIPS: usize = 10_000;

/// Ravelin: two procs on the work-stealing scheduler.
#[derive(Debug)]
pub struct RavelinPingPong {
    runtime: RavelinRuntime,
    /// The pinger's ends (ping sender, pong receiver), moved into each batch's pinger.
    ends: Option<(Sender<u64, CAPACITY>, Receiver<u64, CAPACITY>)>,
}

impl RavelinPingPong {
    /// A workload with its runtime started and its ponger spawned.
    pub fn new() -> Self {
        let runtime = RavelinRuntime::new(WORKERS);
        let (ping_tx, mut ping_rx) = mailbox::channel::<u64, CAPACITY>();
        let (pong_tx, pong_rx) = mailbox::channel::<u64, CAPACITY>();
        runtime
            .scheduler()
            .spawn(async move {
                while let Some(n) = ping_rx.recv().await {
                    if pong_tx.send(n).await.is_err() {
                        break;
                    }
                }
            })
            .detach();
        Self {
            runtime,
            ends: Some((ping_tx, pong_rx)),
        }
    }
}

impl RavelinPingPong {
    /// The runtime, for its workers' counters.
    pub fn runtime(&self) -> &RavelinRuntime {
        &self.runtime
    }
}

impl Default for RavelinPingPong {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for RavelinPingPong {
    fn name(&self) -> &'static str {
        "Ravelin Scheduler, mailbox"
    }

    fn elements(&self) -> usize {
        ROUND_TRIPS
    }

    fn run_batch(&mut self) -> usize {
        let (ping, mut pong) = self.ends.take().expect("pinger ends");
        let (ends, done) = self
            .runtime
            .block_on(async move {
                for i in 0..ROUND_TRIPS as u64 {
                    ping.send(i).await.expect("ponger gone");
                    assert_eq!(pong.recv().await, Some(i), "pong lost or wrong");
                }
                ((ping, pong), ROUND_TRIPS)
            })
            .expect("pinger failed");
        self.ends = Some(ends);
        done
    }
}

/// Tokio: two tasks on the `multi_thread` runtime.
#[derive(Debug)]
pub struct TokioPingPong {
    runtime: tokio::runtime::Runtime,
    ends: Option<(
        tokio::sync::mpsc::Sender<u64>,
        tokio::sync::mpsc::Receiver<u64>,
    )>,
}

impl TokioPingPong {
    /// A workload with its runtime started and its ponger spawned.
    pub fn new() -> Self {
        let runtime = tokio_multi_thread(WORKERS);
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        let (pong_tx, pong_rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        runtime.spawn(async move {
            while let Some(n) = ping_rx.recv().await {
                if pong_tx.send(n).await.is_err() {
                    break;
                }
            }
        });
        Self {
            runtime,
            ends: Some((ping_tx, pong_rx)),
        }
    }
}

impl Default for TokioPingPong {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for TokioPingPong {
    fn name(&self) -> &'static str {
        "Tokio multi_thread, mpsc"
    }

    fn elements(&self) -> usize {
        ROUND_TRIPS
    }

    fn run_batch(&mut self) -> usize {
        let (ping, mut pong) = self.ends.take().expect("pinger ends");
        let (ends, done) = self.runtime.block_on(async move {
            // Spawned, so that the pinger runs on a worker as Ravelin's does.
            tokio::spawn(async move {
                for i in 0..ROUND_TRIPS as u64 {
                    ping.send(i).await.expect("ponger gone");
                    assert_eq!(pong.recv().await, Some(i), "pong lost or wrong");
                }
                ((ping, pong), ROUND_TRIPS)
            })
            .await
            .expect("pinger failed")
        });
        self.ends = Some(ends);
        done
    }
}

/// Ravelin, forced across workers: pinger pinned to worker 0, ponger to worker 1.
#[derive(Debug)]
pub struct RavelinCrossWorkers {
    runtime: Runtime,
    ends: Option<(Sender<u64, CAPACITY>, Receiver<u64, CAPACITY>)>,
}

impl RavelinCrossWorkers {
    /// A workload with its runtime started (2 workers pinned to the first two allowed
    /// CPUs, the default spin) and its ponger spawned on worker 1.
    ///
    /// # Panics
    /// If the runtime cannot be built (fewer than two CPUs allowed, pinning refused).
    pub fn new() -> Self {
        let runtime = Runtime::builder()
            .workers(2)
            .pin(true)
            .build()
            .expect("a runtime of 2 pinned workers");
        let (ping_tx, mut ping_rx) = mailbox::channel::<u64, CAPACITY>();
        let (pong_tx, pong_rx) = mailbox::channel::<u64, CAPACITY>();
        runtime
            .scheduler()
            .spawn_pinned(1, async move {
                while let Some(n) = ping_rx.recv().await {
                    if pong_tx.send(n).await.is_err() {
                        break;
                    }
                }
            })
            .detach();
        Self {
            runtime,
            ends: Some((ping_tx, pong_rx)),
        }
    }

    /// The runtime, for its workers' counters and CPUs.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

impl Default for RavelinCrossWorkers {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for RavelinCrossWorkers {
    fn name(&self) -> &'static str {
        "Ravelin pinned procs on 2 pinned workers, mailbox"
    }

    fn elements(&self) -> usize {
        CROSS_ROUND_TRIPS
    }

    fn run_batch(&mut self) -> usize {
        let (ping, mut pong) = self.ends.take().expect("pinger ends");
        let pinger = self.runtime.scheduler().spawn_pinned(0, async move {
            for i in 0..CROSS_ROUND_TRIPS as u64 {
                ping.send(i).await.expect("ponger gone");
                assert_eq!(pong.recv().await, Some(i), "pong lost or wrong");
            }
            (ping, pong)
        });
        self.ends = Some(wait(pinger).expect("pinger failed"));
        CROSS_ROUND_TRIPS
    }
}

/// The spinning floor: two threads pinned to two CPUs ping-pong through one atomic.
#[derive(Debug)]
pub struct SpinningFloor {
    /// Starts a batch on each thread (pinger, ponger); dropped to stop them.
    start: Option<[mpsc::Sender<()>; 2]>,
    /// The pinger's "batch done".
    done: mpsc::Receiver<()>,
    threads: Vec<JoinHandle<()>>,
    cpus: [usize; 2],
}

/// The ball's value once the pinger has finished a batch; the ponger answers `IDLE`.
const FLOOR_DONE: u64 = u64::MAX;
/// The ball between batches.
const FLOOR_IDLE: u64 = 0;

impl SpinningFloor {
    /// Starts the pinger and ponger threads, pinned to the first two allowed CPUs (those
    /// [`RavelinCrossWorkers`]' workers are pinned to), each blocked until a batch.
    ///
    /// # Panics
    /// If fewer than two CPUs are allowed, or a thread cannot be spawned or pinned.
    pub fn new() -> Self {
        let allowed = ravelin_linux::topology::allowed_cpus().expect("the allowed CPUs");
        assert!(allowed.len() >= 2, "the floor needs two CPUs: {allowed:?}");
        let cpus = [allowed[0], allowed[1]];
        // The ball: odd = a ping in flight, even = answered.
        let ball = Arc::new(AtomicU64::new(FLOOR_IDLE));
        let (done_tx, done) = mpsc::channel();
        let (ping_start, ping_batches) = mpsc::channel::<()>();
        let (pong_start, pong_batches) = mpsc::channel::<()>();
        let pin = |cpu: usize| {
            ravelin_linux::topology::pin_current_thread(cpu)
                .unwrap_or_else(|e| panic!("pin a floor thread to CPU {cpu}: {e}"))
        };
        let b = ball.clone();
        let pinger = std::thread::Builder::new()
            .name("floor-pinger".into())
            .spawn(move || {
                pin(cpus[0]);
                for () in ping_batches {
                    for i in 0..CROSS_ROUND_TRIPS as u64 {
                        b.store(2 * i + 1, Ordering::Release);
                        while b.load(Ordering::Acquire) != 2 * i + 2 {
                            spin_loop();
                        }
                    }
                    // Wait for the ponger to leave its spin before reporting the batch.
                    b.store(FLOOR_DONE, Ordering::Release);
                    while b.load(Ordering::Acquire) != FLOOR_IDLE {
                        spin_loop();
                    }
                    if done_tx.send(()).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the floor pinger");
        let ponger = std::thread::Builder::new()
            .name("floor-ponger".into())
            .spawn(move || {
                pin(cpus[1]);
                for () in pong_batches {
                    loop {
                        let v = ball.load(Ordering::Acquire);
                        if v == FLOOR_DONE {
                            ball.store(FLOOR_IDLE, Ordering::Release);
                            break;
                        }
                        if v % 2 == 1 {
                            ball.store(v + 1, Ordering::Release);
                        } else {
                            spin_loop();
                        }
                    }
                }
            })
            .expect("spawn the floor ponger");
        Self {
            start: Some([ping_start, pong_start]),
            done,
            threads: vec![pinger, ponger],
            cpus,
        }
    }

    /// The CPUs of the pinger and the ponger.
    pub fn cpus(&self) -> [usize; 2] {
        self.cpus
    }
}

impl Default for SpinningFloor {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for SpinningFloor {
    fn name(&self) -> &'static str {
        "spinning floor: 2 pinned threads, 1 atomic"
    }

    fn elements(&self) -> usize {
        CROSS_ROUND_TRIPS
    }

    fn run_batch(&mut self) -> usize {
        for start in self.start.as_ref().expect("floor threads running") {
            start.send(()).expect("floor thread gone");
        }
        self.done.recv().expect("floor pinger gone");
        CROSS_ROUND_TRIPS
    }
}

impl Drop for SpinningFloor {
    fn drop(&mut self) {
        drop(self.start.take()); // both threads' batch loops end
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// crossbeam-channel: the benchmark thread pings a ponger thread.
#[derive(Debug)]
pub struct CrossbeamPingPong {
    ping: Option<crossbeam_channel::Sender<u64>>,
    pong: crossbeam_channel::Receiver<u64>,
    ponger: Option<JoinHandle<()>>,
}

impl CrossbeamPingPong {
    /// A workload with its ponger thread started.
    pub fn new() -> Self {
        let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
        let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
        let ponger = std::thread::Builder::new()
            .name("crossbeam-ponger".into())
            .spawn(move || {
                while let Ok(n) = ping_rx.recv() {
                    if pong_tx.send(n).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the ponger thread");
        Self {
            ping: Some(ping_tx),
            pong: pong_rx,
            ponger: Some(ponger),
        }
    }
}

impl Default for CrossbeamPingPong {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for CrossbeamPingPong {
    fn name(&self) -> &'static str {
        "crossbeam-channel, 2 OS threads"
    }

    fn elements(&self) -> usize {
        ROUND_TRIPS
    }

    fn run_batch(&mut self) -> usize {
        let ping = self.ping.as_ref().expect("ponger running");
        for i in 0..ROUND_TRIPS as u64 {
            ping.send(i).expect("ponger gone");
            assert_eq!(self.pong.recv(), Ok(i), "pong lost or wrong");
        }
        ROUND_TRIPS
    }
}

impl Drop for CrossbeamPingPong {
    fn drop(&mut self) {
        drop(self.ping.take()); // the ponger's `recv` fails: it returns
        if let Some(ponger) = self.ponger.take() {
            let _ = ponger.join();
        }
    }
}

/// The ponger actor's message: a number and whom to send it back to.
#[derive(Debug)]
pub struct Ping(u64, ActorRef<PingerMsg>);

/// The pinger actor's messages.
#[derive(Debug)]
pub enum PingerMsg {
    /// Do this many round trips, then report on the channel.
    Start(u64, tokio::sync::oneshot::Sender<u64>),
    /// The ponger's answer.
    Pong(u64),
}

/// Answers every [`Ping`] with a [`PingerMsg::Pong`].
#[derive(Debug)]
pub struct Ponger;

impl Actor for Ponger {
    type Msg = Ping;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<Ping>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<Ping>,
        Ping(n, reply): Ping,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        reply.cast(PingerMsg::Pong(n))?;
        Ok(())
    }
}

/// Pings the [`Ponger`] `n` times in a row when told to start.
#[derive(Debug)]
pub struct Pinger;

/// The pinger's state: its ponger and the batch in progress.
#[derive(Debug)]
pub struct PingerState {
    ponger: ActorRef<Ping>,
    rounds: u64,
    /// The number in flight.
    sent: u64,
    done: Option<tokio::sync::oneshot::Sender<u64>>,
}

impl Actor for Pinger {
    type Msg = PingerMsg;
    type State = PingerState;
    type Arguments = ActorRef<Ping>;

    async fn pre_start(
        &self,
        _: ActorRef<PingerMsg>,
        ponger: ActorRef<Ping>,
    ) -> Result<PingerState, ActorProcessingErr> {
        Ok(PingerState {
            ponger,
            rounds: 0,
            sent: 0,
            done: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<PingerMsg>,
        message: PingerMsg,
        state: &mut PingerState,
    ) -> Result<(), ActorProcessingErr> {
        let next = match message {
            PingerMsg::Start(rounds, done) => {
                state.rounds = rounds;
                state.done = Some(done);
                0
            }
            PingerMsg::Pong(n) if n == state.sent => n + 1,
            PingerMsg::Pong(_) => return Err("pong lost or wrong".into()),
        };
        if next < state.rounds {
            state.sent = next;
            state.ponger.cast(Ping(next, myself))?;
        } else if let Some(done) = state.done.take() {
            let _ = done.send(next);
        }
        Ok(())
    }
}

/// ractor: a pinger and a ponger actor on Tokio's `multi_thread` runtime.
#[derive(Debug)]
pub struct RactorPingPong {
    runtime: tokio::runtime::Runtime,
    pinger: ActorRef<PingerMsg>,
    ponger: ActorRef<Ping>,
}

impl RactorPingPong {
    /// A workload with its runtime started and both actors spawned.
    pub fn new() -> Self {
        let runtime = tokio_multi_thread(WORKERS);
        let (pinger, ponger) = runtime.block_on(async {
            let (ponger, _) = Actor::spawn(None, Ponger, ()).await.expect("spawn ponger");
            let (pinger, _) = Actor::spawn(None, Pinger, ponger.clone())
                .await
                .expect("spawn pinger");
            (pinger, ponger)
        });
        Self {
            runtime,
            pinger,
            ponger,
        }
    }
}

impl Default for RactorPingPong {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for RactorPingPong {
    fn name(&self) -> &'static str {
        "ractor actors on Tokio multi_thread"
    }

    fn elements(&self) -> usize {
        ROUND_TRIPS
    }

    fn run_batch(&mut self) -> usize {
        let pinger = &self.pinger;
        let rounds = self.runtime.block_on(async {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            pinger
                .cast(PingerMsg::Start(ROUND_TRIPS as u64, done_tx))
                .expect("pinger gone");
            done_rx.await.expect("pinger dropped the batch")
        });
        rounds as usize
    }
}

impl Drop for RactorPingPong {
    fn drop(&mut self) {
        self.pinger.stop(None);
        self.ponger.stop(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_trip_completes() {
        let workloads: [fn() -> Box<dyn Workload>; 6] = [
            || Box::new(RavelinPingPong::new()),
            || Box::new(TokioPingPong::new()),
            || Box::new(CrossbeamPingPong::new()),
            || Box::new(RactorPingPong::new()),
            || Box::new(RavelinCrossWorkers::new()),
            || Box::new(SpinningFloor::new()),
        ];
        for make in workloads {
            let mut workload = make();
            for _ in 0..3 {
                let elements = workload.elements();
                assert_eq!(workload.run_batch(), elements, "{}", workload.name());
            }
        }
    }
}

#[cfg(test)]
mod cross_worker_tests {
    use super::*;

    #[test]
    fn the_pinned_pair_stays_on_its_two_workers() {
        let mut workload = RavelinCrossWorkers::new();
        let scheduler = workload.runtime().scheduler().clone();
        let before: Vec<_> = (0..2).map(|i| scheduler.worker_stats(i)).collect();
        workload.run_batch();
        let after: Vec<_> = (0..2).map(|i| scheduler.worker_stats(i)).collect();
        for i in 0..2 {
            // Each worker ran its proc (how often depends on how often a recv found its
            // message already there); nothing was stolen or injected.
            assert!(after[i].polls > before[i].polls, "worker {i} ran nothing");
            assert_eq!(after[i].steals, before[i].steals);
            assert_eq!(after[i].injections, before[i].injections);
        }
    }
}
