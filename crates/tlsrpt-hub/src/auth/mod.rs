//! Who sent a mailed report (RFC 8460 §3): DKIM verification and the policy applied to it.

pub mod dkim;
