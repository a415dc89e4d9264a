//! Configuration: TOML file, then environment, then flags — resolved once, before any command
//! runs, into a ready [`Config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use tlsrpt_core::extract::Limits;

use crate::cli::{Args, Command};

mod imap;

use imap::FileImap;
pub use imap::{ImapConfig, ImapSecurity};

/// The database used when neither `--db`, `TLSRPT_HUB_DB` nor the config file name one.
pub const DEFAULT_DATABASE: &str = "tlsrpt-hub.db";

/// Loopback by default: plain HTTP is meant to sit behind a TLS-terminating proxy, and an
/// accidental public listener would accept unauthenticated reports (RFC 8460 §7).
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";

/// "A commonly observed receiver limit is ten megabytes" (RFC 8460 §5.2); real reports are KiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// Settings every command can rely on.
#[derive(Debug, Clone)]
pub struct Config {
    /// SQLite file path (or store URL).
    pub database: String,
    pub limits: Limits,
    pub http: HttpConfig,
    /// The policy domains this hub collects reports for.
    pub domains: Vec<DomainConfig>,
    pub unknown_domains: UnknownDomains,
    /// Mailboxes `serve` (and `imap-poll`) fetch mailed reports from.
    pub imap: Vec<ImapConfig>,
}

/// The HTTPS POST receiver (RFC 8460 §5.4), used by `serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Certificate chain and private key; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Largest request body accepted as sent (before decompression).
    pub max_body_bytes: u64,
    pub rate_limit: RateLimit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Token bucket per source address: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_minute: 60,
            burst: 20,
        }
    }
}

/// A policy domain reports are accepted for, and its secret submission URL token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    pub name: String,
    /// `POST /v1/tlsrpt/{token}` accepts only reports for this domain.
    pub token: Option<String>,
}

/// What to do with a report none of whose policy domains is configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownDomains {
    /// Refuse it: HTTPS reports are unauthenticated, so anyone could fill the database with
    /// reports about other people's domains (RFC 8460 §7).
    #[default]
    Reject,
    /// Store it anyway (a hub collecting for domains it does not list).
    Accept,
}

/// The config file's shape; see `config/tlsrpt-hub.example.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileConfig {
    database: Option<String>,
    #[serde(default)]
    limits: FileLimits,
    unknown_domains: Option<UnknownDomains>,
    #[serde(default)]
    http: FileHttp,
    #[serde(default)]
    domains: Vec<DomainConfig>,
    #[serde(default)]
    imap: Vec<FileImap>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileLimits {
    max_decompressed_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileHttp {
    listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    max_body_bytes: Option<u64>,
    rate_limit: Option<RateLimit>,
}

impl Config {
    /// Merges the config file (if any) with flags and environment (which win).
    pub fn resolve(args: &Args) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let max_decompressed = args
            .max_decompressed
            .or(file.limits.max_decompressed_bytes)
            .unwrap_or(Limits::default().max_decompressed);
        let http = resolve_http(args, file.http)?;
        let explicit_database = args.db.clone().or(file.database);
        let config = Config {
            database: explicit_database
                .clone()
                .unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            limits: Limits { max_decompressed },
            http,
            domains: normalise_domains(file.domains)?,
            unknown_domains: file.unknown_domains.unwrap_or_default(),
            imap: file
                .imap
                .into_iter()
                .enumerate()
                .map(|(index, account)| {
                    account
                        .resolve()
                        .with_context(|| format!("[[imap]] number {}", index + 1))
                })
                .collect::<anyhow::Result<_>>()?,
        };
        Ok(match &args.command {
            Command::Serve(serve) if serve.demo => config.for_demo(explicit_database),
            _ => config,
        })
    }
}

