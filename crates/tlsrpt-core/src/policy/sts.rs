//! MTA-STS policies (RFC 8461 §3.2), as served at `/.well-known/mta-sts.txt` and as copied
//! line by line into a report's `policy-string` (RFC 8460 §4.5).
//!
//! Values are read leniently so `show` can display whatever a sender saw; every departure
//! from the §3.2 grammar is kept in [`StsPolicy::errors`] with its line number. A policy with
//! errors is one a strict sender rejects, or reads differently from what its author meant.

use std::fmt;

use serde::Serialize;

/// The largest `max_age` allowed, one year in seconds (RFC 8461 §3.2).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// A parsed MTA-STS policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StsPolicy {
    /// `version`; the only defined value is `STSv1`.
    pub version: Option<String>,
    pub mode: Option<StsMode>,
    /// `mx` patterns in order (a host name, or `*.` and a domain, §4.1).
    pub mx: Vec<String>,
    /// `max_age` in seconds, kept even when above [`MAX_AGE_LIMIT`] (an error says so).
    pub max_age: Option<u64>,
    /// Keys §3.2 does not define, with their values: senders ignore them, `show` lists them.
    pub extensions: Vec<(String, String)>,
    pub errors: Vec<PolicyError>,
}

/// `mode` (RFC 8461 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StsMode {
    Enforce,
    Testing,
    None,
    /// Anything else, as written (an error is recorded too).
    Other(String),
}

impl StsMode {
    fn from_value(value: &str) -> StsMode {
        match value {
            "enforce" => StsMode::Enforce,
            "testing" => StsMode::Testing,
            "none" => StsMode::None,
            other => StsMode::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for StsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
            StsMode::None => "none",
            StsMode::Other(other) => other,
        })
    }
}

/// One departure from the grammar. `line` is 1-based (the element number for
/// `policy-string`); `None` for problems of the whole policy, such as a missing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl StsPolicy {
    /// Parses a policy file body. Lines end in LF or CRLF: RFC 8461 §3.2's prose says CRLF
    /// but its ABNF (`sts-policy-term = LF / CRLF`) allows both, and servers send both
    /// (reported erratum 6253).
    pub fn parse(text: &str) -> StsPolicy {
        Self::from_numbered(
            text.split('\n')
                .map(|line| line.strip_suffix('\r').unwrap_or(line)),
        )
    }

    /// Reads a report's `policy-string` for an sts policy: one policy line per element
    /// (RFC 8460 §4.5). Senders do not keep the file's order (Google puts `max_age` before
    /// `mx`), which changes nothing here except which duplicate counts as "first".
    pub fn from_lines(lines: &[String]) -> StsPolicy {
        Self::from_numbered(lines.iter().map(String::as_str))
    }

    fn from_numbered<'a>(lines: impl Iterator<Item = &'a str>) -> StsPolicy {
        let mut policy = StsPolicy::default();
        for (index, line) in lines.enumerate() {
            policy.read_line(index + 1, line);
        }
        policy.check_required();
        policy
    }

    /// Blank lines are skipped without an error: the grammar has no place for them, but
    /// they are common (a trailing newline, an editor's blank last line) and every sender
    /// tolerates them.
    fn read_line(&mut self, number: usize, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let Some((raw_key, raw_value)) = line.split_once(':') else {
            return self.error(
                Some(number),
                format!("{line:?} is not a \"key: value\" line"),
            );
        };
        let key = raw_key.trim_end_matches([' ', '\t']);
        if key.len() != raw_key.len() {
            self.error(Some(number), format!("space before the ':' after {key:?}"));
        }
        let value = raw_value.trim_matches([' ', '\t']);
        if value.is_empty() {
            return self.error(Some(number), format!("{key:?} has no value"));
        }
        self.read_field(number, key, value);
    }

    /// Keys are case-sensitive (§3.2 uses RFC 7405 `%s` strings). A wrongly cased known key
    /// is kept as an extension, which is what a strict sender does with it, and flagged.
    fn read_field(&mut self, number: usize, key: &str, value: &str) {
        match key {
            "mx" => self.read_mx(number, value),
            "version" | "mode" | "max_age" if self.has(key) => self.error(
                Some(number),
                format!("duplicate {key:?}; the first one counts (RFC 8461 §3.2)"),
            ),
            "version" => self.read_version(number, value),
            "mode" => self.read_mode(number, value),
            "max_age" => self.read_max_age(number, value),
            _ => self.read_extension(number, key, value),
        }
    }

    fn has(&self, key: &str) -> bool {
        match key {
            "version" => self.version.is_some(),
            "mode" => self.mode.is_some(),
            _ => self.max_age.is_some(),
        }
    }

    fn read_version(&mut self, number: usize, value: &str) {
        if value != "STSv1" {
            self.error(Some(number), format!("version {value:?} is not \"STSv1\""));
        }
        self.version = Some(value.to_owned());
    }

    fn read_mode(&mut self, number: usize, value: &str) {
        let mode = StsMode::from_value(value);
        if let StsMode::Other(other) = &mode {
            self.error(
                Some(number),
                format!("mode {other:?} is not enforce, testing or none"),
            );
        }
        self.mode = Some(mode);
    }

    /// `1*10DIGIT`, at most [`MAX_AGE_LIMIT`].
    fn read_max_age(&mut self, number: usize, value: &str) {
        if !value.bytes().all(|b| b.is_ascii_digit()) || value.len() > 10 {
            return self.error(
                Some(number),
                format!("max_age {value:?} is not 1 to 10 digits"),
            );
        }
        let Ok(seconds) = value.parse::<u64>() else {
            return self.error(Some(number), format!("max_age {value:?} is not a number"));
        };
        if seconds > MAX_AGE_LIMIT {
            self.error(
                Some(number),
                format!("max_age {seconds} is above the limit of {MAX_AGE_LIMIT} (one year)"),
            );
        }
        self.max_age = Some(seconds);
    }

    fn read_mx(&mut self, number: usize, value: &str) {
        if !is_mx_pattern(value) {
            self.error(
                Some(number),
                format!("mx {value:?} is not a host name or \"*.\" and a domain"),
            );
        }
        self.mx.push(value.to_owned());
    }

    fn read_extension(&mut self, number: usize, key: &str, value: &str) {
        if ["version", "mode", "max_age", "mx"]
            .iter()
            .any(|known| known.eq_ignore_ascii_case(key))
        {
            self.error(
                Some(number),
                format!(
                    "key {key:?} is wrongly cased; keys are case-sensitive, so senders ignore it"
                ),
            );
        } else if !is_extension_name(key) {
            self.error(Some(number), format!("{key:?} is not a valid key"));
        }
        self.extensions.push((key.to_owned(), value.to_owned()));
    }

    /// version, mode and max_age are required once; `mx` at least once unless mode is none.
    fn check_required(&mut self) {
        for (key, present) in [
            ("version", self.version.is_some()),
            ("mode", self.mode.is_some()),
            ("max_age", self.max_age.is_some()),
        ] {
            if !present {
                self.error(None, format!("no {key:?} line"));
            }
        }
        if self.mx.is_empty() && self.mode != Some(StsMode::None) {
            self.error(
                None,
                "no \"mx\" line (required unless mode is none)".to_owned(),
            );
        }
    }

    fn error(&mut self, line: Option<usize>, message: String) {
        self.errors.push(PolicyError { line, message });
    }
}

