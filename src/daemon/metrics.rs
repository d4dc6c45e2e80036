//! Counters for `/metrics` (Prometheus text format). Live figures (orders, outbox) are read from
//! the database at scrape time so they can never drift from the truth.

use crate::api::ScanOutcome;
use crate::store::OutboxDepth;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The daemon's counters. Relaxed atomics: each is an independent tally.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Clients attached now.
    pub clients: AtomicU64,
    /// Requests answered successfully.
    pub requests_ok: AtomicU64,
    /// Requests refused by a rule (wrong state, not found, …).
    pub requests_refused: AtomicU64,
    /// Lines that were not valid requests.
    pub malformed: AtomicU64,
    /// Writes that failed for a reason other than a rule.
    pub store_errors: AtomicU64,
    /// Scans by outcome, in the order of `ScanOutcome::ALL`.
    pub scans: [AtomicU64; 7],
    /// A scanner repeating one read within the repeat window (not counted as units).
    pub scan_repeats: AtomicU64,
    /// Events dropped because a client was too slow.
    pub lagged: AtomicU64,
    /// Connected to the HQ broker now (0 or 1).
    pub hq_connected: AtomicU64,
    /// Connections to the HQ broker made.
    pub hq_connects: AtomicU64,
    /// Events the HQ broker acknowledged.
    pub hq_events_acked: AtomicU64,
    /// Messages from HQ refused (malformed, unknown version, bad order, bad delta).
    pub hq_rejected: AtomicU64,
    /// Configs from HQ refused.
    pub hq_config_rejected: AtomicU64,
    /// Failed accepts (descriptors exhausted), on the socket and on the webhook port.
    pub accept_errors: [AtomicU64; 2],
    /// Connections closed to make room for a new one (a peer that sent nothing useful for
    /// longest), on the socket and on the webhook port.
    pub evicted: [AtomicU64; 2],
    /// Connections turned away at the cap because every one was busy, socket and webhook port.
    pub turned_away: [AtomicU64; 2],
    /// Webhook connections accepted.
    pub webhook_connections: AtomicU64,
}

/// Which door a connection came through: index into the per-door counters.
#[derive(Debug, Clone, Copy)]
pub enum Door {
    /// The Unix socket.
    Socket = 0,
    /// The webhook port.
    Webhook = 1,
}

fn scan_index(o: ScanOutcome) -> usize {
    ScanOutcome::ALL
        .iter()
        .position(|x| *x == o)
        .expect("every outcome is in ALL")
}

