//! [`SqliteStore`]: the domain's [`SessionStore`] on one SQLite file, served by two
//! connection threads (one writes, one reads) so async callers never block their runtime
//! and reads never queue behind another process's write.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use lulu_domain::ports::{
    SessionFilter, SessionQuery, SessionStore, SessionSummary, SessionWrite, StoreError,
    UsageGrouping, UsageRow,
};
use lulu_domain::{OwnerId, Run, RunId, Session, SessionId, TranscriptEntry};
use rusqlite::Transaction;

use crate::error::{DbError, ErrorContext, OpenError};
use crate::file_identity::{FileAtPath, FileIdentity};
use crate::open::{open_connection, Role};
use crate::options::StoreOptions;
use crate::worker::Worker;
use crate::{events, sessions, usage};

/// Sessions, runs, transcripts, leases and the control mailbox in one SQLite file that
/// several processes share. Cheap to clone; clones share the connections.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: Worker,
    reader: Worker,
    context: Arc<ErrorContext>,
    owner: Option<OwnerId>,
    /// The file opened, if `stat` could tell.
    opened: Option<FileIdentity>,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database, refusing a file that is not
    /// Lulu's or has a newer schema, or whose damage the cheap checks meet, without
    /// modifying it. Only cheap checks run: see [`crate::examine`] for the full one.
    #[tracing::instrument(skip_all, fields(path = %options.path.display()))]
    pub async fn open(options: StoreOptions) -> Result<Self, OpenError> {
        // The writer first: it checks and migrates the file the reader then opens.
        let writer = start_connection(&options, Role::Writer).await?;
        let opened = FileIdentity::of(&options.path)
            .inspect_err(|error| {
                tracing::warn!(%error, "cannot stat the database; a deleted or replaced file will go unnoticed");
            })
            .ok();
        let reader = start_connection(&options, Role::Reader).await?;
        Ok(Self {
            writer,
            reader,
            opened,
            context: Arc::new(ErrorContext {
                path: options.path,
                busy_timeout: options.busy_timeout,
            }),
            owner: options.owner,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.context.path
    }

    /// The owner this store stamps on the live sessions it saves.
    pub fn owner(&self) -> Option<OwnerId> {
        self.owner
    }

    /// Closes both connections (for every clone) once the work queued before is done, and
    /// returns when the file is released. Later calls fail with [`StoreError::Failed`].
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Checks, cheaply (one `stat`), that the path still names the file this store opened.
    ///
    /// # Errors
    /// [`StoreError::Failed`], naming the path, when the file was deleted, moved away or
    /// replaced: the store still works, but on the old file, which no other process sees.
    pub fn check_file(&self) -> Result<(), StoreError> {
        let Some(opened) = self.opened else {
            return Ok(());
        };
        match opened.compare_with(&self.context.path) {
            FileAtPath::Same | FileAtPath::Unknown => Ok(()),
            FileAtPath::Gone => Err(StoreError::Failed {
                message: format!(
                    "the database file {} was deleted or replaced while Lulu was using it; \
                     what this process writes now reaches only the old file, which no other \
                     Lulu process sees, so it stops its sessions (restore the file from a \
                     backup if it was removed by mistake)",
                    self.context.path.display()
                ),
            }),
        }
    }

    /// Runs `work` in one IMMEDIATE transaction on the writer thread.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let result = self.writer.write(work).await;
        result.map_err(|error| self.write_error(error))
    }

    /// A failed write in the domain's terms; one whose file was deleted or replaced says
    /// that, the likelier cause.
    fn write_error(&self, error: DbError) -> StoreError {
        let error = self.context.store_error(error);
        self.check_file().err().unwrap_or(error)
    }

    /// Runs `work` in one read transaction (one snapshot) on the reader thread.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let result = self.reader.read(work).await;
        result.map_err(|error| self.context.store_error(error))
    }

    /// The process that owns a live session, if any.
    pub async fn session_owner(&self, id: SessionId) -> Result<Option<OwnerId>, StoreError> {
        self.read(move |transaction| sessions::owner(transaction, id))
            .await
    }
}

async fn start_connection(options: &StoreOptions, role: Role) -> Result<Worker, OpenError> {
    let name = match role {
        Role::Writer => "lulu-sqlite-writer",
        Role::Reader => "lulu-sqlite-reader",
    };
    let thread_options = options.clone();
    Worker::start(
        name,
        move || open_connection(&thread_options, role),
        &options.path,
    )
    .await
}

#[async_trait]
impl SessionStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(session_id = %write.session.id, status = %write.session.status))]
    async fn save(&self, write: &SessionWrite) -> Result<(), StoreError> {
        let write = write.clone();
        let owner = self.owner;
        self.write(move |transaction| sessions::save(transaction, &write, owner))
            .await
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.read(move |transaction| sessions::get(transaction, id))
            .await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let query = query.clone();
        self.read(move |transaction| sessions::list(transaction, &query))
            .await
    }

    async fn summarize(&self, filter: &SessionFilter) -> Result<SessionSummary, StoreError> {
        let filter = filter.clone();
        self.read(move |transaction| usage::summarize(transaction, &filter))
            .await
    }

    async fn usage(
        &self,
        filter: &SessionFilter,
        grouping: UsageGrouping,
    ) -> Result<Vec<UsageRow>, StoreError> {
        let filter = filter.clone();
        self.read(move |transaction| usage::usage(transaction, &filter, grouping))
            .await
    }

    async fn runs(&self, session_id: SessionId) -> Result<Vec<Run>, StoreError> {
        self.read(move |transaction| sessions::runs(transaction, session_id))
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(lines = entries.len()))]
    async fn append_events(&self, entries: &[TranscriptEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let rows = events::encode(entries).map_err(|error| self.context.store_error(error))?;
        let result = self
            .writer
            .write_grouped(move |transaction| events::append(transaction, &rows))
            .await;
        result.map_err(|error| self.write_error(error))
    }

    async fn events_after(
        &self,
        run_id: RunId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TranscriptEntry>, StoreError> {
        self.read(move |transaction| events::after(transaction, run_id, after, limit))
            .await
    }

    #[tracing::instrument(skip_all, fields(session_id = %id))]
    async fn delete_session(&self, id: SessionId) -> Result<bool, StoreError> {
        self.write(move |transaction| sessions::delete(transaction, id))
            .await
    }
}
