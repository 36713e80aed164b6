//! [`RemoteNode`]: the handle of the remote layer on one node; [`Ref`]: a named
//! process on another node; [`Request`]: what a served endpoint receives.

use core::fmt;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use core::time::Duration;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use ravelin_kernel::mailbox::{
    Ref as MailboxRef, RefSendError, ReplySender, Sender, TrySendError, oneshot,
};
use ravelin_kernel::sched::Scheduler;
use ravelin_kernel::supervisor::{ChildSpec, SupervisorRef, SupervisorSpec};
use ravelin_linux::net::TcpListener;

use super::config::RemoteConfig;
use super::directory::Directory;
use super::error::{AskError, NameError, Refusal, SendError};
use super::frame::{self, MAX_NAME, MAX_OVERHEAD};
use super::inbound;
use super::message::{DecodeError, EncodeError, RemoteMessage};
use super::peer::{self, Outgoing, Peer};
use super::stats::{PeerSnapshot, RemoteSnapshot, RemoteStats, bump};
use crate::envelope::{Envelope, KeyRing, NodeId};

/// What a [`RemoteNode`] calls when a peer refuses one of this node's tells: the peer,
/// the endpoint name and the reason.
pub type OnRefused = dyn Fn(NodeId, &str, Refusal) + Send + Sync;

/// The answer an ask waits for.
pub(crate) enum Answer {
    Reply(Vec<u8>),
    Refused(Refusal),
    Lost,
}

struct Pending {
    peer: NodeId,
    answer: ReplySender<Answer>,
}

/// A local endpoint remote nodes can send to.
pub(crate) trait Endpoint: Send + Sync {
    fn deliver(
        &self,
        inner: &Arc<Inner>,
        from: NodeId,
        request: Option<u64>,
        body: &[u8],
    ) -> Result<(), Refusal>;
}

/// The served endpoints by name.
type Endpoints = HashMap<Box<[u8]>, Arc<dyn Endpoint>>;

/// State shared by the handle, the refs and the processes.
pub(crate) struct Inner {
    pub(crate) config: RemoteConfig,
    pub(crate) max_message: usize,
    pub(crate) envelope: Arc<Envelope>,
    /// Opens only the hellos that peers answer on this node's outbound connections:
    /// they travel beside the peer's own stream of frames to this node, so passing them
    /// through `envelope`'s replay window would let a hello overtake (or be overtaken
    /// by) more than a window of frames sealed around it. Never seals.
    pub(crate) answers: Envelope,
    pub(crate) directory: Arc<dyn Directory>,
    scheduler: Scheduler,
    pub(crate) listener: Arc<TcpListener>,
    local_addr: SocketAddr,
    endpoints: RwLock<Endpoints>,
    peers: Mutex<HashMap<NodeId, Arc<Peer>>>,
    pending: Mutex<HashMap<u64, Pending>>,
    next_request: AtomicU64,
    peers_sup: SupervisorRef,
    pub(crate) conns_sup: SupervisorRef,
    pub(crate) open_connections: AtomicUsize,
    pub(crate) conn_seq: AtomicU64,
    pub(crate) stats: RemoteStats,
    on_refused: Option<Box<OnRefused>>,
}

/// The remote layer of one node: serves named local endpoints to other nodes and makes
/// [`Ref`]s to theirs. Cheap to clone.
///
/// Its processes (the acceptor, one writer per peer, one reader per inbound
/// connection) run in the supervision tree returned by [`RemoteNode::new`].
#[derive(Clone)]
pub struct RemoteNode {
    inner: Arc<Inner>,
}

impl fmt::Debug for RemoteNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteNode")
            .field("node", &self.inner.envelope.identity().node)
            .field("local_addr", &self.inner.local_addr)
            .finish_non_exhaustive()
    }
}

impl RemoteNode {
    /// The remote layer of the node that `envelope` builds envelopes for, listening on
    /// `listener` (bound to the node's membership IP and port number), and the
    /// supervision tree to start (name `"remote"`) that runs its processes.
    ///
    /// `envelope` is called twice and must build the same envelope each time: the
    /// node's stream envelope, not its UDP one (their replay windows must not see each
    /// other's counters), with a large MTU (`.mtu(Envelope::MAX_MTU)`): the largest
    /// message is the smaller of `config.max_message` and what one envelope carries
    /// besides the frame header. The first seals and opens frames; the second only
    /// opens the hellos peers answer (see the module docs). Rotate keys with
    /// [`RemoteNode::rotate`], which changes both. `scheduler` provides the timers of
    /// [`Ref::ask`].
    pub fn new(
        config: RemoteConfig,
        envelope: impl Fn() -> Envelope,
        directory: Arc<dyn Directory>,
        listener: std::net::TcpListener,
        scheduler: Scheduler,
    ) -> io::Result<(Self, SupervisorSpec)> {
        Self::with_hook(config, envelope, directory, listener, scheduler, None)
    }

