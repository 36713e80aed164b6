//! Addresses, the name registry and groups: a `Ref` reaches whichever incarnation of a
//! process is bound, across restarts; pinned sends learn that the incarnation they knew
//! is gone; every send that cannot be made hands its message back (down, full, closed,
//! stale, unknown name, no member accepting); broadcast reports each member that refused;
//! dispatch spreads messages evenly and skips members that refuse.
//!
//! These tests also run under miri (`cargo miri test -p ravelin-kernel --test
//! registry`), with smaller sizes.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use ravelin_kernel::mailbox::{
    self, Address, Generation, Mailbox, Pinned, Receiver, Ref, RefSendError, Sender,
};
use ravelin_kernel::registry::{
    BroadcastReport, Group, GroupError, GroupSendError, NamedSendError, Registry, RegistryError,
};
use static_assertions::assert_impl_all;

assert_impl_all!(Ref<String, 4>: Send, Sync, Clone);
assert_impl_all!(Pinned<String, 4>: Send, Sync, Clone);
assert_impl_all!(Address<String, 4>: Send, Sync);
assert_impl_all!(Registry<String, 4, 8>: Send, Sync);
assert_impl_all!(Group<String, 4, 8>: Send, Sync);
assert_impl_all!(BroadcastReport<String, 4, 8>: Send, Sync);
assert_impl_all!(RefSendError<String>: Send, Sync, std::error::Error);
assert_impl_all!(NamedSendError<String>: Send, Sync, std::error::Error);
assert_impl_all!(GroupSendError<String>: Send, Sync, std::error::Error);
assert_impl_all!(RegistryError: Send, Sync, Copy, std::error::Error);
assert_impl_all!(GroupError: Send, Sync, Copy, std::error::Error);
static_assertions::assert_not_impl_any!(Ref<std::rc::Rc<u8>, 4>: Send, Sync);

/// The futures of the async sends are `Send` (TRAPS.md #5): a proc may await them on any
/// worker.
#[test]
fn async_send_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let address = Arc::new(Address::<String, 4>::new());
    let target = Ref::from_shared(address);
    let names = Registry::<String, 4, 2>::new();
    assert_send(&target.send(String::new()));
    assert_send(&target.send_to(Generation::NEVER_BOUND, String::new()));
    assert_send(&target.pin_current().send(String::new()));
    assert_send(&names.send("x", String::new()));
}

fn poll<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls `future` on this thread, parking between polls.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        std::thread::park();
    }
}

/// A heap-backed address with nothing bound, and a ref to it.
fn address<M, const N: usize>() -> (Arc<Address<M, N>>, Ref<M, N>) {
    let address = Arc::new(Address::new());
    (address.clone(), Ref::from_shared(address))
}

/// Starts an incarnation with a fresh mailbox: binds its sender, returns its receiver.
fn start<M, const N: usize>(address: &Address<M, N>) -> (Generation, Receiver<M, N>) {
    let (tx, rx) = mailbox::channel();
    (address.bind(tx), rx)
}

fn drain<M, const N: usize>(rx: &mut Receiver<M, N>) -> Vec<M> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

#[test]
fn a_ref_survives_a_restart_and_reaches_the_new_incarnation() {
    let (address, target) = address::<String, 4>();
    assert_eq!(target.generation(), Generation::NEVER_BOUND);
    assert!(!target.is_up());
    match target.try_send("early".into()) {
        Err(RefSendError::Down(m)) => assert_eq!(m, "early"),
        other => panic!("{other:?}"),
    }

    let (first, mut rx1) = start(&address);
    assert_eq!(first.get(), 1);
    let handed_out = target.clone(); // e.g. given to a client before the restart
    handed_out.try_send("to first".into()).unwrap();
    assert_eq!(drain(&mut rx1), ["to first"]);

    // The child fails: its receiver is dropped; its supervisor unbinds and restarts it.
    drop(rx1);
    match handed_out.try_send("while stopping".into()) {
        Err(RefSendError::Closed(m)) => assert_eq!(m, "while stopping"),
        other => panic!("{other:?}"),
    }
    drop(address.unbind());
    match handed_out.try_send("while down".into()) {
        Err(RefSendError::Down(m)) => assert_eq!(m, "while down"),
        other => panic!("{other:?}"),
    }
    let (second, mut rx2) = start(&address);
    assert!(second > first);
    assert_eq!(handed_out.generation(), second);
    handed_out.try_send("to second".into()).unwrap();
    block_on(target.send("async to second".into())).unwrap();
    assert_eq!(drain(&mut rx2), ["to second", "async to second"]);
    assert_eq!(target, handed_out, "same address");
}

