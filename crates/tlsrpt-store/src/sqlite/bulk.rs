//! Multi-row statements: many rows per round trip to SQLite's worker thread.
//!
//! sqlx runs each SQLite statement on a worker thread and awaits its answer, so a statement
//! per row would spend more time in hand-offs than in SQLite. A [`Template`] repeats a
//! placeholder group (`(?, ?, ?)` or `?`) for a chunk of rows. Chunk sizes are limited to a
//! few shapes (full chunks, then the binary digits of the remainder) so every statement text
//! recurs and stays in the connection's prepared-statement cache.

use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{Arguments, AssertSqlSafe, Encode, Sqlite, Type};

/// Most rows per statement. Larger chunks barely cut the per-statement overhead further but
/// cost more to prepare; the product with a row's placeholders stays far below SQLite's
/// 32766-variable limit.
const MAX_ROWS: usize = 256;

/// `{head}{group},{group},...{tail}`.
pub(super) struct Template {
    pub head: &'static str,
    /// One row's placeholders.
    pub group: &'static str,
    pub tail: &'static str,
}

impl Template {
    fn sql(&self, rows: usize) -> String {
        let mut sql = String::with_capacity(
            self.head.len() + rows * (self.group.len() + 1) + self.tail.len(),
        );
        sql.push_str(self.head);
        for i in 0..rows {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(self.group);
        }
        sql.push_str(self.tail);
        sql
    }
}

/// Collects one chunk's bind values.
pub(super) struct Binder {
    args: SqliteArguments,
    error: Option<BoxDynError>,
}

impl Binder {
    pub fn push<'q, T: Encode<'q, Sqlite> + Type<Sqlite>>(&mut self, value: T) {
        if let Err(e) = Arguments::add(&mut self.args, value) {
            self.error.get_or_insert(e);
        }
    }
}

/// Runs `template` over `rows`, binding each row with `bind`.
pub(super) async fn execute<T>(
    conn: &mut SqliteConnection,
    template: &Template,
    rows: &[T],
    bind: impl Fn(&mut Binder, &T),
) -> Result<(), sqlx::Error> {
    fetch(conn, template, rows, bind).await.map(drop)
}

/// Like [`execute`], returning the rows the statements produce (lookups by a list of keys).
///
/// While SQLite's worker thread runs one chunk, this thread binds the next: the two halves of
/// the work overlap instead of taking turns.
pub(super) async fn fetch<T>(
    conn: &mut SqliteConnection,
    template: &Template,
    rows: &[T],
    bind: impl Fn(&mut Binder, &T),
) -> Result<Vec<SqliteRow>, sqlx::Error> {
    let mut out = Vec::new();
    let mut chunks = chunks(rows);
    let Some(first) = chunks.next() else {
        return Ok(out);
    };
    let mut pending = statement(template, first, &bind)?;
    for chunk in chunks {
        let (done, next) = tokio::join!(pending.fetch_all(&mut *conn), async {
            statement(template, chunk, &bind)
        });
        out.extend(done?);
        pending = next?;
    }
    out.extend(pending.fetch_all(&mut *conn).await?);
    Ok(out)
}

type Statement = sqlx::query::Query<'static, Sqlite, SqliteArguments>;

fn statement<T>(
    template: &Template,
    chunk: &[T],
    bind: &impl Fn(&mut Binder, &T),
) -> Result<Statement, sqlx::Error> {
    Ok(sqlx::query_with(
        AssertSqlSafe(template.sql(chunk.len())),
        args(chunk, bind)?,
    ))
}

/// Splits rows into statement-sized chunks: full chunks, then the binary digits of the rest.
fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        let len = match rest.len() {
            0 => return None,
            n if n >= MAX_ROWS => MAX_ROWS,
            n => 1 << n.ilog2(),
        };
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        Some(chunk)
    })
}

fn args<T>(chunk: &[T], bind: &impl Fn(&mut Binder, &T)) -> Result<SqliteArguments, sqlx::Error> {
    let mut binder = Binder {
        args: SqliteArguments::default(),
        error: None,
    };
    for row in chunk {
        bind(&mut binder, row);
    }
    match binder.error {
        Some(e) => Err(sqlx::Error::Encode(e)),
        None => Ok(binder.args),
    }
}
