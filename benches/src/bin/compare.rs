//! Side-by-side comparison of Ravelin with its peers, in one run on this machine.
//!
//! `cargo run --release -p ravelin-benches --bin compare [-- --quick]`
//!
//! Each timed pair is measured interleaved (Ravelin, peer, Ravelin, peer, … for several
//! rounds, who goes first alternating), so machine noise moves both sides alike. Each side
//! shows the median of its samples with the fastest and the 90th percentile beside it
//! (`median [min, p90]`); the ratio is of the medians, Ravelin / peer: below 1 is better
//! for Ravelin.
//! Counts (heap allocations and bytes per spawn, CPU time of an idle runtime) are printed
//! as "count vs count".
//!
//! Rows, in order: spawn + run + join on one thread; the same on all workers of a
//! multi-threaded runtime; work stealing (1,000,000 small procs from one worker, once per
//! round; 100,000 with `--quick`); heap counts; mailbox send + receive on one thread, and
//! heap counts per message; ping-pong round trips on all workers, then forced across
//! two workers (pinned procs) against the spinning floor; supervisor restart
//! latency on all workers (after an `Err` and after a panic); 4 KiB random file reads
//! at depth 1 and 32; loopback TCP echo, server CPU per round trip; scale (1,000,000
//! idle procs with 8-slot mailboxes; 100,000 with `--quick`; each runtime once, in a
//! fresh process: see the `scale` binary for the full table); idle cost, measured last,
//! with every other runtime dropped, over 10 s (2 s with `--quick`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use ravelin_benches::alloc_count::CountingAlloc;
use ravelin_benches::workloads::file_read::{self, MonoioRead, RavelinRead, TokioBlockingRead};
use ravelin_benches::workloads::idle::idle_cpu;
use ravelin_benches::workloads::mailbox::{
    self, CrossbeamLoop, RavelinLoop, RavelinProcs, TokioProcs,
};
use ravelin_benches::workloads::ping_pong::{
    self, CrossbeamPingPong, RactorPingPong, RavelinCrossWorkers, RavelinPingPong, SpinningFloor,
    TokioPingPong,
};
use ravelin_benches::workloads::restart::{
    self, FailBy, RactorRestart, RavelinRestart, TokioRespawn, silence_panics,
};
use ravelin_benches::workloads::scale;
use ravelin_benches::workloads::spawn::{
    AsyncTask, BATCH, POOL, POOL_SLOT_SIZE, RavelinHeap, RavelinPool, Spawning, TokioCurrentThread,
};
use ravelin_benches::workloads::spawn_embassy::Embassy;
use ravelin_benches::workloads::spawn_monoio::Monoio;
use ravelin_benches::workloads::spawn_multi::{RavelinMulti, SmolMulti, TokioMulti};
use ravelin_benches::workloads::steal::{self, RavelinSteal, TokioSteal};
use ravelin_benches::workloads::tcp_echo::{self, EchoPair};
use ravelin_benches::workloads::{PerElement, WORKERS, Workload, allocations_per_element};
use ravelin_kernel::sched::{Scheduler, WorkerStats};
use ravelin_linux::BackendPreference;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// How long and how often to measure.
struct Config {
    /// Interleaved rounds per pair (odd, so the median is one sample).
    rounds: usize,
    /// Target wall time of one sample (one side, one round).
    sample: Duration,
    /// Warm-up time per side before calibrating.
    warm_up: Duration,
    /// Procs per work-stealing batch; one batch per side per round, no calibration.
    steal_procs: usize,
    /// Interleaved rounds of the work-stealing pair (odd).
    steal_rounds: usize,
    /// How long each idle runtime is watched.
    idle_window: Duration,
    /// Idle processes per runtime in the scale rows (each runtime in a fresh process).
    scale_procs: usize,
    /// Interleaved rounds of the scale rows (odd).
    scale_rounds: usize,
}

