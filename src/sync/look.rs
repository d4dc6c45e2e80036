//! Look before repeating: a change a platform is not known to dedupe (a Meituan partial refund)
//! is never sent again blindly after its answer was lost. Before the first send the store notes
//! what the platform shows (each item's refundable count, `order/getPartRefundFoods`); after a
//! lost answer it looks again and compares: the counts fell by exactly what was asked → the
//! refund is there (done); unchanged → it is not (send again); anything else → a person decides
//! (parked, a manager told). Matching by counts rather than by a marker in the refund's reason:
//! the reason is shown to the customer and no source says refund records echo it back, while
//! the refundable counts are what a refund changes, by definition. Pure: the worker does the I/O.

use serde_json::Value;
use std::collections::BTreeMap;

/// Refundable units per item code, as the platform showed them.
pub type Counts = BTreeMap<String, i64>;

/// How to look for an action's effect: the query, and what the action asks (item code, units).
pub type Lookup = Result<(crate::sync::HttpCall, Vec<(String, i64)>), String>;

/// What a look after a lost answer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The change is at the platform: the row is done.
    There,
    /// Nothing changed: the change never arrived; send it again.
    NotThere,
    /// Something else changed (another refund of the same items meanwhile): a person decides.
    Unclear(String),
}

/// The refundable counts in a `getPartRefundFoods` answer (`[{app_food_code, count}, …]`).
pub fn counts(data: &Value) -> Result<Counts, String> {
    let foods = data
        .as_array()
        .ok_or_else(|| format!("refundable items: not a list: {data}"))?;
    foods
        .iter()
        .map(|f| {
            let code = f["app_food_code"]
                .as_str()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| format!("refundable item without app_food_code: {f}"))?;
            let n = f["count"]
                .as_i64()
                .or_else(|| f["count"].as_str().and_then(|s| s.parse().ok()))
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("refundable item {code}: count {}", f["count"]))?;
            Ok((code.to_string(), n))
        })
        .collect()
}

/// Counts as stored on the row, and back.
pub fn to_value(c: &Counts) -> Value {
    serde_json::to_value(c).unwrap_or(Value::Null)
}

/// Counts read back from the row.
pub fn from_value(v: &Value) -> Option<Counts> {
    serde_json::from_value(v.clone()).ok()
}

/// Whether `asked` (item code, units) shows between `before` and `after`.
pub fn compare(asked: &[(String, i64)], before: &Counts, after: &Counts) -> Seen {
    let mut fell = BTreeMap::new();
    for (code, n) in asked {
        *fell.entry(code.as_str()).or_insert(0) += n;
    }
    let drops: Vec<(&str, i64, i64)> = fell
        .iter()
        .map(|(code, n)| {
            let drop =
                before.get(*code).copied().unwrap_or(0) - after.get(*code).copied().unwrap_or(0);
            (*code, *n, drop)
        })
        .collect();
    if drops.iter().all(|(_, n, drop)| drop == n) {
        Seen::There
    } else if drops.iter().all(|(_, _, drop)| *drop == 0) {
        Seen::NotThere
    } else {
        let shown: Vec<String> = drops
            .iter()
            .map(|(code, n, drop)| format!("{code}: asked {n}, refundable fell by {drop}"))
            .collect();
        Seen::Unclear(format!(
            "the platform's refundable counts changed otherwise than this refund would ({}): another refund of the same items came meanwhile",
            shown.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&str, i64)]) -> Counts {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn a_refund_is_there_when_the_counts_fell_by_it_and_absent_when_they_did_not() {
        let asked = vec![("W550".to_string(), 1), ("MILK".to_string(), 2)];
        let before = c(&[("W550", 2), ("MILK", 2), ("BREAD", 1)]);
        assert_eq!(
            compare(
                &asked,
                &before,
                &c(&[("W550", 1), ("MILK", 0), ("BREAD", 1)])
            ),
            Seen::There
        );
        assert_eq!(compare(&asked, &before, &before), Seen::NotThere);
        // Another refund of W550 meanwhile: nobody can tell.
        assert!(matches!(
            compare(
                &asked,
                &before,
                &c(&[("W550", 0), ("MILK", 0), ("BREAD", 1)])
            ),
            Seen::Unclear(_)
        ));
        // Half there is not there.
        assert!(matches!(
            compare(
                &asked,
                &before,
                &c(&[("W550", 1), ("MILK", 2), ("BREAD", 1)])
            ),
            Seen::Unclear(_)
        ));
    }

    #[test]
    fn refundable_counts_are_read_strictly() {
        let data = serde_json::json!([{"app_food_code": "W550", "count": 2}, {"app_food_code": "M", "count": "1"}]);
        assert_eq!(counts(&data).unwrap(), c(&[("W550", 2), ("M", 1)]));
        assert!(counts(&serde_json::json!([{"app_food_code": "W550", "count": -1}])).is_err());
        assert!(counts(&serde_json::json!({"W550": 2})).is_err());
        let back = from_value(&to_value(&c(&[("W550", 2)]))).unwrap();
        assert_eq!(back, c(&[("W550", 2)]));
    }
}
