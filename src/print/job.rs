//! A printer's thread: it prints its jobs from the store in order, each marked done once the
//! printer took it and, where it answers DLE EOT, said nothing of a paper end or an error. A
//! printer that is off, out of paper or unplugged keeps its jobs; the thread tries again every
//! few seconds at most, and when the printer is back the jobs print once, in order. Jobs of
//! orders handed over or cancelled meanwhile are skipped (a reprint someone asked for is not).
//! A job printed whose mark cannot be written (the store refusing writes) is never sent again:
//! only its mark is retried.

use super::device::{self, SendError};
use super::documents::{self, Kind, OrderDoc};
use super::worker::{Health, job_name};
use crate::config::PrinterConfig;
use crate::model::OrderState;
use crate::store::print::{JobEnd, PrintJob, next_job};
use crate::store::{Store, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a printer with nothing to print sleeps between looks (a wake-up comes sooner).
const IDLE: Duration = Duration::from_secs(5);
/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait before trying a printer that failed again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A printer that has never answered DLE EOT is asked again every this many jobs (it may have
/// been busy, or been swapped for one that answers).
const ASK_AGAIN_EVERY: u32 = 20;

/// How a job went at the printer.
struct Done {
    end: JobEnd,
    /// Whether the printer answered DLE EOT; `None` when it was not reached (a skip).
    answered: Option<bool>,
}

/// One printer's worker.
pub(super) struct Job {
    pub(super) config: PrinterConfig,
    pub(super) store: Store,
    pub(super) label_prefix: Option<String>,
    pub(super) health: Arc<Mutex<Health>>,
    pub(super) stop: Arc<AtomicBool>,
}

impl Job {
    pub(super) fn run(self, woken: Receiver<()>) {
        // A printer that answered DLE EOT once is always asked (a busy moment must not switch
        // the paper check off); one that never did is asked now and then.
        let (mut speaks, mut since_asked) = (false, 0u32);
        let mut backoff = FIRST_BACKOFF;
        let mut unmarked: Option<(i64, JobEnd)> = None;
        // The error of the current run of failures: logged and recorded once, not every retry.
        let mut failing: Option<String> = None;
        while !self.stop.load(Ordering::Relaxed) {
            if let Some((id, end)) = unmarked.take() {
                if let Err(e) = self.mark(id, &end) {
                    tracing::warn!(printer = %self.config.name, job = id, error = %e, "a printed job cannot be marked; it is not sent again");
                    unmarked = Some((id, end));
                    if wait(&woken, backoff) {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
                backoff = FIRST_BACKOFF;
            }
            let job = match self.store.read(|c| next_job(c, &self.config.name)) {
                Ok(j) => j,
                Err(StoreError::Closed) => return,
                Err(e) => {
                    tracing::warn!(printer = %self.config.name, error = %e, "cannot read print jobs");
                    None
                }
            };
            let Some(job) = job else {
                // Nothing to print: a problem shown from the last failure may be gone.
                if self.health.lock().expect("printer health").online == Some(false) {
                    self.probe();
                }
                if wait(&woken, IDLE) {
                    return;
                }
                continue;
            };
            let ask = speaks || since_asked.is_multiple_of(ASK_AGAIN_EVERY);
            match self.print(&job, ask) {
                Ok(done) => {
                    match done.answered {
                        Some(true) => (speaks, since_asked) = (true, 1),
                        Some(false) => since_asked += 1,
                        None => {}
                    }
                    if failing.take().is_some() {
                        tracing::info!(printer = %self.config.name, "printer back; printing its jobs");
                    }
                    if let Err(e) = self.mark(job.id, &done.end) {
                        tracing::warn!(printer = %self.config.name, job = job.id, error = %e, "a printed job cannot be marked; it is not sent again");
                        unmarked = Some((job.id, done.end));
                    }
                    backoff = FIRST_BACKOFF;
                    // The loop looks anyway: a wake-up for this job is spent.
                    let _ = woken.try_recv();
                }
                Err(e) => {
                    since_asked = 0;
                    if failing.as_deref() != Some(e.what.as_str()) {
                        tracing::warn!(printer = %self.config.name, job = job.id, error = %e, "print job not printed; kept for a retry");
                        if let Err(e) = self.store.print_failed_blocking(job.id, e.what.clone()) {
                            tracing::warn!(error = %e, "cannot record a failed print");
                        }
                        failing = Some(e.what.clone());
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

    /// Prints one job, or finds it is to be skipped.
    fn print(&self, job: &PrintJob, ask: bool) -> Result<Done, SendError> {
        let read = self.store.read(|c| {
            let order = crate::store::load_order(c, job.order_id)?;
            let walk = match &order {
                Some(o) => crate::store::walk(c, o)?,
                None => Vec::new(),
            };
            Ok((order, walk))
        });
        let skip = |why: String| Done {
            end: JobEnd::Skipped(why),
            answered: None,
        };
        let (order, walk) = match read {
            Ok((Some(o), w)) => (o, w),
            Ok((None, _)) => return Ok(skip("the order is not in the store".into())),
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
            return Ok(skip(format!(
                "order #{} was {} before the printer could print its {}",
                order.day_seq,
                order.state.as_str(),
                job.document.as_str()
            )));
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
        let delivered = device::deliver(&self.config, &job_name(job, &code), &bytes, ask)?;
        let mut h = self.health.lock().expect("printer health");
        h.online = Some(true);
        h.state = delivered.state;
        h.printed += 1;
        Ok(Done {
            end: JobEnd::Printed,
            answered: ask.then_some(delivered.state.is_some()),
        })
    }

    /// Marks a job done in the store.
    fn mark(&self, id: i64, end: &JobEnd) -> Result<(), StoreError> {
        if let JobEnd::Skipped(why) = end {
            tracing::info!(printer = %self.config.name, job = id, %why, "print job skipped");
        }
        self.store.print_done_blocking(id, end.clone())?;
        if matches!(end, JobEnd::Skipped(_)) {
            self.health.lock().expect("printer health").skipped += 1;
        }
        Ok(())
    }

    /// Asks an idle printer how it is, so that a problem it had does not stand on the screens
    /// after it was fixed (or after its last job was skipped).
    fn probe(&self) {
        let (online, state, error) = match device::probe(&self.config) {
            Ok(state) => (state.is_none_or(|s| s.ready()), state, None),
            Err(e) => (false, e.state, Some(e.to_string())),
        };
        let mut h = self.health.lock().expect("printer health");
        h.online = Some(online);
        h.state = state;
        if error.is_some() {
            h.last_error = error;
        }
    }
}

/// Waits for a wake-up or `timeout`; true when the sender is gone (shutting down).
fn wait(woken: &Receiver<()>, timeout: Duration) -> bool {
    match woken.recv_timeout(timeout) {
        Ok(()) | Err(RecvTimeoutError::Timeout) => false,
        Err(RecvTimeoutError::Disconnected) => true,
    }
}
