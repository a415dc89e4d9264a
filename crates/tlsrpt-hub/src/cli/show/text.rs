//! The human reading of a report: who, when, each policy, what failed, why, and the fix.
//!
//! Colours come from `anstyle` and are stripped by `anstream` when stdout is not a terminal
//! (or `NO_COLOR` is set), so piped output is plain text.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use tlsrpt_core::explain::{describe_policy_type, explain};
use tlsrpt_core::policy::sts::StsPolicy;
use tlsrpt_core::policy::tlsa::TlsaRecord;
use tlsrpt_core::read::ReadReport;
use tlsrpt_core::report::format_utc;
use tlsrpt_core::{FailureDetail, PolicyResult, PolicyType, Report, ResultType};

const HEADING: Style = Style::new().bold();
const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();

pub fn render(out: &mut impl Write, source: &str, read: &ReadReport) -> io::Result<()> {
    let report = &read.parsed.report;
    header(out, source, read)?;
    for (index, policy) in report.policies.iter().enumerate() {
        policy_section(out, index, policy)?;
    }
    diagnostics(out, read)?;
    writeln!(out)
}

fn header(out: &mut impl Write, source: &str, read: &ReadReport) -> io::Result<()> {
    let report = &read.parsed.report;
    let org = report
        .organization_name
        .as_deref()
        .unwrap_or("(no organization-name)");
    writeln!(out, "{HEADING}TLS report from {org}{HEADING:#}")?;
    field(out, "source", &source_line(source, read))?;
    if let Some(contact) = &report.contact_info {
        field(out, "contact", contact)?;
    }
    field(
        out,
        "report-id",
        report.report_id.as_deref().unwrap_or("(none)"),
    )?;
    field(out, "period", &period(report))?;
    let domains = report.policy_domains();
    field(
        out,
        "policy domains",
        &if domains.is_empty() {
            "(none given)".to_owned()
        } else {
            domains.join(", ")
        },
    )?;
    let (ok, failed) = (report.total_successful(), report.total_failed());
    write!(out, "  {:<16}", "sessions")?;
    sessions(out, ok, failed)?;
    writeln!(out)
}

fn source_line(source: &str, read: &ReadReport) -> String {
    let mut line = source.to_owned();
    if let Some(name) = &read.file_name {
        line.push_str(&format!(", attachment {name}"));
    }
    if let Some(from) = read.message.as_ref().and_then(|m| m.from.as_deref()) {
        line.push_str(&format!(", mailed by {from}"));
    }
    line
}

/// "2024-01-09 (one UTC day)" for the usual case, the exact interval otherwise.
fn period(report: &Report) -> String {
    let range = &report.date_range;
    let days = (range.end - range.start).num_seconds() as f64 / 86_400.0;
    let exact = format!("{} to {}", format_utc(&range.start), format_utc(&range.end));
    if days == 1.0 && range.start.time() == chrono::NaiveTime::MIN {
        format!("{} (one UTC day; {exact})", range.start.date_naive())
    } else {
        format!("{exact} ({days:.2} days)")
    }
}

fn field(out: &mut impl Write, label: &str, value: &str) -> io::Result<()> {
    writeln!(out, "  {label:<16}{value}")
}

/// "1,234 successful, 5 failed (99.6 % success)", coloured by outcome.
fn sessions(out: &mut impl Write, ok: u64, failed: u64) -> io::Result<()> {
    let total = ok as f64 + failed as f64;
    let style = if failed == 0 { GOOD } else { BAD };
    write!(out, "{ok} successful, {style}{failed} failed{style:#}")?;
    if total > 0.0 {
        write!(out, " ({:.1} % success)", ok as f64 * 100.0 / total)?;
    } else {
        write!(out, " {DIM}(no sessions: a heartbeat report){DIM:#}")?;
    }
    Ok(())
}

fn policy_section(out: &mut impl Write, index: usize, result: &PolicyResult) -> io::Result<()> {
    let policy = &result.policy;
    let domain = policy
        .policy_domain
        .as_deref()
        .unwrap_or("(no policy-domain)");
    writeln!(
        out,
        "\n{HEADING}Policy {}: {} for {domain}{HEADING:#}",
        index + 1,
        policy.policy_type
    )?;
    field(out, "meaning", describe_policy_type(&policy.policy_type))?;
    match policy.policy_type {
        PolicyType::Sts => sts_lines(out, &policy.policy_string)?,
        PolicyType::Tlsa => tlsa_lines(out, &policy.policy_string)?,
        _ => raw_policy_lines(out, &policy.policy_string)?,
    }
    if !policy.mx_host.is_empty() {
        field(out, "mx-host", &policy.mx_host.join(", "))?;
    }
    write!(out, "  {:<16}", "sessions")?;
    let summary = result.summary;
    sessions(
        out,
        summary.total_successful_session_count,
        summary.total_failure_session_count,
    )?;
    writeln!(out)?;
    failures(out, &result.failure_details)
}

