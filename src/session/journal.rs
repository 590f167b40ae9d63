//! The journal of ended sessions: what keeps a crash from bringing back a
//! session that was signed out after the last snapshot.
//!
//! A snapshot is written every few seconds, so on its own it would let a
//! session ended since (by logout, rotation, "sign out everywhere else")
//! come back after a crash. So each such end is appended to a journal and
//! fsynced before the request that ended it answers; at launch, every key
//! in the journal is dropped from the snapshot it is loaded over.
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
//!   of its SHA-256, so a write torn by a crash is recognised and ignored.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::id::{KeyHashBuilder, StoreKey};
use super::snapshot::{folder, sync_folder};

const ENTRY: usize = 16 + 4;
/// The most ends one fsync covers.
const MAX_BATCH: usize = 4096;

/// Keys found in the journal files at launch.
pub(crate) type Ended = HashSet<StoreKey, KeyHashBuilder>;

enum Msg {
    End(StoreKey, oneshot::Sender<io::Result<()>>),
    /// Starts a new generation; answers the last one of the old.
    Rotate(mpsc::Sender<u64>),
    /// Deletes the generations up to this one.
    Retire(u64),
}

/// The journal's handle; the writer thread ends when it is dropped.
pub(crate) struct Journal {
    tx: mpsc::Sender<Msg>,
}

fn check(key: &[u8; 16]) -> [u8; 4] {
    let digest = Sha256::digest(key);
    [digest[0], digest[1], digest[2], digest[3]]
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

/// The keys in one journal file, up to the first torn or damaged entry.
fn read_keys(path: &Path, into: &mut Ended) -> io::Result<()> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    for chunk in bytes.chunks_exact(ENTRY) {
        let (key, sum) = chunk.split_at(16);
        let key: [u8; 16] = key.try_into().map_err(io::Error::other)?;
        if check(&key) != sum {
            break;
        }
        into.insert(StoreKey(key));
    }
    Ok(())
}

impl Journal {
    /// Opens the journal beside `snapshot`: the keys its files hold, and a
    /// writer for the next generation.
    ///
    /// # Errors
    /// If the existing journal files cannot be read.
    pub(crate) fn open(snapshot: &Path) -> io::Result<(Journal, Ended)> {
        let mut ended = Ended::default();
        let mut last = 0;
        for (generation, path) in generations(snapshot)? {
            read_keys(&path, &mut ended)?;
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
        Ok((Journal { tx }, ended))
    }

    /// Appends `key` and waits until it is on disk.
    ///
    /// # Errors
    /// If it could not be written and synced.
    pub(crate) async fn end(&self, key: StoreKey) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::End(key, done))
            .map_err(|_| io::Error::other("the journal writer stopped"))?;
        wait.await
            .map_err(|_| io::Error::other("the journal writer stopped"))?
    }

    /// Starts a new generation (blocking): ends from now on go to it.
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
            let mut keys = Vec::new();
            let mut next = Some(first);
            // Everything already queued joins this batch.
            while let Some(msg) = next.take().or_else(|| rx.try_recv().ok()) {
                // A batch is bounded, so a flood of ends still gets synced.
                if keys.len() >= MAX_BATCH {
                    self.flush(&keys, &mut waiting);
                    keys.clear();
                }
                match msg {
                    Msg::End(key, done) => {
                        keys.push(key);
                        waiting.push(done);
                    }
                    other => {
                        // Ends queued before a rotation belong to the old
                        // generation: write them first.
                        self.flush(&keys, &mut waiting);
                        keys.clear();
                        self.handle(other);
                    }
                }
            }
            self.flush(&keys, &mut waiting);
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
            Msg::End(..) => {}
        }
    }

    /// Writes `keys` and syncs once, then answers everyone waiting.
    fn flush(&mut self, keys: &[StoreKey], waiting: &mut Vec<oneshot::Sender<io::Result<()>>>) {
        if waiting.is_empty() {
            return;
        }
        let result = self.write(keys);
        for done in waiting.drain(..) {
            let _ = done.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
    }

    fn write(&mut self, keys: &[StoreKey]) -> io::Result<()> {
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
        let mut bytes = Vec::with_capacity(keys.len() * ENTRY);
        for key in keys {
            bytes.extend_from_slice(&key.0);
            bytes.extend_from_slice(&check(&key.0));
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
            let (journal, ended) = Journal::open(&snapshot).unwrap();
            assert!(ended.is_empty());
            journal.end(a).await.unwrap();
            let obsolete = journal.rotate().unwrap();
            journal.end(b).await.unwrap();
            let (_, ended) = Journal::open(&snapshot).unwrap();
            assert!(ended.contains(&a) && ended.contains(&b));
            journal.retire(obsolete);
            // Retiring is queued; a later end is answered after it.
            journal.end(b).await.unwrap();
        }
        let (_, ended) = Journal::open(&snapshot).unwrap();
        assert!(!ended.contains(&a) && ended.contains(&b));
    }

    #[test]
    fn a_torn_last_entry_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("s");
        let key = [9u8; 16];
        let mut bytes = [&key[..], &check(&key)].concat();
        bytes.extend_from_slice(&[5; 7]);
        fs::write(dir.path().join("s.ended.1"), bytes).unwrap();
        let (_, ended) = Journal::open(&snapshot).unwrap();
        assert_eq!(ended.len(), 1);
    }
}
