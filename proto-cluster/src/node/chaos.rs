//! Process chaos: a monkey that kills random processes of a node's tree, so that the
//! status screen shows supervision healing it (`ravelin-node --chaos`).
//!
//! A process can be killed only if it was started through [`killable`]: its future
//! races a kill switch, and a thrown switch ends it with [`Killed`], a fault its
//! supervisor handles like any other (restart policy, intensity). The monkey is itself
//! a supervised child that sleeps a random 1-4 s between kills.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::{Poll, Waker};
use core::time::Duration;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ravelin_kernel::supervisor::{ChildContext, ChildSpec};

use crate::discovery::rng::Rng;

/// The fault of a process the monkey killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed;

impl fmt::Display for Killed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("killed by chaos")
    }
}

impl core::error::Error for Killed {}

#[derive(Default)]
struct Switch {
    thrown: bool,
    waker: Option<Waker>,
}

/// The kill switches of one node's killable processes, by name.
#[derive(Default)]
pub struct KillSwitches {
    switches: Mutex<BTreeMap<String, Switch>>,
    kills: AtomicU64,
}

impl fmt::Debug for KillSwitches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KillSwitches")
            .field("kills", &self.kills())
            .finish_non_exhaustive()
    }
}

impl KillSwitches {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Switch>> {
        self.switches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Kills the process named `name` if it is running; returns whether it was.
    pub fn kill(&self, name: &str) -> bool {
        let waker = {
            let mut switches = self.lock();
            match switches.get_mut(name) {
                Some(switch) if !switch.thrown => {
                    switch.thrown = true;
                    switch.waker.take()
                }
                _ => return false,
            }
        };
        self.kills.fetch_add(1, Ordering::Relaxed);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// How many kills so far.
    pub fn kills(&self) -> u64 {
        self.kills.load(Ordering::Relaxed)
    }

    /// The names of the killable processes.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Completes when `name`'s switch is thrown (arming a fresh one first).
    async fn thrown(&self, name: &str) {
        self.lock().insert(name.to_owned(), Switch::default());
        poll_fn(|cx| {
            let mut switches = self.lock();
            let switch = switches.entry(name.to_owned()).or_default();
            if switch.thrown {
                Poll::Ready(())
            } else {
                switch.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// A child named `name` whose future (made by `factory`) the monkey may kill.
pub fn killable<F, Fut, E>(name: &str, switches: &Arc<KillSwitches>, factory: F) -> ChildSpec
where
    F: Fn(ChildContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    let switches = switches.clone();
    let owned = name.to_owned();
    ChildSpec::new(name, move |ctx| {
        let work = factory(ctx);
        let switches = switches.clone();
        let name = owned.clone();
        async move {
            let mut work = pin!(work);
            let mut killed = pin!(switches.thrown(&name));
            poll_fn(|cx| {
                if killed.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(Outcome::Killed));
                }
                work.as_mut()
                    .poll(cx)
                    .map(|done| done.map_err(|e| Outcome::Failed(e.to_string())))
            })
            .await
        }
    })
}

/// How a killable child ended, as its supervisor sees it.
#[derive(Debug)]
enum Outcome {
    Killed,
    Failed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Killed => Killed.fmt(f),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

/// The monkey: a child that kills one random killable process every 1-4 s.
pub fn monkey(switches: &Arc<KillSwitches>, seed: u64) -> ChildSpec {
    let switches = switches.clone();
    ChildSpec::new("chaos-monkey", move |ctx| {
        let switches = switches.clone();
        async move {
            let mut rng = Rng::new(seed);
            loop {
                let pause = Duration::from_millis(1000 + rng.next_u64() % 3000);
                let mut sleep = pin!(ctx.timers().sleep(pause));
                let mut stop = pin!(ctx.stopping());
                let stopped = poll_fn(|cx| {
                    if stop.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(true);
                    }
                    sleep.as_mut().poll(cx).map(|()| false)
                })
                .await;
                if stopped {
                    return Ok::<(), Killed>(());
                }
                let names = switches.names();
                if !names.is_empty() {
                    let victim = &names[(rng.next_u64() % names.len() as u64) as usize];
                    switches.kill(victim);
                }
            }
        }
    })
}
