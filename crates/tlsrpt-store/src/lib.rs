//! Storage of submissions and reports.
