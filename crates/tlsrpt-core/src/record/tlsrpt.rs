//! The TLSRPT policy record at `_smtp._tls.<policy domain>` (RFC 8460 §3):
//!
//! ```text
//! tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
//! tlsrpt-version = %s"v=TLSRPTv1"
//! tlsrpt-field   = tlsrpt-rua / tlsrpt-extension      ; rua is required
//! tlsrpt-rua     = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
//! ```

use serde::Serialize;

use super::fields::{self, Extension, Field, note_ignored, read_extension, tokenize};
use super::problem::{ProblemCode, Problems, RecordProblem, Verdict, show};
use super::rua::{self, RuaUri};
use super::select::{self, Lookup, RecordType};

/// The version token, without `v=`.
pub const VERSION: &str = "TLSRPTv1";

const RECORD_TYPE: RecordType = RecordType {
    name: "TLSRPT",
    version: VERSION,
    section: "RFC 8460 §3",
};

const KNOWN: &[&str] = &["v", "rua"];

/// DMARC tags (RFC 7489 §6.3) that people copy from their DMARC record. They are valid
/// extensions here and ignored, which their author rarely intends.
const DMARC_TAGS: &[&str] = &[
    "adkim", "aspf", "fo", "np", "p", "pct", "rf", "ri", "ruf", "sp",
];

/// A parsed TLSRPT record. Always returned, with every problem found, so `check` can
/// report them all at once; [`TlsrptRecord::verdict`] sums them up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsrptRecord {
    /// Valid URIs of every `rua=` field, in order, each once. RFC 8460 §3 allows more than
    /// one URI; it says nothing of more than one field, and the union is the only reading
    /// that loses no destination.
    pub rua: Vec<RuaUri>,
    pub extensions: Vec<Extension>,
    pub errors: Vec<RecordProblem>,
    pub warnings: Vec<RecordProblem>,
}

