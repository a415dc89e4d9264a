//! Writing reports while other processes write too.
//!
//! Each report's fate is settled by the database, not by a read beforehand: new reports are
//! inserted with `ON CONFLICT (dedup_key, range_day) DO NOTHING`, and one that another
//! transaction stored first (a lost race) becomes a duplicate of the winner. A lookup before
//! inserting only spares the raw bytes and ids of reports that are plainly stored already.
//!
//! Rows go in with one `INSERT ... SELECT FROM UNNEST($1, $2, ...)` per table: one round trip
//! per table however large the batch. Ids come from the sequences, a batch's worth per call,
//! so children can name their parents without a round trip each.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::postgres::PgConnection;

use super::{PgStore, db_error, is_missing_partition, rollup};
use crate::prepare::{PreparedReport, PreparedSubmission, prepare_reports, to_us};
use crate::{NewReport, ReportId, ReportOutcome, StoreError, SubmissionId, SubmissionOutcome};

impl PgStore {
    /// Stores `submissions` in one transaction (retried whole on a conflict); one outcome
    /// each, in order.
    pub async fn ingest(
        &self,
        submissions: &[PreparedSubmission],
    ) -> Result<Vec<SubmissionOutcome>, StoreError> {
        if submissions.iter().all(|s| s.reports.is_empty()) {
            return Ok(submissions
                .iter()
                .map(|_| SubmissionOutcome {
                    submission_id: None,
                    reports: Vec::new(),
                })
                .collect());
        }
        self.with_partitions(submissions.iter().flat_map(|s| &s.reports), || async move {
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            let outcomes = ingest(&mut tx, submissions).await?;
            tx.commit().await.map_err(db_error)?;
            Ok(outcomes)
        })
        .await
    }

    pub async fn replace_reports(
        &self,
        submission_id: SubmissionId,
        reports: Vec<NewReport>,
    ) -> Result<Vec<ReportOutcome>, StoreError> {
        let prepared = prepare_reports(reports)?;
        let prepared = &prepared;
        self.with_partitions(prepared.iter(), || async move {
            let mut tx = self.pool.begin().await.map_err(db_error)?;
            let outcomes = replace(&mut tx, submission_id.0, prepared).await?;
            tx.commit().await.map_err(db_error)?;
            Ok(outcomes)
        })
        .await
    }

    /// Runs a write of `reports` (retrying conflicts) once their months' partitions exist.
    async fn with_partitions<'a, T, F>(
        &self,
        reports: impl Iterator<Item = &'a PreparedReport> + Clone,
        write: impl Fn() -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        self.ensure_partitions(reports.clone(), false).await?;
        match self.retrying(&write).await {
            Err(error) if is_missing_partition(&error) => {
                self.ensure_partitions(reports, true).await?;
                self.retrying(&write).await
            }
            other => other,
        }
    }

    /// Creates the monthly partitions these reports go to, in a transaction of its own (see
    /// `tlsrpt_ensure_partitions` in the migration), unless this process knows they exist
    /// (`recheck` forgets what it knows).
    async fn ensure_partitions<'a>(
        &self,
        reports: impl Iterator<Item = &'a PreparedReport>,
        recheck: bool,
    ) -> Result<(), StoreError> {
        let mut days: Vec<&str> = reports.map(|r| r.range_day.as_str()).collect();
        days.sort_unstable();
        days.dedup();
        {
            let mut known = self.months.lock().expect("months lock");
            if recheck {
                known.clear();
            }
            days.retain(|day| !known.contains(&day[..7]));
        }
        if days.is_empty() {
            return Ok(());
        }
        sqlx::query("SELECT tlsrpt_ensure_partitions($1::date[])")
            .bind(&days)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        let mut known = self.months.lock().expect("months lock");
        known.extend(days.iter().map(|day| day[..7].to_owned()));
        Ok(())
    }
}

