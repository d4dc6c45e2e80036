//! Counters for `/metrics` (Prometheus text format). Live figures (orders, outbox) are read from
//! the database at scrape time so they can never drift from the truth.

use crate::api::ScanOutcome;
use crate::store::OutboxDepth;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeMetric, MetricEncoder, prometheus_text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
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
    pub scans: [AtomicU64; ScanOutcome::ALL.len()],
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

/// One printer's figures at scrape time.
pub struct PrinterFigures {
    /// Name.
    pub name: String,
    /// Took its last job.
    pub online: bool,
    /// Jobs waiting.
    pub waiting: u64,
    /// Seconds the oldest waiting job has waited (0 when none waits).
    pub oldest_secs: u64,
    /// Jobs printed since start.
    pub printed: u64,
    /// Failed tries since start.
    pub failures: u64,
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

    /// The Prometheus text exposition (0.0.4), encoded by `prometheus-client` from the counters
    /// as read now and the live figures given. Label values from the config or the database
    /// (scanner names, states, destinations) are escaped by the encoder as the format asks
    /// (since prometheus-client 0.25.2; the test below holds it to that): one scanner named with a
    /// quote would otherwise make the whole scrape unreadable.
    pub fn render(
        &self,
        started_at_secs: i64,
        orders: &[(String, i64)],
        outbox: &[OutboxDepth],
        scanners: &[ScannerFigures],
        printers: &[PrinterFigures],
        batches: &[u32],
    ) -> String {
        let scrape = self.scrape(started_at_secs, orders, outbox, scanners, printers, batches);
        let mut registry = Registry::default();
        registry.register_collector(Box::new(scrape));
        let mut out = String::new();
        prometheus_text::encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }

