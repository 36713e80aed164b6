//! Remote messages between real nodes on loopback: each node runs its remote layer
//! under a supervisor on its own one-worker runtime, in this process. Fake peers
//! (plain std sockets driven by the test thread) play the misbehaving side. Every wait
//! is bounded.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ravelin_cluster::envelope::{
    ClusterId, Envelope, Generation, Identity, Key, KeyId, KeyRing, NodeId, Rejection,
};
use ravelin_cluster::remote::{
    AskError, DecodeError, Directory, EncodeError, OnRefused, Refusal, RemoteConfig, RemoteMessage,
    RemoteNode, Request, SendError,
};
use ravelin_kernel::mailbox;
use ravelin_kernel::supervisor::{ChildSpec, SupervisorSpec, System};
use ravelin_linux::Runtime;

const CLUSTER: ClusterId = ClusterId(0x7265_6d6f_7465);
const KEY: [u8; 32] = [0x42; 32];
const LIMIT: Duration = Duration::from_secs(20);

/// A number, encoded by hand (8 bytes big-endian), so the tests run with or without
/// the `serde` feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Num(u64);

impl RemoteMessage for Num {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let bytes: [u8; 8] = bytes
            .try_into()
            .map_err(|_| DecodeError(format!("{} bytes, not 8", bytes.len())))?;
        Ok(Num(u64::from_be_bytes(bytes)))
    }
}

/// Raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Blob(Vec<u8>);

impl RemoteMessage for Blob {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Blob(bytes.to_vec()))
    }
}

/// A directory with a fixed map, changed by the test.
#[derive(Default)]
struct Map(Mutex<HashMap<NodeId, (SocketAddr, Generation)>>);

impl Map {
    fn set(&self, node: NodeId, addr: SocketAddr, generation: Generation) {
        self.0.lock().unwrap().insert(node, (addr, generation));
    }
}

impl Directory for Map {
    fn lookup(&self, node: NodeId) -> Option<(SocketAddr, Generation)> {
        self.0.lock().unwrap().get(&node).copied()
    }
}

fn stream_envelope(node: u64, generation: u64, key: [u8; 32]) -> Envelope {
    let identity = Identity {
        node: NodeId(node),
        generation: Generation(generation),
    };
    Envelope::builder(CLUSTER, identity, KeyRing::new(Key::new(KeyId(1), key)))
        .mtu(Envelope::MAX_MTU)
        .build()
}

/// A node: its remote layer running under a supervisor on its own runtime.
struct Node {
    remote: RemoteNode,
    running: Option<(Runtime, System)>,
}

impl Node {
    fn start(id: u64, directory: &Arc<Map>, config: RemoteConfig) -> Self {
        Self::start_with(id, directory, config, None)
    }

    fn start_with(
        id: u64,
        directory: &Arc<Map>,
        config: RemoteConfig,
        hook: Option<Box<OnRefused>>,
    ) -> Self {
        Self::start_generation(id, 1, directory, config, hook)
    }

    fn start_generation(
        id: u64,
        generation: u64,
        directory: &Arc<Map>,
        config: RemoteConfig,
        hook: Option<Box<OnRefused>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let runtime = Runtime::builder().workers(1).pin(false).build().unwrap();
        let envelope = move || stream_envelope(id, generation, KEY);
        let dir: Arc<dyn Directory> = directory.clone();
        let (remote, spec) = RemoteNode::with_hook(
            config,
            envelope,
            dir,
            listener,
            runtime.scheduler().clone(),
            hook,
        )
        .unwrap();
        let root = SupervisorSpec::new("node").child(ChildSpec::supervisor(spec));
        let system = System::start(runtime.scheduler().clone(), root);
        directory.set(NodeId(id), addr, Generation(generation));
        Self {
            remote,
            running: Some((runtime, system)),
        }
    }

    fn runtime(&self) -> &Runtime {
        &self.running.as_ref().unwrap().0
    }

    /// Serves `name` with a process that records every message and answers asks with
    /// the number plus one.
    fn serve_echo(&self, name: &str) -> Arc<Mutex<Vec<(NodeId, u64)>>> {
        let (tx, mut rx) = mailbox::channel::<Request<Num, Num>, 256>();
        self.remote.serve(name, tx).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        drop(self.runtime().scheduler().spawn(async move {
            while let Some(mut request) = rx.recv().await {
                let n = request.message().0;
                log.lock().unwrap().push((request.from(), n));
                if request.is_ask() {
                    let _ = request.reply(Num(n + 1));
                }
            }
        }));
        seen
    }