    /// [`new`](Self::new), with `on_refused` called (on a reader process; it must not
    /// block) whenever a peer refuses one of this node's tells. Refusals are also
    /// counted per peer ([`RemoteNode::peer_stats`]).
    pub fn with_hook(
        config: RemoteConfig,
        envelope: impl Fn() -> Envelope,
        directory: Arc<dyn Directory>,
        listener: std::net::TcpListener,
        scheduler: Scheduler,
        on_refused: Option<Box<OnRefused>>,
    ) -> io::Result<(Self, SupervisorSpec)> {
        let local_addr = listener.local_addr()?;
        let (answers, envelope) = (envelope(), Arc::new(envelope()));
        let listener = Arc::new(TcpListener::from_std(listener)?);
        let peers = SupervisorSpec::new("peers").intensity(100, Duration::from_secs(10));
        let conns = SupervisorSpec::new("connections").intensity(1000, Duration::from_secs(1));
        let max_message = config
            .max_message
            .min(envelope.max_payload().saturating_sub(MAX_OVERHEAD));
        let inner = Arc::new(Inner {
            max_message,
            envelope,
            answers,
            directory,
            scheduler,
            listener,
            local_addr,
            endpoints: RwLock::default(),
            peers: Mutex::default(),
            pending: Mutex::default(),
            next_request: AtomicU64::new(1),
            peers_sup: peers.handle(),
            conns_sup: conns.handle(),
            open_connections: AtomicUsize::new(0),
            conn_seq: AtomicU64::new(0),
            stats: RemoteStats::default(),
            on_refused,
            config,
        });
        let acceptor = {
            let inner = inner.clone();
            ChildSpec::new("acceptor", move |ctx| {
                inbound::accept_loop(inner.clone(), ctx)
            })
        };
        let spec = SupervisorSpec::new("remote")
            .child(ChildSpec::supervisor(peers))
            .child(ChildSpec::supervisor(conns))
            .child(acceptor);
        Ok((Self { inner }, spec))
    }

    /// Serves `sender`'s mailbox to other nodes as the endpoint `name`: each tell or
    /// ask for it is decoded as `M` and handed to `sender.try_send` (a full or closed
    /// mailbox, or an undecodable message, is refused back to the sender).
    pub fn serve<M, R, const N: usize>(
        &self,
        name: &str,
        sender: Sender<Request<M, R>, N>,
    ) -> Result<(), NameError>
    where
        M: RemoteMessage,
        R: Send + 'static,
    {
        self.add_endpoint(name, sender)
    }

    /// Serves the process behind a kernel address as the endpoint `name`, like
    /// [`serve`](Self::serve); the address stays valid across the process's restarts
    /// (a request that comes while it is down is refused with [`Refusal::Down`]).
    pub fn serve_ref<M, R, const N: usize>(
        &self,
        name: &str,
        target: MailboxRef<Request<M, R>, N>,
    ) -> Result<(), NameError>
    where
        M: RemoteMessage,
        R: Send + 'static,
    {
        self.add_endpoint(name, target)
    }

    fn add_endpoint<M, R, S>(&self, name: &str, target: S) -> Result<(), NameError>
    where
        M: RemoteMessage,
        R: Send + 'static,
        S: Target<Request<M, R>>,
    {
        check_name(name)?;
        let mut endpoints = self
            .inner
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if endpoints.contains_key(name.as_bytes()) {
            return Err(NameError::Taken(name.to_owned()));
        }
        let endpoint = MailboxEndpoint {
            target,
            _types: PhantomData,
        };
        endpoints.insert(name.as_bytes().into(), Arc::new(endpoint));
        Ok(())
    }

