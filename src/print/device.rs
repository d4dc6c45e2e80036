//! Sending a job's bytes to a printer, blocking (the drivers block; the caller gives each
//! printer a thread of its own): a network printer's raw port, a serial port, a USB printer's
//! device file, or a file in a directory (the demo's and the tests' printer).

use crate::config::{PrinterConfig, PrinterKind};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// How long a network printer may take to answer or take the bytes.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(5);

/// The printer could not take the job; the message says what to check.
#[derive(Debug, thiserror::Error)]
#[error("printer `{printer}`: {what}")]
pub struct SendError {
    /// The printer's name.
    pub printer: String,
    /// What went wrong and what to check.
    pub what: String,
}

/// Sends `bytes` to the printer; for a `file` printer, returns the file written.
pub fn send(p: &PrinterConfig, job: &str, bytes: &[u8]) -> Result<Option<PathBuf>, SendError> {
    let fail = |what: String| SendError {
        printer: p.name.clone(),
        what,
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
            s.set_write_timeout(Some(NETWORK_TIMEOUT))
                .and_then(|()| s.write_all(bytes))
                .and_then(|()| s.flush())
                .map_err(|e| fail(format!("{addr} stopped taking the job: {e}")))?;
            Ok(None)
        }
        PrinterKind::Serial => {
            let mut port = serialport::new(&p.address, p.baud)
                .timeout(NETWORK_TIMEOUT)
                .open()
                .map_err(|e| {
                    fail(format!(
                        "cannot open {}: {e}; check the cable and that flashpick may use it",
                        p.address
                    ))
                })?;
            port.write_all(bytes)
                .and_then(|()| port.flush())
                .map_err(|e| fail(format!("{} stopped taking the job: {e}", p.address)))?;
            Ok(None)
        }
        PrinterKind::Usb => {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&p.address)
                .map_err(|e| {
                    fail(format!(
                        "cannot open {}: {e}; is it plugged in, and is flashpick in group lp?",
                        p.address
                    ))
                })?;
            f.write_all(bytes)
                .and_then(|()| f.flush())
                .map_err(|e| fail(format!("{} stopped taking the job: {e}", p.address)))?;
            Ok(None)
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
            std::fs::write(&path, bytes)
                .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
            Ok(Some(path))
        }
    }
}
