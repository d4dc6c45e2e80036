//! Where "now" comes from. In service, the system clock; in tests (and a scripted day), a clock
//! moved by hand, so that deadlines, idle claims, timed closes and backoffs are shown without
//! waiting for them. The store and the daemon read time only through one of these, except for
//! what is about the machine rather than the store's day (snapshot file names, the lock's note)
//! and what a platform checks (request signatures and push freshness use the real time).

use super::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The time source of a store or a daemon. Cloning shares it: a manual clock moved through any
/// clone moves for all.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands at `start` until moved.
    pub fn manual(start: Timestamp) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(start.0))),
        }
    }

    /// Now, by this clock.
    pub fn now(&self) -> Timestamp {
        match &self.manual {
            Some(ms) => Timestamp(ms.load(Ordering::Acquire)),
            None => Timestamp::now(),
        }
    }

    /// Moves a manual clock forward by `secs` (a system clock cannot be moved: false).
    pub fn advance(&self, secs: i64) -> bool {
        match &self.manual {
            Some(ms) => {
                ms.fetch_add(secs * 1000, Ordering::AcqRel);
                true
            }
            None => false,
        }
    }

    /// Whether this is a clock moved by hand.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved_and_clones_share_it() {
        let c = Clock::manual(Timestamp(1_000));
        let other = c.clone();
        assert_eq!(c.now(), Timestamp(1_000));
        assert!(other.advance(90));
        assert_eq!(c.now(), Timestamp(91_000));
        let system = Clock::system();
        assert!(!system.advance(1));
        assert!(system.now().0 > 1_700_000_000_000);
    }
}
