//! Scale: a million idle supervised processes, each with an 8-slot mailbox of 16-byte
//! messages, on all workers; Ravelin beside Tokio (task + `mpsc::channel(8)`) and actix
//! (actor, mailbox capacity 8) in the same run, each runtime in a fresh process of its
//! own (see [`ravelin_benches::workloads::scale`]).
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

/// A table row: what, how to read the figure, its unit ("" for a plain count).
type Row = (&'static str, fn(&Figures) -> f64, &'static str);

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

/// The OTP release of the installed `erl`, or "?".
fn erlang_release() -> String {
    std::process::Command::new("erl")
        .args([
            "-noshell",
            "-eval",
            "io:format(\"~s\", [erlang:system_info(otp_release)]), halt().",
        ])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "?".to_string())
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
    let (ours, tokio, actix): (Figures, Figures, Figures) =
        match scale::measure_interleaved(&exe, n, rounds) {
            Ok(figures) => (figures[0], figures[1], figures[2]),
            Err(e) => {
                eprintln!("scale: {e}");
                std::process::exit(1)
            }
        };
    println!(
        "Scale: {n} idle processes, each with an 8-slot mailbox of 16-byte messages; per \
         process; median of {rounds} interleaved rounds, each runtime in a fresh process \
         each time; Ravelin and Tokio on {WORKERS} workers, actix on its one System thread"
    );
    println!("| per process | Ravelin | Tokio | actix | Ravelin / Tokio | Ravelin / actix |");
    println!("|---|---:|---:|---:|---:|---:|");
    let bytes = |f: &Figures| f.rss_bytes;
    let heap = |f: &Figures| f.heap_bytes;
    let allocs = |f: &Figures| f.allocations;
    let calls = |f: &Figures| f.spawn_calls.as_secs_f64() * 1e9;
    let spawn = |f: &Figures| f.spawn.as_secs_f64() * 1e9;
    let deliver = |f: &Figures| f.deliver.as_secs_f64() * 1e9;
    let inside = |f: &Figures| f.deliver_inside.as_secs_f64() * 1e9;
    let shutdown = |f: &Figures| f.shutdown.as_secs_f64() * 1e9;
    let rows: [Row; 8] = [
        ("resident memory (RSS growth)", bytes, "B"),
        ("heap bytes asked for (spawning thread)", heap, "B"),
        ("heap allocations (spawning thread)", allocs, ""),
        ("spawn calls alone (benchmark thread)", calls, "ns"),
        ("spawn until every process has started", spawn, "ns"),
        (
            "deliver one message to every process, from outside",
            deliver,
            "ns",
        ),
        (
            "deliver one message to every process, from a process",
            inside,
            "ns",
        ),
        ("shut every process down", shutdown, "ns"),
    ];
    for (what, get, unit) in rows {
        let show = |f: &Figures| {
            if unit.is_empty() {
                format!("{:.2}", get(f))
            } else {
                format!("{:.0} {unit}", get(f))
            }
        };
        println!(
            "| {what} | {} | {} | {} | {} | {} |",
            show(&ours),
            show(&tokio),
            show(&actix),
            ratio(get(&ours), get(&tokio)),
            ratio(get(&ours), get(&actix)),
        );
    }
    println!(
        "Ravelin: {}; Tokio: {}; actix: {}. Spawning is done from the benchmark thread \
         (from outside the runtime) for Ravelin and Tokio, on the System thread for actix; \
         heap counts are of that thread. Shutdown: Ravelin stops the supervision tree \
         (mailboxes closed, each child returns); Tokio drops every sender; actix sends \
         every actor a stop message.",
        Runtime::Ravelin.describe(),
        Runtime::Tokio.describe(),
        Runtime::Actix.describe()
    );
    match scale::erlang(n) {
        Ok(erl) => println!(
            "Erlang (erl {}, this run, a compiled module; one run): RSS {:.0} B, spawn until \
             started {}, deliver {}, shut down {} per process; Ravelin / Erlang: {} RSS, {} \
             spawn, {} delivery.",
            erlang_release(),
            erl.rss_bytes,
            ns(erl.spawn),
            ns(erl.deliver),
            ns(erl.shutdown),
            ratio(ours.rss_bytes, erl.rss_bytes),
            ratio(spawn(&ours), erl.spawn.as_secs_f64() * 1e9),
            ratio(deliver(&ours), erl.deliver.as_secs_f64() * 1e9),
        ),
        Err(why) => println!(
            "Erlang: skipped: {why}; the issue quotes 2,693 B, 2,491 ns spawn, 945 ns \
             delivery per process on this machine."
        ),
    }
    let met = |ok: bool| if ok { "met" } else { "missed" };
    println!(
        "Goals: RSS <= 384 B: {:.0} B ({}); spawn <= 0.5 x actix's: ratio {} ({}); one \
         allocation per process: {:.2} ({}); delivery no slower than Tokio's: ratio {} from \
         outside ({}), {} from a process ({}).",
        ours.rss_bytes,
        met(ours.rss_bytes <= 384.0),
        ratio(spawn(&ours), spawn(&actix)),
        met(spawn(&ours) <= 0.5 * spawn(&actix)),
        ours.allocations,
        met(ours.allocations <= 1.0),
        ratio(deliver(&ours), deliver(&tokio)),
        met(ours.deliver <= tokio.deliver),
        ratio(inside(&ours), inside(&tokio)),
        met(ours.deliver_inside <= tokio.deliver_inside),
    );
}
