//! Auto-pause: the store closes at the platforms by itself when the load crosses a threshold
//! (too many open orders, too many amber or red), and opens again when it falls below the resume
//! level — never before a minimum closed time (no flapping), and after a maximum closed time as
//! soon as the load no longer requires it. A close made by a person is never touched. Pure: the
//! daemon reads the load and the state, and carries out what this decides.

use super::Platform;
use super::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[capacity]`: off unless `enabled`. Its own thresholds are store-wide: they count every
/// order and close every platform; `[capacity.platforms.<name>]` counts one platform's orders
/// and closes only it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Whether the store pauses by itself.
    #[serde(default)]
    pub enabled: bool,
    /// Close when this many orders are open (not yet packed, booked ones not counted); 0: no
    /// such threshold.
    #[serde(default)]
    pub max_open_orders: u32,
    /// Close when this many open orders are amber or red against their pick deadline; 0: none.
    #[serde(default)]
    pub max_at_risk: u32,
    /// Open again when fewer open orders than this remain (and the at-risk count is under its
    /// threshold).
    #[serde(default)]
    pub resume_below: u32,
    /// Never open again sooner than this after an automatic close.
    #[serde(default = "default_min_closed")]
    pub min_closed_secs: u32,
    /// An automatic close lasts at most this long unless the load still crosses a threshold.
    #[serde(default = "default_max_closed")]
    pub max_closed_secs: u32,
    /// Thresholds of one platform: its own orders counted, only it closed.
    #[serde(default)]
    pub platforms: BTreeMap<Platform, Thresholds>,
}

/// One set of thresholds (0: that threshold is off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Close at this many open orders.
    #[serde(default)]
    pub max_open_orders: u32,
    /// Close at this many open orders amber or red.
    #[serde(default)]
    pub max_at_risk: u32,
    /// Open again under this many open orders.
    #[serde(default)]
    pub resume_below: u32,
}

impl Thresholds {
    /// The threshold the load crosses, in words (`whose`: "" or "Meituan ").
    fn crossed(&self, load: Load, whose: &str) -> Option<String> {
        if self.max_open_orders > 0 && load.open >= self.max_open_orders {
            return Some(format!(
                "{} open {whose}orders (at most {} before pausing)",
                load.open, self.max_open_orders
            ));
        }
        if self.max_at_risk > 0 && load.at_risk >= self.max_at_risk {
            return Some(format!(
                "{} {whose}orders amber or red (at most {} before pausing)",
                load.at_risk, self.max_at_risk
            ));
        }
        None
    }

    /// Under every resume level: a threshold that is off never holds the store closed.
    fn calm(&self, load: Load) -> bool {
        (self.max_open_orders == 0 || load.open < self.resume_below)
            && (self.max_at_risk == 0 || load.at_risk < self.max_at_risk)
    }

    fn is_set(&self) -> bool {
        self.max_open_orders > 0 || self.max_at_risk > 0
    }

    fn check(&self, key: &str) -> Result<(), (String, String)> {
        if self.max_open_orders > 0 && self.resume_below >= self.max_open_orders {
            return Err((
                format!("{key}resume_below"),
                format!(
                    "use less than max_open_orders ({}): the gap keeps the store from flapping",
                    self.max_open_orders
                ),
            ));
        }
        Ok(())
    }
}

fn default_min_closed() -> u32 {
    300
}
fn default_max_closed() -> u32 {
    1800
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            enabled: false,
            max_open_orders: 0,
            max_at_risk: 0,
            resume_below: 0,
            min_closed_secs: default_min_closed(),
            max_closed_secs: default_max_closed(),
            platforms: BTreeMap::new(),
        }
    }
}

/// The store's state at one platform, as the screens and `flashpick store` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenState {
    /// The platform.
    pub platform: Platform,
    /// What the store wants.
    pub want_open: bool,
    /// Why it was set so.
    pub reason: String,
    /// Who set it (a manager, `timer`, `capacity`).
    pub set_by: String,
    /// Set by the store itself (the load), not by a person.
    pub automatic: bool,
    /// A timed close reopens by itself then (ms).
    pub until: Option<Timestamp>,
    /// When it was set.
    pub set_at: Timestamp,
    /// What the platform last confirmed: open, closed, or not yet known.
    pub confirmed: Option<bool>,
}

impl OpenState {
    /// The platform has not confirmed what the store wants yet.
    pub fn pending(&self) -> bool {
        self.confirmed != Some(self.want_open)
    }
}

/// The load now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    /// Orders open (not yet packed), booked ones left out.
    pub open: u32,
    /// Of those, amber or red against their pick deadline.
    pub at_risk: u32,
}

/// The load a platform's decision weighs: the whole store's, and that platform's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loads {
    /// Every platform's orders.
    pub store: Load,
    /// The platform's own orders.
    pub own: Load,
}

/// Where the store stands at the platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paused {
    /// Open.
    No,
    /// Closed by the store itself, at this time.
    Automatic(Timestamp),
    /// Closed by a person: never reopened here, never closed over.
    Manual,
    /// Opened by a person at this time (overriding a pause): not closed again by the load for
    /// `max_closed_secs`, then as if open.
    OpenedByHand(Timestamp),
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing.
    Stay,
    /// Close, and why.
    Close(String),
    /// Open again, and why.
    Open(String),
}

impl Capacity {
    fn store_thresholds(&self) -> Thresholds {
        Thresholds {
            max_open_orders: self.max_open_orders,
            max_at_risk: self.max_at_risk,
            resume_below: self.resume_below,
        }
    }

    fn own(&self, platform: Platform) -> Thresholds {
        self.platforms.get(&platform).copied().unwrap_or_default()
    }

    /// The threshold the load crosses at this platform, if one does, in words: the store-wide
    /// thresholds first, then the platform's own.
    pub fn crossed(&self, platform: Platform, loads: Loads) -> Option<String> {
        self.store_thresholds()
            .crossed(loads.store, "")
            .or_else(|| {
                let whose = format!("{} ", platform.label());
                self.own(platform).crossed(loads.own, &whose)
            })
    }

    /// What the store does now at this platform.
    pub fn step(&self, platform: Platform, loads: Loads, paused: Paused, now: Timestamp) -> Step {
        if !self.enabled {
            return Step::Stay;
        }
        match paused {
            Paused::Manual => Step::Stay,
            Paused::OpenedByHand(at) if now.0 - at.0 < i64::from(self.max_closed_secs) * 1000 => {
                Step::Stay
            }
            Paused::No | Paused::OpenedByHand(_) => match self.crossed(platform, loads) {
                Some(why) => Step::Close(why),
                None => Step::Stay,
            },
            Paused::Automatic(since) => {
                let closed_ms = now.0 - since.0;
                if closed_ms < i64::from(self.min_closed_secs) * 1000 {
                    return Step::Stay;
                }
                let calm =
                    self.store_thresholds().calm(loads.store) && self.own(platform).calm(loads.own);
                if calm {
                    return Step::Open(format!(
                        "{} open orders in the store, {} at {}: under the resume level",
                        loads.store.open,
                        loads.own.open,
                        platform.label()
                    ));
                }
                if closed_ms >= i64::from(self.max_closed_secs) * 1000
                    && self.crossed(platform, loads).is_none()
                {
                    return Step::Open(format!(
                        "closed for the longest time allowed ({} min) and the load no longer requires it",
                        self.max_closed_secs / 60
                    ));
                }
                Step::Stay
            }
        }
    }

    /// What is wrong with these settings, with the key.
    pub fn check(&self) -> Result<(), (String, String)> {
        if !self.enabled {
            return Ok(());
        }
        if !self.store_thresholds().is_set() && !self.platforms.values().any(|t| t.is_set()) {
            return Err((
                "capacity.max_open_orders".into(),
                "an enabled auto-pause needs max_open_orders or max_at_risk, store-wide or in \
                 [capacity.platforms.<name>]"
                    .into(),
            ));
        }
        self.store_thresholds().check("capacity.")?;
        for (p, t) in &self.platforms {
            if *p == Platform::Hq {
                return Err((
                    "capacity.platforms.hq".into(),
                    "HQ's orders cannot be paused: use meituan or jddj".into(),
                ));
            }
            t.check(&format!("capacity.platforms.{}.", p.as_str()))?;
        }
        if self.min_closed_secs < 60 || self.max_closed_secs < self.min_closed_secs {
            return Err((
                "capacity.min_closed_secs".into(),
                "use at least 60 s, and max_closed_secs at least as long".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cap() -> Capacity {
        Capacity {
            enabled: true,
            max_open_orders: 20,
            max_at_risk: 5,
            resume_below: 10,
            min_closed_secs: 300,
            max_closed_secs: 1800,
            platforms: BTreeMap::from([(
                Platform::Meituan,
                Thresholds {
                    max_open_orders: 8,
                    max_at_risk: 0,
                    resume_below: 4,
                },
            )]),
        }
    }

    #[test]
    fn it_closes_over_a_threshold_and_opens_below_the_resume_level_not_before_the_minimum() {
        let c = cap();
        let t = Timestamp(1_000_000);
        // The store's load, all of it at JD (no thresholds of its own).
        let load = |open, at_risk| Loads {
            store: Load { open, at_risk },
            own: Load { open, at_risk },
        };
        let jd = Platform::Jddj;
        assert!(matches!(
            c.step(jd, load(20, 0), Paused::No, t),
            Step::Close(_)
        ));
        assert!(matches!(
            c.step(jd, load(3, 5), Paused::No, t),
            Step::Close(_)
        ));
        assert_eq!(c.step(jd, load(19, 4), Paused::No, t), Step::Stay);
        let closed = Paused::Automatic(t);
        // Calm, but too soon.
        assert_eq!(
            c.step(jd, load(0, 0), closed, Timestamp(t.0 + 299_000)),
            Step::Stay
        );
        assert!(matches!(
            c.step(jd, load(9, 0), closed, Timestamp(t.0 + 300_000)),
            Step::Open(_)
        ));
        // Between resume and threshold: closed, until the longest time.
        assert_eq!(
            c.step(jd, load(15, 0), closed, Timestamp(t.0 + 600_000)),
            Step::Stay
        );
        assert!(matches!(
            c.step(jd, load(15, 0), closed, Timestamp(t.0 + 1_800_000)),
            Step::Open(_)
        ));
        // Still over a threshold after the longest time: stays closed.
        assert_eq!(
            c.step(jd, load(25, 0), closed, Timestamp(t.0 + 3_600_000)),
            Step::Stay
        );
        // A person's open holds against the load for max_closed_secs, then the load counts.
        let opened = Paused::OpenedByHand(t);
        assert_eq!(
            c.step(jd, load(30, 0), opened, Timestamp(t.0 + 1_799_000)),
            Step::Stay
        );
        assert!(matches!(
            c.step(jd, load(30, 0), opened, Timestamp(t.0 + 1_800_000)),
            Step::Close(_)
        ));
        // A person's close is never touched, whatever the load.
        assert_eq!(c.step(jd, load(0, 0), Paused::Manual, t), Step::Stay);
        assert_eq!(c.step(jd, load(99, 99), Paused::Manual, t), Step::Stay);
        // Off: nothing.
        let off = Capacity::default();
        assert_eq!(off.step(jd, load(99, 99), Paused::No, t), Step::Stay);
    }

    #[test]
    fn a_platforms_own_thresholds_count_its_orders_and_close_only_it() {
        let c = cap();
        let t = Timestamp(1_000_000);
        let loads = |store, mt| Loads {
            store: Load {
                open: store,
                at_risk: 0,
            },
            own: Load {
                open: mt,
                at_risk: 0,
            },
        };
        // 8 Meituan orders of 12 in the store: Meituan closes, JD (no thresholds of its own,
        // the store under its own) stays open.
        match c.step(Platform::Meituan, loads(12, 8), Paused::No, t) {
            Step::Close(why) => assert!(why.contains("8 open Meituan orders"), "{why}"),
            other => panic!("{other:?}"),
        }
        let jd_loads = Loads {
            store: loads(12, 8).store,
            own: Load {
                open: 4,
                at_risk: 0,
            },
        };
        assert_eq!(c.step(Platform::Jddj, jd_loads, Paused::No, t), Step::Stay);
        // Meituan opens again only when both its own load and the store's are under resume.
        let closed = Paused::Automatic(t);
        let later = Timestamp(t.0 + 300_000);
        assert_eq!(
            c.step(Platform::Meituan, loads(12, 3), closed, later),
            Step::Stay
        );
        assert_eq!(
            c.step(Platform::Meituan, loads(9, 5), closed, later),
            Step::Stay
        );
        assert!(matches!(
            c.step(Platform::Meituan, loads(9, 3), closed, later),
            Step::Open(_)
        ));
        // The store-wide threshold still closes every platform.
        assert!(matches!(
            c.step(Platform::Jddj, loads(20, 0), Paused::No, t),
            Step::Close(_)
        ));
        // Checked: resume under the maximum; HQ cannot be paused.
        let mut bad = cap();
        bad.platforms
            .get_mut(&Platform::Meituan)
            .unwrap()
            .resume_below = 8;
        assert_eq!(
            bad.check().unwrap_err().0,
            "capacity.platforms.meituan.resume_below"
        );
        let mut hq = cap();
        hq.platforms.insert(Platform::Hq, Thresholds::default());
        assert_eq!(hq.check().unwrap_err().0, "capacity.platforms.hq");
        // Only a platform's thresholds: enough to enable it.
        let mut own_only = cap();
        own_only.max_open_orders = 0;
        own_only.max_at_risk = 0;
        own_only.resume_below = 0;
        assert_eq!(own_only.check(), Ok(()));
    }

    proptest! {
        /// Whatever the load does, the store never closes twice within the minimum closed time
        /// (a close at t, an open no sooner than t + min, the next close after that).
        #[test]
        fn never_more_than_one_close_per_minimum_interval(
            loads in proptest::collection::vec((0u32..40, 0u32..10, 0u32..20), 1..400),
            every in 1i64..120,
        ) {
            let c = cap();
            let mut paused = Paused::No;
            let mut closes: Vec<i64> = Vec::new();
            for (i, (open, at_risk, mt)) in loads.into_iter().enumerate() {
                let now = Timestamp(i as i64 * every * 1000);
                let loads = Loads {
                    store: Load { open, at_risk },
                    own: Load { open: mt.min(open), at_risk: at_risk.min(mt) },
                };
                match c.step(Platform::Meituan, loads, paused, now) {
                    Step::Close(_) => {
                        closes.push(now.0);
                        paused = Paused::Automatic(now);
                    }
                    Step::Open(_) => paused = Paused::No,
                    Step::Stay => {}
                }
            }
            for w in closes.windows(2) {
                prop_assert!(w[1] - w[0] >= i64::from(c.min_closed_secs) * 1000, "{closes:?}");
            }
        }
    }
}
