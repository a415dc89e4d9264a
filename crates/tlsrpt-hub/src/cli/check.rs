//! `tlsrpt-hub check DOMAIN…`: flags, then [`crate::check`] does the work.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::check::{Checker, Options, SMTP_PORT, Status, render};

pub const AFTER_HELP: &str = r#"Exit status: 0 every check passed, 1 warnings only, 3 at least one check failed,
2 the checks could not run (bad flags, no DNS configuration).

--format json prints {"status", "domains": [{"domain", "status", "findings": [{"check",
"status", "subject", "message", "fix"}], "observed"}]}. status is pass, warn or fail; check is
one of tlsrpt-record, sts-record, sts-fetch, sts-policy, mx-sync, mx, tlsa, starttls (stable
names); observed holds the TLSRPT record, MTA-STS id, policy mx lines and MX hosts seen.

Testing against private servers: --resolver points every DNS lookup at one server,
--policy-host-override connects to another address for mta-sts.DOMAIN (the certificate must
still be valid for mta-sts.DOMAIN), --ca-file adds a private CA, --smtp-port changes the port
the STARTTLS probe connects to. None of them loosens a check."#;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy domains to check (your recipient domains).
    #[arg(required = true, value_name = "DOMAIN")]
    domains: Vec<String>,

    /// Send every DNS query to this server instead of the system's resolvers.
    #[arg(long, value_name = "IP:PORT")]
    resolver: Option<SocketAddr>,

    /// Also connect to each MX host, issue STARTTLS and check its certificate (validity,
    /// expiry, name), as senders will.
    #[arg(long)]
    starttls: bool,

    /// Port of the STARTTLS probe.
    #[arg(long, default_value_t = SMTP_PORT, value_name = "PORT")]
    smtp_port: u16,

    /// Fetch the MTA-STS policy from this address instead of mta-sts.DOMAIN's own; the URL,
    /// TLS server name and certificate check stay those of mta-sts.DOMAIN.
    #[arg(long, value_name = "IP:PORT")]
    policy_host_override: Option<SocketAddr>,

    /// Also trust the CA certificates in this PEM file (repeatable), for the policy host
    /// and the STARTTLS probe.
    #[arg(long, value_name = "PEM")]
    ca_file: Vec<PathBuf>,

    /// Seconds each network step may take (a DNS query, the policy fetch, an SMTP session).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    timeout: u64,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let options = Options {
        resolver: args.resolver,
        timeout: Duration::from_secs(args.timeout.max(1)),
        policy_host_override: args.policy_host_override,
        ca_files: args.ca_file,
        starttls: args.starttls,
        smtp_port: args.smtp_port,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reports = runtime.block_on(async {
        let checker = Checker::new(options)?;
        let mut reports = Vec::new();
        for domain in &args.domains {
            reports.push(checker.domain(domain).await);
        }
        anyhow::Ok(reports)
    })?;
    let mut out = anstream::stdout().lock();
    match args.format {
        Format::Text => render::text(&mut out, &reports)?,
        Format::Json => render::json(&mut out, &reports)?,
    }
    let worst = reports
        .iter()
        .map(|r| r.status)
        .max()
        .unwrap_or(Status::Pass);
    Ok(ExitCode::from(match worst {
        Status::Pass => 0,
        Status::Warn => 1,
        Status::Fail => 3,
    }))
}
