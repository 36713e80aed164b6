//! A runtime whose procs all wait on IO (an accept, a receive, a read) sleeps in its
//! drivers: no wake-up and no CPU while nothing arrives, on both backends. Alone in
//! its binary, so the process's CPU time is the runtime's.
mod common;

use std::sync::Arc;
use std::time::Duration;

use ravelin_linux::net::{TcpListener, TcpStream, UdpSocket};
use ravelin_linux::{BackendPreference, Runtime};

fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn workers_waiting_on_io_sleep_without_cpu() {
    for preference in [BackendPreference::Auto, BackendPreference::Fallback] {
        let runtime = common::runtime(preference, 2);
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let (l, s) = (listener.clone(), socket.clone());
        let waiting = runtime
            .block_on(async move {
                let accept = l.accept();
                let connect = TcpStream::connect(addr);
                // One connection to read from, then procs left waiting on each kind.
                let (client, accepted) = (connect.await.unwrap(), accept.await.unwrap().0);
                (Arc::new(client), Arc::new(accepted), s)
            })
            .unwrap();
        let (client, _server, socket) = waiting;
        let scheduler = runtime.scheduler();
        let procs = [
            scheduler.spawn(async move {
                let _ = listener.accept().await;
            }),
            scheduler.spawn(async move {
                let _ = socket.recv_from(Vec::with_capacity(8)).await;
            }),
            scheduler.spawn(async move {
                let _ = client.read(Vec::with_capacity(8)).await;
            }),
        ];
        std::thread::sleep(Duration::from_millis(200)); // let them reach their waits
        let parks = |rt: &Runtime| -> Vec<usize> {
            (0..2)
                .map(|i| rt.scheduler().worker_stats(i).parks)
                .collect()
        };
        let (parks_before, cpu_before) = (parks(&runtime), process_cpu_time());
        std::thread::sleep(Duration::from_secs(3));
        let (parks_after, cpu) = (parks(&runtime), process_cpu_time() - cpu_before);
        println!(
            "{}: CPU {cpu:?} in 3 s, parks {parks_before:?} -> {parks_after:?}",
            runtime.backend()
        );
        assert_eq!(
            parks_before, parks_after,
            "{preference:?}: idle workers woke up"
        );
        assert!(
            cpu < Duration::from_millis(100),
            "{preference:?}: {cpu:?} of CPU while waiting"
        );
        assert!(procs.iter().all(|p| !p.is_finished()));
        runtime.shutdown().unwrap();
    }
}
