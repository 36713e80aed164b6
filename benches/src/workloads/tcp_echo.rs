//! Loopback TCP echo with [`CONNECTIONS`] connections: the server's CPU time per round
//! trip, beside the wall time.
//!
//! A server ([`EchoServer`]) listens on `127.0.0.1` (an ephemeral port) and echoes
//! whatever each connection sends until it closes. One [`EchoClient`] thread, with a
//! Tokio `current_thread` runtime of its own, keeps [`CONNECTIONS`] connections open to
//! it; each batch, every connection does [`ROUND_TRIPS`] round trips of a
//! [`MESSAGE`]-byte message (write it all, read it all back) concurrently with the
//! others.
//!
//! Loopback echo is bound by the kernel's TCP stack, so the figure that tells runtimes
//! apart is the server's CPU per round trip: the process's CPU time
//! (`getrusage(RUSAGE_SELF)`) over the batch minus the client thread's own
//! (`CLOCK_THREAD_CPUTIME_ID`). Nothing else may run in the process meanwhile (other
//! runtimes alive must be idle).
//!
//! - [`RavelinEchoServer`]: a one-worker [`Runtime`] (io_uring or the epoll fallback),
//!   an accepting proc and a proc per connection, reading into and writing from owned
//!   buffers;
//! - [`TokioEchoServer`]: Tokio `current_thread` on one thread, a task per connection.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ravelin_linux::{Backend, BackendPreference, Runtime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Workload;

/// Connections open at once.
pub const CONNECTIONS: usize = 64;
/// Round trips per connection per batch.
pub const ROUND_TRIPS: usize = 50;
/// Bytes per message.
pub const MESSAGE: usize = 64;

/// A running echo server; dropping it stops it.
pub trait EchoServer {
    /// Short name for tables.
    fn name(&self) -> &'static str;
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
}

/// Starts one kind of server (for tables that start each in turn).
pub type StartServer = fn() -> io::Result<Box<dyn EchoServer>>;

