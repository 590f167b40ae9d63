//! The journal of ended sessions: what keeps a crash from bringing back a
//! session that was signed out after the last snapshot.
//!
//! A snapshot is written every few seconds, so on its own it would let a
//! session ended since (by logout, rotation, "sign out everywhere else")
//! come back after a crash. So each such end is appended to a journal and
//! fsynced before the request that ended it answers; at launch, every key
//! in the journal is dropped from the snapshot it is loaded over.
//!
//! * **A rotation is a move**, not only an end: the old key is dropped, and
//!   what the snapshot held under it comes back under the new key, unless
//!   the snapshot holds the new key itself (newer). Otherwise a crash soon
//!   after a login would lose the session a snapshot had kept (the
//!   visitor's cart): the old id's end was on disk, the new id not yet.
//!   Changes are replayed in the order they were made, so a move and then
//!   the new key's end (a login, then a logout) leave nothing, and a chain
//!   of moves (a login, then a password change) carries the session along.
//! * **A move never hands a session to another user.** It names the new
//!   key's owner (a hash of the name), and what the snapshot held comes
//!   back only if it had no owner or that one, counting the moves replayed
//!   before it (a visitor's session that moved to Alice is hers): when Bob
//!   signs in over Alice's session on a shared browser, her session must
//!   stay ended, or a crash would sign Bob's browser in as her even after
//!   she signed out everywhere else, or hand him her cart.
//!
//! * **Only what a snapshot holds** is journaled: a session that no
//!   snapshot has copied cannot come back, so ending it costs nothing.
//! * **Group commit**: one thread owns the file; the ends that arrive while
//!   it syncs go out together with the next sync, so a burst of logouts
//!   pays one fsync, not one each.
//! * **Generations**: the journal is a series of files `<snapshot>.ended.N`.
//!   A snapshot first moves the journal on to a new generation, then copies
//!   the sessions, and only once the new snapshot is safely on disk deletes
//!   the older generations. A session whose end is being written while
//!   the snapshot copies is left out of the copy (the end may land in the
//!   old generation); one copied before its end began has that end in a
//!   generation the new snapshot keeps.
//! * Each entry is a store key (16 bytes, a hash, never an id) and 4 bytes
//!   of its SHA-256, so a write torn by a crash is recognised and ignored;
//!   a move is three such entries (the old key, the new key, the owner's
//!   hash), each checked by a SHA-256 that also says which part it is and
//!   binds it to the parts before, so a move torn apart is ignored too.
//!   (An early build wrote moves of two entries, without the owner; those
//!   still read, as moves that bring back only an anonymous session, and
//!   the changes after them are not lost.)

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::id::StoreKey;
use super::snapshot::{folder, sync_folder};

const ENTRY: usize = 16 + 4;
/// The most changes one fsync covers.
const MAX_BATCH: usize = 4096;

/// What the journal records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// A session ended.
    End(StoreKey),
    /// A session's id was rotated: `from` ended, and its data lives on
    /// under `to`, whose owner is the one `owner` marks ([`owner_mark`]).
    Moved {
        from: StoreKey,
        to: StoreKey,
        owner: [u8; 16],
    },
}

/// What a move records of the new key's owner: 16 bytes of the SHA-256
/// of the name, all zeros for none.
pub(crate) fn owner_mark(owner: Option<&str>) -> [u8; 16] {
    let mut mark = [0; 16];
    if let Some(owner) = owner {
        let digest = Sha256::digest(owner.as_bytes());
        mark.copy_from_slice(&digest[..16]);
    }
    mark
}

/// The changes found in the journal files at launch, in the order they
/// were made.
pub(crate) type Changes = Vec<Change>;

enum Msg {
    Record(Change, oneshot::Sender<io::Result<()>>),
    /// Starts a new generation; answers the last one of the old.
    Rotate(mpsc::Sender<u64>),
    /// Deletes the generations up to this one.
    Retire(u64),
}

/// The journal's handle; the writer thread ends when it is dropped.
pub(crate) struct Journal {
    tx: mpsc::Sender<Msg>,
}

