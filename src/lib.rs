//! flashpick: the store-side edge agent for 30-minute delivery.
//!
//! Map of the house (arrows point down only):
//! - [`model`]: the pure domain — ids, money in fen, the order state machine, stock arithmetic,
//!   the SLA clock. No I/O; table- and property-tested.
//! - [`config`]: the store's TOML file, strictly parsed and validated (exit 78 on a bad one).
//! - [`store`]: SQLite — migrations, the single writer thread, reader connections, catalog import.
//! - [`scan`]: serial barcode scanners — a reader thread per port, framing, reconnection.
//! - [`sync`]: the delivery platforms — signatures, adapters, the outbox delivery workers, the
//!   push receivers.
//! - [`hq`]: headquarters over MQTT — events out of the outbox (done on PUBACK), relayed orders
//!   and catalog deltas in, signed configs with rollback, fleet status.
//! - [`sim`]: the platform simulator (`flashpick sim`): both platforms' side of the API, for the
//!   demo and the tests.
//! - [`api`]: the local Unix-socket protocol (JSON lines) shared by the daemon, the CLI and the TUI.
//! - [`daemon`]: wiring — `run(config, shutdown)`, the socket server, `/metrics` and `/healthz`,
//!   systemd readiness.
//! - [`tui`]: the pick-and-pack terminal UI, a socket client: state + update + render, no I/O
//!   in its core.
//! - [`cli`]: the `flashpick` command line.
//! - [`throttle`]: one warning line per interval for things that repeat (used at every door).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod hq;
pub mod model;
pub mod scan;
pub mod sim;
pub mod store;
pub mod sync;
pub mod throttle;
pub mod tui;