    /// Stops serving `name`; true if it was served.
    pub fn unserve(&self, name: &str) -> bool {
        self.inner
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name.as_bytes())
            .is_some()
    }

    /// A reference to the endpoint `name` on `node`, taking messages `M` and answering
    /// asks with `R`. Nothing is checked remotely until a message is sent.
    pub fn remote_ref<M, R>(&self, node: NodeId, name: &str) -> Result<Ref<M, R>, NameError>
    where
        M: RemoteMessage,
    {
        check_name(name)?;
        Ok(Ref {
            inner: self.inner.clone(),
            node,
            name: name.as_bytes().into(),
            _types: PhantomData,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// This node's id.
    pub fn node(&self) -> NodeId {
        self.inner.envelope.identity().node
    }

    /// The largest encoded message a send accepts.
    pub fn max_message(&self) -> usize {
        self.inner.max_message
    }

    /// The stream envelope (its rejection counters say why frames were refused).
    pub fn envelope(&self) -> &Arc<Envelope> {
        &self.inner.envelope
    }

    /// The envelope that opens the hellos peers answer (its rejection counters say why
    /// an answer was refused).
    pub fn answer_envelope(&self) -> &Envelope {
        &self.inner.answers
    }

    /// Changes the key ring of both envelopes (see [`Envelope::rotate`]).
    pub fn rotate(&self, f: impl Fn(&mut KeyRing)) {
        self.inner.envelope.rotate(&f);
        self.inner.answers.rotate(&f);
    }

    /// The node-wide counters.
    pub fn stats(&self) -> RemoteSnapshot {
        self.inner.stats.snapshot()
    }

    /// The counters of `peer`, if anything was ever sent to it.
    pub fn peer_stats(&self, peer: NodeId) -> Option<PeerSnapshot> {
        let peers = self
            .inner
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        peers.get(&peer).map(|p| p.stats.snapshot())
    }

    /// Asks waiting for an answer now.
    pub fn pending_asks(&self) -> usize {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Inbound connections open now.
    pub fn open_connections(&self) -> usize {
        self.inner.open_connections.load(Relaxed)
    }
}

fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(NameError::Length(name.len()));
    }
    Ok(())
}

impl Inner {
    /// The peer `node`, made (with its writer process) on first use.
    pub(crate) fn peer(self: &Arc<Self>, node: NodeId) -> Arc<Peer> {
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(peer) = peers.get(&node) {
            return peer.clone();
        }
        let peer = Arc::new(Peer::new(node, self.config.queue_capacity));
        peers.insert(node, peer.clone());
        drop(peers);
        let (inner, writer) = (self.clone(), peer.clone());
        self.peers_sup
            .add_child(ChildSpec::new(format!("peer-{node}"), move |ctx| {
                peer::write_loop(inner.clone(), writer.clone(), ctx)
            }));
        peer
    }

    /// Queues `payload` (a frame without an answer: a reply or a refusal) for `to`.
    pub(crate) fn send_answer(self: &Arc<Self>, to: NodeId, payload: Vec<u8>) -> bool {
        if self.directory.lookup(to).is_none() {
            bump(&self.stats.answers_dropped);
            return false;
        }
        match self.peer(to).push(Outgoing { payload, ask: None }) {
            Ok(()) => true,
            Err(_) => {
                bump(&self.stats.answers_dropped);
                false
            }
        }
    }

    /// A tell or ask from `from` for the endpoint `name`.
    pub(crate) fn deliver(
        self: &Arc<Self>,
        from: NodeId,
        request: Option<u64>,
        name: &[u8],
        body: &[u8],
    ) {
        let endpoint = self
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned();
        let delivered = match endpoint {
            Some(endpoint) => endpoint.deliver(self, from, request, body),
            None => Err(Refusal::UnknownName),
        };
        match delivered {
            Ok(()) => bump(&self.stats.delivered),
            Err(reason) => {
                bump(&self.stats.refusals_sent);
                self.send_answer(from, frame::refuse(request.unwrap_or(0), reason, name));
            }
        }
    }

    /// A reply or refusal from `from` for the ask `request`; dropped and counted if no
    /// ask of `from` with that id waits.
    pub(crate) fn answer(&self, from: NodeId, request: u64, answer: Answer) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let waiting = pending
            .get(&request)
            .is_some_and(|p| p.peer == from)
            .then(|| pending.remove(&request))
            .flatten();
        drop(pending);
        match waiting.map(|p| p.answer.send(answer)) {
            Some(Ok(())) => bump(&self.stats.replies_matched),
            _ => bump(&self.stats.replies_unmatched),
        }
    }

    /// A refusal of one of our tells by `from`.
    pub(crate) fn tell_refused(&self, from: NodeId, name: &[u8], reason: Refusal) {
        bump(&self.stats.tell_refusals_received);
        let peer = self
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&from)
            .cloned();
        if let Some(peer) = peer {
            peer.stats.refusal(reason);
        }
        if let Some(hook) = &self.on_refused {
            hook(from, &String::from_utf8_lossy(name), reason);
        }
    }

    /// Fails every ask waiting on `peer` (its connection broke).
    pub(crate) fn fail_pending(&self, peer: NodeId) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let lost: Vec<u64> = pending
            .iter()
            .filter(|(_, p)| p.peer == peer)
            .map(|(&id, _)| id)
            .collect();
        let failed: Vec<Pending> = lost.iter().filter_map(|id| pending.remove(id)).collect();
        drop(pending);
        for p in failed {
            let _ = p.answer.send(Answer::Lost);
        }
    }

    /// Counts a message lost with a connection (at most once: never sent again).
    pub(crate) fn lost(&self, peer: &Peer, item: &Outgoing) {
        bump(&self.stats.lost);
        bump(&peer.stats.lost);
        if let Some(id) = item.ask {
            let waiting = self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            if let Some(p) = waiting {
                let _ = p.answer.send(Answer::Lost);
            }
        }
    }

    fn forget(&self, request: u64) -> bool {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&request)
            .is_some()
    }
}

