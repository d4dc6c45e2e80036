//! `[alerts]`: how new orders keep ringing until someone acts on them.

use serde::Deserialize;

/// `[alerts]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// A new order rings again on every screen this often until someone claims it (or accepts
    /// it, where the store accepts by hand).
    #[serde(default = "default_repeat")]
    pub alert_repeat_secs: u32,
    /// Where the store accepts by hand (`auto_accept = false`): the time it has to accept a new
    /// order before the platform gives up on the store (neither platform's limit is documented:
    /// kept short on purpose).
    #[serde(default = "default_accept_within")]
    pub accept_within_secs: u32,
    /// That close to the acceptance deadline the alert escalates: red, and every
    /// `api::ESCALATED_REPEAT_SECS`.
    #[serde(default = "default_escalate_within")]
    pub escalate_within_secs: u32,
}

fn default_repeat() -> u32 {
    30
}
fn default_accept_within() -> u32 {
    300
}
fn default_escalate_within() -> u32 {
    120
}

impl Default for AlertsSection {
    fn default() -> Self {
        AlertsSection {
            alert_repeat_secs: default_repeat(),
            accept_within_secs: default_accept_within(),
            escalate_within_secs: default_escalate_within(),
        }
    }
}

/// The limits, with the key and what to do.
pub(super) fn validate(a: &AlertsSection) -> Result<(), (String, String)> {
    if !(5..=600).contains(&a.alert_repeat_secs) {
        return Err((
            "alerts.alert_repeat_secs".into(),
            "use 5 to 600 seconds: faster is noise, slower lets an order wait unseen".into(),
        ));
    }
    if !(30..=3600).contains(&a.accept_within_secs) {
        return Err((
            "alerts.accept_within_secs".into(),
            "use 30 to 3600 seconds".into(),
        ));
    }
    if a.escalate_within_secs > a.accept_within_secs {
        return Err((
            "alerts.escalate_within_secs".into(),
            format!(
                "use 0 to accept_within_secs ({}): it counts back from the acceptance deadline",
                a.accept_within_secs
            ),
        ));
    }
    Ok(())
}
