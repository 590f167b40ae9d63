//! Sessions that outlive a restart of the memory store.
//!
//! [`MemoryStore::persistent`] loads the snapshot file at launch and then
//! writes it every `interval` when something changed, and once more at a
//! graceful stop ([`SessionStore::flush`]). The file format and the
//! atomic write are in `snapshot`; the journal of ended sessions is in
//! `journal`. What a crash can and cannot do:
//!
//! * **A crash loses at most the changes of the last interval**: sessions
//!   begun or changed since the last snapshot come back as they were at
//!   that snapshot, or not at all if they are newer. One whose id was
//!   rotated since (a login, a password change) comes back as it was at
//!   that snapshot under its new id, the one its browser holds: the
//!   journal records the rotation as a move. What comes back is the
//!   snapshot's copy: after a password change, that copy carries the old
//!   password's stamp, so the app's first check of the sign-in ends it
//!   (signed out, and its cart with it), the safe way round. (A rotation
//!   whose journal write overlaps a snapshot's copy of that session can
//!   still lose it: the copy leaves the session out, and the move may be
//!   in a journal generation that snapshot retires.)
//! * **An ended session never comes back.** Logout, invalidate, rotation,
//!   "sign out everywhere else", a password change, a deletion and the
//!   per-user bound all end a session explicitly; if a snapshot holds it,
//!   the end is journaled and on disk before the request answers. If the
//!   journal cannot be written, the snapshot is deleted (or emptied)
//!   instead (a crash then signs everyone out, which is safe), and the next
//!   one rewrites it; if even that fails (a read-only disk), the end fails
//!   (the page answers 503) and the session lives on, in memory and on
//!   disk alike, rather than come back later.
//!   Sessions that expire or are evicted for room are not journaled: at
//!   load, expired ones are dropped by the clock, and evicted ones may come
//!   back, within the bound.
//! * **Clocks keep running while the server is down**: the snapshot holds
//!   wall-clock times, so a session idle or past its deadline at load is
//!   dropped, and the others keep only the time they had left.
//! * **A bad file is never lost or half-read**: one that is truncated,
//!   damaged, foreign or unreadable is logged and renamed aside, and the
//!   store starts empty. One that cannot even be renamed is left alone,
//!   and snapshots stay off for this run, so it is never written over.
//! * **Writing never stalls requests**: it runs on a blocking thread, and
//!   copies each session under that session's own lock only for as long
//!   as it takes to encode it; no lock is held across the file write.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::id::{KeyHashBuilder, StoreKey};
use super::journal::{owner_mark, Change, Journal};
use super::memory::{Index, MemoryStore, Place};
use super::record::{now_ms, Record};
use super::snapshot::{self, Entry, Writer};
use super::store::{StoreError, StoreResult};

/// A store's link to its snapshot file and journal.
pub(crate) struct Persistence {
    file: PathBuf,
    journal: Journal,
    /// Something changed since the last snapshot began.
    dirty: AtomicBool,
    /// Whether the last write failed, to log a failure streak once.
    failing: AtomicBool,
    /// One snapshot at a time (the timer's and the shutdown's).
    writing: Mutex<()>,
}

/// A session read from a snapshot.
struct Loaded {
    tier: u8,
    last_seen_ms: u64,
    record: Record,
    /// Whom the session belongs to by now, as the journal marks owners
    /// (`owner_mark`): the snapshot's owner, then each replayed move's.
    /// The record stays the snapshot's, so its owner cannot say this.
    owner: [u8; 16],
}

/// What a snapshot file gave at launch.
enum Found {
    Sessions(Vec<(StoreKey, Loaded)>),
    /// No usable file; snapshots may be written.
    Nothing,
    /// A file that must not be written over.
    Untouchable,
}

/// Moves an unusable snapshot aside (kept for a person to look at) and
/// starts empty; if it cannot even be moved, leaves it alone and keeps
/// snapshots off, so that it is never written over.
fn set_aside(file: &Path, why: String) -> Found {
    match snapshot::set_aside(file) {
        Ok(aside) => {
            rocket::error!(
                "session snapshot {}: {why}; moved to {} and starting empty",
                file.display(),
                aside.display()
            );
            Found::Nothing
        }
        Err(e) => {
            rocket::error!(
                "session snapshot {}: {why}, and it cannot be moved aside ({e}); starting empty, and not writing snapshots in this run",
                file.display()
            );
            Found::Untouchable
        }
    }
}

