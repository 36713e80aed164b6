//! The receiving side: the acceptor process, and one reader process per inbound
//! connection (a temporary child of the `connections` supervisor).
//!
//! A reader ends (returning `Ok`, so that junk never counts against its supervisor's
//! restart intensity) at the first frame that is not right: a bad length, anything
//! the envelope rejects (counted there by reason), a frame from another node than the
//! one that said hello, or a payload that does not decode. Each such close is counted
//! in [`RemoteSnapshot::rejected`](super::RemoteSnapshot::rejected).

use core::pin::pin;
use core::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use ravelin_kernel::supervisor::{ChildContext, ChildSpec, Restart};
use ravelin_linux::net::TcpStream;

use super::error::RemoteError;
use super::frame::{self, Frame};
use super::node::{Answer, Inner};
use super::stats::bump;
use super::stream::{FrameReader, ReadError, append_frame};
use crate::envelope::{Identity, Rejection};
use crate::stop::unless_stopped;

/// Accepts connections and starts a reader for each, up to the configured number open
/// at once.
pub(crate) async fn accept_loop(inner: Arc<Inner>, ctx: ChildContext) -> Result<(), RemoteError> {
    let mut stop = pin!(ctx.stopping());
    while let Some(accepted) = unless_stopped(stop.as_mut(), inner.listener.accept()).await {
        let (stream, _) = accepted.map_err(RemoteError::Accept)?;
        if inner.open_connections.load(Relaxed) >= inner.config.max_connections {
            bump(&inner.stats.over_limit);
            continue;
        }
        inner.open_connections.fetch_add(1, Relaxed);
        bump(&inner.stats.accepted);
        let _ = stream.set_nodelay(true);
        let n = inner.conn_seq.fetch_add(1, Relaxed);
        let (stream, reader_inner) = (Arc::new(stream), inner.clone());
        let open = Arc::new(Open(inner.clone()));
        inner.conns_sup.add_child(
            ChildSpec::new(format!("conn-{n}"), move |ctx| {
                read_loop(reader_inner.clone(), stream.clone(), open.clone(), ctx)
            })
            .restart(Restart::Temporary),
        );
    }
    Ok(())
}

/// Counts an inbound connection as open until dropped (with the reader's spec).
struct Open(Arc<Inner>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Relaxed);
    }
}

/// Why a reader closed its connection.
enum Close {
    /// The peer closed it, or the node is stopping: nothing wrong.
    Quiet,
    /// A bad frame.
    Rejected,
}

async fn read_loop(
    inner: Arc<Inner>,
    stream: Arc<TcpStream>,
    _open: Arc<Open>,
    ctx: ChildContext,
) -> Result<(), RemoteError> {
    let close = serve(&inner, &stream, &ctx).await;
    if let Close::Rejected = close {
        bump(&inner.stats.rejected);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(())
}

async fn serve(inner: &Arc<Inner>, stream: &Arc<TcpStream>, ctx: &ChildContext) -> Close {
    let mut stop = pin!(ctx.stopping());
    let mut reader = FrameReader::new(stream.clone(), inner.envelope.mtu());
    let timers = ctx.timers();
    // The hello, within the connect timeout.
    let first = timers.timeout(inner.config.connect_timeout, reader.next());
    let peer = match unless_stopped(stop.as_mut(), first).await {
        None => return Close::Quiet,
        Some(Err(_)) => return Close::Rejected,
        Some(Ok(Err(ReadError::Closed))) => return Close::Quiet,
        Some(Ok(Err(_))) => return Close::Rejected,
        Some(Ok(Ok(packet))) => match hello(inner, packet) {
            Some(peer) => peer,
            None => return Close::Rejected,
        },
    };
    let identity = inner.envelope.identity();
    let mut out = Vec::new();
    if append_frame(
        &inner.envelope,
        &frame::hello(identity.node, identity.generation),
        &mut out,
    )
    .is_err()
    {
        return Close::Quiet;
    }
    let answered = timers.timeout(inner.config.write_timeout, stream.write_all(out));
    match unless_stopped(stop.as_mut(), answered).await {
        Some(Ok((Ok(()), _))) => {}
        _ => return Close::Quiet,
    }
    loop {
        let packet = match unless_stopped(stop.as_mut(), reader.next()).await {
            None | Some(Err(ReadError::Closed | ReadError::Io(_))) => return Close::Quiet,
            Some(Err(ReadError::BadLength(_))) => return Close::Rejected,
            Some(Ok(packet)) => packet,
        };
        let Ok(opened) = inner.envelope.open(packet) else {
            return Close::Rejected; // Counted by the envelope, by reason.
        };
        if opened.sender != peer.node || opened.generation != peer.generation {
            return Close::Rejected;
        }
        let Some(frame) = Frame::decode(opened.payload) else {
            inner.envelope.rejections().record(Rejection::Undecodable);
            return Close::Rejected;
        };
        match frame {
            Frame::Hello { .. } => return Close::Rejected,
            Frame::Tell { name, body } => inner.deliver(peer.node, None, name, body),
            Frame::Ask {
                request,
                name,
                body,
            } => inner.deliver(peer.node, Some(request), name, body),
            Frame::Reply { request, body } => {
                inner.answer(peer.node, request, Answer::Reply(body.to_vec()));
            }
            Frame::Refuse {
                request: 0,
                reason,
                name,
            } => inner.tell_refused(peer.node, name, reason),
            Frame::Refuse {
                request, reason, ..
            } => inner.answer(peer.node, request, Answer::Refused(reason)),
        }
    }
}

/// The identity a hello proves, if `packet` is one: authentic, fresh, and naming the
/// node and generation that sealed it.
fn hello(inner: &Inner, packet: &mut [u8]) -> Option<Identity> {
    let opened = inner.envelope.open(packet).ok()?;
    match Frame::decode(opened.payload) {
        Some(Frame::Hello { node, generation })
            if node == opened.sender && generation == opened.generation =>
        {
            Some(Identity { node, generation })
        }
        Some(_) => None,
        None => {
            inner.envelope.rejections().record(Rejection::Undecodable);
            None
        }
    }
}
