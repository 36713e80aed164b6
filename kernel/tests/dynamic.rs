//! The dynamic supervisor: 100,000 children (a few hundred under miri) under one
//! supervisor, 1% of them killed at random (a fixed PRNG seed): exactly those restart,
//! their queued messages survive (only the one being handled is lost), and shutdown
//! stops every one. Plus restart types, intensity and escalation, hand-backs, stale ids,
//! and the memory one child takes.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};

use ravelin_hal::{Duration, TestPlatform};
use ravelin_kernel::mailbox::TrySendError;
use ravelin_kernel::sched::Executor;
use ravelin_kernel::supervisor::dynamic::{ChildInfo, DynamicBuilder, Inbox, StartError};
use ravelin_kernel::supervisor::{Fault, Restart, SupervisorSpec, System};

#[cfg(not(miri))]
const CHILDREN: usize = 100_000;
#[cfg(miri)]
const CHILDREN: usize = 300;

/// What the test children are sent.
#[derive(Debug, PartialEq)]
enum Msg {
    /// Counted by the receiving child.
    Count,
    /// The child starts handling it and never finishes (until it is killed).
    Hang,
    /// The child fails with an error.
    Fail,
}

/// Per-child records, indexed by the child's argument.
struct Records {
    starts: Vec<AtomicU32>,
    counted: Vec<AtomicU32>,
    hung: Vec<AtomicU32>,
    stopped: AtomicUsize,
}

impl Records {
    fn new(n: usize) -> Arc<Self> {
        let zeros = || (0..n).map(|_| AtomicU32::new(0)).collect();
        Arc::new(Self {
            starts: zeros(),
            counted: zeros(),
            hung: zeros(),
            stopped: AtomicUsize::new(0),
        })
    }
}

/// The body every test child runs.
async fn body(
    records: Arc<Records>,
    index: usize,
    mut inbox: Inbox<Msg, 8>,
) -> Result<(), &'static str> {
    records.starts[index].fetch_add(1, SeqCst);
    while let Some(msg) = inbox.recv().await {
        match msg {
            Msg::Count => {
                records.counted[index].fetch_add(1, SeqCst);
            }
            Msg::Hang => {
                records.hung[index].fetch_add(1, SeqCst);
                pending::<()>().await;
            }
            Msg::Fail => return Err("asked to fail"),
        }
    }
    records.stopped.fetch_add(1, SeqCst);
    Ok(())
}

/// Runs the executor until nothing is ready.
fn settle(executor: &Executor) {
    while executor.run_once() > 0 {}
}

/// xorshift64*: a fixed, portable sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// `k` distinct indices below `n` (a partial Fisher-Yates shuffle), sorted.
    fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + (self.next() % (n - i) as u64) as usize;
            all.swap(i, j);
        }
        let mut picked = all[..k].to_vec();
        picked.sort_unstable();
        picked
    }
}

