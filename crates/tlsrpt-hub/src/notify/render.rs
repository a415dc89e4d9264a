//! What each kind of channel receives for a [`Message`]: pure functions, no IO.
//!
//! Every string that came from a report (organization names, MX hosts, IPs, even the policy
//! domain) is attacker-controlled: anyone can send a report. Single-line values lose their
//! control characters (no forged header or body lines), Slack/Mattermost text escapes `&`, `<`
//! and `>` (so no `<!channel>` pings or disguised links), Teams text escapes HTML and
//! Markdown, and e-mail is plain text only.

use std::fmt::Write;

use serde_json::{Value, json};
use tlsrpt_analyze::{Alert, Digest, Notice, NoticeKind, Severity};

use super::Message;

/// Version of the generic webhook's JSON envelope; bumped on any incompatible change.
pub const WEBHOOK_VERSION: u32 = 1;

/// A plain-text e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

pub fn email(message: &Message) -> Email {
    match message {
        Message::Notice(notice) => Email {
            subject: one_line(&headline(notice)),
            body: notice_text(notice),
        },
        Message::Digest(digest) => Email {
            subject: one_line(&digest_headline(digest)),
            body: digest_text(digest),
        },
    }
}

/// The generic webhook body: the notice or digest as the API shows it, in a versioned
/// envelope so receivers can tell formats apart.
pub fn webhook(message: &Message) -> Value {
    match message {
        Message::Notice(notice) => json!({
            "version": WEBHOOK_VERSION,
            "type": "notice",
            "notice": notice,
        }),
        Message::Digest(digest) => json!({
            "version": WEBHOOK_VERSION,
            "type": "digest",
            "digest": digest,
        }),
    }
}

/// Slack's incoming-webhook payload, which Mattermost accepts as is: `text` (the fallback
/// shown in notifications) and one attachment with the details.
pub fn slack(message: &Message) -> Value {
    match message {
        Message::Notice(notice) => {
            let alert = &notice.alert;
            let evidence = evidence_lines(alert)
                .into_iter()
                .map(|(name, value)| {
                    json!({ "title": name, "value": slack_escape(&value), "short": value.len() < 40 })
                })
                .collect::<Vec<_>>();
            let mut text = format!(
                "*Cause:* {}\n*Action:* {}",
                slack_escape(&alert.cause),
                slack_escape(&alert.action)
            );
            if let Some(link) = &notice.link {
                let _ = write!(text, "\n<{}|Open the dashboard>", slack_escape(link));
            }
            json!({
                "text": slack_escape(&headline(notice)),
                "attachments": [{
                    "color": color(notice),
                    "title": slack_escape(&one_line(&alert.title)),
                    "text": text,
                    "fields": evidence,
                    "footer": "tlsrpt-hub",
                }],
            })
        }
        Message::Digest(digest) => json!({
            "text": slack_escape(&digest_headline(digest)),
            "attachments": [{
                "color": if problem_count(digest) == 0 { "#2eb67d" } else { "#e01e5a" },
                "text": slack_escape(&digest_text(digest)),
                "footer": "tlsrpt-hub",
            }],
        }),
    }
}

/// A Microsoft Teams incoming-webhook `MessageCard`.
pub fn teams(message: &Message) -> Value {
    match message {
        Message::Notice(notice) => {
            let alert = &notice.alert;
            let facts = evidence_lines(alert)
                .into_iter()
                .map(|(name, value)| json!({ "name": name, "value": teams_escape(&value) }))
                .collect::<Vec<_>>();
            let actions = notice
                .link
                .iter()
                .map(|link| {
                    json!({
                        "@type": "OpenUri",
                        "name": "Open the dashboard",
                        "targets": [{ "os": "default", "uri": link }],
                    })
                })
                .collect::<Vec<_>>();
            json!({
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "themeColor": color(notice).trim_start_matches('#'),
                "summary": teams_escape(&headline(notice)),
                "title": teams_escape(&headline(notice)),
                "sections": [{
                    "activityTitle": teams_escape(&one_line(&alert.title)),
                    "text": format!(
                        "**Cause:** {}\n\n**Action:** {}",
                        teams_escape(&alert.cause),
                        teams_escape(&alert.action)
                    ),
                    "facts": facts,
                }],
                "potentialAction": actions,
            })
        }
        Message::Digest(digest) => json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "themeColor": if problem_count(digest) == 0 { "2eb67d" } else { "e01e5a" },
            "summary": teams_escape(&digest_headline(digest)),
            "title": teams_escape(&digest_headline(digest)),
            "text": digest_text(digest)
                .lines()
                .map(teams_escape)
                .collect::<Vec<_>>()
                .join("\n\n"),
        }),
    }
}

