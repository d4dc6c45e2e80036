//! A customer's request the store must decide: a full refund, a partial refund or a cancel. The
//! platform opens it by push; a manager agrees or rejects; the decision goes to the platform
//! once, and its effect on the order happens when the platform confirms. Pure rules here; the
//! store keeps the rows and the adapters speak each platform's words.

use super::ids::{Platform, Timestamp};
use super::order::MAX_REASON_BYTES;
use serde::{Deserialize, Serialize};

/// What the customer asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Every item refunded: agreed, the order is cancelled.
    FullRefund,
    /// Some items refunded: agreed, those units leave the order.
    PartRefund,
    /// Cancel the order (JD `applyCancelOrder`).
    Cancel,
}

impl RequestKind {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::FullRefund => "full_refund",
            RequestKind::PartRefund => "part_refund",
            RequestKind::Cancel => "cancel",
        }
    }

    /// From [`RequestKind::as_str`].
    pub fn parse(s: &str) -> Option<RequestKind> {
        [
            RequestKind::FullRefund,
            RequestKind::PartRefund,
            RequestKind::Cancel,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether agreeing ends the order.
    pub fn cancels(self) -> bool {
        !matches!(self, RequestKind::PartRefund)
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for the store.
    Open,
    /// The store agreed; the platform has not confirmed yet.
    Agreeing,
    /// The store rejected; the platform has not confirmed yet.
    Rejecting,
    /// Agreed, and the platform confirmed (by answer or push).
    Agreed,
    /// Rejected, and the platform confirmed.
    Rejected,
    /// The customer withdrew it, or the platform decided it otherwise.
    Withdrawn,
    /// The platform refused the store's decision (decided already, by itself after the time
    /// limit or on its console): see the order on the platform.
    Failed,
}

impl RequestState {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Open => "open",
            RequestState::Agreeing => "agreeing",
            RequestState::Rejecting => "rejecting",
            RequestState::Agreed => "agreed",
            RequestState::Rejected => "rejected",
            RequestState::Withdrawn => "withdrawn",
            RequestState::Failed => "failed",
        }
    }

    /// From [`RequestState::as_str`].
    pub fn parse(s: &str) -> Option<RequestState> {
        use RequestState as S;
        [
            S::Open,
            S::Agreeing,
            S::Rejecting,
            S::Agreed,
            S::Rejected,
            S::Withdrawn,
            S::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Still waiting for someone (the store or the platform).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            RequestState::Open | RequestState::Agreeing | RequestState::Rejecting
        )
    }
}

/// One item a partial refund names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestItem {
    /// The platform's merchant code of the item (`app_food_code`), when sent.
    #[serde(default)]
    pub code: Option<String>,
    /// The name as sold.
    #[serde(default)]
    pub name: String,
    /// Units refunded this time.
    pub count: i64,
}

impl RequestItem {
    /// "name ×count" for people.
    pub fn label(&self) -> String {
        let name = if self.name.is_empty() {
            self.code.as_deref().unwrap_or("?")
        } else {
            &self.name
        };
        format!("{name} ×{}", self.count)
    }
}

/// A request as the platform opened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    /// The platform.
    pub platform: Platform,
    /// The platform's order id.
    pub external_id: String,
    /// What is asked.
    pub kind: RequestKind,
    /// The platform's id of this refund (Meituan `refund_id`); empty when it sends none.
    pub refund_id: String,
    /// The items of a partial refund.
    pub items: Vec<RequestItem>,
    /// The customer's reason.
    pub reason: String,
}

/// A request as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRequest {
    /// The store's id of the request.
    pub id: i64,
    /// The store's order, when it is here.
    pub order_id: Option<i64>,
    /// The request as opened.
    #[serde(flatten)]
    pub asked: NewRequest,
    /// Where it stands.
    pub state: RequestState,
    /// When it arrived.
    pub opened_at: Timestamp,
    /// Decide before this: the platform decides by itself after its limit.
    pub decide_by: Timestamp,
    /// Who decided here.
    #[serde(default)]
    pub decided_by: Option<String>,
    /// The store's reason for a rejection.
    #[serde(default)]
    pub decision_reason: Option<String>,
}

