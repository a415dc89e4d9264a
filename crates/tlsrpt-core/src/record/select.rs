//! Choosing the one record among the TXT RRs at a name (RFC 8460 §3, RFC 8461 §3.1).
//!
//! Input is each RR's character-strings as raw bytes, exactly as a resolver returns them
//! (RFC 1035 §3.3.14: a TXT RR is one or more strings of arbitrary octets). Bytes rather
//! than `String` because a record with a stray non-UTF-8 byte must still be shown and
//! diagnosed, not fail to convert before it reaches the checks.

use serde::Serialize;

use super::problem::show;

/// What one record type calls itself, for selection and its messages.
#[derive(Debug)]
pub(crate) struct RecordType {
    pub name: &'static str,
    pub version: &'static str,
    pub section: &'static str,
}

/// Every TXT RR found and which one, if any, senders use.
///
/// `Selected` only says which record senders pick; when that record has errors, senders
/// treat the domain as having none (RFC 8461 §3.1 says so, RFC 8460 §3 by implication).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lookup<R> {
    pub records: Vec<TxtRecord<R>>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One TXT RR: its character-strings joined with nothing between them (RFC 8460 §3,
/// RFC 8461 §3.1, as RFC 7208 §3.3), and that text parsed, whether or not it was selected,
/// so `check` can explain a near miss such as `v=TLSRPTv1 ;`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxtRecord<R> {
    /// The joined text, lossily decoded; columns in `parsed` count its bytes.
    pub text: String,
    /// Whether it begins with exactly `v=<version>;`; others are discarded unread.
    pub candidate: bool,
    pub parsed: R,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Index into `records` of the only candidate.
    Selected { index: usize },
    NoRecord {
        reason: NoRecordReason,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoRecordReason {
    NoTxtRecords,
    /// TXT RRs exist but none begins with the exact prefix.
    NoCandidate,
    /// More than one begins with it, which also means none (RFC 8460 §3).
    SeveralCandidates,
}

impl<R> Lookup<R> {
    /// The record senders use, if exactly one candidate was found.
    pub fn selected(&self) -> Option<&R> {
        match self.outcome {
            Outcome::Selected { index } => Some(&self.records[index].parsed),
            Outcome::NoRecord { .. } => None,
        }
    }
}

/// Joins, parses and counts the candidates.
pub(crate) fn select<T, S, R>(rrs: &[T], kind: &RecordType, parse: impl Fn(&[u8]) -> R) -> Lookup<R>
where
    T: AsRef<[S]>,
    S: AsRef<[u8]>,
{
    let prefix = format!("v={};", kind.version);
    let records: Vec<TxtRecord<R>> = rrs
        .iter()
        .map(|rr| {
            let joined: Vec<u8> = rr
                .as_ref()
                .iter()
                .flat_map(|s| s.as_ref().to_vec())
                .collect();
            TxtRecord {
                text: show(&joined),
                candidate: joined.starts_with(prefix.as_bytes()),
                parsed: parse(&joined),
            }
        })
        .collect();
    let candidates: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].candidate)
        .collect();
    let outcome = match candidates[..] {
        [index] => Outcome::Selected { index },
        _ => no_record(&records, candidates.len(), kind, &prefix),
    };
    Lookup { records, outcome }
}

fn no_record<R>(
    records: &[TxtRecord<R>],
    candidates: usize,
    kind: &RecordType,
    prefix: &str,
) -> Outcome {
    let found = records
        .iter()
        .map(|record| format!("{:?}", record.text))
        .collect::<Vec<_>>()
        .join(", ");
    let (reason, message) = match (records.len(), candidates) {
        (0, _) => (
            NoRecordReason::NoTxtRecords,
            format!(
                "no TXT record here, so senders find no {} record",
                kind.name
            ),
        ),
        (count, 0) => (
            NoRecordReason::NoCandidate,
            format!(
                "none of the {count} TXT records begins with exactly {prefix:?}, so senders \
                 discard them all ({}): {found}{}",
                kind.section,
                space_note(records, kind)
            ),
        ),
        (_, count) => (
            NoRecordReason::SeveralCandidates,
            format!(
                "{count} TXT records begin with {prefix:?}; when more than one does, senders \
                 must assume there is no {} record ({}). Publish exactly one: {found}",
                kind.name, kind.section
            ),
        ),
    };
    Outcome::NoRecord { reason, message }
}

/// The §3 grammar allows `v=TLSRPTv1 ;`, yet the prefix rule discards it. Say so when that
/// is why a record was dropped, since its author followed the grammar.
fn space_note<R>(records: &[TxtRecord<R>], kind: &RecordType) -> String {
    let version = format!("v={}", kind.version);
    let spaced = records.iter().any(|record| {
        record
            .text
            .strip_prefix(&version)
            .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with(';'))
    });
    if spaced {
        format!(
            ". Note: \"{version} ;\" with spaces fits the grammar of {}, but the same section's \
             prefix rule discards it; remove the space",
            kind.section
        )
    } else {
        String::new()
    }
}
