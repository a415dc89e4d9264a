//! The MTA-STS policy file: how it was served (RFC 8461 §3.3), what it says (§3.2), and
//! whether its `mx` patterns agree with the MX hosts in DNS (§4.1).

use tlsrpt_core::policy::sts::{MAX_AGE_LIMIT, StsMode, StsPolicy, mx_pattern_matches};

use crate::check::facts::{FetchFailure, MxAnswer, PolicyFetch};
use crate::check::finding::{Check, Finding};

/// The policy path (RFC 8461 §3.2).
pub const WELL_KNOWN: &str = "/.well-known/mta-sts.txt";

/// One day: RFC 8461 §3.2 advises weeks; less means senders refetch often and a short
/// outage of the policy host leaves them without a policy.
const SHORT_MAX_AGE: u64 = 86_400;

pub fn policy_url(domain: &str) -> String {
    format!("https://mta-sts.{domain}{WELL_KNOWN}")
}

/// The findings about the fetch and the content, and the policy if senders would use it.
pub fn fetched(domain: &str, fetch: &PolicyFetch) -> (Vec<Finding>, Option<StsPolicy>) {
    let url = policy_url(domain);
    let fail = |message: String, fix: &str| {
        (
            vec![Finding::fail(Check::StsFetch, &url, message, fix)],
            None,
        )
    };
    let (content_type, body) = match fetch {
        PolicyFetch::Body { content_type, body } => (content_type, body),
        PolicyFetch::Status {
            code,
            location: Some(location),
        } => {
            return fail(
                format!(
                    "HTTP {code} redirect to {location}; senders do not follow redirects (RFC 8461 §3.3)"
                ),
                "serve the policy itself at this URL with status 200",
            );
        }
        PolicyFetch::Status { code, .. } => {
            return fail(
                format!("HTTP {code}; senders need 200 (RFC 8461 §3.3)"),
                &format!("serve the policy file at {url} (`tlsrpt-hub serve` can host it)"),
            );
        }
        PolicyFetch::TooLarge { limit } => {
            return fail(
                format!(
                    "the body is larger than {limit} bytes; senders stop reading policies this big (RFC 8461 §3.3)"
                ),
                "serve only the policy: a few lines of text",
            );
        }
        PolicyFetch::Failed { kind, message } => {
            let fix = match kind {
                FetchFailure::Connect => {
                    format!("make mta-sts.{domain} resolve and accept HTTPS on port 443")
                }
                FetchFailure::Certificate => format!(
                    "install a certificate from a public CA that names mta-sts.{domain} (RFC 8461 §3.3)"
                ),
                FetchFailure::Timeout => "make the policy host answer within seconds".to_owned(),
                FetchFailure::Other => format!("make {url} answer with the policy"),
            };
            return fail(format!("fetch failed: {message}"), &fix);
        }
    };
    let mut findings = Vec::new();
    if !is_text_plain(content_type.as_deref()) {
        findings.push(Finding::fail(
            Check::StsFetch,
            &url,
            format!(
                "Content-Type is {}; RFC 8461 §3.2 requires text/plain and senders may reject others",
                content_type.as_deref().unwrap_or("missing")
            ),
            "serve the file as text/plain",
        ));
    }
    let Ok(text) = std::str::from_utf8(body) else {
        findings.push(Finding::fail(
            Check::StsPolicy,
            &url,
            "the policy is not UTF-8 text",
            "serve the policy as plain ASCII text",
        ));
        return (findings, None);
    };
    if findings.is_empty() {
        findings.push(Finding::pass(
            Check::StsFetch,
            &url,
            "served with 200, text/plain, valid certificate, no redirect",
        ));
    }
    let policy = StsPolicy::parse(text);
    findings.extend(content(domain, &url, &policy));
    let usable = policy.errors.is_empty();
    (findings, usable.then_some(policy))
}

/// `text/plain`, any parameters (RFC 8461 §3.2 shows `text/plain` and charsets are common).
fn is_text_plain(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/plain"))
}

