//! `tlsrpt-hub record`: print exactly what to publish in DNS and on the MTA-STS web host.
//!
//! The generators live in the core crate (`tlsrpt_core::record::generate`) and validate their
//! output with the same parsers `check` uses, so what is printed here always parses clean.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::bail;

use crate::check::dns::Dns;
use crate::check::facts::MxAnswer;
use clap::{Args, Subcommand, ValueEnum};
use tlsrpt_core::policy::sts::StsMode;
use tlsrpt_core::record::RuaUri;
use tlsrpt_core::record::generate::{
    character_strings, mta_sts_id_from_unix_time, mta_sts_policy, mta_sts_txt, tlsrpt_txt,
};

/// One day: RFC 8461 §3.2 suggests weeks once stable; a day keeps `testing` easy to change.
const DEFAULT_MAX_AGE: u64 = 86_400;

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(subcommand)]
    kind: RecordKind,
}

#[derive(Debug, Subcommand)]
enum RecordKind {
    /// The `_smtp._tls.DOMAIN` TXT record that asks senders for reports (RFC 8460 §3).
    Tlsrpt {
        /// The policy domain (your recipient domain, or an MX host name for DANE reports).
        domain: String,
        /// Where reports go: `mailto:reports@example.com` or `https://host/v1/tlsrpt/TOKEN`.
        /// Repeat for several destinations.
        #[arg(long, required = true, value_name = "URI")]
        rua: Vec<String>,
    },
    /// The `_mta-sts.DOMAIN` TXT record announcing an MTA-STS policy (RFC 8461 §3.1), with a
    /// fresh id: publish a new id every time the policy file changes.
    MtaSts {
        domain: String,
        /// Policy id (1–32 letters and digits) [default: derived from the current UTC time].
        #[arg(long)]
        id: Option<String>,
    },
    /// The MTA-STS policy file to serve at https://mta-sts.DOMAIN/.well-known/mta-sts.txt
    /// (RFC 8461 §3.2). Start in `testing` mode and switch to `enforce` once reports are clean.
    MtaStsPolicy {
        /// The domain whose live MX hosts (looked up in DNS) become the `mx` lines; give
        /// either it or --mx.
        #[arg(required_unless_present = "mx", conflicts_with = "mx")]
        domain: Option<String>,
        /// MX host names the policy allows (`mx.example.com` or `*.example.com`), instead of
        /// the domain's live MX hosts; list every MX host of the domain.
        #[arg(long, value_name = "HOST")]
        mx: Vec<String>,
        /// DNS server for the MX lookup [default: the system's resolvers].
        #[arg(long, value_name = "IP:PORT", requires = "domain")]
        resolver: Option<SocketAddr>,
        /// `testing` delivers anyway but reports failures; `enforce` refuses insecure delivery.
        #[arg(long, value_enum, default_value_t = Mode::Testing)]
        mode: Mode,
        /// Seconds senders cache the policy (at most 31557600).
        #[arg(long, default_value_t = DEFAULT_MAX_AGE)]
        max_age: u64,
    },
}

/// RFC 8461 §5 policy modes.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    Testing,
    Enforce,
    None,
}

impl From<Mode> for StsMode {
    fn from(mode: Mode) -> StsMode {
        match mode {
            Mode::Testing => StsMode::Testing,
            Mode::Enforce => StsMode::Enforce,
            Mode::None => StsMode::None,
        }
    }
}

pub fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    match args.kind {
        RecordKind::Tlsrpt { domain, rua } => {
            let uris = rua
                .iter()
                .map(|uri| {
                    RuaUri::parse(uri).map_err(|problems| {
                        let reasons: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                        anyhow::anyhow!("rua {uri:?}: {}", reasons.join("; "))
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            print_txt(
                &format!("_smtp._tls.{}", fqdn(&domain)),
                &tlsrpt_txt(&uris)?,
            );
        }
        RecordKind::MtaSts { domain, id } => {
            let id = id.unwrap_or_else(|| mta_sts_id_from_unix_time(unix_now()));
            print_txt(&format!("_mta-sts.{}", fqdn(&domain)), &mta_sts_txt(&id)?);
        }
        RecordKind::MtaStsPolicy {
            domain,
            mx,
            resolver,
            mode,
            max_age,
        } => {
            let mx = match domain {
                Some(domain) => live_mx(&domain, resolver)?,
                None => mx,
            };
            print!("{}", mta_sts_policy(&mode.into(), &mx, max_age)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The domain's MX hosts from DNS, with the resolver `check` uses: the policy then lists
/// exactly what senders will compare it with (RFC 8461 §4.1).
fn live_mx(domain: &str, resolver: Option<SocketAddr>) -> anyhow::Result<Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(async {
        let dns = Dns::new(resolver, Duration::from_secs(10))?;
        anyhow::Ok(dns.mx(domain).await)
    })?;
    let hosts: Vec<String> = match answer {
        MxAnswer::Hosts(hosts) => hosts.into_iter().map(|mx| mx.host).collect(),
        MxAnswer::NoRecords => Vec::new(),
        MxAnswer::Failed(error) => bail!("MX lookup for {domain} failed: {error}"),
    };
    if hosts.is_empty() || hosts.iter().any(String::is_empty) {
        bail!("{domain} has no usable MX records (none, or a null MX); give the hosts with --mx");
    }
    Ok(hosts)
}

/// `example.com` → `example.com.` so the zone-file line is absolute.
fn fqdn(domain: &str) -> String {
    format!("{}.", domain.trim_end_matches('.').to_ascii_lowercase())
}

/// A zone-file line; long records are split into 255-byte character-strings (RFC 1035
/// §3.3.14), which receivers concatenate without spaces (RFC 8460 §3).
fn print_txt(name: &str, record: &str) {
    let strings: Vec<String> = character_strings(record)
        .into_iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    println!("{name} IN TXT {}", strings.join(" "));
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