/// A named process on another node, taking `M` and answering asks with `R`.
///
/// The same contract as a local mailbox: [`tell`](Self::tell) queues or hands the
/// message back at once; a queued message is delivered at most once, in the order
/// sent; one that cannot be delivered is reported (a refusal from the remote side, a
/// lost connection), never silently dropped.
pub struct Ref<M, R = ()> {
    inner: Arc<Inner>,
    node: NodeId,
    name: Box<[u8]>,
    _types: PhantomData<fn(M) -> R>,
}

impl<M, R> Clone for Ref<M, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            node: self.node,
            name: self.name.clone(),
            _types: PhantomData,
        }
    }
}

impl<M, R> fmt::Debug for Ref<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ref")
            .field("node", &self.node)
            .field("name", &String::from_utf8_lossy(&self.name))
            .finish()
    }
}

impl<M: RemoteMessage, R> Ref<M, R> {
    /// The node it names.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The endpoint name.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// Queues `message` for the endpoint; returns at once. Hands it back if the node is
    /// not an active member, the message is too large or does not encode, or the
    /// peer's outbound queue is full.
    pub fn tell(&self, message: M) -> Result<(), SendError<M>> {
        let (peer, payload) = match self.encode(&message, None) {
            Ok(ok) => ok,
            Err(refused) => return Err(refused.hand_back(message)),
        };
        match peer.push(Outgoing { payload, ask: None }) {
            Ok(()) => {
                bump(&self.inner.stats.tells_sent);
                Ok(())
            }
            Err(peer::Refused::Full) => Err(SendError::Full(message)),
            Err(peer::Refused::Stopped) => Err(SendError::Stopped(message)),
        }
    }

    /// The frame of `message` (a tell, or the ask `request`) and the peer to queue it
    /// on.
    fn encode(&self, message: &M, request: Option<u64>) -> Result<(Arc<Peer>, Vec<u8>), Refused> {
        let inner = &self.inner;
        if inner.directory.lookup(self.node).is_none() {
            return Err(Refused::UnknownNode(self.node));
        }
        let mut payload = Vec::with_capacity(64);
        frame::request_head(&mut payload, request, &self.name);
        let head = payload.len();
        message.encode(&mut payload).map_err(Refused::Encode)?;
        let len = payload.len() - head;
        if len > inner.max_message {
            return Err(Refused::TooLarge {
                len,
                max: inner.max_message,
            });
        }
        Ok((inner.peer(self.node), payload))
    }
}

