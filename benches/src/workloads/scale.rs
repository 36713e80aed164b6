//! Scale: `n` idle processes, each able to receive (an 8-slot mailbox of 16-byte
//! messages), on all [`WORKERS`] workers; Ravelin's children of one dynamic supervisor
//! beside Tokio tasks that each own an `mpsc` channel of capacity 8, and actix actors
//! with a mailbox capacity of 8 (on one thread: an actix actor lives on one arbiter).
//!
//! For each runtime, [`measure`] reports:
//! - resident memory per process: the growth of the process's RSS (`/proc/self/statm`)
//!   from before the first spawn to when every process has started, divided by `n`;
//! - heap allocations and bytes per process asked for on the spawning thread (the
//!   counting allocator; the processes allocate nothing when they first run);
//! - spawn time per process: from the first spawn until every process has run once and
//!   waits for a message; the benchmark's own thread spawns them all (from outside the
//!   runtime, through its injection queue), in both runtimes;
//! - delivery time per process: one message sent to every process until every one has
//!   received it, first from the benchmark's thread (outside the runtime), then from a
//!   process inside it (actix: both from its one thread);
//! - shutdown time per process: until every process has ended (Ravelin: the supervision
//!   tree is stopped and its dynamic supervisor closes every mailbox; Tokio: every
//!   sender is dropped, so every `recv` yields `None`).
//!
//! Each runtime should be measured in a fresh process ([`run_child`] and [`in_child`]),
//! so that memory freed by one is not reused by the next and does not hide its RSS.

use std::future::Future;
use std::pin::Pin;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ravelin_kernel::supervisor::dynamic::{ChildInfo, DynamicBuilder, Inbox};
use ravelin_kernel::supervisor::{Fault, SupervisorSpec, System};

use super::WORKERS;
use crate::alloc_count;
use crate::peer_rt::tokio_multi_thread;
use crate::ravelin_rt::RavelinRuntime;

/// The message every process gets: 16 bytes.
pub type Message = [u64; 2];

/// Mailbox slots per process.
pub const SLOTS: usize = 8;

/// The runtimes measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// Ravelin: children of one dynamic supervisor, each one allocation with its mailbox.
    Ravelin,
    /// Tokio `multi_thread`: a task owning the receiver of an `mpsc::channel(8)`.
    Tokio,
    /// actix: an actor with its mailbox capacity set to 8, on one `System` thread (an
    /// actix actor runs on the arbiter that started it).
    Actix,
}

impl Runtime {
    /// Every runtime, in table order.
    pub const ALL: [Runtime; 3] = [Runtime::Ravelin, Runtime::Tokio, Runtime::Actix];

    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ravelin => "ravelin",
            Self::Tokio => "tokio",
            Self::Actix => "actix",
        }
    }

    /// The runtime called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// What one process is, for tables.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Ravelin => "Ravelin dynamic-supervisor child, 8-slot mailbox",
            Self::Tokio => "Tokio task + mpsc::channel(8)",
            Self::Actix => "actix actor, mailbox capacity 8, one System thread",
        }
    }
}

/// What [`measure`] reports, per process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    /// Processes.
    pub n: usize,
    /// Resident memory per process, bytes.
    pub rss_bytes: f64,
    /// Heap bytes asked for per process (spawning thread).
    pub heap_bytes: f64,
    /// Heap allocations per process (spawning thread).
    pub allocations: f64,
    /// The spawn calls alone, per process (the processes start meanwhile, on the
    /// workers).
    pub spawn_calls: Duration,
    /// Spawn until every process has started, per process.
    pub spawn: Duration,
    /// One message to every process, sent from outside the runtime (the benchmark's
    /// thread), per process.
    pub deliver: Duration,
    /// One more message to every process, sent from a process inside the runtime, per
    /// process.
    pub deliver_inside: Duration,
    /// Shutdown until every process ended, per process.
    pub shutdown: Duration,
}

