//! TLSA records (RFC 6698 §2.2 presentation format) as a report's tlsa `policy-string`
//! carries them, one RR per element: `usage selector matching-type data` (RFC 8460 §4.5).

use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// RFC 7218 §2.1 certificate usage acronyms.
const USAGES: &[(u8, &str)] = &[
    (0, "PKIX-TA"),
    (1, "PKIX-EE"),
    (2, "DANE-TA"),
    (3, "DANE-EE"),
    (255, "PrivCert"),
];
/// RFC 7218 §2.2 selector acronyms.
const SELECTORS: &[(u8, &str)] = &[(0, "Cert"), (1, "SPKI"), (255, "PrivSel")];
/// RFC 7218 §2.3 matching type acronyms.
const MATCHING_TYPES: &[(u8, &str)] = &[
    (0, "Full"),
    (1, "SHA2-256"),
    (2, "SHA2-512"),
    (255, "PrivMatch"),
];

/// One TLSA record.
///
/// `data` is upper-case hex with no spaces. Hex is case-insensitive (RFC 6698 §2.2) and
/// senders differ, so records are normalised before they are compared or stored; upper case
/// because that is how `dig` and the RFC's own examples print it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TlsaRecord {
    pub usage: u8,
    pub selector: u8,
    pub matching_type: u8,
    pub data: String,
}

/// Why a string is not a TLSA record.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("{message}")]
pub struct TlsaError {
    pub message: String,
}

impl TlsaRecord {
    /// Parses `3 1 1 <hex>`. Tolerated beyond RFC 8460 §4.5's single spaces: any run of
    /// spaces or tabs, lower-case hex, hex split by whitespace (RFC 6698 §2.2 allows it), and
    /// RFC 7218 acronyms in place of numbers (`DANE-EE SPKI SHA2-256 <hex>`).
    pub fn parse(text: &str) -> Result<TlsaRecord, TlsaError> {
        let mut fields = text.split_ascii_whitespace();
        let usage = number(fields.next(), "certificate usage", USAGES)?;
        let selector = number(fields.next(), "selector", SELECTORS)?;
        let matching_type = number(fields.next(), "matching type", MATCHING_TYPES)?;
        let data = hex(fields.collect())?;
        Ok(TlsaRecord {
            usage,
            selector,
            matching_type,
            data,
        })
    }

    /// RFC 7218 name of the usage, e.g. `DANE-EE`; `None` when unassigned.
    pub fn usage_name(&self) -> Option<&'static str> {
        name(USAGES, self.usage)
    }

    pub fn selector_name(&self) -> Option<&'static str> {
        name(SELECTORS, self.selector)
    }

    pub fn matching_type_name(&self) -> Option<&'static str> {
        name(MATCHING_TYPES, self.matching_type)
    }

    /// Why an SMTP client would not use this record, if it would not: PKIX usages (RFC 7672
    /// §3.1.3), parameters it does not understand (RFC 6698 §4.1), or a digest of the wrong
    /// length, which can never match.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        match self.usage {
            0 | 1 => notes.push(format!(
                "usage {} ({}) is unusable for SMTP: DANE SMTP clients ignore PKIX-TA and \
                 PKIX-EE records (RFC 7672 §3.1.3)",
                self.usage,
                self.usage_name().unwrap_or_default()
            )),
            2 | 3 => {}
            other => notes.push(unusable("usage", other)),
        }
        if self.selector > 1 {
            notes.push(unusable("selector", self.selector));
        }
        match (self.matching_type, self.digest_len()) {
            (0, _) => {}
            (1 | 2, Some(expected)) if self.data.len() != expected * 2 => notes.push(format!(
                "{} data should be {expected} bytes but is {} bytes, so it can never match",
                self.matching_type_name().unwrap_or_default(),
                self.data.len() / 2
            )),
            (1 | 2, _) => {}
            (other, _) => notes.push(unusable("matching type", other)),
        }
        notes
    }

    fn digest_len(&self) -> Option<usize> {
        match self.matching_type {
            1 => Some(32),
            2 => Some(64),
            _ => None,
        }
    }
}

/// Presentation format with single spaces, the form RFC 8460 §4.5 asks for.
impl fmt::Display for TlsaRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.usage, self.selector, self.matching_type, self.data
        )
    }
}

fn unusable(what: &str, value: u8) -> String {
    format!(
        "{what} {value} is unassigned or private, so clients treat the record as unusable (RFC 6698 §4.1)"
    )
}

