//! Money as integer fen (分): never a float, so sums and refunds are exact.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in fen (1/100 yuan).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    /// `qty` times this unit price, saturating rather than wrapping on absurd input.
    pub fn times(self, qty: i64) -> Fen {
        Fen(self.0.saturating_mul(qty))
    }
}

impl fmt::Display for Fen {
    /// Always `¥` with two decimals, the one yuan sign used everywhere.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_displays_with_one_yuan_sign_and_two_decimals() {
        assert_eq!(Fen(1234).to_string(), "¥12.34");
        assert_eq!(Fen(5).to_string(), "¥0.05");
        assert_eq!(Fen(-250).to_string(), "-¥2.50");
        assert_eq!(Fen(300).times(3), Fen(900));
    }
}
