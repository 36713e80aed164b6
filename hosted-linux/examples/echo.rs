//! A supervised TCP echo server on the hosted runtime.
//!
//! `cargo run -p ravelin-linux --example echo [-- [ADDRESS] [--demo]]` (default
//! `127.0.0.1:7878`). At start a demo client connects twice, echoes, and sends `crash!`
//! on one connection: that connection's handler panics, its supervisor restarts it, and
//! the restarted handler goes on serving the same connection (it says `restarted`),
//! while the other connection is untouched. Then the server keeps serving (try
//! `nc 127.0.0.1 7878`) until Ctrl-C stops the tree gracefully and prints the counts;
//! with `--demo` it stops by itself once the demo is done (through the same SIGTERM
//! path), and exits with failure if the demo failed.
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
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// One echo round trip on a blocking client socket.
fn echo_once(stream: &mut std::net::TcpStream, message: &[u8]) -> io::Result<()> {
    stream.write_all(message)?;
    let mut back = vec![0; message.len()];
    stream.read_exact(&mut back)?;
    if back != message {
        return Err(io::Error::other(format!(
            "sent {:?}, got back {:?}",
            String::from_utf8_lossy(message),
            String::from_utf8_lossy(&back)
        )));
    }
    Ok(())
}

/// The demo: two connections echo; one sends [`MAGIC`], its handler is restarted and
/// goes on echoing; the other never notices.
fn demo_client(addr: SocketAddr) -> io::Result<()> {
    let connect = || -> io::Result<std::net::TcpStream> {
        let stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
        Ok(stream)
    };
    let (mut calm, mut crashing) = (connect()?, connect()?);
    echo_once(&mut calm, b"hello")?;
    echo_once(&mut crashing, b"first")?;
    println!(
        "demo: both connections echo; sending {:?} on the second",
        "crash!"
    );
    crashing.write_all(MAGIC)?;
    let mut said = vec![0; RESTARTED.len()];
    crashing.read_exact(&mut said)?;
    if said != RESTARTED {
        return Err(io::Error::other("the crashed handler did not come back"));
    }
    echo_once(&mut crashing, b"again")?;
    echo_once(&mut calm, b"still here")?;
    println!("demo: the handler was restarted on the same connection; the other never noticed");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = "127.0.0.1:7878".to_string();
    let mut stop_after_demo = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => stop_after_demo = true,
            "-h" | "--help" => {
                println!("usage: echo [ADDRESS] [--demo]");
                return Ok(());
            }
            other => addr = other.to_string(),
        }
    }
    // A handler's panic is expected here (it is the demo): one line, no backtrace.
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        eprintln!(
            "{} panicked: {}",
            thread.name().unwrap_or("a thread"),
            info.payload_as_str().unwrap_or("(no message)")
        );
    }));
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
    let demo_failed = Arc::new(AtomicBool::new(false));
    let demo = {
        let (local, failed) = (listener.local_addr()?, demo_failed.clone());
        std::thread::spawn(move || {
            if let Err(e) = demo_client(local) {
                eprintln!("demo failed: {e}");
                failed.store(true, Ordering::Relaxed);
            }
            if stop_after_demo {
                // The same graceful stop as Ctrl-C: the runtime's SIGTERM handling.
                let pid = std::process::id() as libc::pid_t;
                // SAFETY: `kill` with this process's own id and a signal the runtime
                // handles; no memory is involved.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        })
    };
    let result = runtime.run(server(listener, workers, counters.clone()));
    let _ = demo.join();
    println!(
        "accepted {} connections, restarted {} handlers",
        counters.accepted.load(Ordering::Relaxed),
        counters.restarts.load(Ordering::Relaxed)
    );
    result?;
    if demo_failed.load(Ordering::Relaxed) {
        return Err("the demo failed".into());
    }
    Ok(())
}
