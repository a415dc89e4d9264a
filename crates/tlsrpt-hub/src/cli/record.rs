//! `tlsrpt-hub record`: print exactly what to publish in DNS and on the MTA-STS web host.
//!
//! The generators live in the core crate (`tlsrpt_core::record::generate`) and validate their
//! output with the same parsers `check` uses, so what is printed here always parses clean.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

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
        /// MX host names the policy allows (`mx.example.com` or `*.example.com`); list every
        /// MX host of the domain.
        #[arg(long, required = true, value_name = "HOST")]
        mx: Vec<String>,
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
        RecordKind::MtaStsPolicy { mx, mode, max_age } => {
            print!("{}", mta_sts_policy(&mode.into(), &mx, max_age)?);
        }
    }
    Ok(ExitCode::SUCCESS)
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
