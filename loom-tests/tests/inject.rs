//! loom model of the global injection queue: concurrent pushes, pops and close. Every
//! proc pushed is either popped exactly once or handed back by a closed queue, and
//! every proc is freed.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use ravelin_kernel::__loom::inject::Inject;
use ravelin_kernel::lightproc::{ProcId, Runnable, spawn};

/// Counts its drops: one per freed proc (each proc owns one).
struct Freed(Arc<AtomicUsize>);

impl Drop for Freed {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn proc(freed: &Arc<AtomicUsize>) -> (Runnable, ProcId) {
    let token = Freed(freed.clone());
    let (runnable, handle) = spawn(
        async move {
            let _token = token;
        },
        |r: Runnable| drop(r),
    );
    let id = handle.id();
    handle.detach();
    (runnable, id)
}

#[test]
fn pushes_pops_and_close_lose_and_duplicate_nothing() {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(|| {
        let queue = Arc::new(Inject::new());
        let freed = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..2)
            .map(|_| {
                let (queue, freed) = (queue.clone(), freed.clone());
                loom::thread::spawn(move || {
                    let (runnable, id) = proc(&freed);
                    match queue.push(runnable) {
                        Ok(()) => (id, false),
                        Err(handed_back) => {
                            assert_eq!(handed_back.id(), id);
                            handed_back.run();
                            (id, true)
                        }
                    }
                })
            })
            .collect();
        let consumer = {
            let queue = queue.clone();
            loom::thread::spawn(move || {
                let mut seen = Vec::new();
                if let Some(runnable) = queue.pop() {
                    seen.push(runnable.id());
                    runnable.run();
                }
                queue.close();
                seen
            })
        };
        let pushed: Vec<(ProcId, bool)> =
            producers.into_iter().map(|p| p.join().unwrap()).collect();
        let mut seen = consumer.join().unwrap();
        // The queue is closed now: drain what is left.
        while let Some(runnable) = queue.pop() {
            seen.push(runnable.id());
            runnable.run();
        }
        for (id, handed_back) in &pushed {
            let times = seen.iter().filter(|s| *s == id).count();
            assert_eq!(times, usize::from(!handed_back), "proc {id:?}");
        }
        assert_eq!(seen.len() + pushed.iter().filter(|p| p.1).count(), 2);
        assert!(queue.is_empty());
        assert_eq!(freed.load(SeqCst), 2, "every proc was freed");
    });
}
