//! Headquarters over MQTT.
//!
//! - `wire`: the topic contract (topics and payload types; `assets/asyncapi.yaml` documents it);
//! - `link`: the one task owning the rumqttc event loop: events out of the outbox, marked done
//!   on PUBACK; orders, catalog deltas and configs in, acknowledged after they are committed;
//! - `signed`: minisign verification of configs, and key generation and signing for `flashpick hq`;
//! - `applied`: the config from HQ in force, the last good one, and the rollback record.

pub mod applied;
pub(crate) mod link;
pub mod signed;
pub mod wire;

pub use link::options;
