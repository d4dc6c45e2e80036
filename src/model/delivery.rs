//! Who takes an order to the customer: the platform's riders, the store's own, or the customer
//! collecting it. JD sends it per order (`deliveryCarrierNo`) and the pick-complete call differs by
//! it; the store's `[platforms.jddj] delivery` is the fallback for an order that carries none.

use serde::{Deserialize, Serialize};

/// Who delivers an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// The platform's riders.
    #[default]
    Platform,
    /// The store's own riders.
    Store,
    /// The customer collects the order at the store.
    Pickup,
}

impl Delivery {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Platform => "platform",
            Delivery::Store => "store",
            Delivery::Pickup => "pickup",
        }
    }

    /// From [`Delivery::as_str`].
    pub fn parse(s: &str) -> Option<Delivery> {
        match s {
            "platform" => Some(Delivery::Platform),
            "store" => Some(Delivery::Store),
            "pickup" => Some(Delivery::Pickup),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in [Delivery::Platform, Delivery::Store, Delivery::Pickup] {
            assert_eq!(Delivery::parse(d.as_str()), Some(d));
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
        assert_eq!(Delivery::parse("dada"), None);
    }
}
