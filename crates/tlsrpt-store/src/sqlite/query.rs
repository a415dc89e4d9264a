//! Read queries for dashboards, the JSON API and exports (see `crate::dashboard`).
//!
//! Plain SQL that PostgreSQL runs as written (no `json_each`, `group_concat` or date
//! functions); days are ISO text compared as text. Indexes in `0003_dashboard.sql`.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use tlsrpt_core::{PolicyType, ResultType};

use super::read::{json_array, read_report_row, unsigned};
use super::{SqliteStore, db_error};
use crate::dashboard::{
    DomainDay, ExportFilter, FailureGroup, FailureRow, FailureSpan, PolicyContext, PolicyRow,
    PolicySeen, Provenance, ReportContext, ReportFilter, ReportListing,
};
use crate::prepare::{day_text, from_us, parse_day};
use crate::{AuthResult, Authentication, Origin, ReportId, StoreError, StoredReport, SubmissionId};

/// Lower and upper bounds standing in for an open day range.
const FIRST_DAY: &str = "";
const LAST_DAY: &str = "9999-12-31";

/// One page of an export: `sql` takes the row id to start after, the day range, the policy
/// domain (twice: `? IS NULL OR … = ?`) and the page size, in that order.
fn export_page<'a>(
    sql: &'static str,
    filter: &'a ExportFilter,
) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let (from, to) = day_bounds(filter.from, filter.to);
    sqlx::query(sql)
        .bind(filter.after)
        .bind(from)
        .bind(to)
        .bind(filter.policy_domain.as_deref())
        .bind(filter.policy_domain.as_deref())
        .bind(i64::from(filter.limit))
}

fn day_bounds(from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> (String, String) {
    (
        from.map_or_else(|| FIRST_DAY.to_owned(), |d| day_text(&d)),
        to.map_or_else(|| LAST_DAY.to_owned(), |d| day_text(&d)),
    )
}

fn get<'r, T>(row: &'r SqliteRow, i: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(i).map_err(db_error)
}

fn count(row: &SqliteRow, i: usize) -> Result<u64, StoreError> {
    unsigned(get(row, i)?)
}

fn day(row: &SqliteRow, i: usize) -> Result<chrono::NaiveDate, StoreError> {
    parse_day(get(row, i)?)
}

