//! Repeated warnings, one line per interval with a count: a jammed scanner, a flood of forged
//! pushes or a descriptor shortage must not write a line per event (10 MB of serial noise once
//! wrote 76,624 lines; an accept loop out of descriptors, 900 MB in 20 s).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lets one line through per interval and counts the rest.
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    held: u64,
}

impl Throttle {
    /// At most one line per `every`.
    pub const fn new(every: Duration) -> Self {
        Throttle {
            every,
            state: Mutex::new(State {
                last: None,
                held: 0,
            }),
        }
    }

    /// `Some(held)` when a line may be written now, `held` being how many were held back since
    /// the last one; `None` when this one is held back.
    pub fn check(&self) -> Option<u64> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.last {
            Some(last) if now.duration_since(last) < self.every => {
                s.held += 1;
                None
            }
            _ => {
                s.last = Some(now);
                Some(std::mem::take(&mut s.held))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_and_the_count_of_the_rest() {
        let t = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(t.check_at(t0), Some(0));
        for i in 1..=1000 {
            assert_eq!(t.check_at(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(t.check_at(t0 + Duration::from_secs(10)), Some(1000));
        assert_eq!(t.check_at(t0 + Duration::from_secs(11)), None);
    }
}
