//! Digests (issue 6): a daily or weekly summary of every domain, problem domains first and
//! clean ones in one line each; the channels (`[[digests]]`) give each recipient the domains
//! it follows.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc, Weekday};
use tlsrpt_analyze::{Digest, DigestDomain, Status, Totals, Window};
use tlsrpt_store::{AlertFilter, AlertState, RollupFilter, StoreError};

use super::Engine;
use super::engine::from_json;
pub use crate::config::notify::DigestSchedule as Period;

/// The latest instant at or before `now` a digest of `period` was due: every day at
/// `hour` UTC, weekly ones only on `weekday`.
pub fn last_due(now: DateTime<Utc>, period: Period, hour: u32, weekday: Weekday) -> DateTime<Utc> {
    let at =
        |day: NaiveDate| Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).expect("hour < 24"));
    let mut day = now.date_naive();
    if at(day) > now {
        day = day.pred_opt().expect("not the first day");
    }
    if period == Period::Weekly {
        let back = (7 + day.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        day = day - Days::new(u64::from(back));
    }
    at(day)
}

/// The report days a digest due at `due` covers: the day before (daily) or the seven days
/// before (weekly). Reports of the due day itself are not in yet.
pub fn covered(due: DateTime<Utc>, period: Period) -> Window {
    let to = due.date_naive().pred_opt().expect("not the first day");
    let days = match period {
        Period::Daily => 1,
        Period::Weekly => 7,
    };
    Window::ending(to, days)
}

/// The digest of `domains` over `window`: totals and status from the rollups, the alerts
/// open now.
pub async fn build(
    engine: &Engine,
    domains: &[String],
    window: Window,
) -> Result<Digest, StoreError> {
    let rows = engine
        .store()
        .daily_policy_rollups(&RollupFilter {
            policy_domain: None,
            from: Some(window.from),
            to: Some(window.to),
        })
        .await?;
    let mut sums: BTreeMap<&str, (u64, u64, Option<NaiveDate>)> = BTreeMap::new();
    for row in &rows {
        let entry = sums.entry(row.policy_domain.as_str()).or_default();
        entry.0 += row.successful;
        entry.1 += row.failed;
        if row.reports > 0 {
            entry.2 = entry.2.max(Some(row.day));
        }
    }
    let open = engine
        .store()
        .alerts(&AlertFilter {
            state: Some(AlertState::Open),
            limit: u32::MAX >> 1,
            ..Default::default()
        })
        .await?;
    let mut out: Vec<DigestDomain> = domains
        .iter()
        .map(|domain| {
            let (ok, failed, last_day) = sums.get(domain.as_str()).copied().unwrap_or_default();
            let sessions = ok + failed;
            let totals = Totals {
                successful: ok,
                failed,
                sessions,
                reports: 0,
                success_rate: (sessions > 0).then(|| ok as f64 * 100.0 / sessions as f64),
            };
            let mut open_alerts: Vec<_> = open
                .iter()
                .filter(|a| &a.domain == domain)
                .filter_map(from_json)
                .collect();
            open_alerts.sort_by_key(|a| (a.severity, a.rule));
            DigestDomain {
                domain: domain.clone(),
                status: Status::of(&totals, last_day, &window).as_str().to_owned(),
                sessions,
                failed_sessions: failed,
                success_rate: totals.success_rate,
                open_alerts,
                link: engine.config().domain_link(domain),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let clean = |d: &DigestDomain| d.open_alerts.is_empty() && d.status == "ok";
        clean(a)
            .cmp(&clean(b))
            .then_with(|| a.domain.cmp(&b.domain))
    });
    Ok(Digest {
        from: window.from,
        to: window.to,
        domains: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        // 2026-03-02 is a Monday.
        Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap()
    }

    #[test]
    fn daily_digests_are_due_at_the_hour_every_day() {
        assert_eq!(
            last_due(at(5, 7, 0), Period::Daily, 7, Weekday::Mon),
            at(5, 7, 0)
        );
        assert_eq!(
            last_due(at(5, 6, 59), Period::Daily, 7, Weekday::Mon),
            at(4, 7, 0)
        );
        assert_eq!(
            last_due(at(5, 23, 0), Period::Daily, 7, Weekday::Mon),
            at(5, 7, 0)
        );
        let window = covered(at(5, 7, 0), Period::Daily);
        assert_eq!(
            (window.from, window.to),
            (at(4, 0, 0).date_naive(), at(4, 0, 0).date_naive())
        );
    }

    #[test]
    fn weekly_digests_are_due_on_their_weekday() {
        assert_eq!(
            last_due(at(2, 7, 0), Period::Weekly, 7, Weekday::Mon),
            at(2, 7, 0)
        );
        assert_eq!(
            last_due(at(8, 23, 0), Period::Weekly, 7, Weekday::Mon),
            at(2, 7, 0)
        );
        assert_eq!(
            last_due(at(9, 6, 0), Period::Weekly, 7, Weekday::Mon),
            at(2, 7, 0)
        );
        assert_eq!(
            last_due(at(9, 7, 0), Period::Weekly, 7, Weekday::Mon),
            at(9, 7, 0)
        );
        assert_eq!(
            last_due(at(9, 7, 0), Period::Weekly, 7, Weekday::Fri),
            at(6, 7, 0)
        );
        let window = covered(at(9, 7, 0), Period::Weekly);
        assert_eq!(window.from, at(2, 0, 0).date_naive());
        assert_eq!(window.to, at(8, 0, 0).date_naive());
    }
}
