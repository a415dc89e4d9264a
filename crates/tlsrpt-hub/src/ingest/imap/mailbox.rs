//! One pass over the report folder: every message is fetched without marking it seen,
//! handed to the intake, and only then moved — stored and duplicate ones to the archive,
//! unreadable and refused ones to the error folder. Nothing is ever deleted.
//!
//! Exactly once: the move happens after the store committed, so a connection lost between
//! the two leaves a stored message in the folder; the next pass finds it a duplicate (the
//! store deduplicates reports) and archives it. A message the store could not take stays
//! where it is for the next pass.

use std::sync::Arc;

use async_imap::types::UnsolicitedResponse;
use chrono::Utc;
use futures_util::TryStreamExt;
use tlsrpt_store::Origin;

use super::connect::{ImapSession, within};
use crate::config::ImapConfig;
use crate::ingest::Submission;
use crate::serve::{Intake, Outcome, RefusalKind};

/// What the server can do, read once after login (RFC 3501 §6.1.1).
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    pub idle: bool,
    /// RFC 6851 MOVE; without it, COPY + \Deleted + EXPUNGE.
    pub move_: bool,
    /// RFC 4315 UID EXPUNGE, which expunges only our message, not others marked \Deleted.
    pub uidplus: bool,
}

impl Capabilities {
    pub async fn read(session: &mut ImapSession) -> anyhow::Result<Self> {
        let caps = within("CAPABILITY", session.capabilities()).await?;
        Ok(Capabilities {
            idle: caps.has_str("IDLE"),
            move_: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        })
    }
}

/// Creates the archive and error folders when missing, so the first move cannot fail.
pub async fn ensure_folders(session: &mut ImapSession, config: &ImapConfig) -> anyhow::Result<()> {
    for folder in [&config.archive_folder, &config.error_folder] {
        let pattern = format!("\"{}\"", folder.replace('\\', "\\\\").replace('"', "\\\""));
        let found: Vec<_> = within("LIST", async {
            session
                .list(None, Some(&pattern))
                .await?
                .try_collect()
                .await
        })
        .await?;
        if found.is_empty() {
            within("CREATE", session.create(folder)).await?;
            tracing::info!(account = %config.label(), folder, "created IMAP folder");
        }
    }
    Ok(())
}

/// How a pass ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassSummary {
    pub archived: usize,
    pub errored: usize,
    /// Messages left in the folder because the store could not take them now.
    pub left: usize,
    /// The server announced new mail (EXISTS) during the pass: poll again before waiting.
    pub new_mail: bool,
}

