//! How a [`Session`]'s changes reach the store: [`save`](Session::save),
//! [`cycle_id`](Session::cycle_id) and [`invalidate`](Session::invalidate).
//!
//! Every write names the version this request loaded, so the store refuses
//! it if another request ended or changed the session meanwhile (see the
//! [module docs](super) on concurrent requests).

use super::error::SessionError;
use super::handle::Session;
use super::origin::Origin;
use super::store::{now_ms, Record, StoreError};
use super::values::json_text;

impl Session {
    /// Gives the session a new id, keeping its data: call it whenever the
    /// session gains privileges (at login), so an id an attacker planted or
    /// saw before is worth nothing after. The next [`save`](Self::save)
    /// moves the stored session to the new id and the response sends the
    /// new cookie; the old id is dead from then on.
    ///
    /// The new id starts a new life: its absolute timeout counts from now,
    /// so a login late in an anonymous session's life (or one that drops
    /// "keep me signed in") is not cut short by the old session's deadline.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session};
    /// # let session = Session::new(Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600))));
    /// session.insert("cart", [1, 2]).unwrap();
    /// let before = session.id();
    /// session.cycle_id();
    /// assert_ne!(session.id(), before);
    /// assert_eq!(session.get::<Vec<u8>>("cart"), Some(vec![1, 2]));
    /// ```
    pub fn cycle_id(&self) {
        let mut state = self.state();
        state.new_id();
        state.created_ms = now_ms();
    }

    /// Writes the session to the store. gmemsess's `save()`.
    ///
    /// Let it finish: a `save()` dropped midway (inside a `select!` or a
    /// timeout of your own) may have written without this object knowing,
    /// and a later save would then take the wrong path. Rocket itself never
    /// cancels a handler.
    ///
    /// # Errors
    /// [`SessionError::Conflict`] if another request wrote it meanwhile
    /// (nothing is written; the session lives on);
    /// [`SessionError::Gone`] if the session was ended while this request
    /// ran (nothing is written, and this object becomes a blank new
    /// session, so a retry cannot bring the old one back);
    /// [`SessionError::Serialize`], [`SessionError::Unavailable`] otherwise.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let session = Session::new(store.clone());
    /// session.insert("counter", 0).unwrap();
    /// assert_eq!(store.len().await, Ok(0));
    /// session.save().await.unwrap();
    /// assert_eq!(store.len().await, Ok(1));
    /// # });
    /// ```
    pub async fn save(&self) -> Result<(), SessionError> {
        let _writing = self.inner.writes.lock().await;
        let (id, stored, record, origin) = {
            let mut state = self.state();
            let data =
                json_text(&state.data).map_err(|e| SessionError::Serialize(e.to_string()))?;
            let record = Record {
                data: data.into(),
                created_ms: state.created_ms,
                owner: state.owner.as_deref().map(Box::from),
                version: state.stored.map_or(1, |(_, v)| v + 1),
                remembered: state.remembered,
                label: state.label.clone(),
            };
            (state.id(), state.stored, record, state.client)
        };
        let version = record.version;
        let store = &self.inner.store;
        let written = match stored {
            // Hashed only here: most requests never create a session.
            None => {
                store
                    .create(&id.key(), record, origin.map(Origin::of))
                    .await
            }
            Some((old, v)) if old == id => store.save(&id.key(), Some(v), record).await,
            Some((old, v)) => store.rotate(&old.key(), v, &id.key(), record).await,
        };
        let mut state = self.state();
        match written {
            Ok(()) => {
                state.stored = Some((id, version));
                Ok(())
            }
            Err(StoreError::Gone) => {
                state.reset();
                Err(SessionError::Gone)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Ends the session: deletes it from the store and empties this
    /// object, which becomes a new session with a fresh id. Unless that is
    /// saved, the response removes the cookie. gmemsess's `invalidate()`.
    ///
    /// # Errors
    /// [`SessionError::Unavailable`] if the store cannot be reached; the
    /// session is then still alive.
    ///
    /// # Examples
    /// ```
    /// # use std::sync::Arc;
    /// # use memsess::session::{MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = Arc::new(MemoryStore::new(10,
    /// #     std::time::Duration::from_secs(60), std::time::Duration::from_secs(600)));
    /// let session = Session::new(store.clone());
    /// session.insert("user", "alice").unwrap();
    /// session.save().await.unwrap();
    /// let old_id = session.id();
    ///
    /// session.invalidate().await.unwrap();
    /// assert_eq!(store.len().await, Ok(0));
    /// assert!(session.is_new());
    /// assert_ne!(session.id(), old_id);
    /// assert_eq!(session.get::<String>("user"), None);
    /// # });
    /// ```
    pub async fn invalidate(&self) -> Result<(), SessionError> {
        let _writing = self.inner.writes.lock().await;
        let stored = self.state().stored;
        if let Some((id, _)) = stored {
            self.inner.store.remove(&id.key()).await?;
        }
        self.state().reset();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::handle::CookieAction;
    use crate::session::MemoryStore;
    use crate::session::SessionStore;
    use std::sync::Arc;
    use std::time::Duration;

    fn store() -> Arc<dyn SessionStore> {
        Arc::new(MemoryStore::new(
            100,
            Duration::from_secs(60),
            Duration::from_secs(600),
        ))
    }

    #[tokio::test]
    async fn a_conflicting_save_keeps_the_session_and_its_cookie() {
        let store = store();
        let first = Session::new(store.clone());
        first.insert("n", 1).unwrap();
        first.save().await.unwrap();
        let id = first.id();

        let loaded = Session::load(store.clone(), id).await.unwrap();
        // Another writer (an instance whose lease outlived ours) moves the
        // version on behind this request's back.
        let (_, version) = loaded.state().stored.unwrap();
        let newer = Record::new(r#"{"n":5}"#, version + 1);
        store.save(&id.key(), Some(version), newer).await.unwrap();

        loaded.insert("n", 2).unwrap();
        assert_eq!(loaded.save().await, Err(SessionError::Conflict));
        assert!(!loaded.is_new(), "the session was not reset");
        assert_eq!(loaded.release(), CookieAction::Keep, "the cookie stays");
        let again = Session::load(store, id).await.unwrap();
        assert_eq!(again.get::<u32>("n"), Some(5), "the other write stands");
    }

    #[tokio::test]
    async fn a_save_after_the_session_ended_resets_it_and_removes_the_cookie() {
        let store = store();
        let first = Session::new(store.clone());
        first.save().await.unwrap();
        let loaded = Session::load(store.clone(), first.id()).await.unwrap();
        store.remove(&first.id().key()).await.unwrap();
        assert_eq!(loaded.save().await, Err(SessionError::Gone));
        assert!(loaded.is_new());
        assert_eq!(loaded.release(), CookieAction::Remove);
    }
}
