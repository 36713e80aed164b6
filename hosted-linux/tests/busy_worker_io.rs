//! A worker that never runs out of work still delivers IO: its driver's completions
//! (io_uring) or ready descriptors (epoll) are taken every few dozen polls
//! (`Park::poll_events`), not only when it parks. On both backends, with one worker
//! kept busy by a proc that yields in a loop.
mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ravelin_kernel::sched::yield_now;
use ravelin_linux::BackendPreference;
use ravelin_linux::net::TcpListener;

/// How long the busy proc spins before it gives up (the read never came).
const GIVE_UP: Duration = Duration::from_secs(20);

#[test]
fn a_read_completes_while_the_only_worker_never_idles() {
    for preference in [BackendPreference::Auto, BackendPreference::Fallback] {
        let runtime = common::runtime(preference, 1);
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let scheduler = runtime.scheduler().clone();
        let read = Arc::new(AtomicBool::new(false));
        let busy_started = Arc::new(AtomicBool::new(false));
        // Writes once the busy proc spins, so the read completes while the worker is
        // busy (and no submission on the worker reaps it on the way).
        let writer = {
            let busy_started = busy_started.clone();
            std::thread::spawn(move || {
                while !busy_started.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(50));
                client.write_all(b"ping").unwrap();
                client
            })
        };
        let outcome = {
            let (read, busy_started) = (read.clone(), busy_started.clone());
            runtime.block_on(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let reader = {
                    let read = read.clone();
                    scheduler.spawn(async move {
                        let (n, buf) = stream.read(Vec::with_capacity(16)).await;
                        n.unwrap();
                        read.store(true, Ordering::SeqCst);
                        buf
                    })
                };
                // Keeps the only worker busy: it never parks while this runs.
                let busy = scheduler.spawn(async move {
                    busy_started.store(true, Ordering::SeqCst);
                    let start = Instant::now();
                    let mut polls = 0u64;
                    while !read.load(Ordering::SeqCst) {
                        if start.elapsed() > GIVE_UP {
                            return Err(polls);
                        }
                        polls += 1;
                        yield_now().await;
                    }
                    Ok(polls)
                });
                (reader.await.unwrap(), busy.await.unwrap())
            })
        };
        drop(writer.join().unwrap());
        let (bytes, busy) = outcome.unwrap();
        assert_eq!(bytes, b"ping", "{preference:?}");
        assert!(
            busy.is_ok(),
            "{preference:?}: the read never completed while the worker was busy"
        );
        assert!(busy_started.load(Ordering::SeqCst));
        runtime.shutdown().unwrap();
    }
}
