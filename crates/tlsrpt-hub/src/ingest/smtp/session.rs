//! One SMTP or LMTP session as a state machine without IO (RFC 5321, RFC 2033, RFC 3207).
//!
//! Bytes go in ([`Session::ingest`]), replies accumulate in [`Session::output`], and
//! [`Event`]s tell the IO loop what only it can do: read more, deliver a message (and then
//! hand the answer back with [`Session::delivered`]), start TLS, or close. `smtp-proto`
//! parses the commands and does the DATA dot-unstuffing.

use std::slice::Iter;
use std::sync::Arc;

use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver, RequestReceiver};
use smtp_proto::{
    EXT_8BIT_MIME, EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EXT_START_TLS,
    EhloResponse, Error, Request, Response,
};

/// RFC 5321 §4.5.3.1.8 asks servers to accept at least 100 recipients; a report message
/// has one or two, so more than that is a client gone wrong.
const MAX_RECIPIENTS: usize = 100;

/// What a session is configured with, shared by all sessions of a listener.
#[derive(Debug, Clone)]
pub struct Settings {
    pub hostname: String,
    /// Accepted recipients, lower-cased.
    pub addresses: Vec<String>,
    pub lmtp: bool,
    pub max_message_bytes: usize,
    pub max_errors: u32,
    /// STARTTLS is offered (a certificate is configured).
    pub starttls: bool,
}

/// A reply line: code, enhanced status code (RFC 3463) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub status: [u8; 3],
    pub text: String,
}

impl Reply {
    pub fn new(code: u16, status: [u8; 3], text: impl Into<String>) -> Self {
        Reply {
            code,
            status,
            text: text.into(),
        }
    }
}

/// What the IO loop must do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Send [`Session::output`] and read more.
    NeedInput,
    /// A complete message for the report addresses: store it, then call [`Session::delivered`].
    Message(Envelope),
    /// Send the output, then run the TLS handshake and call [`Session::tls_started`].
    /// Bytes the client pipelined after STARTTLS must be dropped (RFC 3207 §4.2).
    StartTls,
    /// Send the output and close the connection.
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub helo: String,
    pub mail_from: String,
    pub recipients: Vec<String>,
    /// The message, dot-unstuffed, as the client sent it.
    pub raw: Vec<u8>,
}

enum Phase {
    Commands,
    Data(DataReceiver),
    /// Over the size cap: the rest of the message is read and thrown away.
    Discard(DummyDataReceiver),
    Closed,
}

pub struct Session {
    settings: Arc<Settings>,
    phase: Phase,
    requests: RequestReceiver,
    tls: bool,
    helo: Option<String>,
    mail_from: Option<String>,
    recipients: Vec<String>,
    message: Vec<u8>,
    errors: u32,
    output: Vec<u8>,
}

impl Session {
    /// A new session, with the greeting already in the output.
    pub fn new(settings: Arc<Settings>, tls: bool) -> Self {
        let kind = if settings.lmtp { "LMTP" } else { "ESMTP" };
        let mut session = Session {
            phase: Phase::Commands,
            requests: RequestReceiver::default(),
            tls,
            helo: None,
            mail_from: None,
            recipients: Vec::new(),
            message: Vec::new(),
            errors: 0,
            output: Vec::new(),
            settings,
        };
        // No enhanced status code: the client has not asked for them yet (RFC 2034 §3).
        let greeting = format!(
            "220 {} {kind} tlsrpt-hub ready\r\n",
            session.settings.hostname
        );
        session.output.extend_from_slice(greeting.as_bytes());
        session
    }

