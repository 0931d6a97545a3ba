//! Durable acknowledgement for SQLite without holding the writer during
//! the sync.
//!
//! At `synchronous = FULL` SQLite syncs its write-ahead log inside every
//! `COMMIT`, and the writer (and with it every write queued behind the
//! batch) waits for the disk. Instead the writer connection commits at
//! `synchronous = NORMAL`, which appends the batch to the log without a
//! sync, and hands the batch's waiters to [`LogSyncer`]: a thread of its
//! own that syncs the log and only then tells them their writes are
//! durable. The next batch runs while the disk works, and one sync covers
//! every commit made before it began.
//!
//! Why this is as durable as FULL: a sync of a file covers everything
//! written to it before the sync began, whichever descriptor wrote it, and
//! each batch's `COMMIT` has returned (its log frames written) before its
//! waiters reach the syncer. Log frames are checksummed, so a crash can
//! only cut the log after its last whole commit; and SQLite at NORMAL
//! still syncs the log before any checkpoint copies it into the database,
//! and the log's header when it starts over. A log that is gone was
//! checkpointed whole (and the database synced) by the last connection to
//! close, so there is nothing left to sync.
//!
//! One difference from FULL remains, for a disk that fails a sync: SQLite
//! at FULL would fail the `COMMIT` itself, and its writes would never be
//! seen; here they are committed (other connections see them) and their
//! requests are told they were not saved. Retries of intake and of
//! requests with an `Idempotency-Key` are safe, so a retry finds them.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Where a write waits to hear whether its batch is durable.
pub(crate) type Waiter = oneshot::Sender<Result<(), String>>;

/// Syncs the SQLite log on a thread of its own and then answers the
/// waiters of every batch committed before the sync began.
pub(crate) struct LogSyncer {
    queue: mpsc::Sender<Vec<Waiter>>,
    /// Syncs done so far (the thread counts them).
    #[cfg(test)]
    syncs: Arc<AtomicU64>,
}

impl LogSyncer {
    /// Starts the thread, syncing the log at `wal_path` (the database
    /// file's name with `-wal`).
    pub(crate) fn start(wal_path: PathBuf) -> io::Result<LogSyncer> {
        let mut log = WalFile {
            path: wal_path,
            open: None,
        };
        LogSyncer::start_with(move || log.sync())
    }

    /// Starts the thread with `sync` as what makes the log durable.
    pub(crate) fn start_with(
        mut sync: impl FnMut() -> io::Result<()> + Send + 'static,
    ) -> io::Result<LogSyncer> {
        let (queue, batches) = mpsc::channel::<Vec<Waiter>>();
        let syncs = Arc::new(AtomicU64::new(0));
        let counted = syncs.clone();
        std::thread::Builder::new()
            .name("sqlite-log-sync".into())
            .spawn(move || {
                // Ends when the writer (the only sender) is gone and
                // everything it sent has been answered.
                while let Ok(mut waiters) = batches.recv() {
                    // Every batch committed by now rides on this one sync.
                    while let Ok(more) = batches.try_recv() {
                        waiters.extend(more);
                    }
                    let synced = sync().map_err(|e| {
                        tracing::error!(error = %e, "syncing the SQLite log failed; the writes waiting on it are reported as not saved");
                        format!("the database log could not be synced: {e}")
                    });
                    counted.fetch_add(1, Ordering::Relaxed);
                    for waiter in waiters {
                        let _ = waiter.send(synced.clone());
                    }
                }
            })?;
        Ok(LogSyncer {
            queue,
            #[cfg(test)]
            syncs,
        })
    }

    /// Hands over the waiters of a batch whose `COMMIT` has returned; they
    /// hear back once the log is synced. If the thread is gone they are
    /// dropped, which a waiter reads as "not saved".
    pub(crate) fn after_commit(&self, waiters: Vec<Waiter>) {
        if waiters.is_empty() {
            return;
        }
        if self.queue.send(waiters).is_err() {
            tracing::error!("the SQLite log sync thread is gone; writes are reported as not saved");
        }
    }

