//! Printing: the store's documents (order slip, pick list, bag labels, test page) laid out for
//! a thermal printer's paper width in its language. Pure documents here; the printer's bytes,
//! its jobs and its drivers come on top of them.

pub mod bytes;
pub mod device;
pub mod doc;
pub mod documents;
mod job;
pub mod status;
pub mod worker;

pub use doc::{Align, Block, Doc, Size, render_text};
pub use documents::{Kind, OrderDoc, label, slip, test_page};
