//! `[alerts]`: when the alert rules fire (thresholds, per domain), how often they are
//! evaluated, and how often a person hears about an alert (issue 6). Where notices go is
//! `[[channels]]` / `[[routes]]` / `[[digests]]`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Weekday;
use serde::Deserialize;
use tlsrpt_analyze::Rule;
use tlsrpt_analyze::alerts::RuleSettings;

pub const DEFAULT_EVALUATE_INTERVAL_SECS: u64 = 3600;
/// Reports of one sender often come in a burst (several domains, a retried batch): wait
/// this long after the first before evaluating, so the burst is judged once.
pub const DEFAULT_DEBOUNCE_SECS: u64 = 30;
/// A rule that resolves and fires again within a day is one flapping problem: one notice.
pub const DEFAULT_COOLDOWN_HOURS: u64 = 24;
/// An open alert nobody acknowledged is sent again after a day.
pub const DEFAULT_REMIND_AFTER_HOURS: u64 = 24;
pub const DEFAULT_DIGEST_HOUR: u32 = 7;

/// Ready-to-use `[alerts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub enabled: bool,
    /// How often every domain is evaluated (silent reporters and check changes appear
    /// without any new report).
    pub evaluate_interval: Duration,
    pub debounce: Duration,
    /// After an alert resolves, the same domain and rule re-opens silently for this long.
    pub cooldown: chrono::Duration,
    /// An open, unacknowledged, unmuted alert is notified again after this; `None`: never.
    pub remind_after: Option<chrono::Duration>,
    /// The dashboard's address as people reach it, for links in notices (no trailing `/`).
    pub public_url: Option<String>,
    /// UTC hour at which digests go out, and the weekday of weekly ones.
    pub digest_hour: u32,
    pub digest_weekday: Weekday,
    pub rules: RuleSettings,
    /// Per-domain thresholds (lower-case domain → settings with its overrides applied).
    pub domains: BTreeMap<String, RuleSettings>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        FileAlerts::default()
            .resolve()
            .expect("the defaults are valid")
    }
}

impl AlertsConfig {
    /// The thresholds for `domain`.
    pub fn rules_for(&self, domain: &str) -> &RuleSettings {
        self.domains.get(domain).unwrap_or(&self.rules)
    }

    /// The dashboard page of `domain`, when `public_url` is set.
    pub fn domain_link(&self, domain: &str) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/domains/{}", crate::web::percent_encode(domain)))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) struct FileAlerts {
    enabled: Option<bool>,
    evaluate_interval_secs: Option<u64>,
    debounce_secs: Option<u64>,
    cooldown_hours: Option<u64>,
    remind_after_hours: Option<u64>,
    public_url: Option<String>,
    digest_hour: Option<u32>,
    digest_weekday: Option<String>,
    #[serde(default)]
    rules: FileRules,
    #[serde(default)]
    domains: BTreeMap<String, FileRules>,
}

/// Thresholds as written; every key optional so a domain overrides only what it names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileRules {
    disabled: Option<Vec<String>>,
    min_success_rate: Option<f64>,
    min_sessions: Option<u64>,
    anomaly_factor: Option<f64>,
    baseline_days: Option<u32>,
    dane_min_failed_sessions: Option<u64>,
    sts_persist_days: Option<u32>,
    silent_days: Option<u32>,
    stale_days: Option<u32>,
    major_reporters: Option<Vec<String>>,
}

impl FileRules {
    fn apply(&self, base: &RuleSettings) -> anyhow::Result<RuleSettings> {
        let mut s = base.clone();
        if let Some(names) = &self.disabled {
            s.disabled = names
                .iter()
                .map(|name| {
                    Rule::parse(name).with_context(|| {
                        let known: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
                        format!("disabled: no rule {name:?} (rules: {})", known.join(", "))
                    })
                })
                .collect::<anyhow::Result<_>>()?;
        }
        s.min_success_rate = self.min_success_rate.unwrap_or(s.min_success_rate);
        s.min_sessions = self.min_sessions.unwrap_or(s.min_sessions);
        s.anomaly_factor = self.anomaly_factor.unwrap_or(s.anomaly_factor);
        s.baseline_days = self.baseline_days.unwrap_or(s.baseline_days);
        s.dane_min_failed_sessions = self
            .dane_min_failed_sessions
            .unwrap_or(s.dane_min_failed_sessions);
        s.sts_persist_days = self.sts_persist_days.unwrap_or(s.sts_persist_days);
        s.silent_days = self.silent_days.unwrap_or(s.silent_days);
        s.stale_days = self.stale_days.unwrap_or(s.stale_days);
        if let Some(majors) = &self.major_reporters {
            s.major_reporters = majors
                .iter()
                .map(|m| m.trim().to_ascii_lowercase())
                .collect();
        }
        if !(0.0..=100.0).contains(&s.min_success_rate) {
            bail!("min_success_rate must be a per cent between 0 and 100");
        }
        if !s.anomaly_factor.is_finite() || s.anomaly_factor < 1.0 {
            bail!("anomaly_factor must be at least 1");
        }
        for (name, value) in [
            ("baseline_days", s.baseline_days),
            ("sts_persist_days", s.sts_persist_days),
            ("silent_days", s.silent_days),
            ("stale_days", s.stale_days),
        ] {
            if !(1..=365).contains(&value) {
                bail!("{name} must be between 1 and 365");
            }
        }
        Ok(s)
    }
}

