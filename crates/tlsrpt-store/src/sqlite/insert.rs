//! Writing reports. Ingest batches and reprocess replacements share one path: resolve every
//! report against the database (duplicate or new, and its ids), then write all rows with
//! multi-row statements and add them to the rollups, inside one `BEGIN IMMEDIATE` transaction.
//!
//! `BEGIN IMMEDIATE` takes the write lock up front, so the reads that resolve duplicates and
//! allocate ids cannot be invalidated by another process before the writes that rely on them.

use std::collections::HashMap;

use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Row, Transaction};

use super::bulk::{self, Template};
use super::{SqliteStore, db_error, rollup};
use crate::prepare::{PreparedReport, PreparedSubmission, prepare_reports, to_us};
use crate::{NewReport, ReportId, ReportOutcome, StoreError, SubmissionId, SubmissionOutcome};

impl SqliteStore {
    /// Stores submissions in one transaction; one outcome each, in order.
    pub(crate) async fn ingest(
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
        let mut import = self.import();
        let outcomes = import.add(submissions).await?;
        import.commit().await?;
        Ok(outcomes)
    }

    /// An import that adds batches to one transaction until committed ([`crate::Import`]).
    pub(crate) fn import(&self) -> SqliteImport {
        SqliteImport {
            store: self.clone(),
            tx: None,
        }
    }

    pub async fn replace_reports(
        &self,
        submission_id: SubmissionId,
        reports: Vec<NewReport>,
    ) -> Result<Vec<ReportOutcome>, StoreError> {
        let prepared = prepare_reports(reports)?;
        let id = submission_id.0;
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)?;
        let found = sqlx::query("SELECT 1 FROM submissions WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if found.is_none() {
            return Err(StoreError::invalid(
                "submission_id",
                format!("no stored submission has id {id}"),
            ));
        }
        rollup::subtract_submission(&mut tx, id).await?;
        let carried = sqlx::query(
            "SELECT dedup_key, duplicate_count, last_duplicate_at_us FROM reports \
             WHERE submission_id = ?",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| Ok((row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?))))
        .collect::<Result<HashMap<String, (i64, Option<i64>)>, sqlx::Error>>()
        .map_err(db_error)?;
        sqlx::query("DELETE FROM reports WHERE submission_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut resolver = Resolver::start(&mut tx, &prepared).await?;
        let outcomes = resolver.replace(id, &prepared, &carried);
        resolver.plan.write(&mut tx).await?;
        rollup::delete_emptied(&mut tx).await?;
        tx.commit().await.map_err(db_error)?;
        self.checkpoint_in_background();
        Ok(outcomes)
    }
}

/// A write transaction that batches are added to until [`SqliteImport::commit`]; it begins
/// with the first batch after a commit, and dropping it rolls back what was added since.
pub(crate) struct SqliteImport {
    store: SqliteStore,
    tx: Option<Transaction<'static, Sqlite>>,
}

impl SqliteImport {
    /// Resolves and writes `submissions`; one outcome each, in order. After an error the
    /// transaction holds part of the batch: the caller must drop it, not commit.
    pub(crate) async fn add(
        &mut self,
        submissions: &[PreparedSubmission],
    ) -> Result<Vec<SubmissionOutcome>, StoreError> {
        let tx = match &mut self.tx {
            Some(tx) => tx,
            None => self.tx.insert(
                self.store
                    .writer
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db_error)?,
            ),
        };
        let mut resolver = Resolver::start(tx, submissions.iter().flat_map(|s| &s.reports)).await?;
        let outcomes = submissions.iter().map(|sub| resolver.ingest(sub)).collect();
        resolver.plan.write(tx).await?;
        Ok(outcomes)
    }

    /// Makes everything added so far durable; nothing to do if nothing was added.
    pub(crate) async fn commit(&mut self) -> Result<(), StoreError> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await.map_err(db_error)?;
            self.store.checkpoint_in_background();
        }
        Ok(())
    }
}

/// Decides each report's fate against what is stored and what this transaction adds.
struct Resolver<'a> {
    /// Stored reports with a dedup key seen in this transaction.
    existing: HashMap<String, i64>,
    /// Reports new in this transaction: dedup key → index in `plan.reports`.
    fresh: HashMap<&'a str, usize>,
    next: NextIds,
    plan: Plan<'a>,
}