    /// Runs `f` on this node's runtime, bounded by [`LIMIT`].
    fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
        let scheduler = self.runtime().scheduler().clone();
        self.runtime()
            .block_on(async move { scheduler.timeout(LIMIT, f).await })
            .unwrap()
            .expect("bounded wait")
    }

    fn stop(&mut self) {
        if let Some((runtime, mut system)) = self.running.take() {
            system.stop();
            let stopped = runtime.block_on(async move { system.wait().await });
            assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
            runtime.shutdown().unwrap();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some((runtime, system)) = self.running.take() {
            system.kill();
            drop(system);
            let _ = runtime.shutdown();
        }
    }
}

/// Polls `check` every 5 ms until it holds or [`LIMIT`] passes.
fn within(mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < LIMIT {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn config() -> RemoteConfig {
    RemoteConfig {
        connect_timeout: Duration::from_secs(5),
        ..RemoteConfig::default()
    }
}

#[test]
fn a_remote_tell_reaches_a_named_process_in_order() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let mut b = Node::start(2, &directory, config());
    let seen = b.serve_echo("sink");
    let sink = a.remote.remote_ref::<Num, Num>(NodeId(2), "sink").unwrap();
    for i in 0..200 {
        sink.tell(Num(i)).unwrap();
    }
    assert!(
        within(|| seen.lock().unwrap().len() == 200),
        "all delivered"
    );
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<_> = (0..200).map(|i| (NodeId(1), i)).collect();
    assert_eq!(seen, expected, "in the order sent, from node 1");
    let stats = a.remote.stats();
    assert_eq!(stats.tells_sent, 200);
    assert_eq!(stats.connects, 1, "one connection per peer");
    assert_eq!(stats.lost, 0);
    assert_eq!(b.remote.stats().delivered, 200);
    a.stop();
    // No writer runs any more: the message is handed back, not queued for ever.
    assert!(matches!(sink.tell(Num(7)), Err(SendError::Stopped(Num(7)))));
    b.stop();
}

#[test]
fn ask_gets_the_reply_and_times_out_when_nobody_answers() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let mut b = Node::start(2, &directory, config());
    b.serve_echo("echo");
    // "silent" keeps its requests and never answers.
    let (tx, mut rx) = mailbox::channel::<Request<Num, Num>, 8>();
    b.remote.serve("silent", tx).unwrap();
    drop(b.runtime().scheduler().spawn(async move {
        let mut kept = Vec::new();
        while let Some(request) = rx.recv().await {
            kept.push(request);
        }
    }));
    let echo = a.remote.remote_ref::<Num, Num>(NodeId(2), "echo").unwrap();
    let silent = a
        .remote
        .remote_ref::<Num, Num>(NodeId(2), "silent")
        .unwrap();
    let (answer, timed_out) = a.run(async move {
        let answer = echo.ask(Num(41), Duration::from_secs(10)).await;
        let started = Instant::now();
        let timed_out = silent.ask(Num(1), Duration::from_millis(200)).await;
        (answer, (timed_out, started.elapsed()))
    });
    assert_eq!(answer.unwrap(), Num(42));
    let (timed_out, took) = timed_out;
    assert!(matches!(timed_out, Err(AskError::Timeout)), "{timed_out:?}");
    assert!(took >= Duration::from_millis(190) && took < Duration::from_secs(5));
    assert_eq!(
        a.remote.pending_asks(),
        0,
        "a timed out ask leaves no entry"
    );
    assert_eq!(a.remote.stats().ask_timeouts, 1);
    a.stop();
    b.stop();
}

