//! MTA-STS policy lines and TLSA records as reports embed them (RFC 8461 §3.2, RFC 6698 §2.2).
