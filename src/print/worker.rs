//! One thread per printer (the drivers block, and one slow printer must not hold up another):
//! it prints its printer's jobs from the store in order, each marked done once the printer
//! took it and said nothing of a paper end or an error. A printer that is off, out of paper or
//! unplugged keeps its jobs; the thread tries again, every few seconds at most, and when the
//! printer is back the jobs print once, in order. Jobs of orders handed over or cancelled
//! meanwhile are skipped (a reprint someone asked for is not).

use super::device::{self, SendError};
use super::documents::{self, Kind, OrderDoc};
use super::status::PrinterState;
use crate::config::PrinterConfig;
use crate::model::OrderState;
use crate::store::print::{JobEnd, PrintJob, next_job};
use crate::store::{Store, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a printer with nothing to print sleeps between looks (a wake-up comes sooner).
const IDLE: Duration = Duration::from_secs(5);
/// The longest wait before trying a printer that failed again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What is known of a printer, for the status, the screens and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Took its last job (or answered ready); `None` before the first try.
    pub online: Option<bool>,
    /// What it said about itself last, if it speaks DLE EOT.
    pub state: Option<PrinterState>,
    /// The latest failure, with what to check.
    pub last_error: Option<String>,
    /// Jobs printed since start.
    pub printed: u64,
    /// Failed tries since start.
    pub failures: u64,
    /// Jobs skipped (their orders were gone before the printer could print them).
    pub skipped: u64,
}

struct Worker {
    config: PrinterConfig,
    health: Arc<Mutex<Health>>,
    wake: SyncSender<()>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The store's printers and their threads.
pub struct Printers {
    workers: Vec<Worker>,
    stop: Arc<AtomicBool>,
}

impl Printers {
    /// Starts a thread per printer. `label_prefix` is the order prefix the labels' barcodes
    /// carry (the first of `[barcodes] order_prefixes`).
    pub fn start(configs: &[PrinterConfig], store: &Store, label_prefix: Option<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = configs
            .iter()
            .map(|c| {
                let (wake, woken) = std::sync::mpsc::sync_channel(1);
                let health = Arc::new(Mutex::new(Health::default()));
                let job = Job {
                    config: c.clone(),
                    store: store.clone(),
                    label_prefix: label_prefix.clone(),
                    health: health.clone(),
                    stop: stop.clone(),
                };
                let thread = std::thread::Builder::new()
                    .name(format!("printer-{}", c.name))
                    .spawn(move || job.run(woken))
                    .ok();
                Worker {
                    config: c.clone(),
                    health,
                    wake,
                    thread: Mutex::new(thread),
                }
            })
            .collect();
        Printers { workers, stop }
    }

