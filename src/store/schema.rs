//! The database schema as numbered, add-only migrations, and the connection pragmas.
//!
//! FROZEN: a migration that has shipped is never edited. Change the schema by appending a new entry;
//! `PRAGMA user_version` records how many have been applied.

use rusqlite::{Connection, TransactionBehavior};

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: catalog, stock and its ledger, orders, outbox, inbox, config history, people.
    r#"
    CREATE TABLE sku (
        sku           TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        name_en       TEXT,
        spec          TEXT,
        unit          TEXT NOT NULL DEFAULT 'piece' CHECK (unit IN ('piece', 'gram')),
        location      TEXT NOT NULL,
        walk_seq      INTEGER NOT NULL DEFAULT 0,
        price_fen     INTEGER,
        safety_stock  INTEGER,
        updated_at    INTEGER NOT NULL
    );
    CREATE TABLE barcode (
        code      TEXT PRIMARY KEY,
        sku       TEXT NOT NULL REFERENCES sku(sku) ON DELETE CASCADE,
        kind      TEXT NOT NULL DEFAULT 'gtin',
        pack_qty  INTEGER NOT NULL DEFAULT 1 CHECK (pack_qty > 0)
    );
    CREATE INDEX barcode_by_sku ON barcode(sku);
    CREATE TABLE platform_sku (
        platform         TEXT NOT NULL,
        platform_sku_id  TEXT NOT NULL,
        sku              TEXT NOT NULL REFERENCES sku(sku),
        safety_stock     INTEGER,
        PRIMARY KEY (platform, platform_sku_id)
    );
    CREATE INDEX platform_sku_by_sku ON platform_sku(sku, platform);
    CREATE TABLE stock (
        sku       TEXT PRIMARY KEY REFERENCES sku(sku),
        on_hand   INTEGER NOT NULL DEFAULT 0,
        reserved  INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0)
    );
    CREATE TABLE "order" (
        id                 INTEGER PRIMARY KEY,
        platform           TEXT NOT NULL,
        external_id        TEXT NOT NULL,
        day_seq            INTEGER NOT NULL,
        state              TEXT NOT NULL,
        picker             TEXT,
        placed_at          INTEGER NOT NULL,
        promised_at        INTEGER,
        platform_deadline  INTEGER,
        pick_deadline      INTEGER NOT NULL,
        pickup_code        TEXT,
        bags               INTEGER,
        return_pending     INTEGER NOT NULL DEFAULT 0,
        cancel_reason      TEXT,
        created_at         INTEGER NOT NULL,
        updated_at         INTEGER NOT NULL,
        version            INTEGER NOT NULL DEFAULT 0,
        UNIQUE (platform, external_id)
    );
    CREATE INDEX order_by_state ON "order"(state, pick_deadline);
    CREATE TABLE order_line (
        order_id        INTEGER NOT NULL REFERENCES "order"(id),
        line_no         INTEGER NOT NULL,
        sku             TEXT NOT NULL REFERENCES sku(sku),
        name            TEXT NOT NULL,
        qty             INTEGER NOT NULL CHECK (qty > 0),
        picked          INTEGER NOT NULL DEFAULT 0 CHECK (picked >= 0),
        short           INTEGER NOT NULL DEFAULT 0 CHECK (short >= 0),
        short_reason    TEXT,
        unit_price_fen  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (order_id, line_no),
        CHECK (picked + short <= qty)
    );
    CREATE INDEX order_line_by_sku ON order_line(sku);
    CREATE TABLE order_transition (
        id          INTEGER PRIMARY KEY,
        order_id    INTEGER NOT NULL REFERENCES "order"(id),
        event_id    TEXT NOT NULL UNIQUE,
        from_state  TEXT,
        to_state    TEXT NOT NULL,
        event       TEXT NOT NULL,
        actor       TEXT NOT NULL,
        at          INTEGER NOT NULL
    );
    CREATE INDEX order_transition_by_order ON order_transition(order_id);
    CREATE TABLE stock_move (
        id        INTEGER PRIMARY KEY,
        sku       TEXT NOT NULL REFERENCES sku(sku),
        delta     INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        reason    TEXT,
        actor     TEXT NOT NULL,
        order_id  INTEGER REFERENCES "order"(id),
        event_id  TEXT NOT NULL,
        at        INTEGER NOT NULL
    );
    CREATE INDEX stock_move_by_sku ON stock_move(sku);
    CREATE TRIGGER stock_move_append_only_update BEFORE UPDATE ON stock_move
        BEGIN SELECT RAISE(ABORT, 'stock_move is an append-only ledger'); END;
    CREATE TRIGGER stock_move_append_only_delete BEFORE DELETE ON stock_move
        BEGIN SELECT RAISE(ABORT, 'stock_move is an append-only ledger'); END;
    CREATE TABLE pick_scan (
        id        INTEGER PRIMARY KEY,
        order_id  INTEGER REFERENCES "order"(id),
        line_no   INTEGER,
        code      TEXT NOT NULL,
        result    TEXT NOT NULL,
        qty       INTEGER NOT NULL DEFAULT 0,
        actor     TEXT NOT NULL,
        scanner   TEXT,
        at        INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        id               INTEGER PRIMARY KEY,
        event_id         TEXT NOT NULL UNIQUE,
        destination      TEXT NOT NULL,
        kind             TEXT NOT NULL,
        coalesce_key     TEXT,
        payload          TEXT NOT NULL,
        state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'parked')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER NOT NULL,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        done_at          INTEGER
    );
    CREATE INDEX outbox_pending ON outbox(destination, id) WHERE state = 'pending';
    CREATE UNIQUE INDEX outbox_coalesce ON outbox(coalesce_key)
        WHERE state = 'pending' AND coalesce_key IS NOT NULL;
    CREATE TABLE inbox (
        source       TEXT NOT NULL,
        message_id   TEXT NOT NULL,
        received_at  INTEGER NOT NULL,
        PRIMARY KEY (source, message_id)
    );
    CREATE TABLE config_applied (
        version     INTEGER PRIMARY KEY,
        applied_at  INTEGER NOT NULL,
        source      TEXT NOT NULL,
        document    TEXT NOT NULL,
        status      TEXT NOT NULL
    );
    CREATE TABLE station (
        id    TEXT PRIMARY KEY,
        name  TEXT NOT NULL
    );
    CREATE TABLE picker (
        id     TEXT PRIMARY KEY,
        name   TEXT NOT NULL,
        badge  TEXT UNIQUE
    );
    CREATE TABLE day_seq (
        day   TEXT PRIMARY KEY,
        last  INTEGER NOT NULL
    );
    "#,
    // 2: scale item codes, the weight actually picked for weighed lines, scanner bindings.
    r#"
    ALTER TABLE sku ADD COLUMN plu TEXT;
    CREATE UNIQUE INDEX sku_by_plu ON sku(plu) WHERE plu IS NOT NULL;
    ALTER TABLE order_line ADD COLUMN weighed_g INTEGER;
    CREATE TABLE scanner_binding (
        scanner   TEXT PRIMARY KEY,
        picker    TEXT NOT NULL,
        bound_at  INTEGER NOT NULL
    );
    "#,
    // 3: what the platforms need: their item id per line, the remark, items no catalog entry
    // matched, and the last day sequence polled per platform.
    r#"
    ALTER TABLE order_line ADD COLUMN platform_item TEXT;
    ALTER TABLE "order" ADD COLUMN remark TEXT;
    ALTER TABLE "order" ADD COLUMN unknown_items TEXT;
    CREATE TABLE sync_state (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );
    "#,
    // 4: weighed goods in the platforms' sale units: the grams of one portion as the catalog
    // sells it, and as each order line was sold.
    r#"
    ALTER TABLE sku ADD COLUMN sale_unit_g INTEGER;
    ALTER TABLE order_line ADD COLUMN unit_g INTEGER;
    "#,
    // 5: weighed items still without their portion, found at every start without reading the
    // whole catalog (50,000 rows would cost milliseconds and ten megabytes of page cache).
    r#"
    CREATE INDEX sku_weighed_without_portion ON sku(sku)
        WHERE unit = 'gram' AND sale_unit_g IS NULL;
    "#,
    // 6: the code the platform sent for each line's item (its merchant code), so reports name
    // the item as the platform knows it even when it matched ours by barcode; the platform's own
    // item id learned with it (Meituan's sku_id, for stock calls); parked rows found for
    // `status` without reading the whole outbox.
    r#"
    ALTER TABLE order_line ADD COLUMN merchant_code TEXT;
    ALTER TABLE platform_sku ADD COLUMN item_id TEXT;
    CREATE INDEX outbox_parked ON outbox(destination, id) WHERE state = 'parked';
    "#,
    // 7: stock figures stay whole numbers. SQLite turns an integer overflow (`on_hand + delta`
    // past i64) into a REAL and stores it; every later read of that sku would then fail. Add-only:
    // triggers rather than a rebuilt table, and rows already holding a REAL are reported by
    // `bad_stock_figures` (doctor, the daemon's log), not refused here; a count repairs one.
    r#"
    CREATE TRIGGER stock_whole_insert BEFORE INSERT ON stock
        WHEN typeof(NEW.on_hand) != 'integer' OR typeof(NEW.reserved) != 'integer'
        BEGIN SELECT RAISE(ABORT, 'stock figures must be whole numbers (an overflow?); nothing was written'); END;
    CREATE TRIGGER stock_whole_update BEFORE UPDATE ON stock
        WHEN typeof(NEW.on_hand) != 'integer' OR typeof(NEW.reserved) != 'integer'
        BEGIN SELECT RAISE(ABORT, 'stock figures must be whole numbers (an overflow?); nothing was written'); END;
    CREATE TRIGGER stock_move_whole BEFORE INSERT ON stock_move
        WHEN typeof(NEW.delta) != 'integer'
        BEGIN SELECT RAISE(ABORT, 'stock moves must be whole numbers (an overflow?); nothing was written'); END;
    "#,
    // 8: messages refused for good (a signed push whose order is absurd) stay in the inbox with
    // the reason: acknowledged, never taken, alerted once.
    r#"
    ALTER TABLE inbox ADD COLUMN refused TEXT;
    "#,
    // 9: the last scan of an order found without reading every scan of the shift (the idle
    // claims check asks it of every order in picking).
    r#"
    CREATE INDEX pick_scan_by_order ON pick_scan(order_id, at);
    "#,
    // 10: platform reports an older release wrote for orders relayed by HQ (HQ has no report
    // API; they went out as events of a kind the contract does not have): done, never sent.
    r#"
    UPDATE outbox SET state = 'done', done_at = created_at,
        last_error = 'not sent: HQ learns its orders from order_transition events'
    WHERE destination = 'hq' AND kind = 'report' AND state = 'pending';
    "#,
    // 11: who delivers each order (JD sends it per order; NULL: the store's setting).
    r#"
    ALTER TABLE "order" ADD COLUMN delivery TEXT
        CHECK (delivery IS NULL OR delivery IN ('platform', 'store', 'pickup'));
    "#,
    // 12: customers' requests the store decides (refunds, cancels): one live request per order,
    // kind and refund id, so a push repeated by the platform opens nothing new.
    r#"
    CREATE TABLE customer_request (
        id              INTEGER PRIMARY KEY,
        platform        TEXT NOT NULL,
        external_id     TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('full_refund', 'part_refund', 'cancel')),
        refund_id       TEXT NOT NULL DEFAULT '',
        items           TEXT NOT NULL DEFAULT '[]',
        reason          TEXT NOT NULL DEFAULT '',
        state           TEXT NOT NULL CHECK (state IN ('open', 'agreeing', 'rejecting', 'agreed',
                            'rejected', 'withdrawn', 'failed')),
        opened_at       INTEGER NOT NULL,
        decide_by       INTEGER NOT NULL,
        decided_by      TEXT,
        decision_reason TEXT,
        closed_at       INTEGER
    );
    CREATE UNIQUE INDEX customer_request_live ON customer_request(platform, external_id, kind, refund_id)
        WHERE state IN ('open', 'agreeing', 'rejecting');
    CREATE INDEX customer_request_by_order ON customer_request(platform, external_id);
    "#,
    // 13: a granted partial refund takes units off an order once (`applied_at`): `qty` stays
    // what was ordered (its CHECKs stand), `refunded` is what refunds took off; picked units it
    // took out of the tote wait on the put-back list (`put_back`) until staff confirm.
    r#"
    ALTER TABLE customer_request ADD COLUMN applied_at INTEGER;
    ALTER TABLE order_line ADD COLUMN put_back INTEGER NOT NULL DEFAULT 0 CHECK (put_back >= 0);
    ALTER TABLE order_line ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0
        CHECK (refunded >= 0 AND refunded <= qty);
    "#,
    // 14: the rider as the platform last reported (JSON of `model::rider::Rider`); when the
    // customer last chased the order, until someone opens it.
    r#"
    ALTER TABLE "order" ADD COLUMN rider TEXT;
    ALTER TABLE "order" ADD COLUMN reminded_at INTEGER;
    "#,
    // 15: an item a picker found not on the shelf is sold out at every platform (level 0) from
    // then until the next receipt or count, or a manager clears it.
    r#"
    ALTER TABLE sku ADD COLUMN sold_out_at INTEGER;
    CREATE INDEX sku_sold_out ON sku(sold_out_at) WHERE sold_out_at IS NOT NULL;
    "#,
    // 16: a change the platform may not dedupe (a partial refund) is marked `sent_at` before
    // each send, with what the platform showed before the first (`look`): a row with the mark
    // whose answer never came is looked up at the platform before anything is sent again. Who
    // resolved a parked row by hand, and when.
    r#"
    ALTER TABLE outbox ADD COLUMN sent_at INTEGER;
    ALTER TABLE outbox ADD COLUMN look TEXT;
    ALTER TABLE outbox ADD COLUMN resolved_by TEXT;
    ALTER TABLE outbox ADD COLUMN resolved_at INTEGER;
    "#,
    // 17: the store open or closed at each platform: what the store wants (and why, by whom,
    // until when), and what the platform last confirmed.
    r#"
    CREATE TABLE platform_open (
        platform      TEXT PRIMARY KEY,
        want_open     INTEGER NOT NULL CHECK (want_open IN (0, 1)),
        reason        TEXT NOT NULL DEFAULT '',
        set_by        TEXT NOT NULL DEFAULT '',
        automatic     INTEGER NOT NULL DEFAULT 0,
        until         INTEGER,
        set_at        INTEGER NOT NULL,
        confirmed     INTEGER CHECK (confirmed IN (0, 1)),
        confirmed_at  INTEGER
    );
    "#,
    // 18: the day's numbers. Every open and close a platform confirmed, kept (closed minutes
    // are computed from it); the index that finds a day's state changes without reading the
    // year (partial: a scan, the hottest write, does not maintain it); the days whose summary
    // went to HQ.
    r#"
    CREATE TABLE platform_open_log (
        id         INTEGER PRIMARY KEY,
        platform   TEXT NOT NULL,
        open       INTEGER NOT NULL CHECK (open IN (0, 1)),
        automatic  INTEGER NOT NULL DEFAULT 0,
        set_by     TEXT NOT NULL DEFAULT '',
        reason     TEXT NOT NULL DEFAULT '',
        at         INTEGER NOT NULL
    );
    CREATE INDEX platform_open_log_by_at ON platform_open_log(platform, at);
    CREATE INDEX order_transition_changes ON order_transition(at)
        WHERE from_state IS NOT to_state;
    CREATE TABLE day_summary (
        day        TEXT PRIMARY KEY,
        queued_at  INTEGER NOT NULL
    );
    "#,
    // 19: print jobs. Written in the transaction of the change that causes them (accept: the
    // slip; claim: the pick list; pack: a label per bag), one row per copy, printed in id order
    // per printer and marked done once; a reprint is a row asked for by someone.
    r#"
    CREATE TABLE print_job (
        id            INTEGER PRIMARY KEY,
        printer       TEXT NOT NULL,
        document      TEXT NOT NULL CHECK (document IN ('slip', 'pick_list', 'label')),
        order_id      INTEGER NOT NULL REFERENCES "order"(id),
        bag           INTEGER NOT NULL DEFAULT 0,
        bags          INTEGER NOT NULL DEFAULT 0,
        reprint_by    TEXT,
        queued_at     INTEGER NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        done_at       INTEGER,
        outcome       TEXT CHECK (outcome IN ('printed', 'skipped')),
        note          TEXT
    );
    CREATE INDEX print_job_waiting ON print_job(printer, id) WHERE done_at IS NULL;
    CREATE INDEX print_job_by_order ON print_job(order_id);
    "#,
    // 20: batch picking. An order picked in a batch keeps its batch (the first order's id) and
    // its cart slot; a release clears them, completion keeps them (the day's numbers count
    // units picked in batches).
    r#"
    ALTER TABLE "order" ADD COLUMN batch_id INTEGER;
    ALTER TABLE "order" ADD COLUMN slot TEXT;
    CREATE INDEX order_by_batch ON "order"(batch_id) WHERE batch_id IS NOT NULL;
    "#,
];

