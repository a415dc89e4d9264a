//! Is it safe to switch MTA-STS from `testing` to `enforce`?
//!
//! In `testing` mode senders deliver even when validation fails and report the failure
//! (RFC 8461 §5; RFC 8460 §4.3.1 and §4.3.2.2 name the failures). Under `enforce` those same
//! sessions would not be delivered at all. So the reports of a testing period predict
//! exactly what enforce would break, and the verdict is "ready" only when they predict
//! nothing: a run of clean days, confirmed by every reporter that carries real traffic, and
//! no failure kind that enforce turns into bounced mail.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use tlsrpt_core::{PolicyType, ResultType};
use tlsrpt_store::{DailyFailureRollup, DailyPolicyRollup, PolicySeen};

use crate::domain::sts_mode;
use crate::window::Window;

/// Consecutive clean days required. Two weeks covers weekly batch senders and the usual
/// policy cache lifetimes (`max_age` of a week or more is common).
pub const CLEAN_DAYS: usize = 14;
/// A reporter is "major" from this share (per cent) of the domain's MTA-STS sessions: the
/// big mailbox providers, whose silence about failures carries weight.
pub const MAJOR_SHARE: f64 = 10.0;

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Mode `testing` and every check passed: switch to `enforce`.
    Ready,
    /// Mode `testing` but a check failed: fix what the evidence names first.
    NotReady,
    /// Already `enforce`, or no MTA-STS policy seen: nothing to decide.
    NotApplicable,
}

/// One check behind the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub passed: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub verdict: Verdict,
    /// The mode of the most recently seen MTA-STS policy.
    pub current_mode: Option<String>,
    pub clean_days: usize,
    pub required_clean_days: usize,
    pub major_reporters: Vec<String>,
    pub evidence: Vec<Evidence>,
}

/// Failure kinds that `enforce` turns into undelivered mail whatever the sender (RFC 8461
/// §5.1: a policy that cannot be fetched or validated, or a certificate that does not
/// validate for the MX, makes an enforcing sender refuse to deliver).
fn blocks_enforce(result: &ResultType) -> bool {
    use ResultType::*;
    matches!(
        result,
        StarttlsNotSupported
            | CertificateHostMismatch
            | CertificateExpired
            | CertificateNotTrusted
            | ValidationFailure
            | StsPolicyFetchError
            | StsPolicyInvalid
            | StsWebpkiInvalid
    )
}

