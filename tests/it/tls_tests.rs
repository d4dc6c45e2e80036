//! The link to HQ over TLS (`mqtts://`): with the configured CA the store comes online at HQ;
//! a broker whose certificate is self-signed, or made out for another name, is refused and the
//! reason is shown in the store's status. There is no switch that skips the check.
//!
//! The broker speaks plain MQTT; a TLS front in this test (rustls, the fixture certificates in
//! `tests/fixtures/tls`) stands before it as a load balancer would.

use crate::hq_tests::hq_config;
use crate::mqtt::Hq;
use crate::net::Broker;
use flashpick::api::client::Client;
use flashpick::api::{ChannelStatus, Request};
use flashpick::config::Config;
use flashpick::daemon::Daemon;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// Terminates TLS with the fixture certificate `name` and pipes each connection to the broker.
async fn tls_front(upstream: u16, name: &str) -> u16 {
    let chain = CertificateDer::pem_file_iter(fixture(&format!("{name}.pem")))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture(&format!("{name}.key"))).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

/// A store `id` whose HQ link goes to `broker` and checks it against the test CA.
async fn store(dir: &Path, id: &str, broker: &str) -> Daemon {
    let ca = format!("ca_file = \"{}\"\n", fixture("ca.pem").display());
    let text = hq_config(dir, broker, &ca).source.replace("T-0001", id);
    Daemon::start(Config::parse(&text, Path::new("tls.toml")).unwrap())
        .await
        .unwrap()
}

/// The store's own view of its HQ link, once it has a failure to show.
async fn hq_failure(d: &Daemon) -> ChannelStatus {
    let mut c = Client::connect(d.socket_path(), "test", Some("station"))
        .await
        .unwrap();
    crate::common::within(20, "the HQ link's failure in the status", async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            let status = c.request(Request::Status).await.unwrap();
            let hq: Option<ChannelStatus> = status["channels"]
                .as_array()
                .and_then(|a| a.iter().find(|ch| ch["name"] == "hq"))
                .map(|ch| serde_json::from_value(ch.clone()).unwrap());
            if let Some(hq) = hq.filter(|h| h.last_error.is_some()) {
                return hq;
            }
            tick.tick().await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_is_checked_against_the_configured_ca_and_nothing_else() {
    let broker = Broker::start();
    let hq = Hq::connect(broker.port).await;
    let trusted = tls_front(broker.port, "broker").await;
    let rogue = tls_front(broker.port, "rogue").await;
    let elsewhere = tls_front(broker.port, "elsewhere").await;

    // Signed by the CA, for this name: online at HQ, through TLS.
    let dir = tempfile::tempdir().unwrap();
    let d = store(
        dir.path(),
        "TLS-OK",
        &format!("mqtts://localhost:{trusted}"),
    )
    .await;
    hq.until(20, "the store online over TLS", |h| {
        h.last("TLS-OK/status").is_some_and(|s| s["online"] == true)
    })
    .await;
    d.shutdown().await;

    // Self-signed, and signed by the CA for another name: refused, with the reason shown.
    for (id, port, reason) in [
        ("TLS-ROGUE", rogue, "UnknownIssuer"),
        ("TLS-NAME", elsewhere, "not valid for name"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = store(dir.path(), id, &format!("mqtts://localhost:{port}")).await;
        let link = hq_failure(&d).await;
        let error = link.last_error.clone().unwrap();
        assert!(!link.online, "{link:?}");
        assert!(
            error.contains("certificate") && error.contains(reason),
            "{id}: {error}"
        );
        assert!(
            hq.last(&format!("{id}/status")).is_none(),
            "{id} reached HQ through a broker it cannot trust"
        );
        d.shutdown().await;
    }
}
