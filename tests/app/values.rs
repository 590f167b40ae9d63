//! Session values are kept as their JSON text (`src/session/values.rs`):
//! what older versions stored loads and reads back as it did, a value that
//! cannot be read costs only its own key, and a float reads back exactly.
//!
//! "Old" below is how values were held before: a load was
//! `from_str::<Map<String, Value>>`, `get` was `T::deserialize(&Value)`,
//! `insert` was `to_value`, and a save was `to_string(&Map)`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use memsess::session::{Limits, MemoryStore, Record, Session, SessionId, SessionStore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

fn memory() -> Arc<dyn SessionStore> {
    Arc::new(MemoryStore::new(
        100,
        Duration::from_secs(60),
        Duration::from_secs(600),
    ))
}

/// What the old code stored for `key: value`.
fn old_text<T: Serialize>(key: &str, value: T) -> String {
    let mut map = Map::new();
    map.insert(key.into(), serde_json::to_value(value).unwrap());
    serde_json::to_string(&map).unwrap()
}

/// What the old code's `get` gave for `key` from a stored `text`
/// (`None` for the whole session when the old load refused the text).
fn old_get<T: DeserializeOwned>(text: &str, key: &str) -> Option<T> {
    let map: Map<String, Value> = serde_json::from_str(text).ok()?;
    T::deserialize(map.get(key)?).ok()
}

async fn load_text(store: &Arc<dyn SessionStore>, text: &str) -> Session {
    let id = SessionId::generate();
    store
        .save(&id.key(), None, Record::new(text, 1))
        .await
        .unwrap();
    Session::load(store.clone(), id).await.unwrap()
}

