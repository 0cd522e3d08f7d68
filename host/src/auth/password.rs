//! Passwords, kept only as argon2 hashes, and the bound on hashing them.
//!
//! An argon2id hash costs tens of milliseconds and ~19 MiB, by design. Unbounded, a flood of
//! guesses takes every core and gigabytes of memory (each on a blocking thread of its own);
//! so every hash and check of a request runs through `Passwords`: at most `concurrency` at
//! once on blocking threads (half the cores: the other half keeps serving SCIM), at most
//! `queue` more waiting (four per core), and past that `503` with `Retry-After`. A check for a user that does
//! not exist (or has no password) runs against a hash of nothing anyone knows, so it costs and
//! answers what a wrong password does.

use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The bounded hasher of request paths. The bound is held by the hashing itself, not by the
/// request that asked for it: a client that hangs up, or a request that times out, does not
/// free a place while its hash still runs.
pub struct Passwords {
    running: Arc<tokio::sync::Semaphore>,
    /// Hashes running or waiting.
    in_line: Arc<AtomicUsize>,
    limit: usize,
}

/// A place in line; given back when dropped, wherever that happens.
struct InLine(Arc<AtomicUsize>);

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Passwords {
    /// `concurrency` hashes at once, `queue` more waiting.
    pub fn new(concurrency: usize, queue: usize) -> Passwords {
        let concurrency = concurrency.max(1);
        Passwords {
            running: Arc::new(tokio::sync::Semaphore::new(concurrency)),
            in_line: Arc::new(AtomicUsize::new(0)),
            limit: concurrency + queue,
        }
    }

    /// The bound for this machine: half its cores at once, four times its cores waiting (a
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
        let place = InLine(self.in_line.clone());
        if place.0.fetch_add(1, Ordering::SeqCst) >= self.limit {
            return Err(Error::Busy {
                retry_after: 1,
                detail: "too many password checks are under way; try again shortly".into(),
            });
        }
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("the password hasher has stopped".into()))?;
        // The place and the permit go with the work: if this request is dropped (its client hung
        // up), the hash still counts until it has finished.
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop((permit, place));
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_hash_keeps_its_place_after_its_request_is_gone() {
        let passwords = Arc::new(Passwords::new(1, 0));
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let p = passwords.clone();
        let request = tokio::spawn(async move {
            p.run(move || {
                let _ = started_tx.send(());
                let _ = gate.recv();
            })
            .await
        });
        tokio::task::spawn_blocking(move || started.recv()).await.ok();
        // The client hangs up: its request is dropped while the hash runs on.
        request.abort();
        let _ = request.await;
        let refused = passwords.run(|| ()).await;
        assert!(matches!(refused, Err(Error::Busy { .. })), "the running hash still holds the only place");
        let _ = release.send(());
        for _ in 0..200 {
            if passwords.run(|| ()).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the place came back once the hash was done");
    }
}
