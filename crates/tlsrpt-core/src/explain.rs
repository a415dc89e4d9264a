//! Plain-English cause and action for each result type.