/// Stores submissions; one outcome each, in order.
async fn ingest(
    conn: &mut PgConnection,
    submissions: &[PreparedSubmission],
) -> Result<Vec<SubmissionOutcome>, StoreError> {
    let batch = Batch::new(
        submissions
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.reports.iter().map(move |r| (i, r))),
    );
    let mut stored = lookup(conn, batch.candidates.iter().map(|c| c.1)).await?;

    // Raw bytes are stored for submissions with a report not stored yet. One whose every
    // such report loses its race below is deleted again before the commit.
    let mut owners: Vec<usize> = batch
        .candidates
        .iter()
        .filter(|(_, r)| !stored.contains_key(&r.dedup_key))
        .map(|&(sub, _)| sub)
        .collect();
    owners.dedup();
    let candidates: Vec<(usize, &PreparedReport)> = batch
        .candidates
        .iter()
        .filter(|(_, r)| !stored.contains_key(&r.dedup_key))
        .copied()
        .collect();
    let ids = Ids::allocate(conn, owners.len(), candidates.iter().map(|c| c.1)).await?;
    let submission_ids: HashMap<usize, i64> = owners
        .iter()
        .copied()
        .zip(ids.submissions.iter().copied())
        .collect();
    insert_submissions(conn, &submission_ids, submissions).await?;

    let fresh: Vec<NewRow> = candidates
        .iter()
        .map(|&(sub, report)| NewRow {
            submission_id: submission_ids[&sub],
            report,
            duplicate_count: 0,
            last_duplicate_at_us: None,
        })
        .collect();
    let won = write_reports(conn, &fresh, &ids, &mut stored).await?;

    let mut counted: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut outcomes = Vec::with_capacity(submissions.len());
    let mut slots = batch.slots.iter();
    for (i, sub) in submissions.iter().enumerate() {
        let at = sub.received_at_us;
        let mut kept = false;
        let reports = slots
            .by_ref()
            .take(sub.reports.len())
            .map(|&(first, candidate)| {
                let key = &batch.candidates[candidate].1.dedup_key;
                match won.get(key.as_str()) {
                    Some(&id) if first => {
                        kept = true;
                        ReportOutcome::Stored { id: ReportId(id) }
                    }
                    _ => {
                        let id = won
                            .get(key.as_str())
                            .copied()
                            .unwrap_or_else(|| stored[key]);
                        let (count, last) = counted.entry(id).or_insert((0, at));
                        *count += 1;
                        *last = (*last).max(at);
                        ReportOutcome::Duplicate {
                            existing_id: ReportId(id),
                        }
                    }
                }
            })
            .collect();
        outcomes.push(SubmissionOutcome {
            submission_id: kept.then(|| SubmissionId(submission_ids[&i])),
            reports,
        });
    }
    count_duplicates(conn, &counted).await?;

    let unused: Vec<i64> = submission_ids
        .iter()
        .filter(|(i, _)| outcomes[**i].submission_id.is_none())
        .map(|(_, &id)| id)
        .collect();
    if !unused.is_empty() {
        sqlx::query("DELETE FROM submissions WHERE id = ANY($1)")
            .bind(unused)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(outcomes)
}

/// Replaces the reports of one submission after a re-parse (see
/// [`crate::Store::replace_reports`]).
async fn replace(
    conn: &mut PgConnection,
    submission_id: i64,
    prepared: &[PreparedReport],
) -> Result<Vec<ReportOutcome>, StoreError> {
    let found = sqlx::query("SELECT 1 FROM submissions WHERE id = $1 FOR UPDATE")
        .bind(submission_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    if found.is_none() {
        return Err(StoreError::invalid(
            "submission_id",
            format!("no stored submission has id {submission_id}"),
        ));
    }
    rollup::subtract_submission(conn, submission_id).await?;
    let carried = sqlx::query(
        "SELECT dedup_key, duplicate_count, last_duplicate_at_us FROM reports \
         WHERE submission_id = $1",
    )
    .bind(submission_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?
    .iter()
    .map(|row| Ok((row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?))))
    .collect::<Result<HashMap<String, (i64, Option<i64>)>, sqlx::Error>>()
    .map_err(db_error)?;
    sqlx::query("DELETE FROM reports WHERE submission_id = $1")
        .bind(submission_id)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;

    let batch = Batch::new(prepared.iter().map(|r| (0, r)));
    let mut stored = lookup(conn, batch.candidates.iter().map(|c| c.1)).await?;
    let fresh: Vec<NewRow> = batch
        .candidates
        .iter()
        .filter(|(_, r)| !stored.contains_key(&r.dedup_key))
        .map(|&(_, report)| {
            let (duplicate_count, last_duplicate_at_us) =
                carried.get(&report.dedup_key).copied().unwrap_or((0, None));
            NewRow {
                submission_id,
                report,
                duplicate_count,
                last_duplicate_at_us,
            }
        })
        .collect();
    let ids = Ids::allocate(conn, 0, fresh.iter().map(|row| row.report)).await?;
    let won = write_reports(conn, &fresh, &ids, &mut stored).await?;
    rollup::delete_emptied(conn).await?;
    Ok(batch
        .slots
        .iter()
        .map(|&(first, candidate)| {
            let key = batch.candidates[candidate].1.dedup_key.as_str();
            match won.get(key) {
                Some(&id) if first => ReportOutcome::Stored { id: ReportId(id) },
                Some(&id) => ReportOutcome::Duplicate {
                    existing_id: ReportId(id),
                },
                None => ReportOutcome::Duplicate {
                    existing_id: ReportId(stored[key]),
                },
            }
        })
        .collect())
}

/// The reports of a batch, each dedup key's first receipt singled out.
struct Batch<'a> {
    /// (owner's index, report) of each key's first receipt.
    candidates: Vec<(usize, &'a PreparedReport)>,
    /// Per report in input order: (is the first receipt, index in `candidates`).
    slots: Vec<(bool, usize)>,
}

impl<'a> Batch<'a> {
    fn new(reports: impl Iterator<Item = (usize, &'a PreparedReport)>) -> Self {
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut candidates = Vec::new();
        let slots = reports
            .map(
                |(owner, report)| match first.get(report.dedup_key.as_str()) {
                    Some(&candidate) => (false, candidate),
                    None => {
                        first.insert(&report.dedup_key, candidates.len());
                        candidates.push((owner, report));
                        (true, candidates.len() - 1)
                    }
                },
            )
            .collect();
        Batch { candidates, slots }
    }
}

/// Stored reports with these dedup keys: key → id.
async fn lookup<'a>(
    conn: &mut PgConnection,
    reports: impl Iterator<Item = &'a PreparedReport>,
) -> Result<HashMap<String, i64>, StoreError> {
    let keys: Vec<&str> = reports.map(|r| r.dedup_key.as_str()).collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    sqlx::query("SELECT dedup_key, id FROM reports WHERE dedup_key = ANY($1)")
        .bind(keys)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db_error)
}

