//! The dashboard, JSON API and export queries (see `crate::dashboard`), once for both
//! backends.
//!
//! Each query is SQLite SQL with `?` parameters, and the little PostgreSQL needs beyond it
//! inside `/*pg … */` comments, which SQLite skips and [`postgres_sql`] turns into SQL (it
//! also numbers the parameters `$1, $2, …`). What goes there, and why:
//! * `::date` on day parameters and `::text` on day results: PostgreSQL stores days as
//!   DATE, SQLite as 'YYYY-MM-DD' text; both answer text.
//! * `::bigint` on sums (PostgreSQL sums BIGINT into NUMERIC).
//! * `COLLATE "C"` and `NULLS FIRST` where text is sorted, so PostgreSQL sorts bytewise with
//!   NULLs first, as SQLite does, whatever the database's locale.
//! * `range_day` in joins between a report's rows: PostgreSQL partitions them by month of
//!   `range_day` (migrations/postgres/0001), and the extra equality keeps each lookup in one
//!   partition. Where a query filters reports by day, the same day range on each partitioned
//!   table (by the parameters' numbers, `$2`) lets PostgreSQL skip the other months'
//!   partitions, instead of probing every month of a domain's policies.
//!
//! Columns are named (`AS …`) and read by name through [`Columns`], so one decoder serves
//! both backends' rows. Indexes in `0003_dashboard.sql`.

use chrono::NaiveDate;
use tlsrpt_core::{PolicyType, ResultType};

use crate::dashboard::{
    DomainDay, ExportFilter, FailureGroup, FailureRow, FailureSpan, PolicyContext, PolicyRow,
    PolicySeen, Provenance, ReportContext, ReportFilter, ReportListing,
};
use crate::decode::{Columns, authentication, json_array, unsigned};
use crate::model::{CheckChange, DomainCheck};
use crate::prepare::{day_text, from_us, parse_day};
use crate::{
    AuthResult, Origin, RawBlob, ReportId, StoreCounts, StoreError, StoredSubmission, SubmissionId,
};

/// A query to run: its SQL (in the SQLite form above) and its parameters, in order.
pub(crate) struct Statement<'a> {
    pub sql: &'static str,
    pub params: Vec<Param<'a>>,
}

/// A parameter value; each backend binds it with its own driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param<'a> {
    Int(i64),
    Text(Option<&'a str>),
    Flag(Option<bool>),
}