/// Ids the next new rows get. The writer allocates them itself (see the migration) so child
/// rows can reference parents without a round trip per parent.
struct NextIds {
    submission: i64,
    report: i64,
    policy: i64,
}

enum Fate {
    Stored(i64),
    InBatch(usize),
    New,
}

impl<'a> Resolver<'a> {
    async fn start(
        conn: &mut SqliteConnection,
        reports: impl IntoIterator<Item = &'a PreparedReport>,
    ) -> Result<Resolver<'a>, StoreError> {
        const LOOKUP: Template = Template {
            head: "SELECT dedup_key, id FROM reports WHERE dedup_key IN (",
            group: "?",
            tail: ")",
        };
        let mut keys: Vec<&str> = reports.into_iter().map(|r| r.dedup_key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let existing = bulk::fetch(conn, &LOOKUP, &keys, |b, k| b.push(*k))
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            })
            .map_err(db_error)?;
        let mut next = NextIds {
            submission: 1,
            report: 1,
            policy: 1,
        };
        let sequences = sqlx::query(
            "SELECT name, seq FROM sqlite_sequence \
             WHERE name IN ('submissions', 'reports', 'policies')",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        for row in &sequences {
            let seq: i64 = row.try_get(1).map_err(db_error)?;
            match row.try_get::<&str, _>(0).map_err(db_error)? {
                "submissions" => next.submission = seq + 1,
                "reports" => next.report = seq + 1,
                _ => next.policy = seq + 1,
            }
        }
        Ok(Resolver {
            existing,
            fresh: HashMap::new(),
            next,
            plan: Plan::default(),
        })
    }

    fn fate(&self, report: &PreparedReport) -> Fate {
        let key = report.dedup_key.as_str();
        match (self.existing.get(key), self.fresh.get(key)) {
            (Some(&id), _) => Fate::Stored(id),
            (None, Some(&index)) => Fate::InBatch(index),
            (None, None) => Fate::New,
        }
    }

    /// Resolves a new receipt: duplicates are counted on the report they repeat.
    fn ingest(&mut self, sub: &'a PreparedSubmission) -> SubmissionOutcome {
        let at = sub.received_at_us;
        let mut submission_id = None;
        let reports = sub
            .reports
            .iter()
            .map(|report| match self.fate(report) {
                Fate::Stored(id) => {
                    let (count, last) = self.plan.counted.entry(id).or_insert((0, at));
                    *count += 1;
                    *last = (*last).max(at);
                    ReportOutcome::Duplicate {
                        existing_id: ReportId(id),
                    }
                }
                Fate::InBatch(index) => {
                    let row = &mut self.plan.reports[index];
                    row.duplicate_count += 1;
                    row.last_duplicate_at_us =
                        Some(row.last_duplicate_at_us.map_or(at, |l| l.max(at)));
                    ReportOutcome::Duplicate {
                        existing_id: ReportId(row.id),
                    }
                }
                Fate::New => {
                    let sid = *submission_id.get_or_insert_with(|| {
                        let id = self.next.submission;
                        self.next.submission += 1;
                        self.plan.submissions.push((id, sub));
                        id
                    });
                    ReportOutcome::Stored {
                        id: ReportId(self.add(sid, report, (0, None))),
                    }
                }
            })
            .collect();
        SubmissionOutcome {
            submission_id: submission_id.map(SubmissionId),
            reports,
        }
    }

    /// Resolves re-parsed reports of a submission whose old reports were just deleted.
    /// Nothing is counted as a new receipt; duplicate counts follow the dedup key.
    fn replace(
        &mut self,
        submission_id: i64,
        reports: &'a [PreparedReport],
        carried: &HashMap<String, (i64, Option<i64>)>,
    ) -> Vec<ReportOutcome> {
        reports
            .iter()
            .map(|report| match self.fate(report) {
                Fate::Stored(id) => ReportOutcome::Duplicate {
                    existing_id: ReportId(id),
                },
                Fate::InBatch(index) => ReportOutcome::Duplicate {
                    existing_id: ReportId(self.plan.reports[index].id),
                },
                Fate::New => {
                    let counts = carried.get(&report.dedup_key).copied().unwrap_or((0, None));
                    ReportOutcome::Stored {
                        id: ReportId(self.add(submission_id, report, counts)),
                    }
                }
            })
            .collect()
    }

    fn add(
        &mut self,
        submission_id: i64,
        report: &'a PreparedReport,
        counts: (i64, Option<i64>),
    ) -> i64 {
        let id = self.next.report;
        self.next.report += 1;
        self.fresh
            .insert(&report.dedup_key, self.plan.reports.len());
        self.plan.reports.push(ReportRow {
            id,
            submission_id,
            first_policy_id: self.next.policy,
            report,
            duplicate_count: counts.0,
            last_duplicate_at_us: counts.1,
        });
        self.next.policy += report.policies.len() as i64;
        id
    }
}

