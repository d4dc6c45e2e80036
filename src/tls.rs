//! The process's TLS crypto provider, installed once. reqwest and rumqttc are built without one
//! of their own (`*-no-provider`), so every client that may speak TLS (the platform channels,
//! the simulator's pushes, the HQ link) asks for it here first.

use std::sync::Once;

/// Installs ring as the process's rustls provider; later calls do nothing. A provider another
/// part of the program installed first is kept.
pub fn ensure_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