fn name(table: &[(u8, &'static str)], value: u8) -> Option<&'static str> {
    table
        .iter()
        .find(|(number, _)| *number == value)
        .map(|(_, name)| *name)
}

/// A number 0–255 or, case-insensitively, its RFC 7218 acronym.
fn number(field: Option<&str>, what: &str, table: &[(u8, &str)]) -> Result<u8, TlsaError> {
    let field = field.ok_or_else(|| error(format!("no {what}")))?;
    field
        .parse()
        .ok()
        .or_else(|| {
            table
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(field))
                .map(|(number, _)| *number)
        })
        .ok_or_else(|| error(format!("{what} {field:?} is not a number from 0 to 255")))
}

fn hex(data: String) -> Result<String, TlsaError> {
    if data.is_empty() {
        return Err(error("no certificate association data".to_owned()));
    }
    if let Some(bad) = data.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(error(format!(
            "certificate association data holds {bad:?}, which is not a hex digit"
        )));
    }
    if data.len() % 2 == 1 {
        return Err(error(format!(
            "certificate association data has an odd number of hex digits ({})",
            data.len()
        )));
    }
    Ok(data.to_ascii_uppercase())
}

fn error(message: String) -> TlsaError {
    TlsaError { message }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256: &str = "8A1F0C4E7B29D6135F40A9C2E8B7D61F0324A5C9E1B86D7F2A0C5E9B3D14F6A7";

    #[test]
    fn the_usual_dane_ee_record() {
        let record = TlsaRecord::parse(&format!("3 1 1 {SHA256}")).unwrap();
        assert_eq!(
            (record.usage, record.selector, record.matching_type),
            (3, 1, 1)
        );
        assert_eq!(record.data, SHA256);
        assert_eq!(record.usage_name(), Some("DANE-EE"));
        assert_eq!(record.selector_name(), Some("SPKI"));
        assert_eq!(record.matching_type_name(), Some("SHA2-256"));
        assert_eq!(record.notes(), Vec::<String>::new());
        assert_eq!(record.to_string(), format!("3 1 1 {SHA256}"));
    }

    #[test]
    fn odd_spacing_case_and_acronyms_normalise_to_one_form() {
        let canonical = TlsaRecord::parse(&format!("3 1 1 {SHA256}")).unwrap();
        let (left, right) = SHA256.split_at(20);
        for variant in [
            format!("  3\t1  1 {}  ", SHA256.to_lowercase()),
            format!("3 1 1 {left} {right}"),
            format!("dane-ee SPKI sha2-256 {SHA256}"),
        ] {
            assert_eq!(TlsaRecord::parse(&variant).unwrap(), canonical, "{variant}");
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        for (input, message) in [
            ("", "no certificate usage"),
            ("3 1", "no matching type"),
            ("3 1 1", "no certificate association data"),
            (
                "3 1 x abcd",
                "matching type \"x\" is not a number from 0 to 255",
            ),
            (
                "256 1 1 abcd",
                "certificate usage \"256\" is not a number from 0 to 255",
            ),
            (
                "3 1 1 abc",
                "certificate association data has an odd number of hex digits (3)",
            ),
            (
                "3 1 1 0xab",
                "certificate association data holds 'x', which is not a hex digit",
            ),
            (
                "(3 1 1 ab)",
                "certificate usage \"(3\" is not a number from 0 to 255",
            ),
        ] {
            assert_eq!(
                TlsaRecord::parse(input).unwrap_err().message,
                message,
                "{input}"
            );
        }
    }

    #[test]
    fn notes_explain_unusable_records() {
        let pkix = TlsaRecord::parse(&format!("1 0 1 {SHA256}")).unwrap();
        assert_eq!(pkix.notes().len(), 1);
        assert!(pkix.notes()[0].contains("PKIX-EE"));
        assert!(pkix.notes()[0].contains("RFC 7672 §3.1.3"));
        let private = TlsaRecord::parse("255 2 3 00").unwrap();
        assert_eq!(private.notes().len(), 3);
        let short = TlsaRecord::parse("3 1 2 abcd").unwrap();
        assert_eq!(
            short.notes(),
            ["SHA2-512 data should be 64 bytes but is 2 bytes, so it can never match"]
        );
        let full = TlsaRecord::parse("2 0 0 3082").unwrap();
        assert_eq!(full.notes(), Vec::<String>::new());
        assert_eq!(full.usage_name(), Some("DANE-TA"));
    }
}