fn content(domain: &str, url: &str, policy: &StsPolicy) -> Vec<Finding> {
    let fix_errors = format!(
        "regenerate it with `tlsrpt-hub record mta-sts-policy {domain}`, then publish a new id \
         with `tlsrpt-hub record mta-sts {domain}`"
    );
    let mut findings: Vec<Finding> = policy
        .errors
        .iter()
        .map(|error| {
            Finding::fail(
                Check::StsPolicy,
                url,
                format!("{error} (RFC 8461 §3.2); senders reject the policy"),
                fix_errors.clone(),
            )
        })
        .collect();
    if !findings.is_empty() {
        return findings;
    }
    let mode = policy
        .mode
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let max_age = policy.max_age.unwrap_or_default();
    findings.push(Finding::pass(
        Check::StsPolicy,
        url,
        format!(
            "valid policy: mode {mode}, max_age {max_age}, mx {}",
            policy.mx.join(", ")
        ),
    ));
    match policy.mode {
        Some(StsMode::Testing) => findings.push(Finding::pass(
            Check::StsPolicy,
            url,
            "mode testing: senders deliver even when validation fails, and report it (RFC 8461 §5)",
        )),
        Some(StsMode::None) => findings.push(Finding::warn(
            Check::StsPolicy,
            url,
            "mode none: senders treat the domain as having no policy (RFC 8461 §5)",
            "use mode testing to get failure reports, enforce once they are clean",
        )),
        _ => {}
    }
    if max_age < SHORT_MAX_AGE {
        findings.push(Finding::warn(
            Check::StsPolicy,
            url,
            format!("max_age {max_age} is under a day; RFC 8461 §3.2 advises weeks (at most {MAX_AGE_LIMIT})"),
            "raise max_age to 604800 (a week) or more once the policy is stable",
        ));
    }
    findings
}

