//! [`TreeView`]: the node supervisor's children as a status screen shows them, kept up
//! to date by the supervisor's lifecycle callback.

use std::sync::{Mutex, PoisonError};

use ravelin_kernel::supervisor::Lifecycle;

/// One child of the node's supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildView {
    /// Its name.
    pub name: String,
    /// Times it was restarted.
    pub restarts: u32,
    /// Whether it runs now.
    pub running: bool,
    /// Its last fault, as text.
    pub last_fault: Option<String>,
}

/// The children in start order, as the callback last saw them.
#[derive(Debug, Default)]
pub struct TreeView {
    children: Mutex<Vec<ChildView>>,
}

impl TreeView {
    /// Records what the supervisor reported.
    pub fn record(&self, event: &Lifecycle<'_>) {
        let mut children = self.children.lock().unwrap_or_else(PoisonError::into_inner);
        let mut child = |name: &str| -> usize {
            match children.iter().position(|c| c.name == name) {
                Some(index) => index,
                None => {
                    children.push(ChildView {
                        name: name.to_owned(),
                        restarts: 0,
                        running: false,
                        last_fault: None,
                    });
                    children.len() - 1
                }
            }
        };
        match event {
            Lifecycle::Started {
                child: name,
                restarts,
                ..
            } => {
                let index = child(name);
                children[index].restarts = *restarts;
                children[index].running = true;
            }
            Lifecycle::Exited {
                child: name,
                outcome,
                ..
            } => {
                let index = child(name);
                children[index].running = false;
                if let Err(fault) = outcome {
                    children[index].last_fault = Some(fault.to_string());
                }
            }
            Lifecycle::Stopped { child: name, .. } => {
                let index = child(name);
                children[index].running = false;
            }
            Lifecycle::Restarting { .. } | Lifecycle::Escalated { .. } => {}
        }
    }

    /// The children now.
    pub fn children(&self) -> Vec<ChildView> {
        self.children
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
