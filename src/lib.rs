//! flashpick: the store-side edge agent for 30-minute delivery.
//!
//! Map of the house (arrows point down only; `tests/it/layers.rs` enforces it):
//! - [`model`]: the pure domain — ids, money in fen, the order state machine, stock arithmetic,
//!   the SLA clock, barcodes, China time, the screen language. No I/O; table- and
//!   property-tested.
//! - [`config`]: the store's TOML file, strictly parsed and validated (exit 78 on a bad one).
//!   Uses model.
//! - [`store`]: SQLite — migrations, the single writer thread (each write a closure over its
//!   transaction), reader connections, queries by aggregate, catalog import, typed outbox
//!   payloads. Uses model and config.
//! - [`scan`]: serial barcode scanners — a reader thread per port, framing, reconnection. Uses
//!   config (the matrix would allow model and store; it needs neither).
//! - [`sync`]: the delivery platforms — signatures, adapters, the outbox delivery workers, the
//!   push receivers. Uses model, config and store.
//! - [`api`]: the local Unix-socket protocol (JSON lines) with its own records, shared by the
//!   daemon, the CLI and the TUI. Uses model only.
//! - [`hq`]: headquarters over MQTT — events out of the outbox (done on PUBACK), relayed orders
//!   and catalog deltas in, signed configs with rollback, fleet status. Beside the daemon: it
//!   reaches the daemon only through the narrow [`hq::Host`] handle.
//! - [`sim`]: the platform simulator (`flashpick sim`): both platforms' side of the API, for the
//!   demo and the tests. Beside everything; uses model only (its own signing and
//!   encoding, written from the documented rules, apart from the adapters it tests).
//! - [`daemon`]: wiring — `run(config, shutdown)`, the socket server, `/metrics` and `/healthz`,
//!   systemd readiness; the socket's requests routed to typed handlers; converts store records
//!   to socket records and hosts the HQ link.
//! - [`tui`]: the pick-and-pack terminal UI, a socket client: state + update + render, no I/O
//!   in its core. Uses api and model only.
//! - [`cli`]: the `flashpick` command line. Uses everything.
//! - [`throttle`]: one warning line per interval for things that repeat (used at every door).
//! - [`backoff`]: the one backoff and its jitter, for every loop that retries.
//! - [`tls`]: the rustls crypto provider, installed once.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod hq;
pub mod model;
pub mod print;
pub mod scan;
pub mod sim;
pub mod store;
pub mod sync;
pub mod throttle;
pub mod tls;
pub mod tui;
