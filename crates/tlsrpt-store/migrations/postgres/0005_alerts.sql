-- Mirrors migrations/sqlite/0005_alerts.sql (see its comments): BIGINT ids from sequences.
CREATE TABLE alerts (
    id                   BIGSERIAL PRIMARY KEY,
    domain               TEXT   NOT NULL,
    rule                 TEXT   NOT NULL,
    severity             TEXT   NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    state                TEXT   NOT NULL CHECK (state IN ('open', 'resolved')),
    opened_at_us         BIGINT NOT NULL,
    resolved_at_us       BIGINT,
    last_evaluated_at_us BIGINT NOT NULL,
    acknowledged_at_us   BIGINT,
    acknowledged_by      TEXT,
    muted_until_us       BIGINT,
    last_notified_at_us  BIGINT,
    alert                TEXT   NOT NULL,
    CHECK ((state = 'open') = (resolved_at_us IS NULL))
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (domain, rule) WHERE state = 'open';
CREATE INDEX alerts_by_domain_rule ON alerts (domain, rule, id);

CREATE TABLE alert_notifications (
    id              BIGSERIAL PRIMARY KEY,
    alert_id        BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    kind            TEXT   NOT NULL,
    channel         TEXT   NOT NULL,
    attempts        BIGINT NOT NULL CHECK (attempts >= 0),
    created_at_us   BIGINT NOT NULL,
    delivered_at_us BIGINT,
    last_error      TEXT
);
CREATE INDEX alert_notifications_by_alert ON alert_notifications (alert_id, id);