    /// No printers (the daemon without `[[printers]]`).
    pub fn none() -> Self {
        Printers {
            workers: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Tells the named printers' threads they have new jobs.
    pub fn wake(&self, names: &[String]) {
        for w in self
            .workers
            .iter()
            .filter(|w| names.contains(&w.config.name))
        {
            let _ = w.wake.try_send(());
        }
    }

    /// Each printer with what is known of it.
    pub fn list(&self) -> Vec<(&PrinterConfig, Health)> {
        self.workers
            .iter()
            .map(|w| (&w.config, w.health.lock().expect("printer health").clone()))
            .collect()
    }

    /// Asks the threads to stop after the job in hand.
    pub fn ask_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in &self.workers {
            let _ = w.wake.try_send(());
        }
    }

    /// Stops the threads (each finishes the job in hand) and waits for them.
    pub fn stop(&self) {
        self.ask_stop();
        for w in &self.workers {
            let thread = w.thread.lock().expect("printer thread").take();
            if let Some(t) = thread {
                let _ = t.join();
            }
        }
    }
}

/// Dropped without [`Printers::stop`] (a failed start): the threads still stop by themselves.
impl Drop for Printers {
    fn drop(&mut self) {
        self.ask_stop();
    }
}

struct Job {
    config: PrinterConfig,
    store: Store,
    label_prefix: Option<String>,
    health: Arc<Mutex<Health>>,
    stop: Arc<AtomicBool>,
}

impl Job {
    fn run(self, woken: Receiver<()>) {
        // Whether the printer answers DLE EOT: asked until it stays silent once, then trusted
        // (a silent printer would cost the wait on every job); asked again after a failure.
        let mut ask = true;
        let mut backoff = Duration::from_millis(500);
        while !self.stop.load(Ordering::Relaxed) {
            let job = match self.store.read(|c| next_job(c, &self.config.name)) {
                Ok(j) => j,
                Err(StoreError::Closed) => return,
                Err(e) => {
                    tracing::warn!(printer = %self.config.name, error = %e, "cannot read print jobs");
                    None
                }
            };
            let Some(job) = job else {
                if wait(&woken, IDLE) {
                    return;
                }
                continue;
            };
            match self.print(&job, ask) {
                Ok(answered) => {
                    ask = answered;
                    backoff = Duration::from_millis(500);
                    // Whatever the printer does next, drain a pending wake-up: the loop looks.
                    let _ = woken.try_recv();
                }
                Err(e) => {
                    ask = true;
                    tracing::warn!(printer = %self.config.name, job = job.id, error = %e, "print job not printed; kept for a retry");
                    if let Err(e) = self.store.print_failed_blocking(job.id, e.what.clone()) {
                        tracing::warn!(error = %e, "cannot record a failed print");
                    }
                    let mut h = self.health.lock().expect("printer health");
                    h.online = Some(false);
                    h.state = e.state;
                    h.failures += 1;
                    h.last_error = Some(e.to_string());
                    drop(h);
                    if wait(&woken, backoff) {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Prints one job (or skips it); `Ok(answered)` says whether the printer answered DLE EOT.
    fn print(&self, job: &PrintJob, ask: bool) -> Result<bool, SendError> {
        let read = self.store.read(|c| {
            let order = crate::store::load_order(c, job.order_id)?;
            let walk = match &order {
                Some(o) => crate::store::walk(c, o)?,
                None => Vec::new(),
            };
            Ok((order, walk))
        });
        let (order, walk) = match read {
            Ok((Some(o), w)) => (o, w),
            Ok((None, _)) => {
                self.done(job, JobEnd::Skipped("the order is not in the store".into()));
                return Ok(ask);
            }
            Err(e) => {
                return Err(SendError {
                    printer: self.config.name.clone(),
                    what: format!("cannot read the order: {e}"),
                    state: None,
                });
            }
        };
        if job.reprint_by.is_none()
            && matches!(order.state, OrderState::HandedOver | OrderState::Cancelled)
        {
            let why = format!(
                "order #{} was {} before the printer could print its {}",
                order.day_seq,
                order.state.as_str(),
                job.document.as_str()
            );
            self.done(job, JobEnd::Skipped(why));
            return Ok(ask);
        }
        let code = match &self.label_prefix {
            Some(p) => format!("{p}{}", order.id.0),
            None => order.external_id.clone(),
        };
        let doc = OrderDoc {
            order: &order,
            walk: &walk,
            code: &code,
            now: self.store.clock().now(),
        };
        let (lang, columns) = (self.config.lang, self.config.columns());
        let doc = match job.document {
            Kind::Label => documents::label(doc, job.bag, job.bags, lang, columns),
            kind => documents::slip(doc, kind, lang, columns),
        };
        let bytes = super::bytes::encode(&doc).map_err(|e| SendError {
            printer: self.config.name.clone(),
            what: format!("cannot encode the document: {e}"),
            state: None,
        })?;
        let name = job_name(job, &code);
        let delivered = device::deliver(&self.config, &name, &bytes, ask)?;
        self.done(job, JobEnd::Printed);
        let mut h = self.health.lock().expect("printer health");
        h.online = Some(true);
        h.state = delivered.state;
        h.printed += 1;
        Ok(delivered.state.is_some())
    }

    fn done(&self, job: &PrintJob, end: JobEnd) {
        let skipped = matches!(end, JobEnd::Skipped(_));
        if let JobEnd::Skipped(why) = &end {
            tracing::info!(printer = %self.config.name, job = job.id, %why, "print job skipped");
        }
        match self.store.print_done_blocking(job.id, end) {
            Ok(_) if skipped => self.health.lock().expect("printer health").skipped += 1,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, job = job.id, "cannot mark a print job done"),
        }
    }
}

/// A job's name (a `file` printer's file): its number first, so the files sort in print order.
pub fn job_name(job: &PrintJob, code: &str) -> String {
    let bag = if job.bags > 0 {
        format!("-bag{}of{}", job.bag, job.bags)
    } else {
        String::new()
    };
    format!("{:08}-{}-{code}{bag}", job.id, job.document.as_str())
}

/// Waits for a wake-up or `timeout`; true when the sender is gone (shutting down).
fn wait(woken: &Receiver<()>, timeout: Duration) -> bool {
    match woken.recv_timeout(timeout) {
        Ok(()) | Err(RecvTimeoutError::Timeout) => false,
        Err(RecvTimeoutError::Disconnected) => true,
    }
}