/// Why a decision is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// Decided already (here or at the platform).
    #[error("this request is {} already: nothing was sent", .0.as_str())]
    NotOpen(RequestState),
    /// A rejection needs the store's reason, which the platform shows the customer.
    #[error("a rejection needs a reason (1 to {MAX_REASON_BYTES} bytes), shown to the customer")]
    NoReason,
}

impl CustomerRequest {
    /// The state a manager's decision moves the request to, or why it cannot be taken.
    pub fn decide(&self, agree: bool, reason: &str) -> Result<RequestState, DecideError> {
        if self.state != RequestState::Open {
            return Err(DecideError::NotOpen(self.state));
        }
        if !agree && (reason.trim().is_empty() || reason.len() > MAX_REASON_BYTES) {
            return Err(DecideError::NoReason);
        }
        Ok(if agree {
            RequestState::Agreeing
        } else {
            RequestState::Rejecting
        })
    }

    /// Seconds left to decide at `now` (0 when past).
    pub fn secs_left(&self, now: Timestamp) -> i64 {
        ((self.decide_by.0 - now.0) / 1000).max(0)
    }
}

/// How the platform settled a request (its push, or its answer to the store's decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The refund or cancel went through.
    Agreed,
    /// It was refused.
    Rejected,
    /// The customer withdrew it.
    Withdrawn,
}

impl Settled {
    /// The request's state afterwards.
    pub fn state(self) -> RequestState {
        match self {
            Settled::Agreed => RequestState::Agreed,
            Settled::Rejected => RequestState::Rejected,
            Settled::Withdrawn => RequestState::Withdrawn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(state: RequestState) -> CustomerRequest {
        CustomerRequest {
            id: 1,
            order_id: Some(7),
            asked: NewRequest {
                platform: Platform::Meituan,
                external_id: "1001".into(),
                kind: RequestKind::FullRefund,
                refund_id: String::new(),
                items: vec![],
                reason: "不想要了".into(),
            },
            state,
            opened_at: Timestamp(1_000),
            decide_by: Timestamp(601_000),
            decided_by: None,
            decision_reason: None,
        }
    }

    #[test]
    fn only_an_open_request_is_decided_and_a_rejection_says_why() {
        let open = request(RequestState::Open);
        assert_eq!(open.decide(true, ""), Ok(RequestState::Agreeing));
        assert_eq!(open.decide(false, "已出餐"), Ok(RequestState::Rejecting));
        assert_eq!(open.decide(false, "  "), Err(DecideError::NoReason));
        assert_eq!(
            open.decide(false, &"x".repeat(MAX_REASON_BYTES + 1)),
            Err(DecideError::NoReason)
        );
        for s in [
            RequestState::Agreeing,
            RequestState::Rejecting,
            RequestState::Agreed,
            RequestState::Rejected,
            RequestState::Withdrawn,
            RequestState::Failed,
        ] {
            assert_eq!(request(s).decide(true, ""), Err(DecideError::NotOpen(s)));
        }
    }

    #[test]
    fn names_round_trip_and_the_countdown_stops_at_zero() {
        for k in [
            RequestKind::FullRefund,
            RequestKind::PartRefund,
            RequestKind::Cancel,
        ] {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        for s in [
            RequestState::Open,
            RequestState::Failed,
            RequestState::Agreed,
        ] {
            assert_eq!(RequestState::parse(s.as_str()), Some(s));
        }
        let r = request(RequestState::Open);
        assert_eq!(r.secs_left(Timestamp(1_000)), 600);
        assert_eq!(r.secs_left(Timestamp(900_000)), 0);
        assert!(!RequestKind::PartRefund.cancels() && RequestKind::Cancel.cancels());
    }
}
