//! Serial barcode scanners: one blocking reader thread per port, framing, reconnection.
//! Decoding is `model::barcode`; what a scan does is the daemon's.

pub mod framer;
mod port;

pub use port::{ReaderMsg, ScanFrame, ScannerHandle, ScannerStats, Sink, spawn};

/// Tells a scanner repeating one read (some resend on a noisy line) from a person scanning the
/// same item again, who is much slower than the window.
#[derive(Debug)]
pub struct RepeatFilter {
    window: std::time::Duration,
    last: std::collections::HashMap<String, (String, std::time::Instant)>,
}

impl RepeatFilter {
    /// A filter with this window.
    pub fn new(window: std::time::Duration) -> Self {
        RepeatFilter {
            window,
            last: Default::default(),
        }
    }

    /// Whether this frame repeats the scanner's previous one within the window.
    pub fn is_repeat(&mut self, frame: &ScanFrame) -> bool {
        let repeat = self.last.get(&frame.scanner).is_some_and(|(code, at)| {
            *code == frame.code && frame.at.saturating_duration_since(*at) < self.window
        });
        if !repeat {
            self.last
                .insert(frame.scanner.clone(), (frame.code.clone(), frame.at));
        }
        repeat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_resent_read_is_one_unit_and_a_second_scan_is_another() {
        let t = Instant::now();
        let frame = |scanner: &str, code: &str, ms: u64| ScanFrame {
            scanner: scanner.into(),
            code: code.into(),
            at: t + Duration::from_millis(ms),
        };
        let mut f = RepeatFilter::new(Duration::from_millis(80));
        assert!(!f.is_repeat(&frame("a", "X", 0)));
        assert!(f.is_repeat(&frame("a", "X", 30)), "the scanner resent it");
        assert!(
            !f.is_repeat(&frame("b", "X", 31)),
            "another scanner is another unit"
        );
        assert!(!f.is_repeat(&frame("a", "Y", 40)));
        assert!(
            !f.is_repeat(&frame("a", "X", 60)),
            "a different code came between"
        );
        assert!(
            !f.is_repeat(&frame("a", "X", 400)),
            "a person scanning again"
        );
    }
}
