//! A background thread of the store that does one thing every so often (checkpointing the
//! WAL, watching the authentication epoch) and stops promptly — mid-sleep — when the store
//! closes, so that closing can wait for it and leave no connection behind.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::{Error, Result};

pub(super) struct Periodic {
    stop: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

impl Periodic {
    /// Runs `tick` every `every` on a thread named `name` until `stop`; `tick` owns what it
    /// captures (its connection), which is dropped when the thread ends.
    pub(super) fn start(name: &str, every: Duration, mut tick: impl FnMut() + Send + 'static) -> Result<Periodic> {
        let (stop, stopped) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    tick();
                }
            })
            .map_err(|e| Error::Internal(format!("starting the {name} thread: {e}")))?;
        Ok(Periodic { stop: Mutex::new(Some((stop, handle))) })
    }

    /// Stops the thread and waits for it (and for what its tick owns) to end.
    pub(super) fn stop(&self) {
        if let Some((stop, handle)) = self.stop.lock().take() {
            drop(stop);
            let _ = handle.join();
        }
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        // Without waiting: a store dropped on a request's thread must not block it.
        if let Some((stop, _)) = self.stop.lock().take() {
            drop(stop);
        }
    }
}
