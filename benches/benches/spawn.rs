//! Criterion suite: spawn + run + join of an empty process on one thread, Ravelin
//! lightprocs (heap and static pool) beside async-task, Tokio's `current_thread`
//! runtime, monoio and Embassy's raw executor. The workloads are [`ravelin_benches::workloads::spawn`]'s, the same code the
//! `compare` binary times.
//!
//! `cargo bench -p ravelin-benches --bench spawn`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_main};
use ravelin_benches::workloads::Workload;
use ravelin_benches::workloads::spawn::{
    AsyncTask, BATCH, POOL, RavelinHeap, RavelinPool, TokioCurrentThread,
};
use ravelin_benches::workloads::spawn_embassy::Embassy;
use ravelin_benches::workloads::spawn_monoio::Monoio;

fn spawn_run_join(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_run_join_empty/1_thread");
    group.throughput(Throughput::Elements(BATCH as u64));
    let workloads: [Box<dyn Workload>; 6] = [
        Box::new(RavelinHeap::new()),
        Box::new(RavelinPool::new(&POOL)),
        Box::new(AsyncTask::new()),
        Box::new(TokioCurrentThread::new()),
        Box::new(Monoio::new()),
        Box::new(Embassy::new()),
    ];
    for mut workload in workloads {
        let name = workload.name();
        group.bench_function(name, |b| b.iter(|| black_box(workload.run_batch())));
    }
    group.finish();
}

/// `criterion_group!` makes an undocumented `pub fn`; keep it in its own module.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::spawn_run_join);
}

criterion_main!(group::benches);
