//! Raw pass: the wire JSON read into `Raw*` structs that mirror RFC 8460 §4.4 key by key.
//!
//! Hand-written visitors rather than `#[derive(Deserialize)]`, because the parser must keep
//! going where derive stops — duplicate keys, `null`, a string where §4.4 says array, a count
//! sent as `"12"` or `12.0` — and record each repair as a diagnostic, while staying as fast as
//! a plain derive: every value is read straight from the byte slice, with no
//! `serde_json::Value` and no `untagged`/`flatten` buffering. Semantic checks (dates, IPs,
//! domains, required fields) happen afterwards in `parse.rs`, on these structs.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};

use super::IpValue;
use super::ip::read_ip;
use super::path::{Path, Sink};
use crate::DiagnosticCode;

/// A member as sent: absent, `null`, or a value. Normalisation reports the first two
/// differently (`missing-field` vs `null-field`), so they stay distinct here.
#[derive(Debug, Default)]
pub(super) enum Slot<T> {
    #[default]
    Absent,
    Null,
    Present(T),
}

/// Reads a whole report. Errors are serde_json's, with their JSON path left in `sink`.
pub(super) fn read_report(json: &[u8], sink: &mut Sink) -> Result<RawReport, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let report = Object::<RawReport>::new(sink, &Path::Root).deserialize(&mut de)?;
    de.end()?;
    Ok(report)
}

/// The member names of one JSON object type.
pub(super) trait Fields: Copy + Sized {
    fn lookup(name: &str) -> Option<Key<Self>>;
    /// The RFC 8460 key.
    fn name(self) -> &'static str;
    /// A distinct bit per field, for duplicate-key detection without allocation.
    fn bit(self) -> u32;
}

/// A member name as read.
pub(super) enum Key<F> {
    Field(F),
    /// A pre-RFC draft name (SPEC §2.5), read as `F`.
    Alias(F, &'static str),
    Unknown(String),
}

/// Declares the members of one object: RFC 8460 §4.4 keys, then draft-era aliases for them.
macro_rules! fields {
    (
        $(#[$meta:meta])* $name:ident { $($variant:ident => $key:literal,)* }
        aliases { $($alias:literal => $target:ident,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum $name {
            $($variant,)*
        }

        impl Fields for $name {
            fn lookup(name: &str) -> Option<Key<Self>> {
                match name {
                    $($key => Some(Key::Field($name::$variant)),)*
                    $($alias => Some(Key::Alias($name::$target, $alias)),)*
                    _ => None,
                }
            }

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $key,)*
                }
            }

            fn bit(self) -> u32 {
                1 << self as u32
            }
        }
    };
}

/// One JSON object type of the report and how each of its members is read.
pub(super) trait RawObject: Default {
    type Field: Fields;
    /// What the object is, for type errors ("expected a summary object").
    const NAME: &'static str;

    /// Reads the value of `field` (the key has been consumed); `path` names that value.
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        field: Self::Field,
        map: &mut A,
        sink: &mut Sink,
        path: &Path,
    ) -> Result<(), A::Error>;
}

fields! {
    ReportField {
        OrganizationName => "organization-name",
        DateRange => "date-range",
        ContactInfo => "contact-info",
        ReportId => "report-id",
        Policies => "policies",
    }
    // The earliest drafts used `applied-policy` + `report-items`: a different structure, not a
    // renaming, so they are not aliased and such a document fails for want of `policies`.
    aliases {}
}

/// §4.4 top level.
#[derive(Debug, Default)]
pub(super) struct RawReport {
    pub(super) organization_name: Slot<String>,
    pub(super) date_range: Slot<RawDateRange>,
    pub(super) contact_info: Slot<String>,
    pub(super) report_id: Slot<String>,
    pub(super) policies: Slot<Vec<RawPolicyResult>>,
}

impl RawReport {
    /// Whether any §4.4 top-level key was present (even as `null`): tells "a broken
    /// report" from "not a report at all".
    pub(super) fn has_report_keys(&self) -> bool {
        !(matches!(self.organization_name, Slot::Absent)
            && matches!(self.date_range, Slot::Absent)
            && matches!(self.contact_info, Slot::Absent)
            && matches!(self.report_id, Slot::Absent)
            && matches!(self.policies, Slot::Absent))
    }
}

impl RawObject for RawReport {
    type Field = ReportField;
    const NAME: &'static str = "TLS-RPT report";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        field: ReportField,
        map: &mut A,
        sink: &mut Sink,
        path: &Path,
    ) -> Result<(), A::Error> {
        match field {
            ReportField::OrganizationName => self.organization_name = map.next_value_seed(TEXT)?,
            ReportField::DateRange => {
                self.date_range = map.next_value_seed(Nullable(Object::new(sink, path)))?;
            }
            ReportField::ContactInfo => self.contact_info = map.next_value_seed(TEXT)?,
            ReportField::ReportId => self.report_id = map.next_value_seed(TEXT)?,
            ReportField::Policies => {
                self.policies = map.next_value_seed(Nullable(Array::new(sink, path)))?;
            }
        }
        Ok(())
    }
}

