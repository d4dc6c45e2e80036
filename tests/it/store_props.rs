//! The same random days as `model_props`, through the real store on a real file: the database
//! agrees with the pure model after every step, and the ledger and reservation invariants hold.

use crate::common::row;
use crate::model_props::{OrderSpec, Progress, SKUS, Sim, Step, order_specs, runner, steps};
use flashpick::model::{Fen, OrderId, Platform, SkuCode, Timestamp};
use flashpick::store::{
    self, Ingested, NewLine, NewOrder, StockOp, StockOpKind, Store, StoreOptions,
};
use proptest::prelude::*;

fn open(dir: &std::path::Path, on_hand: [i64; 3], specs: &[OrderSpec]) -> (Store, Vec<OrderId>) {
    let options = StoreOptions {
        selling: vec![(Platform::Meituan, 1), (Platform::Jddj, 0)],
        hq_events: true,
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.join("store.db"), options).unwrap();
    let rows = SKUS
        .iter()
        .enumerate()
        .map(|(i, s)| row(i as u64 + 2, s, s, &format!("69000000{i}"), on_hand[i]))
        .collect();
    store.import_catalog_blocking(rows).unwrap();
    let ids = specs
        .iter()
        .enumerate()
        .map(|(i, (platform, lines))| {
            let new = NewOrder {
                platform: *platform,
                external_id: format!("X{i}"),
                day_seq: None,
                placed_at: Timestamp::now(),
                promised_at: None,
                platform_deadline: None,
                pickup_code: None,
                delivery: None,
                remark: None,
                unknown_items: Vec::new(),
                lines: lines
                    .iter()
                    .map(|(s, q)| NewLine {
                        sku: SkuCode::new(SKUS[*s]),
                        name: None,
                        qty: *q,
                        unit_price: Fen(100),
                        platform_item: None,
                        merchant_code: None,
                        unit_g: None,
                    })
                    .collect(),
            };
            match store
                .ingest_blocking("test", &format!("m{i}"), new)
                .unwrap()
            {
                Ingested::New(o) => o.id,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    (store, ids)
}

#[test]
fn random_days_through_the_database_keep_the_invariants() {
    let progress = Progress::default();
    let strategy = (
        order_specs().prop_flat_map(|s| {
            let n = s.len();
            (Just(s), steps(n, 60))
        }),
        prop::array::uniform3(0i64..12),
    );
    let result = runner(48, file!()).run(&strategy, |((specs, steps), on_hand)| {
        let dir = tempfile::tempdir().unwrap();
        let (store, ids) = open(dir.path(), on_hand, &specs);
        let mut sim = Sim::new(&specs, on_hand);
        for step in &steps {
            // Resolved against the model before it moves, so both see the same event.
            let event = match step {
                Step::Order(i, ev) => Some(sim.resolve(*i, ev)),
                _ => None,
            };
            let changed = sim.step(step)?;
            progress.count(changed);
            let db = match step {
                Step::Order(i, _) => store
                    .apply_blocking(ids[*i], event.clone().unwrap(), "p1")
                    .map(|_| ()),
                Step::Receive(s, q) => store
                    .stock_blocking(StockOp {
                        sku: SkuCode::new(SKUS[*s]),
                        kind: StockOpKind::Receive(*q),
                        actor: "mgr".into(),
                        reason: None,
                    })
                    .map(|_| ()),
                Step::Count(s, q) => store
                    .stock_blocking(StockOp {
                        sku: SkuCode::new(SKUS[*s]),
                        kind: StockOpKind::Count(*q),
                        actor: "mgr".into(),
                        reason: Some("盘点".into()),
                    })
                    .map(|_| ()),
            };
            prop_assert_eq!(
                db.is_ok(),
                changed,
                "store and model disagree on {:?}: {:?}",
                step,
                db
            );
            if let Err(e) = &db {
                prop_assert!(e.is_refusal(), "a refusal, not a broken store: {e}");
            }
            let inv = store.read(store::check_invariants).unwrap();
            prop_assert!(inv.hold(), "invariants broken after {:?}: {:?}", step, inv);
            for (s, sku) in SKUS.iter().enumerate() {
                let f = store
                    .read(|c| store::stock_figures(c, &SkuCode::new(*sku), Platform::Jddj, 0))
                    .unwrap();
                prop_assert_eq!((f.on_hand, f.reserved), (sim.on_hand[s], sim.reserved[s]));
            }
        }
        store.close();
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    progress.require("store days", 1000);
}
