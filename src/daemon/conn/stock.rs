//! Requests about stock: search, receipts, counts, adjustments, a full resync to the platforms.

use super::dispatch::{Ctx, bad_request};
use crate::api::{ApiError, LookupReply, QueuedReply, StockReply};
use crate::model::SkuCode;
use crate::store::{self, StockOp, StockOpKind, StoreError};

/// Items matching `query` (at most 50).
pub(super) async fn lookup(cx: &Ctx<'_>, query: String) -> Result<LookupReply, ApiError> {
    let items = cx
        .shared
        .store
        .read_async(move |c| store::lookup_skus(c, &query, 50))
        .await
        .map_err(|e| cx.err(e))?;
    Ok(LookupReply {
        items: items.into_iter().map(Into::into).collect(),
    })
}

/// A receipt, count or adjustment of the item a code stands for. An adjustment needs a reason.
pub(super) async fn change(
    cx: &Ctx<'_>,
    code: String,
    kind: StockOpKind,
    reason: Option<String>,
) -> Result<StockReply, ApiError> {
    if matches!(kind, StockOpKind::Adjust(_))
        && reason.as_deref().is_none_or(|r| r.trim().is_empty())
    {
        return Err(bad_request("an adjustment needs a reason"));
    }
    let store = &cx.shared.store;
    let lookup = code.clone();
    let sku = store
        .read_async(move |c| store::sku_by_code(c, &lookup))
        .await
        .and_then(|s| s.ok_or(StoreError::NoSuchSku(SkuCode(code))))
        .map_err(|e| cx.err(e))?;
    let figures = store
        .stock(StockOp {
            sku: sku.clone(),
            kind,
            actor: cx.actor.to_string(),
            reason,
        })
        .await
        .map_err(|e| cx.err(e))?;
    Ok(StockReply {
        sku,
        on_hand: figures.on_hand,
        reserved: figures.reserved,
    })
}

/// A manager clears an item's sold-out mark: its real level goes to every platform again.
pub(super) async fn clear_sold_out(cx: &Ctx<'_>, code: String) -> Result<StockReply, ApiError> {
    if !cx
        .shared
        .config
        .staff
        .managers
        .iter()
        .any(|m| m == cx.actor)
    {
        return Err(ApiError {
            code: "refused".into(),
            message: format!(
                "only a manager clears a sold-out mark, and `{}` is not one ([staff] managers); a receipt or a shelf count clears it too",
                cx.actor
            ),
        });
    }
    let store = &cx.shared.store;
    let lookup = code.clone();
    let sku = store
        .read_async(move |c| store::sku_by_code(c, &lookup))
        .await
        .and_then(|s| s.ok_or(StoreError::NoSuchSku(SkuCode(code))))
        .map_err(|e| cx.err(e))?;
    store
        .clear_sold_out(sku.clone())
        .await
        .map_err(|e| cx.err(e))?;
    let lookup = sku.clone();
    let f = store
        .read_async(move |c| store::stock_figures(c, &lookup, crate::model::Platform::Hq, 0))
        .await
        .map_err(|e| cx.err(e))?;
    tracing::info!(sku = %sku.0, by = cx.actor, "sold-out mark cleared");
    Ok(StockReply {
        sku,
        on_hand: f.on_hand,
        reserved: f.reserved,
    })
}

/// Queues every stock level for every selling platform.
pub(super) async fn resync(cx: &Ctx<'_>) -> Result<QueuedReply, ApiError> {
    cx.shared
        .store
        .full_stock_sync()
        .await
        .map_err(|e| cx.err(e))?;
    Ok(QueuedReply { queued: true })
}
