//! Headquarters over MQTT.
//!
//! - `wire`: the topic contract (topics and payload types; `assets/asyncapi.yaml` documents it);
//! - `inbound`: the contract's inbound messages (relayed orders, catalog deltas) and their
//!   conversion to the store's records, so the store's structs never define the contract;
//! - `host`: the narrow handle the link has on the daemon (config, store, counters, status,
//!   reload), instead of the whole daemon;
//! - `link`: the one task owning the rumqttc event loop: events out of the outbox, marked done
//!   on PUBACK; orders, catalog deltas and configs in, acknowledged after they are committed;
//! - `signed`: minisign verification of configs, and key generation and signing for `flashpick hq`;
//! - `applied`: the config from HQ in force, the last good one, and the rollback record.

pub mod applied;
mod host;
mod inbound;
pub mod link;
pub mod signed;
pub mod wire;

pub use host::{Host, LinkNote};
pub use link::options;

/// What to do about a broker that answered but refused the connection (its CONNACK code), or
/// `None` for any other failure. Retrying cannot fix a refused login.
pub fn refusal_fix(e: &rumqttc::ConnectionError) -> Option<&'static str> {
    use rumqttc::ConnectReturnCode as C;
    match e {
        rumqttc::ConnectionError::ConnectionRefused(code) => Some(match code {
            C::BadUserNamePassword | C::NotAuthorized => {
                "the broker refused the login: check hq.username and hq.password"
            }
            C::BadClientId => {
                "the broker refused the client id (the store id): check store.id and the broker's ACL"
            }
            C::ServiceUnavailable => "the broker is up but not taking connections: ask HQ",
            _ => "the broker refused the connection: check hq.broker and the broker's log",
        }),
        _ => None,
    }
}
