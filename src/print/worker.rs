//! The printers' threads: one per printer (the drivers block, and one slow printer must not
//! hold up another), each running its printer's jobs (`job`), and what is known of each
//! printer for the status, the screens and `/metrics`.

use super::status::PrinterState;
use crate::config::PrinterConfig;
use crate::store::Store;
use crate::store::print::PrintJob;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

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
    /// Until the thread starts.
    woken: Mutex<Option<Receiver<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The store's printers and their threads.
pub struct Printers {
    workers: Vec<Worker>,
    stop: Arc<AtomicBool>,
}

impl Printers {
    /// The printers of the config, their threads not started yet ([`Printers::spawn`]).
    pub fn new(configs: &[PrinterConfig]) -> Self {
        let workers = configs
            .iter()
            .map(|c| {
                let (wake, woken) = std::sync::mpsc::sync_channel(1);
                Worker {
                    config: c.clone(),
                    health: Arc::new(Mutex::new(Health::default())),
                    wake,
                    woken: Mutex::new(Some(woken)),
                    thread: Mutex::new(None),
                }
            })
            .collect();
        Printers {
            workers,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts a thread per printer (once; last in a daemon's start, so that a start that fails
    /// leaves no thread behind). `label_prefix` is the order prefix the labels' barcodes carry
    /// (the first of `[barcodes] order_prefixes`).
    pub fn spawn(&self, store: &Store, label_prefix: Option<String>) {
        for w in &self.workers {
            let Some(woken) = w.woken.lock().expect("printer wake").take() else {
                continue;
            };
            let job = super::job::Job {
                config: w.config.clone(),
                store: store.clone(),
                label_prefix: label_prefix.clone(),
                health: w.health.clone(),
                stop: self.stop.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("printer-{}", w.config.name))
                .spawn(move || job.run(woken));
            match thread {
                Ok(t) => *w.thread.lock().expect("printer thread") = Some(t),
                Err(e) => {
                    tracing::error!(printer = %w.config.name, error = %e, "cannot start a printer thread")
                }
            }
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

    /// Tells every printer's thread to look (changes were coalesced: who has work is unknown).
    pub fn wake_all(&self) {
        for w in &self.workers {
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

    /// Stops the threads (each finishes the job in hand) and waits for them, at most `within`:
    /// a printer that does not answer (a connect timing out) must not hold up a shutdown. A
    /// thread left behind is like a crash: its job prints again after the restart, once.
    pub fn stop(&self, within: Duration) {
        self.ask_stop();
        let threads: Vec<JoinHandle<()>> = self
            .workers
            .iter()
            .filter_map(|w| w.thread.lock().expect("printer thread").take())
            .collect();
        if threads.is_empty() {
            return;
        }
        let (done, joined) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for t in threads {
                let _ = t.join();
            }
            let _ = done.send(());
        });
        if joined.recv_timeout(within).is_err() {
            tracing::warn!("a printer did not finish its job in time; it prints again on restart");
        }
    }
}

/// Dropped without [`Printers::stop`] (a failed start): the threads still stop by themselves.
impl Drop for Printers {
    fn drop(&mut self) {
        self.ask_stop();
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