/// Skus whose stock figures are not whole numbers (written before migration 7 by an overflow),
/// or beyond the bound every door now checks: how many, and the first few.
pub fn bad_stock_figures(conn: &Connection) -> rusqlite::Result<(i64, Vec<String>)> {
    let bad = "typeof(on_hand) != 'integer' OR typeof(reserved) != 'integer'
               OR on_hand > 1000000000 OR on_hand < -1000000000";
    let n = conn.query_row(
        &format!("SELECT count(*) FROM stock WHERE {bad}"),
        [],
        |r| r.get(0),
    )?;
    let first = conn
        .prepare(&format!(
            "SELECT sku FROM stock WHERE {bad} ORDER BY sku LIMIT 5"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((n, first))
}

/// The schema version of an open database.
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// The schema version this build writes.
pub fn latest() -> u32 {
    MIGRATIONS.len() as u32
}

/// Pragmas for every connection: WAL so readers never block the writer, FULL sync because a
/// confirmed scan must survive a power cut, and foreign keys because SQLite leaves them off.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 64 MiB of page cache (negative = KiB): a catalog import dirties tens of MiB in one
    // transaction, and with the 2 MiB default SQLite spills and re-reads pages mid-transaction.
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every write path uses a couple of dozen distinct statements; rusqlite's default cache of 16
    // would evict and re-parse them on every transition.
    conn.set_prepared_statement_cache_capacity(128);
    // The bundled SQLite has STAT4, which re-prepares a statement whenever a bound value changes
    // and might alter the plan; our statements are fixed OLTP lookups, so keep one plan each.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// What `migrate` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Migrated {
    /// From this version to the latest.
    Applied {
        /// Version before.
        from: u32,
        /// Version after.
        to: u32,
    },
    /// Nothing to do.
    Current,
}

/// A schema problem at open.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The file was written by a newer flashpick.
    #[error(
        "the database is at schema version {found}, newer than this flashpick knows ({known}); install the newer release again or restore a backup"
    )]
    TooNew {
        /// In the file.
        found: u32,
        /// Known here.
        known: u32,
    },
    /// A migration failed; nothing of it was kept.
    #[error("migration {version} failed: {cause}")]
    Failed {
        /// The migration that failed.
        version: u32,
        /// Why.
        cause: rusqlite::Error,
    },
}

/// Brings the schema up to date, every pending migration in one transaction with its version bump.
pub fn migrate(conn: &mut Connection) -> Result<Migrated, MigrateError> {
    let fail = |version, cause| MigrateError::Failed { version, cause };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| fail(0, e))?;
    let from: u32 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| fail(0, e))?;
    let known = latest();
    if from > known {
        return Err(MigrateError::TooNew { found: from, known });
    }
    if from == known {
        return Ok(Migrated::Current);
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let version = i as u32 + 1;
        tx.execute_batch(sql).map_err(|e| fail(version, e))?;
    }
    tx.pragma_update(None, "user_version", known)
        .map_err(|e| fail(known, e))?;
    tx.commit().map_err(|e| fail(known, e))?;
    Ok(Migrated::Applied { from, to: known })
}