#[test]
fn one_percent_killed_at_random_restart_alone_and_keep_their_queues() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);

    let records = Records::new(CHILDREN);
    let r = records.clone();
    let sup = DynamicBuilder::new("many")
        .intensity(CHILDREN as u32, Duration::from_secs(60))
        .build(
            EXECUTOR.spawner(),
            move |_: ChildInfo, index: usize, inbox: Inbox<Msg, 8>| body(r.clone(), index, inbox),
        );
    let mut system = System::start(
        EXECUTOR.spawner(),
        SupervisorSpec::new("root").child(sup.child_spec()),
    );
    settle(&EXECUTOR);
    assert!(sup.is_running());

    let children: Vec<_> = (0..CHILDREN)
        .map(|i| sup.start_child(i).expect("the supervisor runs"))
        .collect();
    assert_eq!(sup.count(), CHILDREN);
    settle(&EXECUTOR);
    assert!(records.starts.iter().all(|s| s.load(SeqCst) == 1));

    // 1% of the children get a message they hang on, then two more behind it; the
    // others get three ordinary messages.
    let victims = Rng(0x5eed_1234_abcd_0001).sample(CHILDREN, CHILDREN / 100);
    assert_eq!(victims.len(), CHILDREN / 100);
    let mut is_victim = vec![false; CHILDREN];
    for &v in &victims {
        is_victim[v] = true;
        children[v].try_send(Msg::Hang).unwrap();
    }
    settle(&EXECUTOR);
    for child in &children {
        child.try_send(Msg::Count).unwrap();
        child.try_send(Msg::Count).unwrap();
    }
    for (i, child) in children.iter().enumerate() {
        if !is_victim[i] {
            child.try_send(Msg::Count).unwrap();
        }
    }
    settle(&EXECUTOR);
    for &v in &victims {
        assert_eq!(children[v].stats().depth, 2, "queued behind the hang");
        assert!(sup.kill_child(children[v].id()));
    }
    settle(&EXECUTOR);

    let restarted: Vec<usize> = (0..CHILDREN)
        .filter(|&i| records.starts[i].load(SeqCst) > 1)
        .collect();
    assert_eq!(restarted, victims, "exactly the killed children restarted");
    for i in 0..CHILDREN {
        let starts = records.starts[i].load(SeqCst);
        let counted = records.counted[i].load(SeqCst);
        let hung = records.hung[i].load(SeqCst);
        if is_victim[i] {
            // The hang was being handled when the kill came: lost. The two messages
            // queued behind it reached the next incarnation.
            assert_eq!((starts, hung, counted), (2, 1, 2), "child {i}");
        } else {
            assert_eq!((starts, hung, counted), (1, 0, 3), "child {i}");
        }
        assert_eq!(children[i].stats().depth, 0);
    }
    assert_eq!(sup.stats().restarts, victims.len());
    assert_eq!(sup.stats().escalations, 0);

    system.stop();
    assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
    assert_eq!(
        records.stopped.load(SeqCst),
        CHILDREN,
        "every child stopped"
    );
    assert_eq!(sup.count(), 0);
    assert!(!sup.is_running());
    for child in &children {
        assert!(matches!(
            child.try_send(Msg::Count),
            Err(TrySendError::Closed(Msg::Count))
        ));
    }
    assert!(matches!(sup.start_child(0), Err(StartError::NotRunning(0))));
}

#[test]
fn restart_types_and_failures() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);

    for (restart, restarted_after_err, restarted_after_ok) in [
        (Restart::Permanent, true, true),
        (Restart::Transient, true, false),
        (Restart::Temporary, false, false),
    ] {
        let records = Records::new(2);
        let r = records.clone();
        let sup = DynamicBuilder::new("types")
            .restart(restart)
            .intensity(10, Duration::from_secs(60))
            .build(
                EXECUTOR.spawner(),
                move |_: ChildInfo, i: usize, inbox: Inbox<Msg, 8>| {
                    let r = r.clone();
                    async move {
                        if i == 1 && r.starts[1].load(SeqCst) == 0 {
                            r.starts[1].fetch_add(1, SeqCst);
                            return Ok(()); // ends at once, with Ok, the first time
                        }
                        body(r, i, inbox).await
                    }
                },
            );
        let mut system = System::start(
            EXECUTOR.spawner(),
            SupervisorSpec::new("root").child(sup.child_spec()),
        );
        settle(&EXECUTOR);
        let failing = sup.start_child(0).unwrap();
        let returning = sup.start_child(1).unwrap();
        settle(&EXECUTOR);
        failing.try_send(Msg::Fail).unwrap();
        settle(&EXECUTOR);
        let starts = |i: usize| records.starts[i].load(SeqCst);
        assert_eq!(
            starts(0),
            if restarted_after_err { 2 } else { 1 },
            "{restart:?}"
        );
        assert_eq!(
            starts(1),
            if restarted_after_ok { 2 } else { 1 },
            "{restart:?}"
        );
        assert_eq!(sup.lookup(failing.id()).is_some(), restarted_after_err);
        assert_eq!(sup.lookup(returning.id()).is_some(), restarted_after_ok);
        if !restarted_after_err {
            assert!(matches!(
                failing.try_send(Msg::Count),
                Err(TrySendError::Closed(_))
            ));
        }
        system.stop();
        assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
    }
}