impl<M: RemoteMessage, R: RemoteMessage> Ref<M, R> {
    /// Sends `message` as a request and waits at most `timeout` for the answer.
    ///
    /// Refused at once (the question handed back) as [`tell`](Self::tell) is, and when
    /// too many asks wait already. Once sent, it ends with the reply, a refusal from
    /// the remote side, [`AskError::ConnectionLost`] if the connection to the node
    /// breaks first, or [`AskError::Timeout`].
    pub async fn ask(&self, message: M, timeout: Duration) -> Result<R, AskError<M>> {
        let inner = &self.inner;
        let id = inner.next_request.fetch_add(1, Relaxed);
        let (peer, payload) = match self.encode(&message, Some(id)) {
            Ok(ok) => ok,
            Err(refused) => return Err(refused.hand_back(message).into()),
        };
        let (answer, receiver) = oneshot();
        {
            let mut pending = inner.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.len() >= inner.config.max_pending {
                drop(pending);
                return Err(SendError::TooManyAsks(message).into());
            }
            pending.insert(
                id,
                Pending {
                    peer: self.node,
                    answer,
                },
            );
        }
        let guard = Forget { inner, id };
        let queued = peer.push(Outgoing {
            payload,
            ask: Some(id),
        });
        if let Err(refused) = queued {
            drop(guard);
            return Err(match refused {
                peer::Refused::Full => SendError::Full(message),
                peer::Refused::Stopped => SendError::Stopped(message),
            }
            .into());
        }
        drop(message);
        bump(&inner.stats.asks_sent);
        let outcome = inner.scheduler.timeout(timeout, receiver).await;
        drop(guard);
        match outcome {
            Err(_) => {
                bump(&inner.stats.ask_timeouts);
                Err(AskError::Timeout)
            }
            Ok(Err(_) | Ok(Answer::Lost)) => Err(AskError::ConnectionLost),
            Ok(Ok(Answer::Refused(reason))) => Err(AskError::Refused(reason)),
            Ok(Ok(Answer::Reply(bytes))) => R::decode(&bytes).map_err(AskError::BadReply),
        }
    }
}

/// Why a message was refused before it was queued, without the message.
enum Refused {
    UnknownNode(NodeId),
    Encode(EncodeError),
    TooLarge { len: usize, max: usize },
}

impl Refused {
    fn hand_back<M>(self, message: M) -> SendError<M> {
        match self {
            Self::UnknownNode(node) => SendError::UnknownNode(node, message),
            Self::Encode(e) => SendError::Encode(message, e),
            Self::TooLarge { len, max } => SendError::TooLarge { message, len, max },
        }
    }
}

/// Removes a pending ask when the asker stops waiting (answered, timed out, or its
/// future dropped), so the table never keeps entries nobody waits for.
struct Forget<'a> {
    inner: &'a Inner,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.inner.forget(self.id);
    }
}

/// A message delivered to a served endpoint, with the way to answer it if it is an
/// ask.
pub struct Request<M, R> {
    message: M,
    from: NodeId,
    reply: Option<ReplyTo<R>>,
}

impl<M: fmt::Debug, R> fmt::Debug for Request<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("message", &self.message)
            .field("from", &self.from)
            .field("ask", &self.reply.is_some())
            .finish()
    }
}

impl<M, R> Request<M, R> {
    /// The message.
    pub fn message(&self) -> &M {
        &self.message
    }

    /// The node that sent it.
    pub fn from(&self) -> NodeId {
        self.from
    }

    /// True for an ask not answered yet.
    pub fn is_ask(&self) -> bool {
        self.reply.is_some()
    }

    /// The message and, for an ask, the way to answer it.
    pub fn into_parts(self) -> (M, Option<ReplyTo<R>>) {
        (self.message, self.reply)
    }
}

impl<M, R: RemoteMessage> Request<M, R> {
    /// Answers the ask (a tell, or an ask answered before: `Err(NotAnAsk)`).
    pub fn reply(&mut self, reply: R) -> Result<(), ReplyError> {
        match self.reply.take() {
            Some(to) => to.send(reply),
            None => Err(ReplyError::NotAnAsk),
        }
    }
}

/// The way to answer one ask. Dropping it unanswered tells the asker
/// ([`Refusal::NoReply`]).
pub struct ReplyTo<R> {
    inner: Arc<Inner>,
    to: NodeId,
    request: u64,
    armed: bool,
    _reply: PhantomData<fn(R)>,
}

impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyTo")
            .field("to", &self.to)
            .field("request", &self.request)
            .finish()
    }
}

