//! The memory store's snapshot file: its format, and writing and reading
//! it safely.
//!
//! ```text
//! "memsess\0"  format (u32 LE)  entry … entry  count (u64 LE)  SHA-256 of all before it
//! ```
//!
//! Each entry is one session in [postcard](https://docs.rs/postcard), a
//! compact, stable serde format (varints, no field names): its store key
//! (a hash, never the id), tier, record and last use. postcard is small,
//! maintained, and its wire format is frozen at 1.0, so a snapshot written
//! by one build reads in the next. The trailing SHA-256 (sha2 is already a
//! dependency) tells a truncated, damaged or foreign file from a good
//! one, so a bad file is refused whole rather than half-read.
//!
//! Writing is atomic: a temporary file of random name beside the target,
//! created exclusively with mode 0600 (tempfile), written, fsynced, renamed
//! over the target, and the folder fsynced, so a crash leaves the old
//! snapshot or the new one, never a mix.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::record::now_ms;

const MAGIC: &[u8; 8] = b"memsess\0";
/// Bumped whenever [`Entry`] changes shape.
const FORMAT: u32 = 1;
const HEADER: usize = MAGIC.len() + 4;
const TRAILER: usize = 8 + 32;

/// One session as the snapshot keeps it, borrowing its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry<'a> {
    pub(crate) key: [u8; 16],
    /// 0 fresh, 1 anonymous, 2 owned.
    pub(crate) tier: u8,
    pub(crate) last_seen_ms: u64,
    pub(crate) created_ms: u64,
    pub(crate) version: u64,
    pub(crate) remembered: bool,
    #[serde(borrow)]
    pub(crate) data: &'a str,
    #[serde(borrow)]
    pub(crate) owner: Option<&'a str>,
    #[serde(borrow)]
    pub(crate) label: Option<&'a str>,
}

/// A snapshot being built in memory.
pub(crate) struct Writer {
    bytes: Vec<u8>,
    count: u64,
}

impl Writer {
    pub(crate) fn new() -> Self {
        let mut bytes = Vec::with_capacity(1 << 16);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT.to_le_bytes());
        Writer { bytes, count: 0 }
    }

    pub(crate) fn push(&mut self, entry: &Entry<'_>) {
        // Serializing plain integers, strings and options into a Vec
        // cannot fail.
        if let Ok(bytes) = postcard::to_extend(entry, std::mem::take(&mut self.bytes)) {
            self.bytes = bytes;
            self.count += 1;
        }
    }

    /// The finished file's bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&self.count.to_le_bytes());
        let digest = Sha256::digest(&self.bytes);
        self.bytes.extend_from_slice(&digest);
        self.bytes
    }
}

/// Why a snapshot file cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unreadable {
    #[error("not a memsess snapshot")]
    Foreign,
    #[error("written in format {0}, which this build does not read")]
    Format(u32),
    #[error("truncated or damaged (its checksum does not match)")]
    Damaged,
}

/// The entries of a snapshot file's bytes, checked whole first.
///
/// # Errors
/// [`Unreadable`] for anything but a complete snapshot of this format.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<Entry<'_>>, Unreadable> {
    if bytes.len() < HEADER + TRAILER || !bytes.starts_with(MAGIC) {
        return Err(Unreadable::Foreign);
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err(Unreadable::Damaged);
    }
    let format = u32::from_le_bytes(body[8..12].try_into().map_err(|_| Unreadable::Foreign)?);
    if format != FORMAT {
        return Err(Unreadable::Format(format));
    }
    let (mut rest, count) = body[HEADER..].split_at(body.len() - HEADER - 8);
    let count = u64::from_le_bytes(count.try_into().map_err(|_| Unreadable::Damaged)?);
    // An entry takes a dozen bytes at least: a forged count reserves no
    // more than the file could hold.
    let mut entries = Vec::with_capacity(count.min(rest.len() as u64 / 12) as usize);
    for _ in 0..count {
        let (entry, after) = postcard::take_from_bytes(rest).map_err(|_| Unreadable::Damaged)?;
        entries.push(entry);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(Unreadable::Damaged);
    }
    Ok(entries)
}