/// The servers measured, Ravelin's first: io_uring, the fallback, then Tokio's.
pub const SERVERS: [StartServer; 3] = [
    || Ok(Box::new(RavelinEchoServer::start(BackendPreference::Auto)?)),
    || {
        Ok(Box::new(RavelinEchoServer::start(
            BackendPreference::Fallback,
        )?))
    },
    || Ok(Box::new(TokioEchoServer::start()?)),
];

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time the process has used, all threads.
fn process_cpu() -> Duration {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn cpu_clock(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and `clock` a clock id the kernel knows.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One echo round trip on `stream`, `ROUND_TRIPS` times.
async fn echo_round_trips(stream: &mut tokio::net::TcpStream) -> io::Result<usize> {
    let out = [0x5Au8; MESSAGE];
    let mut back = [0u8; MESSAGE];
    for _ in 0..ROUND_TRIPS {
        stream.write_all(&out).await?;
        stream.read_exact(&mut back).await?;
        if back != out {
            return Err(io::Error::other("echo changed the bytes"));
        }
    }
    Ok(ROUND_TRIPS)
}

/// What the client thread reports for one batch.
struct ClientBatch {
    round_trips: usize,
    cpu: Duration,
}

/// The client: one thread with a Tokio `current_thread` runtime and [`CONNECTIONS`]
/// open connections, running one batch per request.
#[derive(Debug)]
pub struct EchoClient {
    requests: Option<mpsc::Sender<()>>,
    results: mpsc::Receiver<io::Result<ClientBatch>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ClientBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBatch")
            .field("round_trips", &self.round_trips)
            .finish_non_exhaustive()
    }
}

impl EchoClient {
    /// Connects [`CONNECTIONS`] connections to `server`.
    ///
    /// # Errors
    /// If a connection cannot be made or the thread cannot start.
    pub fn connect(server: SocketAddr) -> io::Result<Self> {
        let (req_tx, req_rx) = mpsc::channel::<()>();
        let (res_tx, res_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("echo-client".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let connected = runtime.block_on(async {
                    let mut streams = Vec::with_capacity(CONNECTIONS);
                    for _ in 0..CONNECTIONS {
                        let stream = tokio::net::TcpStream::connect(server).await?;
                        stream.set_nodelay(true)?;
                        streams.push(stream);
                    }
                    Ok::<_, io::Error>(streams)
                });
                let mut streams = match connected {
                    Ok(streams) => {
                        let _ = ready_tx.send(Ok(()));
                        streams
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while req_rx.recv().is_ok() {
                    let cpu_before = thread_cpu();
                    let batch = runtime.block_on(async {
                        let tasks: Vec<_> = streams
                            .drain(..)
                            .map(|mut stream| {
                                tokio::spawn(async move {
                                    let done = echo_round_trips(&mut stream).await;
                                    (stream, done)
                                })
                            })
                            .collect();
                        let mut round_trips = 0;
                        let mut failure = None;
                        for task in tasks {
                            match task.await {
                                Ok((stream, done)) => {
                                    streams.push(stream);
                                    match done {
                                        Ok(n) => round_trips += n,
                                        Err(e) => failure = Some(e),
                                    }
                                }
                                Err(e) => failure = Some(io::Error::other(e)),
                            }
                        }
                        match failure {
                            Some(e) => Err(e),
                            None => Ok(round_trips),
                        }
                    });
                    let cpu = thread_cpu() - cpu_before;
                    let batch = batch.map(|round_trips| ClientBatch { round_trips, cpu });
                    if res_tx.send(batch).is_err() {
                        return;
                    }
                }
            })?;
        ready_rx
            .recv()
            .map_err(|_| io::Error::other("echo client thread died"))??;
        Ok(Self {
            requests: Some(req_tx),
            results: res_rx,
            thread: Some(thread),
        })
    }

    /// Runs one batch; returns the round trips done and the client thread's CPU time.
    fn batch(&self) -> io::Result<ClientBatch> {
        let requests = self
            .requests
            .as_ref()
            .ok_or_else(|| io::Error::other("closed"))?;
        requests
            .send(())
            .map_err(|_| io::Error::other("echo client thread died"))?;
        self.results
            .recv()
            .map_err(|_| io::Error::other("echo client thread died"))?
    }
}

impl Drop for EchoClient {
    fn drop(&mut self) {
        // Closing the request channel ends the thread, which closes its connections.
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One measured batch: wall time and the server's CPU time.
#[derive(Clone, Copy, Debug)]
pub struct EchoBatch {
    /// Round trips done.
    pub round_trips: usize,
    /// Wall time of the batch.
    pub wall: Duration,
    /// Process CPU minus the client thread's CPU over the batch.
    pub server_cpu: Duration,
}

/// A server and the client connected to it.
pub struct EchoPair {
    // Field order: the client disconnects before the server stops.
    client: EchoClient,
    server: Box<dyn EchoServer>,
    last_server_cpu: Duration,
}

impl std::fmt::Debug for EchoPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoPair")
            .field("server", &self.server.name())
            .finish_non_exhaustive()
    }
}

impl EchoPair {
    /// Connects a client to `server`.
    ///
    /// # Panics
    /// If the client cannot connect.
    pub fn new(server: Box<dyn EchoServer>) -> Self {
        let client = EchoClient::connect(server.addr()).expect("connect the echo client");
        Self {
            client,
            server,
            last_server_cpu: Duration::ZERO,
        }
    }

    /// Runs one batch and measures it.
    ///
    /// # Panics
    /// If a round trip fails.
    pub fn measure(&mut self) -> EchoBatch {
        let (wall_start, cpu_start) = (Instant::now(), process_cpu());
        let client = self.client.batch().expect("echo batch");
        let (wall, cpu) = (wall_start.elapsed(), process_cpu() - cpu_start);
        let server_cpu = cpu.saturating_sub(client.cpu);
        self.last_server_cpu = server_cpu;
        EchoBatch {
            round_trips: client.round_trips,
            wall,
            server_cpu,
        }
    }

    /// The server CPU time of the last batch.
    pub fn last_server_cpu(&self) -> Duration {
        self.last_server_cpu
    }
}

impl Workload for EchoPair {
    fn name(&self) -> &'static str {
        self.server.name()
    }

    fn elements(&self) -> usize {
        CONNECTIONS * ROUND_TRIPS
    }

    fn run_batch(&mut self) -> usize {
        self.measure().round_trips
    }
}

/// Ravelin echo server: an accepting proc and one proc per connection on a one-worker
/// [`Runtime`]; stopped by shutting the runtime down.
#[derive(Debug)]
pub struct RavelinEchoServer {
    addr: SocketAddr,
    runtime: Runtime,
}

impl RavelinEchoServer {
    /// Starts the server on `127.0.0.1`, an ephemeral port, on the backend `preference`
    /// asks for.
    ///
    /// # Errors
    /// If the runtime or the listener cannot be made.
    pub fn start(preference: BackendPreference) -> io::Result<Self> {
        let runtime = Runtime::builder()
            .workers(1)
            .pin(false)
            .backend(preference)
            .build()
            .map_err(io::Error::other)?;
        let listener = ravelin_linux::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let scheduler = runtime.scheduler().clone();
        let acceptor = runtime.scheduler().spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(scheduler.spawn(serve_ravelin(stream)));
            }
        });
        // Detached: it accepts until the runtime shuts down.
        drop(acceptor);
        Ok(Self { addr, runtime })
    }
}

/// Echoes `stream` until it closes or fails, through one owned buffer.
async fn serve_ravelin(stream: ravelin_linux::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        let (read, back) = stream.read(buf).await;
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let (written, back) = stream.write_all(back).await;
                if written.is_err() {
                    return;
                }
                buf = back;
            }
        }
    }
}

impl EchoServer for RavelinEchoServer {
    fn name(&self) -> &'static str {
        match self.runtime.backend() {
            Backend::Uring(_) => "Ravelin echo server (io_uring), 1 worker",
            Backend::Fallback(_) => "Ravelin echo server (fallback: epoll), 1 worker",
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Tokio `current_thread` echo server on a thread of its own.
#[derive(Debug)]
pub struct TokioEchoServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TokioEchoServer {
    /// Starts the server on `127.0.0.1`, an ephemeral port.
    ///
    /// # Errors
    /// If the runtime, the listener or the thread cannot be made.
    pub fn start() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel();
        let thread = thread::Builder::new()
            .name("tokio-echo".into())
            .spawn(move || {
                runtime.block_on(async move {
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                tokio::spawn(serve(stream));
                            }
                        }
                    }
                });
            })?;
        Ok(Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

/// Echoes `stream` until it closes or fails.
async fn serve(mut stream: tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl EchoServer for TokioEchoServer {
    fn name(&self) -> &'static str {
        "Tokio current_thread echo server"
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TokioEchoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_echoes_every_round_trip() {
        for start in SERVERS {
            let mut pair = EchoPair::new(start().expect("start the server"));
            for _ in 0..2 {
                let batch = pair.measure();
                assert_eq!(batch.round_trips, CONNECTIONS * ROUND_TRIPS);
                assert!(batch.wall > Duration::ZERO);
            }
        }
    }
}
