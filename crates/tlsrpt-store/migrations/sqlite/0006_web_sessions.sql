-- Dashboard login sessions, kept in the store so that a restart of `serve` keeps everyone
-- logged in and several `serve` instances behind a load balancer share logins.
--
-- Only the SHA-256 of the session cookie is stored: whoever reads the database (a backup, a
-- read replica) cannot log in with what it holds. The CSRF token is kept as is: forms embed
-- it, and it is worth nothing without the cookie.
-- Instants are INTEGER unix microseconds UTC, as in 0001. Expired rows are deleted on every
-- login (and never honoured before then).
CREATE TABLE web_sessions (
    token_sha256  BLOB    PRIMARY KEY,
    user_name     TEXT    NOT NULL,
    csrf          TEXT    NOT NULL,
    created_at_us INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at_us);
