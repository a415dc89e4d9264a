//! The syntax both discovery records share: RFC 8460 §3 (TLSRPT) and RFC 8461 §3.1
//! (MTA-STS) define the same shape with different names,
//!
//! ```text
//! record    = version 1*(delim field) [delim]
//! delim     = *WSP ";" *WSP
//! field     = name "=" value                      ; no space around "="
//! ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//! ext-value = 1*(%x21-3A / %x3C / %x3E-7E)       ; printable, no ";" "=" or space
//! ```
//!
//! so one tokenizer reads both, and each record type only interprets its own fields.
//! Positions are byte ranges into the record, reported 1-based as columns.

use std::ops::Range;

use serde::Serialize;

use super::problem::{ProblemCode, Problems, show};

/// A `name=value` field, borrowed from the record.
#[derive(Debug)]
pub(crate) struct Field<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// 1-based columns of the name's and value's first bytes.
    pub name_column: usize,
    pub value_column: usize,
}

/// A field no RFC assigns to this record type. Kept, because RFC 8460 §3 and RFC 8461 §3.1
/// require senders to accept and ignore them, and `check` shows what was ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub name: String,
    pub value: String,
    pub column: usize,
}

fn is_wsp(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Splits `record` into its fields and checks that it begins with exactly `v=<version>`.
/// The version field is not returned; every other field is, even one that follows a
/// misplaced version, so the record type can still report on its contents.
pub(crate) fn tokenize<'a>(
    record: &'a [u8],
    version: &str,
    problems: &mut Problems,
) -> Vec<Field<'a>> {
    check_characters(record, problems);
    let body = unquote(record, problems);
    let raw = split_delimiters(record, body.clone());
    let mut segments = trimmed_segments(record, &raw, problems);
    take_version(record, &mut segments, body.start, version, problems);
    segments
        .into_iter()
        .filter_map(|segment| split_field(record, segment.range, problems))
        .collect()
}

/// Finds the `v=` segment, wherever it is, checks it and removes it, leaving in its place
/// any field that followed it without a `;`.
fn take_version(
    record: &[u8],
    segments: &mut Vec<Segment>,
    body_start: usize,
    version: &str,
    problems: &mut Problems,
) {
    let Some(index) = segments
        .iter()
        .position(|segment| names_version(record, &segment.range))
    else {
        return missing_version(body_start, version, problems);
    };
    if segments[index].raw_index != 0 {
        version_not_first(segments[index].range.start, version, problems);
    }
    let segment = segments.remove(index);
    if let Some(rest) = read_version(record, &segment, version, problems) {
        segments.insert(
            index,
            Segment {
                range: rest,
                ..segment
            },
        );
    }
}

/// Reports the first byte that no record grammar allows (only VCHAR, space and tab). One
/// report is enough: a second usually belongs to the same pasted character.
fn check_characters(record: &[u8], problems: &mut Problems) {
    if let Some(index) = record
        .iter()
        .position(|&b| !(is_wsp(b) || (0x21..=0x7e).contains(&b)))
    {
        problems.add(
            index + 1,
            ProblemCode::InvalidCharacter,
            format!(
                "byte 0x{:02x} is not printable ASCII; the record grammar allows only \
                 printable ASCII, space and tab",
                record[index]
            ),
            "retype the record by hand; copied text often carries invisible or typographic \
             characters",
        );
    }
}

/// Zone editors that want the bare value store `"v=…"` with its quotes as data; the record
/// then does not begin with `v=`. Reported once, and the inside is read on so the author
/// sees any other problem too.
fn unquote(record: &[u8], problems: &mut Problems) -> Range<usize> {
    if record.first() != Some(&b'"') {
        return 0..record.len();
    }
    problems.add(
        1,
        ProblemCode::QuotedRecord,
        "the record begins with a double quote, so the quotes are part of the published text",
        "remove the quotes in your DNS provider's editor; it adds them itself",
    );
    let end = if record.len() > 1 && record.ends_with(b"\"") {
        record.len() - 1
    } else {
        record.len()
    };
    1..end
}

/// Ranges between `;`s. `;` cannot occur inside a field (values exclude it and RFC 8460 §3
/// requires it percent-encoded in URIs), so a plain split is exact.
fn split_delimiters(record: &[u8], body: Range<usize>) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = body.start;
    for index in body.clone() {
        if record[index] == b';' {
            ranges.push(start..index);
            start = index + 1;
        }
    }
    ranges.push(start..body.end);
    ranges
}

