//! The IO driver against real resources (temp files, loopback sockets), on both
//! backends: every test body runs once on io_uring (where this machine has it; else
//! the line says so) and once on the forced fallback. Each body runs under the
//! kernel's timer, so a hang fails the test instead of stalling the suite.
mod common;

use common::read_exactly;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ravelin_kernel::sched::Scheduler;
use ravelin_linux::fs::{File, OpenOptions};
use ravelin_linux::io::NoDriver;
use ravelin_linux::net::{TcpListener, TcpStream, UdpSocket};
use ravelin_linux::{Backend, BackendPreference, FallbackReason, Runtime};

const LIMIT: Duration = Duration::from_secs(30);

/// Runs `body` on a two-worker runtime of each backend, bounded by [`LIMIT`].
fn on_both<F, Fut>(body: F)
where
    F: Fn(Scheduler) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for preference in [BackendPreference::Auto, BackendPreference::Fallback] {
        let runtime = common::runtime(preference, 2);
        println!("{preference:?}: {}", runtime.backend());
        let scheduler = runtime.scheduler().clone();
        let run = body(scheduler.clone());
        let bounded = runtime.block_on(async move { scheduler.timeout(LIMIT, run).await });
        match bounded {
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("{preference:?}: timed out after {LIMIT:?}"),
            Err(e) => panic!("{preference:?}: the test body failed: {e}"),
        }
        runtime.shutdown().unwrap();
    }
}