fn sts_lines(out: &mut impl Write, lines: &[String]) -> io::Result<()> {
    if lines.is_empty() {
        return field(
            out,
            "policy",
            "(the reporter did not include the policy text)",
        );
    }
    let policy = StsPolicy::from_lines(lines);
    let mode = policy
        .mode
        .as_ref()
        .map_or("(missing)".to_owned(), |m| m.to_string());
    field(out, "mode", &mode)?;
    if let Some(max_age) = policy.max_age {
        field(
            out,
            "max_age",
            &format!("{max_age} s ({:.1} days)", max_age as f64 / 86_400.0),
        )?;
    }
    field(out, "mx patterns", &policy.mx.join(", "))?;
    for problem in &policy.errors {
        writeln!(out, "  {WARN}policy problem: {problem}{WARN:#}")?;
    }
    Ok(())
}

fn tlsa_lines(out: &mut impl Write, lines: &[String]) -> io::Result<()> {
    for line in lines {
        match TlsaRecord::parse(line) {
            Ok(record) => tlsa_record(out, &record)?,
            Err(error) => writeln!(out, "  {:<16}{line} {WARN}({error}){WARN:#}", "TLSA")?,
        }
    }
    Ok(())
}

/// "3 1 1 6007EE… (DANE-EE, SPKI, SHA2-256)" and why a client would ignore it, if it would.
fn tlsa_record(out: &mut impl Write, record: &TlsaRecord) -> io::Result<()> {
    let names: Vec<&str> = [
        record.usage_name(),
        record.selector_name(),
        record.matching_type_name(),
    ]
    .into_iter()
    .map(|name| name.unwrap_or("?"))
    .collect();
    field(out, "TLSA", &format!("{record} ({})", names.join(", ")))?;
    for note in record.notes() {
        writeln!(out, "  {:<16}{WARN}{note}{WARN:#}", "")?;
    }
    Ok(())
}

fn raw_policy_lines(out: &mut impl Write, lines: &[String]) -> io::Result<()> {
    lines
        .iter()
        .try_for_each(|line| field(out, "policy-string", line))
}

/// Failure details grouped by result type, largest first, each with its cause and fix.
fn failures(out: &mut impl Write, details: &[FailureDetail]) -> io::Result<()> {
    let mut groups: BTreeMap<&ResultType, Vec<&FailureDetail>> = BTreeMap::new();
    for detail in details {
        groups.entry(&detail.result_type).or_default().push(detail);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(_, group)| std::cmp::Reverse(total(group)));
    for (result_type, group) in groups {
        failure_group(out, result_type, &group)?;
    }
    Ok(())
}

fn total(group: &[&FailureDetail]) -> u64 {
    group
        .iter()
        .map(|d| d.failed_session_count)
        .fold(0, u64::saturating_add)
}

fn failure_group(
    out: &mut impl Write,
    result_type: &ResultType,
    group: &[&FailureDetail],
) -> io::Result<()> {
    let name = match result_type.as_str() {
        "" => "(no result-type given)",
        name => name,
    };
    let sessions = total(group);
    let plural = if sessions == 1 { "" } else { "s" };
    writeln!(
        out,
        "  {BAD}✗ {name}{BAD:#}: {sessions} failed session{plural}"
    )?;
    let explanation = explain(result_type);
    let lists: [(&str, Vec<String>); 5] = [
        (
            "MX hosts",
            counted(group, |d| d.receiving_mx_hostname.clone()),
        ),
        (
            "MX HELO names",
            counted(group, |d| d.receiving_mx_helo.clone()),
        ),
        (
            "receiving IPs",
            counted(group, |d| d.receiving_ip.as_ref().map(|ip| ip.to_string())),
        ),
        (
            "sending IPs",
            counted(group, |d| {
                d.sending_mta_ip.as_ref().map(|ip| ip.to_string())
            }),
        ),
        (
            "reason codes",
            counted(group, |d| d.failure_reason_code.clone()),
        ),
    ];
    for (label, values) in lists.iter().filter(|(_, values)| !values.is_empty()) {
        writeln!(out, "      {label:<15}{}", values.join(", "))?;
    }
    for info in group
        .iter()
        .filter_map(|d| d.additional_information.as_deref())
    {
        writeln!(out, "      {:<15}{info}", "more info")?;
    }
    writeln!(out, "      {:<15}{}", "cause", explanation.cause)?;
    writeln!(
        out,
        "      {WARN}{:<15}{}{WARN:#}",
        "action", explanation.action
    )
}

/// Distinct values of one field with their session counts: "mx1 (100), mx2 (3)".
fn counted(
    group: &[&FailureDetail],
    value: impl Fn(&FailureDetail) -> Option<String>,
) -> Vec<String> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for detail in group {
        if let Some(v) = value(detail) {
            let count = counts.entry(v).or_default();
            *count = count.saturating_add(detail.failed_session_count);
        }
    }
    counts
        .into_iter()
        .map(|(v, n)| format!("{v} ({n})"))
        .collect()
}

fn diagnostics(out: &mut impl Write, read: &ReadReport) -> io::Result<()> {
    let diagnostics = &read.parsed.diagnostics;
    if diagnostics.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n{HEADING}Notes on the report itself ({}){HEADING:#}",
        diagnostics.len()
    )?;
    for diagnostic in diagnostics {
        writeln!(out, "  {DIM}•{DIM:#} {diagnostic}")?;
    }
    Ok(())
}