#[test]
fn a_ref_to_a_static_address_needs_no_allocator() {
    static SLOT: Address<u32, 2> = Address::new();
    static FIRST: Mailbox<u32, 2> = Mailbox::new();
    static SECOND: Mailbox<u32, 2> = Mailbox::new();
    const TARGET: Ref<u32, 2> = Ref::from_static(&SLOT);

    let (tx, mut rx) = FIRST.split().unwrap();
    SLOT.bind(tx);
    TARGET.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    drop(rx);
    let (tx, mut rx) = SECOND.split().unwrap();
    SLOT.bind(tx); // replaces (and drops) the first incarnation's sender
    SLOT.to_ref().try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(Ref::from(&SLOT), TARGET);
}

#[test]
fn queued_messages_survive_when_the_same_mailbox_is_bound_again() {
    let (address, target) = address::<u32, 8>();
    let (tx, mut rx) = mailbox::channel::<u32, 8>();
    let first = address.bind(tx);
    target.try_send(1).unwrap();
    target.try_send(2).unwrap();

    // The child fails while 1 and 2 are queued; the supervisor keeps its mailbox.
    let kept = address.unbind().expect("was bound");
    assert_eq!(target.try_send(3).map_err(RefSendError::into_inner), Err(3));
    let second = address.bind(kept);
    assert_eq!(second.get(), first.get() + 1);
    target.try_send(4).unwrap();

    assert_eq!(drain(&mut rx), [1, 2, 4], "the queue survived, in order");
    assert_eq!(rx.stats().undelivered, 0);
}

#[test]
fn a_pinned_send_is_stale_after_a_restart_and_hands_the_message_back() {
    let (address, target) = address::<String, 4>();
    let (first, mut rx1) = start(&address);
    let pinned = target.pin_current();
    assert_eq!(pinned.generation(), first);
    assert!(pinned.is_current());
    pinned.try_send("a".into()).unwrap();
    target.try_send_to(first, "b".into()).unwrap();
    assert_eq!(drain(&mut rx1), ["a", "b"]);

    // Down, not yet replaced: Down.
    drop(address.unbind());
    assert!(!pinned.is_current());
    assert!(matches!(pinned.try_send("c".into()), Err(RefSendError::Down(m)) if m == "c"));

    let (second, mut rx2) = start(&address);
    match pinned.try_send("d".into()) {
        Err(RefSendError::Stale { current, message }) => {
            assert_eq!((current, message.as_str()), (second, "d"))
        }
        other => panic!("{other:?}"),
    }
    match block_on(target.send_to(first, "e".into())) {
        Err(e @ RefSendError::Stale { .. }) => {
            assert_eq!(
                e.to_string(),
                "process restarted (now generation #2): message handed back"
            );
            assert_eq!(e.into_inner(), "e");
        }
        other => panic!("{other:?}"),
    }
    // A send pinned to a generation not bound yet is stale too: it is not the current one.
    assert!(
        target
            .try_send_to(Generation::NEVER_BOUND, "f".into())
            .unwrap_err()
            .is_stale()
    );
    assert!(
        drain(&mut rx2).is_empty(),
        "the new incarnation got none of them"
    );
    assert!(drain(&mut rx1).is_empty());
    target.pinned(second).try_send("g".into()).unwrap();
    assert_eq!(drain(&mut rx2), ["g"]);
}

#[test]
fn full_and_closed_are_passed_through_with_the_message() {
    let (address, target) = address::<u32, 1>();
    let (g, rx) = start(&address);
    target.try_send(1).unwrap();
    assert!(matches!(target.try_send(2), Err(RefSendError::Full(2))));
    assert!(matches!(
        target.try_send_to(g, 3),
        Err(RefSendError::Full(3))
    ));
    drop(rx); // died; not unbound yet
    assert!(matches!(target.try_send(4), Err(RefSendError::Closed(4))));
    assert!(matches!(
        target.try_send_to(g, 5),
        Err(RefSendError::Closed(5))
    ));
    assert!(matches!(
        block_on(target.send(6)),
        Err(RefSendError::Closed(6))
    ));
    assert_eq!(
        RefSendError::Down(0).to_string(),
        "process down: message handed back"
    );
}

