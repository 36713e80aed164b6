//! [`Discovery`]: the process that sends beacons and listens for them.
//!
//! ```text
//!            start: bind the membership socket, join the group (or say once why not)
//!              |
//!              v
//!   +------> wait for whichever comes first ------------------------------+
//!   |          | stop asked            | round due          | datagram     |
//!   |          v                       v                    v              |
//!   |        return Ok          announce to the group   rate limit (source)|
//!   |                           probe every seed        open the envelope  |
//!   |                           next interval           decode the beacon  |
//!   |                                  |                news? -> membership|
//!   |                                  |                  + answer (unicast)|
//!   |                                  |                probe? -> answer   |
//!   +----------------------------------+--------------------+--------------+
//! ```
//!
//! Everything that arrives goes through the same checks in the same order: the
//! per-source rate limit (before any cryptography), the envelope (size, header, tag,
//! replay window; each rejection counted by reason in the envelope's counters), then
//! the beacon decoder, whose failures are counted as undecodable. Only then is the
//! beacon believed. Answers go to the membership address inside the authenticated
//! beacon, never to the datagram's source address.
//!
//! The process never waits on one source alone: the stop request, the round timer and
//! both sockets are polled together, starting from a different one each time, so a
//! flood on one socket cannot starve the others. Asked to stop, it first sends what the
//! outbox still holds (a membership layer's leave), then returns. A receive error ends the process with
//! an error, and its supervisor restarts it (binding afresh); the counters and the
//! multicast state live in [`DiscoveryStatus`], which outlives restarts.

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ravelin_kernel::supervisor::ChildSpec;
use ravelin_kernel::time::Timers;
use ravelin_linux::net::UdpSocket;

use super::beacon::{Beacon, BeaconKind, MAX_BEACON_LEN};
use super::chaos::{PacketChaos, Verdict};
use super::config::DiscoveryConfig;
use super::known::{Known, Seen};
use super::outbox::{Drain, MEMBERSHIP_KINDS, Outbound, Outbox};
use super::rate_limit::RateLimit;
use super::schedule::Schedule;
use super::socket;
use super::status::{DiscoveryStatus, MulticastState, bump};
use crate::envelope::{Envelope, Generation, Identity, NodeId, Rejection};

/// How a peer was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A beacon to the multicast group.
    Multicast,
    /// A unicast beacon: a seed's answer, or a probe from a node that has us as a seed.
    Unicast,
}

/// A peer discovery found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its node id.
    pub node: NodeId,
    /// Its generation (a restart moves it forward).
    pub generation: Generation,
    /// Where its membership layer listens.
    pub addr: SocketAddr,
    /// How its beacon came.
    pub via: Via,
}

/// What discovery hands its findings to: the membership layer.
///
/// Both methods are called on the discovery process and must not block: a membership
/// layer running as its own process queues what it is given (and sends through the
/// [`Outbox`] of [`Discovery::outbox`]).
pub trait Membership: Send + Sync + 'static {
    /// A peer never seen before, or seen again with a newer generation or another
    /// address.
    fn discovered(&self, peer: Peer);

    /// A packet for the membership layer (its payload's first byte at least
    /// [`MEMBERSHIP_KINDS`]) that passed the envelope: `from` is the identity the
    /// envelope authenticated, `source` the datagram's source address. The default
    /// drops it; a membership layer that sends none need not implement it.
    fn received(&self, from: Identity, source: SocketAddr, payload: &[u8]) {
        let _ = (from, source, payload);
    }
}

/// Why a discovery process stopped with an error (its supervisor restarts it).
#[derive(Debug)]
pub enum DiscoveryError {
    /// The membership socket could not be bound or set up.
    Bind(SocketAddr, io::Error),
    /// The membership socket is bound to a wildcard address and no address to advertise
    /// was configured.
    NoAdvertise(SocketAddr),
    /// Receiving failed.
    Receive(io::Error),
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bind(addr, error) => {
                write!(f, "cannot bind the membership socket to {addr}: {error}")
            }
            Self::NoAdvertise(addr) => write!(
                f,
                "the membership socket is bound to {addr}; configure an address to advertise"
            ),
            Self::Receive(error) => write!(f, "receiving beacons failed: {error}"),
        }
    }
}

impl core::error::Error for DiscoveryError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Bind(_, error) | Self::Receive(error) => Some(error),
            Self::NoAdvertise(_) => None,
        }
    }
}

/// A discovery process: give it a configuration, the node's envelope and the membership
/// layer, and run it under a supervisor with [`Discovery::child_spec`].
#[derive(Clone)]
pub struct Discovery {
    config: Arc<DiscoveryConfig>,
    envelope: Arc<Envelope>,
    membership: Arc<dyn Membership>,
    status: Arc<DiscoveryStatus>,
    outbox: Outbox,
}