/// Where one message goes after the intake's answer.
enum Destination<'a> {
    Archive(&'a str),
    Error(&'a str),
    /// Left in place for the next pass (store unavailable or failing).
    Stay,
    /// No longer there (moved by another client): nothing to do.
    Gone,
}

/// Processes every message now in the folder; `stop` is asked between messages so a
/// shutdown finishes the message in hand and no more.
pub async fn pass(
    session: &mut ImapSession,
    config: &ImapConfig,
    caps: Capabilities,
    intake: &Arc<Intake>,
    stop: impl Fn() -> bool,
) -> anyhow::Result<PassSummary> {
    let mut summary = PassSummary::default();
    let mailbox = within("SELECT", session.select(&config.folder)).await?;
    if mailbox.exists == 0 {
        return Ok(summary);
    }
    let mut listing: Vec<(u32, u32)> = within("FETCH", async {
        session
            .fetch("1:*", "(UID RFC822.SIZE)")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?
    .into_iter()
    .filter_map(|fetch| Some((fetch.uid?, fetch.size.unwrap_or(0))))
    .collect();
    listing.sort_unstable();
    listing.dedup_by_key(|(uid, _)| *uid);
    for (uid, size) in listing {
        if stop() {
            break;
        }
        let destination = message(session, config, intake, uid, size).await?;
        match destination {
            Destination::Archive(folder) | Destination::Error(folder) => {
                move_message(session, caps, uid, folder).await?;
            }
            Destination::Stay | Destination::Gone => {}
        }
        match destination {
            Destination::Archive(_) => summary.archived += 1,
            Destination::Error(_) => summary.errored += 1,
            Destination::Stay => {
                summary.left += 1;
                // The store is down: the rest would fare no better until the next pass.
                break;
            }
            Destination::Gone => {}
        }
        summary.new_mail |= drain_announcements(session);
    }
    summary.new_mail |= drain_announcements(session);
    Ok(summary)
}

/// Empties the library's bounded queue of unsolicited responses (it drops what does not fit,
/// and every MOVE adds an EXPUNGE) and says whether new mail was announced among them.
fn drain_announcements(session: &mut ImapSession) -> bool {
    let mut new_mail = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        new_mail |= matches!(response, UnsolicitedResponse::Exists(_));
    }
    new_mail
}

/// Fetches, takes and logs one message (the one line per message); says where it goes.
async fn message<'c>(
    session: &mut ImapSession,
    config: &'c ImapConfig,
    intake: &Intake,
    uid: u32,
    size: u32,
) -> anyhow::Result<Destination<'c>> {
    let account = config.label();
    if u64::from(size) > config.max_message_bytes {
        tracing::warn!(
            %account, uid, size, outcome = "refused", kind = ?RefusalKind::TooLarge,
            folder = %config.error_folder,
            "message larger than max_message_bytes ({}); not fetched", config.max_message_bytes
        );
        return Ok(Destination::Error(&config.error_folder));
    }
    let fetched = within("FETCH BODY.PEEK[]", async {
        session
            .uid_fetch(uid.to_string(), "(UID INTERNALDATE BODY.PEEK[])")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    // Other FETCH responses (flag changes by another client) may come along: match the UID.
    let Some(fetch) = fetched
        .iter()
        .find(|fetch| fetch.uid == Some(uid) && fetch.body().is_some())
    else {
        tracing::info!(%account, uid, "message gone before it was fetched (moved by another client)");
        return Ok(Destination::Gone);
    };
    let submission = Submission {
        raw: fetch.body().unwrap_or_default().to_vec(),
        origin: Origin::Imap,
        source_name: format!("imap:{account} uid {uid}"),
        // When the provider received it, not when we got round to polling.
        received_at: fetch
            .internal_date()
            .map_or_else(Utc::now, |date| date.with_timezone(&Utc)),
    };
    let outcome = intake.take(submission, None).await;
    Ok(log_outcome(config, uid, &outcome))
}

fn log_outcome<'c>(config: &'c ImapConfig, uid: u32, outcome: &Outcome) -> Destination<'c> {
    let account = config.label();
    let archive = &config.archive_folder;
    let error = &config.error_folder;
    match outcome {
        Outcome::Stored {
            stored,
            duplicates,
            unreadable,
        } => {
            tracing::info!(
                %account, uid, outcome = "stored", folder = %archive,
                report_ids = ?stored.iter().map(|id| id.0).collect::<Vec<_>>(),
                duplicates = duplicates.len(), ?unreadable, "message stored"
            );
            Destination::Archive(archive)
        }
        Outcome::Duplicate { existing } => {
            tracing::info!(
                %account, uid, outcome = "duplicate", folder = %archive,
                report_ids = ?existing.iter().map(|id| id.0).collect::<Vec<_>>(),
                "message already stored"
            );
            Destination::Archive(archive)
        }
        Outcome::Refused(refusal) => {
            tracing::warn!(
                %account, uid, outcome = "refused", kind = ?refusal.kind, folder = %error,
                "{}", refusal.reason
            );
            Destination::Error(error)
        }
        Outcome::Unavailable(reason) | Outcome::Failed(reason) => {
            tracing::error!(
                %account, uid, outcome = "tempfail",
                "{reason}: message left in place for the next poll"
            );
            Destination::Stay
        }
    }
}

/// MOVE (RFC 6851), or its RFC 3501 equivalent: COPY, flag \Deleted, EXPUNGE.
async fn move_message(
    session: &mut ImapSession,
    caps: Capabilities,
    uid: u32,
    folder: &str,
) -> anyhow::Result<()> {
    let uid = uid.to_string();
    if caps.move_ {
        return within("UID MOVE", session.uid_mv(&uid, folder)).await;
    }
    within("UID COPY", session.uid_copy(&uid, folder)).await?;
    within("UID STORE", async {
        session
            .uid_store(&uid, "+FLAGS.SILENT (\\Deleted)")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    if caps.uidplus {
        within("UID EXPUNGE", async {
            session
                .uid_expunge(&uid)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
    } else {
        within("EXPUNGE", async {
            session.expunge().await?.try_collect::<Vec<_>>().await
        })
        .await?;
    }
    Ok(())
}
