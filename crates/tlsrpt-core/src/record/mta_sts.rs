//! The MTA-STS discovery record at `_mta-sts.<domain>` (RFC 8461 §3.1):
//!
//! ```text
//! sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
//! sts-version     = %s"v=STSv1"
//! sts-field       = sts-id / sts-extension                ; id is required
//! sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//! ```
//!
//! The policy file the record announces is parsed by [`crate::policy::StsPolicy`].

use serde::Serialize;

use super::fields::{Extension, note_ignored, read_extension, tokenize};
use super::problem::{ProblemCode, Problems, RecordProblem, Verdict, show};
use super::select::{self, Lookup, RecordType};

/// The version token, without `v=`.
pub const VERSION: &str = "STSv1";

/// `1*32(ALPHA / DIGIT)`.
pub const MAX_ID_LEN: usize = 32;

const RECORD_TYPE: RecordType = RecordType {
    name: "MTA-STS",
    version: VERSION,
    section: "RFC 8461 §3.1",
};

const KNOWN: &[&str] = &["v", "id"];

/// A parsed MTA-STS TXT record; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsRecord {
    /// The first `id` as written, even when invalid (errors say so): senders refetch the
    /// policy when it changes, so `check` shows it.
    pub id: Option<String>,
    pub extensions: Vec<Extension>,
    pub errors: Vec<RecordProblem>,
    pub warnings: Vec<RecordProblem>,
}

impl StsRecord {
    /// Parses one record's text: one RR's character-strings already joined, as bytes.
    pub fn parse(record: impl AsRef<[u8]>) -> StsRecord {
        let record = record.as_ref();
        let mut problems = Problems::default();
        let mut id = None;
        let mut extensions = Vec::new();
        for field in tokenize(record, VERSION, &mut problems) {
            if field.name == b"id" && id.is_none() {
                check_id(field.value, field.value_column, &mut problems);
                id = Some(show(field.value));
            } else if field.name == b"id" {
                note_ignored(&field, KNOWN, &mut problems);
            } else {
                extensions.push(read_extension(&field, &mut problems));
                note_ignored(&field, KNOWN, &mut problems);
            }
        }
        if id.is_none() {
            missing_id(record.len() + 1, &mut problems);
        }
        let (errors, warnings) = problems.finish();
        StsRecord {
            id,
            extensions,
            errors,
            warnings,
        }
    }

    /// Picks the record among all TXT RRs at `_mta-sts.<domain>`; see [`Lookup`].
    pub fn select<T: AsRef<[S]>, S: AsRef<[u8]>>(rrs: &[T]) -> Lookup<StsRecord> {
        select::select(rrs, &RECORD_TYPE, |joined: &[u8]| StsRecord::parse(joined))
    }

    pub fn verdict(&self) -> Verdict {
        Verdict::of(&self.errors, &self.warnings)
    }
}

/// `1*32(ALPHA / DIGIT)`; shared with the generator so both accept the same ids.
pub(crate) fn check_id(value: &[u8], column: usize, problems: &mut Problems) {
    let fix = "use letters and digits only, such as a timestamp: id=20260101T000000";
    if value.is_empty() {
        problems.add(
            column,
            ProblemCode::EmptyValue,
            "id= has no value (RFC 8461 §3.1 requires 1 to 32 letters or digits)",
            fix,
        );
    } else if let Some(bad) = value.iter().position(|b| !b.is_ascii_alphanumeric()) {
        problems.add(
            column + bad,
            ProblemCode::InvalidId,
            format!(
                "{:?} is not allowed in id: only letters and digits (RFC 8461 §3.1)",
                char::from(value[bad])
            ),
            fix,
        );
    } else if value.len() > MAX_ID_LEN {
        problems.add(
            column + MAX_ID_LEN,
            ProblemCode::InvalidId,
            format!(
                "id is {} characters; RFC 8461 §3.1 allows at most {MAX_ID_LEN}",
                value.len()
            ),
            fix,
        );
    }
}

fn missing_id(column: usize, problems: &mut Problems) {
    problems.add(
        column,
        ProblemCode::MissingId,
        "no id= field; RFC 8461 §3.1 requires one, and senders only refetch the policy when it \
         changes",
        "add \"; id=<letters and digits, e.g. 20260101T000000>;\"",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProblemCode::*;

    fn codes(problems: &[RecordProblem]) -> Vec<(usize, ProblemCode)> {
        problems.iter().map(|p| (p.column, p.code)).collect()
    }

    #[test]
    fn rfc_8461_example() {
        let record = StsRecord::parse("v=STSv1; id=20160831085700Z;");
        assert_eq!(record.verdict(), Verdict::Valid, "{record:?}");
        assert_eq!(record.id.as_deref(), Some("20160831085700Z"));
    }

    #[test]
    fn id_grammar() {
        let max = format!("v=STSv1; id={}", "a".repeat(32));
        assert_eq!(StsRecord::parse(&max).verdict(), Verdict::Valid);
        let over = format!("v=STSv1; id={}", "a".repeat(33));
        assert_eq!(codes(&StsRecord::parse(&over).errors), [(45, InvalidId)]);
        assert_eq!(
            codes(&StsRecord::parse("v=STSv1; id=abc-123;").errors),
            [(16, InvalidId)]
        );
        assert_eq!(
            codes(&StsRecord::parse("v=STSv1; id=;").errors),
            [(13, EmptyValue)]
        );
        assert_eq!(
            codes(&StsRecord::parse("v=STSv1;").errors),
            [(9, MissingId)]
        );
    }

    #[test]
    fn second_id_and_extensions_are_ignored_with_warnings() {
        let record = StsRecord::parse("v=STSv1; id=1; id=2; ID=3; max_age=5");
        assert_eq!(record.errors, []);
        assert_eq!(record.id.as_deref(), Some("1"));
        assert_eq!(
            codes(&record.warnings),
            [
                (16, DuplicateField),
                (22, FieldNameCase),
                (28, UnknownField)
            ]
        );
    }

    #[test]
    fn shares_the_record_syntax() {
        assert_eq!(
            codes(&StsRecord::parse("v=STSv1 ; id=1").errors),
            [(8, SpaceAfterVersion)]
        );
        assert_eq!(
            codes(&StsRecord::parse("id=1; v=STSv1").errors),
            [(7, VersionNotFirst)]
        );
        assert_eq!(
            codes(&StsRecord::parse("v=stsv1; id=1").errors),
            [(3, VersionCase)]
        );
        assert_eq!(
            codes(&StsRecord::parse("v=STSv1; id = 1").errors),
            [(12, SpaceAroundEquals)]
        );
    }

    #[test]
    fn selection() {
        let lookup = StsRecord::select(&[vec!["v=STSv1; ", "id=1"], vec!["v=spf1 -all"]]);
        assert_eq!(lookup.selected().and_then(|r| r.id.as_deref()), Some("1"));
    }
}
