//! The users file: reading and checking it, and writing it back.
//!
//! People may edit it by hand (to add an account with a hash from
//! `memsess hash-password`, or remove one), so loading checks every entry
//! and refuses the whole file, naming the entry, rather than serve
//! accounts the app would never have made: a name that breaks the username
//! rules or is not lower case (it could never log in, or would shadow
//! another), a name given twice (JSON parsers keep one silently), or a
//! hash that is not a PHC string.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use argon2::password_hash::PasswordHash;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::Account;
use crate::auth::validate::username_problem;

/// The users as written, in file order, duplicates kept for the check.
struct Entries(Vec<(String, Account)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of usernames to accounts")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Entries, M::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Account>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        de.deserialize_map(EntriesVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    users: Entries,
}

#[derive(Serialize)]
struct FileOut<'a> {
    users: &'a BTreeMap<String, Account>,
}

/// Reads and checks the users file (missing: no accounts).
///
/// # Errors
/// A message naming the file and, for a bad entry, the entry.
pub(super) fn load(path: &Path) -> Result<BTreeMap<String, Account>, String> {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("{shown}: {e}")),
    };
    let file: FileIn =
        serde_json::from_slice(&bytes).map_err(|e| format!("{shown}: not a users file: {e}"))?;
    let mut accounts = BTreeMap::new();
    for (name, account) in file.users.0 {
        let bad = |why: &str| format!("{shown}: the entry {name:?} {why}");
        // The rules first, on the name as it would be folded: a name with
        // more than its capitals wrong hears of the worse fault.
        if let Some(problem) = username_problem(&name.to_ascii_lowercase()) {
            return Err(bad(&format!("breaks the username rules: {problem}")));
        }
        if name != name.to_ascii_lowercase() {
            return Err(bad(
                "is not lower case (usernames are stored folded to lower case)",
            ));
        }
        if PasswordHash::new(&account.password_hash).is_err() {
            return Err(bad(
                "has a password_hash that is not a PHC string (make one with `memsess hash-password`)",
            ));
        }
        if accounts.insert(name.clone(), account).is_some() {
            return Err(bad("appears twice"));
        }
    }
    Ok(accounts)
}

/// The file's bytes for `accounts`: pretty JSON, for people who edit it.
pub(super) fn to_bytes(accounts: &BTreeMap<String, Account>) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(&FileOut { users: accounts }).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

    fn with(users: &str) -> Result<BTreeMap<String, Account>, String> {
        let dir = std::env::temp_dir().join(format!(
            "memsess-users-file-{}-{}",
            std::process::id(),
            users.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.json");
        std::fs::write(&path, format!("{{\"users\": {{{users}}}}}")).unwrap();
        let loaded = load(&path);
        let _ = std::fs::remove_dir_all(&dir);
        loaded
    }

    fn entry(name: &str, hash: &str) -> String {
        format!("\"{name}\": {{\"password_hash\": \"{hash}\", \"created_ms\": 1}}")
    }

    #[test]
    fn a_good_file_loads_and_round_trips() {
        let loaded = with(&format!(
            "{}, {}",
            entry("carol", HASH),
            entry("dave-2", HASH)
        ))
        .unwrap();
        assert_eq!(loaded.len(), 2);
        let text = String::from_utf8(to_bytes(&loaded)).unwrap();
        assert!(text.contains("\"carol\"") && text.contains(HASH));
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        for (users, named, why) in [
            (entry("Carol", HASH), "\"Carol\"", "lower case"),
            (entry("c d", HASH), "\"c d\"", "username rules"),
            (entry("Bad Name", HASH), "\"Bad Name\"", "username rules"),
            (entry("x", HASH), "\"x\"", "username rules"),
            (entry("carol", "plaintext"), "\"carol\"", "PHC"),
            (
                format!("{}, {}", entry("carol", HASH), entry("carol", HASH)),
                "\"carol\"",
                "twice",
            ),
        ] {
            let error = with(&users).unwrap_err();
            assert!(error.contains(named) && error.contains(why), "{error}");
        }
    }
}
