//! One thread per serial port: open it with the configured settings, read with a short timeout,
//! frame, hand each frame to the daemon's sink on this same thread; when the device disappears,
//! report it and reopen with backoff until it is back.

use super::framer::{Framed, Framer};
use crate::config::{Parity, ScannerConfig};
use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One framed code from a scanner.
#[derive(Debug, Clone)]
pub struct ScanFrame {
    /// The scanner's configured name.
    pub scanner: String,
    /// The code, suffix removed.
    pub code: String,
    /// When its last byte was read (for latency and the repeat window).
    pub at: Instant,
}

/// What a reader thread tells the daemon.
#[derive(Debug, Clone)]
pub enum ReaderMsg {
    /// A code.
    Frame(ScanFrame),
    /// The port opened (at start, or the scanner is back).
    Connected {
        /// Scanner name.
        scanner: String,
    },
    /// The port went away (unplugged) or cannot be opened.
    Disconnected {
        /// Scanner name.
        scanner: String,
        /// Why, for the person fixing it.
        reason: String,
    },
}

/// Live figures of one scanner, shared between its thread and the status screens.
#[derive(Debug)]
pub struct ScannerStats {
    /// Configured name.
    pub name: String,
    /// Device path.
    pub path: String,
    connected: AtomicBool,
    frames: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ScannerStats {
    /// Zeroed figures for a configured port, not yet connected.
    pub fn new(cfg: &ScannerConfig) -> Self {
        ScannerStats {
            name: cfg.name.clone(),
            path: cfg.path.clone(),
            connected: AtomicBool::new(false),
            frames: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// Whether the port is open right now.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Frames read since start.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Rejected frames and port errors since start.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().expect("stats") = Some(what);
    }

    /// The latest error, for the person fixing it.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("stats").clone()
    }
}

/// A running reader thread.
pub struct ScannerHandle {
    /// Its figures.
    pub stats: Arc<ScannerStats>,
    thread: std::thread::JoinHandle<()>,
}

impl ScannerHandle {
    /// Waits for the thread (after the stop flag was set; it notices within one read timeout).
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// What a reader thread hands its messages to. It runs on the reader thread, one message at a
/// time, so a frame goes from the wire to the store without waking another thread first (each
/// hand-over costs a thread wake-up, tens of microseconds on a store PC). While it works, the
/// OS buffers the serial bytes that follow.
pub type Sink = Box<dyn FnMut(ReaderMsg) + Send>;

/// Starts the reader thread for one scanner, counting into `stats`. Messages go to `sink`; the
/// thread ends when `stop` is set.
pub fn spawn(
    cfg: ScannerConfig,
    stats: Arc<ScannerStats>,
    sink: Sink,
    stop: Arc<AtomicBool>,
) -> std::io::Result<ScannerHandle> {
    let shared = stats.clone();
    let thread = std::thread::Builder::new()
        .name(format!("scanner-{}", cfg.name))
        .spawn(move || run(&cfg, &shared, sink, &stop))?;
    Ok(ScannerHandle { stats, thread })
}

/// Reopening a port that is gone: 100 ms, doubling, up to 5 s.
const REOPEN: crate::backoff::Backoff =
    crate::backoff::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

fn run(cfg: &ScannerConfig, stats: &ScannerStats, mut sink: Sink, stop: &AtomicBool) {
    let mut retry = crate::backoff::Retry::new(REOPEN);
    let mut reported = false;
    while !stop.load(Ordering::Relaxed) {
        match open(cfg) {
            Ok(port) => {
                stats.connected.store(true, Ordering::Release);
                tracing::info!(scanner = %cfg.name, path = %cfg.path, "scanner connected");
                let hello = ReaderMsg::Connected {
                    scanner: cfg.name.clone(),
                };
                sink(hello);
                retry.reset();
                let why = read_until_gone(cfg, port, stats, &mut sink, stop);
                stats.connected.store(false, Ordering::Release);
                match why {
                    Gone::Stopped => return,
                    Gone::Error(e) => {
                        let msg = format!("disconnected ({e}); reconnecting when it is back");
                        tracing::warn!(scanner = %cfg.name, path = %cfg.path, "{msg}");
                        stats.error(msg.clone());
                        let gone = ReaderMsg::Disconnected {
                            scanner: cfg.name.clone(),
                            reason: msg,
                        };
                        sink(gone);
                        // Announced once; failed reopens stay quiet until it is back.
                        reported = true;
                    }
                }
            }
            Err(e) => {
                let msg = explain_open_error(cfg, &e);
                if !reported {
                    tracing::warn!(scanner = %cfg.name, "{msg}");
                    stats.error(msg.clone());
                    reported = true;
                    let gone = ReaderMsg::Disconnected {
                        scanner: cfg.name.clone(),
                        reason: msg,
                    };
                    sink(gone);
                }
            }
        }
        // Back off in short slices so that a stop is noticed quickly.
        let wait = retry.next_wait();
        let until = Instant::now() + wait;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20).min(wait));
        }
    }
}

