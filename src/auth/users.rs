//! Accounts: a JSON file of usernames and argon2id PHC strings.
//!
//! The file is read once at launch and rewritten whole on each signup,
//! atomically (a temporary file in the same folder, flushed to disk, then
//! renamed over the old one), so a crash leaves either the old file or the
//! new one, never half of one. Signups take turns on a lock, so no two
//! rewrite the file at once and none is lost. Several instances may share
//! the file read-only; accounts are not what this project scales out.
//!
//! The demo users of the debug profile live only in memory: they never
//! reach the file, so a production run on the same file never has them.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::password::hash_blocking;
use crate::session::store::now_ms;

/// The demo users and their passwords, shown on the login page in debug.
pub const DEMO_USERS: [(&str, &str); 2] = [("alice", "wonderland-42"), ("bob", "builder-2024")];

/// One account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The argon2id PHC string of the password.
    pub password_hash: String,
    /// When the account was made, in ms since the Unix epoch.
    pub created_ms: u64,
}

/// The file's shape.
#[derive(Debug, Default, Serialize, Deserialize)]
struct UsersFile {
    users: BTreeMap<String, Account>,
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The username (ignoring case) belongs to someone.
    #[error("that username is taken")]
    Taken,
    /// The file could not be written; nothing changed.
    #[error("could not save the account: {0}")]
    Io(#[from] std::io::Error),
}

/// The accounts, loaded from and saved to one file.
pub struct UserStore {
    path: PathBuf,
    // Keys are lower-case usernames. Signups hold the write lock across the
    // file write, so they take turns.
    saved: RwLock<BTreeMap<String, Account>>,
    demo: BTreeMap<String, Account>,
}

impl UserStore {
    /// Reads `path` (a missing file is an empty one) and, if `demo`, makes
    /// the demo users.
    ///
    /// # Errors
    /// If the file exists but cannot be read or is not a users file.
    pub fn open(path: &Path, demo: bool) -> Result<Self, String> {
        let saved = match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice::<UsersFile>(&bytes)
                    .map_err(|e| format!("{}: not a users file: {e}", path.display()))?
                    .users
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let demo = if demo {
            DEMO_USERS
                .iter()
                .map(|(name, password)| {
                    let account = Account {
                        password_hash: hash_blocking(password),
                        created_ms: now_ms(),
                    };
                    (name.to_string(), account)
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        Ok(UserStore {
            path: path.to_owned(),
            saved: RwLock::new(saved),
            demo,
        })
    }

    /// The password hash of `username` (already lower-case), if it exists.
    pub async fn password_hash(&self, username: &str) -> Option<String> {
        if let Some(account) = self.demo.get(username) {
            return Some(account.password_hash.clone());
        }
        self.saved
            .read()
            .await
            .get(username)
            .map(|a| a.password_hash.clone())
    }

    /// Adds an account and writes the file.
    ///
    /// # Errors
    /// [`CreateError::Taken`] if the name exists; [`CreateError::Io`] if the
    /// file could not be written, in which case nothing changed.
    pub async fn create(&self, username: &str, password_hash: String) -> Result<(), CreateError> {
        let mut saved = self.saved.write().await;
        if self.demo.contains_key(username) || saved.contains_key(username) {
            return Err(CreateError::Taken);
        }
        let mut next = saved.clone();
        next.insert(
            username.to_owned(),
            Account {
                password_hash,
                created_ms: now_ms(),
            },
        );
        let json = serde_json::to_vec_pretty(&UsersFile {
            users: next.clone(),
        })
        .map_err(std::io::Error::other)?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &json))
            .await
            .map_err(std::io::Error::other)??;
        *saved = next;
        Ok(())
    }
}

/// Writes `bytes` to `path` so that readers and crashes see the old file
/// or the new one, never a mix.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("users.json");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("memsess-users-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("nested").join("users.json")
    }

    #[tokio::test]
    async fn accounts_survive_a_reopen_and_names_are_unique() {
        let path = temp_path("reopen");
        let store = UserStore::open(&path, false).unwrap();
        store
            .create("carol", "$argon2id$fake".into())
            .await
            .unwrap();
        assert!(matches!(
            store.create("carol", "x".into()).await,
            Err(CreateError::Taken)
        ));

        let reopened = UserStore::open(&path, false).unwrap();
        assert_eq!(
            reopened.password_hash("carol").await.as_deref(),
            Some("$argon2id$fake")
        );
        assert_eq!(reopened.password_hash("dave").await, None);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn demo_users_exist_but_never_reach_the_file() {
        let path = temp_path("demo");
        let store = UserStore::open(&path, true).unwrap();
        assert!(store.password_hash("alice").await.is_some());
        assert!(matches!(
            store.create("alice", "x".into()).await,
            Err(CreateError::Taken)
        ));
        store.create("erin", "h".into()).await.unwrap();
        let file = std::fs::read_to_string(&path).unwrap();
        assert!(file.contains("erin") && !file.contains("alice"));
    }

    #[test]
    fn a_corrupt_file_is_refused_not_overwritten() {
        let path = temp_path("corrupt");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{ not json").unwrap();
        assert!(UserStore::open(&path, false).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    }
}