impl fmt::Debug for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("config", &self.config)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

type Received = (io::Result<(usize, SocketAddr)>, Vec<u8>);
type Receive<'s> = Pin<Box<dyn Future<Output = Received> + Send + 's>>;

enum Event {
    Stop,
    Round,
    Datagram(Via, Received),
    Outbound(Outbound),
}

/// What one incarnation of the process holds.
struct Session<'s> {
    unicast: &'s UdpSocket,
    /// Where multicast beacons go, while multicast works.
    group: Option<SocketAddr>,
    advertise: SocketAddr,
    known: Known,
    limit: RateLimit,
    /// Whether anything new was found since the last round.
    found: bool,
    /// A buffer for outgoing packets.
    out: Vec<u8>,
    chaos: Option<PacketChaos>,
}

impl Discovery {
    /// A discovery process for the node that `envelope` seals for.
    pub fn new(
        config: DiscoveryConfig,
        envelope: Arc<Envelope>,
        membership: Arc<dyn Membership>,
    ) -> Self {
        let multicast = match config.multicast {
            Some(_) => MulticastState::Starting,
            None => MulticastState::Disabled,
        };
        let outbox = Outbox::new(envelope.max_payload());
        Self {
            config: Arc::new(config),
            envelope,
            membership,
            status: Arc::new(DiscoveryStatus::new(multicast)),
            outbox,
        }
    }

    /// The outbox through which the membership layer sends over this process's socket.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Counters and multicast state, shared across restarts.
    pub fn status(&self) -> &Arc<DiscoveryStatus> {
        &self.status
    }

    /// A supervised child named `name` that runs this process until its supervisor
    /// stops it.
    pub fn child_spec(&self, name: impl Into<String>) -> ChildSpec {
        let this = self.clone();
        ChildSpec::new(name, move |ctx| {
            let this = this.clone();
            async move { this.run(ctx.timers(), ctx.stopping()).await }
        })
    }