impl Figures {
    /// One line, `key=value` separated by spaces (what [`in_child`] prints).
    pub fn to_line(&self) -> String {
        format!(
            "n={} rss={:.1} heap={:.1} allocs={:.3} calls_ns={:.1} spawn_ns={:.1} deliver_ns={:.1} inside_ns={:.1} shutdown_ns={:.1}",
            self.n,
            self.rss_bytes,
            self.heap_bytes,
            self.allocations,
            self.spawn_calls.as_secs_f64() * 1e9,
            self.spawn.as_secs_f64() * 1e9,
            self.deliver.as_secs_f64() * 1e9,
            self.deliver_inside.as_secs_f64() * 1e9,
            self.shutdown.as_secs_f64() * 1e9,
        )
    }

    /// Parses [`to_line`](Self::to_line)'s output.
    pub fn from_line(line: &str) -> Option<Self> {
        let get = |key: &str| -> Option<f64> {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
                .parse()
                .ok()
        };
        let ns = |key: &str| get(key).map(|v| Duration::from_nanos(v as u64));
        Some(Self {
            n: get("n")? as usize,
            rss_bytes: get("rss")?,
            heap_bytes: get("heap")?,
            allocations: get("allocs")?,
            spawn_calls: ns("calls_ns")?,
            spawn: ns("spawn_ns")?,
            deliver: ns("deliver_ns")?,
            deliver_inside: ns("inside_ns")?,
            shutdown: ns("shutdown_ns")?,
        })
    }
}

/// A counter sharded by thread, so that the processes of a multi-threaded runtime that
/// count themselves do not all write one cache line (which would cost the runtimes with
/// more threads more than the measurement is about).
pub struct Counter {
    shards: [Shard; SHARDS],
}

const SHARDS: usize = 16;

#[repr(align(128))]
struct Shard(AtomicUsize);

impl Counter {
    const fn new() -> Self {
        Self {
            shards: [const { Shard(AtomicUsize::new(0)) }; SHARDS],
        }
    }

    /// Adds `n` on this thread's shard.
    pub fn add(&self, n: usize) {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SHARD: usize = NEXT.fetch_add(1, Relaxed) % SHARDS;
        }
        let shard = SHARD.with(|s| *s);
        self.shards[shard].0.fetch_add(n, Relaxed);
    }

    /// The sum of every shard (a snapshot).
    pub fn get(&self) -> usize {
        self.shards.iter().map(|s| s.0.load(Relaxed)).sum()
    }

    fn reset(&self) {
        for shard in &self.shards {
            shard.0.store(0, Relaxed);
        }
    }
}

static STARTED: Counter = Counter::new();
static RECEIVED: Counter = Counter::new();
static ENDED: Counter = Counter::new();

/// Waits (sleeping briefly between looks) until `counter` reaches `target`.
fn wait_for(counter: &Counter, target: usize) {
    while counter.get() < target {
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Resident memory of this process, bytes.
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: `sysconf` only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).unwrap_or(4096)
}

