//! fc-style exceptions, as steemd reports them (SPEC §4.6, §7.1).
//!
//! steemd 0.19 answers every failure with `code: 1` and fc's `to_detail_string()` as the message:
//! `"<fc code> <fc name>: <what>\n<detail>"`. Clients match on the name or text, so the texts here
//! are the ones steemd uses.

use serde_json::{Value, json};

/// One fc exception: numeric code, type name, its `what()` text and the detail lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FcError {
    /// fc's numeric exception code (e.g. 10 for `assert_exception`).
    pub code: i64,
    /// fc's exception type name (e.g. `tx_missing_active_auth`).
    pub name: &'static str,
    /// The exception's `what()` text.
    pub what: &'static str,
    /// The log message below the first line.
    pub detail: String,
}

impl FcError {
    fn new(code: i64, name: &'static str, what: &'static str, detail: impl Into<String>) -> Self {
        FcError {
            code,
            name,
            what,
            detail: detail.into(),
        }
    }

    /// `10 assert_exception: Assert Exception` with the failed condition as detail.
    pub fn assert(detail: impl Into<String>) -> Self {
        Self::new(10, "assert_exception", "Assert Exception", detail)
    }

    /// `0 exception: unspecified`, fc's plain `FC_THROW_EXCEPTION(exception, ...)`.
    pub fn unspecified(detail: impl Into<String>) -> Self {
        Self::new(0, "exception", "unspecified", detail)
    }

    /// `4 parse_error_exception: Parse Error` (malformed JSON).
    pub fn parse(detail: impl Into<String>) -> Self {
        Self::new(4, "parse_error_exception", "Parse Error", detail)
    }

    /// `7 bad_cast_exception: Bad Cast`, what 0.19 answers for an unknown API name.
    pub fn bad_cast(detail: impl Into<String>) -> Self {
        Self::new(7, "bad_cast_exception", "Bad Cast", detail)
    }

    /// `3010000 tx_missing_active_auth: missing required active authority`.
    pub fn missing_active_auth(owner: &str) -> Self {
        Self::new(
            3_010_000,
            "tx_missing_active_auth",
            "missing required active authority",
            format!("Missing Active Authority {owner}"),
        )
    }

    /// `3050000 tx_irrelevant_sig: irrelevant signature included`.
    pub fn irrelevant_sig() -> Self {
        Self::new(
            3_050_000,
            "tx_irrelevant_sig",
            "irrelevant signature included",
            "Unnecessary signature(s) detected",
        )
    }

    /// `3060000 tx_duplicate_sig: duplicate signature included`.
    pub fn duplicate_sig() -> Self {
        Self::new(
            3_060_000,
            "tx_duplicate_sig",
            "duplicate signature included",
            "Duplicate Signature detected",
        )
    }

    /// `4030100 transaction_expiration_exception: transaction expiration exception`.
    pub fn expiration(detail: impl Into<String>) -> Self {
        Self::new(
            4_030_100,
            "transaction_expiration_exception",
            "transaction expiration exception",
            detail,
        )
    }

    /// `4030200 transaction_tapos_exception: transaction tapos exception`.
    pub fn tapos(detail: impl Into<String>) -> Self {
        Self::new(
            4_030_200,
            "transaction_tapos_exception",
            "transaction tapos exception",
            detail,
        )
    }

    /// The `to_detail_string()` text used as the JSON-RPC error message.
    pub fn message(&self) -> String {
        format!(
            "{} {}: {}\n{}",
            self.code, self.name, self.what, self.detail
        )
    }

    /// The variant fc puts in the error's `data` member.
    pub fn data(&self) -> Value {
        json!({
            "code": self.code,
            "name": self.name,
            "message": self.what,
            "stack": [{"format": self.detail, "data": {}}],
        })
    }
}

impl std::fmt::Display for FcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for FcError {}
