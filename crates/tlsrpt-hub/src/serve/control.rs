//! Shutdown and reload requests, fanned out from the signal handler to every receiver.
//!
//! `watch` channels rather than a broadcast: a receiver that starts late, or is busy when the
//! signal comes, still sees the latest state instead of a missed message.

use tokio::sync::watch;

/// The sending half, owned by [`super::run`].
#[derive(Debug)]
pub struct Controller {
    shutdown: watch::Sender<bool>,
    reload: watch::Sender<u64>,
}

/// What every receiver gets: wait for shutdown (stop accepting, finish in-flight work) and
/// for reloads (re-read certificates).
#[derive(Debug, Clone)]
pub struct Control {
    shutdown: watch::Receiver<bool>,
    reload: watch::Receiver<u64>,
}

pub fn channel() -> (Controller, Control) {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = watch::channel(0);
    (
        Controller {
            shutdown: shutdown_tx,
            reload: reload_tx,
        },
        Control {
            shutdown: shutdown_rx,
            reload: reload_rx,
        },
    )
}

impl Controller {
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn reload(&self) {
        self.reload.send_modify(|generation| *generation += 1);
    }
}

impl Control {
    /// Resolves once shutdown was requested (or the controller is gone).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.wait_for(|requested| *requested).await;
    }

    /// Waits for the next reload request; `false` once shutting down instead.
    pub async fn next_reload(&mut self) -> bool {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            changed = self.reload.changed() => changed.is_ok(),
            _ = shutdown.wait_for(|requested| *requested) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reloads_are_seen_until_shutdown() {
        let (controller, control) = channel();
        let mut reloads = control.clone();
        controller.reload();
        assert!(reloads.next_reload().await);
        controller.shut_down();
        assert!(!reloads.next_reload().await);
        control.shutdown().await;
    }
}