fields! {
    DateRangeField {
        Start => "start-datetime",
        End => "end-datetime",
    }
    aliases {}
}

/// §4.4 `date-range`: the strings as sent; parsed in `date.rs`.
#[derive(Debug, Default)]
pub(super) struct RawDateRange {
    pub(super) start: Slot<String>,
    pub(super) end: Slot<String>,
}

impl RawObject for RawDateRange {
    type Field = DateRangeField;
    const NAME: &'static str = "date-range";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        field: DateRangeField,
        map: &mut A,
        _sink: &mut Sink,
        _path: &Path,
    ) -> Result<(), A::Error> {
        let value = map.next_value_seed(TEXT)?;
        match field {
            DateRangeField::Start => self.start = value,
            DateRangeField::End => self.end = value,
        }
        Ok(())
    }
}

fields! {
    PolicyResultField {
        Policy => "policy",
        Summary => "summary",
        FailureDetails => "failure-details",
    }
    aliases {}
}

/// One element of §4.4 `policies`.
#[derive(Debug, Default)]
pub(super) struct RawPolicyResult {
    pub(super) policy: Slot<RawPolicy>,
    pub(super) summary: Slot<RawSummary>,
    pub(super) failure_details: Slot<Vec<RawFailureDetail>>,
}

impl RawObject for RawPolicyResult {
    type Field = PolicyResultField;
    const NAME: &'static str = "policy entry";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        field: PolicyResultField,
        map: &mut A,
        sink: &mut Sink,
        path: &Path,
    ) -> Result<(), A::Error> {
        match field {
            PolicyResultField::Policy => {
                self.policy = map.next_value_seed(Nullable(Object::new(sink, path)))?;
            }
            PolicyResultField::Summary => {
                self.summary = map.next_value_seed(Nullable(Object::new(sink, path)))?;
            }
            PolicyResultField::FailureDetails => {
                self.failure_details = map.next_value_seed(Nullable(Array::new(sink, path)))?;
            }
        }
        Ok(())
    }
}

fields! {
    PolicyField {
        PolicyType => "policy-type",
        PolicyString => "policy-string",
        PolicyDomain => "policy-domain",
        MxHost => "mx-host",
    }
    aliases {}
}

/// §4.4 `policy`.
#[derive(Debug, Default)]
pub(super) struct RawPolicy {
    pub(super) policy_type: Slot<String>,
    pub(super) policy_string: Slot<Vec<String>>,
    pub(super) policy_domain: Slot<String>,
    pub(super) mx_host: Slot<Vec<String>>,
}

impl RawObject for RawPolicy {
    type Field = PolicyField;
    const NAME: &'static str = "policy";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        field: PolicyField,
        map: &mut A,
        sink: &mut Sink,
        path: &Path,
    ) -> Result<(), A::Error> {
        match field {
            PolicyField::PolicyType => self.policy_type = map.next_value_seed(TEXT)?,
            PolicyField::PolicyString => {
                self.policy_string = map.next_value_seed(Nullable(Strings { sink, path }))?;
            }
            PolicyField::PolicyDomain => self.policy_domain = map.next_value_seed(TEXT)?,
            PolicyField::MxHost => {
                self.mx_host = map.next_value_seed(Nullable(Strings { sink, path }))?;
            }
        }
        Ok(())
    }
}

fields! {
    SummaryField {
        TotalSuccessful => "total-successful-session-count",
        TotalFailure => "total-failure-session-count",
    }
    // draft-ietf-uta-smtp-tlsrpt (2017) summary names.
    aliases {
        "success-aggregate" => TotalSuccessful,
        "failure-aggregate" => TotalFailure,
    }
}

/// §4.4 `summary`.
#[derive(Debug, Default)]
pub(super) struct RawSummary {
    pub(super) total_successful: Slot<u64>,
    pub(super) total_failure: Slot<u64>,
}

impl RawObject for RawSummary {
    type Field = SummaryField;
    const NAME: &'static str = "summary";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        field: SummaryField,
        map: &mut A,
        sink: &mut Sink,
        path: &Path,
    ) -> Result<(), A::Error> {
        let count = map.next_value_seed(Nullable(Count { sink, path }))?;
        match field {
            SummaryField::TotalSuccessful => self.total_successful = count,
            SummaryField::TotalFailure => self.total_failure = count,
        }
        Ok(())
    }
}