impl TlsrptRecord {
    /// Parses one record's text: one RR's character-strings already joined, as bytes.
    pub fn parse(record: impl AsRef<[u8]>) -> TlsrptRecord {
        let record = record.as_ref();
        let mut problems = Problems::default();
        let mut parsed = TlsrptRecord {
            rua: Vec::new(),
            extensions: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let mut rua_fields = 0;
        for field in tokenize(record, VERSION, &mut problems) {
            if field.name == b"rua" {
                rua_fields += 1;
                if rua_fields > 1 {
                    multiple_rua(&field, &mut problems);
                }
                parsed.read_rua(&field, &mut problems);
            } else {
                parsed
                    .extensions
                    .push(read_extension(&field, &mut problems));
                note_extension(&field, &mut problems);
            }
        }
        if rua_fields == 0 {
            missing_rua(record.len() + 1, &mut problems);
        }
        (parsed.errors, parsed.warnings) = problems.finish();
        parsed
    }

    /// Picks the record among all TXT RRs at `_smtp._tls.<domain>`; see [`Lookup`].
    pub fn select<T: AsRef<[S]>, S: AsRef<[u8]>>(rrs: &[T]) -> Lookup<TlsrptRecord> {
        select::select(rrs, &RECORD_TYPE, |joined: &[u8]| {
            TlsrptRecord::parse(joined)
        })
    }

    pub fn verdict(&self) -> Verdict {
        Verdict::of(&self.errors, &self.warnings)
    }

    /// `uri *(*WSP "," *WSP uri)`: splits on commas (a comma inside a URI must be encoded,
    /// §3), so every URI is checked even when an earlier one is broken.
    fn read_rua(&mut self, field: &Field, problems: &mut Problems) {
        if field.value.is_empty() {
            return problems.add(
                field.value_column,
                ProblemCode::EmptyValue,
                "rua= has no URI (RFC 8460 §3 requires at least one)",
                "write rua=mailto:tlsrpt@<your domain> or rua=https://<your endpoint>",
            );
        }
        let mut start = 0;
        for item in field.value.split(|&b| b == b',') {
            self.read_list_item(field, start..start + item.len(), problems);
            start += item.len() + 1;
        }
    }

    fn read_list_item(
        &mut self,
        field: &Field,
        item: std::ops::Range<usize>,
        problems: &mut Problems,
    ) {
        let uri = fields::trim(field.value, item.clone());
        if uri != item {
            let space = if uri.start > item.start {
                item.start
            } else {
                uri.end
            };
            space_around_comma(field.value_column + space, problems);
        }
        if uri.is_empty() {
            return empty_uri(field.value_column + item.start, problems);
        }
        let Some(parsed) = rua::read(
            &field.value[uri.clone()],
            field.value_column + uri.start,
            problems,
        ) else {
            return;
        };
        if self.rua.iter().any(|known| known.uri == parsed.uri) {
            duplicate_uri(&parsed, field.value_column + uri.start, problems);
        } else {
            self.rua.push(parsed);
        }
    }
}

fn multiple_rua(field: &Field, problems: &mut Problems) {
    problems.add(
        field.name_column,
        ProblemCode::MultipleRua,
        "a second rua= field; its URIs are used along with the first's, but RFC 8460 §3 only \
         describes a list in one field and some senders read only one",
        "merge the fields: rua=<uri>,<uri>",
    );
}

fn space_around_comma(column: usize, problems: &mut Problems) {
    problems.add(
        column,
        ProblemCode::SpaceAroundComma,
        "space next to a comma in the rua list; RFC 8460 §3 allows it, but some senders split \
         on ',' alone and then reject the URI that starts with a space",
        "remove the spaces around ','",
    );
}

fn empty_uri(column: usize, problems: &mut Problems) {
    problems.add(
        column,
        ProblemCode::EmptyUri,
        "empty entry in the rua list (two commas, or a comma at the start or end)",
        "remove the extra ','",
    );
}

fn duplicate_uri(uri: &RuaUri, column: usize, problems: &mut Problems) {
    problems.add(
        column,
        ProblemCode::DuplicateUri,
        format!(
            "{:?} is listed twice; reporters may send each report twice",
            uri.uri
        ),
        "list each URI once",
    );
}

fn missing_rua(column: usize, problems: &mut Problems) {
    problems.add(
        column,
        ProblemCode::MissingRua,
        "no rua= field; RFC 8460 §3 requires one, and without it reporters have nowhere to \
         send reports",
        "add \"; rua=mailto:tlsrpt@<your domain>\"",
    );
}

fn note_extension(field: &Field, problems: &mut Problems) {
    let name = show(field.name);
    if DMARC_TAGS.contains(&name.as_str()) {
        problems.add(
            field.name_column,
            ProblemCode::DmarcTag,
            format!(
                "{name:?} is a DMARC tag (RFC 7489 §6.3); TLSRPT defines only rua, so senders \
                 ignore it (RFC 8460 §3)"
            ),
            format!("remove {name:?}; TLSRPT has no failure reports or policy"),
        );
    } else {
        note_ignored(field, KNOWN, problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RuaTarget;
    use ProblemCode::*;

    fn codes(problems: &[RecordProblem]) -> Vec<(usize, ProblemCode)> {
        problems.iter().map(|p| (p.column, p.code)).collect()
    }

    fn uris(record: &TlsrptRecord) -> Vec<&str> {
        record.rua.iter().map(|uri| uri.uri.as_str()).collect()
    }

    #[test]
    fn rfc_8460_section_3_1_examples() {
        let mail = TlsrptRecord::parse("v=TLSRPTv1;rua=mailto:reports@example.com");
        assert_eq!(mail.verdict(), Verdict::Valid, "{mail:?}");
        assert_eq!(
            mail.rua[0].target,
            RuaTarget::Mailto {
                addresses: vec!["reports@example.com".into()]
            }
        );
        let web = TlsrptRecord::parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt");
        assert_eq!(web.verdict(), Verdict::Valid, "{web:?}");
        assert_eq!(
            web.rua[0].target,
            RuaTarget::Https {
                host: "reporting.example.com".into()
            }
        );
    }

    #[test]
    fn rua_list_separators() {
        let tight = TlsrptRecord::parse("v=TLSRPTv1;rua=mailto:a@x.example,https://x.example/r");
        assert_eq!(tight.verdict(), Verdict::Valid);
        assert_eq!(uris(&tight), ["mailto:a@x.example", "https://x.example/r"]);
        let spaced =
            TlsrptRecord::parse("v=TLSRPTv1;rua=mailto:a@x.example \t, mailto:b@x.example");
        assert_eq!(spaced.errors, []);
        assert_eq!(
            codes(&spaced.warnings),
            [(34, SpaceAroundComma), (37, SpaceAroundComma)]
        );
        assert_eq!(uris(&spaced).len(), 2);
    }

    #[test]
    fn rua_list_errors_point_at_each_bad_item() {
        let record = TlsrptRecord::parse("v=TLSRPTv1;rua=mailto:a@x.example,,http://x.example,");
        assert_eq!(
            codes(&record.errors),
            [(35, EmptyUri), (36, UnsupportedScheme), (53, EmptyUri)]
        );
        assert_eq!(uris(&record), ["mailto:a@x.example"]);
    }

    #[test]
    fn several_rua_fields_are_a_union() {
        let record = TlsrptRecord::parse(
            "v=TLSRPTv1;rua=mailto:a@x.example;rua=mailto:b@x.example,mailto:a@x.example",
        );
        assert_eq!(record.errors, []);
        assert_eq!(
            codes(&record.warnings),
            [(35, MultipleRua), (58, DuplicateUri)]
        );
        assert_eq!(uris(&record), ["mailto:a@x.example", "mailto:b@x.example"]);
    }

    #[test]
    fn missing_and_empty_rua() {
        assert_eq!(
            codes(&TlsrptRecord::parse("v=TLSRPTv1").errors),
            [(11, MissingRua)]
        );
        assert_eq!(
            codes(&TlsrptRecord::parse("v=TLSRPTv1;").errors),
            [(12, MissingRua)]
        );
        assert_eq!(
            codes(&TlsrptRecord::parse("v=TLSRPTv1; rua=").errors),
            [(17, EmptyValue)]
        );
    }

    #[test]
    fn extensions_are_kept_and_flagged() {
        let record = TlsrptRecord::parse(
            "v=TLSRPTv1; rua=mailto:a@x.example; ruf=mailto:b@x.example; x-note=hi; RUA=y; v=TLSRPTv1",
        );
        assert_eq!(record.errors, []);
        assert_eq!(
            codes(&record.warnings),
            [
                (37, DmarcTag),
                (61, UnknownField),
                (72, FieldNameCase),
                (79, DuplicateField)
            ]
        );
        let names: Vec<&str> = record.extensions.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["ruf", "x-note", "RUA", "v"]);
        assert_eq!(record.verdict(), Verdict::ValidWithWarnings);
    }

    #[test]
    fn uri_problem_columns_are_record_columns() {
        let record = TlsrptRecord::parse("v=TLSRPTv1;rua=mailto:a@x.example!10m");
        assert_eq!(codes(&record.errors), [(34, SizeSuffix)]);
        assert_eq!(record.errors[0].fix, "remove \"!10m\"");
    }

    #[test]
    fn selection_per_section_3() {
        let one = TlsrptRecord::select(&[
            vec!["v=spf1 -all"],
            vec!["v=TLSRPTv1;", "rua=mailto:a@x.example"],
        ]);
        assert_eq!(one.outcome, select::Outcome::Selected { index: 1 });
        assert_eq!(one.records[1].text, "v=TLSRPTv1;rua=mailto:a@x.example");
        assert_eq!(one.selected().unwrap().verdict(), Verdict::Valid);

        let spaced = TlsrptRecord::select(&[vec![b"v=TLSRPTv1 ; rua=mailto:a@x.example".to_vec()]]);
        let select::Outcome::NoRecord { reason, message } = &spaced.outcome else {
            panic!("{spaced:?}")
        };
        assert_eq!(*reason, select::NoRecordReason::NoCandidate);
        assert!(message.contains("fits the grammar"), "{message}");
        assert_eq!(
            codes(&spaced.records[0].parsed.errors),
            [(11, SpaceAfterVersion)]
        );

        let two = TlsrptRecord::select(&[["v=TLSRPTv1;rua=mailto:a@x.example"]; 2]);
        assert!(matches!(
            two.outcome,
            select::Outcome::NoRecord {
                reason: select::NoRecordReason::SeveralCandidates,
                ..
            }
        ));
        assert!(two.selected().is_none());

        let none = TlsrptRecord::select::<Vec<&str>, &str>(&[]);
        assert!(matches!(
            none.outcome,
            select::Outcome::NoRecord {
                reason: select::NoRecordReason::NoTxtRecords,
                ..
            }
        ));
    }
}