fn per(total: Duration, n: usize) -> Duration {
    total / u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// Measures `runtime` with `n` processes in this process.
pub fn measure(runtime: Runtime, n: usize) -> Figures {
    STARTED.reset();
    RECEIVED.reset();
    ENDED.reset();
    match runtime {
        Runtime::Ravelin => ravelin(n),
        Runtime::Tokio => tokio(n),
        Runtime::Actix => actix::measure(n),
    }
}

async fn ravelin_child(mut inbox: Inbox<Message, SLOTS>) -> Result<(), Fault> {
    STARTED.add(1);
    while let Some(message) = inbox.recv().await {
        RECEIVED.add(std::hint::black_box(message)[0] as usize);
    }
    ENDED.add(1);
    Ok(())
}

fn ravelin(n: usize) -> Figures {
    let runtime = RavelinRuntime::new(WORKERS);
    let scheduler = runtime.scheduler().clone();
    let sup = DynamicBuilder::new("scale")
        .shutdown_grace(Duration::from_secs(60))
        .build(
            scheduler.clone(),
            |_: ChildInfo, _: (), inbox: Inbox<Message, SLOTS>| ravelin_child(inbox),
        );
    let mut system = System::start(
        scheduler,
        SupervisorSpec::new("root").child(sup.child_spec()),
    );
    while !sup.is_running() {
        std::thread::sleep(Duration::from_micros(50));
    }

    let rss_before = rss_bytes();
    let start = Instant::now();
    let ((), counts) = alloc_count::count(|| {
        for _ in 0..n {
            // The returned address is not kept: the supervisor's table reaches every
            // child (see the delivery below).
            drop(sup.start_child(()).expect("the supervisor runs"));
        }
    });
    let spawn_calls = start.elapsed();
    wait_for(&STARTED, n);
    let spawn = start.elapsed();
    let rss = rss_bytes().saturating_sub(rss_before);

    let start = Instant::now();
    let delivered = sup.try_send_all(|| [1, 0]);
    assert_eq!(delivered.sent, n, "every mailbox had room");
    wait_for(&RECEIVED, n);
    let deliver = start.elapsed();

    let start = Instant::now();
    let sender = sup.clone();
    let delivered = runtime
        .block_on(async move { sender.try_send_all(|| [1, 0]) })
        .expect("the sending proc runs");
    assert_eq!(delivered.sent, n, "every mailbox had room");
    wait_for(&RECEIVED, 2 * n);
    let deliver_inside = start.elapsed();

    let start = Instant::now();
    system.stop();
    wait_for(&ENDED, n);
    while !system.is_finished() {
        std::thread::sleep(Duration::from_micros(50));
    }
    let shutdown = start.elapsed();
    let outcome = Pin::new(system.root_handle()).poll(&mut Context::from_waker(Waker::noop()));
    assert!(
        matches!(outcome, Poll::Ready(Ok(Ok(())))),
        "the tree stopped cleanly"
    );
    drop(runtime);
    figures(
        n,
        rss,
        counts,
        [spawn_calls, spawn, deliver, deliver_inside, shutdown],
    )
}

fn tokio(n: usize) -> Figures {
    let runtime = tokio_multi_thread(WORKERS);
    let handle = runtime.handle().clone();
    let rss_before = rss_bytes();
    let start = Instant::now();
    let (senders, counts) = alloc_count::count(|| {
        let mut senders = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(SLOTS);
            drop(handle.spawn(async move {
                STARTED.add(1);
                while let Some(message) = rx.recv().await {
                    RECEIVED.add(std::hint::black_box(message)[0] as usize);
                }
                ENDED.add(1);
            }));
            senders.push(tx);
        }
        senders
    });
    let spawn_calls = start.elapsed();
    wait_for(&STARTED, n);
    let spawn = start.elapsed();
    let rss = rss_bytes().saturating_sub(rss_before);

    let start = Instant::now();
    for tx in &senders {
        tx.try_send([1, 0]).expect("every channel had room");
    }
    wait_for(&RECEIVED, n);
    let deliver = start.elapsed();

    let start = Instant::now();
    let senders = runtime
        .block_on(handle.spawn(async move {
            for tx in &senders {
                tx.try_send([1, 0]).expect("every channel had room");
            }
            senders
        }))
        .expect("the sending task runs");
    wait_for(&RECEIVED, 2 * n);
    let deliver_inside = start.elapsed();

    let start = Instant::now();
    drop(senders);
    wait_for(&ENDED, n);
    let shutdown = start.elapsed();
    drop(runtime);
    figures(
        n,
        rss,
        counts,
        [spawn_calls, spawn, deliver, deliver_inside, shutdown],
    )
}

/// actix: everything runs on the `System`'s one thread, the spawning included.
mod actix {
    use std::time::Instant;

    use actix::{Actor, ActorContext, Context, Handler, Message as ActixMessage};

    use super::{ENDED, Figures, Message, RECEIVED, SLOTS, STARTED, figures, rss_bytes};
    use crate::alloc_count;