#[test]
fn an_unknown_name_is_refused_back_to_the_sender() {
    let directory = Arc::new(Map::default());
    let refused = Arc::new(Mutex::new(Vec::new()));
    let hook = refused.clone();
    let hook: Box<OnRefused> = Box::new(move |node, name: &str, reason| {
        hook.lock().unwrap().push((node, name.to_owned(), reason));
    });
    let mut a = Node::start_with(1, &directory, config(), Some(hook));
    let mut b = Node::start(2, &directory, config());
    let nobody = a
        .remote
        .remote_ref::<Num, Num>(NodeId(2), "nobody")
        .unwrap();
    let asker = nobody.clone();
    let answer = a.run(async move { asker.ask(Num(1), Duration::from_secs(10)).await });
    assert!(
        matches!(answer, Err(AskError::Refused(Refusal::UnknownName))),
        "{answer:?}"
    );
    nobody.tell(Num(2)).unwrap();
    assert!(within(|| {
        a.remote
            .peer_stats(NodeId(2))
            .is_some_and(|s| s.refused_unknown_name == 1)
    }));
    assert_eq!(
        refused.lock().unwrap().clone(),
        [(NodeId(2), "nobody".to_owned(), Refusal::UnknownName)]
    );
    assert_eq!(b.remote.stats().refusals_sent, 2);
    // A message that does not decode as the endpoint's type is refused as such.
    b.serve_echo("echo");
    let wrong = a.remote.remote_ref::<Blob, Num>(NodeId(2), "echo").unwrap();
    let asked = a.run(async move {
        wrong
            .ask(Blob(vec![1, 2, 3]), Duration::from_secs(10))
            .await
    });
    assert!(
        matches!(asked, Err(AskError::Refused(Refusal::Undecodable))),
        "{asked:?}"
    );
    assert_eq!(b.remote.stats().undecodable, 1);
    a.stop();
    b.stop();
}

#[test]
fn a_send_to_an_unknown_node_is_refused_at_once() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let stranger = a.remote.remote_ref::<Num, Num>(NodeId(99), "x").unwrap();
    match stranger.tell(Num(5)) {
        Err(SendError::UnknownNode(NodeId(99), Num(5))) => {}
        other => panic!("{other:?}"),
    }
    let asker = stranger.clone();
    let asked = a.run(async move { asker.ask(Num(6), Duration::from_secs(10)).await });
    match asked {
        Err(AskError::Send(SendError::UnknownNode(NodeId(99), Num(6)))) => {}
        other => panic!("{other:?}"),
    }
    assert!(a.remote.peer_stats(NodeId(99)).is_none(), "no peer made");
    assert_eq!(a.remote.pending_asks(), 0);
    a.stop();
}

#[test]
fn a_full_outbound_queue_hands_the_message_back() {
    let directory = Arc::new(Map::default());
    let config = RemoteConfig {
        queue_capacity: 4,
        connect_timeout: Duration::from_millis(500),
        ..RemoteConfig::default()
    };
    let mut a = Node::start(1, &directory, config);
    // A peer whose kernel accepts the connection but who never says hello: the writer
    // is stuck connecting while the queue fills.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    directory.set(NodeId(3), mute.local_addr().unwrap(), Generation(1));
    let peer = a.remote.remote_ref::<Num, Num>(NodeId(3), "x").unwrap();
    let mut queued = 0;
    let handed_back = loop {
        assert!(queued < 100, "the queue never filled");
        match peer.tell(Num(queued)) {
            Ok(()) => queued += 1,
            Err(SendError::Full(message)) => break message,
            Err(other) => panic!("{other:?}"),
        }
    };
    assert_eq!(
        handed_back,
        Num(queued),
        "the refused message itself comes back"
    );
    assert!(
        (4..=5).contains(&queued),
        "capacity 4 (+1 taken by the writer): {queued}"
    );
    // The hello never comes: every queued message is reported lost, none sent.
    assert!(within(|| a.remote.stats().lost == queued));
    let stats = a.remote.stats();
    assert_eq!(stats.connect_failures, 1);
    assert_eq!(stats.frames_written, 0);
    assert_eq!(a.remote.peer_stats(NodeId(3)).unwrap().lost, queued);
    // Room again: the next send is queued (and reconnects).
    peer.tell(Num(1000)).unwrap();
    a.stop();
}

