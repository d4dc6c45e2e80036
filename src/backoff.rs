//! The one backoff: doubling waits from a first one up to a cap, and the jitter that keeps many
//! stores (or many rows) from retrying in step. Used by every loop that retries: the socket and
//! webhook accept loops, the scanner reopen, the HQ reconnect and the outbox rows.

use std::time::Duration;

/// Doubling waits from `first` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub first: Duration,
    /// No wait is longer.
    pub max: Duration,
}

impl Backoff {
    /// Waits from `first`, doubling, up to `max`.
    pub const fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { first, max }
    }

    /// The wait after `failures` failures in a row (0: the first wait).
    pub fn nth(&self, failures: u32) -> Duration {
        self.first
            .saturating_mul(1u32 << failures.min(30))
            .min(self.max)
    }
}

/// A backoff as a loop uses it: each failure waits longer, a success starts again.
#[derive(Debug, Clone)]
pub struct Retry {
    policy: Backoff,
    failures: u32,
}

impl Retry {
    /// Starts at the policy's first wait.
    pub fn new(policy: Backoff) -> Retry {
        Retry {
            policy,
            failures: 0,
        }
    }

    /// The wait after one more failure.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.policy.nth(self.failures);
        self.failures = self.failures.saturating_add(1);
        wait
    }

    /// It worked: the next failure waits the first wait again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// `d` moved by up to ±`permille`‰, chosen by `seed`.
pub fn spread(d: Duration, seed: u64, permille: u64) -> Duration {
    let ms = d.as_millis() as i64;
    let jitter = (seed % (2 * permille + 1)) as i64 - permille as i64;
    Duration::from_millis((ms + ms * jitter / 1000).max(0) as u64)
}

/// Somewhere in the upper half of `d`, chosen by `seed`: many stores reconnecting after a broker
/// restart spread out, and none waits less than half.
pub fn upper_half(d: Duration, seed: u64) -> Duration {
    let half = d.as_millis() as u64 / 2;
    Duration::from_millis(half + seed % (half + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_starts_again_after_a_success() {
        let ms = Duration::from_millis;
        let mut r = Retry::new(Backoff::new(ms(5), Duration::from_secs(1)));
        let waits: Vec<_> = (0..10).map(|_| r.next_wait()).collect();
        assert_eq!(
            waits,
            [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000].map(ms)
        );
        r.reset();
        assert_eq!(r.next_wait(), ms(5));
        assert_eq!(
            Backoff::new(ms(500), ms(300_000)).nth(u32::MAX),
            ms(300_000)
        );
    }

    #[test]
    fn jitter_stays_in_its_band() {
        let d = Duration::from_millis(1000);
        for seed in [0, 1, 250, 500, 501, 12_345, u64::MAX] {
            let s = spread(d, seed, 250);
            assert!(s >= Duration::from_millis(750) && s <= Duration::from_millis(1250));
            let u = upper_half(d, seed);
            assert!(u >= Duration::from_millis(500) && u <= d);
        }
        assert_eq!(spread(d, 0, 250), Duration::from_millis(750));
        assert_eq!(spread(d, 500, 250), Duration::from_millis(1250));
    }
}