impl Config {
    fn from_args() -> Self {
        let mut quick = false;
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--quick" => quick = true,
                "-h" | "--help" => {
                    println!("usage: compare [--quick]");
                    std::process::exit(0);
                }
                other => {
                    eprintln!("compare: unknown argument {other:?} (usage: compare [--quick])");
                    std::process::exit(2);
                }
            }
        }
        if quick {
            Self {
                rounds: 15,
                sample: Duration::from_millis(10),
                warm_up: Duration::from_millis(100),
                steal_procs: steal::PROCS,
                steal_rounds: 9,
                idle_window: Duration::from_secs(2),
                scale_procs: 100_000,
                scale_rounds: 3,
            }
        } else {
            Self {
                rounds: 31,
                sample: Duration::from_millis(30),
                warm_up: Duration::from_millis(500),
                steal_procs: steal::PROCS_FULL,
                steal_rounds: 7,
                idle_window: Duration::from_secs(10),
                scale_procs: 1_000_000,
                scale_rounds: 3,
            }
        }
    }
}

/// Runs `workload` for at least `at_least`; returns the batches run and the time taken.
fn run_for(workload: &mut dyn Workload, at_least: Duration) -> (u64, Duration) {
    let start = Instant::now();
    let mut batches = 0;
    loop {
        black_box(workload.run_batch());
        batches += 1;
        let elapsed = start.elapsed();
        if elapsed >= at_least {
            return (batches, elapsed);
        }
    }
}

/// Batches per sample so that one sample takes about `config.sample`.
fn calibrate(workload: &mut dyn Workload, config: &Config) -> u64 {
    let (batches, elapsed) = run_for(workload, config.warm_up);
    let per_batch = elapsed.as_secs_f64() / batches as f64;
    ((config.sample.as_secs_f64() / per_batch).ceil() as u64).max(1)
}

/// Nanoseconds per element of one sample of `batches` batches.
fn sample(workload: &mut dyn Workload, batches: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..batches {
        black_box(workload.run_batch());
    }
    start.elapsed().as_nanos() as f64 / (batches as f64 * workload.elements() as f64)
}

/// The spread of one side's samples: median, fastest and 90th percentile.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    p90: f64,
}

impl Spread {
    /// The spread of `samples` (at least one).
    fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let mid = n / 2;
        let median = if n % 2 == 1 {
            samples[mid]
        } else {
            (samples[mid - 1] + samples[mid]) / 2.0
        };
        // Nearest rank: the smallest sample with at least 90% of them at or below it.
        let p90 = samples[(n * 9).div_ceil(10).saturating_sub(1)];
        Self {
            median,
            min: samples[0],
            p90,
        }
    }
}

impl std::fmt::Display for Spread {
    /// `median ns [min, p90]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} ns [{:.1}, {:.1}]",
            self.median, self.min, self.p90
        )
    }
}

/// How many rounds, and how many batches per sample on each side.
#[derive(Clone, Copy)]
struct Plan {
    rounds: usize,
    ravelin_batches: u64,
    peer_batches: u64,
}

impl Plan {
    /// Batches per sample calibrated to `config.sample` (after a warm-up) on each side.
    fn calibrated(ravelin: &mut dyn Workload, peer: &mut dyn Workload, config: &Config) -> Self {
        Self {
            rounds: config.rounds,
            ravelin_batches: calibrate(ravelin, config),
            peer_batches: calibrate(peer, config),
        }
    }

    /// One batch per sample, `rounds` rounds, after one warm-up batch on each side: for
    /// batches that are long already.
    fn one_batch(ravelin: &mut dyn Workload, peer: &mut dyn Workload, rounds: usize) -> Self {
        black_box(ravelin.run_batch());
        black_box(peer.run_batch());
        Self {
            rounds,
            ravelin_batches: 1,
            peer_batches: 1,
        }
    }
}

