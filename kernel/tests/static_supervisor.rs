//! Supervision with no allocator (`static_supervisor`) on the deterministic test
//! platform: a missed liveness deadline cancels and restarts a child, `Err` faults count
//! toward the restart intensity and escalate, strategies restart the right siblings,
//! nested trees see a child supervisor's escalation as a fault, restart types decide
//! what comes back, and the watchdog is fed only while every child checks in.

use std::string::{String, ToString};
use std::sync::Mutex;
use std::vec::Vec;

use ravelin_hal::{Clock, Duration, Instant, TestPlatform};
use ravelin_kernel::sched::Executor;
use ravelin_kernel::static_supervisor::{
    Backoff, ChildContext, ChildSpec, Escalation, Event, Exit, Fault, Intensity, Restart, Strategy,
    Supervisor,
};

/// Events as short strings with the virtual millisecond they happened at.
fn describe(now: Instant, event: &Event) -> String {
    let ms = now.as_nanos() / 1_000_000;
    match event {
        Event::Started { child, .. } => format!("{ms} start {child}"),
        Event::Exited { child, fault, .. } => match fault {
            None => format!("{ms} end {child}"),
            Some(fault) => format!("{ms} fault {child}: {fault}"),
        },
        Event::Stopped { child, .. } => format!("{ms} stop {child}"),
        Event::Escalated { supervisor, .. } => format!("{ms} escalate {supervisor}"),
    }
}

/// Declares a platform, an executor and an event log of its own, and a function that
/// records into it.
macro_rules! world {
    () => {
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static EXECUTOR: Executor = Executor::new(&PLATFORM);
        static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
        fn record(event: &Event) {
            LOG.lock().unwrap().push(describe(PLATFORM.now(), event));
        }
        fn log() -> Vec<String> {
            LOG.lock().unwrap().clone()
        }
        PLATFORM.set_auto_advance(true);
    };
}

#[test]
fn a_missed_liveness_deadline_cancels_and_restarts_the_child() {
    world!();
    static INCARNATIONS: Mutex<u32> = Mutex::new(0);
    /// Checks in every 5 ms; its first incarnation hangs after 3 check-ins, the second
    /// checks in 4 times and ends normally.
    async fn heartbeat(ctx: ChildContext) -> Exit {
        let incarnation = {
            let mut n = INCARNATIONS.lock().unwrap();
            *n += 1;
            *n
        };
        for _ in 0..if incarnation == 1 { 3 } else { 4 } {
            EXECUTOR.sleep(Duration::from_millis(5)).await;
            ctx.check_in();
        }
        if incarnation == 1 {
            core::future::pending::<()>().await; // hangs: checks in no more
        }
        Ok(())
    }
    static HEARTBEAT: ChildSpec<512> = ChildSpec::new("heartbeat", |start| {
        let ctx = start.context();
        start.spawn(heartbeat(ctx))
    })
    .restart(Restart::Transient)
    .check_in_every(Duration::from_millis(10));
    static ROOT: Supervisor<1> = Supervisor::new("root", &EXECUTOR, [&HEARTBEAT]).on_event(record);

    let mut root = EXECUTOR.spawn(ROOT.supervise());
    assert_eq!(EXECUTOR.block_on(&mut root).unwrap(), Ok(()));
    // Deadlines at 10, 20, 30 ms: check-ins at 5..15 pass the first two rounds, none
    // after 15 ms, so the round at 30 ms cancels it.
    assert_eq!(
        log(),
        [
            "0 start heartbeat",
            "30 fault heartbeat: missed its liveness deadline",
            "30 start heartbeat",
            "50 end heartbeat",
        ]
    );
    assert_eq!(*INCARNATIONS.lock().unwrap(), 2);
}