#[cfg(feature = "std")]
#[test]
fn a_panicking_child_is_restarted_with_its_queue() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);

    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let sup = DynamicBuilder::new("panics").build(
        EXECUTOR.spawner(),
        move |info: ChildInfo, _: (), mut inbox: Inbox<u32, 4>| {
            let s = s.clone();
            async move {
                while let Some(n) = inbox.recv().await {
                    if n == 0 && info.restarts == 0 {
                        panic!("boom");
                    }
                    s.fetch_add(n as usize, SeqCst);
                }
                Ok::<(), Fault>(())
            }
        },
    );
    let mut system = System::start(
        EXECUTOR.spawner(),
        SupervisorSpec::new("root").child(sup.child_spec()),
    );
    settle(&EXECUTOR);
    let child = sup.start_child(()).unwrap();
    for n in [0, 5, 7] {
        child.try_send(n).unwrap();
    }
    settle(&EXECUTOR);
    assert_eq!(
        seen.load(SeqCst),
        12,
        "the messages behind the panic survived"
    );
    assert_eq!(sup.stats().restarts, 1);
    system.stop();
    assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
}

#[cfg(feature = "std")]
#[test]
fn a_body_whose_destructor_panics_is_a_failure_and_is_dropped_once() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);

    /// Panics when dropped in the first incarnation; counts its drops.
    struct Bomb(u32, Arc<AtomicUsize>);
    impl Drop for Bomb {
        fn drop(&mut self) {
            self.1.fetch_add(1, SeqCst);
            if self.0 == 0 {
                panic!("bomb");
            }
        }
    }

    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let sup = DynamicBuilder::new("bombs")
        .restart(Restart::Transient)
        .build(
            EXECUTOR.spawner(),
            move |info: ChildInfo, _: (), mut inbox: Inbox<u32, 4>| {
                let bomb = Bomb(info.restarts, d.clone());
                async move {
                    let _bomb = bomb;
                    if info.restarts == 0 {
                        return Ok(()); // returns Ok, but its destructor panics
                    }
                    while inbox.recv().await.is_some() {}
                    Ok::<(), Fault>(())
                }
            },
        );
    let mut system = System::start(
        EXECUTOR.spawner(),
        SupervisorSpec::new("root").child(sup.child_spec()),
    );
    settle(&EXECUTOR);
    let _child = sup.start_child(()).unwrap();
    settle(&EXECUTOR);
    assert_eq!(
        sup.stats().restarts,
        1,
        "a transient child restarted after the panic"
    );
    assert_eq!(drops.load(SeqCst), 1, "the first body was dropped once");
    system.stop();
    assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn intensity_exceeded_stops_every_child_and_escalates() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);

    let records = Records::new(10);
    let r = records.clone();
    let sup = DynamicBuilder::new("fragile")
        .intensity(2, Duration::from_secs(60))
        .build(
            EXECUTOR.spawner(),
            move |_: ChildInfo, i: usize, inbox: Inbox<Msg, 8>| body(r.clone(), i, inbox),
        );
    // The root gives up at once too, so the escalation reaches the system.
    let mut system = System::start(
        EXECUTOR.spawner(),
        SupervisorSpec::new("root")
            .intensity(0, Duration::from_secs(60))
            .child(sup.child_spec()),
    );
    settle(&EXECUTOR);
    let children: Vec<_> = (0..10).map(|i| sup.start_child(i).unwrap()).collect();
    settle(&EXECUTOR);
    for child in &children[..3] {
        child.try_send(Msg::Fail).unwrap();
        settle(&EXECUTOR);
    }
    let outcome = EXECUTOR.block_on(system.root_handle()).unwrap();
    assert!(
        matches!(&outcome, Err(Fault::Escalated { supervisor, .. }) if supervisor == "root"),
        "{outcome:?}"
    );
    assert_eq!(sup.stats().restarts, 2);
    assert_eq!(sup.stats().escalations, 1);
    // The 7 healthy children and the 2 restarted ones stopped when their mailboxes
    // closed; the third failure was the one that made the supervisor give up.
    assert_eq!(records.stopped.load(SeqCst), 9);
    assert_eq!(sup.count(), 0);
    for child in &children {
        assert!(child.try_send(Msg::Count).is_err());
    }
}

