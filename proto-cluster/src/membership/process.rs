//! [`MembershipLayer`]: the [`Core`] run as a supervised process, fed by discovery (its
//! design is on [`MembershipLayer`]).

use core::convert::Infallible;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::Poll;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use ravelin_kernel::supervisor::ChildSpec;
use ravelin_kernel::time::Timers;

use super::config::MembershipConfig;
use super::core::{Core, CoreCounters, Refusal};
use super::directory::Directory;
use super::events::{Member, MemberEvent, Queue, Subscription};
use super::identity::MemberId;
use crate::discovery::{Membership, Outbox, OutboxError, Peer};
use crate::envelope::{Generation, Identity, NodeId};
use crate::wake_queue::WakeQueue;

/// How long a stopping process waits for discovery to send its leave packets.
const LEAVE_GRACE: core::time::Duration = core::time::Duration::from_millis(20);

enum Input {
    Discovered(MemberId),
    Packet(Identity, Vec<u8>),
}

/// Counters of the membership layer, readable while it runs.
#[derive(Debug, Default)]
pub struct MembershipStats {
    /// Packets handed to foca.
    pub accepted: AtomicU64,
    /// Packets refused because the sender they named is not the one the envelope
    /// authenticated (TRAPS 26).
    pub forged: AtomicU64,
    /// Packets with a wrong kind byte or an undecodable sender.
    pub undecodable: AtomicU64,
    /// Errors foca returned.
    pub swim_errors: AtomicU64,
    /// Inputs dropped because the inbox from discovery was full.
    pub inbox_dropped: AtomicU64,
    /// Packets handed back by a full outbox (or refused by it: too large).
    pub outbox_refused: AtomicU64,
    /// Packets queued for sending.
    pub sent: AtomicU64,
    /// Announces sent by the retry logic.
    pub announces: AtomicU64,
    /// Times this node renewed its identity.
    pub renewals: AtomicU64,
}

/// A copy of [`MembershipStats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MembershipSnapshot {
    /// See [`MembershipStats::accepted`].
    pub accepted: u64,
    /// See [`MembershipStats::forged`].
    pub forged: u64,
    /// See [`MembershipStats::undecodable`].
    pub undecodable: u64,
    /// See [`MembershipStats::swim_errors`].
    pub swim_errors: u64,
    /// See [`MembershipStats::inbox_dropped`].
    pub inbox_dropped: u64,
    /// See [`MembershipStats::outbox_refused`].
    pub outbox_refused: u64,
    /// See [`MembershipStats::sent`].
    pub sent: u64,
    /// See [`MembershipStats::announces`].
    pub announces: u64,
    /// See [`MembershipStats::renewals`].
    pub renewals: u64,
}

impl MembershipStats {
    /// The counters now.
    pub fn snapshot(&self) -> MembershipSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        MembershipSnapshot {
            accepted: load(&self.accepted),
            forged: load(&self.forged),
            undecodable: load(&self.undecodable),
            swim_errors: load(&self.swim_errors),
            inbox_dropped: load(&self.inbox_dropped),
            outbox_refused: load(&self.outbox_refused),
            sent: load(&self.sent),
            announces: load(&self.announces),
            renewals: load(&self.renewals),
        }
    }

    /// Adds what a core counted since `last` (cores count from zero; the layer's
    /// counters outlive process restarts).
    fn absorb(&self, now: CoreCounters, last: &mut CoreCounters) {
        let add = |counter: &AtomicU64, now: u64, last: u64| {
            counter.fetch_add(now.saturating_sub(last), Ordering::Relaxed);
        };
        add(&self.accepted, now.accepted, last.accepted);
        add(&self.forged, now.forged, last.forged);
        add(&self.undecodable, now.undecodable, last.undecodable);
        add(&self.swim_errors, now.swim_errors, last.swim_errors);
        add(&self.announces, now.announces, last.announces);
        add(&self.renewals, now.renewals, last.renewals);
        *last = now;
    }
}

/// What the process publishes for readers on other threads.
#[derive(Default)]
struct Published {
    me: Option<MemberId>,
    members: Vec<Member>,
    active: BTreeMap<NodeId, (SocketAddr, Generation)>,
}

