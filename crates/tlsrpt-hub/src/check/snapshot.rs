//! What one run saw, kept so the next run can tell what changed: a TLSRPT record
//! removed, an MTA-STS policy id changed, MX hosts out of sync with the policy. Changes
//! are findings in their own right (alert rules read them); computing them is pure.

use serde::{Deserialize, Serialize};
use tlsrpt_core::policy::sts::StsPolicy;
use tlsrpt_core::record::{Outcome, TlsrptRecord};

use super::facts::{MxAnswer, TxtAnswer};
use super::finding::{Check, Finding, Status};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The TLSRPT record senders select, as published.
    pub tlsrpt_record: Option<String>,
    /// The id of the valid MTA-STS record.
    pub sts_id: Option<String>,
    /// The `mx` lines of the policy senders would use.
    pub policy_mx: Vec<String>,
    /// The MX hosts in DNS.
    pub mx: Vec<String>,
    /// Whether the MX hosts and the policy agree; `None` when there was nothing to compare.
    pub mx_in_sync: Option<bool>,
}

impl Snapshot {
    pub fn of(
        tlsrpt: &TxtAnswer,
        sts_id: Option<String>,
        policy: Option<&StsPolicy>,
        mx: &MxAnswer,
        findings: &[Finding],
    ) -> Snapshot {
        let tlsrpt_record = match tlsrpt {
            TxtAnswer::Records(rrs) => {
                let lookup = TlsrptRecord::select(rrs);
                match lookup.outcome {
                    Outcome::Selected { index } => Some(lookup.records[index].text.clone()),
                    Outcome::NoRecord { .. } => None,
                }
            }
            _ => None,
        };
        let sync: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.check == Check::MxSync)
            .collect();
        Snapshot {
            tlsrpt_record,
            sts_id,
            policy_mx: policy.map(|p| p.mx.clone()).unwrap_or_default(),
            mx: match mx {
                MxAnswer::Hosts(hosts) => hosts.iter().map(|h| h.host.clone()).collect(),
                _ => Vec::new(),
            },
            mx_in_sync: (!sync.is_empty()).then(|| sync.iter().all(|f| f.status == Status::Pass)),
        }
    }
}

/// A change from one run to the next; `kind` is stable (stored, read by alert rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: &'static str,
    pub detail: String,
}

/// What changed since `previous` (`None` before the first run: only a problem that exists
/// now, MX out of sync, is a change then).
pub fn changes(previous: Option<&Snapshot>, current: &Snapshot) -> Vec<Change> {
    let empty = Snapshot::default();
    let previous = previous.unwrap_or(&empty);
    let mut changes = Vec::new();
    let mut add = |kind, detail: String| changes.push(Change { kind, detail });
    match (&previous.tlsrpt_record, &current.tlsrpt_record) {
        (Some(old), None) => add("tlsrpt-record-removed", format!("was {old:?}")),
        (Some(old), Some(new)) if old != new => {
            add("tlsrpt-record-changed", format!("{old:?} -> {new:?}"))
        }
        _ => {}
    }
    match (&previous.sts_id, &current.sts_id) {
        (Some(old), None) => add("sts-record-removed", format!("id was {old}")),
        (Some(old), Some(new)) if old != new => {
            add("sts-policy-id-changed", format!("id {old} -> {new}"))
        }
        _ => {}
    }
    if !previous.mx.is_empty() && previous.mx != current.mx {
        add(
            "mx-changed",
            format!("{} -> {}", previous.mx.join(", "), current.mx.join(", ")),
        );
    }
    if current.mx_in_sync == Some(false) && previous.mx_in_sync != Some(false) {
        add(
            "mx-out-of-sync",
            format!(
                "MX hosts {} vs policy mx {}",
                current.mx.join(", "),
                current.policy_mx.join(", ")
            ),
        );
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(
        record: Option<&str>,
        id: Option<&str>,
        mx: &[&str],
        in_sync: Option<bool>,
    ) -> Snapshot {
        Snapshot {
            tlsrpt_record: record.map(str::to_owned),
            sts_id: id.map(str::to_owned),
            policy_mx: vec!["mx1.example.com".into()],
            mx: mx.iter().map(|m| (*m).to_owned()).collect(),
            mx_in_sync: in_sync,
        }
    }

    fn kinds(changes: &[Change]) -> Vec<&str> {
        changes.iter().map(|c| c.kind).collect()
    }

    #[test]
    fn first_run_reports_only_present_problems() {
        let good = snapshot(
            Some("v=TLSRPTv1; rua=mailto:a@x"),
            Some("1"),
            &["mx1.example.com"],
            Some(true),
        );
        assert!(changes(None, &good).is_empty());
        let drift = snapshot(None, Some("1"), &["mx2.example.com"], Some(false));
        assert_eq!(kinds(&changes(None, &drift)), ["mx-out-of-sync"]);
    }

    #[test]
    fn removals_id_changes_and_drift_between_runs() {
        let before = snapshot(
            Some("v=TLSRPTv1; rua=mailto:a@x"),
            Some("1"),
            &["mx1.example.com"],
            Some(true),
        );
        let after = snapshot(None, Some("2"), &["mx2.example.com"], Some(false));
        assert_eq!(
            kinds(&changes(Some(&before), &after)),
            [
                "tlsrpt-record-removed",
                "sts-policy-id-changed",
                "mx-changed",
                "mx-out-of-sync"
            ]
        );
        let gone = snapshot(
            Some("v=TLSRPTv1; rua=mailto:b@x"),
            None,
            &["mx1.example.com"],
            None,
        );
        assert_eq!(
            kinds(&changes(Some(&before), &gone)),
            ["tlsrpt-record-changed", "sts-record-removed"]
        );
        // Still out of sync: not a new change.
        assert!(changes(Some(&after), &after).is_empty());
    }
}
