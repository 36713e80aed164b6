//! Criterion suite: supervisor restart latency on 2 workers, a child failing on its
//! first poll (by returning `Err`, then by panicking under a silenced panic hook)
//! restarted 1,000 times per iteration: Ravelin's one-for-one supervisor on
//! its scheduler beside ractor's supervision and a bare Tokio respawn-on-error loop (a
//! baseline, not a supervisor). The workloads are
//! [`ravelin_benches::workloads::restart`]'s, the same code the `compare` binary times.
//!
//! `cargo bench -p ravelin-benches --bench supervisor`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_main};
use ravelin_benches::workloads::restart::{
    self, FailBy, RactorRestart, RavelinRestart, TokioRespawn, silence_panics,
};
use ravelin_benches::workloads::{WORKERS, Workload};

/// Builds one workload; each is built just before its benchmark and dropped after it, so
/// only one runtime's threads are alive at a time.
type Make = fn(FailBy) -> Box<dyn Workload>;

fn restart_latency(c: &mut Criterion) {
    silence_panics();
    for fail_by in [FailBy::Err, FailBy::Panic] {
        let mut group = c.benchmark_group(format!(
            "restart_after_{}/{WORKERS}_workers",
            fail_by.as_str()
        ));
        group.throughput(Throughput::Elements(restart::RESTARTS as u64));
        let workloads: [Make; 3] = [
            |f| Box::new(RavelinRestart::new(f)),
            |f| Box::new(TokioRespawn::new(f)),
            |f| Box::new(RactorRestart::new(f)),
        ];
        for make in workloads {
            let mut workload = make(fail_by);
            let name = workload.name();
            group.bench_function(name, |b| b.iter(|| black_box(workload.run_batch())));
        }
        group.finish();
    }
}

/// `criterion_group!` makes an undocumented `pub fn`; keep it in its own module.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::restart_latency);
}

criterion_main!(group::benches);
