//! A supervised TCP echo server on the hosted runtime.
//!
//! `cargo run -p ravelin-linux --example echo [-- ADDRESS]` (default `127.0.0.1:7878`),
//! then e.g. `nc 127.0.0.1 7878`. Sending `crash!` makes that connection's handler
//! panic; its supervisor restarts it and the restarted handler goes on serving the
//! same connection (it says `restarted`), while every other connection is untouched.
//! Ctrl-C stops the tree gracefully and prints the counts.
//!
//! ```text
//! echo (one-for-one)
//! ├── connections (one-for-one)   one transient handler per connection, added as
//! │   ├── conn-0                  acceptors accept; restarted if it fails
//! │   └── ...
//! ├── acceptor-0                  one acceptor per worker, all on the same listener
//! └── acceptor-N-1
//! ```

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use ravelin_hal::Duration;
use ravelin_kernel::supervisor::{
    ChildContext, ChildSpec, Lifecycle, Restart, SupervisorRef, SupervisorSpec,
};
use ravelin_linux::Runtime;
use ravelin_linux::net::{TcpListener, TcpStream};

/// Input that makes a handler panic.
pub(crate) const MAGIC: &[u8] = b"crash!";
/// What a restarted handler says first.
pub(crate) const RESTARTED: &[u8] = b"restarted\n";

/// What the server counts.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Connections accepted.
    pub(crate) accepted: AtomicUsize,
    /// Handler restarts.
    pub(crate) restarts: AtomicUsize,
}

/// The server's supervision tree: `acceptors` acceptors on `listener`, and the
/// supervisor of the connection handlers.
pub(crate) fn server(
    listener: TcpListener,
    acceptors: usize,
    counters: Arc<Counters>,
) -> SupervisorSpec {
    let listener = Arc::new(listener);
    let count = counters.clone();
    let connections = SupervisorSpec::new("connections")
        // Handler crashes are the point of the demo: many are allowed.
        .intensity(1_000, Duration::from_secs(1))
        .on_event(move |event| {
            if let Lifecycle::Restarting {
                child, restarts, ..
            } = event
            {
                count.restarts.fetch_add(1, Ordering::Relaxed);
                println!("restarting {child} (restart #{restarts})");
            }
        });
    let handlers = connections.handle();
    let mut root = SupervisorSpec::new("echo").child(ChildSpec::supervisor(connections));
    for i in 0..acceptors {
        let (listener, handlers, counters) = (listener.clone(), handlers.clone(), counters.clone());
        root = root.child(ChildSpec::new(format!("acceptor-{i}"), move |ctx| {
            accept_loop(ctx, listener.clone(), handlers.clone(), counters.clone())
        }));
    }
    root
}

/// `work`'s output, or `None` if the child is asked to stop first.
async fn unless_stopping<F: Future>(ctx: &ChildContext, work: F) -> Option<F::Output> {
    let (mut stopping, mut work) = (pin!(ctx.stopping()), pin!(work));
    poll_fn(|cx| {
        if stopping.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        work.as_mut().poll(cx).map(Some)
    })
    .await
}

async fn accept_loop(
    ctx: ChildContext,
    listener: Arc<TcpListener>,
    handlers: SupervisorRef,
    counters: Arc<Counters>,
) -> io::Result<()> {
    // The pending accept is cancelled when the child is stopped.
    while let Some(accepted) = unless_stopping(&ctx, listener.accept()).await {
        let (stream, peer) = accepted?;
        let n = counters.accepted.fetch_add(1, Ordering::Relaxed);
        println!("{}: connection {n} from {peer}", ctx.name());
        let stream = Arc::new(stream);
        let handler = ChildSpec::new(format!("conn-{n}"), move |ctx| serve(ctx, stream.clone()))
            .restart(Restart::Transient);
        handlers.add_child(handler);
    }
    Ok(())
}

/// Echoes until the peer closes; panics on [`MAGIC`].
async fn serve(ctx: ChildContext, stream: Arc<TcpStream>) -> io::Result<()> {
    if ctx.restarts() > 0 {
        let (written, _) = stream.write_all(RESTARTED).await;
        written?;
    }
    let mut buf = Vec::with_capacity(4096);
    while let Some((read, back)) = unless_stopping(&ctx, stream.read(buf)).await {
        if read? == 0 {
            return Ok(());
        }
        if back.windows(MAGIC.len()).any(|w| w == MAGIC) {
            panic!("{}: magic input, crashing", ctx.name());
        }
        let (written, back) = stream.write_all(back).await;
        written?;
        buf = back;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_string());
    let runtime = Runtime::builder().build()?;
    let workers = runtime.scheduler().workers();
    println!("backend: {}", runtime.backend());
    let topology = runtime.platform().cpu_topology();
    for worker in 0..workers {
        let cpu = runtime.platform().assigned_cpu(worker);
        match cpu.and_then(|cpu| topology.and_then(|t| t.cpu(cpu))) {
            Some(info) => println!(
                "worker {worker}: CPU {} (NUMA node {}, LLC group {}, core {})",
                info.id, info.node, info.llc, info.core
            ),
            None => println!("worker {worker}: CPU {cpu:?}"),
        }
    }
    let listener = TcpListener::bind(addr.as_str())?;
    println!(
        "echo server on {} ({workers} acceptors); send {:?} to crash a handler, Ctrl-C stops",
        listener.local_addr()?,
        String::from_utf8_lossy(MAGIC)
    );
    let counters = Arc::new(Counters::default());
    let result = runtime.run(server(listener, workers, counters.clone()));
    println!(
        "accepted {} connections, restarted {} handlers",
        counters.accepted.load(Ordering::Relaxed),
        counters.restarts.load(Ordering::Relaxed)
    );
    Ok(result?)
}