#[test]
fn an_oversized_message_is_refused_with_a_clear_error() {
    let directory = Arc::new(Map::default());
    let config = RemoteConfig {
        max_message: 1000,
        ..config()
    };
    let mut a = Node::start(1, &directory, config);
    let mut b = Node::start(2, &directory, RemoteConfig::default());
    assert_eq!(a.remote.max_message(), 1000);
    assert!(b.remote.max_message() <= Envelope::MAX_MTU - Envelope::MIN_MTU);
    let (tx, mut rx) = mailbox::channel::<Request<Blob, ()>, 8>();
    b.remote.serve("blobs", tx).unwrap();
    let blobs = a.remote.remote_ref::<Blob, ()>(NodeId(2), "blobs").unwrap();
    let big = Blob(vec![7; 1001]);
    let error = blobs.tell(big.clone()).unwrap_err();
    assert!(error.to_string().contains("1001 bytes"), "{error}");
    match error {
        SendError::TooLarge { message, len, max } => {
            assert_eq!((message, len, max), (big, 1001, 1000));
        }
        other => panic!("{other:?}"),
    }
    blobs.tell(Blob(vec![8; 1000])).unwrap();
    assert!(within(|| rx
        .try_recv()
        .is_ok_and(|r| r.message().0.len() == 1000)));
    let asker = blobs.clone();
    let asked = a.run(async move { asker.ask(Blob(vec![0; 5000]), Duration::from_secs(5)).await });
    assert!(matches!(
        asked,
        Err(AskError::Send(SendError::TooLarge { len: 5000, .. }))
    ));
    a.stop();
    b.stop();
}

/// One frame as it travels: length, then the sealed envelope.
fn frame(envelope: &Envelope, payload: &[u8]) -> Vec<u8> {
    let mut sealed = vec![0; envelope.mtu()];
    let len = envelope.seal(payload, &mut sealed).unwrap();
    sealed.truncate(len);
    let mut out = u32::try_from(len).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(&sealed);
    out
}

/// Reads one frame's sealed envelope.
fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut prefix = [0; 4];
    stream.read_exact(&mut prefix)?;
    let mut body = vec![0; u32::from_be_bytes(prefix) as usize];
    stream.read_exact(&mut body)?;
    Ok(body)
}

fn hello(node: u64, generation: u64) -> Vec<u8> {
    let mut out = vec![0x80];
    out.extend_from_slice(&node.to_be_bytes());
    out.extend_from_slice(&generation.to_be_bytes());
    out
}

fn tell(name: &str, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x81, name.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(body);
    out
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
}

/// Whether the other side closes `stream` (reading past whatever it sent first).
fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buf = [0; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

#[test]
fn garbage_forged_and_replayed_streams_are_rejected_and_the_node_keeps_working() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let mut b = Node::start(2, &directory, config());
    let seen = b.serve_echo("sink");
    let addr = b.remote.local_addr();
    let rejections = || b.remote.envelope().rejections().snapshot();

    // Not our protocol at all: "GET " claims a frame of a gigabyte.
    let mut garbage = connect(addr);
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(closed_by_peer(&mut garbage));
    let mut huge = connect(addr);
    huge.write_all(&[0xff; 8]).unwrap();
    assert!(closed_by_peer(&mut huge));

    // A hello sealed with another secret under the same key id.
    let forger = stream_envelope(6, 1, [0x13; 32]);
    let mut forged = connect(addr);
    forged.write_all(&frame(&forger, &hello(6, 1))).unwrap();
    assert!(closed_by_peer(&mut forged));
    assert_eq!(rejections().get(Rejection::BadTag), 1);

    // A key holder: its hello is answered and its tell delivered.
    let member = stream_envelope(5, 1, KEY);
    let mut captured = frame(&member, &hello(5, 1));
    captured.extend(frame(&member, &tell("sink", &77u64.to_be_bytes())));
    let mut honest = connect(addr);
    honest.write_all(&captured).unwrap();
    let mut answer = read_frame(&mut honest).unwrap();
    let opened = member.open(&mut answer).unwrap();
    assert_eq!(
        (opened.sender, opened.payload),
        (NodeId(2), &hello(2, 1)[..])
    );
    assert!(within(|| seen.lock().unwrap().contains(&(NodeId(5), 77))));

    // The same bytes replayed on a new connection: the hello is refused.
    let mut replayed = connect(addr);
    replayed.write_all(&captured).unwrap();
    assert!(closed_by_peer(&mut replayed));
    assert_eq!(rejections().get(Rejection::Replayed), 1);

    // A UDP payload kind spliced into a stream after a good hello.
    let mut spliced = connect(addr);
    spliced.write_all(&frame(&member, &hello(5, 1))).unwrap();
    spliced
        .write_all(&frame(&member, &[0x01, 0, 0, 0]))
        .unwrap();
    assert!(closed_by_peer(&mut spliced));
    assert_eq!(rejections().get(Rejection::Undecodable), 1);

    assert!(within(|| b.remote.stats().rejected == 5));
    assert!(within(|| b.remote.open_connections() <= 1));
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "only the honest tell was delivered"
    );
    // The node keeps working.
    let sink = a.remote.remote_ref::<Num, Num>(NodeId(2), "sink").unwrap();
    sink.tell(Num(1)).unwrap();
    assert!(within(|| seen.lock().unwrap().contains(&(NodeId(1), 1))));
    drop(honest);
    a.stop();
    b.stop();
}