/// The spread of ns per element of each side, measured interleaved.
fn interleaved(
    ravelin: &mut dyn Workload,
    peer: &mut dyn Workload,
    plan: Plan,
) -> (Spread, Spread) {
    let Plan {
        rounds,
        ravelin_batches,
        peer_batches,
    } = plan;
    let mut ours = Vec::with_capacity(rounds);
    let mut theirs = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // Alternate who goes first, so neither side always runs on a cache the other left.
        if round % 2 == 0 {
            ours.push(sample(ravelin, ravelin_batches));
            theirs.push(sample(peer, peer_batches));
        } else {
            theirs.push(sample(peer, peer_batches));
            ours.push(sample(ravelin, ravelin_batches));
        }
    }
    (Spread::of(ours), Spread::of(theirs))
}

/// One line of the table.
struct Row {
    workload: String,
    ravelin: String,
    peer: String,
    ratio: String,
}

/// A timed row, batches per sample calibrated.
fn timed_row(
    workload: &str,
    ravelin: &mut dyn Workload,
    peer: &mut dyn Workload,
    config: &Config,
) -> Row {
    let plan = Plan::calibrated(ravelin, peer, config);
    timed_row_with(workload, ravelin, peer, plan)
}

fn timed_row_with(
    workload: &str,
    ravelin: &mut dyn Workload,
    peer: &mut dyn Workload,
    plan: Plan,
) -> Row {
    let (ours, theirs) = interleaved(ravelin, peer, plan);
    Row {
        workload: format!("{workload}, {}", ravelin.name()),
        ravelin: ours.to_string(),
        peer: format!("{theirs} ({})", peer.name()),
        ratio: format!("{:.2}", ours.median / theirs.median),
    }
}

/// Formats a per-element count: whole numbers plainly, others with two decimals.
fn per(value: f64) -> String {
    if (value - value.round()).abs() < 0.005 {
        format!("{}", value.round())
    } else {
        format!("{value:.2}")
    }
}

/// What a count row's element is: `"spawn"`/`"proc"` for spawns, `"message"` for sends.
struct Unit {
    /// "heap allocations per {allocation}".
    allocation: &'static str,
    /// "heap bytes per {bytes}".
    bytes: &'static str,
}

const PER_SPAWN: Unit = Unit {
    allocation: "spawn",
    bytes: "proc",
};

const PER_MESSAGE: Unit = Unit {
    allocation: "message",
    bytes: "message",
};

fn count_rows(unit: Unit, ravelin: &mut dyn Workload, peers: &mut [&mut dyn Workload]) -> Vec<Row> {
    let measure = |w: &mut dyn Workload| -> PerElement {
        allocations_per_element(w).expect("CountingAlloc is the global allocator")
    };
    let ours = measure(ravelin);
    let mut rows = Vec::new();
    for peer in peers.iter_mut() {
        let theirs = measure(*peer);
        for (what, a, b) in [
            (
                format!("heap allocations per {}", unit.allocation),
                ours.allocations,
                theirs.allocations,
            ),
            (
                format!("heap bytes per {}", unit.bytes),
                ours.bytes,
                theirs.bytes,
            ),
        ] {
            rows.push(Row {
                workload: format!("{what}, {}", ravelin.name()),
                ravelin: per(a),
                peer: format!("{} ({})", per(b), peer.name()),
                ratio: format!("{} vs {}", per(a), per(b)),
            });
        }
    }
    rows
}

fn print_table(rows: &[Row]) {
    let header = Row {
        workload: "workload".into(),
        ravelin: "Ravelin".into(),
        peer: "peer".into(),
        ratio: "ratio (R/peer)".into(),
    };
    let cols = |r: &Row| {
        [
            r.workload.len(),
            r.ravelin.len(),
            r.peer.len(),
            r.ratio.len(),
        ]
    };
    let mut width = cols(&header);
    for row in rows {
        for (w, c) in width.iter_mut().zip(cols(row)) {
            *w = (*w).max(c);
        }
    }
    let line = |r: &Row| {
        println!(
            "| {:<w0$} | {:>w1$} | {:<w2$} | {:>w3$} |",
            r.workload,
            r.ravelin,
            r.peer,
            r.ratio,
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
        )
    };
    line(&header);
    println!(
        "|{}|{}:|{}|{}:|",
        "-".repeat(width[0] + 2),
        "-".repeat(width[1] + 1),
        "-".repeat(width[2] + 2),
        "-".repeat(width[3] + 1),
    );
    for row in rows {
        line(row);
    }
}

