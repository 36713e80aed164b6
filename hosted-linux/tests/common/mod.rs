//! Scaffolding shared by the hosted runtime's integration tests: an unpinned runtime on
//! a chosen backend, and reading a fixed number of bytes from a stream.

// Each test binary compiles its own copy and uses only part of it.
#![allow(dead_code)]

use ravelin_linux::net::TcpStream;
use ravelin_linux::{BackendPreference, Runtime};

/// A runtime of `workers` unpinned workers on the backend `preference` asks for.
pub(crate) fn runtime(preference: BackendPreference, workers: usize) -> Runtime {
    Runtime::builder()
        .workers(workers)
        .pin(false)
        .backend(preference)
        .build()
        .unwrap()
}

/// Reads from `stream` until `len` bytes have arrived.
pub(crate) async fn read_exactly(stream: &TcpStream, len: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < len {
        let (n, buf) = stream.read(Vec::with_capacity(len - got.len())).await;
        assert!(n.unwrap() > 0, "the peer closed early");
        got.extend_from_slice(&buf);
    }
    got
}