impl FileAlerts {
    pub(super) fn resolve(self) -> anyhow::Result<AlertsConfig> {
        let positive = |name: &str, value: Option<u64>, default: u64| {
            let value = value.unwrap_or(default);
            if value == 0 {
                bail!("[alerts] {name} must be at least 1");
            }
            Ok(value)
        };
        let rules = self
            .rules
            .apply(&RuleSettings::default())
            .context("[alerts.rules]")?;
        let domains = self
            .domains
            .iter()
            .map(|(domain, file)| {
                let name = domain.trim().trim_end_matches('.').to_ascii_lowercase();
                let settings = file
                    .apply(&rules)
                    .with_context(|| format!("[alerts.domains.\"{domain}\"]"))?;
                Ok((name, settings))
            })
            .collect::<anyhow::Result<_>>()?;
        let public_url = match self.public_url {
            Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                bail!("[alerts] public_url must start with https:// or http://, not {url:?}")
            }
            url => url.map(|u| u.trim_end_matches('/').to_owned()),
        };
        let digest_hour = self.digest_hour.unwrap_or(DEFAULT_DIGEST_HOUR);
        if digest_hour > 23 {
            bail!("[alerts] digest_hour must be an hour of the day, 0 to 23 (UTC)");
        }
        let digest_weekday = match self.digest_weekday {
            Some(day) => day
                .parse::<Weekday>()
                .map_err(|_| anyhow::anyhow!("[alerts] digest_weekday: {day:?} is no weekday"))?,
            None => Weekday::Mon,
        };
        let remind = self
            .remind_after_hours
            .unwrap_or(DEFAULT_REMIND_AFTER_HOURS);
        Ok(AlertsConfig {
            enabled: self.enabled.unwrap_or(true),
            evaluate_interval: Duration::from_secs(positive(
                "evaluate_interval_secs",
                self.evaluate_interval_secs,
                DEFAULT_EVALUATE_INTERVAL_SECS,
            )?),
            debounce: Duration::from_secs(self.debounce_secs.unwrap_or(DEFAULT_DEBOUNCE_SECS)),
            cooldown: hours(self.cooldown_hours.unwrap_or(DEFAULT_COOLDOWN_HOURS))?,
            remind_after: (remind > 0).then(|| hours(remind)).transpose()?,
            public_url,
            digest_hour,
            digest_weekday,
            rules,
            domains,
        })
    }
}

fn hours(hours: u64) -> anyhow::Result<chrono::Duration> {
    i64::try_from(hours)
        .ok()
        .and_then(chrono::Duration::try_hours)
        .context("[alerts]: too many hours")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<AlertsConfig> {
        toml::from_str::<FileAlerts>(text)?.resolve()
    }

    #[test]
    fn domains_override_only_what_they_name() {
        let config = parse(
            "min_sessions = 1\n[rules]\nmin_success_rate = 95.0\ndisabled = [\"new-sending-ip\"]\n\
             [domains.\"Example.COM\"]\nsilent_days = 3\n",
        );
        assert!(config.is_err(), "min_sessions belongs in [rules]");
        let config = parse(
            "[rules]\nmin_success_rate = 95.0\ndisabled = [\"new-sending-ip\"]\n\
             [domains.\"Example.COM\"]\nsilent_days = 3\n",
        )
        .unwrap();
        let domain = config.rules_for("example.com");
        assert_eq!((domain.silent_days, domain.min_success_rate), (3, 95.0));
        assert!(domain.disabled.contains(&Rule::NewSendingIp));
        assert_eq!(config.rules_for("example.net").silent_days, 7);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, expected) in [
            (
                "[rules]\ndisabled = [\"certificate-expired\"]",
                "no rule \"certificate-expired\"",
            ),
            ("[rules]\nmin_success_rate = 120.0", "min_success_rate"),
            ("[domains.\"a.example\"]\nsilent_days = 0", "a.example"),
            ("public_url = \"tlsrpt.example.com\"", "public_url"),
            ("digest_weekday = \"someday\"", "digest_weekday"),
            ("evaluate_interval_secs = 0", "evaluate_interval_secs"),
        ] {
            let error = format!("{:#}", parse(text).unwrap_err());
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn the_example_states_the_defaults() {
        #[derive(Deserialize)]
        struct Example {
            alerts: FileAlerts,
        }
        let example = include_str!("../../../../config/tlsrpt-hub.example.toml");
        let section = &example[example
            .find("[alerts]")
            .expect("example documents [alerts]")..];
        let file: Example = toml::from_str(section).expect("example [alerts] parses");
        assert_eq!(file.alerts.resolve().unwrap(), AlertsConfig::default());
        let overrides = section
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .skip_while(|l| !l.starts_with("[alerts.domains"))
            .collect::<Vec<_>>()
            .join("\n");
        let file: Example = toml::from_str(&overrides).expect("example override parses");
        let config = file.alerts.resolve().unwrap();
        assert_eq!(config.rules_for("example.com").min_success_rate, 95.0);
    }

    #[test]
    fn links_go_to_the_domain_page() {
        let config = parse("public_url = \"https://tlsrpt.example.com/\"").unwrap();
        assert_eq!(
            config.domain_link("example.com").as_deref(),
            Some("https://tlsrpt.example.com/domains/example.com")
        );
        assert_eq!(AlertsConfig::default().domain_link("example.com"), None);
    }
}
