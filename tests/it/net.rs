//! Network parts for tests and benchmarks: a real MQTT broker (rumqttd embedded in this
//! process by default; mosquitto when `FLASHPICK_TEST_BROKER=mosquitto`, as CI runs it — and
//! then a broker that does not start fails), and a TCP fault proxy to put between the daemon
//! and the broker or the platform simulator (latency, black holes, cuts, resets, slow closes).
//! Self-contained, so benches include it by path.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// A broker on a free loopback port.
pub struct Broker {
    pub port: u16,
    mosquitto: Option<(std::process::Child, tempfile::TempDir)>,
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts on `port` (a broker thread or process starting).
fn wait_listening(port: u16, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not start listening on port {port}"
        );
        std::thread::yield_now();
    }
}

impl Broker {
    /// Starts the broker this run uses.
    pub fn start() -> Broker {
        if std::env::var("FLASHPICK_TEST_BROKER").as_deref() == Ok("mosquitto") {
            Self::mosquitto()
        } else {
            Self::embedded()
        }
    }

    /// Whether this is a process that can really be stopped and started again.
    pub fn restartable(&self) -> bool {
        self.mosquitto.is_some()
    }

    fn embedded() -> Broker {
        use rumqttd::{Config, ConnectionSettings, RouterConfig, ServerSettings};
        let port = free_port();
        let listen: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let server = ServerSettings {
            name: "v4".into(),
            listen,
            tls: None,
            next_connection_delay_ms: 1,
            connections: ConnectionSettings {
                connection_timeout_ms: 60_000,
                max_payload_size: 8 << 20,
                max_inflight_count: 500,
                auth: None,
                external_auth: None,
                dynamic_filters: true,
            },
        };
        let config = Config {
            id: 0,
            router: RouterConfig {
                max_connections: 1000,
                max_outgoing_packet_count: 2000,
                max_segment_size: 100 << 20,
                max_segment_count: 10,
                custom_segment: None,
                initialized_filters: None,
                shared_subscriptions_strategy: Default::default(),
            },
            v4: Some([("v4".to_string(), server)].into_iter().collect()),
            v5: None,
            ws: None,
            cluster: None,
            console: None,
            bridge: None,
            prometheus: None,
            metrics: None,
        };
        // rumqttd cannot be stopped; the thread ends with the test binary.
        std::thread::spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            broker.start().expect("rumqttd runs");
        });
        wait_listening(port, "rumqttd");
        Broker {
            port,
            mosquitto: None,
        }
    }

    fn mosquitto() -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_queued_messages 100000\nmessage_size_limit 0\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let mut b = Broker {
            port,
            mosquitto: Some((spawn_mosquitto(&conf), dir)),
        };
        b.check_alive();
        b
    }

    fn check_alive(&mut self) {
        let (child, _) = self.mosquitto.as_mut().expect("mosquitto");
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "mosquitto exited at start ({status}); is it installed? (apt-get install mosquitto)"
            );
        }
        wait_listening(self.port, "mosquitto");
    }

    /// Stops the broker process (SIGTERM: it saves its sessions) — mosquitto only.
    pub fn stop(&mut self) {
        let (child, _) = self.mosquitto.as_mut().expect("only mosquitto stops");
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }

    /// Starts it again on the same port with the same sessions.
    pub fn start_again(&mut self) {
        let (child, dir) = self.mosquitto.as_mut().expect("only mosquitto restarts");
        *child = spawn_mosquitto(&dir.path().join("mosquitto.conf"));
        self.check_alive();
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

fn spawn_mosquitto(conf: &std::path::Path) -> std::process::Child {
    std::process::Command::new("mosquitto")
        .arg("-c")
        .arg(conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mosquitto must be installed when FLASHPICK_TEST_BROKER=mosquitto (apt-get install mosquitto)")
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some((child, _)) = self.mosquitto.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How the proxy treats the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Bytes flow (after the latency each way).
    Pass,
    /// The far side is gone: new connections are closed at once.
    Down,
    /// A black hole: nothing gets through either way and new connections hang, as when
    /// packets are dropped on the route. Held bytes arrive if the line comes back before an
    /// end gives up; a connection either side has closed meanwhile stays closed.
    Stall,
}

/// How the proxy ends the connections open at a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A clean close (FIN) both ways.
    Close,
    /// A reset (RST) both ways.
    Reset,
    /// Silence first, then a clean close this much later.
    SlowClose(Duration),
}

struct Control {
    line: tokio::sync::watch::Sender<Line>,
    latency_ms: AtomicU64,
    /// (cuts so far, the kind of the last): connections from before a cut end its way.
    cuts: tokio::sync::watch::Sender<(u64, Cut)>,
}

/// A TCP fault proxy in front of a server: latency, black holes, cuts, resets, slow closes.
pub struct Proxy {
    pub port: u16,
    ctl: Arc<Control>,
}

impl Proxy {
    /// Proxies 127.0.0.1:`port` → 127.0.0.1:`upstream`, each direction delayed by `latency`.
    pub async fn start(upstream: u16, latency: Duration) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let ctl = Arc::new(Control {
            line: tokio::sync::watch::Sender::new(Line::Pass),
            latency_ms: AtomicU64::new(latency.as_millis() as u64),
            cuts: tokio::sync::watch::Sender::new((0, Cut::Close)),
        });
        let c = ctl.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if *c.line.borrow() == Line::Down {
                    // Nobody there: reset at once, as a closed port answers.
                    let _ = client.set_zero_linger();
                    drop(client);
                    continue;
                }
                // Born now: a cut from here on ends it, even before it reaches the server.
                let born = c.cuts.borrow().0;
                tokio::spawn(connect(client, upstream, c.clone(), born));
            }
        });
        Proxy { port, ctl }
    }

    /// The far side goes away: open connections are closed and new ones refused until `up`.
    pub fn down(&self) {
        self.ctl.line.send_replace(Line::Down);
        self.cut(Cut::Close);
    }

    /// Lets bytes and connections through again (after a `down` or a `stall`).
    pub fn up(&self) {
        self.ctl.line.send_replace(Line::Pass);
    }

    /// A black hole until `up`: bytes and new connections are held, not refused.
    pub fn stall(&self) {
        self.ctl.line.send_replace(Line::Stall);
    }

    /// Ends every open connection the given way; new ones are let through as the line allows.
    pub fn cut(&self, how: Cut) {
        self.ctl.cuts.send_modify(|(n, kind)| {
            *n += 1;
            *kind = how;
        });
    }

    /// Sets the delay each way, for bytes read from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.ctl
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`, to put in place of the server's address.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Waits while the line is stalled; false when it went down meanwhile.
async fn through(line: &mut tokio::sync::watch::Receiver<Line>) -> bool {
    loop {
        match *line.borrow_and_update() {
            Line::Pass => return true,
            Line::Down => return false,
            Line::Stall => {}
        }
        if line.changed().await.is_err() {
            return false;
        }
    }
}

/// One client connection: held while the line is stalled (its SYN lost), then joined to the
/// server; each direction is piped until it ends or a cut ends both.
async fn connect(client: tokio::net::TcpStream, upstream: u16, ctl: Arc<Control>, born: u64) {
    let mut line = ctl.line.subscribe();
    if !through(&mut line).await || ctl.cuts.borrow().0 != born {
        return;
    }
    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    tokio::spawn(pipe(cr, sw, ctl.clone(), born));
    tokio::spawn(pipe(sr, cw, ctl, born));
}

/// Copies one direction, each chunk delivered the latency after it was read (in order, held
/// while the line is stalled), until either side closes or a cut ends the connection its way.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    ctl: Arc<Control>,
    born: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut cuts = ctl.cuts.subscribe();
    let mut line = ctl.line.subscribe();
    let (tx, mut rx) = mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let outcome = {
        let read = async {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = from.read(&mut buf).await {
                let due = tokio::time::Instant::now()
                    + Duration::from_millis(ctl.latency_ms.load(Ordering::SeqCst));
                let _ = tx.send((due, buf[..n].to_vec()));
            }
            drop(tx);
        };
        let write = async {
            while let Some((due, chunk)) = rx.recv().await {
                tokio::time::sleep_until(due).await;
                if !through(&mut line).await || to.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        };
        let cut = async {
            loop {
                let (n, how) = *cuts.borrow_and_update();
                if n != born {
                    return how;
                }
                if cuts.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = async { tokio::join!(read, write) } => None,
            how = cut => Some(how),
        }
    };
    match outcome {
        // One side closed: pass the close on.
        None => {
            let _ = to.shutdown().await;
        }
        Some(Cut::Close) => {
            let _ = to.shutdown().await;
        }
        Some(Cut::Reset) => {
            // Zero linger on both sockets and no FIN: closing them sends RST.
            let _ = from.as_ref().set_zero_linger();
            let _ = to.as_ref().set_zero_linger();
            to.forget();
        }
        Some(Cut::SlowClose(after)) => {
            tokio::time::sleep_until(tokio::time::Instant::now() + after).await;
            let _ = to.shutdown().await;
        }
    }
}