/// A non-empty field's range with the delimiter's spaces removed.
#[derive(Debug, Clone)]
struct Segment {
    range: Range<usize>,
    /// Position among all `;`-separated pieces: the version must be piece 0.
    raw_index: usize,
    /// Whether spaces stood between the field and a following `;` (`v=TLSRPTv1 ;`).
    space_before_delim: bool,
}

/// Trims the spaces `delim` allows, reporting those it does not: before the first field
/// and after the last one when no `;` follows. An empty piece is allowed only last, as the
/// optional trailing delimiter.
fn trimmed_segments(record: &[u8], raw: &[Range<usize>], problems: &mut Problems) -> Vec<Segment> {
    let last = raw.len() - 1;
    let mut segments = Vec::new();
    for (raw_index, piece) in raw.iter().enumerate() {
        let range = trim(record, piece.clone());
        if range.is_empty() {
            if raw_index != 0 && raw_index != last {
                empty_field(piece.end, problems);
            }
            continue;
        }
        if raw_index == 0 && range.start > piece.start {
            leading_whitespace(piece.start, problems);
        }
        if raw_index == last && range.end < piece.end {
            trailing_whitespace(range.end, problems);
        }
        segments.push(Segment {
            space_before_delim: raw_index != last && range.end < piece.end,
            range,
            raw_index,
        });
    }
    segments
}

pub(crate) fn trim(record: &[u8], mut range: Range<usize>) -> Range<usize> {
    while range.start < range.end && is_wsp(record[range.start]) {
        range.start += 1;
    }
    while range.end > range.start && is_wsp(record[range.end - 1]) {
        range.end -= 1;
    }
    range
}

fn empty_field(delimiter: usize, problems: &mut Problems) {
    problems.add(
        delimiter + 1,
        ProblemCode::EmptyField,
        "two ';' with no field between them; the grammar needs a field after each ';' \
         except the last",
        "remove the extra ';'",
    );
}

fn leading_whitespace(start: usize, problems: &mut Problems) {
    problems.add(
        start + 1,
        ProblemCode::LeadingWhitespace,
        "the record begins with a space; it must begin with \"v=\" (RFC 8460 §3, RFC 8461 §3.1)",
        "remove the space before \"v=\"",
    );
}

fn trailing_whitespace(end: usize, problems: &mut Problems) {
    problems.add(
        end + 1,
        ProblemCode::TrailingWhitespace,
        "space after the last field; the grammar allows spaces only around ';'",
        "remove the trailing space (or end the record with ';')",
    );
}

/// Whether a segment is a `v=` field, in any case and with any spacing, so that a
/// misspelt version is reported as such rather than as an unknown field.
fn names_version(record: &[u8], segment: &Range<usize>) -> bool {
    record[segment.clone()]
        .iter()
        .position(|&b| b == b'=')
        .is_some_and(|eq| {
            let name = trim(record, segment.start..segment.start + eq);
            record[name].eq_ignore_ascii_case(b"v")
        })
}

fn version_not_first(start: usize, version: &str, problems: &mut Problems) {
    problems.add(
        start + 1,
        ProblemCode::VersionNotFirst,
        format!(
            "\"v={version}\" is not the first field; senders discard records that do not \
             begin with \"v={version};\" (RFC 8460 §3, RFC 8461 §3.1)"
        ),
        format!("move \"v={version};\" to the start of the record"),
    );
}

fn missing_version(start: usize, version: &str, problems: &mut Problems) {
    problems.add(
        start + 1,
        ProblemCode::MissingVersion,
        format!(
            "no \"v={version}\" field; the record must begin with it (RFC 8460 §3, RFC 8461 §3.1)"
        ),
        format!("begin the record with \"v={version}; \""),
    );
}

