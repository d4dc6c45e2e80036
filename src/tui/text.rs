//! Text that fits the screen: the display-width rules live in `model::text`, shared with the
//! printed documents so that columns line up the same way on paper.

pub use crate::model::text::{fit, mmss, percent, width, wrap};
