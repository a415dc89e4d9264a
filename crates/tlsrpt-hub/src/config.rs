//! Configuration: TOML file, then environment, then flags — resolved once, before any command
//! runs, into a ready [`Config`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use tlsrpt_core::extract::Limits;
use tlsrpt_core::policy::sts::StsMode;
use tlsrpt_core::record::generate::mta_sts_policy;

use crate::auth::dkim::DkimPolicy;
use crate::cli::{Args, Command};

mod alerts;
mod imap;
pub mod notify;

pub use alerts::AlertsConfig;
use alerts::FileAlerts;
use imap::FileImap;
pub use imap::{ImapConfig, ImapSecurity};
pub use notify::NotifyConfig;

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
    /// DKIM on mailed reports (RFC 8460 §3).
    pub dkim: DkimPolicy,
    /// DNS servers for DKIM key lookups; empty = the system's (`/etc/resolv.conf`).
    pub dkim_nameservers: Vec<SocketAddr>,
    /// The SMTP or LMTP receiver, when configured.
    pub smtp: Option<SmtpConfig>,
    pub checks: ChecksConfig,
    /// Days of reports to keep (`prune`, and daily in `serve`); `None` keeps everything.
    pub retention_days: Option<u32>,
    pub alerts: AlertsConfig,
    /// Alert channels, routes, digest recipients and delivery settings.
    pub notify: NotifyConfig,
}

impl Config {
    /// The database for messages and logs, without a password.
    pub fn redacted_database(&self) -> String {
        tlsrpt_store::redacted_url(&self.database)
    }
}

/// The SMTP (or LMTP) receiver for `mailto:` rua addresses (RFC 8460 §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub listen: SocketAddr,
    /// Speak LMTP (RFC 2033) instead of SMTP, behind an MTA that does the queueing.
    pub lmtp: bool,
    /// Our name in the greeting and the EHLO answer.
    pub hostname: String,
    /// The report addresses accepted as recipients, lower-cased.
    pub addresses: Vec<String>,
    pub max_message_bytes: u64,
    /// How long a client may take to send a command, and to send a whole message.
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    pub max_connections: usize,
    /// Bad commands after which a session is dropped.
    pub max_errors: u32,
    /// STARTTLS certificate; `None` offers no STARTTLS.
    pub tls: Option<TlsFiles>,
}

/// The checks `serve` runs for every configured domain (see `check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksConfig {
    pub enabled: bool,
    pub interval: std::time::Duration,
    /// DNS server for the checks; `None` uses the system's resolvers.
    pub resolver: Option<SocketAddr>,
}

/// Once a day: DNS and policy changes are rare, and senders cache policies for days.
pub const DEFAULT_CHECK_INTERVAL_SECONDS: u64 = 86_400;

/// The HTTPS POST receiver (RFC 8460 §5.4), used by `serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Certificate chain and private key; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Largest request body accepted as sent (before decompression).
    pub max_body_bytes: u64,
    pub rate_limit: RateLimit,
    /// MTA-STS policy files served at `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`,
    /// by host name (`mta-sts.DOMAIN`), built from `[[domains]]` `mta_sts`.
    pub mta_sts_policies: BTreeMap<String, String>,
    /// Dashboard and API access, served on the same listener.
    pub web: WebConfig,
}

/// Who may use the dashboard and API when they listen beyond loopback (`[web]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub admin_user: Option<String>,
    /// PHC string of an argon2 hash (`$argon2id$v=19$...`).
    pub admin_password_hash: Option<String>,
    /// Secrets accepted as `Authorization: Bearer <token>` on the API.
    #[serde(default)]
    pub api_tokens: Vec<String>,
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
    /// The MTA-STS policy `serve` hosts for this domain, if any.
    pub mta_sts: Option<MtaStsConfig>,
}