impl<R: RemoteMessage> ReplyTo<R> {
    /// Sends `reply` to the asker.
    pub fn send(mut self, reply: R) -> Result<(), ReplyError> {
        self.armed = false;
        let mut payload = Vec::with_capacity(64);
        frame::reply_head(&mut payload, self.request);
        let head = payload.len();
        let encoded = reply.encode(&mut payload).map_err(ReplyError::Encode);
        let len = payload.len() - head;
        let refusal = match encoded {
            Err(e) => Some((Refusal::BadReply, e)),
            Ok(()) if len > self.inner.max_message => Some((
                Refusal::BadReply,
                ReplyError::TooLarge {
                    len,
                    max: self.inner.max_message,
                },
            )),
            Ok(()) => None,
        };
        if let Some((reason, error)) = refusal {
            self.inner
                .send_answer(self.to, frame::refuse(self.request, reason, b""));
            return Err(error);
        }
        if self.inner.send_answer(self.to, payload) {
            Ok(())
        } else {
            Err(ReplyError::Dropped)
        }
    }
}

impl<R> Drop for ReplyTo<R> {
    fn drop(&mut self) {
        if self.armed {
            self.inner
                .send_answer(self.to, frame::refuse(self.request, Refusal::NoReply, b""));
        }
    }
}

/// Why a reply was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// The request was a tell, or was answered already.
    NotAnAsk,
    /// The reply could not be encoded (the asker is told [`Refusal::BadReply`]).
    Encode(EncodeError),
    /// The encoded reply is over the limit (the asker is told [`Refusal::BadReply`]).
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The asker's node is gone or its outbound queue is full: the reply was dropped
    /// (counted; the asker times out).
    Dropped,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnAsk => f.write_str("the request is not an ask, or was answered already"),
            Self::Encode(e) => write!(f, "the reply could not be encoded: {e}"),
            Self::TooLarge { len, max } => {
                write!(
                    f,
                    "the reply encodes to {len} bytes, more than the limit of {max}"
                )
            }
            Self::Dropped => f.write_str("the reply could not be queued for the asker's node"),
        }
    }
}

impl core::error::Error for ReplyError {}

/// Where a served endpoint's requests go: a mailbox's sender, or a kernel [`MailboxRef`]
/// (an address that stays valid across the process's restarts).
trait Target<T>: Send + Sync + 'static {
    /// `try_send`, handing the item back with the reason on failure.
    fn try_deliver(&self, item: T) -> Result<(), (T, Refusal)>;
}

impl<T: Send + 'static, const N: usize> Target<T> for Sender<T, N> {
    fn try_deliver(&self, item: T) -> Result<(), (T, Refusal)> {
        self.try_send(item).map_err(|e| match e {
            TrySendError::Full(back) => (back, Refusal::MailboxFull),
            TrySendError::Closed(back) => (back, Refusal::MailboxClosed),
        })
    }
}

impl<T: Send + 'static, const N: usize> Target<T> for MailboxRef<T, N> {
    fn try_deliver(&self, item: T) -> Result<(), (T, Refusal)> {
        self.try_send(item).map_err(|e| match e {
            RefSendError::Full(back) => (back, Refusal::MailboxFull),
            RefSendError::Closed(back) => (back, Refusal::MailboxClosed),
            RefSendError::Down(back) | RefSendError::Stale { message: back, .. } => {
                (back, Refusal::Down)
            }
        })
    }
}

/// A served endpoint: a kernel mailbox of [`Request`]s.
struct MailboxEndpoint<M, R, S> {
    target: S,
    _types: PhantomData<fn(M, R)>,
}

impl<M, R, S> Endpoint for MailboxEndpoint<M, R, S>
where
    M: RemoteMessage,
    R: Send + 'static,
    S: Target<Request<M, R>>,
{
    fn deliver(
        &self,
        inner: &Arc<Inner>,
        from: NodeId,
        request: Option<u64>,
        body: &[u8],
    ) -> Result<(), Refusal> {
        let message = M::decode(body).map_err(|_: DecodeError| {
            bump(&inner.stats.undecodable);
            Refusal::Undecodable
        })?;
        let reply = request.map(|request| ReplyTo {
            inner: inner.clone(),
            to: from,
            request,
            armed: true,
            _reply: PhantomData,
        });
        let request = Request {
            message,
            from,
            reply,
        };
        self.target
            .try_deliver(request)
            .map_err(|(mut back, reason)| {
                if let Some(reply) = back.reply.as_mut() {
                    reply.armed = false; // The refusal sent by the caller answers it.
                }
                reason
            })
    }
}