/// The first 4 bytes of the SHA-256 of `parts`, joined.
fn sum(parts: &[&[u8]]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The check of an end's entry (as in the journal's first format, so
/// files written before moves existed read as they did).
fn check(key: &[u8; 16]) -> [u8; 4] {
    sum(&[key])
}

/// The check of a move's first entry, the old key.
fn check_from(from: &[u8; 16]) -> [u8; 4] {
    sum(&[b"moved with its owner, from", from])
}

/// The check of the first entry of a move written before moves named
/// their owner (two entries; an early build of this format).
fn check_from_ownerless(from: &[u8; 16]) -> [u8; 4] {
    sum(&[b"moved from", from])
}

/// The check of a move's second entry, the new key.
fn check_to(from: &[u8; 16], to: &[u8; 16]) -> [u8; 4] {
    sum(&[b"moved to", from, to])
}

/// The check of a move's third entry, the new key's owner.
fn check_owner(from: &[u8; 16], to: &[u8; 16], owner: &[u8; 16]) -> [u8; 4] {
    sum(&[b"moved for", from, to, owner])
}

/// The bytes of one change.
fn encode(change: &Change, into: &mut Vec<u8>) {
    match change {
        Change::End(key) => {
            into.extend_from_slice(&key.0);
            into.extend_from_slice(&check(&key.0));
        }
        Change::Moved { from, to, owner } => {
            into.extend_from_slice(&from.0);
            into.extend_from_slice(&check_from(&from.0));
            into.extend_from_slice(&to.0);
            into.extend_from_slice(&check_to(&from.0, &to.0));
            into.extend_from_slice(owner);
            into.extend_from_slice(&check_owner(&from.0, &to.0, owner));
        }
    }
}

/// The changes in `bytes`, up to the first torn or damaged entry.
fn decode(bytes: &[u8], into: &mut Changes) {
    let mut entries = bytes.chunks_exact(ENTRY).map(|chunk| {
        let (key, sum) = chunk.split_at(16);
        let key: [u8; 16] = key.try_into().unwrap_or_default();
        (key, sum)
    });
    while let Some((key, sum)) = entries.next() {
        if sum == check(&key) {
            into.push(Change::End(StoreKey(key)));
        } else if sum == check_from(&key) || sum == check_from_ownerless(&key) {
            let Some((to, _)) = entries
                .next()
                .filter(|(to, sum)| *sum == check_to(&key, to))
            else {
                return;
            };
            // A move that names no owner brings back only a session the
            // snapshot had anonymous (the mark of no owner).
            let owner = match sum == check_from(&key) {
                true => match entries
                    .next()
                    .filter(|(owner, sum)| *sum == check_owner(&key, &to, owner))
                {
                    Some((owner, _)) => owner,
                    None => return,
                },
                false => owner_mark(None),
            };
            into.push(Change::Moved {
                from: StoreKey(key),
                to: StoreKey(to),
                owner,
            });
        } else {
            return;
        }
    }
}

/// `<snapshot>.ended.` — the journal files' common prefix.
fn prefix(snapshot: &Path) -> String {
    let name = snapshot.file_name().map_or_else(
        || "sessions.snapshot".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    format!("{name}.ended.")
}

/// The journal generations beside `snapshot`, oldest first.
fn generations(snapshot: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let prefix = prefix(snapshot);
    let mut found = Vec::new();
    let entries = match fs::read_dir(folder(snapshot)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let generation = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(generation) = generation {
            found.push((generation, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The changes in one journal file, up to the first torn or damaged entry.
fn read_changes(path: &Path, into: &mut Changes) -> io::Result<()> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    decode(&bytes, into);
    Ok(())
}

impl Journal {
    /// Opens the journal beside `snapshot`: the changes its files hold,
    /// oldest first, and a writer for the next generation.
    ///
    /// # Errors
    /// If the existing journal files cannot be read.
    pub(crate) fn open(snapshot: &Path) -> io::Result<(Journal, Changes)> {
        let mut changes = Changes::new();
        let mut last = 0;
        for (generation, path) in generations(snapshot)? {
            read_changes(&path, &mut changes)?;
            last = generation;
        }
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            snapshot: snapshot.to_owned(),
            generation: last + 1,
            file: None,
        };
        std::thread::Builder::new()
            .name("session-journal".into())
            .spawn(move || writer.run(rx))?;
        Ok((Journal { tx }, changes))
    }

    /// Appends `change` and waits until it is on disk.
    ///
    /// # Errors
    /// If it could not be written and synced.
    pub(crate) async fn record(&self, change: Change) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Record(change, done))
            .map_err(|_| io::Error::other("the journal writer stopped"))?;
        wait.await
            .map_err(|_| io::Error::other("the journal writer stopped"))?
    }

    /// Starts a new generation (blocking): changes from now on go to it.
    /// Returns the last generation a snapshot started now makes obsolete.
    pub(crate) fn rotate(&self) -> Option<u64> {
        let (done, wait) = mpsc::channel();
        self.tx.send(Msg::Rotate(done)).ok()?;
        wait.recv().ok()
    }

    /// Deletes the generations up to `generation`, which a snapshot now on
    /// disk has made obsolete.
    pub(crate) fn retire(&self, generation: u64) {
        let _ = self.tx.send(Msg::Retire(generation));
    }
}

/// The thread that owns the journal file.
struct Writer {
    snapshot: PathBuf,
    generation: u64,
    file: Option<File>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut waiting = Vec::new();
            let mut changes = Vec::new();
            let mut next = Some(first);
            // Everything already queued joins this batch.
            while let Some(msg) = next.take().or_else(|| rx.try_recv().ok()) {
                // A batch is bounded, so a flood of ends still gets synced.
                if changes.len() >= MAX_BATCH {
                    self.flush(&changes, &mut waiting);
                    changes.clear();
                }
                match msg {
                    Msg::Record(change, done) => {
                        changes.push(change);
                        waiting.push(done);
                    }
                    other => {
                        // Changes queued before a rotation belong to the
                        // old generation: write them first.
                        self.flush(&changes, &mut waiting);
                        changes.clear();
                        self.handle(other);
                    }
                }
            }
            self.flush(&changes, &mut waiting);
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Rotate(done) => {
                self.file = None;
                self.generation += 1;
                let _ = done.send(self.generation - 1);
            }
            Msg::Retire(upto) => {
                if let Ok(old) = generations(&self.snapshot) {
                    for (generation, path) in old {
                        if generation <= upto {
                            let _ = fs::remove_file(path);
                        }
                    }
                    let _ = sync_folder(folder(&self.snapshot));
                }
            }
            Msg::Record(..) => {}
        }
    }

    /// Writes `changes` and syncs once, then answers everyone waiting.
    fn flush(&mut self, changes: &[Change], waiting: &mut Vec<oneshot::Sender<io::Result<()>>>) {
        if waiting.is_empty() {
            return;
        }
        let result = self.write(changes);
        for done in waiting.drain(..) {
            let _ = done.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
    }

    fn write(&mut self, changes: &[Change]) -> io::Result<()> {
        if self.file.is_none() {
            let dir = folder(&self.snapshot);
            fs::create_dir_all(dir)?;
            let path = dir.join(format!("{}{}", prefix(&self.snapshot), self.generation));
            let mut options = OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options.open(path)?;
            // The new file's name must survive a crash too.
            sync_folder(dir)?;
            self.file = Some(file);
        }
        let mut bytes = Vec::with_capacity(changes.len() * 3 * ENTRY);
        for change in changes {
            encode(change, &mut bytes);
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("no file"))?;
        file.write_all(&bytes)?;
        file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ended_keys_survive_a_reopen_and_retire_with_their_generation() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("sessions.snapshot");
        let (a, b) = (StoreKey([1; 16]), StoreKey([2; 16]));
        {
            let (journal, changes) = Journal::open(&snapshot).unwrap();
            assert!(changes.is_empty());
            journal.record(Change::End(a)).await.unwrap();
            let obsolete = journal.rotate().unwrap();
            journal.record(Change::End(b)).await.unwrap();
            let (_, changes) = Journal::open(&snapshot).unwrap();
            assert_eq!(changes, [Change::End(a), Change::End(b)]);
            journal.retire(obsolete);
            // Retiring is queued; a later change is answered after it.
            journal.record(Change::End(b)).await.unwrap();
        }
        let (_, changes) = Journal::open(&snapshot).unwrap();
        assert_eq!(changes, [Change::End(b), Change::End(b)]);
    }

    #[test]
    fn a_torn_last_entry_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("s");
        let key = [9u8; 16];
        let mut bytes = [&key[..], &check(&key)].concat();
        bytes.extend_from_slice(&[5; 7]);
        fs::write(dir.path().join("s.ended.1"), bytes).unwrap();
        let (_, changes) = Journal::open(&snapshot).unwrap();
        assert_eq!(changes, [Change::End(StoreKey(key))]);
    }

    #[tokio::test]
    async fn moves_and_ends_read_back_in_order_and_a_torn_move_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("s");
        let (a, b, c) = (StoreKey([1; 16]), StoreKey([2; 16]), StoreKey([3; 16]));
        let owner = owner_mark(Some("alice"));
        let made = [
            Change::Moved {
                from: a,
                to: b,
                owner,
            },
            Change::End(c),
            Change::Moved {
                from: b,
                to: c,
                owner: owner_mark(None),
            },
        ];
        {
            let (journal, _) = Journal::open(&snapshot).unwrap();
            for change in made {
                journal.record(change).await.unwrap();
            }
        }
        let (_, changes) = Journal::open(&snapshot).unwrap();
        assert_eq!(changes, made);

        // A crash cut the last move short, by one entry or two: the
        // changes before it stand.
        let file = dir.path().join("s.ended.1");
        let bytes = fs::read(&file).unwrap();
        for cut in [ENTRY, 2 * ENTRY] {
            fs::write(&file, &bytes[..bytes.len() - cut]).unwrap();
            let (_, changes) = Journal::open(&snapshot).unwrap();
            assert_eq!(changes, made[..2]);
        }
        // A move's later parts alone are no entry of any kind.
        fs::write(&file, &bytes[ENTRY..3 * ENTRY]).unwrap();
        let (_, changes) = Journal::open(&snapshot).unwrap();
        assert_eq!(changes, []);
    }

    /// An early build wrote moves as two entries, without the owner: they
    /// read as moves of an anonymous session, and what follows them still
    /// reads (an end after one must not be lost).
    #[test]
    fn a_move_without_its_owner_still_reads_and_so_do_the_changes_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("s");
        let (a, b, c) = ([1u8; 16], [2u8; 16], [3u8; 16]);
        let bytes = [
            &a[..],
            &check_from_ownerless(&a),
            &b,
            &check_to(&a, &b),
            &c,
            &check(&c),
        ]
        .concat();
        fs::write(dir.path().join("s.ended.1"), bytes).unwrap();
        let (_, changes) = Journal::open(&snapshot).unwrap();
        let moved = Change::Moved {
            from: StoreKey(a),
            to: StoreKey(b),
            owner: owner_mark(None),
        };
        assert_eq!(changes, [moved, Change::End(StoreKey(c))]);
    }
}
