//! TCP: [`TcpListener`] accepts, [`TcpStream`] reads and writes.

mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;
