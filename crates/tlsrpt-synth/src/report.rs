//! One day's report from one reporter about one domain, as the normalised [`Report`].
//!
//! The report is built in the model's terms (normalised end, unpacked TLSA strings, `None`
//! for omitted keys), exactly what `tlsrpt_core::report::parse_report` must give back for the
//! bytes [`crate::wire::render`] writes. That equality is the generator's self-check.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use fastrand::Rng;
use tlsrpt_core::{
    DateRange, FailureDetail, IpValue, Policy, PolicyResult, PolicyType, Report, ResultType,
    Summary,
};

use crate::world::{DayEnd, Domain, IdScheme, PolicyKind, Problem, Reporter, pick};

/// Failure details per policy entry, at most (the corpus promise: 0–20).
pub const MAX_DETAILS: usize = 20;

/// The report `reporter` sends about `domain` for the UTC day `day`.
pub fn report(rng: &mut Rng, reporter: &Reporter, domain: &Domain, day: NaiveDate) -> Report {
    let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let end = start + Duration::days(1);
    // Day-to-day variation around the domain's typical volume; a report means the sender
    // had at least a few sessions with the domain that day.
    let sessions = (domain.volume * reporter.traffic_share * (0.7 + rng.f64() * 0.6))
        .max(1.0 + rng.f64() * 4.0);
    let active: Vec<&Problem> = domain
        .problems
        .iter()
        .filter(|p| rng.f64() < p.chance)
        .collect();
    let mut policies = Vec::new();
    if let Some(sts) = &domain.sts {
        let unfetched = reporter.drops_unfetched_policy
            && active
                .iter()
                .any(|p| p.result_type == ResultType::StsPolicyFetchError);
        let policy = Policy {
            policy_type: PolicyType::Sts,
            policy_string: if unfetched { Vec::new() } else { sts.lines() },
            policy_domain: Some(domain.name.clone()),
            mx_host: if reporter.sends_mx_host && !unfetched {
                sts.mx_patterns.clone()
            } else {
                Vec::new()
            },
        };
        let problems = of_kind(&active, PolicyKind::Sts, None);
        policies.push(entry(rng, reporter, domain, policy, sessions, &problems));
    }
    if reporter.validates_dane && domain.has_dane() {
        if reporter.tlsa_per_recipient {
            let policy = Policy {
                policy_type: PolicyType::Tlsa,
                policy_string: domain.mx.iter().flat_map(|mx| mx.tlsa.clone()).collect(),
                policy_domain: Some(domain.name.clone()),
                mx_host: Vec::new(),
            };
            let problems = of_kind(&active, PolicyKind::Tlsa, None);
            policies.push(entry(rng, reporter, domain, policy, sessions, &problems));
        } else {
            for (i, mx) in domain.mx.iter().enumerate() {
                let policy = Policy {
                    policy_type: PolicyType::Tlsa,
                    policy_string: mx.tlsa.clone(),
                    policy_domain: Some(mx.host.clone()),
                    mx_host: Vec::new(),
                };
                let problems = of_kind(&active, PolicyKind::Tlsa, Some(i));
                let sessions = sessions * mx.share;
                policies.push(entry(rng, reporter, domain, policy, sessions, &problems));
            }
        }
    }
    if policies.is_empty() {
        let policy = Policy {
            policy_type: PolicyType::NoPolicyFound,
            policy_string: Vec::new(),
            policy_domain: (!reporter.drops_no_policy_domain || rng.bool())
                .then(|| domain.name.clone()),
            mx_host: Vec::new(),
        };
        let problems = of_kind(&active, PolicyKind::NoPolicy, None);
        policies.push(entry(rng, reporter, domain, policy, sessions, &problems));
    }
    Report {
        organization_name: Some(reporter.organization_name.clone()),
        date_range: DateRange {
            start,
            end,
            start_raw: rfc3339(start),
            end_raw: rfc3339(end_as_sent(reporter.day_end, end)),
        },
        contact_info: reporter.contact_info.clone(),
        report_id: Some(report_id(rng, reporter, &domain.name, start, end)),
        policies,
    }
}

/// The `end-datetime` instant a reporter writes for the exclusive end `end`.
pub fn end_as_sent(day_end: DayEnd, end: DateTime<Utc>) -> DateTime<Utc> {
    match day_end {
        DayEnd::LastSecond => end - Duration::seconds(1),
        DayEnd::NextMidnight => end,
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn of_kind<'a>(active: &[&'a Problem], kind: PolicyKind, mx: Option<usize>) -> Vec<&'a Problem> {
    active
        .iter()
        .filter(|p| PolicyKind::of(&p.result_type) == kind && mx.is_none_or(|mx| p.mx == mx))
        .copied()
        .collect()
}

/// One `policies[]` element: the policy, its failure details and a summary that agrees with
/// them (total failures = sum of detail counts).
fn entry(
    rng: &mut Rng,
    reporter: &Reporter,
    domain: &Domain,
    policy: Policy,
    sessions: f64,
    problems: &[&Problem],
) -> PolicyResult {
    let mut failure_details: Vec<FailureDetail> = problems
        .iter()
        .flat_map(|problem| details(rng, reporter, domain, problem))
        .collect();
    failure_details.truncate(MAX_DETAILS);
    let failed = failure_details.iter().map(|d| d.failed_session_count).sum();
    PolicyResult {
        policy,
        summary: Summary {
            total_successful_session_count: sessions.round() as u64,
            total_failure_session_count: failed,
        },
        failure_details,
    }
}

