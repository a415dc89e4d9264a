//! The pure half of `check`: fetched facts in, findings out. No IO, no clock (the time is
//! passed in), so every verdict and fix text is unit-tested here.

pub mod mx;
pub mod policy;
pub mod records;