fn open(cfg: &ScannerConfig) -> serialport::Result<Box<dyn serialport::SerialPort>> {
    let data_bits = match cfg.data_bits {
        5 => serialport::DataBits::Five,
        6 => serialport::DataBits::Six,
        7 => serialport::DataBits::Seven,
        _ => serialport::DataBits::Eight,
    };
    let parity = match cfg.parity {
        Parity::None => serialport::Parity::None,
        Parity::Odd => serialport::Parity::Odd,
        Parity::Even => serialport::Parity::Even,
    };
    let stop_bits = if cfg.stop_bits == 2 {
        serialport::StopBits::Two
    } else {
        serialport::StopBits::One
    };
    serialport::new(&cfg.path, cfg.baud)
        .data_bits(data_bits)
        .parity(parity)
        .stop_bits(stop_bits)
        .flow_control(serialport::FlowControl::None)
        .timeout(read_timeout(cfg))
        .open()
}

/// Short enough to flush a suffix-less frame on time and to notice a stop promptly.
fn read_timeout(cfg: &ScannerConfig) -> Duration {
    Duration::from_millis((cfg.inter_byte_timeout_ms / 2).clamp(5, 50))
}

fn explain_open_error(cfg: &ScannerConfig, e: &serialport::Error) -> String {
    let hint = match e.kind() {
        serialport::ErrorKind::NoDevice => {
            "not plugged in (no such device); it is picked up as soon as it appears"
        }
        serialport::ErrorKind::Io(ErrorKind::NotFound) => {
            "not plugged in (no such device); it is picked up as soon as it appears"
        }
        serialport::ErrorKind::Io(ErrorKind::PermissionDenied) => {
            "permission denied: add the service user to group dialout"
        }
        _ => "cannot open it; check the path and the serial settings",
    };
    format!("scanner {} ({}): {hint} [{e}]", cfg.name, cfg.path)
}

enum Gone {
    Stopped,
    Error(String),
}

fn read_until_gone(
    cfg: &ScannerConfig,
    mut port: Box<dyn serialport::SerialPort>,
    stats: &ScannerStats,
    sink: &mut Sink,
    stop: &AtomicBool,
) -> Gone {
    let mut framer = Framer::new(
        cfg.suffix,
        cfg.max_frame,
        Duration::from_millis(cfg.inter_byte_timeout_ms),
    );
    let mut buf = [0u8; 256];
    let noise = crate::throttle::Throttle::new(Duration::from_secs(10));
    loop {
        if stop.load(Ordering::Relaxed) {
            return Gone::Stopped;
        }
        let out = match port.read(&mut buf) {
            Ok(0) => return Gone::Error("end of file".into()),
            Ok(n) => framer.push(&buf[..n], Instant::now()),
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {
                framer.flush_if_idle(Instant::now()).into_iter().collect()
            }
            Err(e) => return Gone::Error(e.to_string()),
        };
        for f in out {
            match f {
                Framed::Frame(code) => {
                    stats.frames.fetch_add(1, Ordering::Relaxed);
                    let frame = ScanFrame {
                        scanner: cfg.name.clone(),
                        code,
                        at: Instant::now(),
                    };
                    // If the daemon falls behind, the reader waits rather than queueing scans
                    // without limit; the OS buffers the serial bytes meanwhile.
                    sink(ReaderMsg::Frame(frame));
                }
                Framed::Reject(r) => {
                    // Noise (a bad cable, the wrong baud rate) can be megabytes: counted and shown
                    // in the status, logged once per interval.
                    if let Some(held) = noise.check() {
                        tracing::warn!(
                            scanner = %cfg.name,
                            reject = r.as_str(),
                            more_since_last_line = held,
                            "{}",
                            r.hint()
                        );
                    }
                    stats.error(format!("{}: {}", r.as_str(), r.hint()));
                }
            }
        }
    }
}