fn read(file: &Path, changes: &[Change]) -> Found {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Found::Nothing,
        Err(e) => return set_aside(file, format!("cannot read it ({e})")),
    };
    let entries = match snapshot::decode(&bytes) {
        Ok(entries) => entries,
        Err(why) => return set_aside(file, why.to_string()),
    };
    // A session on the move between tiers may be in the file twice: keep
    // the later tier.
    let mut found: HashMap<StoreKey, Loaded, KeyHashBuilder> = HashMap::default();
    for e in entries {
        let key = StoreKey(e.key);
        if found.get(&key).is_some_and(|l| l.tier >= e.tier) {
            continue;
        }
        let record = Record {
            data: e.data.into(),
            created_ms: e.created_ms,
            owner: e.owner.map(Into::into),
            version: e.version,
            remembered: e.remembered,
            label: e.label.map(Into::into),
        };
        let loaded = Loaded {
            tier: e.tier,
            last_seen_ms: e.last_seen_ms,
            owner: owner_mark(record.owner.as_deref()),
            record,
        };
        found.insert(key, loaded);
    }
    replay(&mut found, changes);
    let mut sessions: Vec<_> = found.into_iter().collect();
    // Oldest use first, so each tier's LRU order is what it was.
    sessions.sort_by_key(|(_, l)| l.last_seen_ms);
    Found::Sessions(sessions)
}

/// Applies the journal's `changes` to the sessions a snapshot holds, in
/// the order they were made (see `journal`): an ended session goes, and a
/// rotated one comes back under its new key, unless the snapshot holds
/// that key already (then newer) or had the session signed in as someone
/// other than the new key's owner (a user switch on a shared browser).
/// "Signed in as" counts the moves replayed before this one: a session
/// that moved from a visitor to Alice and on to Bob is Alice's by the
/// second move, though the snapshot had it anonymous, and so stays ended.
/// A rotated session's client came back, so it is at least anonymous. A
/// later end of the new key, or a move on from it, comes later in the
/// order, and so applies to what this move brought.
fn replay(found: &mut HashMap<StoreKey, Loaded, KeyHashBuilder>, changes: &[Change]) {
    for change in changes {
        match *change {
            Change::End(key) => {
                found.remove(&key);
            }
            Change::Moved { from, to, owner } => {
                let Some(mut loaded) = found.remove(&from) else {
                    continue;
                };
                let anonymous = loaded.owner == owner_mark(None);
                if (anonymous || loaded.owner == owner) && !found.contains_key(&to) {
                    loaded.tier = loaded.tier.max(Place::Anonymous as u8);
                    loaded.owner = owner;
                    found.insert(to, loaded);
                }
            }
        }
    }
}

