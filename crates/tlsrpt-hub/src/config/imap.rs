//! `[[imap]]`: mailboxes at a provider that receive the `mailto:` rua reports (RFC 8460
//! §5.3), polled by `serve` and `imap-poll`.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// A mailed report is a few KiB; a message far bigger is no report and is not fetched.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_POLL_INTERVAL_SECS: u64 = 300;
pub const DEFAULT_ARCHIVE_FOLDER: &str = "tlsrpt-archive";
pub const DEFAULT_ERROR_FOLDER: &str = "tlsrpt-error";

/// One mailbox to poll, ready to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    /// Trust only these CA certificates (PEM) instead of the system's.
    pub ca_file: Option<PathBuf>,
    pub username: String,
    pub password: Secret,
    /// Where reports arrive.
    pub folder: String,
    /// Where stored (and already stored) messages go.
    pub archive_folder: String,
    /// Where messages that hold no readable report, or a refused one, go.
    pub error_folder: String,
    pub poll_interval: Duration,
    /// Wait with IMAP IDLE (RFC 2177) between polls when the server offers it.
    pub idle: bool,
    pub max_message_bytes: u64,
}

impl ImapConfig {
    /// How the account appears in logs: never with the password.
    pub fn label(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.username, self.host, self.port, self.folder
        )
    }
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImapSecurity {
    /// TLS from the first byte (port 993, RFC 8314's recommendation).
    #[default]
    Implicit,
    /// Plain connection upgraded with STARTTLS (port 143); refused if the server will not.
    Starttls,
    /// No TLS at all: only allowed to a loopback address (a local Dovecot, tests), because
    /// the password would otherwise cross the network in clear.
    None,
}

