//! Supervision on the deterministic test platform: strategies, restart types, intensity
//! and escalation, backoff in virtual time, ordered shutdown, a panic storm, and messages
//! that survive a restart.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use ravelin_hal::{Clock, Duration, Park, TestPlatform};
use ravelin_kernel::mailbox::{self, Receiver};
use ravelin_kernel::sched::{Executor, yield_now};
use ravelin_kernel::supervisor::{
    Backoff, ChildSpec, Fault, Lifecycle, Restart, Strategy, SupervisorSpec, System,
};

/// One executor and platform per call site: each expansion declares its own statics
/// (no leaked allocations, which miri would report).
macro_rules! executor {
    () => {{
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        PLATFORM.set_auto_advance(true);
        (&PLATFORM, &EXECUTOR)
    }};
}

/// Records lifecycle events as short strings.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn record(&self) -> impl Fn(&Lifecycle<'_>) + Send + Sync + 'static {
        let log = self.0.clone();
        move |event| {
            let line = match event {
                Lifecycle::Started {
                    child, restarts, ..
                } => format!("start {child} {restarts}"),
                Lifecycle::Exited { child, outcome, .. } => match outcome {
                    Ok(()) => format!("exit {child} ok"),
                    Err(fault) => format!("exit {child} {fault}"),
                },
                Lifecycle::Restarting { child, delay, .. } => {
                    format!("restart {child} {}ms", delay.as_millis())
                }
                Lifecycle::Stopped { child, .. } => format!("stop {child}"),
                Lifecycle::Escalated { supervisor, .. } => format!("escalate {supervisor}"),
            };
            log.lock().unwrap().push(line);
        }
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn count(&self, prefix: &str) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}

/// A child that waits until asked to stop, then returns Ok.
fn idle(name: &str) -> ChildSpec {
    ChildSpec::new(name, |ctx| async move {
        ctx.stopping().await;
        Ok::<(), Fault>(())
    })
}

/// A child that fails `fails` times, then idles.
fn flaky(name: &str, fails: u32) -> ChildSpec {
    ChildSpec::new(name, move |ctx| async move {
        if ctx.restarts() < fails {
            return Err("boom");
        }
        ctx.stopping().await;
        Ok(())
    })
}

fn settle(executor: &Executor) {
    while executor.run_once() > 0 {}
}

#[test]
fn one_for_one_restarts_only_the_failed_child() {
    let (_, ex) = executor!();
    let log = Log::default();
    let spec = SupervisorSpec::new("sup")
        .child(idle("a"))
        .child(flaky("b", 2))
        .child(idle("c"))
        .on_event(log.record());
    let mut system = System::start(ex.spawner(), spec);
    settle(ex);
    assert_eq!(log.count("start a"), 1);
    assert_eq!(log.count("start b"), 3);
    assert_eq!(log.count("start c"), 1);
    system.stop();
    assert_eq!(ex.block_on(system.root_handle()).unwrap(), Ok(()));
    // Ordered shutdown: reverse start order.
    let stops: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("stop"))
        .collect();
    assert_eq!(stops, ["stop c", "stop b", "stop a"]);
}

#[test]
fn restart_types_decide_after_ok_and_after_failure() {
    let (_, ex) = executor!();
    let log = Log::default();
    let done_ok = |name: &str| ChildSpec::new(name, |_| async { Ok::<(), Fault>(()) });
    let fails_once = |name: &str| {
        ChildSpec::new(name, |ctx| async move {
            if ctx.restarts() == 0 {
                Err("first run fails")
            } else {
                Ok(())
            }
        })
    };
    let spec = SupervisorSpec::new("sup")
        .intensity(10, Duration::from_secs(1))
        .child(done_ok("transient-ok").restart(Restart::Transient))
        .child(fails_once("transient-err").restart(Restart::Transient))
        .child(fails_once("temporary").restart(Restart::Temporary))
        .child(
            done_ok("permanent-ok")
                .restart(Restart::Permanent)
                .shutdown_grace(Duration::ZERO),
        )
        .on_event(log.record());
    let mut system = System::start(ex.spawner(), spec);
    for _ in 0..3 {
        ex.run_once();
    }
    assert_eq!(
        log.count("start transient-ok"),
        1,
        "transient: not restarted after Ok"
    );
    assert_eq!(
        log.count("start transient-err"),
        2,
        "transient: restarted after Err"
    );
    assert_eq!(
        log.count("start temporary"),
        1,
        "temporary: never restarted"
    );
    assert!(
        log.count("start permanent-ok") >= 2,
        "permanent: restarted even after Ok"
    );
    system.kill();
    let _ = ex.block_on(system.root_handle());
}