#[test]
fn answers_nobody_waits_for_are_dropped_and_counted() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let member = stream_envelope(5, 1, KEY);
    let mut stream = connect(a.remote.local_addr());
    stream.write_all(&frame(&member, &hello(5, 1))).unwrap();
    read_frame(&mut stream).unwrap(); // A's answer.
    let mut reply = vec![0x83];
    reply.extend_from_slice(&12345u64.to_be_bytes());
    reply.extend_from_slice(&[1, 2, 3]);
    stream.write_all(&frame(&member, &reply)).unwrap();
    let mut refusal = vec![0x84];
    refusal.extend_from_slice(&777u64.to_be_bytes());
    refusal.extend_from_slice(&[1, 0]); // unknown name, no name
    stream.write_all(&frame(&member, &refusal)).unwrap();
    assert!(within(|| a.remote.stats().replies_unmatched == 2));
    // Not junk: the connection stays open.
    assert_eq!(a.remote.stats().rejected, 0);
    assert_eq!(a.remote.open_connections(), 1);
    drop(stream);
    a.stop();
}

#[test]
fn a_killed_connection_fails_pending_asks_and_the_next_send_reconnects() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    // A fake node 7 played by this thread.
    let fake = TcpListener::bind("127.0.0.1:0").unwrap();
    fake.set_nonblocking(true).unwrap();
    directory.set(NodeId(7), fake.local_addr().unwrap(), Generation(1));
    let seven = stream_envelope(7, 1, KEY);
    let accept = || {
        let mut accepted = None;
        assert!(within(|| {
            accepted = fake.accept().ok();
            accepted.is_some()
        }));
        let (stream, _) = accepted.unwrap();
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        stream
    };

    let peer = a.remote.remote_ref::<Num, Num>(NodeId(7), "x").unwrap();
    let asker = peer.clone();
    let asked = a.runtime().scheduler().spawn(async move {
        let started = Instant::now();
        (
            asker.ask(Num(1), Duration::from_secs(15)).await,
            started.elapsed(),
        )
    });
    let mut stream = accept();
    let mut first = read_frame(&mut stream).unwrap();
    let opened = seven.open(&mut first).unwrap();
    assert_eq!(opened.payload, &hello(1, 1)[..]);
    let first_answer = frame(&seven, &hello(7, 1));
    stream.write_all(&first_answer).unwrap();
    let mut ask = read_frame(&mut stream).unwrap();
    assert_eq!(seven.open(&mut ask).unwrap().payload[0], 0x82, "an ask");
    drop(stream); // Killed before answering.

    let (answer, took) = a.run(async move { asked.await.unwrap() });
    assert!(
        matches!(answer, Err(AskError::ConnectionLost)),
        "{answer:?}"
    );
    assert!(took < Duration::from_secs(10), "failed, not hung: {took:?}");
    assert_eq!(a.remote.pending_asks(), 0);
    assert!(within(|| a.remote.stats().disconnects == 1));

    // The next send reconnects. An answer replayed from the first connection is
    // refused: the connect fails and the message is reported lost.
    peer.tell(Num(3)).unwrap();
    let mut replaying = accept();
    read_frame(&mut replaying).unwrap();
    replaying.write_all(&first_answer).unwrap();
    assert!(closed_by_peer(&mut replaying));
    assert!(within(|| a.remote.stats().connect_failures == 1));
    assert_eq!(
        a.remote
            .answer_envelope()
            .rejections()
            .get(Rejection::Replayed),
        1
    );
    assert_eq!(a.remote.peer_stats(NodeId(7)).unwrap().lost, 1);

    // Then a fresh hello answered: connected again.
    peer.tell(Num(2)).unwrap();
    let mut again = accept();
    let mut hello_again = read_frame(&mut again).unwrap();
    assert_eq!(
        seven.open(&mut hello_again).unwrap().payload,
        &hello(1, 1)[..]
    );
    again.write_all(&frame(&seven, &hello(7, 1))).unwrap();
    let mut told = read_frame(&mut again).unwrap();
    let told = seven.open(&mut told).unwrap();
    assert_eq!(told.payload, &tell("x", &2u64.to_be_bytes())[..]);
    assert_eq!(a.remote.stats().connects, 2);
    a.stop();
}