/// A password that never shows in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret given as `KEY` itself, `KEY_env` (an environment variable's name) or
    /// `KEY_file` (a file holding it on one line); `None` when none of them is set. Errors
    /// name the key, never the secret.
    pub(super) fn from_sources(
        key: &str,
        value: Option<String>,
        env: Option<String>,
        file: Option<PathBuf>,
    ) -> anyhow::Result<Option<Secret>> {
        let secret = match (value, env, file) {
            (None, None, None) => return Ok(None),
            (Some(value), None, None) => value,
            (None, Some(var), None) => std::env::var(&var)
                .with_context(|| format!("{key}_env: environment variable {var} is not set"))?,
            (None, None, Some(path)) => std::fs::read_to_string(&path)
                .with_context(|| format!("{key}_file: cannot read {}", path.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            _ => bail!("give only one of {key}, {key}_env and {key}_file"),
        };
        Ok(Some(Secret(secret)))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) struct FileImap {
    host: String,
    port: Option<u16>,
    #[serde(default)]
    tls: ImapSecurity,
    ca_file: Option<PathBuf>,
    username: String,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    folder: Option<String>,
    archive_folder: Option<String>,
    error_folder: Option<String>,
    poll_interval_secs: Option<u64>,
    idle: Option<bool>,
    max_message_bytes: Option<u64>,
}

impl FileImap {
    pub(super) fn resolve(self) -> anyhow::Result<ImapConfig> {
        let password = Secret::from_sources(
            "password",
            self.password,
            self.password_env,
            self.password_file,
        )?
        .context("give one of password, password_env and password_file")?;
        if self.tls == ImapSecurity::None && !is_loopback(&self.host) {
            bail!(
                "tls = \"none\" is only allowed to a loopback host, not {:?}: the password \
                 would travel in clear; use \"implicit\" (port 993) or \"starttls\"",
                self.host
            );
        }
        let folder = folder_name("folder", self.folder, "INBOX")?;
        let archive_folder = folder_name(
            "archive_folder",
            self.archive_folder,
            DEFAULT_ARCHIVE_FOLDER,
        )?;
        let error_folder = folder_name("error_folder", self.error_folder, DEFAULT_ERROR_FOLDER)?;
        if folder == archive_folder || folder == error_folder {
            bail!("archive_folder and error_folder must differ from folder {folder:?}");
        }
        let poll_interval_secs = self
            .poll_interval_secs
            .unwrap_or(DEFAULT_POLL_INTERVAL_SECS);
        if poll_interval_secs == 0 {
            bail!("poll_interval_secs must be at least 1");
        }
        Ok(ImapConfig {
            port: self.port.unwrap_or(match self.tls {
                ImapSecurity::Implicit => 993,
                ImapSecurity::Starttls | ImapSecurity::None => 143,
            }),
            host: self.host,
            security: self.tls,
            ca_file: self.ca_file,
            username: self.username,
            password,
            folder,
            archive_folder,
            error_folder,
            poll_interval: Duration::from_secs(poll_interval_secs),
            idle: self.idle.unwrap_or(true),
            max_message_bytes: self.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES),
        })
    }
}

pub(super) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Folder names are sent as IMAP quoted strings; non-ASCII names would need modified UTF-7
/// (RFC 3501 §5.1.3), so they are refused rather than mangled.
fn folder_name(key: &str, name: Option<String>, default: &str) -> anyhow::Result<String> {
    let name = name.unwrap_or_else(|| default.to_owned());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        bail!("{key} {name:?}: use a non-empty ASCII folder name");
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(extra: &str) -> anyhow::Result<ImapConfig> {
        let file: FileImap =
            toml::from_str(&format!("host = \"127.0.0.1\"\nusername = \"u\"\n{extra}")).unwrap();
        file.resolve()
    }

    #[test]
    fn exactly_one_password_source() {
        assert!(account("").is_err());
        assert!(account("password = \"a\"\npassword_env = \"B\"").is_err());
        let resolved = account("password = \"hunter2\"").unwrap();
        assert_eq!(resolved.password.expose(), "hunter2");
        assert!(!format!("{resolved:?}").contains("hunter2"));
        assert!(
            account("password_env = \"TLSRPT_HUB_TEST_SURELY_UNSET\"")
                .unwrap_err()
                .to_string()
                .contains("TLSRPT_HUB_TEST_SURELY_UNSET")
        );
    }

    #[test]
    fn plain_imap_only_to_loopback() {
        assert!(account("password = \"p\"\ntls = \"none\"").is_ok());
        let remote: FileImap = toml::from_str(
            "host = \"imap.example.com\"\nusername = \"u\"\npassword = \"p\"\ntls = \"none\"",
        )
        .unwrap();
        assert!(remote.resolve().is_err());
    }

    /// The commented `[[imap]]` example, uncommented (with its `password_env` choice),
    /// parses and states the defaults.
    #[test]
    fn the_example_block_is_valid_and_states_the_defaults() {
        let example = include_str!("../../../../config/tlsrpt-hub.example.toml");
        let block = &example[example.find("# [[imap]]").expect("[[imap]] example")..];
        let toml: String = block
            .lines()
            .take_while(|line| !line.is_empty())
            .filter_map(|line| line.strip_prefix("# "))
            .filter(|line| {
                line.split_once(" = ").is_some_and(|(key, _)| {
                    key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        && key != "password"
                        && key != "password_file"
                })
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let file: FileImap = toml::from_str(&toml).unwrap();
        assert_eq!(
            file.password_env.as_deref(),
            Some("TLSRPT_HUB_IMAP_PASSWORD")
        );
        assert_eq!(file.port, Some(993));
        assert_eq!(file.tls, ImapSecurity::default());
        assert_eq!(file.folder.as_deref(), Some("INBOX"));
        assert_eq!(file.archive_folder.as_deref(), Some(DEFAULT_ARCHIVE_FOLDER));
        assert_eq!(file.error_folder.as_deref(), Some(DEFAULT_ERROR_FOLDER));
        assert_eq!(file.poll_interval_secs, Some(DEFAULT_POLL_INTERVAL_SECS));
        assert_eq!(file.idle, Some(true));
        assert_eq!(file.max_message_bytes, Some(DEFAULT_MAX_MESSAGE_BYTES));
    }

    #[test]
    fn defaults_and_folder_checks() {
        let resolved = account("password = \"p\"").unwrap();
        assert_eq!(resolved.port, 993);
        assert_eq!(resolved.folder, "INBOX");
        assert!(resolved.idle);
        assert!(account("password = \"p\"\narchive_folder = \"INBOX\"").is_err());
        assert!(account("password = \"p\"\nerror_folder = \"Rapports/é\"").is_err());
        assert!(account("password = \"p\"\npoll_interval_secs = 0").is_err());
    }
}