#[test]
fn one_for_all_restarts_every_child_in_order() {
    let (_, ex) = executor!();
    let log = Log::default();
    let spec = SupervisorSpec::new("sup")
        .strategy(Strategy::OneForAll)
        .child(idle("a"))
        .child(flaky("b", 1))
        .child(idle("c"))
        .on_event(log.record());
    let mut system = System::start(ex.spawner(), spec);
    settle(ex);
    let lines = log.lines();
    let after_exit: Vec<&str> = lines
        .iter()
        .skip_while(|l| !l.starts_with("exit b"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        after_exit,
        [
            "exit b error: boom",
            "stop c",
            "stop a",
            "restart a 0ms",
            "restart b 0ms",
            "restart c 0ms",
            "start a 1",
            "start b 1",
            "start c 1",
        ]
    );
    system.stop();
    ex.block_on(system.root_handle()).unwrap().unwrap();
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_those_after_it() {
    let (_, ex) = executor!();
    let log = Log::default();
    let spec = SupervisorSpec::new("sup")
        .strategy(Strategy::RestForOne)
        .child(idle("a"))
        .child(flaky("b", 1))
        .child(idle("c"))
        .on_event(log.record());
    let mut system = System::start(ex.spawner(), spec);
    settle(ex);
    assert_eq!(log.count("start a"), 1);
    assert_eq!(log.count("start b"), 2);
    assert_eq!(log.count("start c"), 2);
    assert_eq!(log.count("stop a"), 0);
    system.stop();
    ex.block_on(system.root_handle()).unwrap().unwrap();
}

#[test]
fn exceeding_the_intensity_escalates_exactly_once_and_stops_the_system() {
    let (_, ex) = executor!();
    let log = Log::default();
    let spec = SupervisorSpec::new("root")
        .intensity(2, Duration::from_secs(10))
        .child(idle("steady"))
        .child(flaky("doomed", u32::MAX))
        .on_event(log.record());
    let handle = spec.handle();
    let mut system = System::start(ex.spawner(), spec);
    let outcome = ex.block_on(system.root_handle()).unwrap();
    match outcome {
        Err(Fault::Escalated { supervisor, last }) => {
            assert_eq!(supervisor, "root");
            assert_eq!(*last, Fault::Error("boom".into()));
        }
        other => panic!("expected an escalation, got {other:?}"),
    }
    assert_eq!(log.count("escalate"), 1);
    let stats = handle.stats();
    assert_eq!((stats.restarts, stats.escalations), (2, 1));
    assert_eq!(
        log.count("start doomed"),
        3,
        "the first start and two restarts"
    );
    assert_eq!(
        log.count("stop steady"),
        1,
        "children stopped before giving up"
    );
}

#[test]
fn a_nested_supervisor_that_gives_up_is_restarted_by_its_parent() {
    let (_, ex) = executor!();
    let inner_log = Log::default();
    let outer_log = Log::default();
    let inner = SupervisorSpec::new("inner")
        .intensity(1, Duration::from_secs(10))
        .child(flaky("worker", u32::MAX))
        .on_event(inner_log.record());
    let outer = SupervisorSpec::new("outer")
        .intensity(1, Duration::from_secs(10))
        .supervisor(inner)
        .on_event(outer_log.record());
    let mut system = System::start(ex.spawner(), outer);
    let outcome = ex.block_on(system.root_handle()).unwrap();
    assert!(
        matches!(outcome, Err(Fault::Escalated { ref supervisor, .. }) if supervisor == "outer")
    );
    assert_eq!(
        outer_log.count("start inner"),
        2,
        "restarted once, then outer gave up"
    );
    assert_eq!(inner_log.count("escalate inner"), 2, "once per incarnation");
}

#[test]
fn exponential_backoff_delays_are_exponential_in_virtual_time() {
    let (platform, ex) = executor!();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let s = starts.clone();
    let clock: &'static TestPlatform = platform;
    let spec = SupervisorSpec::new("sup")
        .intensity(100, Duration::from_secs(3600))
        .backoff(Backoff::Exponential {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        })
        .child(ChildSpec::new("flaky", move |ctx| {
            s.lock().unwrap().push(clock.now().as_nanos() / 1_000_000);
            async move {
                if ctx.restarts() < 6 {
                    Err("boom")
                } else {
                    ctx.stopping().await;
                    Ok(())
                }
            }
        }));
    let mut system = System::start(ex.spawner(), spec);
    while starts.lock().unwrap().len() < 7 {
        ex.run_once();
        platform.park(ravelin_hal::WorkerId::new(0), ex.timers().next_deadline());
    }
    let starts = starts.lock().unwrap().clone();
    let gaps: Vec<u64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, [100, 200, 400, 800, 1000, 1000]);
    system.stop();
    ex.block_on(system.root_handle()).unwrap().unwrap();
}

#[test]
fn a_stop_is_not_stuck_behind_a_backoff_delay() {
    let (platform, ex) = executor!();
    let spec = SupervisorSpec::new("sup")
        .backoff(Backoff::Linear {
            step: Duration::from_secs(3600),
            cap: Duration::from_secs(3600),
        })
        .child(flaky("slow-to-restart", u32::MAX));
    let mut system = System::start(ex.spawner(), spec);
    settle(ex); // failed once; the restart waits an hour
    let before = platform.now();
    system.stop();
    assert_eq!(ex.block_on(system.root_handle()).unwrap(), Ok(()));
    assert!(platform.now().saturating_duration_since(before) < Duration::from_secs(1));
}

#[test]
fn a_child_that_ignores_stop_is_cancelled_after_its_grace_period() {
    let (platform, ex) = executor!();
    let stubborn = ChildSpec::new("stubborn", |_| async {
        std::future::pending::<()>().await;
        Ok::<(), Fault>(())
    })
    .shutdown_grace(Duration::from_millis(250));
    let mut system = System::start(ex.spawner(), SupervisorSpec::new("sup").child(stubborn));
    settle(ex);
    let before = platform.now();
    system.stop();
    assert_eq!(ex.block_on(system.root_handle()).unwrap(), Ok(()));
    assert_eq!(
        platform.now().saturating_duration_since(before),
        Duration::from_millis(250)
    );
}

#[test]
fn a_panic_storm_in_one_child_neither_leaks_nor_stalls_the_others() {
    let storms: usize = if cfg!(miri) { 30 } else { 10_000 };
    let (_, ex) = executor!();
    let alive = Arc::new(AtomicUsize::new(0));
    let panics = Arc::new(AtomicUsize::new(0));
    let ticks = Arc::new(AtomicUsize::new(0));
    struct Alive(Arc<AtomicUsize>);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.fetch_sub(1, SeqCst);
        }
    }
    let (a, p) = (alive.clone(), panics.clone());
    let t = ticks.clone();
    std::panic::set_hook(Box::new(|_| {})); // 10,000 panic messages are noise here
    let spec = SupervisorSpec::new("sup")
        .intensity(u32::MAX, Duration::from_secs(1))
        .child(ChildSpec::new("ticker", move |ctx| {
            let t = t.clone();
            async move {
                while !ctx.is_stopping() {
                    t.fetch_add(1, SeqCst);
                    yield_now().await;
                }
                Ok::<(), Fault>(())
            }
        }))
        .child(ChildSpec::new("bomb", move |_| {
            a.fetch_add(1, SeqCst);
            let token = Alive(a.clone());
            let p = p.clone();
            async move {
                let _token = token;
                p.fetch_add(1, SeqCst);
                yield_now().await;
                panic!("storm");
                #[allow(unreachable_code)]
                Ok::<(), Fault>(())
            }
        }));
    let mut system = System::start(ex.spawner(), spec);
    while panics.load(SeqCst) < storms {
        ex.run_once();
    }
    let ticks_during_storm = ticks.load(SeqCst);
    system.stop();
    ex.block_on(system.root_handle()).unwrap().unwrap();
    let _ = std::panic::take_hook();
    assert!(
        ticks_during_storm >= storms / 2,
        "the ticker kept running: {ticks_during_storm}"
    );
    assert_eq!(alive.load(SeqCst), 0, "every failed incarnation was freed");
}