/// A temp file path removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ravelin-io-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&path);
        Self(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn the_backend_is_reported_and_can_be_forced() {
    let runtime = Runtime::builder()
        .workers(1)
        .pin(false)
        .backend(BackendPreference::Fallback)
        .build()
        .unwrap();
    assert_eq!(runtime.backend(), Backend::Fallback(FallbackReason::Forced));
    runtime.shutdown().unwrap();
    let runtime = Runtime::builder()
        .workers(1)
        .pin(false)
        .backend(BackendPreference::Auto)
        .build()
        .unwrap();
    assert_eq!(
        runtime.backend().is_uring(),
        Backend::detect_with(BackendPreference::Auto).is_uring()
    );
    runtime.shutdown().unwrap();
}

#[test]
fn files_round_trip_with_fsync() {
    on_both(|_| async {
        let path = TempPath::new("round-trip");
        let file = File::create(&path.0).await.unwrap();
        let (n, _) = file.write_at(b"hello world".to_vec(), 0).await;
        assert_eq!(n.unwrap(), 11);
        let (all, _) = file.write_all_at(b"at a hundred".to_vec(), 100).await;
        all.unwrap();
        file.sync_all().await.unwrap();
        file.sync_data().await.unwrap();
        let (n, buf) = file.read_at(Vec::with_capacity(64), 0).await;
        assert_eq!(n.unwrap(), 64);
        assert_eq!(&buf[..11], b"hello world");
        let (n, buf) = file.read_at(vec![0; 5], 103).await;
        assert_eq!((n.unwrap(), &buf[..]), (5, &b"a hun"[..]));
        let (n, buf) = file.read_at(Vec::with_capacity(8), 4096).await;
        assert_eq!((n.unwrap(), buf.len()), (0, 0), "end of file");
        file.close().await.unwrap();
        assert_eq!(std::fs::read(&path.0).unwrap().len(), 112);

        let read_only = File::open(&path.0).await.unwrap();
        let (n, _) = read_only.write_at(b"no".to_vec(), 0).await;
        assert_eq!(n.unwrap_err().raw_os_error(), Some(libc::EBADF));
        drop(read_only);

        let missing = File::open(path.0.with_extension("missing")).await;
        assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        let exists = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path.0)
            .await;
        assert_eq!(
            exists.unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
        let neither = OpenOptions::new().open(&path.0).await;
        assert_eq!(
            neither.unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        let nul = File::open("bad\0path").await;
        assert_eq!(nul.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    });
}

#[test]
fn scatter_gather_round_trip() {
    on_both(|_| async {
        let path = TempPath::new("vectored");
        let file = File::create(&path.0).await.unwrap();
        let parts = vec![b"abc".to_vec(), b"defg".to_vec(), b"hi".to_vec()];
        let (n, parts) = file.writev_at(parts, 10).await;
        assert_eq!(n.unwrap(), 9);
        assert_eq!(parts.len(), 3, "the buffers come back");
        let bufs = vec![
            Vec::with_capacity(4),
            Vec::with_capacity(2),
            Vec::with_capacity(10),
            Vec::with_capacity(3),
        ];
        let (n, bufs) = file.readv_at(bufs, 10).await;
        assert_eq!(n.unwrap(), 9);
        let got: Vec<&[u8]> = bufs.iter().map(|b| &b[..]).collect();
        assert_eq!(got, [&b"abcd"[..], b"ef", b"ghi", b""]);
        let too_many: Vec<Vec<u8>> = (0..2000).map(|_| Vec::with_capacity(1)).collect();
        let (n, back) = file.readv_at(too_many, 0).await;
        assert_eq!(n.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(back.len(), 2000);
        file.close().await.unwrap();
    });
}

#[test]
fn tcp_echo_with_several_connections() {
    on_both(|scheduler| async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        const CLIENTS: usize = 4;
        let s = scheduler.clone();
        let server = scheduler.spawn(async move {
            for _ in 0..CLIENTS {
                let (stream, peer) = listener.accept().await.unwrap();
                assert_eq!(stream.peer_addr().unwrap(), peer);
                s.spawn(async move {
                    loop {
                        let (n, buf) = stream.read(Vec::with_capacity(1024)).await;
                        if n.unwrap() == 0 {
                            return;
                        }
                        let (written, _) = stream.write_all(buf).await;
                        written.unwrap();
                    }
                })
                .detach();
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                scheduler.spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    assert_eq!(stream.peer_addr().unwrap(), addr);
                    let message: Vec<u8> = (0..100_000).map(|b| (b * 7 + i) as u8).collect();
                    let (written, sent) = stream.write_all(message).await;
                    written.unwrap();
                    let echoed = read_exactly(&stream, sent.len()).await;
                    assert_eq!(echoed, sent, "client {i}");
                    stream.shutdown(std::net::Shutdown::Write).unwrap();
                    let (n, _) = stream.read(Vec::with_capacity(8)).await;
                    assert_eq!(n.unwrap(), 0, "the server closed after our shutdown");
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        server.await.unwrap();
    });
}

#[test]
fn connecting_to_a_closed_port_fails() {
    on_both(|_| async {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap(); // dropped: nobody listens there now
        let error = TcpStream::connect(port).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn udp_send_to_and_recv_from_on_loopback() {
    on_both(|_| async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let (n, _) = a.send_to(b"ping".to_vec(), b_addr).await;
        assert_eq!(n.unwrap(), 4);
        let (got, buf) = b.recv_from(Vec::with_capacity(64)).await;
        assert_eq!(got.unwrap(), (4, a_addr));
        assert_eq!(&buf[..], b"ping");
        let (n, _) = b.send_to(b"pong!".to_vec(), a_addr).await;
        assert_eq!(n.unwrap(), 5);
        let (got, buf) = a.recv_from(vec![0; 3]).await;
        assert_eq!(got.unwrap(), (3, b_addr), "truncated to the buffer");
        assert_eq!(&buf[..], b"pon");
    });
}

#[test]
fn udp_multicast_join_and_leave() {
    on_both(|_| async {
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
        let group = "239.255.77.77".parse().unwrap();
        let local = "127.0.0.1".parse().unwrap();
        // Where the loopback interface takes no multicast, joining fails with a clear
        // error instead (TRAPS 29); either way leave undoes a join.
        match socket.join_multicast_v4(&group, &local) {
            Ok(()) => socket.leave_multicast_v4(&group, &local).unwrap(),
            Err(e) => println!("join on loopback refused here: {e}"),
        }
        socket.set_multicast_loop_v4(true).unwrap();
        socket.set_multicast_ttl_v4(1).unwrap();
    });
}

/// A connected pair on loopback.
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let connecting = TcpStream::connect(addr);
    let (client, accepted) = join(connecting, listener.accept()).await;
    (client.unwrap(), accepted.unwrap().0)
}

/// Polls two futures to completion together.
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

#[test]
fn a_timed_out_read_is_cancelled_and_the_stream_still_works() {
    on_both(|scheduler| async move {
        let (client, server) = pair().await;
        let timed_out = scheduler
            .timeout(
                Duration::from_millis(50),
                client.read(Vec::with_capacity(16)),
            )
            .await;
        assert!(
            timed_out.is_err(),
            "nothing was sent: the read must time out"
        );
        let (n, _) = server.write_all(b"after".to_vec()).await;
        n.unwrap();
        assert_eq!(read_exactly(&client, 5).await, b"after");
    });
}

#[test]
fn reads_cancelled_in_every_phase_lose_no_bytes() {
    on_both(|scheduler| async move {
        let (client, server) = pair().await;
        const TOTAL: usize = 100_000;
        let sent: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
        let expected = sent.clone();
        let s = scheduler.clone();
        let writer = scheduler.spawn(async move {
            for chunk in sent.chunks(997) {
                let (n, _) = server.write_all(chunk.to_vec()).await;
                n.unwrap();
                s.sleep(Duration::from_micros(300)).await;
            }
            server
        });
        // Reads with deadlines about as long as the writer's pauses: many are
        // cancelled before, while or just after data arrives. Bytes a cancelled read
        // consumed must come out of a later read, in order.
        let mut got = Vec::new();
        let mut cancelled = 0;
        while got.len() < TOTAL {
            let read = scheduler
                .timeout(
                    Duration::from_micros(50),
                    client.read(Vec::with_capacity(4096)),
                )
                .await;
            match read {
                Ok((n, buf)) => {
                    let n = n.unwrap();
                    assert!(n > 0, "the writer does not close");
                    got.extend_from_slice(&buf);
                }
                Err(_) => cancelled += 1,
            }
        }
        println!("{cancelled} reads cancelled");
        assert_eq!(got.len(), TOTAL);
        assert!(got == expected, "bytes lost or reordered");
        drop(writer.await.unwrap());
    });
}

#[test]
fn a_read_dropped_on_another_thread_is_cancelled_by_its_owner() {
    on_both(|_| async move {
        let (client, server) = pair().await;
        let client = Arc::new(client);
        let reader = client.clone();
        let mut read = Box::pin(async move { reader.read(Vec::with_capacity(16)).await });
        // Poll once here (the operation is submitted on this worker's ring), then drop
        // it on a thread that is no worker at all.
        let polled =
            std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await;
        assert!(polled, "nothing to read yet");
        std::thread::spawn(move || drop(read)).join().unwrap();
        let (n, _) = server.write_all(b"still here".to_vec()).await;
        n.unwrap();
        assert_eq!(read_exactly(&client, 10).await, b"still here");
    });
}

#[test]
fn a_udp_receive_times_out_and_the_socket_still_works() {
    on_both(|scheduler| async move {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let timed_out = scheduler
            .timeout(
                Duration::from_millis(30),
                socket.recv_from(Vec::with_capacity(16)),
            )
            .await;
        assert!(timed_out.is_err());
        let (n, _) = socket.send_to(b"self".to_vec(), addr).await;
        n.unwrap();
        let (got, buf) = socket.recv_from(Vec::with_capacity(16)).await;
        assert_eq!(got.unwrap(), (4, addr));
        assert_eq!(&buf[..], b"self");
    });
}

#[test]
fn io_outside_a_worker_is_a_clear_error() {
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let is_no_driver = |e: &std::io::Error| {
        e.kind() == std::io::ErrorKind::Unsupported
            && e.get_ref().is_some_and(|inner| inner.is::<NoDriver>())
    };
    let Poll::Ready(open) = pin!(File::open("/")).poll(&mut cx) else {
        panic!("must not wait")
    };
    assert!(is_no_driver(&open.unwrap_err()));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let Poll::Ready((result, buf)) = pin!(socket.recv_from(Vec::with_capacity(4))).poll(&mut cx)
    else {
        panic!("must not wait")
    };
    assert!(is_no_driver(&result.unwrap_err()));
    assert_eq!(buf.capacity(), 4, "the buffer comes back");
    assert!(!NoDriver.to_string().is_empty());
}

#[test]
fn more_operations_in_flight_than_the_ring_has_entries() {
    // 64 submission entries and 128 completion entries per worker ring: 300 receives
    // in flight fill the SQ (submit and retry) and their completions overflow the CQ
    // unless reaped as they come (TRAPS 23).
    on_both(|scheduler| async move {
        const SOCKETS: usize = 300;
        let sockets: Vec<Arc<UdpSocket>> = (0..SOCKETS)
            .map(|_| Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap()))
            .collect();
        let receivers: Vec<_> = sockets
            .iter()
            .map(|socket| {
                let socket = socket.clone();
                scheduler.spawn(async move {
                    let (got, buf) = socket.recv_from(Vec::with_capacity(8)).await;
                    got.unwrap();
                    buf
                })
            })
            .collect();
        // Let the receives get in flight, then send one datagram to each.
        scheduler.sleep(Duration::from_millis(20)).await;
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        for (i, socket) in sockets.iter().enumerate() {
            let (n, _) = sender
                .send_to(
                    (i as u32).to_le_bytes().to_vec(),
                    socket.local_addr().unwrap(),
                )
                .await;
            n.unwrap();
        }
        for (i, receiver) in receivers.into_iter().enumerate() {
            assert_eq!(receiver.await.unwrap(), (i as u32).to_le_bytes());
        }
    });
}

#[test]
fn a_runtime_shuts_down_with_operations_in_flight() {
    for preference in [BackendPreference::Auto, BackendPreference::Fallback] {
        let runtime = common::runtime(preference, 2);
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        for _ in 0..4 {
            let (listener, socket) = (listener.clone(), socket.clone());
            runtime
                .scheduler()
                .spawn(async move {
                    let _ = listener.accept().await;
                })
                .detach();
            runtime
                .scheduler()
                .spawn(async move {
                    let _ = socket.recv_from(Vec::with_capacity(8)).await;
                })
                .detach();
        }
        // Let them start waiting; then the workers stop with the operations in flight:
        // they are cancelled and their buffers kept until the kernel lets go.
        let s = runtime.scheduler().clone();
        runtime
            .block_on(async move { s.sleep(Duration::from_millis(20)).await })
            .unwrap();
        runtime.shutdown().unwrap();
        // The sockets still work afterwards (nothing closed them under us).
        assert!(listener.local_addr().is_ok() && socket.local_addr().is_ok());
    }
}

#[test]
fn several_procs_accept_on_one_listener() {
    // More acceptors than workers: some wait on the same listener on the same worker.
    on_both(|scheduler| async move {
        const ACCEPTORS: usize = 5;
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let acceptors: Vec<_> = (0..ACCEPTORS)
            .map(|_| {
                let listener = listener.clone();
                scheduler.spawn(async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    let (n, _) = stream.write_all(b"hi".to_vec()).await;
                    n.unwrap();
                })
            })
            .collect();
        scheduler.sleep(Duration::from_millis(20)).await;
        let mut clients = Vec::new();
        for _ in 0..ACCEPTORS {
            let client = TcpStream::connect(addr).await.unwrap();
            assert_eq!(read_exactly(&client, 2).await, b"hi");
            clients.push(client);
        }
        for acceptor in acceptors {
            acceptor.await.unwrap();
        }
    });
}
