//! Exactly what to publish: the `_smtp._tls` and `_mta-sts` TXT records and the MTA-STS
//! policy file. Every output is checked by this crate's own parsers before it is returned,
//! so what `record` prints is what `check` accepts without a warning.

use std::fmt::Display;

use chrono::{DateTime, Datelike, Timelike};
use serde::Serialize;
use thiserror::Error;

use super::mta_sts::{self, check_id};
use super::problem::{Problems, RecordProblem};
use super::rua::RuaUri;
use super::tlsrpt;
use crate::policy::{PolicyError, StsMode, StsPolicy};

/// The longest DNS character-string (RFC 1035 §3.3); longer TXT data needs several.
pub const MAX_CHARACTER_STRING: usize = 255;

/// Why nothing was generated.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GenerateError {
    #[error("a TLSRPT record needs at least one rua URI (RFC 8460 §3)")]
    NoRua,
    #[error("rua URI {uri:?} cannot be published: {}", joined(problems))]
    Rua {
        uri: String,
        problems: Vec<RecordProblem>,
    },
    #[error("id {id:?} cannot be published: {problem}")]
    Id { id: String, problem: RecordProblem },
    #[error("mode {mode:?} is not enforce, testing or none (RFC 8461 §5)")]
    Mode { mode: String },
    #[error("mx host {host:?}: {message}")]
    MxHost { host: String, message: String },
    #[error("the policy would be invalid: {}", joined(errors))]
    Policy { errors: Vec<PolicyError> },
}

fn joined<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `v=TLSRPTv1; rua=<uri>,<uri>`: the form of RFC 8460 §3.1's second example, URIs joined
/// by a bare comma because some senders split on `,` alone. Duplicates are dropped, order
/// kept. Every URI is re-read strictly, so one built by hand or taken from a record with
/// warnings (`MAILTO:`, `?subject=`) is refused rather than published.
pub fn tlsrpt_txt(rua: &[RuaUri]) -> Result<String, GenerateError> {
    if rua.is_empty() {
        return Err(GenerateError::NoRua);
    }
    let mut uris: Vec<&str> = Vec::new();
    for uri in rua {
        RuaUri::parse(&uri.uri).map_err(|problems| GenerateError::Rua {
            uri: uri.uri.clone(),
            problems,
        })?;
        if !uris.contains(&uri.uri.as_str()) {
            uris.push(&uri.uri);
        }
    }
    Ok(format!("v={}; rua={}", tlsrpt::VERSION, uris.join(",")))
}

/// `v=STSv1; id=<id>;`, as in RFC 8461 §3.1's example.
pub fn mta_sts_txt(id: &str) -> Result<String, GenerateError> {
    let mut problems = Problems::default();
    check_id(id.as_bytes(), 1, &mut problems);
    match problems.into_all().into_iter().next() {
        Some(problem) => Err(GenerateError::Id {
            id: id.to_owned(),
            problem,
        }),
        None => Ok(format!("v={}; id={id};", mta_sts::VERSION)),
    }
}