/// One scanner's figures at scrape time.
pub struct ScannerFigures {
    /// Name.
    pub name: String,
    /// Open now.
    pub connected: bool,
    /// Frames read.
    pub frames: u64,
    /// Rejects and port errors.
    pub errors: u64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn inc_by(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a scan.
    pub fn scan(&self, o: ScanOutcome) {
        Self::inc(&self.scans[scan_index(o)]);
    }

    /// The Prometheus text exposition. Label values from the config or the database (scanner
    /// names, states, destinations) are escaped as the format asks: one scanner named with a
    /// quote would otherwise make the whole scrape unreadable.
    pub fn render(
        &self,
        started_at_secs: i64,
        orders: &[(String, i64)],
        outbox: &[OutboxDepth],
        scanners: &[ScannerFigures],
    ) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: Vec<(String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        metric(
            "flashpick_up",
            "gauge",
            "1 while the daemon runs.",
            vec![(String::new(), 1)],
        );
        metric(
            "flashpick_start_time_seconds",
            "gauge",
            "Unix time the daemon started.",
            vec![(String::new(), started_at_secs.max(0) as u64)],
        );
        metric(
            "flashpick_api_clients",
            "gauge",
            "Clients attached to the socket.",
            vec![(String::new(), g(&self.clients))],
        );
        metric(
            "flashpick_api_requests_total",
            "counter",
            "Socket requests answered, by result.",
            vec![
                ("{result=\"ok\"}".into(), g(&self.requests_ok)),
                ("{result=\"refused\"}".into(), g(&self.requests_refused)),
            ],
        );
        metric(
            "flashpick_api_malformed_total",
            "counter",
            "Socket lines that were not valid requests.",
            vec![(String::new(), g(&self.malformed))],
        );
        metric(
            "flashpick_api_events_lagged_total",
            "counter",
            "Events a slow client missed (it was told to resync).",
            vec![(String::new(), g(&self.lagged))],
        );
        metric(
            "flashpick_store_errors_total",
            "counter",
            "Database writes that failed (not refusals).",
            vec![(String::new(), g(&self.store_errors))],
        );
        metric(
            "flashpick_hq_connected",
            "gauge",
            "1 while connected to the HQ broker.",
            vec![(String::new(), g(&self.hq_connected))],
        );
        metric(
            "flashpick_hq_connects_total",
            "counter",
            "Connections made to the HQ broker.",
            vec![(String::new(), g(&self.hq_connects))],
        );
        metric(
            "flashpick_hq_events_acked_total",
            "counter",
            "Events the HQ broker acknowledged (PUBACK seen; outbox rows done).",
            vec![(String::new(), g(&self.hq_events_acked))],
        );
        metric(
            "flashpick_hq_rejected_total",
            "counter",
            "Messages from HQ refused, by topic.",
            vec![
                ("{topic=\"orders_or_catalog\"}".into(), g(&self.hq_rejected)),
                ("{topic=\"config\"}".into(), g(&self.hq_config_rejected)),
            ],
        );
        let doors = |c: &[AtomicU64; 2]| {
            vec![
                (
                    "{door=\"socket\"}".to_string(),
                    g(&c[Door::Socket as usize]),
                ),
                (
                    "{door=\"webhook\"}".to_string(),
                    g(&c[Door::Webhook as usize]),
                ),
            ]
        };
        metric(
            "flashpick_accept_errors_total",
            "counter",
            "Failed accepts (descriptors exhausted); the accept loop backs off.",
            doors(&self.accept_errors),
        );
        metric(
            "flashpick_connections_evicted_total",
            "counter",
            "Connections closed at the cap to make room (the oldest not in a request).",
            doors(&self.evicted),
        );
        metric(
            "flashpick_connections_turned_away_total",
            "counter",
            "Connections turned away at the cap because every one was busy.",
            doors(&self.turned_away),
        );
        metric(
            "flashpick_webhook_connections_total",
            "counter",
            "Connections accepted on the webhook port.",
            vec![(String::new(), g(&self.webhook_connections))],
        );
        let scans = ScanOutcome::ALL
            .into_iter()
            .map(|o| {
                (
                    format!("{{result=\"{}\"}}", o.as_str()),
                    g(&self.scans[scan_index(o)]),
                )
            })
            .collect();
        metric(
            "flashpick_scans_total",
            "counter",
            "Pick scans, by result.",
            scans,
        );
        metric(
            "flashpick_scan_repeats_total",
            "counter",
            "A scanner repeating one read within the repeat window (not counted as units).",
            vec![(String::new(), g(&self.scan_repeats))],
        );
        let per = |f: &dyn Fn(&ScannerFigures) -> u64| -> Vec<(String, u64)> {
            scanners
                .iter()
                .map(|s| (format!("{{scanner=\"{}\"}}", label(&s.name)), f(s)))
                .collect()
        };
        metric(
            "flashpick_scanner_connected",
            "gauge",
            "1 while the scanner's port is open.",
            per(&|s| u64::from(s.connected)),
        );
        metric(
            "flashpick_scanner_frames_total",
            "counter",
            "Codes read from each scanner.",
            per(&|s| s.frames),
        );
        metric(
            "flashpick_scanner_errors_total",
            "counter",
            "Rejected frames (noise, too long, not text) and port errors per scanner.",
            per(&|s| s.errors),
        );
        metric(
            "flashpick_orders",
            "gauge",
            "Orders in the database, by state.",
            orders
                .iter()
                .map(|(s, n)| (format!("{{state=\"{}\"}}", label(s)), (*n).max(0) as u64))
                .collect(),
        );
        metric(
            "flashpick_outbox_pending",
            "gauge",
            "Outbox rows waiting for delivery, by destination.",
            outbox
                .iter()
                .map(|d| {
                    (
                        format!("{{destination=\"{}\"}}", label(&d.destination)),
                        d.pending.max(0) as u64,
                    )
                })
                .collect(),
        );
        metric(
            "flashpick_outbox_parked",
            "gauge",
            "Outbox rows permanently refused, waiting for a person, by destination.",
            outbox
                .iter()
                .map(|d| {
                    (
                        format!("{{destination=\"{}\"}}", label(&d.destination)),
                        d.parked.max(0) as u64,
                    )
                })
                .collect(),
        );
        out
    }
}

/// A label value as the text format wants it: backslash, double quote and line feed escaped.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_so_the_scrape_stays_readable() {
        assert_eq!(label(r#"gun "A"\1"#), r#"gun \"A\"\\1"#);
        assert_eq!(label("two\nlines"), "two\\nlines");
        let m = Metrics::default();
        let scanner = ScannerFigures {
            name: "枪 \"B\"\n".into(),
            connected: true,
            frames: 3,
            errors: 0,
        };
        let text = m.render(0, &[], &[], &[scanner]);
        assert!(
            text.lines()
                .any(|l| l == r#"flashpick_scanner_frames_total{scanner="枪 \"B\"\n"} 3"#),
            "{text}"
        );
        // Every sample stays on one line, ending in its value.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let value = l.rsplit_once(' ').map(|(_, v)| v).unwrap_or_default();
            assert!(value.parse::<u64>().is_ok(), "{l}");
        }
    }
}
