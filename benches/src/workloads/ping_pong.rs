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
//! [`Scheduler`]: ravelin_kernel::sched::Scheduler

use std::thread::JoinHandle;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use ravelin_kernel::mailbox::{self, Receiver, Sender};

use super::{WORKERS, Workload};
use crate::peer_rt::tokio_multi_thread;
use crate::ravelin_rt::RavelinRuntime;

/// Round trips per batch, the same for every system.
pub const ROUND_TRIPS: usize = 1_000;

/// Capacity of every channel.
pub const CAPACITY: usize = 64;

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
        let workloads: [fn() -> Box<dyn Workload>; 4] = [
            || Box::new(RavelinPingPong::new()),
            || Box::new(TokioPingPong::new()),
            || Box::new(CrossbeamPingPong::new()),
            || Box::new(RactorPingPong::new()),
        ];
        for make in workloads {
            let mut workload = make();
            for _ in 0..3 {
                assert_eq!(workload.run_batch(), ROUND_TRIPS, "{}", workload.name());
            }
        }
    }
}