    /// Runs until `stop` completes (then returns `Ok`), or until receiving fails.
    pub async fn run(
        &self,
        timers: &Timers,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<(), DiscoveryError> {
        let config = &*self.config;
        let bind = |e| DiscoveryError::Bind(config.bind, e);
        let std_unicast = bind_retrying(config.bind, timers).await.map_err(bind)?;
        let local = std_unicast.local_addr().map_err(bind)?;
        let advertise = config.advertise.unwrap_or(local);
        if advertise.ip().is_unspecified() {
            return Err(DiscoveryError::NoAdvertise(local));
        }
        self.status.set_advertised(advertise);
        let (group, receiver) = self.join_multicast(&std_unicast, advertise);
        let unicast = UdpSocket::from_std(std_unicast).map_err(bind)?;
        let receiver = match receiver.map(UdpSocket::from_std).transpose() {
            Ok(receiver) => receiver,
            Err(error) => {
                self.status
                    .multicast_unavailable("registering the receiver", &error);
                None
            }
        };
        let group = group.filter(|_| receiver.is_some());

        let identity = self.envelope.identity();
        let mut schedule = Schedule::new(
            config.interval,
            config.max_interval,
            config.jitter,
            config.stable_rounds,
            identity.node.0 ^ identity.generation.0,
        );
        let mut session = Session {
            unicast: &unicast,
            group,
            advertise,
            known: Known::new(config.max_peers),
            limit: RateLimit::new(config.burst, config.per_second),
            found: false,
            out: Vec::with_capacity(self.envelope.mtu()),
            chaos: config
                .chaos
                .map(|(drop, corrupt)| PacketChaos::new(drop, corrupt, !identity.node.0)),
        };
        let capacity = self.envelope.mtu() + 1;

        // A previous incarnation that has not finished dropping still holds it: this
        // one then sends nothing from the outbox (payloads wait; none is lost).
        let mut drain = self.outbox.take();
        let mut stop = pin!(stop);
        let mut round = pin!(timers.sleep(schedule.first_delay()));
        let mut from_unicast = receive(&unicast, Vec::with_capacity(capacity));
        let mut from_group = receiver
            .as_ref()
            .map(|socket| receive(socket, Vec::with_capacity(capacity)));
        let mut turn = 0usize;
        loop {
            turn = turn.wrapping_add(1);
            let event = poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Stop);
                }
                for k in 0..4 {
                    match (turn + k) % 4 {
                        0 => {
                            if round.as_mut().poll(cx).is_ready() {
                                return Poll::Ready(Event::Round);
                            }
                        }
                        1 => {
                            if let Poll::Ready(r) = from_unicast.as_mut().poll(cx) {
                                return Poll::Ready(Event::Datagram(Via::Unicast, r));
                            }
                        }
                        2 => {
                            if let Some(Poll::Ready(outbound)) =
                                drain.as_mut().map(|d| d.poll_next(cx))
                            {
                                return Poll::Ready(Event::Outbound(outbound));
                            }
                        }
                        _ => {
                            if let Some(Poll::Ready(r)) =
                                from_group.as_mut().map(|f| f.as_mut().poll(cx))
                            {
                                return Poll::Ready(Event::Datagram(Via::Multicast, r));
                            }
                        }
                    }
                }
                Poll::Pending
            })
            .await;
            match event {
                Event::Stop => {
                    // What the membership layer queued last (a leave) still goes out.
                    while let Some(Outbound { target, payload }) = drain.as_mut().and_then(queued) {
                        match self.send_payload(&mut session, &payload, target).await {
                            Ok(()) => bump(&self.status.membership_sent),
                            Err(_) => bump(&self.status.send_errors),
                        }
                    }
                    return Ok(());
                }
                Event::Round => {
                    self.round(&mut session).await;
                    let wait = schedule.next_round(core::mem::take(&mut session.found));
                    self.status.interval_ms.store(
                        duration_ms(schedule.interval()),
                        core::sync::atomic::Ordering::Relaxed,
                    );
                    round.as_mut().reset(timers.now().saturating_add(wait));
                    if session.group.is_none() {
                        // Multicast failed while sending: stop listening to the group.
                        from_group = None;
                    }
                }
                Event::Outbound(Outbound { target, payload }) => {
                    match self.send_payload(&mut session, &payload, target).await {
                        Ok(()) => bump(&self.status.membership_sent),
                        Err(_) => bump(&self.status.send_errors),
                    }
                }
                Event::Datagram(via, (result, mut buf)) => {
                    let (len, source) = result.map_err(DiscoveryError::Receive)?;
                    let now = timers.now();
                    if session.limit.allow(source, now) {
                        buf.truncate(len);
                        self.received(&mut session, via, source, &mut buf).await;
                    } else {
                        bump(&self.status.rate_limited);
                    }
                    buf.clear();
                    let again = match via {
                        Via::Unicast => receive(&unicast, buf),
                        Via::Multicast => match &receiver {
                            Some(receiver) => receive(receiver, buf),
                            None => continue,
                        },
                    };
                    match via {
                        Via::Unicast => from_unicast = again,
                        Via::Multicast => from_group = Some(again),
                    }
                }
            }
        }
    }

    /// Joins the group and sets the membership socket up to send to it; on failure, says
    /// so once and returns no group.
    fn join_multicast(
        &self,
        unicast: &std::net::UdpSocket,
        advertise: SocketAddr,
    ) -> (Option<SocketAddr>, Option<std::net::UdpSocket>) {
        let Some(multicast) = &self.config.multicast else {
            return (None, None);
        };
        let interface = multicast.interface.unwrap_or(match advertise.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        });
        let joined = socket::multicast_receiver(multicast.group, multicast.port, interface)
            .and_then(|receiver| {
                socket::multicast_sender(unicast, interface, multicast.ttl, multicast.loopback)?;
                Ok(receiver)
            });
        match joined {
            Ok(receiver) => {
                self.status.set_multicast(MulticastState::Joined {
                    group: multicast.group,
                    interface,
                });
                (
                    Some(socket::group_target(multicast.group, multicast.port)),
                    Some(receiver),
                )
            }
            Err(error) => {
                let what = format!("joining {} on {interface}", multicast.group);
                self.status.multicast_unavailable(&what, &error);
                (None, None)
            }
        }
    }

    /// One round: announce to the group, probe every seed.
    async fn round(&self, session: &mut Session<'_>) {
        if let Some(group) = session.group {
            match self.send(session, BeaconKind::Announce, group).await {
                Ok(()) => bump(&self.status.beacons_sent),
                Err(error) if no_multicast_route(&error) => {
                    let what = format!("sending to {group}");
                    self.status.multicast_unavailable(&what, &error);
                    session.group = None;
                }
                Err(_) => bump(&self.status.send_errors),
            }
        }
        for &seed in &self.config.seeds {
            if seed == session.advertise {
                continue;
            }
            match self.send(session, BeaconKind::Probe, seed).await {
                Ok(()) => bump(&self.status.probes_sent),
                Err(_) => bump(&self.status.send_errors),
            }
        }
    }

    /// One datagram that passed the rate limit.
    async fn received(
        &self,
        session: &mut Session<'_>,
        via: Via,
        source: SocketAddr,
        packet: &mut [u8],
    ) {
        let Ok(opened) = self.envelope.open(packet) else {
            return; // Counted by the envelope, by reason.
        };
        let (sender, generation) = (opened.sender, opened.generation);
        if sender == self.envelope.identity().node {
            return; // Our own beacon, looped back by the group.
        }
        if opened
            .payload
            .first()
            .is_some_and(|&kind| kind >= MEMBERSHIP_KINDS)
        {
            bump(&self.status.membership_received);
            let from = Identity {
                node: sender,
                generation,
            };
            self.membership.received(from, source, opened.payload);
            return;
        }
        let beacon = match Beacon::decode_from(opened.payload, sender, generation) {
            Ok(beacon) => beacon,
            Err(_) => {
                self.envelope.rejections().record(Rejection::Undecodable);
                return;
            }
        };
        bump(&self.status.beacons_accepted);
        let news = match session.known.observe(sender, generation, beacon.addr) {
            Seen::News => true,
            Seen::Known | Seen::Stale => false,
            Seen::Full => {
                bump(&self.status.peers_refused);
                false
            }
        };
        if news {
            session.found = true;
            bump(&self.status.peers_found);
            self.membership.discovered(Peer {
                node: sender,
                generation,
                addr: beacon.addr,
                via,
            });
        }
        // A newcomer learns of us at once; a prober always gets its answer.
        if news || beacon.kind == BeaconKind::Probe {
            match self.send(session, BeaconKind::Announce, beacon.addr).await {
                Ok(()) => bump(&self.status.probes_sent),
                Err(_) => bump(&self.status.send_errors),
            }
        }
    }

    /// Seals a beacon of `kind` and sends it to `target` from the membership socket.
    async fn send(
        &self,
        session: &mut Session<'_>,
        kind: BeaconKind,
        target: SocketAddr,
    ) -> io::Result<()> {
        let identity = self.envelope.identity();
        let beacon = Beacon {
            kind,
            node: identity.node,
            generation: identity.generation,
            addr: session.advertise,
        };
        let mut payload = [0; MAX_BEACON_LEN];
        let len = beacon.encode(&mut payload);
        self.send_payload(session, &payload[..len], target).await
    }

    /// Seals `payload` and sends it to `target` from the membership socket.
    async fn send_payload(
        &self,
        session: &mut Session<'_>,
        payload: &[u8],
        target: SocketAddr,
    ) -> io::Result<()> {
        let mut out = core::mem::take(&mut session.out);
        out.resize(self.envelope.mtu(), 0);
        let sealed = self
            .envelope
            .seal(payload, &mut out)
            .map_err(io::Error::other)?;
        out.truncate(sealed);
        match session.chaos.as_mut().map(|chaos| chaos.apply(&mut out)) {
            Some(Verdict::Drop) => {
                bump(&self.status.chaos_dropped);
                session.out = out;
                return Ok(());
            }
            Some(Verdict::Corrupted) => bump(&self.status.chaos_corrupted),
            Some(Verdict::Send) | None => {}
        }
        let (result, out) = session.unicast.send_to(out, target).await;
        session.out = out;
        result.map(drop)
    }
}