#[test]
fn full_mailboxes_hand_back_and_ids_go_stale() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);

    let records = Records::new(4);
    let r = records.clone();
    let sup = DynamicBuilder::new("small").build(
        EXECUTOR.spawner(),
        move |_: ChildInfo, i: usize, inbox: Inbox<Msg, 8>| body(r.clone(), i, inbox),
    );
    assert!(matches!(sup.start_child(0), Err(StartError::NotRunning(0))));
    let mut system = System::start(
        EXECUTOR.spawner(),
        SupervisorSpec::new("root").child(sup.child_spec()),
    );
    settle(&EXECUTOR);
    let first = sup.start_child(0).unwrap();
    for _ in 0..8 {
        first.try_send(Msg::Count).unwrap();
    }
    assert_eq!(
        first.try_send(Msg::Count),
        Err(TrySendError::Full(Msg::Count))
    );
    assert_eq!(first.stats().handed_back, 1);
    settle(&EXECUTOR);
    assert_eq!(records.counted[0].load(SeqCst), 8);

    // Terminated: the slot is reused by the next child, under a new generation.
    first.try_send(Msg::Count).unwrap();
    assert!(sup.terminate_child(first.id()));
    assert!(!sup.terminate_child(first.id()));
    assert!(!sup.kill_child(first.id()));
    settle(&EXECUTOR);
    assert!(sup.lookup(first.id()).is_none());
    assert_eq!(
        first.stats().undelivered,
        1,
        "queued when it was terminated"
    );
    assert!(matches!(
        first.try_send(Msg::Count),
        Err(TrySendError::Closed(_))
    ));
    let second = sup.start_child(1).unwrap();
    assert_eq!(second.id().index(), first.id().index());
    assert_ne!(second.id(), first.id());
    assert!(!second.same_child(&first));
    assert!(sup.lookup(second.id()).unwrap().same_child(&second));
    system.stop();
    assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
}

#[test]
fn try_send_all_reaches_every_child_and_counts_refusals() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);

    let records = Records::new(200);
    let r = records.clone();
    let sup = DynamicBuilder::new("broadcast").build(
        EXECUTOR.spawner(),
        move |_: ChildInfo, i: usize, inbox: Inbox<Msg, 8>| body(r.clone(), i, inbox),
    );
    let mut system = System::start(
        EXECUTOR.spawner(),
        SupervisorSpec::new("root").child(sup.child_spec()),
    );
    settle(&EXECUTOR);
    let children: Vec<_> = (0..200).map(|i| sup.start_child(i).unwrap()).collect();
    for _ in 0..8 {
        children[7].try_send(Msg::Count).unwrap(); // full before the broadcast
    }
    let report = sup.try_send_all(|| Msg::Count);
    assert_eq!((report.sent, report.full, report.closed), (199, 1, 0));
    settle(&EXECUTOR);
    for i in 0..200 {
        let expected = if i == 7 { 8 } else { 1 };
        assert_eq!(records.counted[i].load(SeqCst), expected, "child {i}");
    }
    system.stop();
    assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
    assert_eq!(sup.try_send_all(|| Msg::Count), Default::default());
}

#[test]
fn a_stubborn_child_is_cancelled_after_the_grace_period() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);

    let records = Records::new(2);
    let r = records.clone();
    let sup = DynamicBuilder::new("stubborn")
        .shutdown_grace(Duration::from_millis(100))
        .build(
            EXECUTOR.spawner(),
            move |_: ChildInfo, i: usize, inbox: Inbox<Msg, 8>| body(r.clone(), i, inbox),
        );
    let mut system = System::start(
        EXECUTOR.spawner(),
        SupervisorSpec::new("root").child(sup.child_spec()),
    );
    settle(&EXECUTOR);
    let hanging = sup.start_child(0).unwrap();
    let _calm = sup.start_child(1).unwrap();
    hanging.try_send(Msg::Hang).unwrap();
    settle(&EXECUTOR);
    system.stop();
    assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
    assert_eq!(
        records.stopped.load(SeqCst),
        1,
        "the calm child stopped by itself"
    );
    assert!(hanging.try_send(Msg::Count).is_err());
}

#[cfg(target_pointer_width = "64")]
#[test]
fn a_child_with_an_8_slot_mailbox_of_16_byte_messages_fits_in_384_bytes() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);

    let sup = DynamicBuilder::new("sized").build(
        EXECUTOR.spawner(),
        |_: ChildInfo, _: u64, mut inbox: Inbox<[u8; 16], 8>| async move {
            while inbox.recv().await.is_some() {}
            Ok::<(), Fault>(())
        },
    );
    let bytes = sup.bytes_per_child();
    println!("bytes per child: {bytes:?}");
    // glibc's malloc adds 8 bytes to a request and rounds up to 16.
    let allocated = (bytes.allocation + 8).next_multiple_of(16);
    assert!(allocated + bytes.table_slot <= 384, "{bytes:?}");
}