impl SqliteStore {
    pub async fn domain_days(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<DomainDay>, StoreError> {
        sqlx::query(
            "SELECT policy_domain, day, sum(successful), sum(failed), sum(reports) \
             FROM daily_policy_rollups WHERE day BETWEEN ? AND ? \
             GROUP BY policy_domain, day ORDER BY policy_domain, day",
        )
        .bind(day_text(&from))
        .bind(day_text(&to))
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(DomainDay {
                policy_domain: get(row, 0)?,
                day: day(row, 1)?,
                successful: count(row, 2)?,
                failed: count(row, 3)?,
                reports: count(row, 4)?,
            })
        })
        .collect()
    }

    pub async fn policies_seen(
        &self,
        policy_domain: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<PolicySeen>, StoreError> {
        sqlx::query(
            "SELECT p.policy_type, p.policy_string, p.mx_host, \
             coalesce(r.organization_name, ''), min(r.range_day), max(r.range_day), count(*), \
             sum(p.successful), sum(p.failed), \
             CASE WHEN p.policy_type = 'tlsa' AND EXISTS (SELECT 1 FROM policies q \
                WHERE q.report_id = p.report_id AND (q.policy_domain <> p.policy_domain \
                OR q.mx_host LIKE '%\"' || p.policy_domain || '\"%')) THEN 1 ELSE 0 END AS dane \
             FROM policies p JOIN reports r ON r.id = p.report_id \
             WHERE p.policy_domain = ? AND r.range_day BETWEEN ? AND ? \
             GROUP BY p.policy_type, p.policy_string, p.mx_host, coalesce(r.organization_name, ''), \
             dane \
             ORDER BY 5, 1, 4",
        )
        .bind(policy_domain)
        .bind(day_text(&from))
        .bind(day_text(&to))
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(PolicySeen {
                policy_type: PolicyType::from_wire(get(row, 0)?),
                policy_string: json_array(get(row, 1)?)?,
                mx_host: json_array(get(row, 2)?)?,
                organization: get(row, 3)?,
                first_day: day(row, 4)?,
                last_day: day(row, 5)?,
                policies: count(row, 6)?,
                successful: count(row, 7)?,
                failed: count(row, 8)?,
                dane_host: get(row, 9)?,
            })
        })
        .collect()
    }

    pub async fn failure_groups(
        &self,
        policy_domain: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<FailureGroup>, StoreError> {
        sqlx::query(
            "SELECT f.result_type, p.policy_type, coalesce(r.organization_name, ''), \
             f.receiving_mx_hostname, f.sending_mta_ip, sum(f.failed_session_count), count(*), \
             min(r.range_day), max(r.range_day) \
             FROM failure_details f JOIN policies p ON p.id = f.policy_id \
             JOIN reports r ON r.id = p.report_id \
             WHERE p.policy_domain = ? AND r.range_day BETWEEN ? AND ? \
             GROUP BY f.result_type, p.policy_type, coalesce(r.organization_name, ''), \
             f.receiving_mx_hostname, f.sending_mta_ip \
             ORDER BY 6 DESC, 1, 2, 3, 4, 5",
        )
        .bind(policy_domain)
        .bind(day_text(&from))
        .bind(day_text(&to))
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(FailureGroup {
                result_type: ResultType::from_wire(get(row, 0)?),
                policy_type: PolicyType::from_wire(get(row, 1)?),
                organization: get(row, 2)?,
                receiving_mx_hostname: get(row, 3)?,
                sending_mta_ip: get(row, 4)?,
                failed_sessions: count(row, 5)?,
                details: count(row, 6)?,
                first_day: day(row, 7)?,
                last_day: day(row, 8)?,
            })
        })
        .collect()
    }

    pub async fn failure_spans(&self, policy_domain: &str) -> Result<Vec<FailureSpan>, StoreError> {
        sqlx::query(
            "SELECT result_type, min(day), max(day), sum(failed_sessions) \
             FROM daily_failure_rollups WHERE policy_domain = ? AND details > 0 \
             GROUP BY result_type ORDER BY 2, 1",
        )
        .bind(policy_domain)
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(FailureSpan {
                result_type: ResultType::from_wire(get(row, 0)?),
                first_day: day(row, 1)?,
                last_day: day(row, 2)?,
                failed_sessions: count(row, 3)?,
            })
        })
        .collect()
    }

    pub async fn reports(&self, filter: &ReportFilter) -> Result<Vec<ReportListing>, StoreError> {
        let (from, to) = day_bounds(filter.from, filter.to);
        // Without a day range the date clause is left out: it would lead the planner to the
        // day index and a sort of every report, instead of walking ids down to the page.
        let sql = if filter.from.is_some() || filter.to.is_some() {
            reports_sql!("AND r.range_day BETWEEN ? AND ? ")
        } else {
            reports_sql!("AND ? IS NOT NULL AND ? IS NOT NULL ")
        };
        let rows = sqlx::query(sql)
            .bind(filter.before.map_or(i64::MAX, |id| id.0))
            .bind(from)
            .bind(to)
            .bind(filter.organization.as_deref())
            .bind(filter.organization.as_deref())
            .bind(filter.policy_domain.as_deref())
            .bind(filter.policy_domain.as_deref())
            .bind(filter.has_failures)
            .bind(filter.has_failures)
            .bind(filter.has_diagnostics)
            .bind(filter.has_diagnostics)
            .bind(filter.auth_result.map(AuthResult::as_str))
            .bind(filter.auth_result.map(AuthResult::as_str))
            .bind(filter.quarantined)
            .bind(filter.quarantined)
            .bind(i64::from(filter.limit))
            .fetch_all(&self.readers)
            .await
            .map_err(db_error)?;
        let mut listings = rows
            .iter()
            .map(|row| {
                let origin: String = get(row, 10)?;
                let auth_result: String = get(row, 13)?;
                Ok(ReportListing {
                    id: ReportId(get(row, 0)?),
                    submission_id: SubmissionId(get(row, 1)?),
                    organization_name: get(row, 2)?,
                    report_id: get(row, 3)?,
                    contact_info: get(row, 4)?,
                    range_start: from_us(get(row, 5)?)?,
                    range_end: from_us(get(row, 6)?)?,
                    total_successful: count(row, 7)?,
                    total_failed: count(row, 8)?,
                    policy_domains: Vec::new(),
                    diagnostics: count(row, 9)?,
                    origin: parse_origin(&origin)?,
                    source_name: get(row, 11)?,
                    received_at: from_us(get(row, 12)?)?,
                    authentication: Authentication {
                        result: AuthResult::from_wire(&auth_result).ok_or_else(|| {
                            StoreError::corrupt(format!("auth result {auth_result:?}"))
                        })?,
                        domain: get(row, 14)?,
                        reason: get(row, 15)?,
                    },
                    quarantined: get(row, 16)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.attach_policy_domains(&mut listings).await?;
        Ok(listings)
    }

    /// Fills each listing's policy domains with one query for the whole page.
    async fn attach_policy_domains(
        &self,
        listings: &mut [ReportListing],
    ) -> Result<(), StoreError> {
        let (Some(last), Some(first)) = (listings.first(), listings.last()) else {
            return Ok(());
        };
        let rows = sqlx::query(
            "SELECT report_id, policy_domain FROM policies \
             WHERE report_id BETWEEN ? AND ? AND policy_domain IS NOT NULL \
             ORDER BY report_id, policy_index",
        )
        .bind(first.id.0)
        .bind(last.id.0)
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?;
        for row in &rows {
            let id = ReportId(get(row, 0)?);
            let domain: String = get(row, 1)?;
            if let Ok(i) = listings.binary_search_by(|l| id.cmp(&l.id)) {
                let domains = &mut listings[i].policy_domains;
                if !domains.contains(&domain) {
                    domains.push(domain);
                }
            }
        }
        Ok(())
    }

    pub async fn report_by_id(
        &self,
        id: ReportId,
    ) -> Result<Option<(StoredReport, Provenance)>, StoreError> {
        let mut conn = self.readers.acquire().await.map_err(db_error)?;
        let mut tx = sqlx::Connection::begin(&mut *conn)
            .await
            .map_err(db_error)?;
        let Some(row) = sqlx::query(super::read::concat_report_select!("WHERE reports.id = ?"))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let report = read_report_row(&mut tx, &row).await?;
        let sub =
            sqlx::query("SELECT origin, source_name, received_at_us FROM submissions WHERE id = ?")
                .bind(report.submission_id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let origin: String = get(&sub, 0)?;
        let provenance = Provenance {
            submission_id: report.submission_id,
            origin: parse_origin(&origin)?,
            source_name: get(&sub, 1)?,
            received_at: from_us(get(&sub, 2)?)?,
        };
        Ok(Some((report, provenance)))
    }

    pub async fn export_policies(
        &self,
        filter: &ExportFilter,
    ) -> Result<Vec<PolicyRow>, StoreError> {
        export_page(
            concat!(
                "SELECT p.id, ",
                export_columns!(),
                " FROM policies p JOIN reports r ON r.id = p.report_id \
             WHERE p.id > ? AND r.range_day BETWEEN ? AND ? \
             AND (? IS NULL OR p.policy_domain = ?) ORDER BY p.id LIMIT ?"
            ),
            filter,
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(PolicyRow {
                row_id: get(row, 0)?,
                report: report_context(row, 1)?,
                policy: policy_context(row, 7)?,
            })
        })
        .collect()
    }

    pub async fn export_failures(
        &self,
        filter: &ExportFilter,
    ) -> Result<Vec<FailureRow>, StoreError> {
        export_page(
            concat!(
                "SELECT f.id, ",
                export_columns!(),
                ", f.result_type, f.sending_mta_ip, f.receiving_mx_hostname, f.receiving_mx_helo, \
             f.receiving_ip, f.failed_session_count, f.additional_information, \
             f.failure_reason_code \
             FROM failure_details f JOIN policies p ON p.id = f.policy_id \
             JOIN reports r ON r.id = p.report_id \
             WHERE f.id > ? AND r.range_day BETWEEN ? AND ? \
             AND (? IS NULL OR p.policy_domain = ?) ORDER BY f.id LIMIT ?"
            ),
            filter,
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(FailureRow {
                row_id: get(row, 0)?,
                report: report_context(row, 1)?,
                policy: policy_context(row, 7)?,
                result_type: ResultType::from_wire(get(row, 14)?),
                sending_mta_ip: get(row, 15)?,
                receiving_mx_hostname: get(row, 16)?,
                receiving_mx_helo: get(row, 17)?,
                receiving_ip: get(row, 18)?,
                failed_session_count: count(row, 19)?,
                additional_information: get(row, 20)?,
                failure_reason_code: get(row, 21)?,
            })
        })
        .collect()
    }
}

/// The report list query with a day-range clause binding two parameters.
macro_rules! reports_sql {
    ($days:literal) => {
        concat!(
            "SELECT r.id, r.submission_id, r.organization_name, r.report_id, r.contact_info, \
             r.range_start_us, r.range_end_us, r.total_successful, r.total_failed, \
             (SELECT count(*) FROM diagnostics d WHERE d.report_id = r.id), \
             s.origin, s.source_name, s.received_at_us, \
             s.auth_result, s.auth_domain, s.auth_reason, s.quarantined \
             FROM reports r JOIN submissions s ON s.id = r.submission_id \
             WHERE r.id < ? ",
            $days,
            "AND (? IS NULL OR r.organization_name = ?) \
             AND (? IS NULL OR r.id IN (SELECT report_id FROM policies WHERE policy_domain = ?)) \
             AND (? IS NULL OR (r.total_failed > 0) = ?) \
             AND (? IS NULL OR EXISTS (SELECT 1 FROM diagnostics d WHERE d.report_id = r.id) = ?) \
             AND (? IS NULL OR s.auth_result = ?) \
             AND (? IS NULL OR s.quarantined = ?) \
             ORDER BY r.id DESC LIMIT ?"
        )
    };
}
use reports_sql;

/// Report columns (6) then policy columns (7) of a flattened export row.
macro_rules! export_columns {
    () => {
        "r.id, r.organization_name, r.report_id, r.contact_info, r.range_start_us, \
         r.range_end_us, p.policy_index, p.policy_type, p.policy_domain, p.policy_string, \
         p.mx_host, p.successful, p.failed"
    };
}
use export_columns;

fn report_context(row: &SqliteRow, at: usize) -> Result<ReportContext, StoreError> {
    Ok(ReportContext {
        report: ReportId(get(row, at)?),
        organization_name: get(row, at + 1)?,
        report_id: get(row, at + 2)?,
        contact_info: get(row, at + 3)?,
        range_start: from_us(get(row, at + 4)?)?,
        range_end: from_us(get(row, at + 5)?)?,
    })
}

fn policy_context(row: &SqliteRow, at: usize) -> Result<PolicyContext, StoreError> {
    Ok(PolicyContext {
        policy_index: count(row, at)?,
        policy_type: PolicyType::from_wire(get(row, at + 1)?),
        policy_domain: get(row, at + 2)?,
        policy_string: json_array(get(row, at + 3)?)?,
        mx_host: json_array(get(row, at + 4)?)?,
        successful: count(row, at + 5)?,
        failed: count(row, at + 6)?,
    })
}

fn parse_origin(text: &str) -> Result<Origin, StoreError> {
    Origin::from_wire(text).ok_or_else(|| StoreError::corrupt(format!("origin {text:?}")))
}