/// `query` with `params` bound, for either backend's driver.
fn bind<'q, 'p, DB: sqlx::Database>(
    mut query: sqlx::query::Query<'q, DB, DB::Arguments>,
    params: &[Param<'p>],
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    i64: sqlx::Encode<'p, DB> + sqlx::Type<DB>,
    Option<&'p str>: sqlx::Encode<'p, DB> + sqlx::Type<DB>,
    Option<bool>: sqlx::Encode<'p, DB> + sqlx::Type<DB>,
{
    for param in params {
        query = match *param {
            Param::Int(value) => query.bind(value),
            Param::Text(value) => query.bind(value),
            Param::Flag(value) => query.bind(value),
        };
    }
    query
}

/// Every row of `sql` with `params`, decoded; `db_error` is the backend's error mapping.
pub(crate) async fn fetch_all<'c, 'p, DB, T>(
    executor: impl sqlx::Executor<'c, Database = DB>,
    sql: impl sqlx::SqlSafeStr,
    params: &[Param<'p>],
    db_error: fn(sqlx::Error) -> StoreError,
) -> Result<Vec<T>, StoreError>
where
    DB: sqlx::Database,
    DB::Row: Columns,
    DB::Arguments: sqlx::IntoArguments<DB>,
    T: FromColumns,
    i64: sqlx::Encode<'p, DB> + sqlx::Type<DB>,
    Option<&'p str>: sqlx::Encode<'p, DB> + sqlx::Type<DB>,
    Option<bool>: sqlx::Encode<'p, DB> + sqlx::Type<DB>,
{
    bind(sqlx::query(sql), params)
        .fetch_all(executor)
        .await
        .map_err(db_error)?
        .iter()
        .map(T::from_columns)
        .collect()
}

/// One result row decoded into a read model, whichever backend produced it.
pub(crate) trait FromColumns: Sized {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError>;
}

/// `sql` for PostgreSQL: `/*pg X*/` becomes ` X`, the n-th `?` outside string literals `$n`.
pub(crate) fn postgres_sql(sql: &str) -> String {
    const OPEN: &str = "/*pg";
    let mut out = String::with_capacity(sql.len() + 64);
    let mut n = 0;
    let mut rest = sql;
    let mut quoted = false;
    while let Some(c) = rest.chars().next() {
        if !quoted && rest.starts_with(OPEN) {
            let end = rest.find("*/").expect("every /*pg comment is closed");
            out.push_str(&rest[OPEN.len()..end]);
            rest = &rest[end + 2..];
            continue;
        }
        match c {
            '\'' => quoted = !quoted,
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
                rest = &rest[1..];
                continue;
            }
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Day bounds standing for an open end of a range: below and above every stored day, in
/// each backend's comparison (SQLite compares text; PostgreSQL parses these as dates).
pub(crate) struct OpenDays {
    pub first: &'static str,
    pub last: &'static str,
}

pub(crate) const SQLITE_OPEN_DAYS: OpenDays = OpenDays {
    first: "",
    last: "9999-12-31",
};
pub(crate) const POSTGRES_OPEN_DAYS: OpenDays = OpenDays {
    first: "-infinity",
    last: "infinity",
};

fn day_param(day: &NaiveDate) -> String {
    day_text(day)
}

/// Days as the queries bind them; kept alive by the caller for the statement's lifetime.
pub(crate) struct DayRange {
    from: String,
    to: String,
}

impl DayRange {
    pub fn closed(from: NaiveDate, to: NaiveDate) -> DayRange {
        DayRange {
            from: day_param(&from),
            to: day_param(&to),
        }
    }

    pub fn open(from: Option<NaiveDate>, to: Option<NaiveDate>, open: &OpenDays) -> DayRange {
        DayRange {
            from: from.map_or_else(|| open.first.to_owned(), |d| day_param(&d)),
            to: to.map_or_else(|| open.last.to_owned(), |d| day_param(&d)),
        }
    }

    fn params(&self) -> [Param<'_>; 2] {
        [Param::Text(Some(&self.from)), Param::Text(Some(&self.to))]
    }
}

pub(crate) fn domain_days(days: &DayRange) -> Statement<'_> {
    Statement {
        sql: "SELECT policy_domain, day/*pg ::text*/ AS day, \
              sum(successful)/*pg ::bigint*/ AS successful, sum(failed)/*pg ::bigint*/ AS failed, \
              sum(reports)/*pg ::bigint*/ AS reports \
              FROM daily_policy_rollups WHERE day BETWEEN ?/*pg ::date*/ AND ?/*pg ::date*/ \
              GROUP BY policy_domain, day ORDER BY policy_domain/*pg COLLATE \"C\"*/, day",
        params: days.params().to_vec(),
    }
}

impl FromColumns for DomainDay {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(DomainDay {
            policy_domain: row.text("policy_domain")?,
            day: parse_day(&row.text("day")?)?,
            successful: unsigned(row.int("successful")?)?,
            failed: unsigned(row.int("failed")?)?,
            reports: unsigned(row.int("reports")?)?,
        })
    }
}

pub(crate) fn policies_seen<'a>(policy_domain: &'a str, days: &'a DayRange) -> Statement<'a> {
    let [from, to] = days.params();
    Statement {
        sql: "SELECT p.policy_type AS policy_type, p.policy_string AS policy_string, \
              p.mx_host AS mx_host, coalesce(r.organization_name, '') AS organization, \
              min(r.range_day)/*pg ::text*/ AS first_day, \
              max(r.range_day)/*pg ::text*/ AS last_day, count(*) AS policies, \
              sum(p.successful)/*pg ::bigint*/ AS successful, \
              sum(p.failed)/*pg ::bigint*/ AS failed, \
              (p.policy_type = 'tlsa' AND EXISTS (SELECT 1 FROM policies q \
                WHERE q.report_id = p.report_id/*pg AND q.range_day = p.range_day*/ \
                AND (q.policy_domain <> p.policy_domain \
                OR q.mx_host LIKE '%\"' || p.policy_domain || '\"%'))) AS dane \
              FROM policies p JOIN reports r ON r.id = p.report_id\
              /*pg AND r.range_day = p.range_day*/ \
              WHERE p.policy_domain = ? AND r.range_day BETWEEN ?/*pg ::date*/ AND ?/*pg ::date*/ \
              /*pg AND p.range_day BETWEEN $2::date AND $3::date*/ \
              GROUP BY p.policy_type, p.policy_string, p.mx_host, \
              coalesce(r.organization_name, ''), dane \
              ORDER BY min(r.range_day), p.policy_type/*pg COLLATE \"C\"*/, \
              coalesce(r.organization_name, '')/*pg COLLATE \"C\"*/, \
              p.policy_string/*pg COLLATE \"C\"*/, p.mx_host/*pg COLLATE \"C\"*/, dane",
        params: vec![Param::Text(Some(policy_domain)), from, to],
    }
}

impl FromColumns for PolicySeen {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(PolicySeen {
            policy_type: PolicyType::from_wire(&row.text("policy_type")?),
            policy_string: json_array(&row.text("policy_string")?)?,
            mx_host: json_array(&row.text("mx_host")?)?,
            organization: row.text("organization")?,
            first_day: parse_day(&row.text("first_day")?)?,
            last_day: parse_day(&row.text("last_day")?)?,
            policies: unsigned(row.int("policies")?)?,
            successful: unsigned(row.int("successful")?)?,
            failed: unsigned(row.int("failed")?)?,
            dane_host: row.flag("dane")?,
        })
    }
}

pub(crate) fn failure_groups<'a>(policy_domain: &'a str, days: &'a DayRange) -> Statement<'a> {
    let [from, to] = days.params();
    Statement {
        sql: "SELECT f.result_type AS result_type, p.policy_type AS policy_type, \
              coalesce(r.organization_name, '') AS organization, \
              f.receiving_mx_hostname AS receiving_mx_hostname, \
              f.sending_mta_ip AS sending_mta_ip, \
              sum(f.failed_session_count)/*pg ::bigint*/ AS failed_sessions, count(*) AS details, \
              min(r.range_day)/*pg ::text*/ AS first_day, \
              max(r.range_day)/*pg ::text*/ AS last_day \
              FROM failure_details f JOIN policies p ON p.id = f.policy_id\
              /*pg AND p.range_day = f.range_day*/ \
              JOIN reports r ON r.id = p.report_id/*pg AND r.range_day = p.range_day*/ \
              WHERE p.policy_domain = ? AND r.range_day BETWEEN ?/*pg ::date*/ AND ?/*pg ::date*/ \
              /*pg AND p.range_day BETWEEN $2::date AND $3::date AND f.range_day BETWEEN $2::date AND $3::date*/ \
              GROUP BY f.result_type, p.policy_type, coalesce(r.organization_name, ''), \
              f.receiving_mx_hostname, f.sending_mta_ip \
              ORDER BY failed_sessions DESC, f.result_type/*pg COLLATE \"C\"*/, \
              p.policy_type/*pg COLLATE \"C\"*/, \
              coalesce(r.organization_name, '')/*pg COLLATE \"C\"*/, \
              f.receiving_mx_hostname/*pg COLLATE \"C\" NULLS FIRST*/, \
              f.sending_mta_ip/*pg COLLATE \"C\" NULLS FIRST*/",
        params: vec![Param::Text(Some(policy_domain)), from, to],
    }
}

impl FromColumns for FailureGroup {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(FailureGroup {
            result_type: ResultType::from_wire(&row.text("result_type")?),
            policy_type: PolicyType::from_wire(&row.text("policy_type")?),
            organization: row.text("organization")?,
            receiving_mx_hostname: row.opt_text("receiving_mx_hostname")?,
            sending_mta_ip: row.opt_text("sending_mta_ip")?,
            failed_sessions: unsigned(row.int("failed_sessions")?)?,
            details: unsigned(row.int("details")?)?,
            first_day: parse_day(&row.text("first_day")?)?,
            last_day: parse_day(&row.text("last_day")?)?,
        })
    }
}

pub(crate) fn failure_spans(policy_domain: &str) -> Statement<'_> {
    Statement {
        sql: "SELECT result_type, min(day)/*pg ::text*/ AS first_day, \
              max(day)/*pg ::text*/ AS last_day, \
              sum(failed_sessions)/*pg ::bigint*/ AS failed_sessions \
              FROM daily_failure_rollups WHERE policy_domain = ? AND details > 0 \
              GROUP BY result_type ORDER BY min(day), result_type/*pg COLLATE \"C\"*/",
        params: vec![Param::Text(Some(policy_domain))],
    }
}