    /// Replies not yet sent; the IO loop sends and clears them.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.output
    }

    /// Whether the client is sending message data (the IO loop's data timeout applies).
    pub fn in_data(&self) -> bool {
        matches!(self.phase, Phase::Data(_) | Phase::Discard(_))
    }

    /// Consumes input until an [`Event`] needs the IO loop.
    pub fn ingest(&mut self, bytes: &mut Iter<'_, u8>) -> Event {
        loop {
            match &mut self.phase {
                Phase::Closed => return Event::Close,
                Phase::Data(data) => {
                    let done = data.ingest(bytes, &mut self.message);
                    if self.message.len() > self.settings.max_message_bytes {
                        self.message = Vec::new();
                        if done {
                            self.phase = Phase::Commands;
                            self.too_large();
                        } else {
                            self.phase = Phase::Discard(DummyDataReceiver::new_data(data));
                        }
                        continue;
                    }
                    if !done {
                        return Event::NeedInput;
                    }
                    self.phase = Phase::Commands;
                    return Event::Message(self.take_envelope());
                }
                Phase::Discard(discard) => {
                    if !discard.ingest(bytes) {
                        return Event::NeedInput;
                    }
                    self.phase = Phase::Commands;
                    self.too_large();
                }
                Phase::Commands => match self.requests.ingest(bytes) {
                    Ok(request) => {
                        let request = request.into_owned();
                        if let Some(event) = self.command(request) {
                            return event;
                        }
                    }
                    Err(Error::NeedsMoreData { .. }) => return Event::NeedInput,
                    Err(error) => {
                        if let Some(event) = self.syntax_error(error) {
                            return event;
                        }
                    }
                },
            }
        }
    }

    /// The answer for the message just handed out: one reply for SMTP, one per accepted
    /// recipient for LMTP (RFC 2033 §4.2). The message is stored once for all of them,
    /// so every recipient gets the same answer.
    pub fn delivered(&mut self, recipients: usize, reply: &Reply) {
        let count = if self.settings.lmtp { recipients } else { 1 };
        for _ in 0..count {
            self.reply(reply.clone());
        }
    }

    /// The TLS handshake is done: the session starts over (RFC 3207 §4.2).
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.helo = None;
        self.reset();
        self.requests = RequestReceiver::default();
    }

    /// The client was too slow; or we are shutting down.
    pub fn close_with(&mut self, reply: Reply) {
        self.reply(reply);
        self.phase = Phase::Closed;
    }

    fn command(&mut self, request: Request<String>) -> Option<Event> {
        let lmtp = self.settings.lmtp;
        match request {
            Request::Lhlo { host } if lmtp => self.hello(host, true),
            Request::Ehlo { host } if !lmtp => self.hello(host, true),
            Request::Helo { host } if !lmtp => self.hello(host, false),
            Request::Ehlo { .. } | Request::Helo { .. } => {
                return self.error(Reply::new(
                    500,
                    [5, 5, 1],
                    "this is an LMTP server: use LHLO",
                ));
            }
            Request::Lhlo { .. } => {
                return self.error(Reply::new(
                    500,
                    [5, 5, 1],
                    "this is an SMTP server: use EHLO",
                ));
            }
            Request::StartTls => return self.starttls(),
            Request::Mail { from } => return self.mail(from.address, from.size),
            Request::Rcpt { to } => return self.rcpt(to.address),
            Request::Data => return self.data(),
            Request::Rset => {
                self.reset();
                self.reply(Reply::new(250, [2, 0, 0], "OK"));
            }
            Request::Noop { .. } => self.reply(Reply::new(250, [2, 0, 0], "OK")),
            Request::Quit => {
                self.reply(Reply::new(221, [2, 0, 0], "bye"));
                self.phase = Phase::Closed;
                return Some(Event::Close);
            }
            Request::Vrfy { .. } | Request::Expn { .. } => {
                // Address probing tells strangers nothing they need (RFC 5321 §7.3).
                return self.error(Reply::new(502, [5, 5, 1], "VRFY and EXPN are disabled"));
            }
            Request::Help { .. } => self.reply(Reply::new(
                214,
                [2, 0, 0],
                "tlsrpt-hub takes TLS reports (RFC 8460) for its report addresses",
            )),
            Request::Bdat { .. }
            | Request::Auth { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => {
                return self.error(Reply::new(502, [5, 5, 1], "command not implemented"));
            }
        }
        None
    }

    fn hello(&mut self, host: String, extended: bool) {
        self.reset();
        self.helo = Some(host);
        if !extended {
            let text = format!("{} hello", self.settings.hostname);
            self.reply(Reply::new(250, [2, 0, 0], text));
            return;
        }
        let mut ehlo = EhloResponse::new(self.settings.hostname.as_str());
        ehlo.capabilities = EXT_8BIT_MIME | EXT_PIPELINING | EXT_SIZE | EXT_ENHANCED_STATUS_CODES;
        if self.settings.starttls && !self.tls {
            ehlo.capabilities |= EXT_START_TLS;
        }
        ehlo.size = self.settings.max_message_bytes;
        let mut lines = Vec::new();
        ehlo.write(&mut lines)
            .expect("writing to a Vec cannot fail");
        // smtp-proto's first line jokes "you had me at EHLO"; a mail admin reading a
        // transcript should see our name and a plain greeting. Its capability lines follow
        // (there are always some, so the greeting line continues with `250-`).
        let capabilities = lines
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&lines[..0], |end| &lines[end + 1..]);
        let greeting = format!("250-{} hello\r\n", self.settings.hostname);
        self.output.extend_from_slice(greeting.as_bytes());
        self.output.extend_from_slice(capabilities);
    }

    fn starttls(&mut self) -> Option<Event> {
        if self.tls {
            return self.error(Reply::new(503, [5, 5, 1], "TLS is already active"));
        }
        if !self.settings.starttls {
            return self.error(Reply::new(454, [4, 7, 0], "TLS not available"));
        }
        self.reply(Reply::new(220, [2, 0, 0], "ready to start TLS"));
        Some(Event::StartTls)
    }

    fn mail(&mut self, from: String, size: usize) -> Option<Event> {
        if self.helo.is_none() {
            let hello = if self.settings.lmtp {
                "LHLO"
            } else {
                "EHLO/HELO"
            };
            return self.error(Reply::new(503, [5, 5, 1], format!("send {hello} first")));
        }
        if self.mail_from.is_some() {
            return self.error(Reply::new(503, [5, 5, 1], "nested MAIL command"));
        }
        if size > self.settings.max_message_bytes {
            self.too_large();
            return None;
        }
        self.mail_from = Some(from);
        self.reply(Reply::new(250, [2, 1, 0], "OK"));
        None
    }

    fn rcpt(&mut self, to: String) -> Option<Event> {
        if self.mail_from.is_none() {
            return self.error(Reply::new(503, [5, 5, 1], "send MAIL first"));
        }
        if self.recipients.len() >= MAX_RECIPIENTS {
            self.reply(Reply::new(452, [4, 5, 3], "too many recipients"));
            return None;
        }
        let address = to.to_ascii_lowercase();
        if !self.settings.addresses.contains(&address) {
            // Counted as an error: a client trying addresses is harvesting them.
            return self.error(Reply::new(
                550,
                [5, 1, 1],
                format!("<{to}>: not a TLS report address here"),
            ));
        }
        if !self.recipients.contains(&address) {
            self.recipients.push(address);
        }
        self.reply(Reply::new(250, [2, 1, 5], "OK"));
        None
    }

    fn data(&mut self) -> Option<Event> {
        if self.mail_from.is_none() {
            return self.error(Reply::new(503, [5, 5, 1], "send MAIL first"));
        }
        if self.recipients.is_empty() {
            return self.error(Reply::new(554, [5, 5, 1], "no valid recipients"));
        }
        self.reply(Reply::new(
            354,
            [2, 0, 0],
            "send the report, end with <CRLF>.<CRLF>",
        ));
        self.message.clear();
        let mut receiver = DataReceiver::new();
        // The CRLF that ended DATA begins the first line: primed with it, the receiver
        // unstuffs a leading "." and ends an empty message at once (RFC 5321 §4.5.2).
        receiver.ingest(&mut b"\r\n".iter(), &mut Vec::new());
        self.phase = Phase::Data(receiver);
        None
    }

    fn syntax_error(&mut self, error: Error) -> Option<Event> {
        let reply = match error {
            Error::UnknownCommand => Reply::new(500, [5, 5, 1], "unknown command"),
            Error::InvalidSenderAddress => Reply::new(501, [5, 1, 7], "bad sender address"),
            Error::InvalidRecipientAddress => Reply::new(501, [5, 1, 3], "bad recipient address"),
            Error::SyntaxError { syntax } => {
                Reply::new(501, [5, 5, 4], format!("syntax: {syntax}"))
            }
            Error::InvalidParameter { param } => {
                Reply::new(501, [5, 5, 4], format!("bad {param} parameter"))
            }
            Error::UnsupportedParameter { param } => Reply::new(
                555,
                [5, 5, 4],
                format!("unsupported parameter {}", one_line(&param)),
            ),
            Error::ResponseTooLong => Reply::new(500, [5, 5, 6], "line too long"),
            Error::NeedsMoreData { .. } | Error::InvalidResponse { .. } => {
                Reply::new(500, [5, 5, 1], "unknown command")
            }
        };
        self.error(reply)
    }

    /// Replies with an error, and closes the session once the client made too many
    /// (a confused or hostile client must not hold a connection forever).
    fn error(&mut self, reply: Reply) -> Option<Event> {
        self.reply(reply);
        self.errors += 1;
        if self.errors >= self.settings.max_errors {
            self.close_with(Reply::new(421, [4, 7, 0], "too many errors, closing"));
            return Some(Event::Close);
        }
        None
    }

    /// RFC 5321 §4.5.3.1.10 / RFC 1870: 552 for a message over the announced SIZE; the
    /// transaction is over.
    fn too_large(&mut self) {
        self.reset();
        let size = self.settings.max_message_bytes;
        self.reply(Reply::new(
            552,
            [5, 3, 4],
            format!("message exceeds the fixed maximum size of {size} bytes"),
        ));
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
        self.message = Vec::new();
    }

    fn take_envelope(&mut self) -> Envelope {
        let envelope = Envelope {
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            recipients: std::mem::take(&mut self.recipients),
            raw: std::mem::take(&mut self.message),
        };
        self.reset();
        envelope
    }

    fn reply(&mut self, reply: Reply) {
        let [class, subject, detail] = reply.status;
        Response::new(reply.code, class, subject, detail, one_line(&reply.text))
            .write(&mut self.output)
            .expect("writing to a Vec cannot fail");
    }
}