/// "[tlsrpt-hub] CRITICAL example.com certificate-failure: <title>"; the subject line and
/// chat fallback text.
fn headline(notice: &Notice) -> String {
    let alert = &notice.alert;
    let state = match notice.kind {
        NoticeKind::Opened => alert.severity.as_str().to_ascii_uppercase(),
        NoticeKind::Resolved => "RESOLVED".to_owned(),
        NoticeKind::Test => "TEST".to_owned(),
    };
    format!(
        "[tlsrpt-hub] {state} {} {}: {}",
        alert.domain,
        alert.rule.as_str(),
        alert.title
    )
}

fn notice_text(notice: &Notice) -> String {
    let alert = &notice.alert;
    let mut text = String::new();
    match notice.kind {
        NoticeKind::Opened => {}
        NoticeKind::Resolved => text.push_str(
            "RESOLVED: the latest reports no longer show this problem. No action needed.\n\n",
        ),
        NoticeKind::Test => text.push_str(
            "TEST: a sample alert sent by `tlsrpt-hub alerts test`; nothing is wrong.\n\n",
        ),
    }
    let _ = writeln!(text, "{}\n", one_line(&alert.title));
    let _ = writeln!(text, "Domain:    {}", one_line(&alert.domain));
    let _ = writeln!(text, "Rule:      {}", alert.rule.as_str());
    let _ = writeln!(text, "Severity:  {}", alert.severity.as_str());
    let _ = writeln!(
        text,
        "Opened:    {}",
        notice.opened_at.format("%Y-%m-%d %H:%M UTC")
    );
    if let Some(resolved) = notice.resolved_at {
        let _ = writeln!(text, "Resolved:  {}", resolved.format("%Y-%m-%d %H:%M UTC"));
    }
    let _ = writeln!(text, "\nCause:\n  {}", one_line(&alert.cause));
    let _ = writeln!(text, "\nAction:\n  {}", one_line(&alert.action));
    text.push_str("\nEvidence:\n");
    for (name, value) in evidence_lines(alert) {
        let _ = writeln!(text, "  {:<16} {value}", format!("{name}:"));
    }
    for note in &alert.evidence.notes {
        let _ = writeln!(text, "  - {}", one_line(note));
    }
    if let Some(link) = &notice.link {
        let _ = writeln!(text, "\nDashboard: {}", one_line(link));
    }
    let _ = writeln!(text, "\nAlert #{} (tlsrpt-hub)", notice.alert_id);
    text
}

