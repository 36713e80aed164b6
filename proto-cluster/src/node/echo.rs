//! The node's echo service, reachable from other nodes as `"echo"`, and the prober that
//! asks every member's echo once a second: remote messages exercised end to end, with
//! their round trips and failures on the status screen.
//!
//! The echo mailbox outlives restarts of the echo process (DESIGN.md: a restarted
//! child keeps its queue): each incarnation takes the receiving side from its slot and
//! a guard puts it back when the incarnation ends, however it ends.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ravelin_kernel::mailbox::{self, Receiver, Sender};
use ravelin_kernel::supervisor::ChildContext;

use crate::membership::MembershipLayer;
use crate::remote::{DecodeError, EncodeError, RemoteMessage, RemoteNode, Request};
use crate::stop::unless_stopped;

/// The name the echo service is served under.
pub const ECHO: &str = "echo";

/// How many requests may wait in the echo mailbox.
pub const ECHO_CAPACITY: usize = 64;

/// Bytes, echoed back as they came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchoMessage(pub Vec<u8>);

impl RemoteMessage for EchoMessage {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Self(bytes.to_vec()))
    }
}

type EchoRequest = Request<EchoMessage, EchoMessage>;
type Slot = Arc<Mutex<Option<Receiver<EchoRequest, ECHO_CAPACITY>>>>;

/// Counters of the echo service and the prober.
#[derive(Debug, Default)]
pub struct EchoStats {
    /// Requests the echo service answered.
    pub served: AtomicU64,
    /// The prober's asks answered.
    pub probes_ok: AtomicU64,
    /// The prober's asks that failed (refused, timed out, lost, or not sent).
    pub probes_failed: AtomicU64,
    /// The last answered probe's round trip, in microseconds.
    pub last_rtt_us: AtomicU64,
}

/// The echo service of one node.
#[derive(Clone, Debug)]
pub struct Echo {
    sender: Sender<EchoRequest, ECHO_CAPACITY>,
    slot: Slot,
    stats: Arc<EchoStats>,
}

impl Echo {
    /// A service whose mailbox is served as [`ECHO`] by `remote`.
    pub fn new(remote: &RemoteNode) -> Result<Self, crate::remote::NameError> {
        let (sender, receiver) = mailbox::channel();
        remote.serve(ECHO, sender.clone())?;
        Ok(Self {
            sender,
            slot: Arc::new(Mutex::new(Some(receiver))),
            stats: Arc::new(EchoStats::default()),
        })
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<EchoStats> {
        &self.stats
    }

    /// Requests waiting in the mailbox now.
    pub fn depth(&self) -> usize {
        self.sender.stats().depth
    }

    /// One incarnation of the echo process: answers until asked to stop.
    pub async fn run(&self, ctx: &ChildContext) -> Result<(), EchoError> {
        let taken = self
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let mut guard = Guard {
            receiver: Some(taken.ok_or(EchoError::Busy)?),
            slot: self.slot.clone(),
        };
        let mut stop = pin!(ctx.stopping());
        loop {
            let next = poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                match guard.receiver.as_mut() {
                    Some(receiver) => receiver.poll_recv(cx).map(Some),
                    None => Poll::Ready(None),
                }
            })
            .await;
            let Some(Some(mut request)) = next else {
                return Ok(());
            };
            let bytes = request.message().clone();
            // A tell has nobody to answer; an asker that left is its own business.
            let _ = request.reply(bytes);
            self.stats.served.fetch_add(1, Relaxed);
        }
    }
}

/// Puts the receiving side back in its slot when an incarnation ends.
struct Guard {
    receiver: Option<Receiver<EchoRequest, ECHO_CAPACITY>>,
    slot: Slot,
}

impl Drop for Guard {
    fn drop(&mut self) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = self.receiver.take();
    }
}

/// Why the echo process stopped with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EchoError {
    /// A previous incarnation still holds the mailbox.
    Busy,
}

impl core::fmt::Display for EchoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the echo mailbox is still held by a previous incarnation")
    }
}

impl core::error::Error for EchoError {}

/// The prober: once a second, asks the echo service of every active member (500 ms
/// timeout) and counts what came back.
pub async fn probe(
    ctx: &ChildContext,
    remote: &RemoteNode,
    membership: &MembershipLayer,
    stats: &EchoStats,
) -> Result<(), EchoError> {
    let mut stop = pin!(ctx.stopping());
    let mut round = 0u64;
    loop {
        let tick = ctx.timers().sleep(Duration::from_secs(1));
        if unless_stopped(stop.as_mut(), tick).await.is_none() {
            return Ok(());
        }
        round += 1;
        let me = membership.identity().node;
        for member in membership.members() {
            if !member.is_active() || member.id.node == me {
                continue;
            }
            let Ok(echo) = remote.remote_ref::<EchoMessage, EchoMessage>(member.id.node, ECHO)
            else {
                continue;
            };
            let sent = EchoMessage(round.to_be_bytes().to_vec());
            let start = Instant::now();
            let ask = echo.ask(sent.clone(), Duration::from_millis(500));
            match unless_stopped(stop.as_mut(), ask).await {
                None => return Ok(()),
                Some(Ok(reply)) if reply == sent => {
                    stats.probes_ok.fetch_add(1, Relaxed);
                    let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
                    stats.last_rtt_us.store(us, Relaxed);
                }
                Some(_) => {
                    stats.probes_failed.fetch_add(1, Relaxed);
                }
            }
        }
    }
}