/// The membership layer of one node: give it to discovery as its [`Membership`], run
/// its process with [`child_spec`](Self::child_spec), subscribe to its events, look
/// nodes up through its [`Directory`].
///
/// ```text
///   discovery process                         membership process
///   ------------------                        ------------------
///   Membership::discovered(peer) --+
///   Membership::received(from, ..) +--> inbox (bounded; full: drop + count)
///                                              |
///                                   wait for: stop | inbox | next deadline
///                                              |  (kernel timers: sleep_until)
///                                     core.discovered / core.received / core.tick
///                                              |
///          Outbox::send(addr, payload) <-------+ packets (full outbox: count)
///                      subscribers <-----------+ events (full queue: drop + count)
///           members / Directory::lookup <------+ snapshot (a short lock, no await)
/// ```
///
/// Neither method discovery calls ever blocks: each pushes onto a bounded [`WakeQueue`]
/// (and wakes the process). The peers discovery reported are also kept in the layer,
/// so a restarted membership process (its supervisor restarts it with a fresh [`Core`]
/// and foca) announces to them again rather than waiting for discovery news.
pub struct MembershipLayer {
    config: MembershipConfig,
    me: MemberId,
    inbox: WakeQueue<Input>,
    peers: Mutex<BTreeMap<NodeId, MemberId>>,
    subscribers: Mutex<Vec<Arc<Queue>>>,
    published: Mutex<Published>,
    stats: MembershipStats,
}