fields! {
    FailureDetailField {
        ResultType => "result-type",
        SendingMtaIp => "sending-mta-ip",
        ReceivingMxHostname => "receiving-mx-hostname",
        ReceivingMxHelo => "receiving-mx-helo",
        ReceivingIp => "receiving-ip",
        FailedSessionCount => "failed-session-count",
        AdditionalInformation => "additional-information",
        FailureReasonCode => "failure-reason-code",
    }
    // Pre-RFC draft names (SPEC §2.5), still produced by some tools and examples.
    aliases {
        "receiving-mta-hostname" => ReceivingMxHostname,
        "session-count" => FailedSessionCount,
        "message-count" => FailedSessionCount,
        "failure-error-code" => FailureReasonCode,
    }
}

/// One element of §4.4 `failure-details`.
#[derive(Debug, Default)]
pub(super) struct RawFailureDetail {
    pub(super) result_type: Slot<String>,
    pub(super) sending_mta_ip: Slot<IpValue>,
    pub(super) receiving_mx_hostname: Slot<String>,
    pub(super) receiving_mx_helo: Slot<String>,
    pub(super) receiving_ip: Slot<IpValue>,
    pub(super) failed_session_count: Slot<u64>,
    pub(super) additional_information: Slot<String>,
    pub(super) failure_reason_code: Slot<String>,
}

impl RawObject for RawFailureDetail {
    type Field = FailureDetailField;
    const NAME: &'static str = "failure-details";

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        field: FailureDetailField,
        map: &mut A,
        sink: &mut Sink,
        path: &Path,
    ) -> Result<(), A::Error> {
        use FailureDetailField as F;
        match field {
            F::ResultType => self.result_type = map.next_value_seed(TEXT)?,
            F::SendingMtaIp => {
                self.sending_mta_ip = map.next_value_seed(Nullable(Ip { sink, path }))?;
            }
            F::ReceivingMxHostname => self.receiving_mx_hostname = map.next_value_seed(TEXT)?,
            F::ReceivingMxHelo => self.receiving_mx_helo = map.next_value_seed(TEXT)?,
            F::ReceivingIp => {
                self.receiving_ip = map.next_value_seed(Nullable(Ip { sink, path }))?;
            }
            F::FailedSessionCount => {
                self.failed_session_count = map.next_value_seed(Nullable(Count { sink, path }))?;
            }
            F::AdditionalInformation => {
                self.additional_information = map.next_value_seed(TEXT)?;
            }
            F::FailureReasonCode => self.failure_reason_code = map.next_value_seed(TEXT)?,
        }
        Ok(())
    }
}

/// A string member that may be `null`.
const TEXT: Nullable<PhantomData<String>> = Nullable(PhantomData);

/// Reads `null` as [`Slot::Null`] and anything else with the inner seed.
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Slot<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Slot<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Null)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(de).map(Slot::Present)
    }
}

/// Reads one member name.
struct KeySeed<F>(PhantomData<F>);

impl<'de, F: Fields> DeserializeSeed<'de> for KeySeed<F> {
    type Value = Key<F>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Key<F>, D::Error> {
        de.deserialize_identifier(self)
    }
}

impl<F: Fields> Visitor<'_> for KeySeed<F> {
    type Value = Key<F>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Key<F>, E> {
        Ok(F::lookup(name).unwrap_or_else(|| Key::Unknown(name.to_owned())))
    }
}

/// Reads one object of type `T`, whose value sits at `path`.
struct Object<'a, T> {
    sink: &'a mut Sink,
    path: &'a Path<'a>,
    object: PhantomData<T>,
}

impl<'a, T> Object<'a, T> {
    fn new(sink: &'a mut Sink, path: &'a Path<'a>) -> Self {
        Object {
            sink,
            path,
            object: PhantomData,
        }
    }
}

impl<'de, T: RawObject> DeserializeSeed<'de> for Object<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<T, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, T: RawObject> Visitor<'de> for Object<'_, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} object", T::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut object = T::default();
        let mut seen = 0u32;
        while let Some(key) = map.next_key_seed(KeySeed::<T::Field>(PhantomData))? {
            let field = match key {
                Key::Field(field) => field,
                Key::Alias(field, alias) => {
                    self.sink.note(
                        DiagnosticCode::DraftAlias,
                        &self.path.key(alias),
                        format!("pre-RFC draft key name; read as `{}`", field.name()),
                    );
                    field
                }
                Key::Unknown(name) => {
                    self.sink.note(
                        DiagnosticCode::UnknownKey,
                        &self.path.key(&name),
                        "not an RFC 8460 key; ignored",
                    );
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let path = self.path.key(field.name());
            // I-JSON (RFC 7493 §2.3, required by RFC 8460 §4) forbids duplicate names; serde's
            // derive would reject the report. Keeping the first value loses nothing the
            // sender meant to say more than once, and the report stays usable.
            if seen & field.bit() != 0 {
                self.sink.note(
                    DiagnosticCode::DuplicateKey,
                    &path,
                    "duplicate key; the first value was kept and this one ignored",
                );
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            seen |= field.bit();
            if let Err(error) = object.read(field, &mut map, self.sink, &path) {
                self.sink.locate(&path);
                return Err(error);
            }
        }
        Ok(object)
    }
}

/// Reads an array of `T` objects at `path`.
struct Array<'a, T> {
    sink: &'a mut Sink,
    path: &'a Path<'a>,
    element: PhantomData<T>,
}