/// Fresh ids for one transaction's new rows, from one round trip.
struct Ids {
    submissions: Vec<i64>,
    /// One per report to insert (a report that loses its race leaves its id unused).
    reports: Vec<i64>,
    /// Enough for every policy of those reports.
    policies: Vec<i64>,
}

impl Ids {
    async fn allocate<'a>(
        conn: &mut PgConnection,
        submissions: usize,
        reports: impl Iterator<Item = &'a PreparedReport>,
    ) -> Result<Ids, StoreError> {
        let (reports, policies) =
            reports.fold((0, 0), |(r, p), report| (r + 1, p + report.policies.len()));
        if reports == 0 {
            return Ok(Ids {
                submissions: Vec::new(),
                reports: Vec::new(),
                policies: Vec::new(),
            });
        }
        let row = sqlx::query(
            "SELECT ARRAY(SELECT nextval('submissions_id_seq') FROM generate_series(1, $1)), \
             ARRAY(SELECT nextval('reports_id_seq') FROM generate_series(1, $2)), \
             ARRAY(SELECT nextval('policies_id_seq') FROM generate_series(1, $3))",
        )
        .bind(submissions as i64)
        .bind(reports as i64)
        .bind(policies as i64)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        Ok(Ids {
            submissions: row.try_get(0).map_err(db_error)?,
            reports: row.try_get(1).map_err(db_error)?,
            policies: row.try_get(2).map_err(db_error)?,
        })
    }
}

async fn insert_submissions(
    conn: &mut PgConnection,
    ids: &HashMap<usize, i64>,
    submissions: &[PreparedSubmission],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<(i64, &PreparedSubmission)> =
        ids.iter().map(|(&i, &id)| (id, &submissions[i])).collect();
    sqlx::query(
        "INSERT INTO submissions (id, received_at_us, origin, source_name, raw_size, raw_sha256, \
         raw_encoding, auth_result, auth_domain, auth_reason, quarantined, raw) \
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], \
         $6::bytea[], $7::text[], $8::text[], $9::text[], $10::text[], $11::boolean[], \
         $12::bytea[])",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.received_at_us).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.origin.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.1.source_name.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.1.raw_size).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.1.raw.sha256().as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.1.raw.encoding().as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.1.authentication.result.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.1.authentication.domain.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.1.authentication.reason.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.1.quarantined).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.raw.stored()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// A report to insert, unless another transaction stored its dedup key first.
struct NewRow<'a> {
    submission_id: i64,
    report: &'a PreparedReport,
    duplicate_count: i64,
    last_duplicate_at_us: Option<i64>,
}

