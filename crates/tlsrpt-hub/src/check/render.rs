//! Printing findings: a verdict per check for people, JSON for machines.
//!
//! Colours come from `anstyle` and are stripped by `anstream` when stdout is not a
//! terminal (or `NO_COLOR` is set).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::finding::{DomainReport, Status, worst};

const HEADING: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn style(status: Status) -> Style {
    match status {
        Status::Pass => AnsiColor::Green.on_default(),
        Status::Warn => AnsiColor::Yellow.on_default().bold(),
        Status::Fail => AnsiColor::Red.on_default().bold(),
    }
}

pub fn text(out: &mut impl Write, reports: &[DomainReport]) -> io::Result<()> {
    for report in reports {
        let s = style(report.status);
        writeln!(
            out,
            "{HEADING}{}{HEADING:#}: {s}{}{s:#}",
            report.domain,
            report.status.as_str()
        )?;
        for finding in &report.findings {
            let s = style(finding.status);
            writeln!(
                out,
                "  {s}{:<4}{s:#}  {:<13} {DIM}{}{DIM:#}",
                finding.status.as_str(),
                finding.check.as_str(),
                finding.subject
            )?;
            writeln!(out, "        {}", finding.message)?;
            if let Some(fix) = &finding.fix {
                writeln!(out, "        fix: {fix}")?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Output<'a> {
    status: Status,
    domains: &'a [DomainReport],
}

pub fn json(out: &mut impl Write, reports: &[DomainReport]) -> io::Result<()> {
    let all: Vec<_> = reports
        .iter()
        .flat_map(|r| r.findings.iter().cloned())
        .collect();
    serde_json::to_writer_pretty(
        &mut *out,
        &Output {
            status: worst(&all),
            domains: reports,
        },
    )?;
    writeln!(out)
}