/// Checks a `v=` segment. The version token ends at the first space or comma; anything
/// after it is a field that lacks its `;` and is returned to be read as one.
fn read_version(
    record: &[u8],
    segment: &Segment,
    version: &str,
    problems: &mut Problems,
) -> Option<Range<usize>> {
    let (name, value) = split_at_equals(record, segment.range.clone(), problems)?;
    let token_end = (value.start..value.end)
        .find(|&i| is_wsp(record[i]) || record[i] == b',')
        .unwrap_or(value.end);
    check_version_token(record, name, value.start..token_end, version, problems);
    if token_end == value.end {
        if segment.space_before_delim && segment.raw_index == 0 {
            space_after_version(value.end, version, problems);
        }
        return None;
    }
    missing_delimiter(token_end, version, problems);
    let rest = trim(record, token_end..value.end);
    let rest = match record.get(rest.start) {
        Some(b',') => trim(record, rest.start + 1..rest.end),
        _ => rest,
    };
    (!rest.is_empty()).then_some(rest)
}

fn check_version_token(
    record: &[u8],
    name: Range<usize>,
    token: Range<usize>,
    version: &str,
    problems: &mut Problems,
) {
    let found = &record[token.clone()];
    let name_exact = &record[name.clone()] == b"v";
    if name_exact && found == version.as_bytes() {
        return;
    }
    if found.eq_ignore_ascii_case(version.as_bytes()) {
        let column = if name_exact { token.start } else { name.start } + 1;
        problems.add(
            column,
            ProblemCode::VersionCase,
            format!(
                "\"{}={}\" is not \"v={version}\": the version is case-sensitive \
                 (RFC 7405 %s string in RFC 8460 §3 / RFC 8461 §3.1)",
                show(&record[name]),
                show(found)
            ),
            format!("write exactly \"v={version}\""),
        );
    } else {
        problems.add(
            token.start + 1,
            ProblemCode::WrongVersion,
            format!("version \"{}\" is not \"{version}\"", show(found)),
            format!(
                "write exactly \"v={version}\"; a DMARC, SPF or other record at this name \
                 belongs at its own name"
            ),
        );
    }
}

fn space_after_version(end: usize, version: &str, problems: &mut Problems) {
    problems.add(
        end + 1,
        ProblemCode::SpaceAfterVersion,
        format!(
            "space between \"v={version}\" and ';'. The grammar's delimiter allows it, but \
             the same section tells senders to discard every record that does not begin \
             with exactly \"v={version};\" (RFC 8460 §3, RFC 8461 §3.1; RFC 8461 erratum 6285 reports \
             the contradiction), so conforming senders ignore this record"
        ),
        format!("write \"v={version};\" with no space before ';'"),
    );
}

fn missing_delimiter(end: usize, version: &str, problems: &mut Problems) {
    problems.add(
        end + 1,
        ProblemCode::MissingDelimiter,
        format!("\"v={version}\" is followed by another field without a ';' between them"),
        format!("put ';' right after \"v={version}\""),
    );
}

/// Splits `name=value`, reporting a missing `=`, spaces around it (the grammar has none:
/// RFC 8460 §3 `"rua="`, RFC 8461 §3.1 `"id="`) and a bad name.
fn split_field<'a>(
    record: &'a [u8],
    segment: Range<usize>,
    problems: &mut Problems,
) -> Option<Field<'a>> {
    let (name, value) = split_at_equals(record, segment, problems)?;
    if let Some(bad) = bad_name_byte(&record[name.clone()]) {
        problems.add(
            name.start + bad + 1,
            ProblemCode::InvalidFieldName,
            format!(
                "{:?} is not a field name: names are a letter or digit followed by up to 31 \
                 letters, digits, '_', '-' or '.'",
                show(&record[name.clone()])
            ),
            "correct the field name",
        );
        return None;
    }
    Some(Field {
        name: &record[name.clone()],
        value: &record[value.clone()],
        name_column: name.start + 1,
        value_column: value.start + 1,
    })
}

fn split_at_equals(
    record: &[u8],
    segment: Range<usize>,
    problems: &mut Problems,
) -> Option<(Range<usize>, Range<usize>)> {
    let Some(eq) = (segment.clone()).find(|&i| record[i] == b'=') else {
        problems.add(
            segment.start + 1,
            ProblemCode::InvalidField,
            format!("{:?} is not a name=value field", show(&record[segment])),
            "write the field as name=value, or remove it",
        );
        return None;
    };
    let name = trim(record, segment.start..eq);
    let value = trim(record, eq + 1..segment.end);
    if name.end < eq || value.start > eq + 1 {
        let space = if name.end < eq { name.end } else { eq + 1 };
        problems.add(
            space + 1,
            ProblemCode::SpaceAroundEquals,
            format!(
                "space around '=' in {:?}; the grammar has none (RFC 8460 §3, RFC 8461 §3.1)",
                show(&record[segment])
            ),
            format!(
                "write {}={}",
                show(&record[name.clone()]),
                show(&record[value.clone()])
            ),
        );
    }
    Some((name, value))
}

