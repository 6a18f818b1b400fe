//! An in-memory [`ControlStore`] for tests: several owners' views of one shared database,
//! with the mailbox's semantics (a request is claimed by exactly one owner of its session,
//! answered once, and withdrawn only while nobody has claimed it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use lulu_domain::ports::{
    ChangeCursor, Changes, ControlAction, ControlAnswer, ControlRequest, ControlStore,
    OwnedSession, OwnerLease, SessionQuery, SessionStore, StoreError,
};
use lulu_domain::testing::MemoryStore;
use lulu_domain::{ControlRequestId, OwnerId, ProcessRecord, RunId, Session, SessionId};

/// One request in the mailbox.
#[derive(Debug, Clone)]
pub(crate) struct Letter {
    /// The request as an owner claims it.
    pub request: ControlRequest,
    /// Whether an owner has claimed it.
    pub claimed: bool,
    /// Its answer, once there is one.
    pub answer: Option<ControlAnswer>,
}

#[derive(Debug, Default)]
struct Shared {
    leases: HashMap<OwnerId, OwnerLease>,
    owners: HashMap<SessionId, OwnerId>,
    letters: Vec<Letter>,
}

/// The database several owners share: sessions in a [`MemoryStore`], the rest here.
#[derive(Debug, Default, Clone)]
pub(crate) struct SharedDatabase {
    /// The sessions, runs and transcripts.
    pub sessions: Arc<MemoryStore>,
    shared: Arc<Mutex<Shared>>,
    /// Notified each time a request is enqueued.
    pub enqueued: Arc<Notify>,
}

impl SharedDatabase {
    /// The store as `owner` opens it.
    pub fn view(&self, owner: OwnerId) -> ControlView {
        ControlView {
            database: self.clone(),
            owner,
        }
    }

    /// Stamps `owner` on live session `id`, as saving it through `owner`'s store would.
    pub fn stamp(&self, id: SessionId, owner: OwnerId) {
        self.lock().owners.insert(id, owner);
    }

    /// Every request so far, oldest first.
    pub fn letters(&self) -> Vec<Letter> {
        self.lock().letters.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One owner's view of a [`SharedDatabase`].
#[derive(Debug, Clone)]
pub(crate) struct ControlView {
    database: SharedDatabase,
    owner: OwnerId,
}

fn letter_not_found(id: ControlRequestId) -> StoreError {
    StoreError::NotFound {
        what: format!("control request {id:?}"),
    }
}

/// Request `id` in the mailbox, to change.
fn letter_mut(shared: &mut Shared, id: ControlRequestId) -> Result<&mut Letter, StoreError> {
    shared
        .letters
        .iter_mut()
        .find(|letter| letter.request.id == id)
        .ok_or_else(|| letter_not_found(id))
}

#[async_trait]
impl ControlStore for ControlView {
    fn owner(&self) -> OwnerId {
        self.owner
    }

    async fn put_lease(&self, lease: &OwnerLease) -> Result<(), StoreError> {
        self.database
            .lock()
            .leases
            .insert(lease.owner, lease.clone());
        Ok(())
    }

    async fn drop_lease(&self) -> Result<(), StoreError> {
        self.database.lock().leases.remove(&self.owner);
        Ok(())
    }

    async fn leases(&self) -> Result<Vec<OwnerLease>, StoreError> {
        Ok(self.database.lock().leases.values().cloned().collect())
    }

    async fn forget_owner(&self, owner: OwnerId) -> Result<(), StoreError> {
        self.database.lock().leases.remove(&owner);
        Ok(())
    }

    async fn live_sessions(&self) -> Result<Vec<OwnedSession>, StoreError> {
        let sessions = self
            .database
            .sessions
            .list_sessions(&SessionQuery::default())
            .await?;
        let shared = self.database.lock();
        Ok(sessions
            .into_iter()
            .filter(|session| session.status.is_live())
            .map(|session| OwnedSession {
                owner: shared.owners.get(&session.id).copied(),
                session,
            })
            .collect())
    }

    async fn claim_session(&self, id: SessionId) -> Result<bool, StoreError> {
        self.database.lock().owners.insert(id, self.owner);
        Ok(true)
    }

    async fn unclaim_session(&self, id: SessionId) -> Result<(), StoreError> {
        self.database.lock().owners.remove(&id);
        Ok(())
    }

    async fn record_processes(
        &self,
        _run_id: RunId,
        _processes: &[ProcessRecord],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    async fn recorded_processes(&self, _run_id: RunId) -> Result<Vec<ProcessRecord>, StoreError> {
        Ok(Vec::new())
    }

    async fn enqueue_control(
        &self,
        session_id: SessionId,
        action: &ControlAction,
        now: DateTime<Utc>,
    ) -> Result<ControlRequestId, StoreError> {
        let id = {
            let mut shared = self.database.lock();
            let number = i64::try_from(shared.letters.len()).expect("few letters") + 1;
            let id = ControlRequestId::from_value(number);
            shared.letters.push(Letter {
                request: ControlRequest {
                    id,
                    session_id,
                    action: action.clone(),
                    requested_at: now,
                },
                claimed: false,
                answer: None,
            });
            id
        };
        self.database.enqueued.notify_one();
        Ok(id)
    }

    async fn claim_controls(&self) -> Result<Vec<ControlRequest>, StoreError> {
        let mut shared = self.database.lock();
        let Shared {
            owners, letters, ..
        } = &mut *shared;
        Ok(letters
            .iter_mut()
            .filter(|letter| !letter.claimed && letter.answer.is_none())
            .filter(|letter| owners.get(&letter.request.session_id) == Some(&self.owner))
            .map(|letter| {
                letter.claimed = true;
                letter.request.clone()
            })
            .collect())
    }

    async fn answer_control(
        &self,
        id: ControlRequestId,
        answer: &ControlAnswer,
    ) -> Result<(), StoreError> {
        let mut shared = self.database.lock();
        let letter = letter_mut(&mut shared, id)?;
        letter.answer = Some(answer.clone());
        Ok(())
    }

    async fn withdraw_control(
        &self,
        id: ControlRequestId,
        _now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut shared = self.database.lock();
        let letter = letter_mut(&mut shared, id)?;
        if letter.claimed || letter.answer.is_some() {
            return Ok(false);
        }
        letter.answer = Some(ControlAnswer::Refused {
            code: "withdrawn".into(),
            message: "withdrawn by its requester".into(),
        });
        Ok(true)
    }

    async fn control_answer(
        &self,
        id: ControlRequestId,
    ) -> Result<Option<ControlAnswer>, StoreError> {
        let shared = self.database.lock();
        shared
            .letters
            .iter()
            .find(|letter| letter.request.id == id)
            .map(|letter| letter.answer.clone())
            .ok_or_else(|| letter_not_found(id))
    }

    async fn try_take_slot(
        &self,
        _session_id: SessionId,
        _limit: usize,
        _now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn sessions_with_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<Session>, StoreError> {
        let sessions = self
            .database
            .sessions
            .list_sessions(&SessionQuery::default())
            .await?;
        Ok(sessions
            .into_iter()
            .filter(|session| session.id.to_string().starts_with(prefix))
            .take(limit)
            .collect())
    }

    async fn change_cursor(&self) -> Result<ChangeCursor, StoreError> {
        Ok(self.database.sessions.change_cursor())
    }

    async fn changes_since(&self, cursor: ChangeCursor) -> Result<Changes, StoreError> {
        Ok(self.database.sessions.changes_since(cursor))
    }
}