/// A valid `id` from a time: `YYYYMMDDTHHMMSS` in UTC, letters and digits only as §3.1
/// requires. The caller passes the time (this crate reads no clock). A time too far out for
/// a calendar date gives its decimal seconds, still a valid, increasing id.
pub fn mta_sts_id_from_unix_time(seconds: u64) -> String {
    let Some(time) = i64::try_from(seconds)
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
    else {
        return seconds.to_string();
    };
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// The policy file for `https://mta-sts.<domain>/.well-known/mta-sts.txt` (RFC 8461 §3.2):
/// CRLF lines as the prose asks, `version` first, then `mode`, `mx` and `max_age` as in the
/// RFC's example. MX hosts are lower-cased, stripped of surrounding space and trailing
/// dots, deduplicated and sorted, so the same MX set always gives the same file.
///
/// Hosts and the whole result are checked with [`StsPolicy`], the parser `show` and
/// `check` use, so generator and checker cannot disagree; that also enforces
/// `max_age` ≤ [`crate::policy::sts::MAX_AGE_LIMIT`] and `mx` being required unless mode is
/// none. Callers should default to `testing` (RFC 8461 §5: report, don't block) until
/// reports show that every sender can deliver.
pub fn mta_sts_policy(
    mode: &StsMode,
    mx_hosts: &[String],
    max_age: u64,
) -> Result<String, GenerateError> {
    if let StsMode::Other(other) = mode {
        return Err(GenerateError::Mode {
            mode: other.clone(),
        });
    }
    let mut lines = vec![
        format!("version: {}", mta_sts::VERSION),
        format!("mode: {mode}"),
    ];
    lines.extend(
        normalise_mx(mx_hosts)?
            .iter()
            .map(|host| format!("mx: {host}")),
    );
    lines.push(format!("max_age: {max_age}"));
    let text = lines.join("\r\n") + "\r\n";
    let errors = StsPolicy::parse(&text).errors;
    if errors.is_empty() {
        Ok(text)
    } else {
        Err(GenerateError::Policy { errors })
    }
}

fn normalise_mx(hosts: &[String]) -> Result<Vec<String>, GenerateError> {
    let mut normalised = Vec::with_capacity(hosts.len());
    for host in hosts {
        let clean = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if let Some(error) = mx_line_error(&clean) {
            return Err(GenerateError::MxHost {
                host: host.clone(),
                message: error.message,
            });
        }
        normalised.push(clean);
    }
    normalised.sort();
    normalised.dedup();
    Ok(normalised)
}

/// The policy parser's verdict on one `mx` line. Checked host by host, before joining,
/// so a host holding a line break cannot smuggle in a line of its own.
fn mx_line_error(host: &str) -> Option<PolicyError> {
    StsPolicy::from_lines(&[format!("mx: {host}")])
        .errors
        .into_iter()
        .find(|error| error.line == Some(1))
}

/// Splits a record into the character-strings to publish: at most
/// [`MAX_CHARACTER_STRING`] bytes each, cut at character boundaries. Receivers join them
/// with nothing in between (RFC 8460 §3), so the cut may fall anywhere; zone files write
/// them as `"…" "…"`.
pub fn character_strings(record: &str) -> Vec<&str> {
    let mut strings = Vec::new();
    let mut rest = record;
    while rest.len() > MAX_CHARACTER_STRING {
        let (head, tail) = rest.split_at(rest.floor_char_boundary(MAX_CHARACTER_STRING));
        strings.push(head);
        rest = tail;
    }
    strings.push(rest);
    strings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::sts::MAX_AGE_LIMIT;
    use crate::record::{ProblemCode, StsRecord, TlsrptRecord, Verdict};

    fn rua(uris: &[&str]) -> Vec<RuaUri> {
        uris.iter().map(|uri| RuaUri::parse(uri).unwrap()).collect()
    }

    #[test]
    fn tlsrpt_record_round_trips_clean() {
        let uris = rua(&[
            "mailto:tlsrpt@example.com",
            "https://reports.example.com/v1/tlsrpt",
            "mailto:tlsrpt@example.com",
        ]);
        let text = tlsrpt_txt(&uris).unwrap();
        assert_eq!(
            text,
            "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/v1/tlsrpt"
        );
        let parsed = TlsrptRecord::parse(&text);
        assert_eq!(parsed.verdict(), Verdict::Valid, "{parsed:?}");
        assert_eq!(parsed.rua, uris[..2]);
    }

    #[test]
    fn tlsrpt_inputs_are_checked() {
        assert_eq!(tlsrpt_txt(&[]), Err(GenerateError::NoRua));
        let mut from_record = TlsrptRecord::parse("v=TLSRPTv1;rua=MAILTO:a@example.com").rua;
        assert_eq!(from_record.len(), 1);
        let Err(GenerateError::Rua { problems, .. }) = tlsrpt_txt(&from_record) else {
            panic!("an upper-case scheme is refused")
        };
        assert_eq!(problems[0].code, ProblemCode::UppercaseScheme);
        from_record[0].uri = "http://example.com".into();
        assert!(tlsrpt_txt(&from_record).is_err());
    }

    #[test]
    fn mta_sts_record_round_trips_clean() {
        let id = mta_sts_id_from_unix_time(1_795_435_200);
        assert_eq!(id, "20261123T120000");
        let text = mta_sts_txt(&id).unwrap();
        assert_eq!(text, "v=STSv1; id=20261123T120000;");
        let parsed = StsRecord::parse(&text);
        assert_eq!(parsed.verdict(), Verdict::Valid, "{parsed:?}");
        assert_eq!(parsed.id.as_deref(), Some(id.as_str()));
    }

    #[test]
    fn ids_from_any_time_are_valid() {
        for seconds in [0, 1, 253_402_300_799, 253_402_300_800, u64::MAX] {
            let id = mta_sts_id_from_unix_time(seconds);
            assert!(mta_sts_txt(&id).is_ok(), "{seconds} -> {id}");
        }
        assert_eq!(mta_sts_id_from_unix_time(0), "19700101T000000");
        assert_eq!(mta_sts_id_from_unix_time(u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn bad_ids_are_refused_with_their_column() {
        let Err(GenerateError::Id { problem, .. }) = mta_sts_txt("2026-01-01") else {
            panic!()
        };
        assert_eq!((problem.column, problem.code), (5, ProblemCode::InvalidId));
        assert!(mta_sts_txt("").is_err());
        assert!(mta_sts_txt(&"1".repeat(33)).is_err());
        assert!(mta_sts_txt(&"1".repeat(32)).is_ok());
    }

    #[test]
    fn policy_is_normalised_and_parses_clean() {
        let hosts = [
            "MX2.Example.com.".to_owned(),
            " mx1.example.com".to_owned(),
            "*.backup.example.net".to_owned(),
            "mx2.example.com".to_owned(),
        ];
        let text = mta_sts_policy(&StsMode::Testing, &hosts, 604_800).unwrap();
        assert_eq!(
            text,
            "version: STSv1\r\nmode: testing\r\nmx: *.backup.example.net\r\n\
             mx: mx1.example.com\r\nmx: mx2.example.com\r\nmax_age: 604800\r\n"
        );
        let policy = StsPolicy::parse(&text);
        assert_eq!(policy.errors, []);
        assert_eq!(policy.mode, Some(StsMode::Testing));
        assert_eq!(policy.max_age, Some(604_800));
        assert_eq!(policy.mx.len(), 3);
    }

    #[test]
    fn policy_inputs_are_checked() {
        let mx = ["mx.example.com".to_owned()];
        assert!(mta_sts_policy(&StsMode::Enforce, &mx, MAX_AGE_LIMIT).is_ok());
        assert!(matches!(
            mta_sts_policy(&StsMode::Enforce, &mx, MAX_AGE_LIMIT + 1),
            Err(GenerateError::Policy { .. })
        ));
        assert!(matches!(
            mta_sts_policy(&StsMode::Enforce, &[], 86_400),
            Err(GenerateError::Policy { .. })
        ));
        assert!(mta_sts_policy(&StsMode::None, &[], 86_400).is_ok());
        assert_eq!(
            mta_sts_policy(&StsMode::Other("report".into()), &mx, 86_400),
            Err(GenerateError::Mode {
                mode: "report".into()
            })
        );
        for bad in ["mx_1.example.com", "mx.example.com\r\nmax_age: 1", "", "*"] {
            let result = mta_sts_policy(&StsMode::Testing, &[bad.to_owned()], 86_400);
            assert!(
                matches!(result, Err(GenerateError::MxHost { .. })),
                "{bad:?}: {result:?}"
            );
        }
    }

    #[test]
    fn long_records_split_into_character_strings_that_join_back() {
        let uris: Vec<String> = (0..20)
            .map(|i| format!("mailto:tlsrpt-{i}@reports.example.com"))
            .collect();
        let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
        let text = tlsrpt_txt(&rua(&uris)).unwrap();
        let strings = character_strings(&text);
        assert!(strings.len() > 1);
        assert!(strings.iter().all(|s| s.len() <= MAX_CHARACTER_STRING));
        let lookup = TlsrptRecord::select(&[strings]);
        assert_eq!(lookup.selected().map(|r| r.rua.len()), Some(20));
        assert_eq!(character_strings(""), [""]);
    }
}