#[test]
fn a_waiting_send_moves_on_to_the_next_incarnation_when_its_mailbox_closes() {
    let (address, target) = address::<u32, 1>();
    let (first, rx1) = start(&address);
    target.try_send(1).unwrap();
    let mut send = pin!(target.send(2));
    let mut pinned = pin!(target.send_to(first, 3));
    assert!(poll(send.as_mut()).is_pending(), "full: waits for room");
    assert!(poll(pinned.as_mut()).is_pending());

    // The child dies with 1 queued (counted undelivered) and is restarted.
    drop(rx1);
    let (second, mut rx2) = start(&address);
    assert_eq!(poll(send.as_mut()), Poll::Ready(Ok(())));
    match poll(pinned.as_mut()) {
        Poll::Ready(Err(RefSendError::Stale { current, message })) => {
            assert_eq!((current, message), (second, 3))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(drain(&mut rx2), [2]);
}

#[test]
fn async_send_waits_for_room_and_down_comes_back_at_once() {
    let (address, target) = address::<u32, 1>();
    assert!(matches!(
        block_on(target.send(0)),
        Err(RefSendError::Down(0))
    ));
    let (_, mut rx) = start(&address);
    target.try_send(1).unwrap();
    let mut send = pin!(target.send(2));
    assert!(poll(send.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(poll(send.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn unknown_names_are_errors_and_hand_the_message_back() {
    let names = Registry::<String, 4, 4>::new();
    assert!(names.is_empty());
    assert_eq!(
        names.lookup("nobody").unwrap_err(),
        RegistryError::UnknownName
    );
    match names.send_to("nobody", "hi".into()) {
        Err(e @ NamedSendError::UnknownName(_)) => {
            assert!(e.is_unknown_name());
            assert_eq!(
                e.to_string(),
                "no process registered under that name: message handed back"
            );
            assert_eq!(e.into_inner(), "hi");
        }
        other => panic!("{other:?}"),
    }
    match block_on(names.send("nobody", "async".into())) {
        Err(NamedSendError::UnknownName(m)) => assert_eq!(m, "async"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        names.unregister("nobody").unwrap_err(),
        RegistryError::UnknownName
    );
}

#[test]
fn a_name_stays_valid_across_restarts() {
    let names = Registry::<u32, 4, 4>::new();
    let (address, target) = address::<u32, 4>();
    names.register("worker", target).unwrap();
    assert!(names.contains("worker"));
    match names.send_to("worker", 1) {
        Err(NamedSendError::Refused(RefSendError::Down(1))) => {}
        other => panic!("{other:?}"),
    }
    let (_, mut rx1) = start(&address);
    names.send_to("worker", 2).unwrap();
    assert_eq!(rx1.try_recv(), Ok(2));
    drop(rx1);
    drop(address.unbind());
    let (_, mut rx2) = start(&address);
    names.send_to("worker", 3).unwrap();
    block_on(names.send("worker", 4)).unwrap();
    assert_eq!(drain(&mut rx2), [3, 4]);
    assert_eq!(names.lookup("worker").unwrap().generation().get(), 2);
}

#[test]
fn registry_full_and_name_taken() {
    let names = Registry::<u32, 2, 2>::new();
    let (_a, a) = address::<u32, 2>();
    let (_b, b) = address::<u32, 2>();
    let (_c, c) = address::<u32, 2>();
    names.register("a", a.clone()).unwrap();
    assert_eq!(
        names.register("a", b.clone()),
        Err(RegistryError::NameTaken)
    );
    assert_eq!(
        names.lookup("a").unwrap(),
        a,
        "the first registration stands"
    );
    names.register("b", b).unwrap();
    assert_eq!(names.register("c", c.clone()), Err(RegistryError::Full));
    assert_eq!((names.len(), names.capacity()), (2, 2));
    assert_eq!(names.unregister("a").unwrap(), a);
    assert!(!names.contains("a"));
    names.register("c", c).unwrap();
    assert_eq!(RegistryError::Full.to_string(), "registry full");
    assert_eq!(
        RegistryError::NameTaken.to_string(),
        "name already registered"
    );
}

#[test]
fn a_static_registry_and_group_need_no_allocator() {
    static NAMES: Registry<u8, 4, 4> = Registry::new();
    static POOL: Group<u8, 4, 4> = Group::new("pool");
    static SLOT: Address<u8, 4> = Address::new();
    static INBOX: Mailbox<u8, 4> = Mailbox::new();
    NAMES.register("one", SLOT.to_ref()).unwrap();
    POOL.join(SLOT.to_ref()).unwrap();
    let (tx, mut rx) = INBOX.split().unwrap();
    SLOT.bind(tx);
    NAMES.send_to("one", 1).unwrap();
    POOL.dispatch(2).unwrap();
    assert_eq!(POOL.broadcast(3).delivered, 1);
    assert_eq!(drain(&mut rx), [1, 2, 3]);
    assert_eq!(POOL.name(), "pool");
}

/// A group member in a test: its address (to restart it), a ref, its receiver.
type Member<const N: usize> = (Arc<Address<u32, N>>, Ref<u32, N>, Receiver<u32, N>);

/// `count` members, each with its own mailbox of capacity `N`.
fn members<const N: usize>(count: usize) -> Vec<Member<N>> {
    (0..count)
        .map(|_| {
            let (address, target) = address::<u32, N>();
            let (_, rx) = start(&address);
            (address, target, rx)
        })
        .collect()
}

#[test]
fn broadcast_reports_a_full_member_and_hands_its_copy_back() {
    let group = Group::<u32, 1, 4>::new("all");
    let mut ms = members::<1>(3);
    for (_, target, _) in &ms {
        group.join(target.clone()).unwrap();
    }
    ms[1].1.try_send(0).unwrap(); // member 1 is full

    let report = group.broadcast(7);
    assert_eq!((report.members, report.delivered), (3, 2));
    assert_eq!((report.full(), report.down(), report.closed()), (1, 0, 0));
    assert!(!report.all_delivered());
    let [(refused_by, error)] = &report.handed_back[..] else {
        panic!("{report:?}")
    };
    assert_eq!(refused_by, &ms[1].1);
    assert!(
        matches!(error, RefSendError::Full(7)),
        "the copy comes back"
    );

    assert_eq!(drain(&mut ms[0].2), [7]);
    assert_eq!(drain(&mut ms[1].2), [0]);
    assert_eq!(drain(&mut ms[2].2), [7]);

    // A member that is down is reported as such.
    drop(ms[2].0.unbind());
    let report = group.broadcast(8);
    assert_eq!((report.delivered, report.down()), (2, 1));
    // Members 0 and 1 are full now (nothing was received), member 2 still down.
    let report = group.broadcast(9);
    assert_eq!((report.delivered, report.full(), report.down()), (0, 2, 1));
    let back: Vec<_> = report
        .handed_back
        .into_iter()
        .map(|(_, e)| e.into_inner())
        .collect();
    assert_eq!(back, [9, 9, 9], "every copy handed back");

    let empty = Group::<u32, 1, 4>::new("empty");
    let report = empty.broadcast(1);
    assert_eq!((report.members, report.delivered), (0, 0));
}

#[test]
fn round_robin_spreads_evenly_over_the_members() {
    let rounds: u32 = if cfg!(miri) { 5 } else { 50 };
    let group = Group::<u32, 64, 4>::new("workers");
    let mut ms = members::<64>(4);
    for (_, target, _) in &ms {
        group.join(target.clone()).unwrap();
    }
    for i in 0..4 * rounds {
        group.dispatch(i).unwrap();
        // Drain as we go, so no member is ever full.
        if i % 4 == 3 {
            let firsts: Vec<_> = ms.iter_mut().map(|m| drain(&mut m.2)).collect();
            assert_eq!(firsts, [[i - 3], [i - 2], [i - 1], [i]], "in join order");
        }
    }
}

#[test]
fn round_robin_skips_a_full_member_and_stays_even_over_the_rest() {
    let per_member: usize = if cfg!(miri) { 4 } else { 20 };
    // Mailboxes of capacity 1, drained after each dispatch; member 1 is kept full.
    let group = Group::<u32, 1, 4>::new("workers");
    let mut ms = members::<1>(3);
    for (_, target, _) in &ms {
        group.join(target.clone()).unwrap();
    }
    ms[1].1.try_send(u32::MAX).unwrap();
    let mut got = [0usize; 3];
    for i in 0..(2 * per_member) as u32 {
        group.dispatch(i).unwrap();
        for k in [0, 2] {
            got[k] += drain(&mut ms[k].2).len();
        }
    }
    assert_eq!(
        got,
        [per_member, 0, per_member],
        "even over the members that accept"
    );
    assert_eq!(
        drain(&mut ms[1].2),
        [u32::MAX],
        "the full one got nothing more"
    );

    // Nobody accepts: the message comes back.
    for m in &ms {
        drop(m.0.unbind());
    }
    match group.dispatch(5) {
        Err(e @ GroupSendError::NoneAccepted(_)) => assert_eq!(e.into_inner(), 5),
        other => panic!("{other:?}"),
    }
    assert!(ms.iter_mut().all(|m| drain(&mut m.2).is_empty()));
    let empty = Group::<u32, 1, 4>::new("empty");
    assert!(matches!(
        empty.dispatch(6),
        Err(GroupSendError::NoMembers(6))
    ));
}

#[test]
fn join_leave_and_capacity() {
    let group = Group::<u32, 4, 2>::new("g");
    let ms = members::<4>(3);
    group.join(ms[0].1.clone()).unwrap();
    assert_eq!(group.join(ms[0].1.clone()), Err(GroupError::AlreadyMember));
    group.join(ms[1].1.clone()).unwrap();
    assert_eq!(group.join(ms[2].1.clone()), Err(GroupError::Full));
    assert_eq!((group.len(), group.capacity()), (2, 2));
    assert!(group.leave(&ms[0].1));
    assert!(!group.leave(&ms[0].1), "already gone");
    assert!(!group.contains(&ms[0].1));
    group.join(ms[2].1.clone()).unwrap();
    assert!(group.contains(&ms[2].1));
    assert_eq!(GroupError::Full.to_string(), "group full");
}

/// Leaving does not make the next dispatch skip or repeat a member.
#[test]
fn leaving_keeps_the_round_robin_order() {
    let group = Group::<u32, 8, 4>::new("g");
    let mut ms = members::<8>(3);
    for (_, target, _) in &ms {
        group.join(target.clone()).unwrap();
    }
    group.dispatch(0).unwrap(); // member 0; member 1 is next
    assert!(group.leave(&ms[0].1));
    group.dispatch(1).unwrap(); // member 1
    group.dispatch(2).unwrap(); // member 2
    group.dispatch(3).unwrap(); // member 1 again
    let got: Vec<_> = ms.iter_mut().map(|m| drain(&mut m.2)).collect();
    assert_eq!(got, [vec![0], vec![1, 3], vec![2]]);
}

/// Several threads send through the registry, a group and refs while the target is
/// restarted (with its mailbox kept): every message is received exactly once or handed
/// back, never both, never twice.
#[test]
fn threads_sending_through_names_and_groups_while_the_target_restarts() {
    let per_thread: u32 = if cfg!(miri) { 20 } else { 2_000 };
    let restarts: usize = if cfg!(miri) { 5 } else { 200 };
    static NAMES: Registry<(u8, u32), 16, 4> = Registry::new();
    let group: Arc<Group<(u8, u32), 16, 4>> = Arc::new(Group::new("g"));
    let (address, target) = address::<(u8, u32), 16>();
    NAMES.register("target", target.clone()).unwrap();
    group.join(target.clone()).unwrap();
    let (tx, mut rx) = mailbox::channel::<(u8, u32), 16>();
    let keep: Sender<_, 16> = tx.clone(); // the supervisor's: rx's stream never ends early
    address.bind(tx);

    let senders: Vec<_> = (0..3u8)
        .map(|s| {
            let group = group.clone();
            let target = target.clone();
            std::thread::spawn(move || {
                let mut back = Vec::new();
                for i in 0..per_thread {
                    let outcome = match s {
                        0 => NAMES.send_to("target", (s, i)).map_err(|e| e.into_inner()),
                        1 => group.dispatch((s, i)).map_err(|e| e.into_inner()),
                        _ => target.try_send((s, i)).map_err(|e| e.into_inner()),
                    };
                    if let Err(m) = outcome {
                        back.push(m);
                    }
                    if i % 8 == 0 {
                        std::thread::yield_now();
                    }
                }
                back
            })
        })
        .collect();
    let restarter = {
        let address = address.clone();
        std::thread::spawn(move || {
            for _ in 0..restarts {
                let kept = address.unbind().expect("bound");
                std::thread::yield_now();
                address.bind(kept);
            }
        })
    };
    let mut got = Vec::new();
    let done = || senders.iter().all(|s| s.is_finished()) && restarter.is_finished();
    while !done() {
        got.extend(drain(&mut rx));
        std::thread::yield_now();
    }
    restarter.join().unwrap();
    let back: Vec<_> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    got.extend(drain(&mut rx));
    drop(keep);
    let mut all: Vec<_> = got.into_iter().chain(back).collect();
    all.sort_unstable();
    let expected: Vec<_> = (0..3u8)
        .flat_map(|s| (0..per_thread).map(move |i| (s, i)))
        .collect();
    assert_eq!(all, expected, "each message received or handed back, once");
}
