//! A root that exceeds its restart intensity makes `run` return its fault.

use ravelin_hal::Duration;
use ravelin_kernel::supervisor::{ChildSpec, Fault, SupervisorSpec};
use ravelin_linux::{RunError, Runtime};

#[test]
fn a_root_escalation_is_returned_as_an_error() {
    let runtime = Runtime::builder().workers(2).build().unwrap();
    let spec = SupervisorSpec::new("root")
        .intensity(2, Duration::from_secs(60))
        .child(ChildSpec::new("crasher", |_ctx| async {
            Err::<(), _>("boom")
        }));
    match runtime.run(spec) {
        Err(RunError::Fault(Fault::Escalated { supervisor, last })) => {
            assert_eq!(supervisor, "root");
            assert_eq!(*last, Fault::Error("boom".into()));
        }
        other => panic!("expected an escalation, got {other:?}"),
    }
}
