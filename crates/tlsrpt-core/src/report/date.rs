//! `date-range` (RFC 8460 §4.1, §4.4; RFC 3339 §5.6), normalised to a half-open UTC interval.

use chrono::{DateTime, FixedOffset, NaiveTime, TimeDelta, Timelike, Utc};

use super::path::{Path, Sink};
use super::raw::{RawDateRange, Slot};
use super::{DateRange, ParseError, ParseErrorKind, format_utc};
use crate::DiagnosticCode;

/// Reads `date-range`. A report without a usable range cannot be placed in time, so a missing
/// or unparseable date, or an end not after the start, is an error.
pub(super) fn date_range(
    raw: Slot<RawDateRange>,
    sink: &mut Sink,
) -> Result<DateRange, ParseError> {
    let root = Path::Root;
    let path = root.key("date-range");
    let raw = raw.required(&path)?;
    let start_path = path.key("start-datetime");
    let end_path = path.key("end-datetime");
    let start_raw = raw.start.required(&start_path)?;
    let end_raw = raw.end.required(&end_path)?;
    let start = date_time(&start_raw, &start_path, sink)?.to_utc();
    let end = exclusive_end(date_time(&end_raw, &end_path, sink)?, &end_path, sink);
    if end <= start {
        return Err(ParseError::new(
            ParseErrorKind::Invalid,
            end_path.render(),
            format!("`{end_raw}` is not after start-datetime `{start_raw}`"),
        ));
    }
    if start.time() != NaiveTime::MIN || end - start != TimeDelta::days(1) {
        sink.note(
            DiagnosticCode::NotOneDay,
            &path,
            format!(
                "covers [{}, {}), not one whole UTC day (RFC 8460 §4.1 SHOULD)",
                format_utc(&start),
                format_utc(&end)
            ),
        );
    }
    Ok(DateRange {
        start,
        end,
        start_raw,
        end_raw,
    })
}

/// Parses an RFC 3339 `date-time` (chrono also accepts lowercase `t`/`z`, fractional
/// seconds and leap second 60, all of which RFC 3339 allows).
fn date_time(raw: &str, path: &Path, sink: &mut Sink) -> Result<DateTime<FixedOffset>, ParseError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at);
    }
    // Microsoft, 2023 (mox testdata tlsreports/microsoft.eml): "2023-01-10T00:00:00", no UTC
    // offset at all. The report day is a UTC day (§4.1), so read it as UTC. Appending `Z`
    // reuses the exact RFC 3339 grammar for everything before the offset.
    if let Ok(at) = DateTime::parse_from_rfc3339(&format!("{raw}Z")) {
        sink.note(
            DiagnosticCode::DateWithoutOffset,
            path,
            "no UTC offset (RFC 3339 §5.6 requires one); read as UTC",
        );
        return Ok(at);
    }
    Err(ParseError::new(
        ParseErrorKind::Invalid,
        path.render(),
        format!("`{raw}` is not an RFC 3339 date-time"),
    ))
}

/// Turns an inclusive end into the exclusive end of the half-open model.
///
/// RFC 8460 App. B and Google end the day at `T23:59:59Z`, Mail.ru and Stalwart at the next
/// day's `T00:00:00Z` (SPEC §2.4). An end at hh:59:59, optionally followed by a fraction of
/// nines (`.999`), is the last instant inside the range and moves up to the next whole second;
/// any other end already is exclusive.
fn exclusive_end(end: DateTime<FixedOffset>, path: &Path, sink: &mut Sink) -> DateTime<Utc> {
    let inclusive = end.minute() == 59 && end.second() == 59 && is_nines(end.nanosecond());
    // `timestamp()` ignores the fraction and counts a leap second as :59.
    if inclusive && let Some(next) = DateTime::from_timestamp(end.timestamp() + 1, 0) {
        sink.note(
            DiagnosticCode::InclusiveEnd,
            path,
            "inclusive end (hh:59:59); read as the exclusive end one second later",
        );
        return next;
    }
    end.to_utc()
}

/// Whether a nanosecond field is zero or a decimal fraction of nines (.9, .99, … .999999999).
/// A leap second (`:60`) arrives as 59 s with 10^9 extra nanoseconds, so it counts as `:59`.
fn is_nines(nanos: u32) -> bool {
    const SECOND: u32 = 1_000_000_000;
    let fraction = nanos % SECOND;
    fraction == 0 || (0..9).any(|digits| fraction == SECOND - 10u32.pow(digits))
}

#[cfg(test)]
mod tests {
    use super::is_nines;

    #[test]
    fn nines_are_fractions_of_nines_only() {
        for nines in [
            0,
            900_000_000,
            990_000_000,
            999_000_000,
            999_999_999,
            1_000_000_000,
        ] {
            assert!(is_nines(nines), "{nines}");
        }
        for other in [500_000_000, 999_999_998, 90_000_000, 1] {
            assert!(!is_nines(other), "{other}");
        }
    }
}