/// An MTA-STS policy to host (RFC 8461 §3.2); the file is generated and checked at start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtaStsConfig {
    #[serde(default)]
    pub mode: MtaStsMode,
    pub mx: Vec<String>,
    #[serde(default = "default_mta_sts_max_age")]
    pub max_age: u64,
}

/// RFC 8461 §5 modes; `testing` by default, so a new policy reports before it blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MtaStsMode {
    #[default]
    Testing,
    Enforce,
    None,
}

/// One week, within RFC 8461 §3.2's advice of weeks once a policy is stable.
pub const DEFAULT_MTA_STS_MAX_AGE: u64 = 604_800;

fn default_mta_sts_max_age() -> u64 {
    DEFAULT_MTA_STS_MAX_AGE
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
    /// Store it marked quarantined, so dashboards leave it out until someone looks. The
    /// sender is told it was stored (HTTP 201, SMTP 250): it did nothing wrong, and 202
    /// ("accepted, processing not finished") would be untrue for a committed report.
    Quarantine,
}

/// The config file's shape; see `config/tlsrpt-hub.example.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileConfig {
    database: Option<String>,
    #[serde(default)]
    limits: FileLimits,
    unknown_domains: Option<UnknownDomains>,
    retention_days: Option<u32>,
    #[serde(default)]
    http: FileHttp,
    #[serde(default)]
    domains: Vec<DomainConfig>,
    #[serde(default)]
    imap: Vec<FileImap>,
    dkim: Option<DkimPolicy>,
    #[serde(default)]
    dkim_nameservers: Vec<SocketAddr>,
    smtp: Option<FileSmtp>,
    #[serde(default)]
    checks: FileChecks,
    #[serde(default)]
    web: WebConfig,
    #[serde(default)]
    alerts: FileAlerts,
    #[serde(default)]
    channels: Vec<notify::FileChannel>,
    #[serde(default)]
    routes: Vec<notify::FileRoute>,
    #[serde(default)]
    digests: Vec<notify::FileDigest>,
    #[serde(default)]
    notify: notify::FileDelivery,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileChecks {
    enabled: Option<bool>,
    interval_seconds: Option<u64>,
    resolver: Option<SocketAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileSmtp {
    listen: Option<SocketAddr>,
    #[serde(default)]
    lmtp: bool,
    hostname: Option<String>,
    addresses: Vec<String>,
    max_message_bytes: Option<u64>,
    command_timeout_secs: Option<u64>,
    data_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_errors: Option<u32>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

/// Port 25 needs root; a local MTA relays to this one (or MX points at a forwarded 25).
pub const DEFAULT_SMTP_LISTEN: &str = "127.0.0.1:2525";
/// RFC 5321 §4.5.3.2.7: servers SHOULD wait at least 5 minutes for a command...
pub const DEFAULT_COMMAND_TIMEOUT_SECS: u64 = 300;
/// ...and at least 10 minutes for the end of the message data (§4.5.3.2.6).
pub const DEFAULT_DATA_TIMEOUT_SECS: u64 = 600;
pub const DEFAULT_MAX_CONNECTIONS: usize = 100;
pub const DEFAULT_MAX_ERRORS: u32 = 10;

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
        let domains = normalise_domains(file.domains)?;
        let mut http = resolve_http(args, file.http, resolve_web(file.web)?)?;
        http.mta_sts_policies = mta_sts_policies(&domains)?;
        let smtp = file
            .smtp
            .map(|smtp| resolve_smtp(smtp, http.tls.as_ref()))
            .transpose()?;
        let explicit_database = args.db.clone().or(file.database);
        let config = Config {
            database: explicit_database
                .clone()
                .unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            limits: Limits { max_decompressed },
            http,
            domains,
            unknown_domains: file.unknown_domains.unwrap_or_default(),
            retention_days: match file.retention_days {
                Some(0) => {
                    bail!("retention_days must be at least 1 (leave it out to keep everything)")
                }
                days => days,
            },
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
            dkim: file.dkim.unwrap_or_default(),
            dkim_nameservers: file.dkim_nameservers,
            smtp,
            checks: resolve_checks(file.checks)?,
            alerts: file.alerts.resolve()?,
            notify: notify::resolve(file.channels, file.routes, file.digests, file.notify)?,
        };
        Ok(match &args.command {
            Command::Serve(serve) if serve.demo => config.for_demo(explicit_database),
            _ => config,
        })
    }
}