impl FromColumns for FailureSpan {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(FailureSpan {
            result_type: ResultType::from_wire(&row.text("result_type")?),
            first_day: parse_day(&row.text("first_day")?)?,
            last_day: parse_day(&row.text("last_day")?)?,
            failed_sessions: unsigned(row.int("failed_sessions")?)?,
        })
    }
}

/// The report list query with a day-range clause binding two parameters.
macro_rules! reports_sql {
    ($days:literal) => {
        concat!(
            "SELECT r.id AS id, r.submission_id AS submission_id, \
             r.organization_name AS organization_name, r.report_id AS report_id, \
             r.contact_info AS contact_info, r.range_start_us AS range_start_us, \
             r.range_end_us AS range_end_us, r.total_successful AS total_successful, \
             r.total_failed AS total_failed, \
             (SELECT count(*) FROM diagnostics d WHERE d.report_id = r.id\
             /*pg AND d.range_day = r.range_day*/) AS diagnostics, \
             s.origin AS origin, s.source_name AS source_name, \
             s.received_at_us AS received_at_us, s.auth_result AS auth_result, \
             s.auth_domain AS auth_domain, s.auth_reason AS auth_reason, \
             s.quarantined AS quarantined \
             FROM reports r JOIN submissions s ON s.id = r.submission_id \
             WHERE r.id < ? ",
            $days,
            "AND (? IS NULL OR r.organization_name = ?) \
             AND (? IS NULL OR r.id IN (SELECT report_id FROM policies WHERE policy_domain = ?)) \
             AND (? IS NULL OR (r.total_failed > 0) = ?) \
             AND (? IS NULL OR EXISTS (SELECT 1 FROM diagnostics d WHERE d.report_id = r.id\
             /*pg AND d.range_day = r.range_day*/) = ?) \
             AND (? IS NULL OR s.auth_result = ?) \
             AND (? IS NULL OR s.quarantined = ?) \
             ORDER BY r.id DESC LIMIT ?"
        )
    };
}