/// Spawn + run + join on one thread, and heap counts per spawn.
fn single_thread_rows(config: &Config) -> Vec<Row> {
    let mut heap = RavelinHeap::new();
    let mut pool = RavelinPool::new(&POOL);
    let mut async_task = AsyncTask::new();
    let mut tokio = TokioCurrentThread::new();
    let mut monoio = Monoio::new();
    let mut embassy = Embassy::new();
    let mut heap_one = RavelinHeap::with(Spawning::OneAtATime);
    let mut pool_one = RavelinPool::with(&POOL, Spawning::OneAtATime);
    let mut tokio_one = TokioCurrentThread::with(Spawning::OneAtATime);
    let mut embassy_one = Embassy::with(Spawning::OneAtATime);

    const SPAWN: &str = "spawn+run+join empty proc, 1 thread";
    const ONE: &str = "spawn one, run it, join it, 1 thread";
    let mut rows = vec![
        timed_row(SPAWN, &mut heap, &mut tokio, config),
        timed_row(SPAWN, &mut heap, &mut async_task, config),
        timed_row(SPAWN, &mut heap, &mut monoio, config),
        timed_row(SPAWN, &mut pool, &mut async_task, config),
        timed_row(SPAWN, &mut pool, &mut embassy, config),
        timed_row(ONE, &mut heap_one, &mut tokio_one, config),
        timed_row(ONE, &mut pool_one, &mut embassy_one, config),
    ];
    rows.extend(count_rows(
        PER_SPAWN,
        &mut heap,
        &mut [&mut tokio, &mut async_task],
    ));
    rows.extend(count_rows(
        PER_SPAWN,
        &mut pool,
        &mut [&mut async_task, &mut embassy],
    ));
    rows
}

/// Spawn + run + join on all workers; each runtime is dropped as soon as its row is done.
fn multi_worker_rows(config: &Config) -> Vec<Row> {
    let spawn = format!("spawn+run+join empty proc, {WORKERS} workers");
    let mut ravelin = RavelinMulti::new();
    let mut rows = Vec::new();
    {
        let mut tokio = TokioMulti::new();
        rows.push(timed_row(&spawn, &mut ravelin, &mut tokio, config));
    }
    {
        let mut smol = SmolMulti::new();
        rows.push(timed_row(&spawn, &mut ravelin, &mut smol, config));
    }
    rows
}

/// Work stealing, one batch per side per round; also a note on how Ravelin's workers
/// shared the procs over the measured rounds.
fn steal_row(config: &Config) -> (Row, String) {
    let mut ravelin = RavelinSteal::new(config.steal_procs);
    let mut tokio = TokioSteal::new(config.steal_procs);
    let plan = Plan::one_batch(&mut ravelin, &mut tokio, config.steal_rounds);
    let before = worker_stats(ravelin.runtime().scheduler());
    let what = format!(
        "work stealing, {} procs from 1 worker, {WORKERS} workers",
        config.steal_procs
    );
    let row = timed_row_with(&what, &mut ravelin, &mut tokio, plan);
    let after = worker_stats(ravelin.runtime().scheduler());
    let note = format!(
        "Ravelin work stealing over the measured rounds: {}.",
        worker_share(&before, &after)
    );
    (row, note)
}

/// Every worker's counters now.
fn worker_stats(scheduler: &Scheduler) -> Vec<WorkerStats> {
    (0..scheduler.workers())
        .map(|i| scheduler.worker_stats(i))
        .collect()
}