    /// An idle actor.
    struct Idle;

    /// The 16-byte message.
    struct Msg(Message);

    impl ActixMessage for Msg {
        type Result = ();
    }

    impl Actor for Idle {
        type Context = Context<Self>;

        fn started(&mut self, _: &mut Self::Context) {
            STARTED.add(1);
        }

        fn stopped(&mut self, _: &mut Self::Context) {
            ENDED.add(1);
        }
    }

    impl Handler<Msg> for Idle {
        type Result = ();

        fn handle(&mut self, msg: Msg, ctx: &mut Self::Context) {
            RECEIVED.add(std::hint::black_box(msg.0)[0] as usize);
            if msg.0[1] == 1 {
                ctx.stop();
            }
        }
    }

    /// Yields to the actors until `counter` reaches `target`.
    async fn until(counter: &super::Counter, target: usize) {
        while counter.get() < target {
            tokio::task::yield_now().await;
        }
    }

    pub(super) fn measure(n: usize) -> Figures {
        let system = actix::System::new();
        let out = system.block_on(async move {
            let rss_before = rss_bytes();
            let start = Instant::now();
            let (addresses, counts) = alloc_count::count(|| {
                (0..n)
                    .map(|_| {
                        Idle::create(|ctx| {
                            ctx.set_mailbox_capacity(SLOTS);
                            Idle
                        })
                    })
                    .collect::<Vec<_>>()
            });
            let spawn_calls = start.elapsed();
            until(&STARTED, n).await;
            let spawn = start.elapsed();
            let rss = rss_bytes().saturating_sub(rss_before);

            let start = Instant::now();
            for address in &addresses {
                address
                    .try_send(Msg([1, 0]))
                    .expect("every mailbox had room");
            }
            until(&RECEIVED, n).await;
            let deliver = start.elapsed();

            // An actix actor lives on this thread: a second round, sent the same way.
            let start = Instant::now();
            for address in &addresses {
                address
                    .try_send(Msg([1, 0]))
                    .expect("every mailbox had room");
            }
            until(&RECEIVED, 2 * n).await;
            let deliver_inside = start.elapsed();

            // Every actor is asked to stop (dropping the addresses alone does not stop
            // an actix actor while its context runs).
            let start = Instant::now();
            for address in &addresses {
                address
                    .try_send(Msg([0, 1]))
                    .expect("every mailbox had room");
            }
            drop(addresses);
            until(&ENDED, n).await;
            let shutdown = start.elapsed();
            figures(
                n,
                rss,
                counts,
                [spawn_calls, spawn, deliver, deliver_inside, shutdown],
            )
        });
        actix::System::current().stop();
        drop(system.run());
        out
    }
}

fn figures(
    n: usize,
    rss: usize,
    counts: alloc_count::Counts,
    [spawn_calls, spawn, deliver, deliver_inside, shutdown]: [Duration; 5],
) -> Figures {
    Figures {
        n,
        rss_bytes: rss as f64 / n as f64,
        heap_bytes: counts.bytes as f64 / n as f64,
        allocations: counts.allocations as f64 / n as f64,
        spawn_calls: per(spawn_calls, n),
        spawn: per(spawn, n),
        deliver: per(deliver, n),
        deliver_inside: per(deliver_inside, n),
        shutdown: per(shutdown, n),
    }
}

/// The argument that makes a benchmark binary run [`in_child`] instead of its table.
pub const CHILD_FLAG: &str = "--scale-child";

/// Measures `runtime` with `n` processes in a fresh process: runs `exe` (a binary whose
/// `main` calls [`in_child`] first) with [`CHILD_FLAG`], and parses what it prints.
pub fn run_child(exe: &std::path::Path, runtime: Runtime, n: usize) -> Result<Figures, String> {
    let output = Command::new(exe)
        .args([CHILD_FLAG, runtime.name(), &n.to_string()])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            runtime.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    stdout
        .lines()
        .find_map(Figures::from_line)
        .ok_or_else(|| format!("{}: no figures in {stdout:?}", runtime.name()))
}