impl Config {
    /// `serve --demo`: its own database (never the real default one) and every domain
    /// accepted, so reports posted while trying it out are stored.
    fn for_demo(self, explicit_database: Option<String>) -> Config {
        Config {
            database: explicit_database.unwrap_or_else(|| crate::demo::DEMO_DATABASE.to_owned()),
            unknown_domains: UnknownDomains::Accept,
            // The demo must not move messages out of a real mailbox into its own database.
            imap: Vec::new(),
            ..self
        }
    }
}

fn resolve_http(args: &Args, file: FileHttp) -> anyhow::Result<HttpConfig> {
    let flags = match &args.command {
        Command::Serve(serve) => Some(serve),
        _ => None,
    };
    let listen = flags
        .and_then(|f| f.http_listen)
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_HTTP_LISTEN.parse().expect("valid default address"));
    let cert = flags.and_then(|f| f.tls_cert.clone()).or(file.tls_cert);
    let key = flags.and_then(|f| f.tls_key.clone()).or(file.tls_key);
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => bail!("TLS needs both a certificate (tls_cert) and a private key (tls_key)"),
    };
    let rate_limit = file.rate_limit.unwrap_or_default();
    if rate_limit.per_minute == 0 || rate_limit.burst == 0 {
        bail!("http.rate_limit: per_minute and burst must be at least 1");
    }
    Ok(HttpConfig {
        listen,
        tls,
        max_body_bytes: file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        rate_limit,
    })
}

/// Lower-cases names (the parser stores policy domains lower-cased) and refuses duplicate
/// names or tokens, which would make a token's domain ambiguous.
fn normalise_domains(domains: Vec<DomainConfig>) -> anyhow::Result<Vec<DomainConfig>> {
    let mut seen_names = std::collections::HashSet::new();
    let mut seen_tokens = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(domains.len());
    for domain in domains {
        let name = domain
            .name
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if name.is_empty() || !seen_names.insert(name.clone()) {
            bail!(
                "[[domains]]: name {:?} is empty or listed twice",
                domain.name
            );
        }
        if let Some(token) = &domain.token
            && (token.is_empty() || !seen_tokens.insert(token.clone()))
        {
            bail!("[[domains]] {name}: token is empty or used by another domain");
        }
        out.push(DomainConfig {
            name,
            token: domain.token,
        });
    }
    Ok(out)
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_valid_and_states_the_defaults() {
        let example = include_str!("../../../config/tlsrpt-hub.example.toml");
        let file: FileConfig = toml::from_str(example).expect("example config parses");
        assert_eq!(file.database.as_deref(), Some(DEFAULT_DATABASE));
        assert_eq!(
            file.limits.max_decompressed_bytes,
            Some(Limits::default().max_decompressed)
        );
        assert_eq!(file.unknown_domains, Some(UnknownDomains::default()));
        assert_eq!(file.http.listen, Some(DEFAULT_HTTP_LISTEN.parse().unwrap()));
        assert_eq!(file.http.max_body_bytes, Some(DEFAULT_MAX_BODY_BYTES));
        assert_eq!(file.http.rate_limit, Some(RateLimit::default()));
        assert!(normalise_domains(file.domains).is_ok());
    }

    #[test]
    fn unknown_keys_are_errors_not_silently_ignored() {
        assert!(toml::from_str::<FileConfig>("databse = \"x.db\"").is_err());
        assert!(toml::from_str::<FileConfig>("[http]\nlisten_on = \"x\"").is_err());
    }

    #[test]
    fn domain_names_are_lower_cased_and_tokens_unique() {
        let domains = |names: &[(&str, Option<&str>)]| {
            normalise_domains(
                names
                    .iter()
                    .map(|(name, token)| DomainConfig {
                        name: (*name).to_owned(),
                        token: token.map(str::to_owned),
                    })
                    .collect(),
            )
        };
        let ok = domains(&[("Example.COM.", Some("a")), ("example.net", None)]).unwrap();
        assert_eq!(ok[0].name, "example.com");
        assert!(domains(&[("a.example", Some("t")), ("b.example", Some("t"))]).is_err());
        assert!(domains(&[("a.example", None), ("A.example", None)]).is_err());
    }
}
