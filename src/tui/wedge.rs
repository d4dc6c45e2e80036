//! Keyboard-wedge scanners type a code faster than any person, then Enter. A burst like that is
//! a scan; anything slower is keys. Pure: key times in, decisions out.

use std::time::{Duration, Instant};

/// Longest gap between two characters of one scan.
pub const GAP: Duration = Duration::from_millis(35);
/// Shortest code taken for a scan.
pub const MIN_LEN: usize = 4;

/// What to do with the keys held so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wedge {
    /// Still deciding; nothing to do yet.
    Hold,
    /// A scan.
    Scan(String),
    /// These were typed by a person: handle them as keys, in order.
    Keys(Vec<char>),
}

/// The burst detector.
#[derive(Debug, Default)]
pub struct Detector {
    held: Vec<char>,
    last: Option<Instant>,
}

impl Detector {
    /// A printable character arrived at `at`.
    pub fn char(&mut self, c: char, at: Instant) -> Wedge {
        let released = self.expire(at);
        self.held.push(c);
        self.last = Some(at);
        match released {
            Wedge::Keys(k) if !k.is_empty() => Wedge::Keys(k),
            _ => Wedge::Hold,
        }
    }

    /// Enter arrived: a scan when the burst is long enough and still fast, else keys (then Enter
    /// is a key too — the caller handles it after them).
    pub fn enter(&mut self, at: Instant) -> Wedge {
        let fast = self
            .last
            .is_some_and(|t| at.saturating_duration_since(t) <= GAP);
        let held = std::mem::take(&mut self.held);
        self.last = None;
        if fast && held.len() >= MIN_LEN {
            Wedge::Scan(held.into_iter().collect())
        } else {
            Wedge::Keys(held)
        }
    }

    /// Keys held longer than a burst allows are a person's: release them.
    pub fn expire(&mut self, now: Instant) -> Wedge {
        match self.last {
            Some(t) if now.saturating_duration_since(t) > GAP => {
                self.last = None;
                Wedge::Keys(std::mem::take(&mut self.held))
            }
            _ => Wedge::Hold,
        }
    }

    /// When held keys must be looked at again.
    pub fn deadline(&self) -> Option<Instant> {
        self.last
            .filter(|_| !self.held.is_empty())
            .map(|t| t + GAP + Duration::from_millis(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_burst_with_enter_is_a_scan_and_slow_typing_is_keys() {
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        let mut d = Detector::default();
        for (i, c) in "6901234567892".chars().enumerate() {
            assert_eq!(d.char(c, ms(i as u64 * 5)), Wedge::Hold);
        }
        assert_eq!(d.enter(ms(70)), Wedge::Scan("6901234567892".into()));
        // A person presses `a`: released once the burst window has passed.
        assert_eq!(d.char('a', ms(1000)), Wedge::Hold);
        assert_eq!(d.expire(ms(1020)), Wedge::Hold);
        assert_eq!(d.expire(ms(1100)), Wedge::Keys(vec!['a']));
        // Short fast input then Enter is typing, not a scan.
        d.char('1', ms(2000));
        d.char('2', ms(2005));
        assert_eq!(d.enter(ms(2010)), Wedge::Keys(vec!['1', '2']));
        // A slow key then a fast code: the slow one comes out first.
        d.char('x', ms(3000));
        assert_eq!(d.char('9', ms(3100)), Wedge::Keys(vec!['x']));
    }
}