/// Measures every runtime `rounds` times, interleaved (who goes first alternates), each
/// time in a fresh process, and keeps the median of each figure per runtime, so that the
/// load of a shared machine moves both alike. Returns the figures in [`Runtime::ALL`]
/// order.
pub fn measure_interleaved(
    exe: &std::path::Path,
    n: usize,
    rounds: usize,
) -> Result<Vec<Figures>, String> {
    let mut samples: Vec<Vec<Figures>> = vec![Vec::new(); Runtime::ALL.len()];
    for round in 0..rounds.max(1) {
        let mut order: Vec<usize> = (0..Runtime::ALL.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            samples[i].push(run_child(exe, Runtime::ALL[i], n)?);
        }
    }
    Ok(samples.iter().map(|s| median(s)).collect())
}

/// The median of each figure over `samples` (not empty).
fn median(samples: &[Figures]) -> Figures {
    fn mid<T: Copy + PartialOrd>(mut values: Vec<T>) -> T {
        values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        values[values.len() / 2]
    }
    let f = |get: fn(&Figures) -> f64| mid(samples.iter().map(get).collect());
    let d = |get: fn(&Figures) -> Duration| mid(samples.iter().map(get).collect());
    Figures {
        n: samples[0].n,
        rss_bytes: f(|s| s.rss_bytes),
        heap_bytes: f(|s| s.heap_bytes),
        allocations: f(|s| s.allocations),
        spawn_calls: d(|s| s.spawn_calls),
        spawn: d(|s| s.spawn),
        deliver: d(|s| s.deliver),
        deliver_inside: d(|s| s.deliver_inside),
        shutdown: d(|s| s.shutdown),
    }
}

/// If this process was started by [`run_child`] (its arguments are [`CHILD_FLAG`], a
/// runtime and `n`), measures, prints the figures and returns `true`: the caller should
/// then exit.
pub fn in_child(args: &[String]) -> bool {
    let [flag, runtime, n] = args else {
        return false;
    };
    if flag != CHILD_FLAG {
        return false;
    }
    let (Some(runtime), Ok(n)) = (Runtime::from_name(runtime), n.parse::<usize>()) else {
        eprintln!("usage: {CHILD_FLAG} <ravelin|tokio|actix> <n>");
        std::process::exit(2);
    };
    println!("{}", measure(runtime, n.max(1)).to_line());
    true
}

/// The Erlang module [`erlang`] compiles and runs: the same measurement in Erlang, one
/// process per child (`spawn` of a compiled function), counters for started, received
/// and stopped, RSS read from `/proc/self/statm`.
const ERLANG_MODULE: &str = r#"-module(ravelin_scale).
-export([run/1]).

rss() ->
    {ok, B} = file:read_file("/proc/self/statm"),
    [_, R | _] = string:split(binary_to_list(B), " ", all),
    list_to_integer(R) * 4096.

child(C) ->
    counters:add(C, 1, 1),
    receive {msg, _} -> counters:add(C, 2, 1) end,
    receive stop -> counters:add(C, 3, 1) end.

wait(C, I, N) ->
    case counters:get(C, I) >= N of
        true -> ok;
        false -> timer:sleep(1), wait(C, I, N)
    end.

now_ns() -> erlang:monotonic_time(nanosecond).

run(N) ->
    C = counters:new(3, [write_concurrency]),
    erlang:garbage_collect(),
    R0 = rss(),
    T0 = now_ns(),
    Ps = [spawn(fun() -> child(C) end) || _ <- lists:seq(1, N)],
    T1 = now_ns(),
    wait(C, 1, N),
    T2 = now_ns(),
    R1 = rss(),
    [P ! {msg, <<0:128>>} || P <- Ps],
    wait(C, 2, N),
    T3 = now_ns(),
    [P ! stop || P <- Ps],
    wait(C, 3, N),
    T4 = now_ns(),
    io:format("erl rss=~p calls_ns=~p spawn_ns=~p deliver_ns=~p shutdown_ns=~p~n",
              [(R1 - R0) div N, (T1 - T0) div N, (T2 - T0) div N, (T3 - T2) div N,
               (T4 - T3) div N]).
