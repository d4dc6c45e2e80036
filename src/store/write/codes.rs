//! Barcodes as the catalog writes them: compared as GTINs (13 and 14 digits of one item are one
//! code), never taken silently from another item. A code that belongs to another sku moves only
//! when that sku is in the same batch without it (a real move); otherwise the batch is refused,
//! naming both.

use crate::model::item::{code_key, stored_forms};
use crate::store::StoreError;
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::{HashMap, HashSet};

/// One item's codes as a batch brings them.
pub(in crate::store) struct ItemCodes<'a> {
    /// Where it is, for messages: `line 7`, `change 3`.
    pub place: String,
    /// The item.
    pub sku: &'a str,
    /// Its codes.
    pub codes: &'a [String],
}

/// Refuses a code that is one GTIN twice in the batch, or that another sku in the store has
/// and keeps (it is not in the batch, or is with that code). The error is the index of the item
/// at fault and what is wrong, naming the other place or sku. Returns the codes (as keys) that
/// move from one sku to another, for [`write_codes`].
pub(in crate::store) fn check_codes(
    tx: &Transaction<'_>,
    batch: &[ItemCodes<'_>],
) -> Result<HashSet<String>, (usize, String)> {
    let mut in_batch: HashMap<String, (&str, &str)> = HashMap::new();
    for (i, item) in batch.iter().enumerate() {
        for code in item.codes {
            if let Some((place, sku)) = in_batch.insert(code_key(code), (&item.place, item.sku)) {
                return Err((
                    i,
                    format!("barcode {code} is also on {place} (sku {sku}): one code, one item"),
                ));
            }
        }
    }
    let keeps: HashMap<&str, &[String]> = batch.iter().map(|i| (i.sku, i.codes)).collect();
    let mut moving = HashSet::new();
    for (i, item) in batch.iter().enumerate() {
        for code in item.codes {
            let owner = other_owner(tx, code, item.sku).map_err(|e| (i, e.to_string()))?;
            let Some(owner) = owner else {
                continue;
            };
            let key = code_key(code);
            let moved_away = keeps
                .get(owner.as_str())
                .is_some_and(|codes| !codes.iter().any(|c| code_key(c) == key));
            if !moved_away {
                return Err((
                    i,
                    format!(
                        "barcode {code} already belongs to sku {owner}; to move it to sku {}, give sku {owner} in the same batch without it",
                        item.sku
                    ),
                ));
            }
            moving.insert(key);
        }
    }
    Ok(moving)
}

/// The same rule for scale PLUs (one PLU, one item): refuses a PLU twice in the batch, or one
/// another sku keeps. Returns the PLUs that move, for [`free_plu`].
pub(in crate::store) fn check_plus(
    tx: &Transaction<'_>,
    batch: &[(&str, Option<&str>)],
) -> Result<HashSet<String>, (usize, String)> {
    let mut in_batch: HashMap<&str, usize> = HashMap::new();
    for (i, (_, plu)) in batch.iter().enumerate() {
        if let Some(plu) = plu
            && let Some(first) = in_batch.insert(plu, i)
        {
            return Err((
                i,
                format!(
                    "plu {plu} is also on sku {}: one PLU, one item",
                    batch[first].0
                ),
            ));
        }
    }
    let keeps: HashMap<&str, Option<&str>> = batch.iter().copied().collect();
    let mut moving = HashSet::new();
    for (i, (sku, plu)) in batch.iter().enumerate() {
        let Some(plu) = plu else { continue };
        let owner: Option<String> = tx
            .prepare_cached("SELECT sku FROM sku WHERE plu = ?1 AND sku != ?2")
            .and_then(|mut s| s.query_row(params![plu, sku], |r| r.get(0)).optional())
            .map_err(|e| (i, e.to_string()))?;
        let Some(owner) = owner else { continue };
        let moved_away = keeps
            .get(owner.as_str())
            .is_some_and(|kept| *kept != Some(*plu));
        if !moved_away {
            return Err((
                i,
                format!(
                    "plu {plu} already belongs to sku {owner}; to move it to sku {sku}, give sku {owner} in the same batch without it"
                ),
            ));
        }
        moving.insert(plu.to_string());
    }
    Ok(moving)
}

/// Takes a moving PLU off the sku that had it, before its new item is written.
pub(in crate::store) fn free_plu(
    tx: &Transaction<'_>,
    sku: &str,
    plu: Option<&str>,
    moving: &HashSet<String>,
) -> Result<(), StoreError> {
    if let Some(plu) = plu.filter(|p| moving.contains(*p)) {
        tx.prepare_cached("UPDATE sku SET plu = NULL WHERE plu = ?1 AND sku != ?2")?
            .execute(params![plu, sku])?;
    }
    Ok(())
}

/// Another sku that has `code` in any of its stored forms.
fn other_owner(tx: &Transaction<'_>, code: &str, sku: &str) -> rusqlite::Result<Option<String>> {
    let mut forms = stored_forms(code);
    forms.resize(5, code.to_string());
    tx.prepare_cached(
        "SELECT sku FROM barcode WHERE code IN (?1, ?2, ?3, ?4, ?5) AND sku != ?6 LIMIT 1",
    )?
    .query_row(
        params![forms[0], forms[1], forms[2], forms[3], forms[4], sku],
        |r| r.get(0),
    )
    .optional()
}

/// Replaces a sku's codes. A code that moves (`moving`, from [`check_codes`], which allowed
/// the move) leaves whichever sku had it, in every form it was stored under.
pub(in crate::store) fn write_codes(
    tx: &Transaction<'_>,
    sku: &str,
    codes: &[String],
    moving: &HashSet<String>,
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM barcode WHERE sku = ?1")?
        .execute([sku])?;
    for code in codes {
        if !moving.is_empty() && moving.contains(&code_key(code)) {
            let mut forms = stored_forms(code);
            forms.resize(5, code.to_string());
            tx.prepare_cached("DELETE FROM barcode WHERE code IN (?1, ?2, ?3, ?4, ?5)")?
                .execute(params![forms[0], forms[1], forms[2], forms[3], forms[4]])?;
        }
        tx.prepare_cached("INSERT INTO barcode (code, sku) VALUES (?1, ?2)")?
            .execute(params![code, sku])?;
    }
    Ok(())
}

/// Codes that are one GTIN on more than one sku (written before codes were compared as GTINs):
/// each as (code key, the skus). For doctor.
pub fn conflicting_codes(
    conn: &rusqlite::Connection,
) -> rusqlite::Result<Vec<(String, Vec<String>)>> {
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut stmt = conn.prepare("SELECT code, sku FROM barcode")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (code, sku) = row?;
        let skus = by_key.entry(code_key(&code)).or_default();
        if !skus.contains(&sku) {
            skus.push(sku);
        }
    }
    let mut out: Vec<(String, Vec<String>)> =
        by_key.into_iter().filter(|(_, s)| s.len() > 1).collect();
    out.sort();
    Ok(out)
}