fn resolve_web(web: WebConfig) -> anyhow::Result<WebConfig> {
    if web.admin_user.is_some() != web.admin_password_hash.is_some() {
        bail!("[web]: admin_user and admin_password_hash go together");
    }
    if let Some(hash) = &web.admin_password_hash {
        argon2::password_hash::phc::PasswordHash::new(hash)
            .map_err(|e| anyhow::anyhow!("[web] admin_password_hash is not a PHC hash: {e}"))?;
    }
    if web.api_tokens.iter().any(|t| t.trim().len() < 16) {
        bail!("[web] api_tokens: each token needs at least 16 characters");
    }
    Ok(web)
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

fn resolve_smtp(file: FileSmtp, http_tls: Option<&TlsFiles>) -> anyhow::Result<SmtpConfig> {
    let tls = match (file.tls_cert, file.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => http_tls.cloned(),
        _ => bail!("smtp: STARTTLS needs both tls_cert and tls_key"),
    };
    let mut addresses = Vec::with_capacity(file.addresses.len());
    for address in file.addresses {
        let address = address.trim().to_ascii_lowercase();
        match address.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                addresses.push(address)
            }
            _ => bail!("smtp.addresses: {address:?} is not an e-mail address"),
        }
    }
    if addresses.is_empty() {
        bail!("smtp.addresses: list the report addresses (the mailto: in your rua)");
    }
    let max_connections = file.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections == 0 {
        bail!("smtp.max_connections must be at least 1");
    }
    Ok(SmtpConfig {
        listen: file
            .listen
            .unwrap_or_else(|| DEFAULT_SMTP_LISTEN.parse().expect("valid default address")),
        lmtp: file.lmtp,
        hostname: file.hostname.unwrap_or_else(system_hostname),
        addresses,
        max_message_bytes: file.max_message_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        command_timeout: Duration::from_secs(
            file.command_timeout_secs
                .unwrap_or(DEFAULT_COMMAND_TIMEOUT_SECS),
        ),
        data_timeout: Duration::from_secs(
            file.data_timeout_secs.unwrap_or(DEFAULT_DATA_TIMEOUT_SECS),
        ),
        max_connections,
        max_errors: file.max_errors.unwrap_or(DEFAULT_MAX_ERRORS),
        tls,
    })
}

fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn resolve_http(args: &Args, file: FileHttp, web: WebConfig) -> anyhow::Result<HttpConfig> {
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
        mta_sts_policies: BTreeMap::new(),
        web,
    })
}

fn resolve_checks(file: FileChecks) -> anyhow::Result<ChecksConfig> {
    let seconds = file
        .interval_seconds
        .unwrap_or(DEFAULT_CHECK_INTERVAL_SECONDS);
    if seconds == 0 {
        bail!("checks.interval_seconds must be at least 1");
    }
    Ok(ChecksConfig {
        enabled: file.enabled.unwrap_or(true),
        interval: std::time::Duration::from_secs(seconds),
        resolver: file.resolver,
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
            mta_sts: domain.mta_sts,
        });
    }
    Ok(out)
}