pub fn readiness(
    domain: &str,
    window: &Window,
    policy_days: &[&DailyPolicyRollup],
    failure_days: &[&DailyFailureRollup],
    policies: &[PolicySeen],
) -> Readiness {
    let current_mode = policies
        .iter()
        .filter_map(|p| sts_mode(p).map(|m| (p.last_day, m)))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
        .map(|(_, mode)| mode);
    let sts_days: Vec<&&DailyPolicyRollup> = policy_days
        .iter()
        .filter(|r| r.policy_type == PolicyType::Sts && window.contains(r.day))
        .collect();

    let mut per_org: BTreeMap<&str, u64> = BTreeMap::new();
    let mut per_day: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    let mut org_days: BTreeMap<&str, BTreeSet<NaiveDate>> = BTreeMap::new();
    for r in &sts_days {
        *per_org.entry(r.organization.as_str()).or_default() += r.successful + r.failed;
        let d = per_day.entry(r.day).or_default();
        d.0 += r.successful;
        d.1 += r.failed;
        org_days
            .entry(r.organization.as_str())
            .or_default()
            .insert(r.day);
    }
    let total: u64 = per_org.values().sum();
    let major_reporters: Vec<String> = per_org
        .iter()
        .filter(|(_, s)| total > 0 && **s as f64 * 100.0 / total as f64 >= MAJOR_SHARE)
        .map(|(o, _)| (*o).to_owned())
        .collect();

    // The streak ends at the last day with MTA-STS reports; a day without any breaks it.
    let mut clean_days = 0;
    let mut streak_from = None;
    if let Some(&last) = per_day.keys().next_back() {
        let mut day = last;
        while let Some(&(successful, failed)) = per_day.get(&day) {
            if failed > 0 || successful == 0 {
                break;
            }
            clean_days += 1;
            streak_from = Some(day);
            match day.pred_opt() {
                Some(prev) if window.contains(prev) => day = prev,
                _ => break,
            }
        }
    }

    let mut blocking: BTreeMap<&str, u64> = BTreeMap::new();
    for f in failure_days {
        if f.policy_type == PolicyType::Sts && blocks_enforce(&f.result_type) {
            *blocking.entry(f.result_type.as_str()).or_default() += f.failed_sessions;
        }
    }

    let mut evidence = Vec::new();
    let verdict = match current_mode.as_deref() {
        None => {
            evidence.push(Evidence {
                passed: false,
                text: format!(
                    "No reporter saw an MTA-STS policy for {domain} between {} and {}.",
                    window.from, window.to
                ),
            });
            Verdict::NotApplicable
        }
        Some("enforce") => {
            evidence.push(Evidence {
                passed: true,
                text: "The latest MTA-STS policy reporters saw is already mode: enforce."
                    .to_owned(),
            });
            Verdict::NotApplicable
        }
        Some(mode) => {
            let testing = mode == "testing";
            evidence.push(Evidence {
                passed: testing,
                text: if testing {
                    "The latest MTA-STS policy reporters saw is mode: testing, so failures \
                     were reported without blocking mail."
                        .to_owned()
                } else {
                    format!(
                        "The latest MTA-STS policy is mode: {mode}; publish mode: testing first \
                         and collect reports before enforcing."
                    )
                },
            });
            evidence.push(Evidence {
                passed: clean_days >= CLEAN_DAYS,
                text: match streak_from {
                    Some(from) => format!(
                        "{clean_days} consecutive day(s) without a failed session ({from} to \
                         the last report); {CLEAN_DAYS} needed."
                    ),
                    None => format!(
                        "The last day with MTA-STS reports had failed sessions; {CLEAN_DAYS} \
                         clean days in a row needed."
                    ),
                },
            });
            let missing: Vec<&String> = major_reporters
                .iter()
                .filter(|o| {
                    let days = org_days.get(o.as_str());
                    streak_from
                        .is_none_or(|from| days.is_none_or(|d| d.range(from..).next().is_none()))
                })
                .collect();
            evidence.push(Evidence {
                passed: !major_reporters.is_empty() && missing.is_empty(),
                text: if major_reporters.is_empty() {
                    "No reporter carries enough MTA-STS sessions to vouch for the domain."
                        .to_owned()
                } else if streak_from.is_none() {
                    format!(
                        "No clean day yet for the major reporters ({}) to confirm.",
                        major_reporters.join(", ")
                    )
                } else if missing.is_empty() {
                    format!(
                        "Every major reporter ({}) reported during the clean days.",
                        major_reporters.join(", ")
                    )
                } else {
                    format!(
                        "Major reporter(s) without a report during the clean days: {}.",
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            });
            evidence.push(Evidence {
                passed: blocking.is_empty(),
                text: if blocking.is_empty() {
                    "No policy-fetch, policy, certificate or STARTTLS failures in the window."
                        .to_owned()
                } else {
                    format!(
                        "Failures that enforce would turn into undelivered mail: {}.",
                        blocking
                            .iter()
                            .map(|(t, n)| format!("{t} ({n} sessions)"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            });
            if evidence.iter().all(|e| e.passed) {
                Verdict::Ready
            } else {
                Verdict::NotReady
            }
        }
    };
    Readiness {
        verdict,
        current_mode,
        clean_days,
        required_clean_days: CLEAN_DAYS,
        major_reporters,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn rollup(d: u32, org: &str, successful: u64, failed: u64) -> DailyPolicyRollup {
        DailyPolicyRollup {
            day: day(d),
            policy_domain: "example.com".into(),
            organization: org.into(),
            policy_type: PolicyType::Sts,
            successful,
            failed,
            reports: 1,
        }
    }

    fn sts(mode: &str, last: u32) -> PolicySeen {
        PolicySeen {
            policy_type: PolicyType::Sts,
            policy_string: vec![
                "version: STSv1".into(),
                format!("mode: {mode}"),
                "mx: mx.example.com".into(),
                "max_age: 86400".into(),
            ],
            mx_host: vec!["mx.example.com".into()],
            organization: "Google".into(),
            first_day: day(1),
            last_day: day(last),
            policies: 1,
            successful: 1,
            failed: 0,
            dane_host: false,
        }
    }

    fn verdict(
        rows: &[DailyPolicyRollup],
        failures: &[DailyFailureRollup],
        p: &[PolicySeen],
    ) -> Readiness {
        let window = Window::ending(day(30), 30);
        let rows: Vec<&DailyPolicyRollup> = rows.iter().collect();
        let failures: Vec<&DailyFailureRollup> = failures.iter().collect();
        readiness("example.com", &window, &rows, &failures, p)
    }

    #[test]
    fn fourteen_clean_days_from_every_major_reporter_is_ready() {
        let rows: Vec<_> = (17..=30)
            .flat_map(|d| [rollup(d, "Google", 100, 0), rollup(d, "Microsoft", 50, 0)])
            .collect();
        let r = verdict(&rows, &[], &[sts("testing", 30)]);
        assert_eq!(r.verdict, Verdict::Ready, "{:?}", r.evidence);
        assert_eq!(r.clean_days, 14);
        assert_eq!(r.major_reporters, ["Google", "Microsoft"]);
    }

    #[test]
    fn a_failure_day_restarts_the_streak_and_fetch_errors_block() {
        let mut rows: Vec<_> = (10..=30).map(|d| rollup(d, "Google", 100, 0)).collect();
        rows.push(rollup(25, "Microsoft", 10, 3));
        let failures = [DailyFailureRollup {
            day: day(25),
            policy_domain: "example.com".into(),
            organization: "Microsoft".into(),
            policy_type: PolicyType::Sts,
            result_type: ResultType::StsPolicyFetchError,
            failed_sessions: 3,
            details: 1,
        }];
        let r = verdict(&rows, &failures, &[sts("testing", 30)]);
        assert_eq!(r.verdict, Verdict::NotReady);
        assert_eq!(r.clean_days, 5);
        assert!(
            r.evidence
                .iter()
                .any(|e| !e.passed && e.text.contains("sts-policy-fetch-error (3 sessions)"))
        );
    }

    #[test]
    fn enforce_or_no_policy_is_not_applicable() {
        let rows = [rollup(30, "Google", 1, 0)];
        assert_eq!(
            verdict(&rows, &[], &[sts("enforce", 30)]).verdict,
            Verdict::NotApplicable
        );
        assert_eq!(verdict(&rows, &[], &[]).verdict, Verdict::NotApplicable);
        // The latest policy counts: testing after enforce is a rollback, judged again.
        let both = [sts("enforce", 20), sts("testing", 30)];
        assert_eq!(
            verdict(&rows, &[], &both).current_mode.as_deref(),
            Some("testing")
        );
    }
}
