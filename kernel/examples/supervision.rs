//! A three-level supervision tree on the deterministic test platform: faults are
//! injected, and every start, failure, restart (with its backoff) and stop is printed as
//! it happens, stamped with the virtual clock.
//!
//! `cargo run -p ravelin-kernel --example supervision`
//!
//! ```text
//! root (one-for-one)
//! ├── sensors (one-for-all, exponential backoff)
//! │   ├── thermometer   fails twice, then runs
//! │   └── hygrometer
//! └── pipeline (rest-for-one)
//!     ├── reader
//!     ├── parser        panics once, then runs
//!     └── writer
//! ```

use ravelin_hal::{Clock, Duration, TestPlatform};
use ravelin_kernel::sched::Executor;
use ravelin_kernel::supervisor::{
    Backoff, ChildSpec, Fault, Lifecycle, Strategy, SupervisorSpec, System,
};

static PLATFORM: TestPlatform = TestPlatform::new(1);
static EXECUTOR: Executor = Executor::new(&PLATFORM);

fn print(event: &Lifecycle<'_>) {
    let ms = PLATFORM.now().as_nanos() / 1_000_000;
    let line = match event {
        Lifecycle::Started {
            supervisor,
            child,
            restarts,
        } => format!("{supervisor}: started {child} (restarts: {restarts})"),
        Lifecycle::Exited {
            supervisor,
            child,
            outcome: Err(fault),
            ..
        } => format!("{supervisor}: {child} failed: {fault}"),
        Lifecycle::Exited {
            supervisor, child, ..
        } => format!("{supervisor}: {child} finished"),
        Lifecycle::Restarting {
            supervisor,
            child,
            delay,
            restarts,
        } => format!(
            "{supervisor}: restarting {child} in {} ms (restart #{restarts})",
            delay.as_millis()
        ),
        Lifecycle::Stopped { supervisor, child } => format!("{supervisor}: stopped {child}"),
        Lifecycle::Escalated { supervisor, fault } => {
            format!("{supervisor}: gives up: {fault}")
        }
    };
    println!("[{ms:>5} ms] {line}");
}

/// Runs until asked to stop, ticking every `period`.
fn worker(name: &'static str, period: Duration) -> ChildSpec {
    ChildSpec::new(name, move |ctx| async move {
        let timers = ctx.timers();
        loop {
            let tick = timers.timeout(period, ctx.stopping()).await;
            if tick.is_ok() {
                return Ok::<(), Fault>(()); // asked to stop: finish cleanly
            }
        }
    })
}

fn main() {
    std::panic::set_hook(Box::new(|info| {
        let ms = PLATFORM.now().as_nanos() / 1_000_000;
        println!("[{ms:>5} ms] (panic caught at the poll boundary: {info})");
    }));
    PLATFORM.set_auto_advance(true);

    let thermometer = ChildSpec::new("thermometer", |ctx| async move {
        ctx.timers().sleep(Duration::from_millis(30)).await;
        if ctx.restarts() < 2 {
            return Err("sensor read timed out");
        }
        ctx.stopping().await;
        Ok(())
    });
    let parser = ChildSpec::new("parser", |ctx| async move {
        ctx.timers().sleep(Duration::from_millis(500)).await;
        if ctx.restarts() == 0 {
            panic!("malformed frame");
        }
        ctx.stopping().await;
        Ok::<(), Fault>(())
    });
    let sensors = SupervisorSpec::new("sensors")
        .strategy(Strategy::OneForAll)
        .intensity(5, Duration::from_secs(10))
        .backoff(Backoff::Exponential {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        })
        .child(thermometer)
        .child(worker("hygrometer", Duration::from_millis(200)))
        .on_event(print);
    let pipeline = SupervisorSpec::new("pipeline")
        .strategy(Strategy::RestForOne)
        .child(worker("reader", Duration::from_millis(100)))
        .child(parser)
        .child(worker("writer", Duration::from_millis(100)))
        .on_event(print);
    let root = SupervisorSpec::new("root")
        .supervisor(sensors)
        .supervisor(pipeline)
        .on_event(print);

    let mut system = System::start(EXECUTOR.spawner(), root);
    // Let the tree run for two virtual seconds, then stop it in order.
    let mut ticker = EXECUTOR.spawn(async {
        EXECUTOR.sleep(Duration::from_secs(2)).await;
    });
    EXECUTOR.block_on(&mut ticker).expect("the ticker runs");
    println!("[ 2000 ms] stopping the system");
    system.stop();
    let outcome = EXECUTOR.block_on(system.root_handle());
    println!("system stopped: {outcome:?}");
}
