//! The echo example's server: a handler that panics is restarted by its supervisor,
//! goes on serving its connection, and the other connections never notice.

mod common;
#[path = "../examples/echo.rs"]
#[allow(dead_code)] // the example's `main`
mod echo;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ravelin_kernel::supervisor::System;
use ravelin_linux::BackendPreference;
use ravelin_linux::net::{TcpListener, TcpStream};

use common::read_exactly;

async fn echo_of(stream: &TcpStream, message: &[u8]) -> Vec<u8> {
    let (written, _) = stream.write_all(message.to_vec()).await;
    written.unwrap();
    read_exactly(stream, message.len()).await
}

#[test]
fn a_crashing_handler_is_restarted_and_the_server_keeps_serving() {
    for preference in [BackendPreference::Auto, BackendPreference::Fallback] {
        let runtime = common::runtime(preference, 2);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(echo::Counters::default());
        let mut system = System::start(
            runtime.scheduler().clone(),
            echo::server(listener, 2, counters.clone()),
        );
        let scheduler = runtime.scheduler().clone();
        let checked = runtime.block_on(async move {
            scheduler
                .timeout(Duration::from_secs(30), async {
                    let calm = TcpStream::connect(addr).await.unwrap();
                    assert_eq!(echo_of(&calm, b"hello").await, b"hello");
                    let crashing = TcpStream::connect(addr).await.unwrap();
                    assert_eq!(echo_of(&crashing, b"first").await, b"first");
                    // The handler panics; its supervisor restarts it on the same
                    // connection, and it says so.
                    let (written, _) = crashing.write_all(echo::MAGIC.to_vec()).await;
                    written.unwrap();
                    let said = read_exactly(&crashing, echo::RESTARTED.len()).await;
                    assert_eq!(said, echo::RESTARTED);
                    assert_eq!(echo_of(&crashing, b"again").await, b"again");
                    // The other connection never noticed; new ones are served.
                    assert_eq!(echo_of(&calm, b"still here").await, b"still here");
                    let late = TcpStream::connect(addr).await.unwrap();
                    assert_eq!(echo_of(&late, b"late").await, b"late");
                })
                .await
        });
        assert!(
            checked.unwrap().is_ok(),
            "{preference:?}: timed out after 30 s"
        );
        assert_eq!(counters.restarts.load(Ordering::Relaxed), 1);
        assert_eq!(counters.accepted.load(Ordering::Relaxed), 3);
        system.stop();
        let stopped = runtime
            .block_on(async move { system.wait().await })
            .unwrap();
        assert!(stopped.is_ok(), "{preference:?}: the tree stopped cleanly");
        runtime.shutdown().unwrap();
    }
}
