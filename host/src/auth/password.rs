//! Passwords, kept only as argon2 hashes, and the bound on hashing them.
//!
//! An argon2id hash costs tens of milliseconds and ~19 MiB, by design. Unbounded, a flood of
//! guesses takes every core and gigabytes of memory (each on a blocking thread of its own);
//! so every hash and check of a request runs through `Passwords`: a fixed pool of hashing
//! threads (half the cores: the other half keeps serving SCIM) fed by a bounded queue (four
//! places per core); past that the answer is `503` with `Retry-After`. Threads of their own,
//! rather than Tokio's blocking pool, keep the memory bounded too: each thread's allocator
//! reuses its 19 MiB from one hash to the next, where a changing set of pool threads would each
//! keep some. A check for a user that does
//! not exist (or has no password) runs against a hash of nothing anyone knows, so it costs and
//! answers what a wrong password does.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use crate::error::{Error, Result};

/// An argon2id hash (PHC string) of a password. Deliberately slow: tens of milliseconds.
/// Request paths go through `Passwords::hash`; this is for the offline commands.
pub fn hash(password: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| Error::Internal(format!("making a salt: {e}")))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

/// Whether a password matches a stored hash.
pub fn verify(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// The hash unknown users are checked against.
fn nobody() -> &'static str {
    static NOBODY: OnceLock<String> = OnceLock::new();
    NOBODY.get_or_init(|| {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        hash(&hex::encode(secret)).unwrap_or_default()
    })
}

/// A hash or check to run, with where its answer goes.
type Job = Box<dyn FnOnce() + Send>;

/// The bounded hasher of request paths. A job in the queue or on a hashing thread keeps its
/// place however its request ends: a client that hangs up does not free a place while its hash
/// still runs.
pub struct Passwords {
    queue: std::sync::mpsc::SyncSender<Job>,
}

impl Passwords {
    /// `concurrency` hashing threads, `queue` more jobs waiting.
    pub fn new(concurrency: usize, queue: usize) -> Passwords {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(parking_lot::Mutex::new(rx));
        for n in 0..concurrency.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("scimd-hash-{n}")).spawn(move || {
                loop {
                    // The lock is held only to take a job, not while it runs.
                    let job = rx.lock().recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "a password hashing thread could not start");
            }
        }
        Passwords { queue: tx }
    }

    /// The bound for this machine: half its cores hashing, four jobs per core waiting (a
    /// provisioning client pushing users with passwords waits its turn rather than being
    /// refused; a flood is refused).
    pub fn for_this_machine() -> Passwords {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Passwords::new(cores / 2, cores * 4)
    }

    /// Hashes a password for storing.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || hash(&password)).await?
    }

    /// Checks a password against a stored hash, or (`None`) against nobody's, as slowly.
    pub async fn verify(&self, stored: Option<String>, password: String) -> Result<bool> {
        self.run(move || match stored {
            Some(h) => verify(&h, &password),
            None => {
                verify(nobody(), &password);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                return Err(Error::Busy {
                    retry_after: 1,
                    detail: "too many password checks are under way; try again shortly".into(),
                });
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                return Err(Error::Internal("the password hashing threads have stopped".into()));
            }
        }
        rx.await.map_err(|_| Error::Internal("a password hashing thread stopped".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_hash_keeps_its_place_after_its_request_is_gone() {
        // One hashing thread and one place in the queue.
        let passwords = Arc::new(Passwords::new(1, 1));
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let running = {
            let p = passwords.clone();
            tokio::spawn(async move {
                p.run(move || {
                    let _ = started_tx.send(());
                    let _ = gate.recv();
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started.recv()).await.ok();
        // A second request queues; its client hangs up, and the first one's does too.
        let queued = {
            let p = passwords.clone();
            tokio::spawn(async move { p.run(|| ()).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        queued.abort();
        running.abort();
        let _ = (queued.await, running.await);
        let refused = passwords.run(|| ()).await;
        assert!(matches!(refused, Err(Error::Busy { .. })), "the hash and the queued job still hold their places");
        let _ = release.send(());
        for _ in 0..200 {
            if passwords.run(|| ()).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the places came back once the work was done");
    }
}