/// Reply text must be one line of printable ASCII; reasons can quote anything.
fn one_line(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(300)
        .collect();
    line.truncate(line.trim_end().len());
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(lmtp: bool) -> Session {
        Session::new(
            Arc::new(Settings {
                hostname: "mx.test".into(),
                addresses: vec!["tlsrpt@example.com".into()],
                lmtp,
                max_message_bytes: 64,
                max_errors: 5,
                starttls: true,
            }),
            false,
        )
    }

    /// Feeds `input`, returns the events and the replies written.
    fn feed(session: &mut Session, input: &str) -> (Vec<Event>, String) {
        let mut bytes = input.as_bytes().iter();
        let mut events = Vec::new();
        loop {
            let event = session.ingest(&mut bytes);
            let done = matches!(event, Event::NeedInput | Event::Close);
            events.push(event);
            if done {
                break;
            }
        }
        let output = String::from_utf8(std::mem::take(session.output())).unwrap();
        (events, output)
    }

    #[test]
    fn ehlo_and_lhlo_greet_with_the_hostname_then_list_capabilities() {
        for (lmtp, hello) in [(false, "EHLO"), (true, "LHLO")] {
            let mut s = session(lmtp);
            feed(&mut s, "");
            let (_, replies) = feed(&mut s, &format!("{hello} client.example\r\n"));
            assert_eq!(
                replies,
                "250-mx.test hello\r\n250-STARTTLS\r\n250-SIZE 64\r\n250-PIPELINING\r\n\
                 250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
            );
        }
    }

    #[test]
    fn a_pipelined_transaction_yields_the_unstuffed_message() {
        let mut s = session(false);
        feed(&mut s, "");
        let (events, replies) = feed(
            &mut s,
            "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<TLSRPT@example.com>\r\nDATA\r\n\
             Subject: x\r\n\r\n..dot\r\n.\r\n",
        );
        assert!(replies.contains("250-STARTTLS"), "{replies}");
        assert!(replies.ends_with("250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 2.0.0 send the report, end with <CRLF>.<CRLF>\r\n"), "{replies}");
        let Event::Message(envelope) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(envelope.raw, b"Subject: x\r\n\r\n.dot\r\n");
        assert_eq!(envelope.recipients, ["tlsrpt@example.com"]);
        s.delivered(1, &Reply::new(250, [2, 0, 0], "stored"));
        let (_, replies) = feed(&mut s, "QUIT\r\n");
        assert_eq!(replies, "250 2.0.0 stored\r\n221 2.0.0 bye\r\n");
    }

    #[test]
    fn the_first_data_line_is_unstuffed_and_an_empty_message_ends_at_once() {
        let mut s = session(false);
        feed(
            &mut s,
            "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<tlsrpt@example.com>\r\n",
        );
        let (events, _) = feed(&mut s, "DATA\r\n..x\r\n.\r\n");
        let Event::Message(envelope) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(envelope.raw, b".x\r\n");
        feed(&mut s, "MAIL FROM:<>\r\nRCPT TO:<tlsrpt@example.com>\r\n");
        let (events, _) = feed(&mut s, "DATA\r\n.\r\n");
        let Event::Message(envelope) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(envelope.raw, b"");
    }

    #[test]
    fn oversize_data_is_read_to_the_end_and_refused() {
        let mut s = session(false);
        feed(
            &mut s,
            "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<tlsrpt@example.com>\r\nDATA\r\n",
        );
        let big = "x".repeat(100);
        let (events, replies) = feed(&mut s, &format!("{big}\r\n{big}\r\n.\r\nNOOP\r\n"));
        assert_eq!(events, [Event::NeedInput]);
        assert!(replies.starts_with("552 5.3.4"), "{replies}");
        assert!(replies.ends_with("250 2.0.0 OK\r\n"), "{replies}");
    }

    #[test]
    fn lmtp_needs_lhlo_and_answers_per_recipient() {
        let mut s = session(true);
        let (_, replies) = feed(&mut s, "EHLO c\r\nLHLO c\r\n");
        assert!(
            replies.contains("500 5.5.1 this is an LMTP server"),
            "{replies}"
        );
        s.delivered(2, &Reply::new(451, [4, 3, 0], "later"));
        let (_, replies) = feed(&mut s, "");
        assert_eq!(replies, "451 4.3.0 later\r\n451 4.3.0 later\r\n");
    }

    #[test]
    fn starttls_restarts_the_session() {
        let mut s = session(false);
        let (events, _) = feed(&mut s, "EHLO c\r\nSTARTTLS\r\n");
        assert_eq!(events[0], Event::StartTls);
        s.tls_started();
        let (_, replies) = feed(&mut s, "MAIL FROM:<>\r\nEHLO c\r\nSTARTTLS\r\n");
        assert!(
            replies.starts_with("503 5.5.1 send EHLO/HELO first"),
            "{replies}"
        );
        assert!(!replies.contains("STARTTLS\r\n"), "{replies}");
        assert!(
            replies.ends_with("503 5.5.1 TLS is already active\r\n"),
            "{replies}"
        );
    }
}
