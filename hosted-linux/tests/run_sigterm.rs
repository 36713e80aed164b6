//! SIGTERM stops a running tree gracefully, children in reverse start order, and `run`
//! returns `Ok`. Alone in its test binary: signals are process-wide.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ravelin_kernel::supervisor::{ChildSpec, Lifecycle, SupervisorSpec};
use ravelin_linux::Runtime;

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
static STARTED: AtomicUsize = AtomicUsize::new(0);

fn log(line: String) {
    LOG.lock().unwrap().push(line);
}

fn child(name: &'static str) -> ChildSpec {
    ChildSpec::new(name, move |ctx| async move {
        log(format!("start {name}"));
        STARTED.fetch_add(1, Ordering::SeqCst);
        ctx.stopping().await;
        log(format!("stop {name}"));
        Ok::<(), &str>(())
    })
}

#[test]
fn sigterm_stops_the_tree_in_order_and_run_returns_ok() {
    let runtime = Runtime::builder().workers(2).build().unwrap();
    let spec = SupervisorSpec::new("root")
        .child(child("first"))
        .child(child("second"))
        .child(child("third"))
        .on_event(|event| match event {
            Lifecycle::Started { child, .. } => log(format!("started {child}")),
            Lifecycle::Stopped { child, .. } => log(format!("stopped {child}")),
            _ => {}
        });
    let killer = std::thread::spawn(|| {
        while STARTED.load(Ordering::SeqCst) < 3 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let pid = libc::pid_t::try_from(std::process::id()).unwrap();
        // SAFETY: kill has no memory-safety preconditions; the runtime's handler is
        // installed (the children run inside `run`), so SIGTERM does not end the test.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0);
    });
    runtime.run(spec).unwrap();
    killer.join().unwrap();
    let log = LOG.lock().unwrap().clone();
    // The supervisor's own events are ordered; each child's "start" line runs on some
    // worker after its "started" event, but every child stopped gracefully (it saw
    // `stopping`, was not cancelled), one after the other in reverse start order.
    let supervisor: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .filter(|line| !line.starts_with("start "))
        .collect();
    assert_eq!(
        supervisor,
        [
            "started first",
            "started second",
            "started third",
            "stop third",
            "stopped third",
            "stop second",
            "stopped second",
            "stop first",
            "stopped first",
        ],
        "whole log: {log:?}"
    );
    assert_eq!(log.iter().filter(|l| l.starts_with("start ")).count(), 3);
}
