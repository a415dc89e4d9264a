//! An [`Outcome`] as an SMTP reply (RFC 5321 §4.2, enhanced codes RFC 3463, RFC 7372).
//!
//! Permanent `5xx` only for faults in the message itself, which a resend cannot cure; every
//! fault on our side is `451`, so the sender keeps the report queued and retries (RFC 8460
//! §5.5: for up to 24 hours) instead of losing it to a bounce.

use super::session::Reply;
use crate::serve::{Outcome, RefusalKind};

pub fn for_outcome(outcome: &Outcome) -> Reply {
    match outcome {
        Outcome::Stored { stored, .. } => Reply::new(
            250,
            [2, 0, 0],
            format!("report stored ({} new)", stored.len()),
        ),
        Outcome::Duplicate { .. } => Reply::new(250, [2, 0, 0], "report already stored"),
        Outcome::Refused(refusal) => {
            let (code, status) = match refusal.kind {
                RefusalKind::TooLarge => (552, [5, 3, 4]),
                // 5.6.0: "other or undefined media error" — no report, or an unreadable one.
                RefusalKind::NotAReport | RefusalKind::Unreadable => (554, [5, 6, 0]),
                RefusalKind::DomainNotServed => (550, [5, 7, 1]),
                // RFC 7372 §3.1: 5.7.20 "No passing DKIM signature found".
                RefusalKind::Unauthenticated => (550, [5, 7, 20]),
            };
            Reply::new(code, status, refusal.reason.clone())
        }
        Outcome::Unavailable(_) | Outcome::Failed(_) => Reply::new(
            451,
            [4, 3, 0],
            "cannot store the report now, try again later",
        ),
    }
}

/// The outcome in a word or two, for the log line.
pub fn summary(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Stored {
            stored, duplicates, ..
        } => format!("stored {:?} duplicates {}", ids(stored), duplicates.len()),
        Outcome::Duplicate { existing } => format!("duplicate of {:?}", ids(existing)),
        Outcome::Refused(refusal) => format!("refused ({:?})", refusal.kind),
        Outcome::Unavailable(error) => format!("unavailable: {error}"),
        Outcome::Failed(error) => format!("failed: {error}"),
    }
}

fn ids(ids: &[tlsrpt_store::ReportId]) -> Vec<i64> {
    ids.iter().map(|id| id.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::Refusal;

    #[test]
    fn only_faults_in_the_message_are_permanent() {
        let refused = |kind| for_outcome(&Outcome::Refused(Refusal::new(kind, "why")));
        assert_eq!(refused(RefusalKind::TooLarge).code, 552);
        assert_eq!(refused(RefusalKind::NotAReport).code, 554);
        assert_eq!(refused(RefusalKind::Unreadable).code, 554);
        assert_eq!(refused(RefusalKind::DomainNotServed).code, 550);
        let dkim = refused(RefusalKind::Unauthenticated);
        assert_eq!((dkim.code, dkim.status), (550, [5, 7, 20]));
        for outcome in [
            Outcome::Unavailable("locked".into()),
            Outcome::Failed("corrupt".into()),
        ] {
            let reply = for_outcome(&outcome);
            assert_eq!((reply.code, reply.status), (451, [4, 3, 0]));
        }
        let duplicate = for_outcome(&Outcome::Duplicate {
            existing: Vec::new(),
        });
        assert_eq!(duplicate.code, 250);
    }
}
