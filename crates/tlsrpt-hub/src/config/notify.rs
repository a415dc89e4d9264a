//! `[[channels]]`, `[[routes]]`, `[[digests]]` and `[notify]`: where alert notices and
//! digests are delivered, and how hard delivery tries (issue 6).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use tlsrpt_analyze::{NoticeKind, Severity};

use super::imap::{Secret, is_loopback};

pub const DEFAULT_QUEUE_CAPACITY: usize = 1000;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
pub const DEFAULT_INITIAL_BACKOFF_MS: u64 = 5_000;
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 600_000;
/// An alert older than a day is stale news; the digest carries it anyway.
pub const DEFAULT_GIVE_UP_AFTER_SECS: u64 = 86_400;
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// Every channel, route and digest recipient, checked against each other.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    pub channels: Vec<Channel>,
    pub routes: Vec<Route>,
    pub digests: Vec<DigestRecipient>,
    pub delivery: Delivery,
}

/// One place notices go.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Unique; routes, digests, logs and metrics name the channel by it.
    pub name: String,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub enum Target {
    Email(EmailTarget),
    Webhook(WebhookTarget),
    /// An incoming webhook of a chat service: the URL is the credential.
    Chat {
        service: ChatService,
        url: String,
    },
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Email(_) => "email",
            Target::Webhook(_) => "webhook",
            Target::Chat { service, .. } => service.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatService {
    Slack,
    /// Mattermost accepts Slack's payload (`text` and `attachments`).
    Mattermost,
    Teams,
}

impl ChatService {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatService::Slack => "slack",
            ChatService::Mattermost => "mattermost",
            ChatService::Teams => "teams",
        }
    }
}

#[derive(Debug, Clone)]
pub struct EmailTarget {
    pub host: String,
    pub port: u16,
    pub security: EmailSecurity,
    /// Trust only these CA certificates (PEM) instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// SMTP AUTH, when the relay wants it.
    pub credentials: Option<(String, Secret)>,
    pub from: String,
    pub to: Vec<String>,
    /// Our name in EHLO: the host's primary name (RFC 5321 §4.1.4); relays may refuse
    /// `localhost`.
    pub helo_name: String,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server will not.
    Starttls,
    /// TLS from the first byte (port 465, RFC 8314).
    Tls,
    /// No TLS: only to a loopback host (a local MTA), since credentials and alert details
    /// would otherwise cross the network in clear.
    None,
}

#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    /// Key of the HMAC-SHA256 signature header; unsigned without one.
    pub secret: Option<Secret>,
}

/// Which notices go to which channels.
#[derive(Debug, Clone)]
pub struct Route {
    pub domains: Vec<DomainPattern>,
    /// This severity or more urgent.
    pub min_severity: Severity,
    pub kinds: Vec<NoticeKind>,
    pub channels: Vec<String>,
}

impl Route {
    pub fn matches(&self, domain: &str, severity: Severity, kind: NoticeKind) -> bool {
        severity <= self.min_severity
            && self.kinds.contains(&kind)
            && self.domains.iter().any(|pattern| pattern.matches(domain))
    }
}

/// A policy domain name, `*.example.com` (its subdomains, not itself), or `*` (every domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainPattern {
    Any,
    Exact(String),
    SubdomainsOf(String),
}

