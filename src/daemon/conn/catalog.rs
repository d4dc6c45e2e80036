//! The catalog's staging area: rows sent by `catalog_stage`, bounded per connection and across
//! all of them, written in one transaction by `catalog_commit`.

use super::dispatch::{bad_request, store_error};
use crate::api::{ApiError, CatalogRow, ImportedReply, StagedReply};
use crate::daemon::Shared;
use std::sync::atomic::Ordering;

/// Most catalog rows one connection may stage: well above any store's assortment.
const MAX_STAGED: usize = 1_000_000;
/// Most bytes of catalog rows one connection may stage (100,000 items take about 25 MiB).
const MAX_STAGED_BYTES: usize = 64 << 20;
/// Most bytes of catalog rows staged on all connections together.
const MAX_STAGED_TOTAL: usize = 128 << 20;

/// What a staged row costs in memory, roughly: its texts and a fixed part.
fn row_bytes(r: &CatalogRow) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    std::mem::size_of::<CatalogRow>()
        + r.sku.0.len()
        + r.name.len()
        + opt(&r.name_en)
        + opt(&r.spec)
        + r.location.len()
        + opt(&r.plu)
        + r.barcodes.iter().map(|b| b.len() + 24).sum::<usize>()
}

/// One connection's staged rows and what they are counted as.
#[derive(Default)]
pub(super) struct Staging {
    rows: Vec<CatalogRow>,
    bytes: usize,
}

impl Staging {
    /// Empties the staging area and gives its bytes back to the daemon's total.
    pub(super) fn clear(&mut self, shared: &Shared) {
        self.rows = Vec::new();
        shared
            .staged_bytes
            .fetch_sub(std::mem::take(&mut self.bytes), Ordering::Relaxed);
    }

    /// Adds rows, or empties the area when they would pass a bound.
    pub(super) fn stage(
        &mut self,
        shared: &Shared,
        rows: Vec<CatalogRow>,
    ) -> Result<StagedReply, ApiError> {
        let bytes: usize = rows.iter().map(row_bytes).sum();
        // Counted first, then checked: two clients staging at once cannot both slip under the
        // bound.
        let total = shared.staged_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.bytes += bytes;
        let refusal = if self.rows.len() + rows.len() > MAX_STAGED {
            Some(format!("more than {MAX_STAGED} catalog rows"))
        } else if self.bytes > MAX_STAGED_BYTES {
            Some(format!(
                "more than {} MiB of catalog rows on one connection",
                MAX_STAGED_BYTES >> 20
            ))
        } else if total > MAX_STAGED_TOTAL {
            Some(format!(
                "more than {} MiB of catalog rows staged by all clients together (another import is running?)",
                MAX_STAGED_TOTAL >> 20
            ))
        } else {
            None
        };
        if let Some(what) = refusal {
            self.clear(shared);
            return Err(bad_request(format!(
                "{what} staged; the staging area was emptied: split the catalog into smaller files"
            )));
        }
        self.rows.extend(rows);
        Ok(StagedReply {
            staged: self.rows.len(),
        })
    }

    /// Imports what is staged in one transaction (checked as every door checks an item row),
    /// and empties the area whatever the outcome.
    pub(super) async fn commit(&mut self, shared: &Shared) -> Result<ImportedReply, ApiError> {
        // The rows stay counted until the writer is done with them.
        let rows = std::mem::take(&mut self.rows)
            .into_iter()
            .map(Into::into)
            .collect();
        let imported = shared.store.import_catalog(rows).await;
        self.clear(shared);
        let imported = imported.map_err(|e| store_error(e, shared))?;
        Ok(ImportedReply { imported })
    }
}
