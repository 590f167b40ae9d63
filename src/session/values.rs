//! The dict-like part of the [`Session`] API, as in gmemsess: values change
//! only in this request's copy until [`save`](Session::save) writes them.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::SessionError;
use super::handle::Session;

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
        // Deserialize from a borrow: cloning the value first would copy
        // every nested map and string of it.
        T::deserialize(self.state().data.get(key)?).ok()
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
        let value =
            serde_json::to_value(value).map_err(|e| SessionError::Serialize(e.to_string()))?;
        self.state().data.insert(key.to_owned(), value);
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
        serde_json::from_value(value).ok()
    }
}
