//! Shutdown signal (the mini-redis shape): a watch channel the loop selects on.

use tokio::sync::watch;

/// Listens for shutdown. Cheap to clone; every clone sees the same signal.
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// Triggers shutdown for every [`Shutdown`] made from it.
#[derive(Debug)]
pub struct Trigger {
    tx: watch::Sender<bool>,
}

/// A connected pair.
pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger { tx }, Shutdown { rx })
}

impl Trigger {
    /// Signals shutdown.
    pub fn fire(&self) {
        let _ = self.tx.send(true);
    }
}

impl Shutdown {
    /// Whether shutdown was signalled.
    pub fn is_shutdown(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until shutdown is signalled (or the trigger is dropped).
    pub async fn recv(&mut self) {
        while !*self.rx.borrow_and_update() {
            if self.rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn signals() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    Ok(())
}
