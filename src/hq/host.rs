//! What the HQ link needs from the process that runs it: a narrow handle (the store, the config,
//! a few counters, a status source, alerts, the reload sender) instead of the whole daemon, so
//! the link sits beside the daemon's other parts and not on top of them.

use crate::config::Config;
use crate::model::OrderId;
use crate::store::Store;
use std::future::Future;

/// Something the link tells its host: for the counters and the link's place in the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkNote {
    /// The broker accepted the connection.
    Up,
    /// The session ended (any reason).
    Down,
    /// The link failed, with the reason.
    Failed(String),
    /// HQ acknowledged this many events.
    EventsAcked(u64),
    /// An order or a catalog delta from HQ was refused.
    Rejected,
    /// A config from HQ was refused.
    ConfigRejected,
}

/// The link's handle on the daemon. The daemon implements it; tests may too.
pub trait Host: Send + Sync + 'static {
    /// A subscription to changes of the store's machinery (a scanner, a platform channel).
    type Changes: Send;
    /// The config in force.
    fn config(&self) -> &Config;
    /// The store.
    fn store(&self) -> &Store;
    /// Counts and records what the link did.
    fn note(&self, note: LinkNote);
    /// Raises an error alert about an order on every screen.
    fn alert(&self, message: String, order: OrderId);
    /// The fleet status as HQ reads it, fresh (`None` when the database cannot be read now);
    /// `last_sync` is left for the link to fill.
    fn status(&self) -> impl Future<Output = Option<super::wire::StatusDetail>> + Send;
    /// Starts listening for machinery changes.
    fn subscribe_changes(&self) -> Self::Changes;
    /// Completes at the next machinery change (cancel-safe).
    fn changed(changes: &mut Self::Changes) -> impl Future<Output = ()> + Send;
    /// Asks the daemon to restart with another config (applied from HQ, or a rollback).
    fn reload(&self, config: Config);
}