    /// Every family and its samples, as read now.
    fn scrape(
        &self,
        started_at_secs: i64,
        orders: &[(String, i64)],
        outbox: &[OutboxDepth],
        scanners: &[ScannerFigures],
        printers: &[PrinterFigures],
        batches: &[u32],
    ) -> Scrape {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let one = |v: u64| vec![(None, v)];
        let by = |key: &'static str, pairs: Vec<(String, u64)>| -> Vec<Sample> {
            pairs
                .into_iter()
                .map(|(value, v)| (Some((key, value)), v))
                .collect()
        };
        let doors = |c: &[AtomicU64; 2]| {
            by(
                "door",
                vec![
                    ("socket".into(), g(&c[Door::Socket as usize])),
                    ("webhook".into(), g(&c[Door::Webhook as usize])),
                ],
            )
        };
        let per = |f: &dyn Fn(&ScannerFigures) -> u64| {
            by(
                "scanner",
                scanners.iter().map(|s| (s.name.clone(), f(s))).collect(),
            )
        };
        let printer = |f: &dyn Fn(&PrinterFigures) -> u64| {
            by(
                "printer",
                printers.iter().map(|p| (p.name.clone(), f(p))).collect(),
            )
        };
        let destinations = |f: &dyn Fn(&OutboxDepth) -> i64| {
            by(
                "destination",
                outbox
                    .iter()
                    .map(|d| (d.destination.clone(), f(d).max(0) as u64))
                    .collect(),
            )
        };
        use MetricType::{Counter, Gauge};
        let families = vec![
            Family::new("flashpick_up", Gauge, "1 while the daemon runs.", one(1)),
            Family::new(
                "flashpick_start_time_seconds",
                Gauge,
                "Unix time the daemon started.",
                one(started_at_secs.max(0) as u64),
            ),
            Family::new(
                "flashpick_api_clients",
                Gauge,
                "Clients attached to the socket.",
                one(g(&self.clients)),
            ),
            Family::new(
                "flashpick_api_requests",
                Counter,
                "Socket requests answered, by result.",
                by(
                    "result",
                    vec![
                        ("ok".into(), g(&self.requests_ok)),
                        ("refused".into(), g(&self.requests_refused)),
                    ],
                ),
            ),
            Family::new(
                "flashpick_api_malformed",
                Counter,
                "Socket lines that were not valid requests.",
                one(g(&self.malformed)),
            ),
            Family::new(
                "flashpick_api_events_lagged",
                Counter,
                "Events a slow client missed (it was told to resync).",
                one(g(&self.lagged)),
            ),
            Family::new(
                "flashpick_store_errors",
                Counter,
                "Database writes that failed (not refusals).",
                one(g(&self.store_errors)),
            ),
            Family::new(
                "flashpick_hq_connected",
                Gauge,
                "1 while connected to the HQ broker.",
                one(g(&self.hq_connected)),
            ),
            Family::new(
                "flashpick_hq_connects",
                Counter,
                "Connections made to the HQ broker.",
                one(g(&self.hq_connects)),
            ),
            Family::new(
                "flashpick_hq_events_acked",
                Counter,
                "Events the HQ broker acknowledged (PUBACK seen; outbox rows done).",
                one(g(&self.hq_events_acked)),
            ),
            Family::new(
                "flashpick_hq_rejected",
                Counter,
                "Messages from HQ refused, by topic.",
                by(
                    "topic",
                    vec![
                        ("orders_or_catalog".into(), g(&self.hq_rejected)),
                        ("config".into(), g(&self.hq_config_rejected)),
                    ],
                ),
            ),
            Family::new(
                "flashpick_accept_errors",
                Counter,
                "Failed accepts (descriptors exhausted); the accept loop backs off.",
                doors(&self.accept_errors),
            ),
            Family::new(
                "flashpick_connections_evicted",
                Counter,
                "Connections closed at the cap to make room (the oldest not in a request).",
                doors(&self.evicted),
            ),
            Family::new(
                "flashpick_connections_turned_away",
                Counter,
                "Connections turned away at the cap because every one was busy.",
                doors(&self.turned_away),
            ),
            Family::new(
                "flashpick_webhook_connections",
                Counter,
                "Connections accepted on the webhook port.",
                one(g(&self.webhook_connections)),
            ),
            Family::new(
                "flashpick_scans",
                Counter,
                "Pick scans, by result.",
                by(
                    "result",
                    ScanOutcome::ALL
                        .into_iter()
                        .map(|o| (o.as_str().to_string(), g(&self.scans[scan_index(o)])))
                        .collect(),
                ),
            ),
            Family::new(
                "flashpick_scan_repeats",
                Counter,
                "A scanner repeating one read within the repeat window (not counted as units).",
                one(g(&self.scan_repeats)),
            ),
            Family::new(
                "flashpick_scanner_connected",
                Gauge,
                "1 while the scanner's port is open.",
                per(&|s| u64::from(s.connected)),
            ),
            Family::new(
                "flashpick_scanner_frames",
                Counter,
                "Codes read from each scanner.",
                per(&|s| s.frames),
            ),
            Family::new(
                "flashpick_scanner_errors",
                Counter,
                "Rejected frames (noise, too long, not text) and port errors per scanner.",
                per(&|s| s.errors),
            ),
            Family::new(
                "flashpick_orders",
                Gauge,
                "Orders in the database, by state.",
                by(
                    "state",
                    orders
                        .iter()
                        .map(|(s, n)| (s.clone(), (*n).max(0) as u64))
                        .collect(),
                ),
            ),
            Family::new(
                "flashpick_outbox_pending",
                Gauge,
                "Outbox rows waiting for delivery, by destination.",
                destinations(&|d| d.pending),
            ),
            Family::new(
                "flashpick_outbox_parked",
                Gauge,
                "Outbox rows permanently refused, waiting for a person, by destination.",
                destinations(&|d| d.parked),
            ),
            Family::new(
                "flashpick_batches_picking",
                Gauge,
                "Batches being picked (several orders in one walk).",
                one(batches.len() as u64),
            ),
            Family::new(
                "flashpick_batch_orders_picking",
                Gauge,
                "Orders being picked in batches.",
                one(batches.iter().map(|n| u64::from(*n)).sum()),
            ),
            Family::new(
                "flashpick_printer_online",
                Gauge,
                "1 while the printer takes its jobs (0 off, out of paper, unplugged).",
                printer(&|p| u64::from(p.online)),
            ),
            Family::new(
                "flashpick_printer_jobs_waiting",
                Gauge,
                "Print jobs waiting at each printer.",
                printer(&|p| p.waiting),
            ),
            Family::new(
                "flashpick_printer_oldest_job_seconds",
                Gauge,
                "How long the oldest waiting job has waited (0 when none waits).",
                printer(&|p| p.oldest_secs),
            ),
            Family::new(
                "flashpick_printer_printed",
                Counter,
                "Print jobs printed since start, per printer.",
                printer(&|p| p.printed),
            ),
            Family::new(
                "flashpick_printer_failures",
                Counter,
                "Failed tries at a print job, per printer.",
                printer(&|p| p.failures),
            ),
        ];
        Scrape { families }
    }
}