async fn stored_text(store: &Arc<dyn SessionStore>, session: Session) -> String {
    session.save().await.unwrap();
    let key = session.id().key();
    drop(session); // gives back a loaded session's lease
    let (record, lease) = store.acquire(&key).await.unwrap().unwrap();
    store.release(lease);
    record.data.to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Dot,
    Circle(u32),
    Rect { w: f32, h: f64 },
    Pair(u64, i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Unit;

/// Everything an app plausibly keeps, saved by the old code: the new code
/// loads each text and reads back exactly what the old code read.
#[tokio::test]
async fn text_saved_by_the_old_code_reads_back_identically() {
    let store = memory();
    macro_rules! same {
        ($t:ty, $v:expr) => {{
            let text = old_text("k", $v);
            let session = load_text(&store, &text).await;
            assert!(!session.is_new(), "{text} refused");
            let new: Option<$t> = session.get("k");
            let old: Option<$t> = old_get(&text, "k");
            assert_eq!(format!("{new:?}"), format!("{old:?}"), "{text}");
            // Saved again unchanged, it is byte-identical.
            assert_eq!(stored_text(&store, session).await, text);
        }};
    }
    same!(u64, u64::MAX);
    same!(i64, i64::MIN);
    same!(f64, u64::MAX);
    same!(f64, 0.9073038322028689_f64);
    same!(f64, 1e308_f64);
    same!(f64, 5e-324_f64);
    same!(f64, -0.0_f64);
    same!(Option<f64>, f64::NAN);
    same!(Option<f64>, f64::INFINITY);
    same!(f32, 0.1_f32);
    same!(f64, 0.1_f32);
    same!(
        String,
        "q\"b\\s\n\t\u{0}\u{1f}\u{7f}\u{2028}\u{e9}\u{1F600}</script>"
    );
    same!(Option<u32>, None::<u32>);
    same!(Option<Option<u32>>, Some(None::<u32>));
    same!(Unit, Unit);
    same!((), ());
    same!(Shape, Shape::Dot);
    same!(Shape, Shape::Circle(3));
    same!(Shape, Shape::Rect { w: 0.3, h: 0.1 });
    same!(Shape, Shape::Pair(u64::MAX, i64::MIN));
    same!(BTreeMap<u32, Vec<Option<String>>>, BTreeMap::from([(7u32, vec![None, Some("x".to_string())])]));
    same!(BTreeMap<bool, char>, BTreeMap::from([(true, 'x')]));
    same!(
        Value,
        json!({"z": [1, -1, 1.5, u64::MAX, i64::MIN, null, true, "s"], "a": {}})
    );
    same!(Vec<u8>, vec![0u8, 255]);
}

/// An f64 put in the session and read back in the same request: exact
/// before (a Value held the f64), now it goes through text, and
/// serde_json without `float_roundtrip` parses ~10 % of f64s in [0, 1) one
/// ULP off. (Across requests both versions lose the bit: the old load
/// parsed the same text with the same parser.)
/// An f32 was stored widened to f64 ("0.10000000149011612"), now as an
/// f32 ("0.1"); read as an f64 it gives another number than before.
/// Stored text is no longer the old bytes for: internally tagged enums
/// (tag first, not sorted), HashMaps (iteration order, so it varies run
/// to run). Nothing compares the text today, so only cosmetic.
/// A struct whose flattened map repeats one of its fields serializes a
/// duplicate key: the old Value kept the last, the text keeps both, and
/// reading the struct back then fails ("duplicate field").
/// A value nested deeper than serde_json's recursion limit (128) read in
/// the request that put it: the old `get` (from a Value, no limit) read
/// it, the new one (from text) gives None.
/// A float put in the session reads back exactly, in the same request
/// and the next (serde_json's `float_roundtrip`: without it, one f64 in
/// ten came back one bit off once it had been through text).
#[tokio::test]
async fn an_f64_reads_back_exactly() {
    let store = memory();
    let session = Session::new(store.clone());
    let x = 0.9073038322028689_f64;
    session.insert("x", x).unwrap();
    assert_eq!(session.get::<f64>("x"), Some(x));
    session.save().await.unwrap();
    let id = session.id();
    drop(session);
    let again = Session::load(store, id).await.unwrap();
    assert_eq!(again.take::<f64>("x"), Some(x));
}

/// A value nested past serde_json's depth limit, or damaged, used to make
/// the next load refuse the whole record, losing the login and cart with
/// it; now the session loads, other keys read, that key
/// reads as None, and a save writes it back without recursion.
#[tokio::test]
async fn a_deep_or_damaged_value_costs_only_its_own_key() {
    let store = memory();
    let deep = format!(
        r#"{{"cart":[1],"tree":{}0{}}}"#,
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    for text in [
        deep.as_str(),
        r#"{"cart":[1],"tree":"\ud800"}"#,
        r#"{"cart":[1],"tree":1e400}"#,
    ] {
        assert!(
            old_get::<Vec<u32>>(text, "cart").is_none(),
            "old refused it"
        );
        let session = load_text(&store, text).await;
        assert!(!session.is_new());
        assert_eq!(session.get::<Vec<u32>>("cart"), Some(vec![1]));
        assert_eq!(session.get::<Value>("tree"), None);
        assert_eq!(session.get::<String>("tree"), None);
        assert_eq!(stored_text(&store, session).await, text);
    }
}

/// Integers past 64 bits are accepted (a `Value` could not hold them) and
/// read back as u128/i128.
#[tokio::test]
async fn integers_past_64_bits_are_now_accepted() {
    let session = Session::new(memory());
    session.insert("u", u128::MAX).unwrap();
    session.insert("i", i128::MIN).unwrap();
    assert_eq!(session.get::<u128>("u"), Some(u128::MAX));
    assert_eq!(session.get::<i128>("i"), Some(i128::MIN));
    assert!(
        serde_json::to_value(u128::MAX).is_err(),
        "old insert refused it"
    );
}

/// The memory store's snapshot carries old-format text through a restart.
#[tokio::test]
async fn an_old_format_record_survives_a_snapshot_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.snapshot");
    let limits = Limits::new(100, Duration::from_secs(600), Duration::from_secs(6000));
    let text = old_text(
        "cart",
        json!({"lines":[{"product_id":"mug","quantity":99}]}),
    );
    let id = SessionId::generate();
    {
        let store = MemoryStore::persistent(limits, &file, Duration::from_secs(3600)).await;
        store
            .save(&id.key(), None, Record::new(text.as_str(), 1))
            .await
            .unwrap();
        store.flush().await.unwrap();
    }
    let store: Arc<dyn SessionStore> =
        Arc::new(MemoryStore::persistent(limits, &file, Duration::from_secs(3600)).await);
    let session = Session::load(store.clone(), id).await.unwrap();
    assert!(!session.is_new());
    assert_eq!(
        session.get::<Value>("cart"),
        old_get::<Value>(&text, "cart")
    );
    assert_eq!(stored_text(&store, session).await, text);
}
