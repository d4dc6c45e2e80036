//! The store's printed documents, by name: what a print job prints and what a reprint asks for.

use serde::{Deserialize, Serialize};

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Document {
    /// The order slip, on accept.
    Slip,
    /// The pick list, on claim.
    PickList,
    /// One label per bag, on pack.
    Label,
}

impl Document {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Document::Slip => "slip",
            Document::PickList => "pick_list",
            Document::Label => "label",
        }
    }

    /// From its stored name (anything else reads as the slip).
    pub fn parse(s: &str) -> Document {
        match s {
            "pick_list" => Document::PickList,
            "label" => Document::Label,
            _ => Document::Slip,
        }
    }
}
