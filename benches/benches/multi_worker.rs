//! Criterion suite: the multi-worker workloads, Ravelin's work-stealing scheduler on
//! 2 Linux worker threads beside Tokio's `multi_thread` runtime (and smol's
//! `async-executor` for spawn). The workloads are
//! [`ravelin_benches::workloads::spawn_multi`]'s and [`ravelin_benches::workloads::steal`]'s,
//! the same code the `compare` binary times. Idle cost is a CPU-time count, not a
//! wall-time benchmark: only `compare` reports it.
//!
//! `cargo bench -p ravelin-benches --bench multi_worker`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_main};
use ravelin_benches::workloads::spawn_multi::{BATCH, RavelinMulti, SmolMulti, TokioMulti};
use ravelin_benches::workloads::steal::{self, RavelinSteal, TokioSteal};
use ravelin_benches::workloads::{WORKERS, Workload};

/// Builds one workload; each is built just before its benchmark and dropped after it, so
/// only one runtime's threads are alive at a time.
type Make = fn() -> Box<dyn Workload>;

fn spawn_run_join(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("spawn_run_join_empty/{WORKERS}_workers"));
    group.throughput(Throughput::Elements(BATCH as u64));
    let workloads: [Make; 3] = [
        || Box::new(RavelinMulti::new()),
        || Box::new(TokioMulti::new()),
        || Box::new(SmolMulti::new()),
    ];
    for make in workloads {
        let mut workload = make();
        let name = workload.name();
        group.bench_function(name, |b| b.iter(|| black_box(workload.run_batch())));
    }
    group.finish();
}

fn work_stealing(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("work_stealing/{WORKERS}_workers"));
    group.throughput(Throughput::Elements(steal::PROCS as u64));
    // A batch takes tens of milliseconds: few, flat samples.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(10));
    let workloads: [Make; 2] = [
        || Box::new(RavelinSteal::new(steal::PROCS)),
        || Box::new(TokioSteal::new(steal::PROCS)),
    ];
    for make in workloads {
        let mut workload = make();
        let name = workload.name();
        group.bench_function(name, |b| b.iter(|| black_box(workload.run_batch())));
    }
    group.finish();
}

/// `criterion_group!` makes an undocumented `pub fn`; keep it in its own module.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::spawn_run_join, super::work_stealing);
}

criterion_main!(group::benches);
