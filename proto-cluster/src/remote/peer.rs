//! One peer: its bounded outbound queue and the writer process that drains it over
//! the node's one outbound connection to that peer.
//!
//! The queue is a [`WakeQueue`] (a full one hands the frame back, and the sender gets
//! its message back) whose one consumer is the writer. The writer seals each frame as it writes it, so the
//! frames to one peer carry increasing envelope counters in the order they travel, on
//! one connection: the peer's replay window sees them in order. (The peer's answer to
//! this node's hello travels the other way, beside the peer's own frames to this node,
//! so it is opened by a second envelope with a replay window of its own.)

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use ravelin_kernel::supervisor::ChildContext;
use ravelin_kernel::time::Timers;
use ravelin_linux::net::TcpStream;

use super::error::RemoteError;
use super::frame::{self, Frame};
use super::node::Inner;
use super::stats::{PeerStats, bump};
use super::stream::{FrameReader, append_frame};
use crate::envelope::{Generation, NodeId};
use crate::wake_queue::WakeQueue;

/// Bytes gathered into one write when several frames are queued.
const BATCH: usize = 64 * 1024;

/// A frame waiting to be sealed and written.
pub(crate) struct Outgoing {
    /// The frame's payload (kind byte first).
    pub(crate) payload: Vec<u8>,
    /// The ask it carries, failed if the frame is lost.
    pub(crate) ask: Option<u64>,
}

/// One peer's queue and counters; outlives the writer's restarts.
pub(crate) struct Peer {
    pub(crate) node: NodeId,
    /// Set while no writer runs (its supervisor stopped it): pushes are refused.
    stopped: AtomicBool,
    queue: WakeQueue<Outgoing>,
    pub(crate) stats: PeerStats,
}

impl Peer {
    pub(crate) fn new(node: NodeId, capacity: usize) -> Self {
        Self {
            node,
            stopped: AtomicBool::new(false),
            queue: WakeQueue::new(capacity),
            stats: PeerStats::default(),
        }
    }

    /// Queues `item`, or hands it back if the queue is full or the writer stopped.
    pub(crate) fn push(&self, item: Outgoing) -> Result<(), Refused> {
        if self.stopped.load(Relaxed) {
            return Err(Refused::Stopped);
        }
        self.queue.push(item).map_err(|_| Refused::Full)?;
        bump(&self.stats.queued);
        Ok(())
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Outgoing> {
        self.queue.poll_pop(cx)
    }
}

/// Why [`Peer::push`] refused a frame.
pub(crate) enum Refused {
    Full,
    Stopped,
}

/// What the writer waits for.
enum Event {
    Stop,
    Item(Outgoing),
    Broken,
}

/// Why an outbound connection could not be made.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The directory no longer knows the node.
    Unknown,
    /// Connecting or writing the hello failed.
    Io,
    /// The peer's hello did not come, or is not the right node's.
    Hello,
    /// It took longer than the connect timeout.
    Timeout,
}

/// How a connected writer's connection ended.
enum Ended {
    /// The writer is asked to stop.
    Stop,
    /// Writing failed, or the peer closed.
    Broken,
    /// The directory shows a newer generation of the peer: this frame, not written yet,
    /// goes to the new run.
    Restarted(Outgoing),
}

/// The writer of one peer: connects when there is something to send, writes queued
/// frames in order, and on a broken connection reports what it loses (never sending it
/// again) and waits for the next message to reconnect.
pub(crate) async fn write_loop(
    inner: Arc<Inner>,
    peer: Arc<Peer>,
    ctx: ChildContext,
) -> Result<(), RemoteError> {
    let timers = ctx.timers();
    let mut stop = pin!(ctx.stopping());
    let mut out = Vec::new();
    peer.stopped.store(false, Relaxed);
    let mut carried = None;
    loop {
        // Idle: no connection until there is something to send.
        let first = match carried.take() {
            Some(item) => item,
            None => match next_event(stop.as_mut(), &peer, None).await {
                Event::Stop => {
                    stopping(&inner, &peer);
                    return Ok(());
                }
                Event::Item(item) => item,
                Event::Broken => continue,
            },
        };
        let connected = timers
            .timeout(inner.config.connect_timeout, connect(&inner, peer.node))
            .await
            .unwrap_or(Err(ConnectError::Timeout));
        let (stream, generation) = match connected {
            Ok(ok) => ok,
            Err(_) => {
                bump(&inner.stats.connect_failures);
                inner.lost(&peer, &first);
                drain(&inner, &peer);
                inner.fail_pending(peer.node);
                continue;
            }
        };
        bump(&inner.stats.connects);
        // Connected. The peer never writes on this connection after its hello: a read
        // that completes means it closed (or broke the protocol).
        let watcher = stream.clone();
        let mut watch: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
            let _ = watcher.read(Vec::with_capacity(1)).await;
        });
        let mut next = Some(first);
        let ended = loop {
            let item = match next.take() {
                Some(item) => item,
                None => match next_event(stop.as_mut(), &peer, Some(watch.as_mut())).await {
                    Event::Stop => break Ended::Stop,
                    Event::Broken => break Ended::Broken,
                    Event::Item(item) => item,
                },
            };
            if newer_generation(&inner, peer.node, generation) {
                break Ended::Restarted(item);
            }
            if !write_batch(&inner, &peer, timers, &stream, item, &mut out).await {
                break Ended::Broken;
            }
        };
        let _ = stream.shutdown(std::net::Shutdown::Both);
        bump(&inner.stats.disconnects);
        // Asks waiting on this connection get no answer from the peer's next run.
        inner.fail_pending(peer.node);
        match ended {
            Ended::Stop => {
                stopping(&inner, &peer);
                return Ok(());
            }
            Ended::Broken => drain(&inner, &peer),
            Ended::Restarted(item) => carried = Some(item),
        }
    }
}