/// What each worker did between two snapshots.
fn worker_share(before: &[WorkerStats], after: &[WorkerStats]) -> String {
    let share: Vec<String> = before
        .iter()
        .zip(after)
        .enumerate()
        .map(|(i, (b, a))| {
            format!(
                "worker {i}: {} polls, {} steals, {} injection takes, {} parks",
                a.polls - b.polls,
                a.steals - b.steals,
                a.injections - b.injections,
                a.parks - b.parks,
            )
        })
        .collect();
    share.join("; ")
}

/// Mailbox send + receive on one thread, and heap counts per message.
fn mailbox_rows(config: &Config) -> Vec<Row> {
    let mut procs = RavelinProcs::new();
    let mut tokio = TokioProcs::new();
    let mut ravelin_loop = RavelinLoop::new();
    let mut crossbeam = CrossbeamLoop::new();

    const PROCS: &str = "mailbox send+recv per message, 2 procs on 1 worker";
    const LOOP: &str = "mailbox send+recv per message, 1 thread, no executor";
    let mut rows = vec![
        timed_row(PROCS, &mut procs, &mut tokio, config),
        timed_row(PROCS, &mut procs, &mut crossbeam, config),
        timed_row(LOOP, &mut ravelin_loop, &mut crossbeam, config),
    ];
    rows.extend(count_rows(
        PER_MESSAGE,
        &mut procs,
        &mut [&mut tokio, &mut crossbeam],
    ));
    rows
}

/// Ping-pong round trips on all workers; each peer is dropped as soon as its row is done.
/// Also a note on where Ravelin's two procs ran over those rows.
fn ping_pong_rows(config: &Config) -> (Vec<Row>, String) {
    let what = format!("ping-pong per round trip, {WORKERS} workers");
    let mut ravelin = RavelinPingPong::new();
    let peers: [fn() -> Box<dyn Workload>; 3] = [
        || Box::new(TokioPingPong::new()),
        || Box::new(CrossbeamPingPong::new()),
        || Box::new(RactorPingPong::new()),
    ];
    let before = worker_stats(ravelin.runtime().scheduler());
    let rows = peers
        .into_iter()
        .map(|make| timed_row(&what, &mut ravelin, &mut *make(), config))
        .collect();
    let after = worker_stats(ravelin.runtime().scheduler());
    let note = format!(
        "Ravelin ping-pong over its rows (warm-ups included): {}.",
        worker_share(&before, &after)
    );
    (rows, note)
}

/// Ping-pong forced across two workers (pinned procs on pinned workers) against the
/// spinning floor on the same two CPUs, interleaved; also a note on Ravelin's workers.
fn cross_worker_row(config: &Config) -> (Row, String) {
    let mut ravelin = RavelinCrossWorkers::new();
    let mut floor = SpinningFloor::new();
    let cpus = floor.cpus();
    let before = worker_stats(ravelin.runtime().scheduler());
    let row = timed_row(
        &format!(
            "ping-pong per round trip, forced across 2 workers (CPUs {} and {})",
            cpus[0], cpus[1]
        ),
        &mut ravelin,
        &mut floor,
        config,
    );
    let after = worker_stats(ravelin.runtime().scheduler());
    let note = format!(
        "Ravelin ping-pong forced across workers (warm-up included): {}.",
        worker_share(&before, &after)
    );
    (row, note)
}

/// Supervisor restart latency on all workers, after an `Err` and after a panic (with
/// the panic hook silenced for every runtime alike).
fn restart_rows(config: &Config) -> Vec<Row> {
    silence_panics();
    let mut rows = Vec::new();
    for fail_by in [FailBy::Err, FailBy::Panic] {
        let what = format!(
            "restart after {}, per restart, {WORKERS} workers",
            fail_by.as_str()
        );
        let mut ravelin = RavelinRestart::new(fail_by);
        let peers: [fn(FailBy) -> Box<dyn Workload>; 2] = [
            |f| Box::new(TokioRespawn::new(f)),
            |f| Box::new(RactorRestart::new(f)),
        ];
        rows.extend(
            peers
                .into_iter()
                .map(|make| timed_row(&what, &mut ravelin, &mut *make(fail_by), config)),
        );
    }
    rows
}

