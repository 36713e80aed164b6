//! # ravelin-cluster
//!
//! Cluster support for Ravelin nodes: authenticated UDP multicast discovery, SWIM
//! membership (foca), remote messages over TCP, and the `ravelin-node` program. See
//! `DESIGN.md` ("proto-cluster") for the contract; this crate grows with the cluster
//! issues.

pub mod discovery;
pub mod envelope;
pub mod membership;
pub mod node;
pub mod remote;
mod stop;
pub mod wake_queue;