#[test]
fn a_restarted_peer_is_reached_in_its_new_generation() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let mut b = Node::start(2, &directory, config());
    let old = b.serve_echo("sink");
    let sink = a.remote.remote_ref::<Num, Num>(NodeId(2), "sink").unwrap();
    sink.tell(Num(1)).unwrap();
    assert!(within(|| old.lock().unwrap().len() == 1));
    b.stop();
    // The old run's end closes the connection; the writer notices.
    assert!(within(|| a.remote.stats().disconnects == 1));
    let mut b2 = Node::start_generation(2, 2, &directory, config(), None);
    let new = b2.serve_echo("sink");
    sink.tell(Num(2)).unwrap();
    assert!(within(|| new.lock().unwrap().clone() == [(NodeId(1), 2)]));
    assert_eq!(a.remote.stats().connects, 2);
    assert_eq!(a.remote.stats().lost, 0);
    a.stop();
    b2.stop();
}

#[test]
fn a_newer_generation_in_the_directory_replaces_the_old_connection() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let accept_on = |listener: &TcpListener| {
        listener.set_nonblocking(true).unwrap();
        let mut accepted = None;
        assert!(within(|| {
            accepted = listener.accept().ok();
            accepted.is_some()
        }));
        let (stream, _) = accepted.unwrap();
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        stream
    };
    // Generation 1 of node 7 answers the hello and stays connected.
    let old_run = TcpListener::bind("127.0.0.1:0").unwrap();
    directory.set(NodeId(7), old_run.local_addr().unwrap(), Generation(1));
    let old_env = stream_envelope(7, 1, KEY);
    let peer = a.remote.remote_ref::<Num, Num>(NodeId(7), "x").unwrap();
    peer.tell(Num(1)).unwrap();
    let mut old = accept_on(&old_run);
    read_frame(&mut old).unwrap();
    old.write_all(&frame(&old_env, &hello(7, 1))).unwrap();
    let mut first = read_frame(&mut old).unwrap();
    assert_eq!(
        old_env.open(&mut first).unwrap().payload,
        &tell("x", &1u64.to_be_bytes())[..]
    );
    // Membership now knows generation 2 elsewhere: the next tell goes there.
    let new_run = TcpListener::bind("127.0.0.1:0").unwrap();
    directory.set(NodeId(7), new_run.local_addr().unwrap(), Generation(2));
    let new_env = stream_envelope(7, 2, KEY);
    peer.tell(Num(2)).unwrap();
    let mut new = accept_on(&new_run);
    read_frame(&mut new).unwrap();
    new.write_all(&frame(&new_env, &hello(7, 2))).unwrap();
    let mut second = read_frame(&mut new).unwrap();
    assert_eq!(
        new_env.open(&mut second).unwrap().payload,
        &tell("x", &2u64.to_be_bytes())[..]
    );
    assert!(closed_by_peer(&mut old), "the old connection is closed");
    assert_eq!(a.remote.stats().lost, 0);
    a.stop();
}

#[test]
fn a_served_address_is_reachable_across_its_process_restarts() {
    let directory = Arc::new(Map::default());
    let mut a = Node::start(1, &directory, config());
    let mut b = Node::start(2, &directory, config());
    let address = Arc::new(mailbox::Address::<Request<Num, Num>, 8>::new());
    b.remote
        .serve_ref("named", mailbox::Ref::from_shared(address.clone()))
        .unwrap();
    let named = a.remote.remote_ref::<Num, Num>(NodeId(2), "named").unwrap();
    let ask = |n| {
        let named = named.clone();
        a.run(async move { named.ask(Num(n), Duration::from_secs(10)).await })
    };
    // Not started yet: refused as down, not lost.
    assert!(matches!(ask(1), Err(AskError::Refused(Refusal::Down))));
    // Two incarnations in turn behind the same address.
    for incarnation in 0..2u64 {
        let (tx, mut rx) = mailbox::channel::<Request<Num, Num>, 8>();
        address.bind(tx);
        drop(b.runtime().scheduler().spawn(async move {
            while let Some(mut request) = rx.recv().await {
                let n = request.message().0;
                let _ = request.reply(Num(n * 10 + incarnation));
            }
        }));
        assert_eq!(ask(4).unwrap(), Num(40 + incarnation));
        drop(address.unbind());
    }
    a.stop();
    b.stop();
}

