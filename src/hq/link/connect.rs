//! Reaching the broker: the client options (client id, login, will, keep-alive) and TLS, and the
//! text of a failed connection with its causes.

use super::super::wire::Topics;
use super::inbound::MAX_INCOMING;
use super::outbound::offline;
use crate::config::{Config, HqSection};
use rumqttc::{LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use std::sync::Arc;
use std::time::Duration;

/// A connection error with its causes (rumqttc's own text stops at "TLS error").
pub(super) fn link_error(e: &rumqttc::ConnectionError) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// The client's options from `[hq]`.
pub fn options(config: &Config) -> Result<MqttOptions, String> {
    let hq: &HqSection = &config.hq;
    let addr = hq.broker_addr()?;
    let mut o = MqttOptions::new(config.store.id.clone(), addr.host.clone(), addr.port);
    o.set_keep_alive(Duration::from_secs(hq.keep_alive_secs));
    // A persistent session: orders HQ relays while the store is away wait at the broker.
    o.set_clean_session(false);
    o.set_manual_acks(true);
    o.set_inflight((hq.window as u16).saturating_mul(2).max(8));
    // Above what is accepted, so an oversized message is refused with a reason, not dropped
    // with the connection (again and again, as the broker redelivers it).
    o.set_max_packet_size(4 * MAX_INCOMING, 8 << 20);
    o.set_last_will(LastWill::new(
        Topics::new(&config.store.id).status,
        offline(&config.store.id),
        QoS::AtLeastOnce,
        true,
    ));
    if let (Some(u), p) = (&hq.username, &hq.password) {
        o.set_credentials(
            u.clone(),
            p.as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default(),
        );
    }
    if addr.tls {
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(tls(hq)?),
        )));
    }
    Ok(o)
}

fn tls(hq: &HqSection) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    crate::tls::ensure_provider();
    let mut roots = rustls::RootCertStore::empty();
    match &hq.ca_file {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("hq.ca_file {}: {e}", path.display()))?
            {
                let cert = cert.map_err(|e| format!("hq.ca_file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("hq.ca_file {}: {e}", path.display()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err("no CA certificates to check the broker with: set hq.ca_file".into());
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    match (&hq.client_cert, &hq.client_key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("hq.client_cert {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("hq.client_key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}
