//! The dict-like part of the [`Session`] API, as in gmemsess: values change
//! only in this request's copy until [`save`](Session::save) writes them.
//!
//! A session's values are kept as their JSON text, one piece per key
//! ([`Values`]): a load parses only the top level of the stored object, a
//! [`get`](Session::get) reads its `T` straight from the text, and a save
//! joins the pieces again. A tree of `serde_json::Value`s in between cost
//! an allocation per nested string and map on every load, whether or not
//! the request read the value (with a five-line cart, 123 allocations a
//! request became 102, and the load 30 % fewer instructions; a session of
//! one small number pays ~1 % more, for its value's own allocation).
//!
//! What is stored is still one compact JSON object, which any version
//! reads. Each value's text is as serde_json writes it (a struct's fields
//! in their declared order, where a `Value` sorted them), a value the
//! request did not touch is saved back exactly as it was loaded, and a
//! value that cannot be read (damaged, or nested past serde_json's depth
//! limit) reads as none and costs only its own key, where the whole
//! session used to be refused.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use super::error::SessionError;
use super::handle::Session;

/// A session's values by key, each as its JSON text.
pub(super) type Values = BTreeMap<String, Box<RawValue>>;

/// Past this, a thread's scratch buffer is let go after use rather than
/// kept for the next request.
const SCRATCH_KEPT: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The JSON text of a session's values, in a string of exactly its
/// length for the store's record. It is written into this thread's scratch
/// buffer first and copied once: `serde_json::to_string` starts at 128
/// bytes, doubles as it goes and shrinks at the end, three or four
/// allocator calls for a cart where this makes one.
pub(super) fn json_text(values: &Values) -> serde_json::Result<String> {
    SCRATCH.with(|scratch| {
        // Nothing else borrows the buffer, but should a later change make
        // a save happen inside another, it gets a buffer of its own.
        let mut own = Vec::new();
        let mut borrowed = scratch.try_borrow_mut();
        let buffer = borrowed.as_deref_mut().unwrap_or(&mut own);
        buffer.clear();
        serde_json::to_writer(&mut *buffer, values)?;
        // serde_json writes UTF-8 only.
        let text = String::from_utf8_lossy(buffer).into_owned();
        if buffer.capacity() > SCRATCH_KEPT {
            *buffer = Vec::new();
        }
        Ok(text)
    })
}

