use super::{encode_line, FileConfig};
use crate::sinks::{Delivery, Outcome};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Appends batches to the file; one batch is one write and one fsync, so after a crash the file holds
/// whole batches, and a batch whose fsync did not return is delivered again (at least once).
pub struct FileSink {
    config: FileConfig,
    /// Batches from one worker arrive one at a time; the lock keeps replay and the worker from interleaving.
    write_lock: Mutex<()>,
}

impl FileSink {
    pub fn new(config: FileConfig) -> Self {
        FileSink {
            config,
            write_lock: Mutex::new(()),
        }
    }

    pub async fn deliver(&self, batch: &[Delivery]) -> Vec<Outcome> {
        let mut bytes = Vec::new();
        for delivery in batch {
            encode_line(delivery, &mut bytes);
        }
        let _guard = self.write_lock.lock().await;
        match self.append(&bytes).await {
            Ok(()) => vec![Outcome::Delivered; batch.len()],
            Err(e) => {
                let error = format!("cannot append to {}: {e}", self.config.path.display());
                vec![Outcome::retry(error); batch.len()]
            }
        }
    }

    async fn append(&self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = self.config.path.parent() {
            if !dir.as_os_str().is_empty() {
                tokio::fs::create_dir_all(dir).await?;
            }
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.config.path)
            .await?;
        let length_before = file.metadata().await?.len();
        let written = async {
            file.write_all(bytes).await?;
            file.flush().await?;
            file.sync_data().await
        }
        .await;
        if written.is_err() {
            // A half-written batch (disk full) would leave half a line for the retry to append after.
            let _ = file.set_len(length_before).await;
        }
        written
    }
}