/// One sample: its one label (name, value), if any, and its value.
type Sample = (Option<(&'static str, String)>, u64);

/// A metric family as scraped: a counter's name is given without `_total`, which the encoder
/// adds.
#[derive(Debug)]
struct Family {
    name: &'static str,
    kind: MetricType,
    help: &'static str,
    samples: Vec<Sample>,
}

impl Family {
    fn new(name: &'static str, kind: MetricType, help: &'static str, samples: Vec<Sample>) -> Self {
        Family {
            name,
            kind,
            help,
            samples,
        }
    }

    fn encode(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        // A family without samples (no scanner configured) still has its HELP and TYPE lines,
        // as the hand-written encoder wrote them.
        let mut metric = encoder.encode_descriptor(self.name, self.help, None, self.kind)?;
        if let [(None, value)] = self.samples.as_slice() {
            return value_of(self.kind, *value, metric);
        }
        for (label, value) in &self.samples {
            // Built so: a family has either one sample without labels or labelled ones.
            let Some((key, val)) = label else { continue };
            let set = [(*key, val)];
            value_of(self.kind, *value, metric.encode_family(&set)?)?;
        }
        Ok(())
    }
}

fn value_of(kind: MetricType, value: u64, encoder: MetricEncoder) -> std::fmt::Result {
    if kind == MetricType::Counter {
        ConstCounter::new(value).encode(encoder)
    } else {
        // Gauges are encoded as signed integers; every figure here is far below i64::MAX.
        ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)).encode(encoder)
    }
}

/// Every family of one scrape, handed to the encoder as a collector.
#[derive(Debug)]
struct Scrape {
    families: Vec<Family>,
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        for f in &self.families {
            f.encode(&mut encoder)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_so_the_scrape_stays_readable() {
        let m = Metrics::default();
        let scanner = ScannerFigures {
            name: "枪 \"B\"\\1\n".into(),
            connected: true,
            frames: 3,
            errors: 0,
        };
        let text = m.render(0, &[], &[], &[scanner], &[], &[]);
        assert!(
            text.lines()
                .any(|l| l == r#"flashpick_scanner_frames_total{scanner="枪 \"B\"\\1\n"} 3"#),
            "{text}"
        );
        // A family with no sample yet (no scanner configured) is still described, as before.
        let bare = m.render(0, &[], &[], &[], &[], &[]);
        assert!(
            bare.contains("# TYPE flashpick_scanner_frames_total counter\n"),
            "{bare}"
        );
        assert!(!bare.contains("flashpick_scanner_frames_total{"), "{bare}");
        // Every sample stays on one line, ending in its value.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let value = l.rsplit_once(' ').map(|(_, v)| v).unwrap_or_default();
            assert!(value.parse::<u64>().is_ok(), "{l}");
        }
    }
}
