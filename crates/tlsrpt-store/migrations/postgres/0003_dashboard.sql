-- Mirrors migrations/sqlite/0003_dashboard.sql: the same indexes (on partitioned `reports`
-- each becomes one index per monthly partition).
CREATE INDEX reports_range_day ON reports (range_day);
CREATE INDEX reports_organization ON reports (organization_name);
CREATE INDEX daily_failure_rollups_domain
    ON daily_failure_rollups (policy_domain, result_type, day);