impl MemoryStore {
    /// A store that keeps its sessions in `file` across restarts: it loads
    /// the file now, and writes it every `interval` when something changed
    /// (and at [`flush`](super::SessionStore::flush)). See the module docs
    /// for what a crash keeps and what it cannot bring back.
    ///
    /// Call it inside a Tokio runtime (Rocket's fairings are), which runs
    /// the periodic writes.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use memsess::session::{Limits, MemoryStore, Session, SessionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = dir.path().join("sessions.snapshot");
    /// let limits = Limits::new(1000, Duration::from_secs(1800), Duration::from_secs(43200));
    ///
    /// let store = std::sync::Arc::new(MemoryStore::persistent(limits, &file, Duration::from_secs(30)).await);
    /// let session = Session::new(store.clone());
    /// session.insert("counter", 1).unwrap();
    /// session.save().await.unwrap();
    /// store.flush().await.unwrap(); // what a graceful stop does
    ///
    /// let restarted = MemoryStore::persistent(limits, &file, Duration::from_secs(30)).await;
    /// assert_eq!(restarted.len().await, Ok(1));
    /// # });
    /// ```
    pub async fn persistent(limits: super::Limits, file: &Path, interval: Duration) -> Self {
        let mut store = MemoryStore::with_limits(limits);
        let path = file.to_owned();
        let opened = tokio::task::spawn_blocking(move || {
            let (journal, changes) = Journal::open(&path)?;
            let found = read(&path, &changes);
            io::Result::Ok((journal, found, !changes.is_empty()))
        })
        .await
        .map_err(io::Error::other)
        .and_then(|r| r);
        let (journal, found, replayed) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                rocket::error!(
                    "session snapshot {}: its journal cannot be read ({e}); starting empty, and not writing snapshots in this run",
                    file.display()
                );
                return store;
            }
        };
        match found {
            Found::Untouchable => return store,
            Found::Nothing => {}
            Found::Sessions(sessions) => {
                let now = now_ms();
                let mut kept = 0usize;
                for (key, l) in sessions {
                    if now < limits.ends_ms(&l.record, l.last_seen_ms) {
                        store.restore(key, l.tier, l.record, l.last_seen_ms);
                        kept += 1;
                    }
                }
                rocket::info!(
                    "session snapshot {}: {kept} live sessions loaded",
                    file.display()
                );
            }
        }
        let persistence = Arc::new(Persistence {
            file: file.to_owned(),
            journal,
            // Journaled ends are folded into the next snapshot, so the
            // journal does not grow across restarts.
            dirty: AtomicBool::new(replayed),
            failing: AtomicBool::new(false),
            writing: Mutex::new(()),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (weak, index) = (Arc::downgrade(&persistence), store.index());
            runtime.spawn(every(interval, weak, index));
        }
        store.persistence = Some(persistence);
        store
    }
}

/// Writes a snapshot every `interval` when something changed, until the
/// store is gone.
async fn every(interval: Duration, persistence: Weak<Persistence>, index: Arc<Index>) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(persistence) = persistence.upgrade() else {
            return;
        };
        if persistence.is_dirty() {
            let index = index.clone();
            let _ = tokio::task::spawn_blocking(move || persistence.write(&index)).await;
        }
    }
}

impl Persistence {
    pub(crate) fn touch(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }

    /// Makes an explicit end (or a rotation's move) durable (see the
    /// module docs): journaled, or else the snapshot taken away.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if neither can be done (a read-only
    /// disk): the session must then not be ended.
    pub(crate) async fn ended(self: &Arc<Self>, change: Change) -> StoreResult<()> {
        self.touch();
        let Err(e) = self.journal.record(change).await else {
            return Ok(());
        };
        // Without the journal entry, the snapshot on disk could bring this
        // session back after a crash: take the snapshot away (a folder
        // that forbids removing it may still let it be emptied). A
        // snapshot being written may hold the session too: wait for it,
        // so that it cannot be renamed into place after the removal.
        let this = Arc::clone(self);
        let gone = tokio::task::spawn_blocking(move || {
            let _one = this.writing.lock().unwrap_or_else(PoisonError::into_inner);
            std::fs::remove_file(&this.file).or_else(|_| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&this.file)
                    .map(drop)
            })
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
        match gone {
            Ok(()) => {
                rocket::error!(
                    "session journal beside {}: {e}; the snapshot is taken away so that no ended session can come back",
                    self.file.display()
                );
                Ok(())
            }
            Err(gone) => {
                rocket::error!(
                    "session journal beside {}: {e}, and the snapshot cannot be taken away ({gone}): sessions cannot be ended until the disk is writable",
                    self.file.display()
                );
                Err(StoreError::Unavailable(format!(
                    "the end of a session cannot be recorded on disk: {e}"
                )))
            }
        }
    }

    /// Writes a snapshot of the slots in `index` (blocking). See the
    /// module docs.
    pub(crate) fn write(&self, index: &Index) -> io::Result<()> {
        let _one = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        self.write_now(index)
    }

    /// Writes a snapshot if something changed since the last one began,
    /// once any snapshot being written is on disk (blocking): what a
    /// graceful stop does. That snapshot cleared the mark as it began, so
    /// without the wait, the stop would find nothing to do and return
    /// before the file holds what it copied.
    pub(crate) fn write_if_changed(&self, index: &Index) -> io::Result<()> {
        let _one = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.is_dirty() {
            return Ok(());
        }
        self.write_now(index)
    }