#[test]
fn three_nodes_ask_each_other_concurrently() {
    let directory = Arc::new(Map::default());
    let mut nodes: Vec<Node> = (1..=3)
        .map(|id| Node::start(id, &directory, config()))
        .collect();
    for node in &nodes {
        node.serve_echo("echo");
    }
    // Every node asks both others 50 times at once, from one proc per ask.
    let mut asks = Vec::new();
    for (i, from) in nodes.iter().enumerate() {
        for to in (1..=3u64).filter(|&to| to != i as u64 + 1) {
            for k in 0..50u64 {
                let echo = from
                    .remote
                    .remote_ref::<Num, Num>(NodeId(to), "echo")
                    .unwrap();
                let n = to * 1000 + k;
                let handle = from
                    .runtime()
                    .scheduler()
                    .spawn(async move { echo.ask(Num(n), Duration::from_secs(15)).await });
                asks.push((i, n, handle));
            }
        }
    }
    for (i, n, handle) in asks {
        let answer = nodes[i].run(async move { handle.await.unwrap() });
        assert_eq!(answer.unwrap(), Num(n + 1));
    }
    for node in &nodes {
        let stats = node.remote.stats();
        assert_eq!(stats.replies_matched, 100);
        assert_eq!(stats.connects, 2, "one outbound connection per peer");
        assert_eq!((stats.lost, stats.rejected), (0, 0));
        assert_eq!(node.remote.pending_asks(), 0);
    }
    for node in &mut nodes {
        node.stop();
    }
}

#[test]
fn inbound_connections_past_the_limit_are_closed() {
    let directory = Arc::new(Map::default());
    let config = RemoteConfig {
        max_connections: 1,
        ..config()
    };
    let mut b = Node::start(2, &directory, config);
    let mut first = connect(b.remote.local_addr());
    assert!(within(|| b.remote.open_connections() == 1));
    let mut second = connect(b.remote.local_addr());
    assert!(closed_by_peer(&mut second));
    assert_eq!(b.remote.stats().over_limit, 1);
    // Closing the first frees its place (it never said hello: not counted as junk
    // either, since it sent nothing).
    first.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(closed_by_peer(&mut first));
    assert!(within(|| b.remote.open_connections() == 0));
    b.stop();
}

#[cfg(feature = "serde")]
mod serde_messages {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
    struct Greeting {
        name: String,
        times: u32,
    }

    #[test]
    fn serde_types_travel_with_postcard() {
        let directory = Arc::new(Map::default());
        let mut a = Node::start(1, &directory, config());
        let mut b = Node::start(2, &directory, config());
        let (tx, mut rx) = mailbox::channel::<Request<Greeting, String>, 8>();
        b.remote.serve("greeter", tx).unwrap();
        drop(b.runtime().scheduler().spawn(async move {
            while let Some(mut request) = rx.recv().await {
                let g = request.message().clone();
                let _ = request.reply(g.name.repeat(g.times as usize));
            }
        }));
        let greeter = a
            .remote
            .remote_ref::<Greeting, String>(NodeId(2), "greeter")
            .unwrap();
        let answer = a.run(async move {
            let hi = Greeting {
                name: "hi".into(),
                times: 3,
            };
            greeter.ask(hi, Duration::from_secs(10)).await
        });
        assert_eq!(answer.unwrap(), "hihihi");
        // A message of the wrong type is refused as undecodable.
        let wrong = a
            .remote
            .remote_ref::<Vec<u64>, String>(NodeId(2), "greeter")
            .unwrap();
        let asked =
            a.run(async move { wrong.ask(vec![u64::MAX; 3], Duration::from_secs(10)).await });
        assert!(
            matches!(asked, Err(AskError::Refused(Refusal::Undecodable))),
            "{asked:?}"
        );
        assert_eq!(b.remote.stats().undecodable, 1);
        a.stop();
        b.stop();
    }
}
