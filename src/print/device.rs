//! Sending a job's bytes to a printer, blocking (the drivers block; the caller gives each
//! printer a thread of its own): a network printer's raw port, a serial port, a USB printer's
//! device file, or a file in a directory (the demo's and the tests' printer).

use super::status::PrinterState;
use crate::config::{PrinterConfig, PrinterKind};
use crate::model::Lang;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

/// How long a network printer may take to answer or take the bytes.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a printer that speaks DLE EOT takes at most to answer it.
const STATUS_TIMEOUT: Duration = Duration::from_millis(800);

/// The printer could not take the job; the message says what to check.
#[derive(Debug, thiserror::Error)]
#[error("printer `{printer}`: {what}")]
pub struct SendError {
    /// The printer's name.
    pub printer: String,
    /// What went wrong and what to check.
    pub what: String,
    /// What the printer said about itself, when it said it is not ready.
    pub state: Option<PrinterState>,
}

/// A job the printer took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// For a `file` printer, the file written.
    pub path: Option<PathBuf>,
    /// What the printer said after taking it; `None` when it does not answer DLE EOT (or was
    /// not asked).
    pub state: Option<PrinterState>,
}

/// Sends `bytes` to the printer; for a `file` printer, returns the file written.
pub fn send(p: &PrinterConfig, job: &str, bytes: &[u8]) -> Result<Option<PathBuf>, SendError> {
    deliver(p, job, bytes, false).map(|d| d.path)
}

/// Sends `bytes` to the printer. With `ask`, a network or serial printer is asked its state
/// (DLE EOT) before (nothing is sent to a printer out of paper) and after (a paper end while
/// printing means the job did not print whole); a printer that does not answer is trusted.
pub fn deliver(
    p: &PrinterConfig,
    job: &str,
    bytes: &[u8],
    ask: bool,
) -> Result<Delivered, SendError> {
    let fail = |what: String| SendError {
        printer: p.name.clone(),
        what,
        state: None,
    };
    match p.kind {
        PrinterKind::Tcp => {
            let addr = p.socket_address();
            let target = std::net::ToSocketAddrs::to_socket_addrs(&addr)
                .map_err(|e| fail(format!("cannot resolve {addr}: {e}; check `address`")))?
                .next()
                .ok_or_else(|| fail(format!("{addr} resolves to nothing; check `address`")))?;
            let mut s =
                std::net::TcpStream::connect_timeout(&target, NETWORK_TIMEOUT).map_err(|e| {
                    fail(format!(
                        "cannot reach {addr}: {e}; is it switched on, on the network, and is \
                         its raw port (9100) open?"
                    ))
                })?;
            // No Nagle: the status query after a job would wait for the job's ACK, which the
            // printer delays (measured: 88 ms a slip instead of a few).
            s.set_write_timeout(Some(NETWORK_TIMEOUT))
                .and_then(|()| s.set_read_timeout(Some(STATUS_TIMEOUT)))
                .and_then(|()| s.set_nodelay(true))
                .map_err(|e| fail(format!("{addr}: {e}")))?;
            exchange(p, &mut s, bytes, ask, &addr)
        }
        PrinterKind::Serial => {
            let mut port = serialport::new(&p.address, p.baud)
                .timeout(STATUS_TIMEOUT)
                .open()
                .map_err(|e| {
                    fail(format!(
                        "cannot open {}: {e}; check the cable and that flashpick may use it",
                        p.address
                    ))
                })?;
            exchange(p, &mut port, bytes, ask, &p.address)
        }
        PrinterKind::Usb => {
            use std::os::unix::fs::OpenOptionsExt;
            // Non-blocking: the USB printer driver holds a write for as long as the printer
            // takes no data (out of paper), which would hold the printer's thread (and a
            // shutdown) with it; a job not taken within the deadline is tried again later.
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .custom_flags(O_NONBLOCK)
                .open(&p.address)
                .map_err(|e| {
                    fail(format!(
                        "cannot open {}: {e}; is it plugged in, and is flashpick in group lp?",
                        p.address
                    ))
                })?;
            write_within(&mut f, bytes, NETWORK_TIMEOUT).map_err(|e| {
                fail(format!(
                    "{} stopped taking the job: {e}; is it out of paper or its cover open?",
                    p.address
                ))
            })?;
            Ok(Delivered {
                path: None,
                state: None,
            })
        }
        PrinterKind::File => {
            let dir = PathBuf::from(&p.address);
            std::fs::create_dir_all(&dir)
                .map_err(|e| fail(format!("cannot make {}: {e}", dir.display())))?;
            let safe: String = job
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = dir.join(format!("{safe}.escpos"));
            // Whole or not at all: a job the daemon died writing is not left half there.
            let part = dir.join(format!(".{safe}.part"));
            std::fs::write(&part, bytes)
                .and_then(|()| std::fs::rename(&part, &path))
                .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
            Ok(Delivered {
                path: Some(path),
                state: None,
            })
        }
    }
}

