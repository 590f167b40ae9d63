//! Password hashing: argon2id, off the async workers, a few at a time.
//!
//! Hashing costs ~19 MiB and tens of milliseconds of CPU by design, so it
//! runs on Tokio's blocking pool, and a semaphore lets at most one fewer
//! than the machine's cores hash at once: a burst of logins queues for a
//! permit (without holding any worker) and pages keep a core to run on.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    // These constants are valid parameters, so this cannot fail.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
///
/// Blocking: call it through [`Hasher`] on a request path.
pub fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 accepts any password up to 4 GiB")
        .to_string()
}

/// Whether `password` matches the PHC string `phc`; false for a malformed one.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Runs hashes on the blocking pool, a bounded number at once.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// A real hash of nothing anyone knows, verified for unknown usernames
    /// so they take as long as a wrong password.
    dummy: Arc<str>,
}

impl Default for Hasher {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Hasher::new(cores.saturating_sub(1).max(1))
    }
}

impl Hasher {
    /// A hasher running at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Self {
        let unguessable = SaltString::generate(&mut OsRng);
        Hasher {
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy: hash_blocking(unguessable.as_str()).into(),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.permits.acquire().await.expect("semaphore open");
        tokio::task::spawn_blocking(work)
            .await
            .expect("hashing does not panic")
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> String {
        self.run(move || hash_blocking(&password)).await
    }

    /// Verifies `password` against `phc`, or against the dummy hash when
    /// there is no account, so both take the same time and say false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.to_string());
        let matched = self.run(move || verify_blocking(&password, &phc)).await;
        known && matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let phc = hash_blocking("correct horse");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("correct horse", &phc));
        assert!(!verify_blocking("correct horsf", &phc));
        assert!(!verify_blocking("correct horse", "not a hash"));
        assert_ne!(phc, hash_blocking("correct horse"), "salts differ");
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let hasher = Hasher::new(1);
        assert!(!hasher.verify("anything".into(), None).await);
        let phc = hasher.hash("pw-123456".into()).await;
        assert!(hasher.verify("pw-123456".into(), Some(phc)).await);
    }
}
