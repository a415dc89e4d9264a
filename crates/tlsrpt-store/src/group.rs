//! Group commit for single submissions ([`crate::Store::insert`]): receivers store each
//! report on its own (an HTTP request, a mail), and a transaction each would cost one
//! durable flush (`synchronous=FULL`) each, capping a receiver at the disk's flush rate.
//! Instead, submissions that arrive while a commit is running wait for it and then go
//! together in the next transaction: one flush for all of them, and each caller still
//! returns only after its own submission is durable.
//!
//! The commit runs in a spawned task, so a caller that goes away mid-commit (a client
//! closing its connection drops the request's future) cannot abort the others' write.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::{Backend, PreparedSubmission, StoreError, SubmissionOutcome};

type Answer = oneshot::Sender<Result<SubmissionOutcome, StoreError>>;

#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    waiting: Mutex<Vec<(PreparedSubmission, Answer)>>,
    /// Held for the duration of one group's commit.
    committing: Arc<tokio::sync::Mutex<()>>,
}

impl GroupCommit {
    pub(crate) async fn insert(
        &self,
        backend: &Backend,
        submission: PreparedSubmission,
    ) -> Result<SubmissionOutcome, StoreError> {
        let (answer, outcome) = oneshot::channel();
        self.waiting
            .lock()
            .expect("queue lock")
            .push((submission, answer));
        let turn = Arc::clone(&self.committing).lock_owned().await;
        // Whoever gets the turn commits everything waiting, ours included unless an
        // earlier group already took it.
        let group = std::mem::take(&mut *self.waiting.lock().expect("queue lock"));
        if !group.is_empty() {
            let backend = backend.clone();
            let commit = tokio::spawn(async move {
                commit(&backend, group).await;
                drop(turn);
            });
            // A panic inside drops the answers, which the caller sees below.
            let _ = commit.await;
        }
        outcome.await.unwrap_or_else(|_| {
            Err(StoreError::Internal(
                "the group commit ended without an answer".into(),
            ))
        })
    }
}

/// One transaction for the group. If it fails, each submission is retried alone, so one
/// that cannot be stored never fails the others it happened to be grouped with.
async fn commit(backend: &Backend, group: Vec<(PreparedSubmission, Answer)>) {
    let (submissions, answers): (Vec<_>, Vec<_>) = group.into_iter().unzip();
    let together = backend.ingest(&submissions).await;
    match together {
        Ok(outcomes) => {
            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                let _ = answer.send(Ok(outcome));
            }
        }
        Err(error) if submissions.len() == 1 => {
            let _ = answers
                .into_iter()
                .next()
                .expect("one answer")
                .send(Err(error));
        }
        Err(_) => {
            for (submission, answer) in submissions.iter().zip(answers) {
                let alone = backend.ingest(std::slice::from_ref(submission)).await;
                let _ = answer.send(alone.map(|mut outcomes| outcomes.remove(0)));
            }
        }
    }
}
