//! Flattened exports, CSV and NDJSON: one row per policy or one per failure detail, each
//! carrying its report and policy context (so a failure row never loses its policy domain,
//! which parsedmarc's flattened rows do). Shared by the API and `tlsrpt-hub export`.

use std::io::Write;

use serde::Serialize;
use tlsrpt_core::report::format_utc;
use tlsrpt_store::{
    ExportFilter, FailureRow, PolicyContext, PolicyRow, ReportContext, Store, StoreError,
};

/// Rows fetched per store query: big enough to amortise the query, small enough that an
/// export of millions of rows streams in constant memory.
pub const PAGE_ROWS: u32 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rows {
    /// One row per policy (its summary counts).
    Policies,
    /// One row per failure detail.
    Failures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

const REPORT_COLUMNS: [&str; 6] = [
    "report",
    "organization_name",
    "report_id",
    "contact_info",
    "range_start",
    "range_end",
];
const POLICY_COLUMNS: [&str; 7] = [
    "policy_index",
    "policy_type",
    "policy_domain",
    "policy_string",
    "mx_host",
    "successful",
    "failed",
];
const FAILURE_COLUMNS: [&str; 8] = [
    "result_type",
    "sending_mta_ip",
    "receiving_mx_hostname",
    "receiving_mx_helo",
    "receiving_ip",
    "failed_session_count",
    "additional_information",
    "failure_reason_code",
];

/// The CSV header line of `rows`.
pub fn csv_header(rows: Rows) -> Vec<u8> {
    let mut columns: Vec<&str> = REPORT_COLUMNS
        .iter()
        .chain(&POLICY_COLUMNS)
        .copied()
        .collect();
    if rows == Rows::Failures {
        columns.extend(FAILURE_COLUMNS);
    }
    csv_line(columns)
}

fn csv_line<I, S>(fields: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(fields).expect("writing to memory");
    writer.into_inner().expect("writing to memory")
}

fn report_fields(r: &ReportContext) -> [String; 6] {
    [
        r.report.0.to_string(),
        r.organization_name.clone().unwrap_or_default(),
        r.report_id.clone().unwrap_or_default(),
        r.contact_info.clone().unwrap_or_default(),
        format_utc(&r.range_start),
        format_utc(&r.range_end),
    ]
}

/// Lists (policy-string, mx-host) are one cell each, as a JSON array, so no separator
/// character can be confused with content.
fn policy_fields(p: &PolicyContext) -> [String; 7] {
    [
        p.policy_index.to_string(),
        p.policy_type.to_string(),
        p.policy_domain.clone().unwrap_or_default(),
        serde_json::to_string(&p.policy_string).expect("strings serialise"),
        serde_json::to_string(&p.mx_host).expect("strings serialise"),
        p.successful.to_string(),
        p.failed.to_string(),
    ]
}

fn policy_csv(row: &PolicyRow) -> Vec<u8> {
    csv_line(
        report_fields(&row.report)
            .into_iter()
            .chain(policy_fields(&row.policy)),
    )
}

fn failure_csv(row: &FailureRow) -> Vec<u8> {
    let failure = [
        row.result_type.to_string(),
        row.sending_mta_ip.clone().unwrap_or_default(),
        row.receiving_mx_hostname.clone().unwrap_or_default(),
        row.receiving_mx_helo.clone().unwrap_or_default(),
        row.receiving_ip.clone().unwrap_or_default(),
        row.failed_session_count.to_string(),
        row.additional_information.clone().unwrap_or_default(),
        row.failure_reason_code.clone().unwrap_or_default(),
    ];
    csv_line(
        report_fields(&row.report)
            .into_iter()
            .chain(policy_fields(&row.policy))
            .chain(failure),
    )
}

/// One NDJSON line; the store ids used for paging are left out.
fn ndjson<T: Serialize>(value: &T) -> Vec<u8> {
    let mut json = serde_json::to_value(value).expect("rows serialise");
    if let Some(object) = json.as_object_mut() {
        object.remove("row_id");
    }
    let mut line = serde_json::to_vec(&json).expect("values serialise");
    line.push(b'\n');
    line
}

/// Fetches the page after `filter.after` and renders it; `None` when the export is done.
pub async fn next_page(
    store: &Store,
    rows: Rows,
    format: Format,
    filter: &mut ExportFilter,
) -> Result<Option<Vec<u8>>, StoreError> {
    filter.limit = PAGE_ROWS;
    let (out, last) = match rows {
        Rows::Policies => {
            let page = store.export_policies(filter).await?;
            let last = page.last().map(|r| r.row_id);
            let out = page
                .iter()
                .flat_map(|r| match format {
                    Format::Csv => policy_csv(r),
                    Format::Ndjson => ndjson(r),
                })
                .collect();
            (out, last)
        }
        Rows::Failures => {
            let page = store.export_failures(filter).await?;
            let last = page.last().map(|r| r.row_id);
            let out = page
                .iter()
                .flat_map(|r| match format {
                    Format::Csv => failure_csv(r),
                    Format::Ndjson => ndjson(r),
                })
                .collect();
            (out, last)
        }
    };
    Ok(last.map(|id| {
        filter.after = id;
        out
    }))
}

/// Writes a whole export to `out` (the CLI's path; the API streams pages instead).
pub async fn write_all(
    store: &Store,
    rows: Rows,
    format: Format,
    mut filter: ExportFilter,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if format == Format::Csv {
        out.write_all(&csv_header(rows))?;
    }
    while let Some(page) = next_page(store, rows, format, &mut filter).await? {
        out.write_all(&page)?;
    }
    out.flush()?;
    Ok(())
}
