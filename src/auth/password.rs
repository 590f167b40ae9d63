//! Password hashing: argon2id, off the async workers, a few at a time.
//!
//! Hashing costs ~19 MiB and tens of milliseconds of CPU by design, so it
//! runs on [`Hasher`]'s own threads, one fewer than the machine's cores
//! and at low OS priority: a burst of logins queues for a thread (without
//! holding any async worker), and pages keep a core and the upper hand.

use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{mpsc, oneshot};

/// OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// The argon2id hasher with the parameters above.
pub fn argon2id() -> Argon2<'static> {
    // These constants are valid parameters, so this cannot fail.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
///
/// Blocking: call it through [`Hasher`] on a request path.
pub fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2id()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 accepts any password up to 4 GiB")
        .to_string()
}

/// Whether `password` matches the PHC string `phc`; false for a malformed one.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        argon2id()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// Runs hashes on a few threads of its own, at low OS priority.
///
/// Not Tokio's blocking pool: those threads serve other blocking work too,
/// and a thread cannot raise its priority back once lowered. Here each
/// thread lowers its own priority (nice 10) once, so pages preempt
/// hashing, and the number of threads bounds how many hashes run at once.
/// Requests queue for a thread without holding an async worker.
#[derive(Clone)]
pub struct Hasher {
    queue: mpsc::Sender<Job>,
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

/// Lowers the calling thread's priority: on Linux, `setpriority` with a
/// thread id applies to that thread alone. If it is not allowed, hashing
/// runs at normal priority; the thread count still bounds it.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
}

impl Hasher {
    /// A hasher running at most `threads` hashes at once. Its threads end
    /// when the last clone of the hasher is dropped.
    ///
    /// # Panics
    /// If the operating system cannot start a thread.
    pub fn new(threads: usize) -> Self {
        let (queue, jobs) = mpsc::channel::<Job>(1024);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // One idle thread at a time waits on the queue.
                        let job = jobs
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .blocking_recv();
                        let Some(job) = job else { return };
                        // A panicking job must not take the thread with it.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .expect("the OS starts a hashing thread");
        }
        let unguessable = SaltString::generate(&mut OsRng);
        Hasher {
            queue,
            dummy: hash_blocking(unguessable.as_str()).into(),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        // The threads live as long as any sender and never drop a job, and
        // hashing does not panic; either failing is a broken invariant.
        self.queue
            .send(job)
            .await
            .expect("hashing threads are running");
        answered.await.expect("a hashing job always answers")
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
