//! Session values in Redis: text that older versions (which held values as
//! a `Map<String, Value>`) stored loads and reads back as before, and a
//! value that cannot be read costs only its own key.

use std::sync::Arc;

use memsess::session::{RedisStore, Session, SessionId, SessionStore};
use serde_json::{json, Map, Value};

use crate::redis_server::RedisServer;

/// A store on `redis` and the session stored as `text`, loaded.
async fn loaded(redis: &RedisServer, text: &str) -> (Arc<dyn SessionStore>, SessionId, Session) {
    let store: Arc<dyn SessionStore> =
        Arc::new(RedisStore::with_limits(&redis.url(), crate::conformance::LONG).unwrap());
    let id = SessionId::generate();
    let record = memsess::session::Record::new(text, 1);
    store.save(&id.key(), None, record).await.unwrap();
    let session = Session::load(store.clone(), id).await.unwrap();
    assert!(!session.is_new());
    (store, id, session)
}

#[rocket::async_test]
async fn old_format_records_in_redis_load_and_read_as_before() {
    let redis = RedisServer::start();
    let value = json!({
        "big": u64::MAX, "neg": i64::MIN, "f": 0.1, "s": "q\"\\\n\u{0}\u{2028}é😀",
        "cart": {"lines": [{"product_id": "mug", "quantity": 99}]}, "none": null
    });
    let mut old = Map::new();
    old.insert("v".into(), value.clone());
    old.insert(
        "flash".into(),
        json!({"kind": "Success", "message": "<b>hi</b>"}),
    );
    let text = serde_json::to_string(&old).unwrap();

    let (store, id, session) = loaded(&redis, &text).await;
    assert_eq!(session.get::<Value>("v"), Some(value));
    assert_eq!(session.get::<u64>("v").map(|_| ()), None);
    assert!(session.take::<Value>("flash").is_some());
    session.save().await.unwrap();
    drop(session);

    let again = Session::load(store.clone(), id).await.unwrap();
    assert!(!again.is_new());
    assert_eq!(again.get::<Value>("flash"), None);
    assert_eq!(again.get::<Value>("v"), old.get("v").cloned());
}

#[rocket::async_test]
async fn a_deep_value_in_redis_costs_only_its_own_key() {
    let redis = RedisServer::start();
    let text = format!(
        r#"{{"cart":[1],"tree":{}0{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (_store, _id, session) = loaded(&redis, &text).await;
    assert_eq!(session.get::<Vec<u32>>("cart"), Some(vec![1]));
    assert_eq!(session.get::<Value>("tree"), None);
    session.insert("n", 1).unwrap();
    session.save().await.unwrap();
}
