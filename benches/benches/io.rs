//! Criterion suite: IO on one worker. 4 KiB random reads from the page cache at depth 1
//! and 32 (Ravelin on io_uring and on its fallback, monoio, Tokio `spawn_blocking`),
//! and loopback TCP echo with 64 connections, wall time per round trip (Ravelin's
//! servers on both backends, Tokio `current_thread`). The workloads are
//! [`ravelin_benches::workloads::file_read`]'s and
//! [`ravelin_benches::workloads::tcp_echo`]'s, the same code the `compare` binary times
//! (which also reports the echo server's CPU per round trip).
//!
//! `cargo bench -p ravelin-benches --bench io`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_main};
use ravelin_benches::workloads::Workload;
use ravelin_benches::workloads::file_read::{self, MonoioRead, RavelinRead, TokioBlockingRead};
use ravelin_benches::workloads::tcp_echo::{self, EchoPair};
use ravelin_linux::BackendPreference;

/// Builds one workload; each is built just before its benchmark and dropped after it.
type Make = fn(usize) -> Box<dyn Workload>;

fn file_reads(c: &mut Criterion) {
    for depth in [1, file_read::DEEP] {
        let mut group = c.benchmark_group(format!("read_4k_random/depth_{depth}"));
        group.throughput(Throughput::Elements(file_read::READS as u64));
        let workloads: [Make; 4] = [
            |d| Box::new(RavelinRead::new(BackendPreference::Auto, d)),
            |d| Box::new(RavelinRead::new(BackendPreference::Fallback, d)),
            |d| Box::new(MonoioRead::new(d)),
            |d| Box::new(TokioBlockingRead::new(d)),
        ];
        for make in workloads {
            let mut workload = make(depth);
            let name = workload.name();
            group.bench_function(name, |b| b.iter(|| black_box(workload.run_batch())));
        }
        group.finish();
    }
}

fn tcp_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("tcp_echo/{}_connections", tcp_echo::CONNECTIONS));
    group.throughput(Throughput::Elements(
        (tcp_echo::CONNECTIONS * tcp_echo::ROUND_TRIPS) as u64,
    ));
    for start in tcp_echo::SERVERS {
        let mut pair = EchoPair::new(start().expect("start an echo server"));
        let name = pair.name();
        group.bench_function(name, |b| b.iter(|| black_box(pair.run_batch())));
    }
    group.finish();
}

/// `criterion_group!` makes an undocumented `pub fn`; keep it in its own module.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::file_reads, super::tcp_echo);
}

criterion_main!(group::benches);
