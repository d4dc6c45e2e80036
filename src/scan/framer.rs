//! Cutting a scanner's byte stream into codes: by the suffix (CR, CRLF, LF), or when the line goes
//! quiet. Pure: bytes and clock readings in, frames and rejects out.

use crate::config::Suffix;
use std::time::{Duration, Instant};

/// What the framer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// One code, suffix removed.
    Frame(String),
    /// Bytes that are not a code; counted and reported, never decoded.
    Reject(Reject),
}

/// Why bytes were thrown away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Longer than `max_frame`: a stuck trigger or line noise.
    TooLong,
    /// Not UTF-8: wrong baud rate or parity, or electrical noise.
    NotUtf8,
    /// Only NULs, spaces or control characters.
    Noise,
}

impl Reject {
    /// A stable name for counters.
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::TooLong => "too_long",
            Reject::NotUtf8 => "not_utf8",
            Reject::Noise => "noise",
        }
    }

    /// What to tell the store manager.
    pub fn hint(self) -> &'static str {
        match self {
            Reject::TooLong => {
                "a frame longer than max_frame: a stuck trigger, or a suffix setting that does not match the scanner"
            }
            Reject::NotUtf8 => {
                "bytes that are not text: check the baud rate, data bits and parity against the scanner"
            }
            Reject::Noise => "line noise (empty or control characters only)",
        }
    }
}

/// The framing state of one port.
#[derive(Debug)]
pub struct Framer {
    suffix: Suffix,
    max: usize,
    gap: Duration,
    buf: Vec<u8>,
    /// Dropping an over-long frame until its end.
    discarding: bool,
    last_byte: Option<Instant>,
}

impl Framer {
    /// A framer for one port's settings.
    pub fn new(suffix: Suffix, max_frame: usize, gap: Duration) -> Framer {
        Framer {
            suffix,
            max: max_frame,
            gap,
            buf: Vec::new(),
            discarding: false,
            last_byte: None,
        }
    }

    /// Feeds bytes read at `now`; returns the frames and rejects they complete.
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<Framed> {
        let mut out = Vec::new();
        // A frame left over from before a long silence ends at the silence, not with these bytes.
        out.extend(self.flush_if_idle(now));
        for &b in bytes {
            let ends = match self.suffix {
                // CR, CRLF and LF all end a frame: a scanner set to CRLF on a port configured for
                // CR still works, and the empty frame between CR and LF is ignored.
                Suffix::Cr | Suffix::Crlf | Suffix::Lf => b == b'\r' || b == b'\n',
                Suffix::None => false,
            };
            if ends {
                out.extend(self.end_frame());
                continue;
            }
            if self.discarding {
                continue;
            }
            if self.buf.len() >= self.max {
                self.buf.clear();
                self.discarding = true;
                out.push(Framed::Reject(Reject::TooLong));
                continue;
            }
            self.buf.push(b);
        }
        if !bytes.is_empty() {
            self.last_byte = Some(now);
        }
        out
    }

    /// Ends a frame that has waited `gap` without more bytes (for scanners with no suffix, or a
    /// suffix that was lost).
    pub fn flush_if_idle(&mut self, now: Instant) -> Option<Framed> {
        let quiet = self
            .last_byte
            .is_some_and(|t| now.saturating_duration_since(t) >= self.gap);
        if quiet && (!self.buf.is_empty() || self.discarding) {
            self.last_byte = None;
            return self.end_frame();
        }
        None
    }

    /// Forgets a partial frame (the port was closed).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.discarding = false;
        self.last_byte = None;
    }

    fn end_frame(&mut self) -> Option<Framed> {
        if std::mem::take(&mut self.discarding) {
            self.buf.clear();
            return None;
        }
        if self.buf.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.buf);
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return Some(Framed::Reject(Reject::NotUtf8)),
        };
        let trimmed = text.trim_matches(|c: char| c == '\0' || c == ' ' || c == '\t');
        if trimmed.is_empty() || trimmed.chars().all(|c| c.is_control() && c != '\u{1d}') {
            return Some(Framed::Reject(Reject::Noise));
        }
        Some(Framed::Frame(trimmed.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framer(suffix: Suffix) -> Framer {
        Framer::new(suffix, 32, Duration::from_millis(50))
    }

    fn frames(out: Vec<Framed>) -> Vec<String> {
        out.into_iter()
            .map(|f| match f {
                Framed::Frame(s) => s,
                Framed::Reject(r) => format!("!{}", r.as_str()),
            })
            .collect()
    }

    #[test]
    fn suffixes_split_frames_across_reads() {
        let t = Instant::now();
        let mut f = framer(Suffix::Cr);
        assert!(f.push(b"69012345", t).is_empty());
        assert_eq!(
            frames(f.push(b"67892\r4006381333931\r\n", t)),
            ["6901234567892", "4006381333931"]
        );
        let mut f = framer(Suffix::Crlf);
        assert_eq!(
            frames(f.push(b"]E06901234567892\r\n\r\n", t)),
            ["]E06901234567892"]
        );
    }

    #[test]
    fn garbage_is_rejected_and_the_framer_carries_on() {
        let t = Instant::now();
        let mut f = framer(Suffix::Cr);
        let out = f.push(b"\xff\xfe\x00\r\0\0\r\x07\x07\r", t);
        assert_eq!(frames(out), ["!not_utf8", "!noise", "!noise"]);
        let long = [b'9'; 40];
        let mut out = f.push(&long, t);
        out.extend(f.push(b"\r96385074\r", t));
        assert_eq!(frames(out), ["!too_long", "96385074"]);
    }

    #[test]
    fn a_quiet_line_ends_a_frame_without_suffix() {
        let t = Instant::now();
        let mut f = framer(Suffix::None);
        assert!(f.push(b"96385074", t).is_empty());
        assert_eq!(f.flush_if_idle(t + Duration::from_millis(10)), None);
        assert_eq!(
            f.flush_if_idle(t + Duration::from_millis(60)),
            Some(Framed::Frame("96385074".into()))
        );
        // A frame interrupted by silence does not swallow the next scan.
        assert!(f.push(b"1234", t).is_empty());
        let out = f.push(b"96385074", t + Duration::from_millis(80));
        assert_eq!(frames(out), ["1234"]);
    }
}