/// `sts-policy-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`.
fn is_extension_name(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && key.len() <= 32
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `sts-policy-mx-value = ["*."] Domain` (RFC 5321 Domain: dot-separated labels of letters,
/// digits and inner hyphens). A trailing root dot is tolerated, as DNS tools print one.
fn is_mx_pattern(value: &str) -> bool {
    let domain = value.strip_prefix("*.").unwrap_or(value);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    !domain.is_empty() && domain.split('.').all(is_label)
}

fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Whether MX host `host` matches policy pattern `pattern` (RFC 8461 §4.1).
///
/// A leading `*.` matches exactly one left-most label: `*.example.com` matches
/// `mx.example.com` but neither `example.com` nor `a.b.example.com`. Case does not matter and
/// a trailing root dot is ignored, on either side.
pub fn mx_pattern_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    let host = host.trim_end_matches('.');
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.split_once('.').is_some_and(|(label, rest)| {
            !label.is_empty() && !suffix.is_empty() && rest.eq_ignore_ascii_case(suffix)
        }),
        None => !pattern.is_empty() && pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|line| (*line).to_owned()).collect()
    }

    fn messages(policy: &StsPolicy) -> Vec<String> {
        policy.errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rfc_8461_example_policy() {
        let policy = StsPolicy::parse(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n\
             mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
        );
        assert_eq!(policy.errors, []);
        assert_eq!(policy.version.as_deref(), Some("STSv1"));
        assert_eq!(policy.mode, Some(StsMode::Enforce));
        assert_eq!(
            policy.mx,
            ["mail.example.com", "*.example.net", "backupmx.example.com"]
        );
        assert_eq!(policy.max_age, Some(604_800));
    }

    #[test]
    fn lf_and_crlf_parse_alike() {
        let lf = "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400";
        assert_eq!(
            StsPolicy::parse(lf),
            StsPolicy::parse(&lf.replace('\n', "\r\n"))
        );
        assert_eq!(StsPolicy::parse(lf).errors, []);
    }

    #[test]
    fn report_policy_string_in_google_order() {
        let policy = StsPolicy::from_lines(&lines(&[
            "version: STSv1",
            "mode: enforce",
            "max_age: 86400",
            "mx: komijn.test.xmox.nl",
        ]));
        assert_eq!(policy.errors, []);
        assert_eq!(policy.mx, ["komijn.test.xmox.nl"]);
    }

    #[test]
    fn first_duplicate_wins_but_all_mx_count() {
        let policy = StsPolicy::parse(
            "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmx: b.example\nmax_age: 1\nmax_age: 2\n",
        );
        assert_eq!(policy.mode, Some(StsMode::Testing));
        assert_eq!(policy.max_age, Some(1));
        assert_eq!(policy.mx, ["a.example", "b.example"]);
        assert_eq!(
            messages(&policy),
            [
                "line 3: duplicate \"mode\"; the first one counts (RFC 8461 §3.2)",
                "line 7: duplicate \"max_age\"; the first one counts (RFC 8461 §3.2)",
            ]
        );
    }

    #[test]
    fn mode_none_needs_no_mx_and_unknown_mode_is_kept() {
        let none = StsPolicy::parse("version: STSv1\nmode: none\nmax_age: 86400\n");
        assert_eq!(none.errors, []);
        let odd = StsPolicy::parse("version: STSv1\nmode: report\nmx: a.example\nmax_age: 1");
        assert_eq!(odd.mode, Some(StsMode::Other("report".into())));
        assert_eq!(odd.errors.len(), 1);
        assert_eq!(odd.errors[0].line, Some(2));
    }

    #[test]
    fn missing_keys_are_whole_policy_errors() {
        let policy = StsPolicy::from_lines(&[]);
        assert_eq!(
            messages(&policy),
            [
                "no \"version\" line",
                "no \"mode\" line",
                "no \"max_age\" line",
                "no \"mx\" line (required unless mode is none)",
            ]
        );
        assert!(policy.errors.iter().all(|error| error.line.is_none()));
    }

    #[test]
    fn max_age_range_and_syntax() {
        let over = StsPolicy::parse("max_age: 31557601");
        assert_eq!(over.max_age, Some(31_557_601));
        assert!(messages(&over)[0].contains("above the limit"));
        assert_eq!(
            StsPolicy::parse("max_age: 31557600").max_age,
            Some(MAX_AGE_LIMIT)
        );
        for bad in [
            "max_age: -1",
            "max_age: 1w",
            "max_age: 12345678901",
            "max_age: 1 2",
        ] {
            let policy = StsPolicy::parse(bad);
            assert_eq!(policy.max_age, None, "{bad}");
            assert_eq!(policy.errors[0].line, Some(1), "{bad}");
        }
    }

    #[test]
    fn odd_real_world_forms() {
        let policy = StsPolicy::parse(
            "\u{20}\nVersion: STSv1\nmode : enforce\nmx:mail.example.com.\nmx: bad_host!\n\
             max_age:\t86400 \nnote\nx-comment: hi there\n_bad: 1\nmx:\n",
        );
        assert_eq!(
            policy.version, None,
            "a wrongly cased key is not the version"
        );
        assert_eq!(policy.mode, Some(StsMode::Enforce));
        assert_eq!(policy.mx, ["mail.example.com.", "bad_host!"]);
        assert_eq!(policy.max_age, Some(86_400));
        assert_eq!(
            policy.extensions,
            [
                ("Version".to_owned(), "STSv1".to_owned()),
                ("x-comment".to_owned(), "hi there".to_owned()),
                ("_bad".to_owned(), "1".to_owned()),
            ]
        );
        let lines: Vec<Option<usize>> = policy.errors.iter().map(|error| error.line).collect();
        assert_eq!(
            lines,
            [Some(2), Some(3), Some(5), Some(7), Some(9), Some(10), None]
        );
    }

    #[test]
    fn mx_patterns_per_section_4_1() {
        assert!(mx_pattern_matches("mail.example.com", "MAIL.example.com."));
        assert!(mx_pattern_matches("*.example.com", "mx1.example.com"));
        assert!(mx_pattern_matches("*.Example.COM.", "mx1.example.com"));
        assert!(!mx_pattern_matches("*.example.com", "example.com"));
        assert!(!mx_pattern_matches("*.example.com", "a.b.example.com"));
        assert!(!mx_pattern_matches("*.example.com", ".example.com"));
        assert!(!mx_pattern_matches("*.example.com", "mx1.example.org"));
        assert!(!mx_pattern_matches("mx.*.example.com", "mx.a.example.com"));
        assert!(!mx_pattern_matches("*.", "a."));
        assert!(!mx_pattern_matches("", ""));
        assert!(!mx_pattern_matches("*", "mx.example.com"));
    }
}