/// Offset of the first byte that breaks `ext-name`, or `None` when it is valid. An empty
/// name breaks at 0.
fn bad_name_byte(name: &[u8]) -> Option<usize> {
    match name.first() {
        None => Some(0),
        Some(first) if !first.is_ascii_alphanumeric() => Some(0),
        _ if name.len() > 32 => Some(32),
        _ => name
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))),
    }
}

/// Reads a field as an extension, checking `ext-value`.
pub(crate) fn read_extension(field: &Field, problems: &mut Problems) -> Extension {
    if field.value.is_empty() {
        problems.add(
            field.value_column,
            ProblemCode::EmptyValue,
            format!(
                "{:?} has no value; the grammar needs at least one character",
                show(field.name)
            ),
            "give the field a value or remove it",
        );
    } else if let Some(bad) = field
        .value
        .iter()
        .position(|&b| !(0x21..=0x7e).contains(&b) || b == b'=')
    {
        problems.add(
            field.value_column + bad,
            ProblemCode::InvalidValue,
            format!(
                "{:?} in the value of {:?}; values are printable ASCII without space, ';' \
                 or '='",
                char::from(field.value[bad]),
                show(field.name)
            ),
            "remove the character, or percent-encode it if the value is a URI",
        );
    }
    Extension {
        name: show(field.name),
        value: show(field.value),
        column: field.name_column,
    }
}