/// The writer stops: refuse new frames, then report the queued ones lost.
fn stopping(inner: &Inner, peer: &Peer) {
    peer.stopped.store(true, Relaxed);
    drain(inner, peer);
}

/// Reports every queued frame as lost.
fn drain(inner: &Inner, peer: &Peer) {
    while let Some(item) = peer.queue.try_pop() {
        inner.lost(peer, &item);
    }
}

fn newer_generation(inner: &Inner, node: NodeId, connected: Generation) -> bool {
    inner
        .directory
        .lookup(node)
        .is_some_and(|(_, generation)| generation > connected)
}

/// Seals `first` and whatever else is queued (up to [`BATCH`] bytes) and writes them
/// in one go; false if the connection broke (every frame of the batch is then lost:
/// it may or may not have been delivered).
async fn write_batch(
    inner: &Inner,
    peer: &Peer,
    timers: &Timers,
    stream: &TcpStream,
    first: Outgoing,
    out: &mut Vec<u8>,
) -> bool {
    out.clear();
    let mut batch = Vec::new();
    let mut item = Some(first);
    while let Some(current) = item.take() {
        match append_frame(&inner.envelope, &current.payload, out) {
            Ok(()) => batch.push(current),
            Err(_) => inner.lost(peer, &current),
        }
        if out.len() < BATCH {
            item = peer.queue.try_pop();
        }
    }
    if out.is_empty() {
        return true;
    }
    let buf = core::mem::take(out);
    let written = timers
        .timeout(inner.config.write_timeout, stream.write_all(buf))
        .await;
    match written {
        Ok((Ok(()), back)) => {
            *out = back;
            for _ in &batch {
                bump(&inner.stats.frames_written);
                bump(&peer.stats.written);
            }
            true
        }
        _ => {
            for lost in &batch {
                inner.lost(peer, lost);
            }
            false
        }
    }
}

/// Waits for the stop request, the next queued frame, or (when given) the watcher of
/// a connection to complete.
async fn next_event(
    mut stop: Pin<&mut impl Future<Output = ()>>,
    peer: &Peer,
    mut watch: Option<Pin<&mut (dyn Future<Output = ()> + Send)>>,
) -> Event {
    poll_fn(|cx| {
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Event::Stop);
        }
        if let Some(watch) = watch.as_mut()
            && watch.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Event::Broken);
        }
        peer.poll_next(cx).map(Event::Item)
    })
    .await
}

/// Connects to `node` at the address the directory gives and exchanges hellos; the
/// stream and the generation the peer proved.
async fn connect(
    inner: &Inner,
    node: NodeId,
) -> Result<(Arc<TcpStream>, Generation), ConnectError> {
    let (addr, expected) = inner.directory.lookup(node).ok_or(ConnectError::Unknown)?;
    let stream = Arc::new(
        TcpStream::connect(addr)
            .await
            .map_err(|_| ConnectError::Io)?,
    );
    let _ = stream.set_nodelay(true);
    let identity = inner.envelope.identity();
    let mut out = Vec::new();
    append_frame(
        &inner.envelope,
        &frame::hello(identity.node, identity.generation),
        &mut out,
    )
    .map_err(|_| ConnectError::Hello)?;
    let (written, _) = stream.write_all(out).await;
    written.map_err(|_| ConnectError::Io)?;
    let mut reader = FrameReader::new(stream.clone(), inner.envelope.mtu());
    let packet = reader.next().await.map_err(|_| ConnectError::Hello)?;
    let opened = inner
        .answers
        .open(packet)
        .map_err(|_| ConnectError::Hello)?;
    match Frame::decode(opened.payload) {
        Some(Frame::Hello {
            node: said,
            generation,
        }) if said == opened.sender
            && generation == opened.generation
            && said == node
            && generation >= expected =>
        {
            Ok((stream, generation))
        }
        _ => Err(ConnectError::Hello),
    }
}