/// The policy files to host, generated (and so checked) now: a bad `mx` or `max_age`
/// stops `serve` at start with the domain named, instead of serving a policy senders reject.
fn mta_sts_policies(domains: &[DomainConfig]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut policies = BTreeMap::new();
    for domain in domains {
        let Some(mta_sts) = &domain.mta_sts else {
            continue;
        };
        let mode = match mta_sts.mode {
            MtaStsMode::Testing => StsMode::Testing,
            MtaStsMode::Enforce => StsMode::Enforce,
            MtaStsMode::None => StsMode::None,
        };
        let policy = mta_sts_policy(&mode, &mta_sts.mx, mta_sts.max_age)
            .with_context(|| format!("[[domains]] {}: mta_sts", domain.name))?;
        policies.insert(format!("mta-sts.{}", domain.name), policy);
    }
    Ok(policies)
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
        assert_eq!(file.retention_days, None, "keeps everything by default");
        assert_eq!(file.http.listen, Some(DEFAULT_HTTP_LISTEN.parse().unwrap()));
        assert_eq!(file.http.max_body_bytes, Some(DEFAULT_MAX_BODY_BYTES));
        assert_eq!(file.http.rate_limit, Some(RateLimit::default()));
        assert!(normalise_domains(file.domains).is_ok());
        assert_eq!(file.dkim, Some(DkimPolicy::default()));
        assert_eq!(file.web, WebConfig::default());
        let checks = resolve_checks(file.checks).unwrap();
        assert!(checks.enabled);
        assert_eq!(checks.interval.as_secs(), DEFAULT_CHECK_INTERVAL_SECONDS);
    }

    #[test]
    fn mta_sts_policies_are_generated_and_checked_at_load() {
        let file: FileConfig = toml::from_str(
            "[[domains]]\nname = \"Example.com\"\nmta_sts = { mx = [\"mx1.example.com\"] }\n\
             [[domains]]\nname = \"example.net\"",
        )
        .unwrap();
        let policies = mta_sts_policies(&normalise_domains(file.domains).unwrap()).unwrap();
        assert_eq!(policies.len(), 1);
        let policy = &policies["mta-sts.example.com"];
        assert!(policy.contains("mode: testing\r\n"), "{policy}");
        assert!(policy.contains("max_age: 604800\r\n"), "{policy}");
        let bad: FileConfig = toml::from_str(
            "[[domains]]\nname = \"example.com\"\nmta_sts = { mode = \"enforce\", mx = [\"bad host\"] }",
        )
        .unwrap();
        let error = mta_sts_policies(&bad.domains).unwrap_err();
        assert!(
            format!("{error:#}").contains("example.com: mta_sts"),
            "{error:#}"
        );
    }

    #[test]
    fn the_example_smtp_section_is_valid_and_states_the_defaults() {
        let example = include_str!("../../../config/tlsrpt-hub.example.toml");
        let section = example
            .split_once("# [smtp]")
            .expect("example documents [smtp]")
            .1;
        // Its commented-out settings: `# key = value` lines up to the next section.
        let is_setting = |line: &&str| {
            line.split_once(" = ")
                .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        };
        let uncommented: String = std::iter::once("[smtp]")
            .chain(
                section
                    .lines()
                    .take_while(|l| !l.starts_with('['))
                    .filter_map(|l| l.strip_prefix("# "))
                    .filter(is_setting),
            )
            .collect::<Vec<_>>()
            .join("\n");
        let file: FileConfig = toml::from_str(&uncommented).expect("example [smtp] parses");
        let smtp = resolve_smtp(file.smtp.expect("[smtp]"), None).unwrap();
        assert_eq!(smtp.listen, DEFAULT_SMTP_LISTEN.parse().unwrap());
        assert_eq!(smtp.max_message_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(
            smtp.command_timeout,
            Duration::from_secs(DEFAULT_COMMAND_TIMEOUT_SECS)
        );
        assert_eq!(
            smtp.data_timeout,
            Duration::from_secs(DEFAULT_DATA_TIMEOUT_SECS)
        );
        assert_eq!(smtp.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(smtp.max_errors, DEFAULT_MAX_ERRORS);
        assert_eq!(smtp.addresses, ["tlsrpt@example.com"]);
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
                        mta_sts: None,
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
