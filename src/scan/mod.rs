//! Serial barcode scanners: one blocking reader thread per port, framing, reconnection.
//! Decoding is `model::barcode`; what a scan does is the daemon's.

pub mod framer;
mod port;

pub use port::{ScanFrame, ScannerHandle, ScannerStats, spawn};