/// Inserts reports with their children and adds them to the rollups. Returns the inserted
/// ones (dedup key → id); the others lost a race and are added to `stored` with the
/// winner's id.
async fn write_reports<'a>(
    conn: &mut PgConnection,
    rows: &[NewRow<'a>],
    ids: &Ids,
    stored: &mut HashMap<String, i64>,
) -> Result<HashMap<&'a str, i64>, StoreError> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    // Key order: two transactions inserting the same keys wait for each other in one order.
    let mut rows: Vec<&NewRow> = rows.iter().collect();
    rows.sort_unstable_by_key(|r| r.report.dedup_key.as_str());
    let policy_ids = &ids.policies;
    let ids = &ids.reports[..rows.len()];
    let stored_at_us = to_us(&crate::now());
    let message = |f: fn(&tlsrpt_core::extract::MessageMeta) -> Option<&str>| {
        rows.iter()
            .map(|r| r.report.message.as_ref().and_then(f))
            .collect::<Vec<_>>()
    };
    let text = |f: fn(&PreparedReport) -> Option<&str>| {
        rows.iter().map(|r| f(r.report)).collect::<Vec<_>>()
    };
    let int = |f: fn(&NewRow) -> i64| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let inserted: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO reports (id, submission_id, dedup_key, organization_name, contact_info, \
         report_id, range_start_us, range_end_us, range_day, start_raw, end_raw, via_message, \
         tls_report_domain, tls_report_submitter, subject_report_id, message_id, message_from, \
         message_subject, message_date, file_name, total_successful, total_failed, \
         duplicate_count, last_duplicate_at_us, stored_at_us, parser_version) \
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::bigint[], $8::bigint[], $9::date[], $10::text[], $11::text[], \
         $12::boolean[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], \
         $18::text[], $19::text[], $20::text[], $21::bigint[], $22::bigint[], $23::bigint[], \
         $24::bigint[], $25::bigint[], $26::text[]) \
         ON CONFLICT (dedup_key, range_day) DO NOTHING RETURNING id",
    )
    .bind(ids)
    .bind(int(|r| r.submission_id))
    .bind(text(|r| Some(r.dedup_key.as_str())))
    .bind(text(|r| r.organization_name.as_deref()))
    .bind(text(|r| r.contact_info.as_deref()))
    .bind(text(|r| r.report_id.as_deref()))
    .bind(int(|r| r.report.range_start_us))
    .bind(int(|r| r.report.range_end_us))
    .bind(text(|r| Some(r.range_day.as_str())))
    .bind(text(|r| Some(r.start_raw.as_str())))
    .bind(text(|r| Some(r.end_raw.as_str())))
    .bind(
        rows.iter()
            .map(|r| r.report.message.is_some())
            .collect::<Vec<_>>(),
    )
    .bind(message(|m| m.tls_report_domain.as_deref()))
    .bind(message(|m| m.tls_report_submitter.as_deref()))
    .bind(message(|m| m.subject_report_id.as_deref()))
    .bind(message(|m| m.message_id.as_deref()))
    .bind(message(|m| m.from.as_deref()))
    .bind(message(|m| m.subject.as_deref()))
    .bind(message(|m| m.date.as_deref()))
    .bind(text(|r| r.file_name.as_deref()))
    .bind(int(|r| r.report.total_successful))
    .bind(int(|r| r.report.total_failed))
    .bind(int(|r| r.duplicate_count))
    .bind(
        rows.iter()
            .map(|r| r.last_duplicate_at_us)
            .collect::<Vec<_>>(),
    )
    .bind(vec![stored_at_us; rows.len()])
    .bind(text(|r| Some(r.parser_version.as_str())))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;

    let inserted: std::collections::HashSet<i64> = inserted.into_iter().collect();
    let mut won = HashMap::new();
    let mut kept = Vec::new();
    let mut lost = Vec::new();
    for (row, &id) in rows.iter().zip(ids) {
        if inserted.contains(&id) {
            won.insert(row.report.dedup_key.as_str(), id);
            kept.push((id, row.report));
        } else {
            lost.push(row.report);
        }
    }
    stored.extend(lookup(conn, lost.into_iter()).await?);
    insert_children(conn, &kept, policy_ids).await?;
    let mut ids: Vec<i64> = won.values().copied().collect();
    ids.sort_unstable();
    rollup::add_reports(conn, &ids).await?;
    Ok(won)
}