/// The folder a file lives in (`.` for a bare name).
pub(crate) fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes a rename or a new file in `dir` durable.
pub(crate) fn sync_folder(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Whether snapshots of `path` can be written: its folder is made if it
/// is missing, listed (for the journal's files) and synced, and a file is
/// made in it and removed, as the snapshots and the journal do. Checked
/// at launch, so that a path where nothing can be kept stops the launch
/// rather than lose every session at the next restart.
///
/// # Errors
/// The folder cannot be made, listed or synced, or a file cannot be made
/// in it.
pub(crate) fn check_writable(path: &Path) -> io::Result<()> {
    let dir = folder(path);
    fs::create_dir_all(dir)?;
    fs::read_dir(dir)?;
    tempfile::NamedTempFile::new_in(dir)?.close()?;
    sync_folder(dir)
}

/// Writes `bytes` to `path` atomically, mode 0600 (see the module docs).
///
/// # Errors
/// Any I/O error; the old file is then untouched.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = folder(path);
    fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    sync_folder(dir)
}

/// Moves an unusable snapshot aside, keeping it for a person to look at:
/// `sessions.snapshot` becomes `sessions.snapshot.unreadable-<ms>`, or
/// `…-<ms>-<n>` if a file set aside before has that name (a clock set
/// back, two in one millisecond): a rename would replace it.
///
/// # Errors
/// If it cannot be renamed (then it must not be written over either).
pub(crate) fn set_aside(path: &Path) -> io::Result<PathBuf> {
    let stem = format!(".unreadable-{}", now_ms());
    for n in 0..100 {
        let mut aside = path.as_os_str().to_owned();
        aside.push(&stem);
        if n > 0 {
            aside.push(format!("-{n}"));
        }
        let aside = PathBuf::from(aside);
        match fs::symlink_metadata(&aside) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::rename(path, &aside)?;
                return Ok(aside);
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name to set the file aside",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(data: &str) -> Entry<'_> {
        Entry {
            key: [7; 16],
            tier: 2,
            last_seen_ms: 5,
            created_ms: 1,
            version: 3,
            remembered: true,
            data,
            owner: Some("alice"),
            label: None,
        }
    }

    fn file(entries: &[Entry<'_>]) -> Vec<u8> {
        let mut writer = Writer::new();
        entries.iter().for_each(|e| writer.push(e));
        writer.finish()
    }

    #[test]
    fn entries_round_trip() {
        let bytes = file(&[entry("{}"), entry(r#"{"cart":[1]}"#)]);
        assert_eq!(
            decode(&bytes).unwrap(),
            [entry("{}"), entry(r#"{"cart":[1]}"#)]
        );
        assert!(decode(&file(&[])).unwrap().is_empty());
    }

    #[test]
    fn truncated_damaged_and_foreign_files_are_refused() {
        let bytes = file(&[entry("{}")]);
        for cut in [1, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[HEADER + 3] ^= 1;
        assert!(matches!(decode(&flipped), Err(Unreadable::Damaged)));
        assert!(matches!(
            decode(b"{\"users\": {}} and more text to be long enough to check"),
            Err(Unreadable::Foreign)
        ));
    }

    #[test]
    fn a_file_set_aside_never_replaces_one_set_aside_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.snapshot");
        // Files set aside in every millisecond of the next two seconds (a
        // clock set back would meet them).
        let now = now_ms();
        for ms in now..now + 2000 {
            fs::write(
                dir.path()
                    .join(format!("sessions.snapshot.unreadable-{ms}")),
                "old",
            )
            .unwrap();
        }
        let mut kept = Vec::new();
        for n in 0..3 {
            fs::write(&path, format!("bad {n}")).unwrap();
            kept.push(set_aside(&path).unwrap());
        }
        assert!(!path.exists());
        for (n, aside) in kept.iter().enumerate() {
            assert_eq!(fs::read_to_string(aside).unwrap(), format!("bad {n}"));
        }
        let old = fs::read_dir(dir.path()).unwrap().flatten();
        let old = old.filter(|e| fs::read_to_string(e.path()).unwrap() == "old");
        assert_eq!(old.count(), 2000, "nothing set aside before was replaced");
    }
}
