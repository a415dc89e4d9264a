-- Mirrors migrations/sqlite/0006_web_sessions.sql (see its comments).
CREATE TABLE web_sessions (
    token_sha256  BYTEA  PRIMARY KEY,
    user_name     TEXT   NOT NULL,
    csrf          TEXT   NOT NULL,
    created_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at_us);