/// 4 KiB random reads from the page cache at depth 1 and deep, one worker or thread.
fn file_read_rows(config: &Config) -> Vec<Row> {
    let mut rows = Vec::new();
    for depth in [1, file_read::DEEP] {
        let what = format!("4 KiB random read, depth {depth}, per read");
        let mut uring = RavelinRead::new(BackendPreference::Auto, depth);
        let mut fallback = RavelinRead::new(BackendPreference::Fallback, depth);
        let mut monoio = MonoioRead::new(depth);
        let mut tokio = TokioBlockingRead::new(depth);
        rows.push(timed_row(&what, &mut uring, &mut monoio, config));
        rows.push(timed_row(&what, &mut uring, &mut tokio, config));
        rows.push(timed_row(&what, &mut fallback, &mut tokio, config));
    }
    rows
}

/// Loopback TCP echo, 64 connections: the server's CPU time per round trip, each server
/// measured in turn within each round (the others idle), Ravelin's beside Tokio's.
fn tcp_echo_rows(config: &Config) -> Vec<Row> {
    let mut pairs: Vec<EchoPair> = tcp_echo::SERVERS
        .iter()
        .map(|start| EchoPair::new(start().expect("start an echo server")))
        .collect();
    for pair in &mut pairs {
        pair.measure(); // warm-up
    }
    let mut cpu: Vec<Vec<f64>> = vec![Vec::with_capacity(config.rounds); pairs.len()];
    for round in 0..config.rounds {
        for i in 0..pairs.len() {
            // Rotate who goes first, as the interleaved pairs do.
            let i = (i + round) % pairs.len();
            let batch = pairs[i].measure();
            cpu[i].push(batch.server_cpu.as_nanos() as f64 / batch.round_trips as f64);
        }
    }
    let tokio = pairs.len() - 1;
    let theirs = Spread::of(cpu[tokio].clone());
    (0..tokio)
        .map(|i| {
            let ours = Spread::of(cpu[i].clone());
            Row {
                workload: format!(
                    "TCP echo, {} connections, server CPU per round trip, {}",
                    tcp_echo::CONNECTIONS,
                    pairs[i].name()
                ),
                ravelin: ours.to_string(),
                peer: format!("{theirs} ({})", pairs[tokio].name()),
                ratio: format!("{:.2}", ours.median / theirs.median),
            }
        })
        .collect()
}