impl DomainPattern {
    fn parse(pattern: &str) -> anyhow::Result<DomainPattern> {
        let pattern = pattern.trim().to_ascii_lowercase();
        if pattern == "*" {
            return Ok(DomainPattern::Any);
        }
        let pattern = pattern.strip_suffix('.').unwrap_or(&pattern);
        let valid = |name: &str| {
            !name.is_empty()
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                })
        };
        match pattern.strip_prefix("*.") {
            Some(parent) if valid(parent) => Ok(DomainPattern::SubdomainsOf(parent.to_owned())),
            None if valid(pattern) => Ok(DomainPattern::Exact(pattern.to_owned())),
            _ => bail!("{pattern:?} is not a domain name, \"*.domain\" or \"*\""),
        }
    }

    pub fn matches(&self, domain: &str) -> bool {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        match self {
            DomainPattern::Any => true,
            DomainPattern::Exact(name) => domain == *name,
            DomainPattern::SubdomainsOf(parent) => domain
                .strip_suffix(parent.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }
}

/// Who gets a digest, and how often.
#[derive(Debug, Clone)]
pub struct DigestRecipient {
    pub channel: String,
    pub schedule: DigestSchedule,
    pub domains: Vec<DomainPattern>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestSchedule {
    Daily,
    Weekly,
}

/// How delivery retries, and how much it queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Notices waiting per channel; when full the oldest is dropped so senders never wait.
    pub queue_capacity: usize,
    pub max_attempts: u32,
    /// Wait after the first failed attempt, doubled after each further one up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// No new attempt starts once a notice has waited this long.
    pub give_up_after: Duration,
    /// One attempt's limit (connect, TLS, send).
    pub timeout: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: Duration::from_millis(DEFAULT_INITIAL_BACKOFF_MS),
            max_backoff: Duration::from_millis(DEFAULT_MAX_BACKOFF_MS),
            give_up_after: Duration::from_secs(DEFAULT_GIVE_UP_AFTER_SECS),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(crate) struct FileChannel {
    name: String,
    kind: FileChannelKind,
    // email
    host: Option<String>,
    port: Option<u16>,
    security: Option<EmailSecurity>,
    ca_file: Option<PathBuf>,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    to: Option<Vec<String>>,
    helo_name: Option<String>,
    // webhook, slack, mattermost, teams
    url: Option<String>,
    secret: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FileChannelKind {
    Email,
    Webhook,
    Slack,
    Mattermost,
    Teams,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) struct FileRoute {
    #[serde(default = "every_domain")]
    domains: Vec<String>,
    min_severity: Option<Severity>,
    kinds: Option<Vec<NoticeKind>>,
    channels: Vec<String>,
}

fn every_domain() -> Vec<String> {
    vec!["*".to_owned()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) struct FileDigest {
    channel: String,
    schedule: DigestSchedule,
    #[serde(default = "every_domain")]
    domains: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) struct FileDelivery {
    queue_capacity: Option<usize>,
    max_attempts: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    give_up_after_secs: Option<u64>,
    timeout_secs: Option<u64>,
}

/// Resolves the four notification sections together: routes and digests must name channels.
pub(super) fn resolve(
    channels: Vec<FileChannel>,
    routes: Vec<FileRoute>,
    digests: Vec<FileDigest>,
    delivery: FileDelivery,
) -> anyhow::Result<NotifyConfig> {
    let channels = channels
        .into_iter()
        .enumerate()
        .map(|(index, channel)| {
            let name = channel.name.clone();
            channel
                .resolve()
                .with_context(|| format!("[[channels]] number {} ({name:?})", index + 1))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut names = BTreeSet::new();
    for channel in &channels {
        if !names.insert(channel.name.as_str()) {
            bail!("[[channels]]: two channels are named {:?}", channel.name);
        }
    }
    let known = |section: &str, index: usize, name: &str| -> anyhow::Result<()> {
        if names.contains(name) {
            Ok(())
        } else {
            bail!(
                "[[{section}]] number {}: channels: no [[channels]] is named {name:?} (configured: {})",
                index + 1,
                names.iter().copied().collect::<Vec<_>>().join(", ")
            )
        }
    };
    let routes = routes
        .into_iter()
        .enumerate()
        .map(|(index, route)| {
            if route.channels.is_empty() {
                bail!(
                    "[[routes]] number {}: channels: name at least one",
                    index + 1
                );
            }
            for channel in &route.channels {
                known("routes", index, channel)?;
            }
            Ok(Route {
                domains: patterns(&route.domains)
                    .with_context(|| format!("[[routes]] number {}: domains", index + 1))?,
                min_severity: route.min_severity.unwrap_or(Severity::Low),
                kinds: route
                    .kinds
                    .unwrap_or_else(|| vec![NoticeKind::Opened, NoticeKind::Resolved]),
                channels: route.channels,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let digests = digests
        .into_iter()
        .enumerate()
        .map(|(index, digest)| {
            known("digests", index, &digest.channel)?;
            Ok(DigestRecipient {
                domains: patterns(&digest.domains)
                    .with_context(|| format!("[[digests]] number {}: domains", index + 1))?,
                channel: digest.channel,
                schedule: digest.schedule,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(NotifyConfig {
        channels,
        routes,
        digests,
        delivery: resolve_delivery(delivery)?,
    })
}

fn patterns(domains: &[String]) -> anyhow::Result<Vec<DomainPattern>> {
    if domains.is_empty() {
        bail!("name at least one domain (or \"*\")");
    }
    domains.iter().map(|d| DomainPattern::parse(d)).collect()
}

fn resolve_delivery(file: FileDelivery) -> anyhow::Result<Delivery> {
    let defaults = Delivery::default();
    let delivery = Delivery {
        queue_capacity: file.queue_capacity.unwrap_or(defaults.queue_capacity),
        max_attempts: file.max_attempts.unwrap_or(defaults.max_attempts),
        initial_backoff: file
            .initial_backoff_ms
            .map_or(defaults.initial_backoff, Duration::from_millis),
        max_backoff: file
            .max_backoff_ms
            .map_or(defaults.max_backoff, Duration::from_millis),
        give_up_after: file
            .give_up_after_secs
            .map_or(defaults.give_up_after, Duration::from_secs),
        timeout: file
            .timeout_secs
            .map_or(defaults.timeout, Duration::from_secs),
    };
    if delivery.queue_capacity == 0 {
        bail!("[notify] queue_capacity must be at least 1");
    }
    if delivery.max_attempts == 0 {
        bail!("[notify] max_attempts must be at least 1");
    }
    if delivery.max_backoff < delivery.initial_backoff {
        bail!("[notify] max_backoff_ms must be at least initial_backoff_ms");
    }
    if delivery.timeout.is_zero() {
        bail!("[notify] timeout_secs must be at least 1");
    }
    Ok(delivery)
}

impl FileChannel {
    pub(crate) fn resolve(self) -> anyhow::Result<Channel> {
        if self.name.trim().is_empty() || self.name.chars().any(char::is_control) {
            bail!("name: give the channel a printable, non-empty name");
        }
        let email_keys = [
            ("host", self.host.is_some()),
            ("port", self.port.is_some()),
            ("security", self.security.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("username", self.username.is_some()),
            ("password", self.password.is_some()),
            ("password_env", self.password_env.is_some()),
            ("password_file", self.password_file.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("helo_name", self.helo_name.is_some()),
        ];
        let webhook_keys = [
            ("url", self.url.is_some()),
            ("secret", self.secret.is_some()),
            ("secret_env", self.secret_env.is_some()),
            ("secret_file", self.secret_file.is_some()),
        ];
        let (allowed, foreign): (&[&str], Vec<&str>) = match self.kind {
            FileChannelKind::Email => (&[], set_keys(&webhook_keys)),
            FileChannelKind::Webhook => (&[], set_keys(&email_keys)),
            _ => (
                &["url"],
                set_keys(&email_keys)
                    .into_iter()
                    .chain(set_keys(&webhook_keys))
                    .collect(),
            ),
        };
        if let Some(key) = foreign.iter().find(|key| !allowed.contains(key)) {
            bail!("{key}: not a setting of kind {:?}", self.kind_str());
        }
        let name = self.name.clone();
        let target = match self.kind {
            FileChannelKind::Email => Target::Email(self.email()?),
            FileChannelKind::Webhook => Target::Webhook(WebhookTarget {
                url: http_url(self.url.as_deref())?,
                secret: Secret::from_sources(
                    "secret",
                    self.secret,
                    self.secret_env,
                    self.secret_file,
                )?,
            }),
            kind => Target::Chat {
                service: match kind {
                    FileChannelKind::Slack => ChatService::Slack,
                    FileChannelKind::Mattermost => ChatService::Mattermost,
                    _ => ChatService::Teams,
                },
                url: http_url(self.url.as_deref())?,
            },
        };
        Ok(Channel { name, target })
    }

    fn kind_str(&self) -> &'static str {
        match self.kind {
            FileChannelKind::Email => "email",
            FileChannelKind::Webhook => "webhook",
            FileChannelKind::Slack => "slack",
            FileChannelKind::Mattermost => "mattermost",
            FileChannelKind::Teams => "teams",
        }
    }

    fn email(self) -> anyhow::Result<EmailTarget> {
        let host = self.host.context("host: the SMTP server to send through")?;
        let security = self.security.unwrap_or(EmailSecurity::Starttls);
        if security == EmailSecurity::None && !is_loopback(&host) {
            bail!(
                "security = \"none\" is only allowed to a loopback host, not {host:?}: mail \
                 and password would travel in clear; use \"starttls\" (port 587) or \"tls\" (465)"
            );
        }
        let password = Secret::from_sources(
            "password",
            self.password,
            self.password_env,
            self.password_file,
        )?;
        let credentials = match (self.username, password) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            _ => bail!("username and password (or password_env, password_file) go together"),
        };
        let from = self.from.context("from: the sender address of alerts")?;
        mailbox("from", &from)?;
        let to = self.to.unwrap_or_default();
        if to.is_empty() {
            bail!("to: list at least one recipient address");
        }
        for address in &to {
            mailbox("to", address)?;
        }
        Ok(EmailTarget {
            port: self.port.unwrap_or(match security {
                EmailSecurity::Starttls => 587,
                EmailSecurity::Tls => 465,
                EmailSecurity::None => 25,
            }),
            host,
            security,
            ca_file: self.ca_file,
            credentials,
            from,
            to,
            helo_name: self.helo_name.unwrap_or_else(super::system_hostname),
        })
    }
}

fn set_keys<'a>(keys: &[(&'a str, bool)]) -> Vec<&'a str> {
    keys.iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| *key)
        .collect()
}

/// `Name <user@host>` or `user@host`, as lettre parses them at send time.
fn mailbox(key: &str, address: &str) -> anyhow::Result<()> {
    address
        .parse::<lettre::message::Mailbox>()
        .map(drop)
        .map_err(|error| anyhow::anyhow!("{key}: {address:?} is not an e-mail address: {error}"))
}

/// HTTPS, or plain HTTP to a loopback host only (alert details are not for the network).
fn http_url(url: Option<&str>) -> anyhow::Result<String> {
    let url = url.context("url: the webhook URL to POST to")?;
    let parsed = reqwest::Url::parse(url).with_context(|| format!("url: {url:?} is not a URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(url.to_owned()),
        "http" if is_loopback(host) => Ok(url.to_owned()),
        "http" => bail!("url: plain http is only allowed to a loopback host; use https"),
        _ => bail!("url: {url:?} is not an https:// URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sections {
        #[serde(default)]
        channels: Vec<FileChannel>,
        #[serde(default)]
        routes: Vec<FileRoute>,
        #[serde(default)]
        digests: Vec<FileDigest>,
        #[serde(default)]
        notify: FileDelivery,
    }

    fn load(toml_text: &str) -> anyhow::Result<NotifyConfig> {
        let file: Sections = toml::from_str(toml_text)?;
        resolve(file.channels, file.routes, file.digests, file.notify)
    }

    const MAIL: &str = "[[channels]]\nname = \"mail\"\nkind = \"email\"\nhost = \"smtp.example.com\"\n\
                        from = \"hub@example.com\"\nto = [\"admin@example.com\"]\n";

    #[test]
    fn an_email_channel_gets_starttls_on_587_by_default() {
        let config = load(MAIL).unwrap();
        let Target::Email(email) = &config.channels[0].target else {
            panic!("email");
        };
        assert_eq!((email.security, email.port), (EmailSecurity::Starttls, 587));
        assert!(email.credentials.is_none());
        assert_eq!(email.helo_name, super::super::system_hostname());
        assert_eq!(config.delivery, Delivery::default());
    }

    #[test]
    fn errors_name_the_channel_and_the_key() {
        let error = |text: &str| format!("{:#}", load(text).unwrap_err());
        let plain = error(&format!("{MAIL}security = \"none\""));
        assert!(
            plain.contains("\"mail\"") && plain.contains("loopback"),
            "{plain}"
        );
        assert!(
            load(&format!(
                "{}security = \"none\"",
                MAIL.replace("smtp.example.com", "127.0.0.1")
            ))
            .is_ok()
        );
        assert!(error(&format!("{MAIL}url = \"https://x\"")).contains("url: not a setting"));
        assert!(error(&MAIL.replace("hub@example.com", "hub")).contains("from:"));
        assert!(error(&format!("{MAIL}username = \"u\"")).contains("go together"));
        let hook = "[[channels]]\nname = \"h\"\nkind = \"webhook\"\n";
        assert!(error(hook).contains("url:"));
        assert!(
            error(&format!("{hook}url = \"http://hooks.example.com/x\"")).contains("plain http")
        );
        assert!(
            error(&format!(
                "{hook}url = \"https://h.example/x\"\nsecret = \"a\"\nsecret_env = \"B\""
            ))
            .contains("only one of secret")
        );
        let chat =
            "[[channels]]\nname = \"c\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/x\"\n";
        assert!(load(chat).is_ok());
        assert!(error(&format!("{chat}secret = \"s\"")).contains("secret: not a setting"));
        assert!(error(&format!("{MAIL}{MAIL}")).contains("two channels are named \"mail\""));
    }

    #[test]
    fn routes_and_digests_name_configured_channels() {
        let error = format!(
            "{:#}",
            load(&format!("{MAIL}[[routes]]\nchannels = [\"pager\"]")).unwrap_err()
        );
        assert!(
            error.contains("[[routes]] number 1") && error.contains("\"pager\""),
            "{error}"
        );
        let error = format!(
            "{:#}",
            load(&format!(
                "{MAIL}[[digests]]\nchannel = \"mail\"\nschedule = \"weekly\"\ndomains = [\"*.\"]"
            ))
            .unwrap_err()
        );
        assert!(error.contains("[[digests]] number 1: domains"), "{error}");
        let config = load(&format!(
            "{MAIL}[[routes]]\nchannels = [\"mail\"]\nmin_severity = \"high\"\n\
             [[digests]]\nchannel = \"mail\"\nschedule = \"daily\""
        ))
        .unwrap();
        let route = &config.routes[0];
        assert_eq!(route.domains, [DomainPattern::Any]);
        assert_eq!(route.kinds, [NoticeKind::Opened, NoticeKind::Resolved]);
        assert_eq!(config.digests[0].schedule, DigestSchedule::Daily);
    }

    #[test]
    fn routes_match_domain_patterns_severity_and_kind() {
        let route = Route {
            domains: patterns(&["Example.com".into(), "*.example.net".into()]).unwrap(),
            min_severity: Severity::High,
            kinds: vec![NoticeKind::Opened],
            channels: vec!["mail".into()],
        };
        assert!(route.matches("example.com", Severity::Critical, NoticeKind::Opened));
        assert!(route.matches("EXAMPLE.COM.", Severity::High, NoticeKind::Opened));
        assert!(!route.matches("example.com", Severity::Medium, NoticeKind::Opened));
        assert!(!route.matches("example.com", Severity::High, NoticeKind::Resolved));
        assert!(route.matches("mx.example.net", Severity::High, NoticeKind::Opened));
        assert!(!route.matches("example.net", Severity::High, NoticeKind::Opened));
        assert!(!route.matches("badexample.net", Severity::High, NoticeKind::Opened));
        assert!(!route.matches("sub.example.com", Severity::High, NoticeKind::Opened));
    }

    #[test]
    fn the_example_states_the_defaults_and_its_channels_are_valid() {
        let example = include_str!("../../../../config/tlsrpt-hub.example.toml");
        let (_, notify) = example
            .split_once("# Alert notifications")
            .expect("example documents notifications");
        // The alert rules' own sections follow (config/alerts.rs tests those).
        let notify = notify
            .split_once("\n# Alerts (")
            .map_or(notify, |(notify, _)| notify);
        let sections = notify
            .lines()
            .filter_map(|line| {
                let line = line.strip_prefix("# ").unwrap_or(line);
                let is_setting = line.split_once(" = ").is_some_and(|(key, _)| {
                    key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                });
                (line.starts_with('[') || is_setting).then_some(line)
            })
            // Of each secret's alternatives, keep the first (the _file one).
            .fold(Vec::<&str>::new(), |mut kept, line| {
                let key = line.split(" = ").next().unwrap_or_default();
                let family = key.trim_end_matches("_env").trim_end_matches("_file");
                if family == key || !kept.iter().any(|k| k.starts_with(family)) {
                    kept.push(line);
                }
                kept
            })
            .into_iter()
            .filter(|line| !matches!(line.split(" = ").next(), Some("password" | "secret")))
            .collect::<Vec<_>>()
            .join("\n");
        let file: Sections = toml::from_str(&sections).expect("example sections parse");
        assert_eq!(file.channels.len(), 3);
        let resolved = resolve(file.channels, file.routes, file.digests, file.notify);
        let error = format!("{:#}", resolved.unwrap_err());
        assert!(
            error.contains("password_file: cannot read /etc/tlsrpt-hub/smtp-password"),
            "{error}"
        );
        let file: FileDelivery = toml::from_str(notify.split_once("[notify]").unwrap().1).unwrap();
        assert_eq!(resolve_delivery(file).unwrap(), Delivery::default());
    }

    #[test]
    fn delivery_settings_are_checked() {
        assert!(load("[notify]\nmax_attempts = 0").is_err());
        assert!(load("[notify]\ninitial_backoff_ms = 10\nmax_backoff_ms = 5").is_err());
        let config = load("[notify]\nqueue_capacity = 3\ninitial_backoff_ms = 10").unwrap();
        assert_eq!(config.delivery.queue_capacity, 3);
        assert_eq!(config.delivery.initial_backoff, Duration::from_millis(10));
    }
}