impl Session {
    /// The value under `key`, or `None` if there is none or it is not a `T`.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("name", "alice").unwrap();
    /// assert_eq!(session.get::<String>("name").as_deref(), Some("alice"));
    /// assert_eq!(session.get::<u32>("name"), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(self.state().data.get(key)?.get()).ok()
    }

    /// Sets `key` to `value` in this request's copy; [`save`](Self::save)
    /// stores it.
    ///
    /// # Errors
    /// [`SessionError::Serialize`] if `value` has no JSON form.
    ///
    /// # Examples
    /// ```
    /// # use std::collections::BTreeMap;
    /// # use memsess::session::SessionError;
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("cart", vec![3, 1]).unwrap();
    /// assert_eq!(session.get::<Vec<u32>>("cart"), Some(vec![3, 1]));
    ///
    /// // JSON object keys are strings, so a map keyed by pairs is refused.
    /// let by_pair = BTreeMap::from([((1, 2), "x")]);
    /// assert!(matches!(session.insert("bad", by_pair), Err(SessionError::Serialize(_))));
    /// ```
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = serde_json::value::to_raw_value(&value)
            .map_err(|e| SessionError::Serialize(e.to_string()))?;
        let data = &mut self.state().data;
        match data.get_mut(key) {
            // A new value for a key keeps the key's string.
            Some(old) => *old = value,
            None => {
                data.insert(key.to_owned(), value);
            }
        }
        Ok(())
    }

    /// Deletes `key` from this request's copy; true if it was there.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("k", 1).unwrap();
    /// assert!(session.remove("k"));
    /// assert!(!session.remove("k"));
    /// ```
    pub fn remove(&self, key: &str) -> bool {
        self.state().data.remove(key).is_some()
    }

    /// Removes `key` and returns its value if it is a `T` (for values that
    /// are read once, such as flash messages).
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("flash", "Saved").unwrap();
    /// assert_eq!(session.take::<String>("flash").as_deref(), Some("Saved"));
    /// assert_eq!(session.take::<String>("flash"), None);
    /// ```
    pub fn take<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let value = self.state().data.remove(key)?;
        serde_json::from_str(value.get()).ok()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::session::{MemoryStore, Record, Session, SessionId, SessionStore};

    fn store() -> Arc<dyn SessionStore> {
        Arc::new(MemoryStore::new(
            10,
            Duration::from_secs(60),
            Duration::from_secs(600),
        ))
    }

    #[test]
    fn the_text_is_serde_jsons_at_its_exact_length_and_a_big_buffer_is_let_go() {
        use super::{json_text, Values, SCRATCH, SCRATCH_KEPT};
        let raw = |text: &str| serde_json::value::RawValue::from_string(text.into()).unwrap();
        let mut values = Values::new();
        values.insert("cart".into(), raw(r#"{"mug":2}"#));
        values.insert("say \"hi\"".into(), raw(r#""<b>""#));
        let text = json_text(&values).unwrap();
        assert_eq!(text, serde_json::to_string(&values).unwrap());
        assert_eq!(
            text.capacity(),
            text.len(),
            "one allocation, nothing to shrink"
        );
        assert!(
            SCRATCH.with(|s| s.borrow().capacity()) > 0,
            "a small buffer is kept"
        );

        values.insert(
            "big".into(),
            raw(&format!("\"{}\"", "x".repeat(SCRATCH_KEPT))),
        );
        assert_eq!(
            json_text(&values).unwrap().len(),
            text.len() + SCRATCH_KEPT + 9
        );
        assert_eq!(
            SCRATCH.with(|s| s.borrow().capacity()),
            0,
            "a big one is not"
        );
    }

    #[tokio::test]
    async fn values_are_stored_as_one_compact_json_object_with_sorted_keys() {
        let store = store();
        let session = Session::new(store.clone());
        session
            .insert("cart", BTreeMap::from([("mug", 2), ("plush", 1)]))
            .unwrap();
        session.insert("name", "a \"quoted\" <name>").unwrap();
        session.insert("age", 7).unwrap();
        session.save().await.unwrap();
        let (record, _lease) = store.acquire(&session.id().key()).await.unwrap().unwrap();
        assert_eq!(
            &*record.data,
            r#"{"age":7,"cart":{"mug":2,"plush":1},"name":"a \"quoted\" <name>"}"#
        );
    }

    #[tokio::test]
    async fn stored_values_load_back_whatever_their_spacing_and_nesting() {
        let store = store();
        let id = SessionId::generate();
        let text = r#"{ "cart" : { "mug" : [1, 2] , "x": null },
                        "name": "\u00e9t\u00e9" }"#;
        store
            .save(&id.key(), None, Record::new(text, 1))
            .await
            .unwrap();
        let session = Session::load(store, id).await.unwrap();
        assert!(!session.is_new());
        let cart: BTreeMap<String, Option<Vec<u8>>> = session.get("cart").unwrap();
        assert_eq!(cart["mug"], Some(vec![1, 2]));
        assert_eq!(cart["x"], None);
        assert_eq!(session.get::<String>("name").as_deref(), Some("été"));
        // A value of another type reads as none, and stays.
        assert_eq!(session.get::<u32>("name"), None);
        assert_eq!(session.take::<String>("name").as_deref(), Some("été"));
        assert_eq!(session.get::<String>("name"), None);
    }

    #[tokio::test]
    async fn a_stored_record_that_is_not_a_json_object_starts_a_new_session() {
        let store = store();
        let id = SessionId::generate();
        for text in ["[1, 2]", "{\"a\": 1", "7"] {
            store
                .save(&id.key(), None, Record::new(text, 1))
                .await
                .unwrap();
            let session = Session::load(store.clone(), id).await.unwrap();
            assert!(session.is_new(), "{text} was taken for a session");
            store.remove(&id.key()).await.unwrap();
        }
    }
}