/// One page of the report list; `days` are the filter's (open ends per backend).
pub(crate) fn reports<'a>(filter: &'a ReportFilter, days: &'a DayRange) -> Statement<'a> {
    // Without a day range the date clause is left out: it would lead the planner to the
    // day index and a sort of every report, instead of walking ids down to the page.
    let sql = if filter.from.is_some() || filter.to.is_some() {
        reports_sql!("AND r.range_day BETWEEN ?/*pg ::date*/ AND ?/*pg ::date*/ ")
    } else {
        reports_sql!("AND ? IS NOT NULL AND ? IS NOT NULL ")
    };
    let [from, to] = days.params();
    let organization = Param::Text(filter.organization.as_deref());
    let domain = Param::Text(filter.policy_domain.as_deref());
    let failures = Param::Flag(filter.has_failures);
    let diagnostics = Param::Flag(filter.has_diagnostics);
    let auth_result = Param::Text(filter.auth_result.map(AuthResult::as_str));
    let quarantined = Param::Flag(filter.quarantined);
    Statement {
        sql,
        params: vec![
            Param::Int(filter.before.map_or(i64::MAX, |id| id.0)),
            from,
            to,
            organization,
            organization,
            domain,
            domain,
            failures,
            failures,
            diagnostics,
            diagnostics,
            auth_result,
            auth_result,
            quarantined,
            quarantined,
            Param::Int(i64::from(filter.limit)),
        ],
    }
}

