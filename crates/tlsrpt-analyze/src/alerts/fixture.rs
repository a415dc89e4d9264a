//! Hand-made multi-day rows for the rule tests, shaped like the store's answers.

use chrono::{Days, NaiveDate};
use tlsrpt_core::{PolicyType, ResultType};
use tlsrpt_store::{DailyFailureRollup, DailyPolicyRollup, DomainCheck, FailureGroup, FailureSpan};

use super::{RuleInput, RuleSettings, evaluate};
use crate::alert::{Alert, Rule};

pub(crate) const DOMAIN: &str = "example.com";

/// Days are numbered from 0; `today` is the day after the first reporter's last day, when
/// yesterday's reports have arrived.
pub(crate) struct Data {
    start: NaiveDate,
    pub today: NaiveDate,
    policy_days: Vec<DailyPolicyRollup>,
    failure_days: Vec<DailyFailureRollup>,
    failures: Vec<FailureGroup>,
    pub check: Option<DomainCheck>,
}

impl Data {
    /// `org` reported `sessions` successful sessions a day on days `0..days`.
    pub fn clean_days(org: &str, days: u64, sessions: u64) -> Data {
        let start = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let mut data = Data {
            start,
            today: start + Days::new(days),
            policy_days: Vec::new(),
            failure_days: Vec::new(),
            failures: Vec::new(),
            check: None,
        };
        data.add_clean_days(org, days, sessions);
        data
    }

    pub fn add_clean_days(&mut self, org: &str, days: u64, sessions: u64) {
        for day in 0..days {
            self.add_day(org, day, sessions);
        }
    }

    pub fn add_day(&mut self, org: &str, day: u64, sessions: u64) {
        self.policy_days.push(DailyPolicyRollup {
            day: self.day(day),
            policy_domain: DOMAIN.into(),
            organization: org.into(),
            policy_type: PolicyType::Sts,
            successful: sessions,
            failed: 0,
            reports: 1,
        });
    }

    pub fn day(&self, day: u64) -> NaiveDate {
        self.start + Days::new(day)
    }

    pub fn fail(&mut self, org: &str, day: u64, result: &str, count: u64, mx: Option<&str>) {
        self.fail_at(org, day, result, count, mx, None);
    }

    /// Turns `count` of `org`'s successful sessions on `day` into failures of `result`.
    pub fn fail_at(
        &mut self,
        org: &str,
        day: u64,
        result: &str,
        count: u64,
        mx: Option<&str>,
        ip: Option<&str>,
    ) {
        let day = self.day(day);
        let policy = self
            .policy_days
            .iter_mut()
            .find(|p| p.day == day && p.organization == org)
            .expect("fail on a day the reporter reported");
        policy.successful -= count;
        policy.failed += count;
        let result_type = ResultType::from_wire(result);
        self.failure_days.push(DailyFailureRollup {
            day,
            policy_domain: DOMAIN.into(),
            organization: org.into(),
            policy_type: PolicyType::Sts,
            result_type: result_type.clone(),
            failed_sessions: count,
            details: 1,
        });
        self.failures.push(FailureGroup {
            result_type,
            policy_type: PolicyType::Sts,
            organization: org.into(),
            receiving_mx_hostname: mx.map(str::to_owned),
            sending_mta_ip: ip.map(str::to_owned),
            failed_sessions: count,
            details: 1,
            first_day: day,
            last_day: day,
        });
    }

    /// What `Store::failure_spans` answers for these rows.
    fn spans(&self) -> Vec<FailureSpan> {
        let mut spans: Vec<FailureSpan> = Vec::new();
        for f in &self.failure_days {
            match spans.iter_mut().find(|s| s.result_type == f.result_type) {
                Some(s) => {
                    s.first_day = s.first_day.min(f.day);
                    s.last_day = s.last_day.max(f.day);
                    s.failed_sessions += f.failed_sessions;
                }
                None => spans.push(FailureSpan {
                    result_type: f.result_type.clone(),
                    first_day: f.day,
                    last_day: f.day,
                    failed_sessions: f.failed_sessions,
                }),
            }
        }
        spans
    }

    pub fn evaluate(&self, settings: &RuleSettings) -> Vec<Alert> {
        let spans = self.spans();
        evaluate(
            &RuleInput {
                domain: DOMAIN,
                today: self.today,
                policy_days: &self.policy_days,
                failure_days: &self.failure_days,
                failures: &self.failures,
                spans: &spans,
                check: self.check.as_ref(),
            },
            settings,
        )
    }

    pub fn rules(&self, settings: &RuleSettings) -> Vec<Rule> {
        self.evaluate(settings).iter().map(|a| a.rule).collect()
    }

    /// The one alert of `rule`, failing the test unless exactly one fired.
    pub fn only<'a>(&self, alerts: &'a [Alert], rule: Rule) -> &'a Alert {
        let matching: Vec<&Alert> = alerts.iter().filter(|a| a.rule == rule).collect();
        assert_eq!(matching.len(), 1, "{rule:?} in {alerts:#?}");
        matching[0]
    }
}
