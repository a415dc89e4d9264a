-- Indexes for the dashboard, JSON API and exports (src/sqlite/query.rs).
--
-- Report list filters: by day of the date range, by organization.
CREATE INDEX reports_range_day ON reports (range_day);
CREATE INDEX reports_organization ON reports (organization_name);
-- First/last day of each failure kind of one domain. Failure rollup rows are few next to
-- policy rollup rows (only days with failures), so this second index costs ingest little,
-- unlike one on daily_policy_rollups (see 0001).
CREATE INDEX daily_failure_rollups_domain
    ON daily_failure_rollups (policy_domain, result_type, day);
