//! The engine's one error type. Every variant is something a SCIM client is told as is
//! (RFC 7644 §3.12): the status and `scimType` follow from the variant, the detail names the
//! offending attribute, path or value.

use thiserror::Error;

/// An error shown to the SCIM client.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The request body is not valid JSON or not shaped as its schema requires.
    #[error("{0}")]
    InvalidSyntax(String),
    /// A value has the wrong type, is not allowed, or a required attribute is missing.
    #[error("{0}")]
    InvalidValue(String),
    /// A filter cannot be parsed or is not allowed.
    #[error("{0}")]
    InvalidFilter(String),
    /// A PATCH path or an `attributes` value cannot be parsed or names nothing.
    #[error("{0}")]
    InvalidPath(String),
    /// A PATCH path with a filter selected no value where one is required.
    #[error("{0}")]
    NoTarget(String),
    /// An attempt to change an attribute the schema makes read-only or immutable.
    #[error("{0}")]
    Mutability(String),
    /// Too many operations or results.
    #[error("{0}")]
    TooMany(String),
    /// A request larger than the service provider takes (a bulk request with more operations
    /// than `bulk.maxOperations`): `413`, without a `scimType` (RFC 7644 §3.7.4).
    #[error("{0}")]
    TooLarge(String),
    /// A request the engine does not support.
    #[error("{0}")]
    NotImplemented(String),
    /// The engine itself is misconfigured (for example an invalid realm profile).
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotImplemented(_) => 501,
            Error::TooLarge(_) => 413,
            _ => 400,
        }
    }

    /// The RFC 7644 `scimType` keyword.
    pub fn scim_type(&self) -> Option<&'static str> {
        Some(match self {
            Error::InvalidSyntax(_) => "invalidSyntax",
            Error::InvalidValue(_) | Error::Config(_) => "invalidValue",
            Error::InvalidFilter(_) => "invalidFilter",
            Error::InvalidPath(_) => "invalidPath",
            Error::NoTarget(_) => "noTarget",
            Error::Mutability(_) => "mutability",
            Error::TooMany(_) => "tooMany",
            Error::NotImplemented(_) | Error::TooLarge(_) => return None,
        })
    }

    /// The human-readable detail.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
