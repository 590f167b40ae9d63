//! The file backend's disk operations: atomic replacement, durable
//! appends, the one-instance lock and the device-cookie key file.
//!
//! Everything here blocks; the store runs it on Tokio's blocking pool.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use rand::TryRngCore as _;

/// The folder `path` is in (`.` for a bare file name).
pub(super) fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` appended to its file name: `users.json.lock`.
pub(super) fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

/// Options that create files with mode 0600: they hold hashes and keys.
fn private() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Makes a rename or a new file in `dir` durable.
pub(super) fn sync_folder(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replaces `path` with `bytes` so that readers and crashes see the old
/// file or the new one, never a mix.
///
/// The temporary file has a random name, is created exclusively (never
/// through a planted symlink) with mode 0600, is flushed to disk, then
/// renamed over `path`; the folder is synced so the rename survives a crash.
pub(super) fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = folder_of(path);
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_folder(&dir)
}

/// Appends `line` (which ends in `\n`) to `path` and flushes it to disk.
pub(super) fn append(path: &Path, line: &[u8]) -> std::io::Result<()> {
    let existed = path.exists();
    let mut file = private().append(true).create(true).open(path)?;
    file.write_all(line)?;
    file.sync_data()?;
    if !existed {
        sync_folder(&folder_of(path))?;
    }
    Ok(())
}

/// Takes the OS lock on `path` (created if needed) for as long as the
/// returned file stays open. The OS releases it when the process ends,
/// however it ends, so no stale lock file can keep an instance out.
///
/// Returns `Ok(None)` if another process (or another store in this one)
/// holds it.
pub(super) fn lock(path: &Path) -> std::io::Result<Option<File>> {
    let file = private()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The 256-bit key in `path` (64 hex digits), made the first time.
///
/// # Errors
/// If the file cannot be read or made, or holds anything but a key.
pub(super) fn device_key(path: &Path) -> Result<[u8; 32], String> {
    let shown = path.display();
    match private().write(true).create_new(true).open(path) {
        Ok(mut file) => {
            let mut key = [0u8; 32];
            OsRng
                .try_fill_bytes(&mut key)
                .map_err(|e| format!("the OS random number generator failed: {e}"))?;
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            file.write_all(format!("{hex}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .and_then(|()| sync_folder(&folder_of(path)))
                .map_err(|e| format!("{shown}: {e}"))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut text = String::new();
            File::open(path)
                .and_then(|mut f| f.read_to_string(&mut text))
                .map_err(|e| format!("{shown}: {e}"))?;
            parse_key(text.trim()).ok_or_else(|| format!("{shown}: not 64 hex digits"))
        }
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

fn parse_key(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("memsess-io-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replace_writes_a_private_file_and_leaves_no_temporary_file() {
        let dir = temp_dir("replace");
        let path = dir.join("users.json");
        replace(&path, b"one").unwrap();
        replace(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_lock_is_held_once_and_released_with_its_file() {
        let dir = temp_dir("lock");
        let path = dir.join("users.json.lock");
        let held = lock(&path).unwrap().expect("free");
        assert!(lock(&path).unwrap().is_none(), "held twice");
        drop(held);
        assert!(lock(&path).unwrap().is_some(), "released");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_device_key_is_made_once_and_read_back() {
        let dir = temp_dir("key");
        let path = dir.join("users.json.device-key");
        let key = device_key(&path).unwrap();
        assert_eq!(device_key(&path).unwrap(), key);
        std::fs::write(&path, "short").unwrap();
        assert!(device_key(&path).unwrap_err().contains("64 hex digits"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
