//! Side-by-side comparison of Ravelin with its peers, in one run on this machine.
//!
//! `cargo run --release -p ravelin-benches --bin compare [-- --quick]`
//!
//! Each timed pair is measured interleaved (Ravelin, peer, Ravelin, peer, … for several
//! rounds) and the median per side is kept, so machine noise moves both sides alike. The
//! ratio is Ravelin / peer: below 1 is better for Ravelin. Counts (heap allocations and
//! bytes per spawn) come from a counting global allocator and are printed as
//! "count vs count".

use std::hint::black_box;
use std::time::{Duration, Instant};

use ravelin_benches::alloc_count::CountingAlloc;
use ravelin_benches::workloads::spawn::{
    AsyncTask, BATCH, POOL, POOL_SLOT_SIZE, RavelinHeap, RavelinPool, TokioCurrentThread,
};
use ravelin_benches::workloads::{PerElement, Workload, allocations_per_element};

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
            }
        } else {
            Self {
                rounds: 31,
                sample: Duration::from_millis(30),
                warm_up: Duration::from_millis(500),
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

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    }
}

/// Median ns per element of each side, measured interleaved.
fn interleaved(ravelin: &mut dyn Workload, peer: &mut dyn Workload, config: &Config) -> (f64, f64) {
    let ravelin_batches = calibrate(ravelin, config);
    let peer_batches = calibrate(peer, config);
    let mut ours = Vec::with_capacity(config.rounds);
    let mut theirs = Vec::with_capacity(config.rounds);
    for round in 0..config.rounds {
        // Alternate who goes first, so neither side always runs on a cache the other left.
        if round % 2 == 0 {
            ours.push(sample(ravelin, ravelin_batches));
            theirs.push(sample(peer, peer_batches));
        } else {
            theirs.push(sample(peer, peer_batches));
            ours.push(sample(ravelin, ravelin_batches));
        }
    }
    (median(ours), median(theirs))
}

/// One line of the table.
struct Row {
    workload: String,
    ravelin: String,
    peer: String,
    ratio: String,
}

fn timed_row(
    workload: &str,
    ravelin: &mut dyn Workload,
    peer: &mut dyn Workload,
    config: &Config,
) -> Row {
    let (ours, theirs) = interleaved(ravelin, peer, config);
    Row {
        workload: format!("{workload}, {}", ravelin.name()),
        ravelin: format!("{ours:.1} ns"),
        peer: format!("{theirs:.1} ns ({})", peer.name()),
        ratio: format!("{:.2}", ours / theirs),
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

fn count_rows(ravelin: &mut dyn Workload, peers: &mut [&mut dyn Workload]) -> Vec<Row> {
    let measure = |w: &mut dyn Workload| -> PerElement {
        allocations_per_element(w).expect("CountingAlloc is the global allocator")
    };
    let ours = measure(ravelin);
    let mut rows = Vec::new();
    for peer in peers.iter_mut() {
        let theirs = measure(*peer);
        for (what, a, b) in [
            (
                "heap allocations per spawn",
                ours.allocations,
                theirs.allocations,
            ),
            ("heap bytes per proc", ours.bytes, theirs.bytes),
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

fn main() {
    let config = Config::from_args();
    let started = Instant::now();
    let mut heap = RavelinHeap::new();
    let mut pool = RavelinPool::new(&POOL);
    let mut async_task = AsyncTask::new();
    let mut tokio = TokioCurrentThread::new();

    const SPAWN: &str = "spawn+run+join empty proc, 1 thread";
    let mut rows = vec![
        timed_row(SPAWN, &mut heap, &mut tokio, &config),
        timed_row(SPAWN, &mut heap, &mut async_task, &config),
        timed_row(SPAWN, &mut pool, &mut async_task, &config),
    ];
    rows.extend(count_rows(&mut heap, &mut [&mut tokio, &mut async_task]));
    rows.extend(count_rows(&mut pool, &mut [&mut async_task]));

    println!(
        "Ravelin vs peers: {} rounds interleaved, median per side, {BATCH} procs per batch; \
         ratio < 1 is better for Ravelin",
        config.rounds
    );
    print_table(&rows);
    println!(
        "Static pool slots are {POOL_SLOT_SIZE} B each, reserved up front (not heap). \
         Took {:.1} s.",
        started.elapsed().as_secs_f64()
    );
}