    /// What a snapshot does as it begins: takes the writing lock and
    /// clears the mark; the snapshot is "written" when the guard goes
    /// (for tests).
    #[cfg(test)]
    pub(crate) fn begin_writing(&self) -> std::sync::MutexGuard<'_, ()> {
        let one = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        self.dirty.store(false, Ordering::Relaxed);
        one
    }

    /// [`write`](Self::write), with the writing lock held.
    fn write_now(&self, index: &Index) -> io::Result<()> {
        let started = Instant::now();
        // Changes from here on make the next snapshot due.
        self.dirty.store(false, Ordering::Relaxed);
        let obsolete = self.journal.rotate();
        let mut writer = Writer::new();
        let mut count = 0usize;
        index.for_each(|place: Place, key, slot| {
            let last_seen_ms = slot.last_seen_ms();
            let mut state = slot.lock();
            // A slot whose end is being journaled is left out: that end
            // may go to the generation this snapshot retires.
            if state.removed || state.ending > 0 {
                return;
            }
            state.persisted = true;
            let r = &state.record;
            writer.push(&Entry {
                key: key.0,
                tier: place as u8,
                last_seen_ms,
                created_ms: r.created_ms,
                version: r.version,
                remembered: r.remembered,
                data: &r.data,
                owner: r.owner.as_deref(),
                label: r.label.as_deref(),
            });
            count += 1;
        });
        let written = snapshot::write_atomically(&self.file, &writer.finish());
        match &written {
            Ok(()) => {
                if let Some(generation) = obsolete {
                    self.journal.retire(generation);
                }
                if self.failing.swap(false, Ordering::Relaxed) {
                    rocket::warn!("session snapshot {}: written again", self.file.display());
                }
                rocket::debug!(
                    "session snapshot: {count} sessions in {:?}",
                    started.elapsed()
                );
            }
            Err(e) => {
                self.touch();
                if !self.failing.swap(true, Ordering::Relaxed) {
                    rocket::error!(
                        "session snapshot {}: cannot write it ({e}); serving on, and retrying",
                        self.file.display()
                    );
                }
            }
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::session::{Limits, Session, SessionStore};

    fn limits() -> crate::session::Limits {
        Limits::new(100, Duration::from_secs(600), Duration::from_secs(3600))
    }

    /// A store with one saved session that its snapshot on disk holds.
    async fn persisted_session(file: &Path) -> (Arc<MemoryStore>, Session) {
        let store =
            Arc::new(MemoryStore::persistent(limits(), file, Duration::from_secs(3600)).await);
        let session = Session::new(store.clone());
        session.save().await.unwrap();
        store.flush().await.unwrap();
        assert!(file.exists());
        (store, session)
    }

    /// Makes every journal generation unwritable (a folder in its place).
    fn break_the_journal(file: &Path) {
        for generation in 1..=8 {
            let mut name = file.as_os_str().to_owned();
            name.push(format!(".ended.{generation}"));
            let _ = std::fs::create_dir(PathBuf::from(name));
        }
    }

    #[tokio::test]
    async fn without_a_journal_an_end_takes_the_snapshot_away() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sessions.snapshot");
        let (store, session) = persisted_session(&file).await;
        break_the_journal(&file);
        store.remove(&session.id().key()).await.unwrap();
        assert!(
            !file.exists(),
            "the snapshot that holds the ended session is gone"
        );
    }

    #[tokio::test]
    async fn an_end_that_cannot_reach_the_disk_fails_and_the_session_lives_on() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sessions.snapshot");
        let (store, session) = persisted_session(&file).await;
        break_the_journal(&file);
        // Nor can the snapshot be removed or emptied.
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir_all(file.join("in-the-way")).unwrap();

        let ended = store.remove(&session.id().key()).await;
        assert!(
            matches!(ended, Err(StoreError::Unavailable(_))),
            "{ended:?}"
        );
        assert!(
            store.acquire(&session.id().key()).await.unwrap().is_some(),
            "not ended in memory either"
        );
    }

    /// Ends racing snapshot writes: at every moment, a session that a
    /// snapshot on disk holds and that was ended has its end in a journal
    /// generation on disk, so a crash brings none back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_end_racing_a_snapshot_never_comes_back_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sessions.snapshot");
        let store =
            Arc::new(MemoryStore::persistent(limits(), &file, Duration::from_secs(3600)).await);
        let persistence = store.persistence.clone().unwrap();
        let write = |persistence: Arc<Persistence>, index: Arc<Index>| {
            tokio::task::spawn_blocking(move || persistence.write(&index).unwrap())
        };
        for _ in 0..300 {
            let session = Session::new(store.clone());
            session.save().await.unwrap();
            write(persistence.clone(), store.index()).await.unwrap();
            let key = session.id().key();

            let snapshot = write(persistence.clone(), store.index());
            store.remove(&key).await.unwrap();
            snapshot.await.unwrap();
            // Once the journal writer has retired what that snapshot made
            // obsolete (a rotation answers after it), read what a launch
            // after a crash would.
            let p = persistence.clone();
            tokio::task::spawn_blocking(move || p.journal.rotate())
                .await
                .unwrap();
            let (_journal, ended) = Journal::open(&file).unwrap();
            if let Found::Sessions(sessions) = read(&file, &ended) {
                assert!(
                    sessions.iter().all(|(k, _)| *k != key),
                    "an ended session is in the snapshot and not in the journal"
                );
            }
        }
    }

    #[tokio::test]
    async fn an_unreadable_snapshot_is_moved_aside_and_snapshots_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sessions.snapshot");
        std::fs::create_dir_all(file.join("not-a-file")).unwrap();
        let store = MemoryStore::persistent(limits(), &file, Duration::from_secs(3600)).await;
        assert!(store.keeps_across_restarts());
        let aside = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".unreadable-"))
            .count();
        assert_eq!(aside, 1);
    }

    /// What comes back of a session that the snapshot holds under key 1,
    /// signed in as `owner`, after the journal's `changes`, each a move to
    /// the next key (2, 3, …) with its new owner, or `End` of the key the
    /// session is under by then.
    fn replayed(owner: Option<&str>, changes: &[Option<Option<&str>>]) -> Vec<u8> {
        let mut record = Record::new(r#"{"cart":2}"#, 1);
        record.owner = owner.map(Into::into);
        let loaded = Loaded {
            tier: Place::Anonymous as u8,
            last_seen_ms: 1,
            owner: owner_mark(owner),
            record,
        };
        let mut found = HashMap::default();
        found.insert(StoreKey([1; 16]), loaded);
        let mut at = 1;
        let changes: Vec<Change> = changes
            .iter()
            .map(|change| match change {
                Some(owner) => {
                    at += 1;
                    Change::Moved {
                        from: StoreKey([at - 1; 16]),
                        to: StoreKey([at; 16]),
                        owner: owner_mark(*owner),
                    }
                }
                None => Change::End(StoreKey([at; 16])),
            })
            .collect();
        replay(&mut found, &changes);
        found.into_keys().map(|key| key.0[0]).collect()
    }

    #[test]
    fn a_move_on_to_another_user_brings_nothing_back_and_one_to_the_same_user_does() {
        let (alice, bob) = (Some(Some("alice")), Some(Some("bob")));
        let nothing: &[u8] = &[];
        // A visitor signs in as Alice, then again (or changes the password).
        assert_eq!(replayed(None, &[alice, alice]), vec![3]);
        assert_eq!(
            replayed(None, &[alice, bob]),
            nothing,
            "Bob's id came back with what the visitor who became Alice had"
        );
        assert_eq!(replayed(Some("alice"), &[alice, alice]), vec![3]);
        assert_eq!(replayed(Some("alice"), &[bob]), nothing);
        // A move that names no owner never takes a signed-in session.
        assert_eq!(replayed(Some("alice"), &[Some(None)]), nothing);
        // A login, then a logout: nothing.
        assert_eq!(replayed(None, &[alice, None]), nothing);
    }
}