impl fmt::Debug for MembershipLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MembershipLayer")
            .field("me", &self.me)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Locks `mutex`, whether or not a holder panicked (the data are snapshots, replaced
/// whole).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MembershipLayer {
    /// The layer of the node `me` (its node id, the address discovery advertises, the
    /// generation its envelope seals with).
    pub fn new(config: MembershipConfig, me: MemberId) -> Arc<Self> {
        Arc::new(Self {
            inbox: WakeQueue::new(config.inbox),
            config,
            me,
            peers: Mutex::new(BTreeMap::new()),
            subscribers: Mutex::new(Vec::new()),
            published: Mutex::new(Published::default()),
            stats: MembershipStats::default(),
        })
    }

    /// A supervised child named `name` running the membership process, sending through
    /// `outbox` (discovery's: [`Discovery::outbox`](crate::discovery::Discovery::outbox)).
    pub fn child_spec(self: &Arc<Self>, name: impl Into<String>, outbox: Outbox) -> ChildSpec {
        let this = self.clone();
        ChildSpec::new(name, move |ctx| {
            let this = this.clone();
            let outbox = outbox.clone();
            async move { this.run(ctx.timers(), ctx.stopping(), &outbox).await }
        })
    }

    /// Events from now on, at most `config.subscriber` waiting.
    pub fn subscribe(&self) -> Subscription {
        let (subscription, queue) = Subscription::new(self.config.subscriber);
        lock(&self.subscribers).push(queue);
        subscription
    }

    /// The members and their states, as of the process's last step.
    pub fn members(&self) -> Vec<Member> {
        lock(&self.published).members.clone()
    }

    /// This node's identity now (a renewal changes it).
    pub fn identity(&self) -> MemberId {
        lock(&self.published).me.unwrap_or(self.me)
    }

    /// The counters.
    pub fn stats(&self) -> &MembershipStats {
        &self.stats
    }

    fn push(&self, input: Input) {
        if self.inbox.push(input).is_err() {
            self.stats.inbox_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs the process until `stop` completes.
    pub async fn run(
        &self,
        timers: &Timers,
        stop: impl Future<Output = ()> + Send,
        outbox: &Outbox,
    ) -> Result<(), Infallible> {
        // A restarted process goes on with the identity its predecessor had (renewed,
        // perhaps): the cluster may have declared the first one down.
        let mut core = Core::new(self.identity(), &self.config, timers.now());
        let mut counted = CoreCounters::default();
        let known: Vec<MemberId> = lock(&self.peers).values().copied().collect();
        for peer in known {
            core.discovered(timers.now(), peer);
        }
        let mut stop = pin!(stop);
        let mut wake = pin!(timers.sleep_until(core.next_deadline()));
        loop {
            self.flush(&mut core, outbox, &mut counted);
            wake.as_mut().reset(core.next_deadline());
            let input = poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                if let Poll::Ready(input) = self.inbox.poll_pop(cx) {
                    return Poll::Ready(Some(Some(input)));
                }
                match wake.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(None)),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            let now = timers.now();
            match input {
                None => {
                    // The packets wait in discovery's outbox; discovery (stopped after
                    // this process, in reverse start order) is still running, and
                    // sends them during this short grace.
                    core.leave(now);
                    self.flush(&mut core, outbox, &mut counted);
                    timers.sleep(LEAVE_GRACE).await;
                    return Ok(());
                }
                Some(Some(Input::Discovered(peer))) => core.discovered(now, peer),
                Some(Some(Input::Packet(from, payload))) => {
                    // Refusals are counted by the core.
                    let _: Result<(), Refusal> = core.received(now, from, &payload);
                }
                Some(None) => {}
            }
            core.tick(now);
        }
    }

    /// Sends what the core produced, hands events to subscribers, publishes the table.
    fn flush(&self, core: &mut Core, outbox: &Outbox, counted: &mut CoreCounters) {
        for packet in core.drain_packets() {
            match outbox.send(packet.to.addr, packet.payload) {
                Ok(()) => self.stats.sent.fetch_add(1, Ordering::Relaxed),
                Err(OutboxError::Full(_) | OutboxError::TooLarge { .. } | OutboxError::Kind) => {
                    self.stats.outbox_refused.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
        let events: Vec<MemberEvent> = core.drain_events().collect();
        if !events.is_empty() {
            let mut subscribers = lock(&self.subscribers);
            // A subscriber whose receiver is gone holds the only other reference.
            subscribers.retain(|queue| Arc::strong_count(queue) > 1);
            for queue in subscribers.iter() {
                for &event in &events {
                    queue.offer(event);
                }
            }
        }
        self.stats.absorb(core.counters(), counted);
        let members = core.members();
        let active = members
            .iter()
            .filter(|member| member.is_active())
            .map(|member| (member.id.node, (member.id.addr, member.id.generation)))
            .collect();
        let mut published = lock(&self.published);
        published.me = Some(core.identity());
        published.members = members;
        published.active = active;
    }
}

impl Membership for MembershipLayer {
    fn discovered(&self, peer: Peer) {
        let id = MemberId::new(peer.node, peer.addr, peer.generation);
        lock(&self.peers).insert(peer.node, id);
        self.push(Input::Discovered(id));
    }

    fn received(&self, from: Identity, _source: SocketAddr, payload: &[u8]) {
        self.push(Input::Packet(from, payload.to_vec()));
    }
}

impl Directory for MembershipLayer {
    fn lookup(&self, node: NodeId) -> Option<(SocketAddr, Generation)> {
        lock(&self.published).active.get(&node).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::Via;
    use ravelin_hal::Instant;

    fn id(node: u64) -> MemberId {
        MemberId::new(
            NodeId(node),
            format!("10.0.0.{node}:7946").parse().unwrap(),
            Generation(1),
        )
    }

    #[test]
    fn a_full_inbox_drops_and_counts_and_a_full_outbox_is_counted() {
        let mut config = MembershipConfig::fast(core::time::Duration::from_millis(300));
        config.inbox = 1;
        let layer = MembershipLayer::new(config.clone(), id(1));
        for node in [2, 3] {
            layer.discovered(Peer {
                node: NodeId(node),
                generation: Generation(1),
                addr: id(node).addr,
                via: Via::Multicast,
            });
        }
        let stats = layer.stats().snapshot();
        assert_eq!(stats.inbox_dropped, 1);
        // The peers are kept all the same, for a restarted process.
        assert_eq!(lock(&layer.peers).len(), 2);

        let now = Instant::from_nanos(1);
        let mut core = Core::new(id(1), &config, now);
        core.discovered(now, id(2));
        core.discovered(now, id(3));
        // Room for one more payload only.
        let outbox = Outbox::new(1400);
        for _ in 1..crate::discovery::OUTBOX_CAPACITY {
            outbox
                .send(id(9).addr, vec![crate::membership::SWIM])
                .unwrap();
        }
        let events = layer.subscribe();
        let mut counted = CoreCounters::default();
        layer.flush(&mut core, &outbox, &mut counted);
        let stats = layer.stats().snapshot();
        assert_eq!((stats.sent, stats.outbox_refused), (1, 1));
        assert_eq!(stats.announces, 2);
        assert_eq!(events.try_recv(), None);
        assert_eq!(layer.identity(), id(1));
    }
}