/// Scale: idle processes with 8-slot mailboxes, each runtime in a fresh process (this
/// program, run again with the scale child flag).
fn scale_rows(config: &Config) -> Vec<Row> {
    let n = config.scale_procs;
    let measured = std::env::current_exe()
        .map_err(|e| e.to_string())
        .and_then(|exe| scale::measure_interleaved(&exe, n, config.scale_rounds))
        .map(|figures| (figures[0], figures[1], figures[2]));
    let (ours, tokio, actix) = match measured {
        Ok(figures) => figures,
        Err(why) => {
            return vec![Row {
                workload: format!("scale: {n} idle procs with 8-slot mailboxes"),
                ravelin: "not measured".to_string(),
                peer: why,
                ratio: String::new(),
            }];
        }
    };
    let peer = "Tokio task + mpsc(8)";
    let ns = |d: Duration| d.as_secs_f64() * 1e9;
    let time_row = |what: &str, a: Duration, b: Duration| Row {
        workload: format!("scale, {n} idle procs, 8-slot mailboxes, {WORKERS} workers: {what}"),
        ravelin: format!("{:.1} ns", ns(a)),
        peer: format!("{:.1} ns ({peer})", ns(b)),
        ratio: format!("{:.2}", ns(a) / ns(b)),
    };
    vec![
        Row {
            workload: format!("scale, {n} idle procs, 8-slot mailboxes: RSS per proc"),
            ravelin: format!("{:.0} B", ours.rss_bytes),
            peer: format!("{:.0} B ({peer})", tokio.rss_bytes),
            ratio: format!("{:.2}", ours.rss_bytes / tokio.rss_bytes),
        },
        Row {
            workload: format!("scale, {n} idle procs: heap allocations per proc"),
            ravelin: format!("{:.2}", ours.allocations),
            peer: format!("{:.2} ({peer})", tokio.allocations),
            ratio: String::new(),
        },
        time_row("spawn until started", ours.spawn, tokio.spawn),
        Row {
            workload: format!("scale, {n} idle procs, 8-slot mailboxes: spawn until started"),
            ravelin: format!("{:.1} ns", ns(ours.spawn)),
            peer: format!(
                "{:.1} ns (actix actor, mailbox 8, one thread; {:.0} B RSS)",
                ns(actix.spawn),
                actix.rss_bytes
            ),
            ratio: format!("{:.2}", ns(ours.spawn) / ns(actix.spawn)),
        },
        time_row(
            "one message to every proc, from outside",
            ours.deliver,
            tokio.deliver,
        ),
        time_row(
            "one message to every proc, from a proc",
            ours.deliver_inside,
            tokio.deliver_inside,
        ),
        time_row("shut every proc down", ours.shutdown, tokio.shutdown),
    ]
}