#[test]
fn err_faults_restart_until_the_intensity_is_exceeded_then_escalate() {
    world!();
    async fn failing(_ctx: ChildContext) -> Exit {
        EXECUTOR.sleep(Duration::from_millis(1)).await;
        Err("sensor unplugged")
    }
    async fn steady(_ctx: ChildContext) -> Exit {
        core::future::pending().await
    }
    static FAILING: ChildSpec<256> = ChildSpec::new("failing", |start| {
        let ctx = start.context();
        start.spawn(failing(ctx))
    });
    static STEADY: ChildSpec<256> = ChildSpec::new("steady", |start| {
        let ctx = start.context();
        start.spawn(steady(ctx))
    });
    static ROOT: Supervisor<2> = Supervisor::new("root", &EXECUTOR, [&STEADY, &FAILING])
        .intensity(Intensity::new(2, Duration::from_secs(1)))
        .on_event(record);

    let mut root = EXECUTOR.spawn(ROOT.supervise());
    let escalation = EXECUTOR.block_on(&mut root).unwrap().unwrap_err();
    assert_eq!(
        escalation,
        Escalation {
            child: "failing",
            fault: Fault::Error("sensor unplugged"),
        }
    );
    assert_eq!(
        escalation.to_string(),
        "restart intensity exceeded: child failing failed: sensor unplugged"
    );
    assert_eq!(
        log(),
        [
            "0 start steady",
            "0 start failing",
            "1 fault failing: failed: sensor unplugged",
            "1 start failing",
            "2 fault failing: failed: sensor unplugged",
            "2 start failing",
            "3 fault failing: failed: sensor unplugged",
            "3 stop steady",
            "3 escalate root",
        ]
    );
}

#[test]
fn faults_outside_the_window_do_not_add_up() {
    world!();
    async fn slow_failing(_ctx: ChildContext) -> Exit {
        EXECUTOR.sleep(Duration::from_millis(600)).await;
        Err("flaky")
    }
    static SLOW: ChildSpec<256> = ChildSpec::new("slow", |start| {
        let ctx = start.context();
        start.spawn(slow_failing(ctx))
    });
    static ROOT: Supervisor<1> = Supervisor::new("root", &EXECUTOR, [&SLOW])
        .intensity(Intensity::new(1, Duration::from_secs(1)))
        .on_event(record);
    let mut root = EXECUTOR.spawn(ROOT.supervise());
    EXECUTOR.block_on(&mut root).unwrap().unwrap_err();
    // Faults at 600 and 1200 ms are 600 ms apart, within one 1 s window: the second
    // is one restart more than allowed.
    let restarts = log().iter().filter(|l| l.contains("start slow")).count();
    assert_eq!(restarts, 2, "{:?}", log());

    // A window of 500 ms: faults 600 ms apart never add up; stop after 5 restarts.
    static ROOT2: Supervisor<1> = Supervisor::new("root2", &EXECUTOR, [&SLOW])
        .intensity(Intensity::new(1, Duration::from_millis(500)))
        .on_event(record);
    let mut root2 = EXECUTOR.spawn(ROOT2.supervise());
    for _ in 0..5 {
        EXECUTOR
            .block_on(&mut EXECUTOR.spawn(EXECUTOR.sleep(Duration::from_millis(600))))
            .unwrap();
    }
    assert!(!root2.is_finished(), "one fault per window never escalates");
    root2.cancel();
    assert!(EXECUTOR.block_on(&mut root2).is_err());
}