/// `O_NONBLOCK` on Linux (every architecture flashpick ships for).
const O_NONBLOCK: i32 = 0o4000;

/// Writes all of `bytes` to a non-blocking device, waiting for it to take more while it is
/// busy, until `limit`.
fn write_within(f: &mut std::fs::File, mut bytes: &[u8], limit: Duration) -> std::io::Result<()> {
    let deadline = std::time::Instant::now() + limit;
    while !bytes.is_empty() {
        match f.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() >= deadline {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("took no data for {} s", limit.as_secs()),
                    ));
                }
                // The device has no readiness to wait on that the driver reports reliably:
                // look again shortly (a printer takes its buffer in milliseconds).
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reaches the printer without printing: a network or serial printer is asked its state (`None`
/// when it does not answer DLE EOT); a USB device is opened for writing; a directory must take a
/// file.
pub fn probe(p: &PrinterConfig) -> Result<Option<PrinterState>, SendError> {
    match p.kind {
        PrinterKind::Tcp | PrinterKind::Serial => {
            // An empty job: only the state exchange (it is asked because `ask`).
            match deliver(p, "probe", &[], true) {
                Ok(d) => Ok(d.state),
                Err(e) => Err(e),
            }
        }
        PrinterKind::Usb => deliver(p, "probe", &[], false).map(|_| None),
        PrinterKind::File => {
            let dir = PathBuf::from(&p.address);
            let fail = |e: std::io::Error| SendError {
                printer: p.name.clone(),
                what: format!(
                    "cannot write in {}: {e}; create it and let flashpick write there",
                    dir.display()
                ),
                state: None,
            };
            std::fs::create_dir_all(&dir).map_err(fail)?;
            let test = dir.join(".flashpick-probe");
            std::fs::write(&test, b"").map_err(fail)?;
            let _ = std::fs::remove_file(test);
            Ok(None)
        }
    }
}

/// Asks the state (when `ask`), sends the job, asks again.
fn exchange(
    p: &PrinterConfig,
    s: &mut (impl Read + Write),
    bytes: &[u8],
    ask: bool,
    at: &str,
) -> Result<Delivered, SendError> {
    let not_ready = |state: PrinterState| SendError {
        printer: p.name.clone(),
        what: format!(
            "{at} says {}: fix it and the jobs print",
            state.say(Lang::En)
        ),
        state: Some(state),
    };
    let before = if ask { ask_state(s) } else { None };
    if let Some(st) = before.filter(|st| !st.ready()) {
        return Err(not_ready(st));
    }
    s.write_all(bytes)
        .and_then(|()| s.flush())
        .map_err(|e| SendError {
            printer: p.name.clone(),
            what: format!("{at} stopped taking the job: {e}"),
            state: None,
        })?;
    let after = if before.is_some() { ask_state(s) } else { None };
    match after {
        Some(st) if !st.ready() => Err(not_ready(st)),
        _ => Ok(Delivered {
            path: None,
            state: after.or(before),
        }),
    }
}

/// The printer's answer to DLE EOT 2 and 4, or `None` when it does not answer in time.
fn ask_state(s: &mut (impl Read + Write)) -> Option<PrinterState> {
    let mut answer = [0u8; 2];
    for (q, a) in super::status::QUERIES.iter().zip(answer.iter_mut()) {
        s.write_all(q).ok()?;
        s.flush().ok()?;
        let mut one = [0u8; 1];
        match s.read(&mut one) {
            Ok(1) => *a = one[0],
            _ => return None,
        }
    }
    super::status::parse(&answer)
}
