//! [`Directory`]: where remote messages learn a node's address. It is membership's
//! (`crate::membership::Directory`): a node's TCP listener uses the same IP and port
//! number as its UDP membership address (as memberlist does), so the membership
//! address is the stream address too. Tests implement it with a fixed map.

pub use crate::membership::Directory;