impl<'a, T> Array<'a, T> {
    fn new(sink: &'a mut Sink, path: &'a Path<'a>) -> Self {
        Array {
            sink,
            path,
            element: PhantomData,
        }
    }
}

impl<'de, T: RawObject> DeserializeSeed<'de> for Array<'_, T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Vec<T>, D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de, T: RawObject> Visitor<'de> for Array<'_, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of {} objects", T::NAME)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        loop {
            let path = self.path.index(items.len());
            match seq.next_element_seed(Object::new(self.sink, &path)) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return Ok(items),
                Err(error) => {
                    self.sink.locate(&path);
                    return Err(error);
                }
            }
        }
    }
}

/// Reads §4.4's arrays of strings (`policy-string`, `mx-host`), also accepting the single
/// string of RFC 8460 App. B (`"mx-host": "*.mail.company-y.example"`, erratum 6241).
struct Strings<'a> {
    sink: &'a mut Sink,
    path: &'a Path<'a>,
}

impl<'de> DeserializeSeed<'de> for Strings<'_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Vec<String>, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strings<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Vec<String>, E> {
        self.sink.note(
            DiagnosticCode::StringForArray,
            self.path,
            "a single string where RFC 8460 §4.4 defines an array; read as a one-element array",
        );
        Ok(vec![value.to_owned()])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut items = Vec::new();
        loop {
            match seq.next_element::<String>() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return Ok(items),
                Err(error) => {
                    self.sink.locate(&self.path.index(items.len()));
                    return Err(error);
                }
            }
        }
    }
}

/// Reads an address field straight from the JSON text, so that an address that parses
/// never allocates (see `ip.rs`).
struct Ip<'a> {
    sink: &'a mut Sink,
    path: &'a Path<'a>,
}

impl<'de> DeserializeSeed<'de> for Ip<'_> {
    type Value = IpValue;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<IpValue, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for Ip<'_> {
    type Value = IpValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an IP address string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<IpValue, E> {
        Ok(read_ip(text, self.path, self.sink))
    }
}

/// Reads a §4.4 session count as u64 (SPEC §6.7: real counts exceed 2^32). Floats and
/// strings holding an exact non-negative integer are accepted with a diagnostic; negative
/// or fractional counts are errors, since no correct reading of them exists.
struct Count<'a> {
    sink: &'a mut Sink,
    path: &'a Path<'a>,
}

impl Count<'_> {
    fn coerced(self, sent_as: fmt::Arguments, value: u64) -> u64 {
        self.sink.note(
            DiagnosticCode::CountCoerced,
            self.path,
            format!("count sent as {sent_as}; read as {value}"),
        );
        value
    }
}

/// The u64 an exactly integral, non-negative float stands for.
fn exact_count(value: f64) -> Result<u64, String> {
    /// 2^64: the first float above u64::MAX.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    if value < 0.0 {
        Err(format!("count must not be negative, found {value}"))
    } else if value.fract() != 0.0 {
        Err(format!("count must be a whole number, found {value}"))
    } else if value >= LIMIT {
        Err(format!("count {value} does not fit in 64 bits"))
    } else {
        Ok(value as u64)
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<u64, D::Error> {
        de.deserialize_any(self)
    }
}

impl Visitor<'_> for Count<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a non-negative integer count")
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value)
            .map_err(|_| E::custom(format_args!("count must not be negative, found {value}")))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<u64, E> {
        let count = exact_count(value).map_err(E::custom)?;
        Ok(self.coerced(format_args!("the float {value:?}"), count))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<u64, E> {
        let count = match text.parse::<u64>() {
            Ok(count) => count,
            Err(_) => match text.parse::<f64>() {
                Ok(value) => exact_count(value).map_err(E::custom)?,
                Err(_) => return Err(E::invalid_value(Unexpected::Str(text), &self)),
            },
        };
        Ok(self.coerced(format_args!("the string {text:?}"), count))
    }
}