/// Binds `addr`, waiting out a predecessor's socket: a restarted incarnation can find
/// the port still taken for a moment, until the IO driver has reaped the operations the
/// killed incarnation left in flight (they hold the socket). Tries for up to 500 ms.
async fn bind_retrying(addr: SocketAddr, timers: &Timers) -> io::Result<std::net::UdpSocket> {
    let mut tries = 0;
    loop {
        match std::net::UdpSocket::bind(addr) {
            Err(error) if error.kind() == io::ErrorKind::AddrInUse && tries < 50 => {
                tries += 1;
                timers.sleep(Duration::from_millis(10)).await;
            }
            other => return other,
        }
    }
}

/// The next payload already in the outbox, without waiting.
fn queued(drain: &mut Drain) -> Option<Outbound> {
    match drain.poll_next(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outbound) => Some(outbound),
        Poll::Pending => None,
    }
}

/// A receive into `buf` (cleared) on `socket`, boxed so the loop can replace it.
fn receive(socket: &UdpSocket, buf: Vec<u8>) -> Receive<'_> {
    Box::pin(socket.recv_from(buf))
}

/// Errors that mean "no multicast here" rather than a passing failure.
fn no_multicast_route(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ENETUNREACH | libc::ENODEV | libc::EADDRNOTAVAIL | libc::EHOSTUNREACH)
    )
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
