//! Criterion suite: mailbox send + receive on one thread (Ravelin's `Executor` beside
//! Tokio's `current_thread` runtime; a plain `try_send`/`try_recv` loop over a Ravelin
//! mailbox beside crossbeam-channel) and ping-pong round trips on 2 workers (Ravelin's
//! scheduler beside Tokio `multi_thread`, crossbeam-channel on 2 OS threads and ractor).
//! The workloads are [`ravelin_benches::workloads::mailbox`]'s and
//! [`ravelin_benches::workloads::ping_pong`]'s, the same code the `compare` binary times.
//! Heap allocations per message are counts: only `compare` reports them.
//!
//! `cargo bench -p ravelin-benches --bench mailbox`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_main};
use ravelin_benches::workloads::mailbox::{
    self, CrossbeamLoop, RavelinLoop, RavelinProcs, TokioProcs,
};
use ravelin_benches::workloads::ping_pong::{
    self, CrossbeamPingPong, RactorPingPong, RavelinPingPong, TokioPingPong,
};
use ravelin_benches::workloads::{WORKERS, Workload};

/// Builds one workload; each is built just before its benchmark and dropped after it, so
/// only one runtime's threads are alive at a time.
type Make = fn() -> Box<dyn Workload>;

fn run(c: &mut Criterion, group: &str, elements: usize, workloads: &[Make]) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(elements as u64));
    for make in workloads {
        let mut workload = make();
        let name = workload.name();
        group.bench_function(name, |b| b.iter(|| black_box(workload.run_batch())));
    }
    group.finish();
}

fn send_receive_one_thread(c: &mut Criterion) {
    run(
        c,
        "mailbox_send_recv/1_thread",
        mailbox::MESSAGES,
        &[
            || Box::new(RavelinProcs::new()),
            || Box::new(TokioProcs::new()),
            || Box::new(RavelinLoop::new()),
            || Box::new(CrossbeamLoop::new()),
        ],
    );
}

fn ping_pong(c: &mut Criterion) {
    run(
        c,
        &format!("ping_pong/{WORKERS}_workers"),
        ping_pong::ROUND_TRIPS,
        &[
            || Box::new(RavelinPingPong::new()),
            || Box::new(TokioPingPong::new()),
            || Box::new(CrossbeamPingPong::new()),
            || Box::new(RactorPingPong::new()),
        ],
    );
}

/// `criterion_group!` makes an undocumented `pub fn`; keep it in its own module.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::send_receive_one_thread, super::ping_pong);
}

criterion_main!(group::benches);