/// Policies, failure details and diagnostics of freshly inserted reports.
async fn insert_children(
    conn: &mut PgConnection,
    reports: &[(i64, &PreparedReport)],
    ids: &[i64],
) -> Result<(), StoreError> {
    let policies: Vec<_> = reports
        .iter()
        .flat_map(|&(report_id, r)| {
            r.policies
                .iter()
                .enumerate()
                .map(move |(index, p)| (report_id, index as i64, p, r.range_day.as_str()))
        })
        .zip(ids.iter().copied())
        .collect();
    if !policies.is_empty() {
        sqlx::query(
            "INSERT INTO policies (id, report_id, policy_index, policy_type, policy_domain, \
             policy_string, mx_host, successful, failed, range_day) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], \
             $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::date[])",
        )
        .bind(policies.iter().map(|p| p.1).collect::<Vec<_>>())
        .bind(policies.iter().map(|p| p.0.0).collect::<Vec<_>>())
        .bind(policies.iter().map(|p| p.0.1).collect::<Vec<_>>())
        .bind(
            policies
                .iter()
                .map(|p| p.0.2.policy_type.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            policies
                .iter()
                .map(|p| p.0.2.policy_domain.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            policies
                .iter()
                .map(|p| p.0.2.policy_string.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            policies
                .iter()
                .map(|p| p.0.2.mx_host.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            policies
                .iter()
                .map(|p| p.0.2.successful)
                .collect::<Vec<_>>(),
        )
        .bind(policies.iter().map(|p| p.0.2.failed).collect::<Vec<_>>())
        .bind(policies.iter().map(|p| p.0.3).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }

    let details: Vec<_> = policies
        .iter()
        .flat_map(|&((report_id, _, p, day), policy_id)| {
            p.details
                .iter()
                .map(move |d| (policy_id, report_id, d, day))
        })
        .collect();
    if !details.is_empty() {
        // Ids follow input order (WITH ORDINALITY), so details read back in report order.
        sqlx::query(
            "INSERT INTO failure_details (policy_id, report_id, result_type, sending_mta_ip, \
             receiving_mx_hostname, receiving_mx_helo, receiving_ip, failed_session_count, \
             additional_information, failure_reason_code, range_day) \
             SELECT a, b, c, d, e, f, g, h, i, j, k FROM UNNEST($1::bigint[], $2::bigint[], \
             $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], \
             $9::text[], $10::text[], $11::date[]) WITH ORDINALITY \
             AS t(a, b, c, d, e, f, g, h, i, j, k, n) ORDER BY n",
        )
        .bind(details.iter().map(|d| d.0).collect::<Vec<_>>())
        .bind(details.iter().map(|d| d.1).collect::<Vec<_>>())
        .bind(
            details
                .iter()
                .map(|d| d.2.result_type.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            details
                .iter()
                .map(|d| d.2.sending_mta_ip.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            details
                .iter()
                .map(|d| d.2.receiving_mx_hostname.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            details
                .iter()
                .map(|d| d.2.receiving_mx_helo.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            details
                .iter()
                .map(|d| d.2.receiving_ip.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            details
                .iter()
                .map(|d| d.2.failed_session_count)
                .collect::<Vec<_>>(),
        )
        .bind(
            details
                .iter()
                .map(|d| d.2.additional_information.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            details
                .iter()
                .map(|d| d.2.failure_reason_code.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(details.iter().map(|d| d.3).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }

    let diagnostics: Vec<_> = reports
        .iter()
        .flat_map(|&(report_id, r)| {
            r.diagnostics
                .iter()
                .map(move |d| (report_id, d, r.range_day.as_str()))
        })
        .collect();
    if !diagnostics.is_empty() {
        sqlx::query(
            "INSERT INTO diagnostics (report_id, code, path, message, range_day) \
             SELECT a, b, c, d, e FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], \
             $5::date[]) WITH ORDINALITY AS t(a, b, c, d, e, n) ORDER BY n",
        )
        .bind(diagnostics.iter().map(|d| d.0).collect::<Vec<_>>())
        .bind(
            diagnostics
                .iter()
                .map(|d| d.1.code.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            diagnostics
                .iter()
                .map(|d| d.1.path.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            diagnostics
                .iter()
                .map(|d| d.1.message.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(diagnostics.iter().map(|d| d.2).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// Adds receipts that stored nothing to the reports they repeat: id → (receipts, latest
/// receipt time). Rows are locked in id order first, so two transactions counting on the
/// same reports cannot deadlock.
async fn count_duplicates(
    conn: &mut PgConnection,
    counted: &HashMap<i64, (i64, i64)>,
) -> Result<(), StoreError> {
    if counted.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<(i64, i64, i64)> =
        counted.iter().map(|(&id, &(n, at))| (id, n, at)).collect();
    rows.sort_unstable();
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    sqlx::query("SELECT 1 FROM reports WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(&ids)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    sqlx::query(
        "UPDATE reports SET duplicate_count = duplicate_count + v.n, \
         last_duplicate_at_us = greatest(last_duplicate_at_us, v.at) \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, n, at) \
         WHERE reports.id = v.id",
    )
    .bind(&ids)
    .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