/// Everything one transaction writes.
#[derive(Default)]
struct Plan<'a> {
    /// New submissions with their ids (only those with at least one new report).
    submissions: Vec<(i64, &'a PreparedSubmission)>,
    reports: Vec<ReportRow<'a>>,
    /// Stored report id → (receipts to add to its duplicate count, latest receipt time).
    counted: HashMap<i64, (i64, i64)>,
}

struct ReportRow<'a> {
    id: i64,
    submission_id: i64,
    /// Policies get consecutive ids from here, in report order.
    first_policy_id: i64,
    report: &'a PreparedReport,
    duplicate_count: i64,
    last_duplicate_at_us: Option<i64>,
}

const SUBMISSIONS: Template = Template {
    head: "INSERT INTO submissions (id, received_at_us, origin, source_name, raw_size, \
           raw_sha256, raw_encoding, auth_result, auth_domain, auth_reason, quarantined, raw) \
           VALUES ",
    group: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    tail: "",
};

const REPORTS: Template = Template {
    head: "INSERT INTO reports (id, submission_id, dedup_key, organization_name, contact_info, \
           report_id, range_start_us, range_end_us, range_day, start_raw, end_raw, via_message, \
           tls_report_domain, tls_report_submitter, subject_report_id, message_id, message_from, \
           message_subject, message_date, file_name, total_successful, total_failed, \
           duplicate_count, last_duplicate_at_us, stored_at_us, parser_version) VALUES ",
    group: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    tail: "",
};

const POLICIES: Template = Template {
    head: "INSERT INTO policies (id, report_id, policy_index, policy_type, policy_domain, \
           policy_string, mx_host, successful, failed) VALUES ",
    group: "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
    tail: "",
};

const FAILURE_DETAILS: Template = Template {
    head: "INSERT INTO failure_details (policy_id, report_id, result_type, sending_mta_ip, \
           receiving_mx_hostname, receiving_mx_helo, receiving_ip, failed_session_count, \
           additional_information, failure_reason_code) VALUES ",
    group: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    tail: "",
};

const DIAGNOSTICS: Template = Template {
    head: "INSERT INTO diagnostics (report_id, code, path, message) VALUES ",
    group: "(?, ?, ?, ?)",
    tail: "",
};

const COUNT_DUPLICATES: Template = Template {
    head: "UPDATE reports SET duplicate_count = duplicate_count + v.column2, \
           last_duplicate_at_us = max(coalesce(last_duplicate_at_us, v.column3), v.column3) \
           FROM (VALUES ",
    group: "(?, ?, ?)",
    tail: ") AS v WHERE reports.id = v.column1",
};

