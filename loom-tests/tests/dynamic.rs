//! loom model of the dynamic supervisor's shutdown handshake: the last child going away
//! races the supervisor that starts draining and looks at the count. Whatever the
//! interleaving, the supervisor learns of the end: it sees the count at zero, or the last
//! child is told to notify it (and not twice).
#![cfg(loom)]

use std::sync::Arc;

use ravelin_kernel::supervisor::dynamic::LiveModel;
use ravelin_loom::model;

#[test]
fn the_last_child_going_away_is_never_missed_by_a_shutdown() {
    model(|| {
        let live = Arc::new(LiveModel::new(2));
        let children: Vec<_> = (0..2)
            .map(|_| {
                let live = live.clone();
                loom::thread::spawn(move || live.gone())
            })
            .collect();
        let seen_zero = live.drain_and_count() == 0;
        let notified = children
            .into_iter()
            .map(|child| child.join().unwrap())
            .filter(|&notify| notify)
            .count();
        assert!(notified <= 1, "at most the last child notifies");
        assert!(
            seen_zero || notified == 1,
            "the supervisor saw zero or was notified"
        );
    });
}