/// Warns about a field senders ignore: a second copy of a single-valued field (the first
/// counts), a known name in the wrong case (names are case-sensitive `%s` strings), or a
/// name no RFC defines.
pub(crate) fn note_ignored(field: &Field, known: &[&str], problems: &mut Problems) {
    let name = show(field.name);
    match known.iter().find(|k| k.eq_ignore_ascii_case(&name)) {
        Some(known) if *known == name => problems.add(
            field.name_column,
            ProblemCode::DuplicateField,
            format!("a second {name:?} field; senders use the first one"),
            "remove the duplicate",
        ),
        Some(known) => problems.add(
            field.name_column,
            ProblemCode::FieldNameCase,
            format!(
                "{name:?} is not {known:?}: field names are case-sensitive, so senders ignore it"
            ),
            format!("write {known:?} in lower case"),
        ),
        None => problems.add(
            field.name_column,
            ProblemCode::UnknownField,
            format!("{name:?} is not a defined field; senders ignore it"),
            "remove it unless you know a sender that reads it",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Name, value, name column, value column.
    type Read = Vec<(String, String, usize, usize)>;

    fn run(record: &str) -> (Read, Vec<(usize, ProblemCode)>) {
        let mut problems = Problems::default();
        let fields = tokenize(record.as_bytes(), "TLSRPTv1", &mut problems)
            .iter()
            .map(|f| (show(f.name), show(f.value), f.name_column, f.value_column))
            .collect();
        let found = problems
            .into_all()
            .into_iter()
            .map(|p| (p.column, p.code))
            .collect();
        (fields, found)
    }

    fn owned(fields: &[(&str, &str, usize, usize)]) -> Read {
        fields
            .iter()
            .map(|(n, v, a, b)| ((*n).to_owned(), (*v).to_owned(), *a, *b))
            .collect()
    }

    #[test]
    fn delim_allows_spaces_and_tabs_around_semicolon_and_a_trailing_delim() {
        let (fields, problems) = run("v=TLSRPTv1;\t a=1 \t; b=2 ; ");
        assert_eq!(problems, []);
        assert_eq!(fields, owned(&[("a", "1", 14, 16), ("b", "2", 21, 23)]));
    }

    #[test]
    fn version_alone_yields_no_fields_and_no_problem_here() {
        assert_eq!(run("v=TLSRPTv1"), (vec![], vec![]));
        assert_eq!(run("v=TLSRPTv1;"), (vec![], vec![]));
    }

    #[test]
    fn version_problems() {
        use ProblemCode::*;
        assert_eq!(run("v=tlsrptv1;a=1").1, [(3, VersionCase)]);
        assert_eq!(run("V=TLSRPTv1;a=1").1, [(1, VersionCase)]);
        assert_eq!(run("v=TLSRPT1;a=1").1, [(3, WrongVersion)]);
        assert_eq!(run("v=TLSRPTv1 ;a=1").1, [(11, SpaceAfterVersion)]);
        assert_eq!(run("v = TLSRPTv1;a=1").1, [(2, SpaceAroundEquals)]);
        assert_eq!(run("a=1; v=TLSRPTv1").1, [(6, VersionNotFirst)]);
        assert_eq!(run("a=1").1, [(1, MissingVersion)]);
        assert_eq!(run("").1, [(1, MissingVersion)]);
        assert_eq!(run(" v=TLSRPTv1;a=1").1, [(1, LeadingWhitespace)]);
    }

    #[test]
    fn field_after_version_without_delimiter_is_still_read() {
        let (fields, problems) = run("v=TLSRPTv1 a=1");
        assert_eq!(problems, [(11, ProblemCode::MissingDelimiter)]);
        assert_eq!(fields, owned(&[("a", "1", 12, 14)]));
        let (fields, problems) = run("v=TLSRPTv1,a=1");
        assert_eq!(problems, [(11, ProblemCode::MissingDelimiter)]);
        assert_eq!(fields, owned(&[("a", "1", 12, 14)]));
    }

    #[test]
    fn field_problems() {
        use ProblemCode::*;
        assert_eq!(run("v=TLSRPTv1;;a=1").1, [(12, EmptyField)]);
        assert_eq!(run("v=TLSRPTv1; a").1, [(13, InvalidField)]);
        assert_eq!(run("v=TLSRPTv1; =1").1, [(13, InvalidFieldName)]);
        assert_eq!(run("v=TLSRPTv1; _a=1").1, [(13, InvalidFieldName)]);
        assert_eq!(run("v=TLSRPTv1; a!=1").1, [(14, InvalidFieldName)]);
        let long = format!("v=TLSRPTv1; a{}=1", "b".repeat(32));
        assert_eq!(run(&long).1, [(45, InvalidFieldName)]);
        let longest = format!("v=TLSRPTv1; a{}=1", "b".repeat(31));
        assert_eq!(run(&longest).1, []);
        assert_eq!(run("v=TLSRPTv1; a =1").1, [(14, SpaceAroundEquals)]);
        assert_eq!(run("v=TLSRPTv1; a= 1").1, [(15, SpaceAroundEquals)]);
        assert_eq!(run("v=TLSRPTv1; a=1 ").1, [(16, TrailingWhitespace)]);
    }

    #[test]
    fn quotes_and_bad_bytes() {
        use ProblemCode::*;
        let (fields, problems) = run("\"v=TLSRPTv1; a=1\"");
        assert_eq!(problems, [(1, QuotedRecord)]);
        assert_eq!(fields, owned(&[("a", "1", 14, 16)]));
        assert_eq!(run("v=TLSRPTv1; a=\u{a0}1").1, [(15, InvalidCharacter)]);
        assert_eq!(
            run("v=TLSRPTv1;\na=1").1,
            [(12, InvalidCharacter), (12, InvalidFieldName)]
        );
    }

    #[test]
    fn extension_values() {
        let check = |record: &str| {
            let mut problems = Problems::default();
            let fields = tokenize(record.as_bytes(), "STSv1", &mut problems);
            let extension = read_extension(&fields[0], &mut problems);
            (extension, problems.into_all())
        };
        let (extension, problems) = check("v=STSv1; x.y-z_1=!:<>~");
        assert_eq!(problems, []);
        assert_eq!(
            extension,
            Extension {
                name: "x.y-z_1".into(),
                value: "!:<>~".into(),
                column: 10
            }
        );
        assert_eq!(check("v=STSv1; x=a=b").1[0].column, 13);
        assert_eq!(check("v=STSv1; x=a b").1[0].code, ProblemCode::InvalidValue);
        assert_eq!(check("v=STSv1; x=").1[0].code, ProblemCode::EmptyValue);
    }
}