/// Idle cost: each runtime alone in the process, one after the other.
fn idle_row(config: &Config) -> Row {
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    let mut ravelin = RavelinMulti::new();
    let ours = idle_cpu(&mut ravelin, config.idle_window);
    let name = ravelin.name();
    drop(ravelin);
    let mut tokio = TokioMulti::new();
    let theirs = idle_cpu(&mut tokio, config.idle_window);
    let peer = tokio.name();
    drop(tokio);
    Row {
        workload: format!(
            "idle cost: process CPU over {} s, {WORKERS} workers, {name}",
            config.idle_window.as_secs()
        ),
        ravelin: ms(ours),
        peer: format!("{} ({peer})", ms(theirs)),
        ratio: format!("{} vs {}", ms(ours), ms(theirs)),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if scale::in_child(&args) {
        return;
    }
    let config = Config::from_args();
    let started = Instant::now();

    // Each group builds its runtimes and drops them before the next starts; idle cost
    // comes last, when no other runtime is alive in the process.
    let mut rows = single_thread_rows(&config);
    rows.extend(multi_worker_rows(&config));
    let (steal, steal_note) = steal_row(&config);
    rows.push(steal);
    rows.extend(mailbox_rows(&config));
    let (ping_pong, ping_pong_note) = ping_pong_rows(&config);
    rows.extend(ping_pong);
    let (cross, cross_note) = cross_worker_row(&config);
    rows.push(cross);
    rows.extend(restart_rows(&config));
    rows.extend(file_read_rows(&config));
    rows.extend(tcp_echo_rows(&config));
    rows.extend(scale_rows(&config));
    rows.push(idle_row(&config));

    println!(
        "Ravelin vs peers: {} rounds interleaved ({} for work stealing); each side shows \
         median [min, p90] of its samples, the ratio is of the medians; times are wall time per proc, message, round trip or restart (as each row says); \
         ratio < 1 is better for Ravelin",
        config.rounds, config.steal_rounds
    );
    print_table(&rows);
    println!(
        "Spawn rows: {BATCH} procs per batch; with {WORKERS} workers one root proc spawns \
         them and awaits every handle. Work stealing: each proc does {} rounds of \
         arithmetic, is detached, and counts itself done. Static pool slots are \
         {POOL_SLOT_SIZE} B each, reserved up front (not heap); Embassy's tasks also come \
         from a static pool, have no join handle (each bumps a counter instead) and run on \
         its raw executor polled by the benchmark thread (it claims a pool slot by a scan \
         from the pool's start, so with {BATCH} alive each spawn scans the ones before: \
         the one-at-a-time rows show its spawn without that scan); monoio spawns and awaits its \
         JoinHandles inside one block_on, as Tokio current_thread does. Idle cost is a count, not a \
         ratio (two near-zero CPU times): getrusage(RUSAGE_SELF) over the window after one \
         batch, that runtime alone in the process; Tokio without IO or time driver.",
        steal::WORK,
    );
    println!(
        "Mailbox rows: {} u64 messages per batch through a bounded channel of capacity {}; \
         2 procs = a producer awaiting send and a consumer awaiting recv, both long-lived on \
         one single-threaded executor (Ravelin Executor run by the benchmark thread; Tokio \
         current_thread), beside crossbeam-channel as a plain try_send-until-full / \
         try_recv-until-empty loop on one thread (no executor, no wake-ups); heap counts \
         are of one steady-state batch after a warm-up batch, on the thread that runs it. \
         Ping-pong: {} round trips per batch over two bounded(64) channels; Ravelin and \
         Tokio spawn the pinger per batch on a worker, the ponger is long-lived, and where \
         each runs is the runtime's choice (a wake lands on the waker's worker, so the pair \
         mostly shares one: see Ravelin's counters below); crossbeam pings from the \
         benchmark thread to one other OS thread, so each message wakes a thread; ractor (default features) \
         casts between two actors on Tokio multi_thread({WORKERS}). Forced across \
         workers: {} round trips per batch, the pinger pinned to worker 0 and the ponger to \
         worker 1 (Scheduler::spawn_pinned) of a 2-worker ravelin_linux::Runtime whose \
         workers are pinned to two CPUs; its peer, the spinning floor, is two threads \
         pinned to the same CPUs handing a counter back and forth through one atomic, \
         spinning (no queue, waker or scheduler); both park between batches. Restart: {} restarts \
         per batch of a child that fails on its first poll (returning Err, or panicking \
         under a silenced panic hook shared by all runtimes), until its restarted incarnation \
         first runs; Ravelin one_for_one supervisor, intensity u32::MAX per 1 s, no \
         backoff, a fresh System per batch; the Tokio row is a bare loop that respawns the \
         task when its JoinHandle yields Err (no supervisor: no fault value, intensity or \
         events); ractor's supervisor actor respawns the child (spawn_linked) on \
         ActorFailed, the child failing in post_start.",
        mailbox::MESSAGES,
        mailbox::CAPACITY,
        ping_pong::ROUND_TRIPS,
        ping_pong::CROSS_ROUND_TRIPS,
        restart::RESTARTS,
    );
    println!(
        "IO rows: Ravelin on a 1-worker ravelin_linux::Runtime, io_uring backend or the \
         fallback (epoll for sockets, the blocking pool for files). File reads: {} reads of \
         {} B per batch at random aligned offsets of a {} MiB file in the page cache, owned \
         buffers, `depth` readers each reading one after the other; monoio on its io_uring \
         driver; Tokio current_thread with each pread in spawn_blocking. TCP echo: {} \
         connections from one Tokio current_thread client thread, {} round trips of {} B \
         each per batch; server CPU = process CPU minus the client thread's over the batch; \
         Tokio current_thread server on its own thread.",
        file_read::READS,
        file_read::BLOCK,
        file_read::FILE_SIZE >> 20,
        tcp_echo::CONNECTIONS,
        tcp_echo::ROUND_TRIPS,
        tcp_echo::MESSAGE,
    );
    println!("{steal_note}");
    println!("{ping_pong_note}");
    println!("{cross_note}");
    println!("Took {:.1} s.", started.elapsed().as_secs_f64());
}