impl Plan<'_> {
    /// Writes every planned row and adds the new reports to the rollups.
    async fn write(&self, conn: &mut SqliteConnection) -> Result<(), StoreError> {
        let stored_at_us = to_us(&crate::now());
        bulk::execute(conn, &SUBMISSIONS, &self.submissions, |b, (id, sub)| {
            b.push(*id);
            b.push(sub.received_at_us);
            b.push(sub.origin.as_str());
            b.push(sub.source_name.as_deref());
            b.push(sub.raw_size);
            b.push(sub.raw.sha256().as_slice());
            b.push(sub.raw.encoding().as_str());
            b.push(sub.authentication.result.as_str());
            b.push(sub.authentication.domain.as_deref());
            b.push(sub.authentication.reason.as_deref());
            b.push(sub.quarantined);
            b.push(sub.raw.stored());
        })
        .await
        .map_err(db_error)?;

        bulk::execute(conn, &REPORTS, &self.reports, |b, row| {
            let r = row.report;
            let m = r.message.as_ref();
            b.push(row.id);
            b.push(row.submission_id);
            b.push(r.dedup_key.as_str());
            b.push(r.organization_name.as_deref());
            b.push(r.contact_info.as_deref());
            b.push(r.report_id.as_deref());
            b.push(r.range_start_us);
            b.push(r.range_end_us);
            b.push(r.range_day.as_str());
            b.push(r.start_raw.as_str());
            b.push(r.end_raw.as_str());
            b.push(m.is_some());
            b.push(m.and_then(|m| m.tls_report_domain.as_deref()));
            b.push(m.and_then(|m| m.tls_report_submitter.as_deref()));
            b.push(m.and_then(|m| m.subject_report_id.as_deref()));
            b.push(m.and_then(|m| m.message_id.as_deref()));
            b.push(m.and_then(|m| m.from.as_deref()));
            b.push(m.and_then(|m| m.subject.as_deref()));
            b.push(m.and_then(|m| m.date.as_deref()));
            b.push(r.file_name.as_deref());
            b.push(r.total_successful);
            b.push(r.total_failed);
            b.push(row.duplicate_count);
            b.push(row.last_duplicate_at_us);
            b.push(stored_at_us);
            b.push(r.parser_version.as_str());
        })
        .await
        .map_err(db_error)?;

        let policies: Vec<_> = self
            .reports
            .iter()
            .flat_map(|row| {
                (row.first_policy_id..)
                    .zip(&row.report.policies)
                    .enumerate()
                    .map(move |(index, (id, policy))| (id, row.id, index as i64, policy))
            })
            .collect();
        bulk::execute(
            conn,
            &POLICIES,
            &policies,
            |b, (id, report_id, index, p)| {
                b.push(*id);
                b.push(*report_id);
                b.push(*index);
                b.push(p.policy_type.as_str());
                b.push(p.policy_domain.as_deref());
                b.push(p.policy_string.as_str());
                b.push(p.mx_host.as_str());
                b.push(p.successful);
                b.push(p.failed);
            },
        )
        .await
        .map_err(db_error)?;

        let details: Vec<_> = policies
            .iter()
            .flat_map(|(id, report_id, _, p)| p.details.iter().map(move |d| (*id, *report_id, d)))
            .collect();
        bulk::execute(
            conn,
            &FAILURE_DETAILS,
            &details,
            |b, (policy_id, report_id, d)| {
                b.push(*policy_id);
                b.push(*report_id);
                b.push(d.result_type.as_str());
                b.push(d.sending_mta_ip.as_deref());
                b.push(d.receiving_mx_hostname.as_deref());
                b.push(d.receiving_mx_helo.as_deref());
                b.push(d.receiving_ip.as_deref());
                b.push(d.failed_session_count);
                b.push(d.additional_information.as_deref());
                b.push(d.failure_reason_code.as_deref());
            },
        )
        .await
        .map_err(db_error)?;

        let diagnostics: Vec<_> = self
            .reports
            .iter()
            .flat_map(|row| row.report.diagnostics.iter().map(move |d| (row.id, d)))
            .collect();
        bulk::execute(conn, &DIAGNOSTICS, &diagnostics, |b, (report_id, d)| {
            b.push(*report_id);
            b.push(d.code.as_str());
            b.push(d.path.as_str());
            b.push(d.message.as_str());
        })
        .await
        .map_err(db_error)?;

        let counted: Vec<_> = self.counted.iter().collect();
        bulk::execute(conn, &COUNT_DUPLICATES, &counted, |b, (id, (count, at))| {
            b.push(**id);
            b.push(*count);
            b.push(*at);
        })
        .await
        .map_err(db_error)?;

        match (self.reports.first(), self.reports.last()) {
            (Some(first), Some(last)) => rollup::add_reports(conn, first.id, last.id).await,
            _ => Ok(()),
        }
    }
}