    /// How many syncs have been done.
    #[cfg(test)]
    pub(crate) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

/// The log file, kept open between syncs (a descriptor that stays open
/// sees every write-back error on the file since it was opened, where one
/// opened anew may not).
struct WalFile {
    path: PathBuf,
    /// The open file and its inode.
    open: Option<(File, u64)>,
}

impl WalFile {
    fn sync(&mut self) -> io::Result<()> {
        let current = match std::fs::metadata(&self.path) {
            Ok(meta) => meta.ino(),
            // Checkpointed whole and removed: see the module's notes.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if self.open.as_ref().map(|(_, ino)| *ino) != Some(current) {
            match File::open(&self.path) {
                Ok(file) => {
                    let ino = file.metadata()?.ino();
                    self.open = Some((file, ino));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        match &self.open {
            Some((file, _)) => file.sync_data(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogSyncer;
    use std::io;
    use std::sync::mpsc;
    use std::time::Duration;
    use tokio::sync::oneshot;

    /// A sync that waits for the test to let it finish, and says when it
    /// began.
    fn gated_syncer() -> (LogSyncer, mpsc::Receiver<()>, mpsc::Sender<io::Result<()>>) {
        let (began_tx, began) = mpsc::channel();
        let (finish, finish_rx) = mpsc::channel::<io::Result<()>>();
        let syncer = LogSyncer::start_with(move || {
            let _ = began_tx.send(());
            finish_rx.recv().unwrap_or(Ok(()))
        })
        .expect("thread");
        (syncer, began, finish)
    }

    fn waiter() -> (super::Waiter, oneshot::Receiver<Result<(), String>>) {
        oneshot::channel()
    }

    #[test]
    fn a_write_hears_back_only_after_the_sync_that_covers_it() {
        let (syncer, began, finish) = gated_syncer();
        let (w, mut heard) = waiter();
        syncer.after_commit(vec![w]);
        began
            .recv_timeout(Duration::from_secs(5))
            .expect("a sync began");
        std::thread::sleep(Duration::from_millis(20));
        assert!(heard.try_recv().is_err(), "answered before the sync ended");
        finish.send(Ok(())).expect("syncer alive");
        assert_eq!(heard.blocking_recv(), Ok(Ok(())));
        assert_eq!(syncer.syncs(), 1);
    }

    #[test]
    fn batches_committed_during_a_sync_share_the_next_one() {
        let (syncer, began, finish) = gated_syncer();
        let (first, first_heard) = waiter();
        syncer.after_commit(vec![first]);
        began
            .recv_timeout(Duration::from_secs(5))
            .expect("first sync");
        // Two more batches commit while the first sync is running: the
        // sync under way began before their commits, so it cannot cover
        // them.
        let (second, mut second_heard) = waiter();
        let (third, mut third_heard) = waiter();
        syncer.after_commit(vec![second]);
        syncer.after_commit(vec![third]);
        finish.send(Ok(())).expect("syncer alive");
        assert_eq!(first_heard.blocking_recv(), Ok(Ok(())));
        began
            .recv_timeout(Duration::from_secs(5))
            .expect("second sync");
        std::thread::sleep(Duration::from_millis(20));
        assert!(second_heard.try_recv().is_err());
        assert!(third_heard.try_recv().is_err());
        finish.send(Ok(())).expect("syncer alive");
        assert_eq!(second_heard.blocking_recv(), Ok(Ok(())));
        assert_eq!(third_heard.blocking_recv(), Ok(Ok(())));
        assert_eq!(syncer.syncs(), 2, "one sync for both later batches");
    }

    #[test]
    fn a_failed_sync_reports_its_writes_as_not_saved() {
        let (syncer, began, finish) = gated_syncer();
        let (w, heard) = waiter();
        syncer.after_commit(vec![w]);
        began
            .recv_timeout(Duration::from_secs(5))
            .expect("a sync began");
        finish
            .send(Err(io::Error::other("disk gone")))
            .expect("syncer alive");
        let answer = heard.blocking_recv().expect("answered");
        let e = answer.expect_err("not saved");
        assert!(e.contains("disk gone"), "{e}");
    }

    #[test]
    fn a_missing_log_needs_no_sync_and_a_present_one_is_synced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db-wal");
        let mut log = super::WalFile {
            path: path.clone(),
            open: None,
        };
        log.sync().expect("nothing to sync");
        assert!(log.open.is_none());
        std::fs::write(&path, b"frames").expect("write");
        log.sync().expect("synced");
        let first = log.open.as_ref().map(|(_, ino)| *ino);
        assert!(first.is_some());
        // Removed and made anew (every connection closed, then one
        // opened): the new file is the one synced.
        std::fs::remove_file(&path).expect("remove");
        std::fs::write(&path, b"new frames").expect("write");
        log.sync().expect("synced");
        let second = log.open.as_ref().map(|(_, ino)| *ino);
        assert_eq!(
            second,
            std::fs::metadata(&path).ok().map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.ino()
            })
        );
    }
}
