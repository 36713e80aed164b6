//! Scale: a million idle supervised processes, each with an 8-slot mailbox of 16-byte
//! messages, on all workers; Ravelin beside Tokio (task + `mpsc::channel(8)`) in the same
//! run, each runtime in a fresh process of its own (see
//! [`ravelin_benches::workloads::scale`]).
//!
//! `cargo run --release -p ravelin-benches --bin scale [-- --quick | --n N] [--rounds R]`
//! (1,000,000 processes; 100,000 with `--quick`; the median of 3 interleaved rounds).

use std::time::Duration;

use ravelin_benches::alloc_count::CountingAlloc;
use ravelin_benches::workloads::WORKERS;
use ravelin_benches::workloads::scale::{self, Figures, Runtime};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Processes per runtime in a full run.
const FULL: usize = 1_000_000;
/// Processes per runtime with `--quick`.
const QUICK: usize = 100_000;

/// The figures for actix on this machine (not a dependency here).
const ACTIX_BYTES: f64 = 847.0;
const ACTIX_SPAWN_NS: f64 = 836.0;

/// Interleaved rounds per runtime (odd, so the median is one sample).
const ROUNDS: usize = 3;

const USAGE: &str = "usage: scale [--quick | --n N] [--rounds R]";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

/// Processes per runtime and rounds, from the command line.
fn parse(args: &[String]) -> (usize, usize) {
    let (mut n, mut rounds) = (FULL, ROUNDS);
    let mut args = args.iter();
    let number = |value: Option<&String>| -> usize {
        match value.and_then(|v| v.replace('_', "").parse().ok()) {
            Some(v) if v > 0 => v,
            _ => usage(),
        }
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => n = QUICK,
            "--n" => n = number(args.next()),
            "--rounds" => rounds = number(args.next()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            _ => usage(),
        }
    }
    (n, rounds)
}

fn ns(d: Duration) -> String {
    format!("{:.0} ns", d.as_secs_f64() * 1e9)
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 {
        format!("{:.2}", ours / theirs)
    } else {
        "-".to_string()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if scale::in_child(&args) {
        return;
    }
    let (n, rounds) = parse(&args);
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("scale: cannot find this program's path: {e}");
            std::process::exit(1)
        }
    };
    let (ours, tokio): (Figures, Figures) = match scale::measure_interleaved(&exe, n, rounds) {
        Ok(figures) => (figures[0], figures[1]),
        Err(e) => {
            eprintln!("scale: {e}");
            std::process::exit(1)
        }
    };
    println!(
        "Scale: {n} idle processes on {WORKERS} workers, each with an 8-slot mailbox of \
         16-byte messages; per process; median of {rounds} interleaved rounds, each runtime \
         in a fresh process each time; ratio = Ravelin / Tokio"
    );
    println!("| per process | Ravelin | Tokio | ratio |");
    println!("|---|---:|---:|---:|");
    let rows: [(&str, String, String, String); 7] = [
        (
            "resident memory (RSS growth)",
            format!("{:.0} B", ours.rss_bytes),
            format!("{:.0} B", tokio.rss_bytes),
            ratio(ours.rss_bytes, tokio.rss_bytes),
        ),
        (
            "heap bytes asked for (spawning thread)",
            format!("{:.0} B", ours.heap_bytes),
            format!("{:.0} B", tokio.heap_bytes),
            ratio(ours.heap_bytes, tokio.heap_bytes),
        ),
        (
            "heap allocations (spawning thread)",
            format!("{:.2}", ours.allocations),
            format!("{:.2}", tokio.allocations),
            ratio(ours.allocations, tokio.allocations),
        ),
        (
            "spawn calls alone (from the benchmark thread)",
            ns(ours.spawn_calls),
            ns(tokio.spawn_calls),
            ratio(
                ours.spawn_calls.as_secs_f64(),
                tokio.spawn_calls.as_secs_f64(),
            ),
        ),
        (
            "spawn until every process has started",
            ns(ours.spawn),
            ns(tokio.spawn),
            ratio(ours.spawn.as_secs_f64(), tokio.spawn.as_secs_f64()),
        ),
        (
            "deliver one message to every process",
            ns(ours.deliver),
            ns(tokio.deliver),
            ratio(ours.deliver.as_secs_f64(), tokio.deliver.as_secs_f64()),
        ),
        (
            "shut every process down",
            ns(ours.shutdown),
            ns(tokio.shutdown),
            ratio(ours.shutdown.as_secs_f64(), tokio.shutdown.as_secs_f64()),
        ),
    ];
    for (what, a, b, r) in rows {
        println!("| {what} | {a} | {b} | {r} |");
    }
    println!(
        "Ravelin: {}; Tokio: {}.",
        Runtime::Ravelin.describe(),
        Runtime::Tokio.describe()
    );
    println!(
        "actix: not measured in this run (not a dependency of this workspace); the issue \
         quotes {ACTIX_BYTES:.0} B and {ACTIX_SPAWN_NS:.0} ns spawn per actor on this machine."
    );
    match scale::erlang(n) {
        Ok((bytes, spawn, deliver)) => println!(
            "Erlang (erl, this run): {bytes:.0} B (erlang:memory(total) growth), spawn {}, \
             deliver {} per process.",
            ns(spawn),
            ns(deliver)
        ),
        Err(why) => println!(
            "Erlang: skipped: {why}; the issue quotes 2,693 B, 2,491 ns spawn, 945 ns \
             delivery per process on this machine."
        ),
    }
    let spawn_ns = ours.spawn.as_secs_f64() * 1e9;
    println!(
        "Goals: RSS <= 384 B: {:.0} B ({}); spawn <= 0.5 x actix (issue's {ACTIX_SPAWN_NS:.0} \
         ns, so <= {:.0} ns): {spawn_ns:.0} ns ({}); one allocation per process: {:.2} ({}); \
         delivery no slower than Tokio's: ratio {} ({}).",
        ours.rss_bytes,
        if ours.rss_bytes <= 384.0 {
            "met"
        } else {
            "missed"
        },
        ACTIX_SPAWN_NS / 2.0,
        if spawn_ns <= ACTIX_SPAWN_NS / 2.0 {
            "met"
        } else {
            "missed"
        },
        ours.allocations,
        if ours.allocations <= 1.0 {
            "met"
        } else {
            "missed"
        },
        ratio(ours.deliver.as_secs_f64(), tokio.deliver.as_secs_f64()),
        if ours.deliver <= tokio.deliver {
            "met"
        } else {
            "missed"
        },
    );
}