#[test]
fn one_for_all_restarts_every_running_sibling_but_a_temporary_one() {
    world!();
    static FAILS: Mutex<u32> = Mutex::new(0);
    async fn idle(_ctx: ChildContext) -> Exit {
        core::future::pending().await
    }
    /// Fails once, 1 ms after its first start; then idles.
    async fn once(_ctx: ChildContext) -> Exit {
        let first = {
            let mut n = FAILS.lock().unwrap();
            *n += 1;
            *n == 1
        };
        if first {
            EXECUTOR.sleep(Duration::from_millis(1)).await;
            return Err("once");
        }
        core::future::pending().await
    }
    static A: ChildSpec<256> = ChildSpec::new("a", |s| {
        let c = s.context();
        s.spawn(idle(c))
    });
    static B: ChildSpec<256> = ChildSpec::new("b", |s| {
        let c = s.context();
        s.spawn(once(c))
    });
    static C: ChildSpec<256> = ChildSpec::new("c", |s| {
        let c = s.context();
        s.spawn(idle(c))
    });
    static TEMP: ChildSpec<256> = ChildSpec::new("temp", |s| {
        let c = s.context();
        s.spawn(idle(c))
    })
    .restart(Restart::Temporary);
    static ALL: Supervisor<4> = Supervisor::new("all", &EXECUTOR, [&A, &B, &C, &TEMP])
        .strategy(Strategy::OneForAll)
        .on_event(record);

    let mut all = EXECUTOR.spawn(ALL.supervise());
    EXECUTOR
        .block_on(&mut EXECUTOR.spawn(EXECUTOR.sleep(Duration::from_millis(5))))
        .unwrap();
    all.cancel();
    assert!(EXECUTOR.block_on(&mut all).is_err());
    EXECUTOR.run_once(); // the cancelled supervisor's children are dropped
    assert!(!A.is_running() && !B.is_running() && !C.is_running());
    assert_eq!(
        log()[4..],
        [
            "1 fault b: failed: once",
            "1 stop temp",
            "1 stop c",
            "1 stop a",
            "1 start a",
            "1 start b",
            "1 start c",
        ],
        "one-for-all: the others stop in reverse order, all but the temporary start again"
    );
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_those_after_it() {
    world!();
    static FAILS: Mutex<u32> = Mutex::new(0);
    async fn idle(_ctx: ChildContext) -> Exit {
        core::future::pending().await
    }
    async fn once(_ctx: ChildContext) -> Exit {
        let first = {
            let mut n = FAILS.lock().unwrap();
            *n += 1;
            *n == 1
        };
        if first {
            EXECUTOR.sleep(Duration::from_millis(1)).await;
            return Err("once");
        }
        core::future::pending().await
    }
    static A: ChildSpec<256> = ChildSpec::new("a", |s| {
        let c = s.context();
        s.spawn(idle(c))
    });
    static B: ChildSpec<256> = ChildSpec::new("b", |s| {
        let c = s.context();
        s.spawn(once(c))
    });
    static C: ChildSpec<256> = ChildSpec::new("c", |s| {
        let c = s.context();
        s.spawn(idle(c))
    });
    static REST: Supervisor<3> = Supervisor::new("rest", &EXECUTOR, [&A, &B, &C])
        .strategy(Strategy::RestForOne)
        .on_event(record);
    let mut rest = EXECUTOR.spawn(REST.supervise());
    EXECUTOR
        .block_on(&mut EXECUTOR.spawn(EXECUTOR.sleep(Duration::from_millis(5))))
        .unwrap();
    rest.cancel();
    assert!(EXECUTOR.block_on(&mut rest).is_err());
    assert_eq!(
        log()[3..],
        [
            "1 fault b: failed: once",
            "1 stop c",
            "1 start b",
            "1 start c"
        ]
    );
}

#[test]
fn a_nested_supervisor_escalates_to_its_parent_as_a_fault() {
    world!();
    async fn broken(_ctx: ChildContext) -> Exit {
        Err("broken")
    }
    static BROKEN: ChildSpec<256> = ChildSpec::new("broken", |s| {
        let c = s.context();
        s.spawn(broken(c))
    });
    static INNER: Supervisor<1> = Supervisor::new("inner", &EXECUTOR, [&BROKEN])
        .intensity(Intensity::new(1, Duration::from_secs(1)))
        .on_event(record);
    static INNER_CHILD: ChildSpec<1024> =
        ChildSpec::new("inner", |s| s.spawn(INNER.run())).restart(Restart::Transient);
    static OUTER: Supervisor<1> = Supervisor::new("outer", &EXECUTOR, [&INNER_CHILD])
        .intensity(Intensity::new(1, Duration::from_secs(1)))
        .on_event(record);

    let mut outer = EXECUTOR.spawn(OUTER.supervise());
    let escalation = EXECUTOR.block_on(&mut outer).unwrap().unwrap_err();
    assert_eq!(escalation.child, "inner");
    assert_eq!(escalation.fault, Fault::Error(Escalation::REASON));
    let log = log();
    assert_eq!(
        log.iter().filter(|l| l.ends_with("escalate inner")).count(),
        2,
        "the inner tree gave up twice: once, then again after its restart: {log:?}"
    );
    assert_eq!(log.last().unwrap(), "0 escalate outer");
}

#[test]
fn restart_types_decide_what_comes_back() {
    world!();
    async fn ok(_ctx: ChildContext) -> Exit {
        Ok(())
    }
    async fn err(_ctx: ChildContext) -> Exit {
        Err("no")
    }
    static TRANSIENT_OK: ChildSpec<256> = ChildSpec::new("transient-ok", |s| {
        let c = s.context();
        s.spawn(ok(c))
    })
    .restart(Restart::Transient);
    static TEMPORARY_ERR: ChildSpec<256> = ChildSpec::new("temporary-err", |s| {
        let c = s.context();
        s.spawn(err(c))
    })
    .restart(Restart::Temporary);
    static ROOT: Supervisor<2> =
        Supervisor::new("root", &EXECUTOR, [&TRANSIENT_OK, &TEMPORARY_ERR]).on_event(record);
    let mut root = EXECUTOR.spawn(ROOT.supervise());
    assert_eq!(EXECUTOR.block_on(&mut root).unwrap(), Ok(()));
    assert_eq!(
        log(),
        [
            "0 start transient-ok",
            "0 start temporary-err",
            "0 end transient-ok",
            "0 fault temporary-err: failed: no",
        ]
    );
}

#[test]
fn the_watchdog_is_fed_only_while_every_child_checks_in() {
    world!();
    static FEEDS: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    fn feed() {
        FEEDS
            .lock()
            .unwrap()
            .push(PLATFORM.now().as_nanos() / 1_000_000);
    }
    /// Checks in every 4 ms until 16 ms, then hangs; never restarted (temporary).
    async fn beats(ctx: ChildContext) -> Exit {
        for _ in 0..4 {
            EXECUTOR.sleep(Duration::from_millis(4)).await;
            ctx.check_in();
        }
        core::future::pending().await
    }
    static BEATS: ChildSpec<256> = ChildSpec::new("beats", |s| {
        let c = s.context();
        s.spawn(beats(c))
    })
    .restart(Restart::Temporary)
    .check_in_every(Duration::from_millis(10));
    static ROOT: Supervisor<1> = Supervisor::new("root", &EXECUTOR, [&BEATS])
        .feed_watchdog(feed)
        .on_event(record);
    let mut root = EXECUTOR.spawn(ROOT.supervise());
    assert_eq!(EXECUTOR.block_on(&mut root).unwrap(), Ok(()));
    assert_eq!(
        *FEEDS.lock().unwrap(),
        [10, 20],
        "no feed at the missed round"
    );
    assert_eq!(
        log(),
        [
            "0 start beats",
            "30 fault beats: missed its liveness deadline",
        ]
    );
}

#[test]
fn a_child_too_large_for_its_slot_makes_its_supervisor_give_up_at_once() {
    world!();
    async fn big(_ctx: ChildContext) -> Exit {
        let buffer = [0u8; 64];
        EXECUTOR.sleep(Duration::from_millis(1)).await;
        if buffer.iter().all(|&b| b == 0) {
            Ok(())
        } else {
            Err("never")
        }
    }
    async fn idle(_ctx: ChildContext) -> Exit {
        core::future::pending().await
    }
    static IDLE: ChildSpec<256> = ChildSpec::new("idle", |s| {
        let c = s.context();
        s.spawn(idle(c))
    });
    static BIG: ChildSpec<16> = ChildSpec::new("big", |s| {
        let c = s.context();
        s.spawn(big(c))
    });
    static ROOT: Supervisor<2> = Supervisor::new("root", &EXECUTOR, [&IDLE, &BIG]).on_event(record);
    let mut root = EXECUTOR.spawn(ROOT.supervise());
    let escalation = EXECUTOR.block_on(&mut root).unwrap().unwrap_err();
    assert_eq!(escalation.fault, Fault::StartFailed);
    assert_eq!(escalation.child, "big");
    assert_eq!(log(), ["0 start idle", "0 stop idle", "0 escalate root"]);
    assert!(
        !IDLE.is_running(),
        "the stopped sibling was joined and its slot freed"
    );
}

#[test]
fn exponential_backoff_delays_restarts_without_stalling_the_other_children() {
    world!();
    async fn crashing(_ctx: ChildContext) -> Exit {
        Err("crash")
    }
    /// Ends normally 25 ms after it starts: while `crashing` waits out a backoff.
    async fn finishing(_ctx: ChildContext) -> Exit {
        EXECUTOR.sleep(Duration::from_millis(25)).await;
        Ok(())
    }
    static CRASHING: ChildSpec<256> = ChildSpec::new("crashing", |s| {
        let c = s.context();
        s.spawn(crashing(c))
    });
    static FINISHING: ChildSpec<256> = ChildSpec::new("finishing", |s| {
        let c = s.context();
        s.spawn(finishing(c))
    })
    .restart(Restart::Transient);
    static ROOT: Supervisor<2> = Supervisor::new("root", &EXECUTOR, [&CRASHING, &FINISHING])
        .intensity(Intensity::new(4, Duration::from_secs(10)))
        .backoff(Backoff::Exponential {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(40),
        })
        .on_event(record);
    let mut root = EXECUTOR.spawn(ROOT.supervise());
    let escalation = EXECUTOR.block_on(&mut root).unwrap().unwrap_err();
    assert_eq!(escalation.fault, Fault::Error("crash"));
    // Delays of 10, 20, 40 and (capped) 40 ms; the fifth crash is one too many.
    assert_eq!(
        log(),
        [
            "0 start crashing",
            "0 start finishing",
            "0 fault crashing: failed: crash",
            "10 start crashing",
            "10 fault crashing: failed: crash",
            "25 end finishing",
            "30 start crashing",
            "30 fault crashing: failed: crash",
            "70 start crashing",
            "70 fault crashing: failed: crash",
            "110 start crashing",
            "110 fault crashing: failed: crash",
            "110 escalate root",
        ]
    );
    assert_eq!(
        Backoff::Linear {
            step: Duration::from_millis(3),
            cap: Duration::from_millis(7)
        }
        .delay(3),
        Duration::from_millis(7)
    );
    assert_eq!(Backoff::None.delay(9), Duration::ZERO);
}

#[test]
fn the_watchdog_is_not_fed_while_a_child_waits_out_a_backoff() {
    world!();
    static FEEDS: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    fn feed() {
        FEEDS
            .lock()
            .unwrap()
            .push(PLATFORM.now().as_nanos() / 1_000_000);
    }
    /// Checks in every 5 ms for 100 ms.
    async fn beating(ctx: ChildContext) -> Exit {
        for _ in 0..20 {
            EXECUTOR.sleep(Duration::from_millis(5)).await;
            ctx.check_in();
        }
        Ok(())
    }
    /// Fails at 25 ms on its first run; the backoff holds its restart until 75 ms.
    async fn once(_ctx: ChildContext) -> Exit {
        if PLATFORM.now().as_nanos() == 0 {
            EXECUTOR.sleep(Duration::from_millis(25)).await;
            return Err("once");
        }
        Ok(())
    }
    static BEATING: ChildSpec<256> = ChildSpec::new("beating", |s| {
        let c = s.context();
        s.spawn(beating(c))
    })
    .restart(Restart::Transient)
    .check_in_every(Duration::from_millis(10));
    static ONCE: ChildSpec<256> = ChildSpec::new("once", |s| {
        let c = s.context();
        s.spawn(once(c))
    })
    .restart(Restart::Transient);
    static ROOT: Supervisor<2> = Supervisor::new("root", &EXECUTOR, [&BEATING, &ONCE])
        .backoff(Backoff::Linear {
            step: Duration::from_millis(50),
            cap: Duration::from_millis(50),
        })
        .feed_watchdog(feed)
        .on_event(record);
    let mut root = EXECUTOR.spawn(ROOT.supervise());
    assert_eq!(EXECUTOR.block_on(&mut root).unwrap(), Ok(()));
    assert!(log().contains(&"75 start once".to_string()), "{:?}", log());
    assert_eq!(*FEEDS.lock().unwrap(), [10, 20, 80, 90, 100]);
}