impl FromColumns for ReportListing {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(ReportListing {
            id: ReportId(row.int("id")?),
            submission_id: SubmissionId(row.int("submission_id")?),
            organization_name: row.opt_text("organization_name")?,
            report_id: row.opt_text("report_id")?,
            contact_info: row.opt_text("contact_info")?,
            range_start: from_us(row.int("range_start_us")?)?,
            range_end: from_us(row.int("range_end_us")?)?,
            total_successful: unsigned(row.int("total_successful")?)?,
            total_failed: unsigned(row.int("total_failed")?)?,
            policy_domains: Vec::new(),
            diagnostics: unsigned(row.int("diagnostics")?)?,
            origin: parse_origin(&row.text("origin")?)?,
            source_name: row.opt_text("source_name")?,
            received_at: from_us(row.int("received_at_us")?)?,
            authentication: authentication(row)?,
            quarantined: row.flag("quarantined")?,
        })
    }
}

/// The policy domains of a page of listings (newest first), for [`attach_policy_domains`];
/// `None` for an empty page.
pub(crate) fn policy_domains(listings: &[ReportListing]) -> Option<Statement<'static>> {
    let (newest, oldest) = (listings.first()?, listings.last()?);
    Some(Statement {
        sql: "SELECT report_id, policy_domain FROM policies \
              WHERE report_id BETWEEN ? AND ? AND policy_domain IS NOT NULL \
              ORDER BY report_id, policy_index",
        params: vec![Param::Int(oldest.id.0), Param::Int(newest.id.0)],
    })
}

/// A report's policy domain, as [`policy_domains`] reads it.
pub(crate) struct ReportDomain {
    report: ReportId,
    domain: String,
}

impl FromColumns for ReportDomain {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(ReportDomain {
            report: ReportId(row.int("report_id")?),
            domain: row.text("policy_domain")?,
        })
    }
}

/// Fills each listing's distinct policy domains, in policy order.
pub(crate) fn attach_policy_domains(listings: &mut [ReportListing], domains: Vec<ReportDomain>) {
    for ReportDomain { report, domain } in domains {
        if let Ok(i) = listings.binary_search_by(|l| report.cmp(&l.id)) {
            let domains = &mut listings[i].policy_domains;
            if !domains.contains(&domain) {
                domains.push(domain);
            }
        }
    }
}

/// Report columns then policy columns of a flattened export row.
macro_rules! export_columns {
    () => {
        "r.id AS report, r.organization_name AS organization_name, r.report_id AS report_id, \
         r.contact_info AS contact_info, r.range_start_us AS range_start_us, \
         r.range_end_us AS range_end_us, p.policy_index AS policy_index, \
         p.policy_type AS policy_type, p.policy_domain AS policy_domain, \
         p.policy_string AS policy_string, p.mx_host AS mx_host, p.successful AS successful, \
         p.failed AS failed"
    };
}

/// One page of an export: `sql` takes the row id to start after, the day range, the policy
/// domain (twice: `? IS NULL OR … = ?`) and the page size, in that order.
fn export_page<'a>(
    sql: &'static str,
    filter: &'a ExportFilter,
    days: &'a DayRange,
) -> Statement<'a> {
    let [from, to] = days.params();
    let domain = Param::Text(filter.policy_domain.as_deref());
    Statement {
        sql,
        params: vec![
            Param::Int(filter.after),
            from,
            to,
            domain,
            domain,
            Param::Int(i64::from(filter.limit)),
        ],
    }
}

pub(crate) fn export_policies<'a>(filter: &'a ExportFilter, days: &'a DayRange) -> Statement<'a> {
    export_page(
        concat!(
            "SELECT p.id AS row_id, ",
            export_columns!(),
            " FROM policies p JOIN reports r ON r.id = p.report_id\
             /*pg AND r.range_day = p.range_day*/ \
             WHERE p.id > ? AND r.range_day BETWEEN ?/*pg ::date*/ AND ?/*pg ::date*/ \
             AND (? IS NULL OR p.policy_domain = ?) ORDER BY p.id LIMIT ?"
        ),
        filter,
        days,
    )
}