#[test]
fn messages_sent_during_a_restart_reach_the_new_incarnation() {
    let (_, ex) = executor!();
    let (tx, rx) = mailbox::channel::<u32, 8>();
    // The receiver lives beside the supervisor, not inside an incarnation, so it (and
    // what is queued in it) survives a restart; only the message being handled is lost.
    let inbox: Arc<Mutex<Receiver<u32, 8>>> = Arc::new(Mutex::new(rx));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (i, s) = (inbox.clone(), seen.clone());
    let spec = SupervisorSpec::new("sup")
        .intensity(10, Duration::from_secs(1))
        .child(
            ChildSpec::new("worker", move |ctx| {
                let (inbox, seen) = (i.clone(), s.clone());
                async move {
                    loop {
                        let next = std::future::poll_fn(|cx| inbox.lock().unwrap().poll_recv(cx));
                        let Some(n) = next.await else { return Ok(()) };
                        if n == 13 {
                            return Err(format!(
                                "cannot handle {n} (incarnation {})",
                                ctx.restarts()
                            ));
                        }
                        seen.lock().unwrap().push((n, ctx.restarts()));
                    }
                }
            })
            .restart(Restart::Transient),
        ); // the end of its mailbox is a normal exit
    let mut system = System::start(ex.spawner(), spec);
    for n in [1, 2, 13, 14, 15] {
        tx.try_send(n).unwrap();
    }
    settle(ex);
    assert_eq!(*seen.lock().unwrap(), [(1, 0), (2, 0), (14, 1), (15, 1)]);
    drop(tx);
    settle(ex);
    system.stop();
    ex.block_on(system.root_handle()).unwrap().unwrap();
}