/// The failure details one reporter writes for one active problem: one per sending MTA that
/// hit it, or reason-only entries from reporters that strip MTA-STS failures bare.
fn details(
    rng: &mut Rng,
    reporter: &Reporter,
    domain: &Domain,
    problem: &Problem,
) -> Vec<FailureDetail> {
    let result_type = problem.result_type.clone();
    let sts_failure = matches!(
        result_type,
        ResultType::StsPolicyFetchError
            | ResultType::StsPolicyInvalid
            | ResultType::StsWebpkiInvalid
    );
    if sts_failure && reporter.bare_sts_failures {
        return (0..1 + rng.usize(0..2))
            .map(|_| FailureDetail {
                result_type: result_type.clone(),
                sending_mta_ip: None,
                receiving_mx_hostname: None,
                receiving_mx_helo: None,
                receiving_ip: None,
                failed_session_count: 1 + rng.u64(0..problem.intensity),
                additional_information: None,
                failure_reason_code: reporter
                    .reason_codes
                    .then(|| reason_code(rng, &result_type).to_owned()),
            })
            .collect();
    }
    let mx = &domain.mx[problem.mx];
    // Most problems are seen from a few of the sender's MTAs; a long tail from many.
    let mtas = (1 + rng.usize(0..3) * rng.usize(0..8)).min(reporter.sending_ips.len());
    let first = rng.usize(0..reporter.sending_ips.len());
    (0..mtas)
        .map(|n| {
            let sending_ip = reporter.sending_ips[(first + n) % reporter.sending_ips.len()];
            let receiving_ip = match mx.ipv6 {
                Some(v6) if sending_ip.is_ipv6() => v6.into(),
                _ => mx.ipv4.into(),
            };
            FailureDetail {
                result_type: result_type.clone(),
                sending_mta_ip: Some(IpValue::Addr(sending_ip)),
                receiving_mx_hostname: (!sts_failure).then(|| mx.host.clone()),
                receiving_mx_helo: (reporter.helo_and_info && !sts_failure)
                    .then(|| mx.host.clone()),
                receiving_ip: (!sts_failure).then_some(IpValue::Addr(receiving_ip)),
                failed_session_count: 1 + rng.u64(0..problem.intensity),
                additional_information: (reporter.helo_and_info && rng.u8(0..4) == 0).then(|| {
                    format!(
                        "https://{}/tlsrpt/{}/{}",
                        reporter.submitter,
                        domain.name,
                        rng.u32(..)
                    )
                }),
                failure_reason_code: reporter
                    .reason_codes
                    .then(|| reason_code(rng, &result_type).to_owned()),
            }
        })
        .collect()
}

/// Free-text reason codes as real MTAs write them (OpenSSL names, HTTP errors).
fn reason_code(rng: &mut Rng, result_type: &ResultType) -> &'static str {
    match result_type {
        ResultType::CertificateExpired | ResultType::StsWebpkiInvalid => {
            "X509_V_ERR_CERT_HAS_EXPIRED"
        }
        ResultType::CertificateHostMismatch => "X509_V_ERR_HOSTNAME_MISMATCH",
        ResultType::CertificateNotTrusted => pick(
            rng,
            &[
                "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN",
                "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
                "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT",
            ],
        ),
        ResultType::ValidationFailure => pick(
            rng,
            &[
                "X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION",
                "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED",
            ],
        ),
        ResultType::StarttlsNotSupported => "STARTTLS not offered in EHLO response",
        ResultType::StsPolicyFetchError => pick(
            rng,
            &[
                "bad https response code: 404",
                "bad https response code: 500",
                "connection refused",
                "dns lookup failed: NXDOMAIN",
            ],
        ),
        ResultType::StsPolicyInvalid => "invalid policy: unknown mode",
        ResultType::TlsaInvalid => "no TLSA record matched the certificate",
        ResultType::DnssecInvalid => "SERVFAIL from validating resolver",
        _ => "policy requires DANE, no secure TLSA records",
    }
}

fn report_id(
    rng: &mut Rng,
    reporter: &Reporter,
    domain: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> String {
    match reporter.id_scheme {
        IdScheme::DateDomain => format!("{}_{domain}", rfc3339(start)),
        IdScheme::DateIdxDomain => format!("{}_idx1_{domain}", rfc3339(start)),
        IdScheme::FiletimeDomain => {
            // Reports go out some hours after the day ends (§4.1); FILETIME counts 100 ns
            // ticks since 1601-01-01.
            const UNIX_EPOCH_IN_FILETIME: i64 = 116_444_736_000_000_000;
            let sent = end.timestamp() + rng.i64(3_600..6 * 3_600);
            let ticks = UNIX_EPOCH_IN_FILETIME + sent * 10_000_000 + rng.i64(0..10_000_000);
            format!("{ticks}+{domain}")
        }
        IdScheme::Uuid(suffix) => {
            let n = rng.u128(..);
            let uuid = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                n >> 96,
                (n >> 80) & 0xffff,
                (n >> 64) & 0xffff,
                (n >> 48) & 0xffff,
                n & 0xffff_ffff_ffff
            );
            match suffix {
                Some(suffix) => format!("{uuid}@{suffix}"),
                None => uuid,
            }
        }
        IdScheme::NumberPair => format!("{}_{}", rng.u32(..), rng.u16(..)),
    }
}