"#;

/// Erlang's figures for `n` processes, per process, from a run of `erl` (where it is
/// installed): a compiled module spawns `n` processes that wait for one 16-byte binary.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErlangFigures {
    /// Resident memory growth of the `erl` process, bytes.
    pub rss_bytes: f64,
    /// `spawn` until every process has started.
    pub spawn: Duration,
    /// One message to every process until every one has it.
    pub deliver: Duration,
    /// A `stop` message to every process until every one has ended.
    pub shutdown: Duration,
}

/// Runs the same measurement in Erlang (a module written to a temporary directory, compiled
/// and run by `erl`) for `n` processes, or says why not.
pub fn erlang(n: usize) -> Result<ErlangFigures, String> {
    let dir = std::env::temp_dir().join(format!("ravelin-scale-erl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let source = dir.join("ravelin_scale.erl");
    std::fs::write(&source, ERLANG_MODULE)
        .map_err(|e| format!("cannot write {}: {e}", source.display()))?;
    let script = format!(
        "{{ok, M, Bin}} = compile:file(\"{}\", [binary, report]), \
         {{module, M}} = code:load_binary(M, \"ravelin_scale.erl\", Bin), \
         M:run({n}), halt().",
        source.display()
    );
    let output = Command::new("erl")
        .args(["+P", "4000000", "-noshell", "-eval", &script])
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let output = output.map_err(|e| format!("erl is not installed here ({e})"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("erl "))
        .ok_or_else(|| format!("erl printed no figures: {}", stdout.trim()))?;
    let get = |key: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
            .parse()
            .ok()
    };
    let ns = |key: &str| get(key).map(|v| Duration::from_nanos(v as u64));
    match (
        get("rss"),
        ns("spawn_ns"),
        ns("deliver_ns"),
        ns("shutdown_ns"),
    ) {
        (Some(rss_bytes), Some(spawn), Some(deliver), Some(shutdown)) => Ok(ErlangFigures {
            rss_bytes,
            spawn,
            deliver,
            shutdown,
        }),
        _ => Err(format!("erl printed {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_survive_their_line() {
        let figures = Figures {
            n: 10,
            rss_bytes: 368.0,
            heap_bytes: 352.5,
            allocations: 1.0,
            spawn_calls: Duration::from_nanos(200),
            spawn: Duration::from_nanos(250),
            deliver: Duration::from_nanos(120),
            deliver_inside: Duration::from_nanos(110),
            shutdown: Duration::from_nanos(90),
        };
        assert_eq!(Figures::from_line(&figures.to_line()), Some(figures));
    }

    #[test]
    fn the_median_is_taken_per_figure() {
        let at = |ns: u64, rss: f64| Figures {
            n: 3,
            rss_bytes: rss,
            heap_bytes: 1.0,
            allocations: 1.0,
            spawn_calls: Duration::from_nanos(ns),
            spawn: Duration::from_nanos(ns),
            deliver: Duration::from_nanos(ns),
            deliver_inside: Duration::from_nanos(ns),
            shutdown: Duration::from_nanos(ns),
        };
        let m = median(&[at(300, 1.0), at(100, 3.0), at(200, 2.0)]);
        assert_eq!((m.spawn, m.rss_bytes), (Duration::from_nanos(200), 2.0));
    }

    #[test]
    fn both_runtimes_reach_every_process() {
        for runtime in Runtime::ALL {
            let figures = measure(runtime, 1000);
            assert_eq!(figures.n, 1000);
            assert_eq!(RECEIVED.get(), 2000, "{runtime:?}");
            assert_eq!(ENDED.get(), 1000, "{runtime:?}");
        }
    }
}