/// The evidence as (label, single-line value) pairs, empty ones left out.
fn evidence_lines(alert: &Alert) -> Vec<(&'static str, String)> {
    let evidence = &alert.evidence;
    let list = |items: &[String]| {
        items
            .iter()
            .map(|item| one_line(item))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut lines = vec![
        ("Result types", list(&evidence.result_types)),
        ("MX hosts", list(&evidence.receiving_mx_hosts)),
        ("Reporters", list(&evidence.organizations)),
        ("Sending IPs", list(&evidence.sending_mta_ips)),
    ];
    if evidence.total_sessions > 0 || evidence.failed_sessions > 0 {
        lines.push((
            "Failed sessions",
            format!(
                "{} of {}",
                evidence.failed_sessions, evidence.total_sessions
            ),
        ));
    }
    if let Some(day) = evidence.first_seen {
        lines.push(("First seen", day.to_string()));
    }
    if let Some(day) = evidence.last_seen {
        lines.push(("Last seen", day.to_string()));
    }
    lines.push((
        "Reports",
        evidence
            .report_ids
            .iter()
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    lines.retain(|(_, value)| !value.is_empty());
    lines
}

fn digest_headline(digest: &Digest) -> String {
    let problems = problem_count(digest);
    format!(
        "[tlsrpt-hub] Digest {} to {}: {problems} domain{} with open alerts, {} clean",
        digest.from,
        digest.to,
        if problems == 1 { "" } else { "s" },
        digest.domains.len() - problems
    )
}

fn problem_count(digest: &Digest) -> usize {
    digest
        .domains
        .iter()
        .filter(|domain| !domain.open_alerts.is_empty())
        .count()
}

/// Problem domains first with their open alerts, then each clean domain on one line.
fn digest_text(digest: &Digest) -> String {
    let mut text = format!(
        "TLS reports from {} to {} (UTC days).\n",
        digest.from, digest.to
    );
    let (problems, clean): (Vec<_>, Vec<_>) = digest
        .domains
        .iter()
        .partition(|domain| !domain.open_alerts.is_empty());
    let rate = |rate: Option<f64>| rate.map_or("no sessions".to_owned(), |r| format!("{r:.2} %"));
    if !problems.is_empty() {
        text.push_str("\nNeeds attention:\n");
    }
    for domain in problems {
        let _ = writeln!(
            text,
            "\n{} ({}): {} sessions, {} failed, success {}",
            one_line(&domain.domain),
            one_line(&domain.status),
            domain.sessions,
            domain.failed_sessions,
            rate(domain.success_rate)
        );
        let mut alerts: Vec<&Alert> = domain.open_alerts.iter().collect();
        alerts.sort_by_key(|alert| alert.severity);
        for alert in alerts {
            let _ = writeln!(
                text,
                "  - {} {}: {}\n    Action: {}",
                severity_tag(alert.severity),
                alert.rule.as_str(),
                one_line(&alert.title),
                one_line(&alert.action)
            );
        }
        if let Some(link) = &domain.link {
            let _ = writeln!(text, "  {}", one_line(link));
        }
    }
    if !clean.is_empty() {
        text.push_str("\nClean:\n");
    }
    for domain in clean {
        let _ = writeln!(
            text,
            "  {} ({}): {} sessions, success {}",
            one_line(&domain.domain),
            one_line(&domain.status),
            domain.sessions,
            rate(domain.success_rate)
        );
    }
    text
}

fn severity_tag(severity: Severity) -> String {
    format!("[{}]", severity.as_str().to_ascii_uppercase())
}

fn color(notice: &Notice) -> &'static str {
    match (notice.kind, notice.alert.severity) {
        (NoticeKind::Resolved, _) => "#2eb67d",
        (NoticeKind::Test, _) => "#439fe0",
        (_, Severity::Critical) => "#d70000",
        (_, Severity::High) => "#e01e5a",
        (_, Severity::Medium) => "#ecb22e",
        (_, Severity::Low) => "#a0a0a0",
    }
}

/// Control characters (CR, LF, tabs, escapes) become spaces: a value stays on its line.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Slack's three control characters (its "Escaping text" rules); Mattermost follows them.
fn slack_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Teams renders a Markdown subset with some HTML: both are neutralised, so a report cannot
/// add links, images or formatting.
fn teams_escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in one_line(value).chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '|' => {
                escaped.push('\\');
                escaped.push(c);
            }
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::sample_notice;
    use chrono::{NaiveDate, TimeZone, Utc};
    use tlsrpt_analyze::{DigestDomain, Rule};

    fn expired() -> Notice {
        let mut notice = sample_notice(NoticeKind::Opened);
        notice.alert_id = 42;
        notice.opened_at = Utc.with_ymd_and_hms(2026, 11, 23, 6, 5, 0).unwrap();
        notice.alert.title =
            "certificate-expired at mx1.example.com reported by Google\r\nBcc: x".into();
        notice.alert.evidence.organizations = vec!["Google Inc.".into(), "<!channel> & co".into()];
        notice.alert.evidence.first_seen = NaiveDate::from_ymd_opt(2026, 11, 22);
        notice
    }

    #[test]
    fn email_subject_names_severity_domain_and_rule_on_one_line() {
        let email = email(&Message::Notice(Box::new(expired())));
        assert_eq!(
            email.subject,
            "[tlsrpt-hub] CRITICAL example.com certificate-failure: certificate-expired at \
             mx1.example.com reported by Google  Bcc: x"
        );
        let body = &email.body;
        for expected in [
            "Domain:    example.com\n",
            "Severity:  critical\n",
            "Opened:    2026-11-23 06:05 UTC\n",
            "MX hosts:        mx1.example.com\n",
            "Reporters:       Google Inc., <!channel> & co\n",
            "Sending IPs:     192.0.2.25\n",
            "Failed sessions: 12 of 340\n",
            "First seen:      2026-11-22\n",
            "Reports:         #7\n",
            "Dashboard: https://tlsrpt.example.com/domains/example.com\n",
            "Alert #42",
        ] {
            assert!(body.contains(expected), "{expected:?} missing from\n{body}");
        }
        assert!(!body.contains("RESOLVED"));
        assert!(!body.contains("\r\nBcc"), "report text cannot add lines");
    }

    #[test]
    fn resolved_notices_say_so() {
        let mut notice = expired();
        notice.kind = NoticeKind::Resolved;
        notice.resolved_at = Some(Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap());
        let email = email(&Message::Notice(Box::new(notice.clone())));
        assert!(
            email
                .subject
                .starts_with("[tlsrpt-hub] RESOLVED example.com")
        );
        assert!(email.body.starts_with("RESOLVED: the latest reports"));
        assert!(email.body.contains("Resolved:  2026-11-25 07:00 UTC\n"));
        let slack = slack(&Message::Notice(Box::new(notice)));
        assert_eq!(slack["attachments"][0]["color"], "#2eb67d");
    }

    #[test]
    fn webhook_json_is_the_notice_in_a_versioned_envelope() {
        let notice = expired();
        let body = webhook(&Message::Notice(Box::new(notice.clone())));
        assert_eq!(body["version"], 1);
        assert_eq!(body["type"], "notice");
        assert_eq!(body["notice"]["alert"]["rule"], "certificate-failure");
        let back: Notice = serde_json::from_value(body["notice"].clone()).unwrap();
        assert_eq!(back, notice);
    }

    #[test]
    fn slack_text_escapes_report_values() {
        let slack = slack(&Message::Notice(Box::new(expired())));
        let attachment = &slack["attachments"][0];
        let reporters = attachment["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|field| field["title"] == "Reporters")
            .unwrap();
        assert_eq!(reporters["value"], "Google Inc., &lt;!channel&gt; &amp; co");
        assert!(
            slack["text"]
                .as_str()
                .unwrap()
                .starts_with("[tlsrpt-hub] CRITICAL example.com certificate-failure")
        );
        assert!(
            attachment["text"]
                .as_str()
                .unwrap()
                .ends_with("<https://tlsrpt.example.com/domains/example.com|Open the dashboard>")
        );
        assert!(!slack.to_string().contains("<!channel>"));
    }

    #[test]
    fn teams_gets_a_message_card_without_markup_from_reports() {
        let mut notice = expired();
        notice.alert.evidence.receiving_mx_hosts = vec!["[x](https://evil.example)<b>".into()];
        let card = teams(&Message::Notice(Box::new(notice)));
        assert_eq!(card["@type"], "MessageCard");
        assert_eq!(card["themeColor"], "d70000");
        let facts = card["sections"][0]["facts"].as_array().unwrap();
        let mx = facts.iter().find(|f| f["name"] == "MX hosts").unwrap();
        assert_eq!(mx["value"], "\\[x\\]\\(https://evil.example\\)&lt;b&gt;");
        assert_eq!(
            card["potentialAction"][0]["targets"][0]["uri"],
            "https://tlsrpt.example.com/domains/example.com"
        );
    }

    #[test]
    fn digests_list_problem_domains_first_and_clean_ones_on_one_line() {
        let alert = expired().alert;
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let domain = |name: &str, alerts: Vec<Alert>| DigestDomain {
            domain: name.into(),
            status: if alerts.is_empty() { "ok" } else { "failing" }.into(),
            sessions: 1000,
            failed_sessions: if alerts.is_empty() { 0 } else { 12 },
            success_rate: Some(if alerts.is_empty() { 100.0 } else { 98.8 }),
            open_alerts: alerts,
            link: None,
        };
        let mut low = alert.clone();
        low.severity = Severity::Low;
        low.rule = Rule::NewSendingIp;
        let digest = Digest {
            from: day(16),
            to: day(22),
            domains: vec![
                domain("example.org", vec![]),
                domain("example.com", vec![low, alert]),
                domain("example.net", vec![]),
            ],
        };
        let email = email(&Message::Digest(digest.clone()));
        assert_eq!(
            email.subject,
            "[tlsrpt-hub] Digest 2026-11-16 to 2026-11-22: 1 domain with open alerts, 2 clean"
        );
        let body = email.body;
        let problem = body.find("example.com (failing)").unwrap();
        let critical = body.find("[CRITICAL] certificate-failure").unwrap();
        let low = body.find("[LOW] new-sending-ip").unwrap();
        let clean = body.find("Clean:").unwrap();
        assert!(
            problem < critical && critical < low && low < clean,
            "{body}"
        );
        assert!(body.contains("\n  example.org (ok): 1000 sessions, success 100.00 %\n"));
        let mut hostile = digest;
        hostile.domains[0].domain = "<!here>.example".into();
        let slack = slack(&Message::Digest(hostile));
        let text = slack["attachments"][0]["text"].as_str().unwrap();
        assert!(text.contains("&lt;!here&gt;.example (ok)"), "{text}");
        assert!(!slack.to_string().contains("<!here>"));
    }
}