#[test]
fn children_and_subtrees_are_added_and_removed_at_run_time() {
    let (_, ex) = executor!();
    let log = Log::default();
    let sub_log = Log::default();
    let spec = SupervisorSpec::new("root")
        .child(idle("first"))
        .on_event(log.record());
    let root = spec.handle();
    let mut system = System::start(ex.spawner(), spec);
    settle(ex);
    root.add_child(idle("second"));
    root.add_child(ChildSpec::supervisor(
        SupervisorSpec::new("subtree")
            .child(idle("leaf-1"))
            .child(idle("leaf-2"))
            .on_event(sub_log.record()),
    ));
    settle(ex);
    assert_eq!(log.count("start"), 3);
    assert_eq!(sub_log.count("start leaf"), 2);
    root.remove_child("subtree");
    root.remove_child("no-such-child");
    settle(ex);
    assert_eq!(log.count("stop subtree"), 1);
    assert_eq!(sub_log.lines()[2..], ["stop leaf-2", "stop leaf-1"]);
    system.stop();
    ex.block_on(system.root_handle()).unwrap().unwrap();
    let stops: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("stop"))
        .collect();
    assert_eq!(stops, ["stop subtree", "stop second", "stop first"]);
}

#[test]
fn a_childs_ref_and_registered_name_stay_valid_across_restarts() {
    use ravelin_kernel::registry::Registry;
    let (_, ex) = executor!();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let (worker, reference) =
        ChildSpec::with_mailbox::<u32, 8, _, _, _>("worker", move |ctx, inbox| {
            let seen = s.clone();
            async move {
                while let Some(n) = inbox.recv().await {
                    if n == 0 {
                        return Err("zero is poison");
                    }
                    seen.lock().unwrap().push((n, ctx.restarts()));
                }
                Ok(())
            }
        });
    static NAMES: Registry<u32, 8, 4> = Registry::new();
    let names = &NAMES;
    names.register("worker", reference.clone()).unwrap();
    let mut system = System::start(ex.spawner(), SupervisorSpec::new("sup").child(worker));
    settle(ex);
    let first = reference.generation();
    names.send_to("worker", 1).unwrap();
    names.send_to("worker", 0).unwrap(); // the child fails on this one
    names.send_to("worker", 2).unwrap(); // queued while it restarts
    settle(ex);
    reference.try_send(3).unwrap();
    settle(ex);
    assert_eq!(*seen.lock().unwrap(), [(1, 0), (2, 1), (3, 1)]);
    assert!(
        reference.generation() > first,
        "a restart moves the generation on"
    );
    let stale = reference.pinned(first).try_send(4).unwrap_err();
    assert!(
        stale.is_stale(),
        "a sender pinned to the old incarnation learns it is gone"
    );
    assert!(
        names.send_to("nobody", 5).is_err(),
        "an unknown name hands the message back"
    );
    system.stop();
    ex.block_on(system.root_handle()).unwrap().unwrap();
}

#[test]
fn a_redundant_group_spreads_work_round_robin_and_survives_a_failure() {
    use ravelin_kernel::supervisor::redundant;
    let (_, ex) = executor!();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let h = handled.clone();
    let (pool, group) = redundant::<u32, 8, 4, _, _, _>("pool", 3, move |ctx, inbox| {
        let handled = h.clone();
        async move {
            while let Some(n) = inbox.recv().await {
                if n == 99 {
                    return Err("bad job");
                }
                handled.lock().unwrap().push((ctx.name().to_string(), n));
            }
            Ok(())
        }
    })
    .unwrap();
    let mut system = System::start(ex.spawner(), SupervisorSpec::new("root").supervisor(pool));
    settle(ex);
    for n in 1..=6 {
        group.dispatch(n).unwrap();
    }
    settle(ex);
    let per_worker =
        |handled: &[(String, u32)], w: &str| handled.iter().filter(|(n, _)| n == w).count();
    {
        let handled = handled.lock().unwrap();
        for w in ["pool-0", "pool-1", "pool-2"] {
            assert_eq!(per_worker(&handled, w), 2, "{handled:?}");
        }
    }
    group.dispatch(99).unwrap(); // one worker fails on it and is restarted
    settle(ex);
    for n in 7..=9 {
        group.dispatch(n).unwrap();
    }
    settle(ex);
    assert_eq!(handled.lock().unwrap().len(), 9);
    assert!(
        redundant::<u32, 8, 2, _, _, _>(
            "too-many",
            3,
            |_, _: ravelin_kernel::supervisor::Inbox<u32, 8>| async { Ok::<(), Fault>(()) }
        )
        .is_err()
    );
    system.stop();
    ex.block_on(system.root_handle()).unwrap().unwrap();
}
