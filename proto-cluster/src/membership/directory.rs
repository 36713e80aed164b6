//! [`Directory`]: how other layers (remote messages) ask where a node is.

/// Where to reach a node, as membership knows it.
pub trait Directory: Send + Sync + 'static {
    /// The address and generation of `node` while it is an active member, else None.
    fn lookup(
        &self,
        node: crate::envelope::NodeId,
    ) -> Option<(std::net::SocketAddr, crate::envelope::Generation)>;
}