/// Every MX host must match a pattern, or senders applying the policy refuse it (or, in
/// testing mode, report `validation-failure`); a pattern matching no MX host is stale.
pub fn mx_sync(domain: &str, policy: &StsPolicy, mx: &MxAnswer) -> Vec<Finding> {
    let url = policy_url(domain);
    let MxAnswer::Hosts(hosts) = mx else {
        return Vec::new();
    };
    if policy.mode == Some(StsMode::None) {
        return Vec::new();
    }
    let enforce = policy.mode == Some(StsMode::Enforce);
    let fix_policy = format!(
        "regenerate the policy from the live MX hosts with `tlsrpt-hub record mta-sts-policy {domain}`, \
         serve it, and publish a new id with `tlsrpt-hub record mta-sts {domain}`"
    );
    let mut findings = Vec::new();
    for mx in hosts {
        if policy
            .mx
            .iter()
            .any(|pattern| mx_pattern_matches(pattern, &mx.host))
        {
            continue;
        }
        let message = format!(
            "MX host {} matches no mx line of the policy ({}); senders {} (RFC 8461 §4.1)",
            mx.host,
            policy.mx.join(", "),
            if enforce {
                "refuse to deliver to it"
            } else {
                "report a failure for it"
            }
        );
        findings.push(if enforce {
            Finding::fail(Check::MxSync, &mx.host, message, fix_policy.clone())
        } else {
            Finding::warn(Check::MxSync, &mx.host, message, fix_policy.clone())
        });
    }
    for pattern in &policy.mx {
        if !hosts.iter().any(|mx| mx_pattern_matches(pattern, &mx.host)) {
            findings.push(Finding::warn(
                Check::MxSync,
                &url,
                format!("mx line {pattern:?} matches none of the MX hosts; the policy is out of sync with DNS"),
                fix_policy.clone(),
            ));
        }
    }
    if findings.is_empty() {
        findings.push(Finding::pass(
            Check::MxSync,
            &url,
            "every MX host matches an mx line and every mx line an MX host",
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::MxHost;
    use crate::check::finding::{Status, worst};

    const GOOD: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.backup.example.com\r\nmax_age: 604800\r\n";

    fn body(text: &str, content_type: &str) -> PolicyFetch {
        PolicyFetch::Body {
            content_type: Some(content_type.to_owned()),
            body: text.as_bytes().to_vec(),
        }
    }

    fn mx(hosts: &[&str]) -> MxAnswer {
        MxAnswer::Hosts(
            hosts
                .iter()
                .map(|host| MxHost {
                    preference: 10,
                    host: (*host).to_owned(),
                })
                .collect(),
        )
    }

    #[test]
    fn a_good_policy_passes() {
        let (findings, policy) = fetched("example.com", &body(GOOD, "text/plain; charset=utf-8"));
        assert_eq!(worst(&findings), Status::Pass, "{findings:?}");
        assert_eq!(policy.unwrap().mode, Some(StsMode::Enforce));
    }

    #[test]
    fn serving_problems_fail_with_fixes() {
        let cases = [
            (
                PolicyFetch::Status {
                    code: 404,
                    location: None,
                },
                "HTTP 404",
            ),
            (
                PolicyFetch::Status {
                    code: 301,
                    location: Some("https://www.example.com/".into()),
                },
                "do not follow redirects",
            ),
            (PolicyFetch::TooLarge { limit: 65536 }, "larger than 65536"),
            (
                PolicyFetch::Failed {
                    kind: FetchFailure::Certificate,
                    message: "NotValidForName".into(),
                },
                "NotValidForName",
            ),
            (body(GOOD, "text/html"), "Content-Type is text/html"),
        ];
        for (fetch, needle) in cases {
            let (findings, _) = fetched("example.com", &fetch);
            assert_eq!(worst(&findings), Status::Fail, "{fetch:?}");
            assert!(
                findings.iter().any(|f| f.message.contains(needle)),
                "{needle}: {findings:?}"
            );
        }
    }

    #[test]
    fn content_errors_and_advice() {
        let (findings, policy) = fetched(
            "example.com",
            &body(
                "version: STSv1\nmode: enforcing\nmx: a.example.com\nmax_age: 99999999999\n",
                "text/plain",
            ),
        );
        assert!(policy.is_none());
        assert_eq!(
            findings.iter().filter(|f| f.status == Status::Fail).count(),
            3,
            "{findings:?}"
        );
        let (findings, _) = fetched(
            "example.com",
            &body(
                "version: STSv1\nmode: testing\nmx: a.example.com\nmax_age: 300\n",
                "text/plain",
            ),
        );
        assert_eq!(worst(&findings), Status::Warn);
        assert!(findings.iter().any(|f| f.message.contains("under a day")));
    }

    /// Policies as they are found served in the wild; each must fail, naming the problem.
    #[test]
    fn real_world_broken_policies() {
        let table: &[(&str, &str)] = &[
            (
                "version: STSv1\nmode: enforcing\nmx: mx.example.com\nmax_age: 86400\n",
                "mode \"enforcing\"",
            ),
            (
                "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 1y\n",
                "max_age \"1y\"",
            ),
            (
                "version: STSv1.0\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n",
                "version \"STSv1.0\"",
            ),
            (
                "version: STSv1\nmode: testing\nmx: mx.example.com, mx2.example.com\nmax_age: 86400\n",
                "mx \"mx.example.com, mx2.example.com\"",
            ),
            (
                "version: STSv1\nmode: testing\nmax_age: 86400\n",
                "no \"mx\" line",
            ),
            (
                "Version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n",
                "wrongly cased",
            ),
            (
                "version=STSv1\nmode=testing\nmx=mx.example.com\nmax_age=86400\n",
                "not a \"key: value\" line",
            ),
            (
                "<html><body>Not here</body></html>",
                "not a \"key: value\" line",
            ),
        ];
        for (text, needle) in table {
            let (findings, policy) = fetched("example.com", &body(text, "text/plain"));
            assert!(policy.is_none(), "{text}");
            assert!(
                findings.iter().any(|f| f.status == Status::Fail
                    && f.message.contains(needle)
                    && f.fix.is_some()),
                "{needle}: {findings:?}"
            );
        }
    }

    #[test]
    fn mx_out_of_sync_both_ways() {
        let policy = StsPolicy::parse(GOOD);
        assert_eq!(
            worst(&mx_sync(
                "example.com",
                &policy,
                &mx(&["mx1.example.com", "a.backup.example.com"])
            )),
            Status::Pass
        );
        let drift = mx_sync("example.com", &policy, &mx(&["mx2.example.com"]));
        assert_eq!(worst(&drift), Status::Fail);
        assert!(
            drift[0]
                .message
                .contains("mx2.example.com matches no mx line")
        );
        assert_eq!(
            drift.iter().filter(|f| f.status == Status::Warn).count(),
            2,
            "{drift:?}"
        );
        let testing = StsPolicy::parse(&GOOD.replace("enforce", "testing"));
        assert_eq!(
            worst(&mx_sync("example.com", &testing, &mx(&["mx2.example.com"]))),
            Status::Warn
        );
    }
}