impl FromColumns for PolicyRow {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(PolicyRow {
            row_id: row.int("row_id")?,
            report: report_context(row)?,
            policy: policy_context(row)?,
        })
    }
}

pub(crate) fn export_failures<'a>(filter: &'a ExportFilter, days: &'a DayRange) -> Statement<'a> {
    export_page(
        concat!(
            "SELECT f.id AS row_id, ",
            export_columns!(),
            ", f.result_type AS result_type, f.sending_mta_ip AS sending_mta_ip, \
             f.receiving_mx_hostname AS receiving_mx_hostname, \
             f.receiving_mx_helo AS receiving_mx_helo, f.receiving_ip AS receiving_ip, \
             f.failed_session_count AS failed_session_count, \
             f.additional_information AS additional_information, \
             f.failure_reason_code AS failure_reason_code \
             FROM failure_details f JOIN policies p ON p.id = f.policy_id\
             /*pg AND p.range_day = f.range_day*/ \
             JOIN reports r ON r.id = p.report_id/*pg AND r.range_day = p.range_day*/ \
             WHERE f.id > ? AND r.range_day BETWEEN ?/*pg ::date*/ AND ?/*pg ::date*/ \
             AND (? IS NULL OR p.policy_domain = ?) ORDER BY f.id LIMIT ?"
        ),
        filter,
        days,
    )
}

impl FromColumns for FailureRow {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(FailureRow {
            row_id: row.int("row_id")?,
            report: report_context(row)?,
            policy: policy_context(row)?,
            result_type: ResultType::from_wire(&row.text("result_type")?),
            sending_mta_ip: row.opt_text("sending_mta_ip")?,
            receiving_mx_hostname: row.opt_text("receiving_mx_hostname")?,
            receiving_mx_helo: row.opt_text("receiving_mx_helo")?,
            receiving_ip: row.opt_text("receiving_ip")?,
            failed_session_count: unsigned(row.int("failed_session_count")?)?,
            additional_information: row.opt_text("additional_information")?,
            failure_reason_code: row.opt_text("failure_reason_code")?,
        })
    }
}

fn report_context(row: &impl Columns) -> Result<ReportContext, StoreError> {
    Ok(ReportContext {
        report: ReportId(row.int("report")?),
        organization_name: row.opt_text("organization_name")?,
        report_id: row.opt_text("report_id")?,
        contact_info: row.opt_text("contact_info")?,
        range_start: from_us(row.int("range_start_us")?)?,
        range_end: from_us(row.int("range_end_us")?)?,
    })
}

fn policy_context(row: &impl Columns) -> Result<PolicyContext, StoreError> {
    Ok(PolicyContext {
        policy_index: unsigned(row.int("policy_index")?)?,
        policy_type: PolicyType::from_wire(&row.text("policy_type")?),
        policy_domain: row.opt_text("policy_domain")?,
        policy_string: json_array(&row.text("policy_string")?)?,
        mx_host: json_array(&row.text("mx_host")?)?,
        successful: unsigned(row.int("successful")?)?,
        failed: unsigned(row.int("failed")?)?,
    })
}

/// Rows in each table, and receipts counted as duplicates.
pub(crate) fn counts() -> Statement<'static> {
    Statement {
        sql: "SELECT (SELECT count(*) FROM submissions) AS submissions, \
              (SELECT count(*) FROM reports) AS reports, \
              (SELECT count(*) FROM policies) AS policies, \
              (SELECT count(*) FROM failure_details) AS failure_details, \
              (SELECT count(*) FROM diagnostics) AS diagnostics, \
              (SELECT coalesce(sum(duplicate_count), 0)/*pg ::bigint*/ FROM reports) \
              AS duplicates_seen",
        params: Vec::new(),
    }
}

impl FromColumns for StoreCounts {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        let count = |name: &str| unsigned(row.int(name)?);
        Ok(StoreCounts {
            submissions: count("submissions")?,
            reports: count("reports")?,
            policies: count("policies")?,
            failure_details: count("failure_details")?,
            diagnostics: count("diagnostics")?,
            duplicates_seen: count("duplicates_seen")?,
        })
    }
}

/// A page of submissions with their raw bytes still stored (see `decode::decompress`).
pub(crate) fn submissions(after: Option<SubmissionId>, limit: u32) -> Statement<'static> {
    Statement {
        sql: "SELECT id, origin, source_name, received_at_us, raw_size, raw_sha256, \
              raw_encoding, raw FROM submissions WHERE id > ? ORDER BY id LIMIT ?",
        params: vec![
            Param::Int(after.map_or(0, |id| id.0)),
            Param::Int(i64::from(limit)),
        ],
    }
}

impl FromColumns for (StoredSubmission, RawBlob) {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        crate::decode::submission(row)
    }
}

/// The latest run of a domain's checks, without its changes ([`check_changes`]).
pub(crate) fn latest_check(domain: &str) -> Statement<'_> {
    Statement {
        sql: "SELECT id, domain, checked_at_us, status, snapshot, findings FROM domain_checks \
              WHERE domain = ? ORDER BY checked_at_us DESC, id DESC LIMIT 1",
        params: vec![Param::Text(Some(domain))],
    }
}

impl FromColumns for DomainCheck {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(DomainCheck {
            id: row.int("id")?,
            domain: row.text("domain")?,
            checked_at: from_us(row.int("checked_at_us")?)?,
            status: row.text("status")?,
            snapshot: row.text("snapshot")?,
            findings: row.text("findings")?,
            changes: Vec::new(),
        })
    }
}

pub(crate) fn check_changes(check: i64) -> Statement<'static> {
    Statement {
        sql: "SELECT kind, detail FROM check_changes WHERE check_id = ? ORDER BY id",
        params: vec![Param::Int(check)],
    }
}

impl FromColumns for CheckChange {
    fn from_columns(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(CheckChange {
            kind: row.text("kind")?,
            detail: row.text("detail")?,
        })
    }
}

/// Where a report came from, from the submission columns a report read joins in
/// (`origin`, `source_name`, `received_at_us`).
pub(crate) fn provenance(row: &impl Columns) -> Result<Provenance, StoreError> {
    Ok(Provenance {
        submission_id: SubmissionId(row.int("submission_id")?),
        origin: parse_origin(&row.text("origin")?)?,
        source_name: row.opt_text("source_name")?,
        received_at: from_us(row.int("received_at_us")?)?,
    })
}

fn parse_origin(text: &str) -> Result<Origin, StoreError> {
    Origin::from_wire(text).ok_or_else(|| StoreError::corrupt(format!("origin {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_form_numbers_parameters_and_opens_its_comments() {
        assert_eq!(
            postgres_sql("SELECT '?' || x FROM t WHERE a = ?/*pg ::date*/ AND b = ? /* c */"),
            "SELECT '?' || x FROM t WHERE a = $1 ::date AND b = $2 /* c */"
        );
    }

    #[test]
    fn every_query_has_as_many_parameters_as_placeholders() {
        let days = DayRange::closed(
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
        );
        let report_filter = ReportFilter::default();
        let export_filter = ExportFilter::default();
        for statement in [
            domain_days(&days),
            policies_seen("example.com", &days),
            failure_groups("example.com", &days),
            failure_spans("example.com"),
            reports(&report_filter, &days),
            export_policies(&export_filter, &days),
            export_failures(&export_filter, &days),
            counts(),
            submissions(None, 10),
            latest_check("example.com"),
            check_changes(1),
        ] {
            let sql = postgres_sql(statement.sql);
            let n = statement.params.len();
            assert!(n == 0 || sql.contains(&format!("${n}")), "{sql}");
            assert!(!sql.contains(&format!("${}", n + 1)), "{sql}");
            assert!(!sql.contains('?'), "{sql}");
        }
    }
}
