//! RFC 7240 `Prefer: return=minimal | return=representation` on writes: whether a client
//! wants the written resource back or only its status, `ETag` and `Location`. SCIM (RFC 7644)
//! leaves the choice to the server for PATCH; this lets the client make it, and says what was
//! honoured in `Preference-Applied` (RFC 7240 §3).

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

/// What a write should answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    /// The client did not say: the server's default for the request.
    Unstated,
    /// `return=minimal`: no body.
    Minimal,
    /// `return=representation`: the resource.
    Representation,
}

impl Return {
    /// The `return` preference of a request's `Prefer` headers (the first one stated wins;
    /// unknown preferences and values are ignored, as RFC 7240 §2 asks).
    pub fn of(headers: &HeaderMap) -> Return {
        let preferences = headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
        for preference in preferences {
            // `return=minimal; some-parameter` — parameters of `return` mean nothing here.
            let token = preference.split(';').next().unwrap_or_default();
            let Some((name, value)) = token.split_once('=') else { continue };
            if !name.trim().eq_ignore_ascii_case("return") {
                continue;
            }
            match value.trim().trim_matches('"').to_ascii_lowercase().as_str() {
                "minimal" => return Return::Minimal,
                "representation" => return Return::Representation,
                _ => {}
            }
        }
        Return::Unstated
    }

    /// Adds `Preference-Applied` when the client stated a preference (it is always honoured).
    pub fn applied(self, mut resp: Response) -> Response {
        let value = match self {
            Return::Unstated => return resp,
            Return::Minimal => "return=minimal",
            Return::Representation => "return=representation",
        };
        resp.headers_mut().insert("preference-applied", HeaderValue::from_static(value));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[&str]) -> Return {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("prefer", HeaderValue::from_str(v).expect("a header value"));
        }
        Return::of(&h)
    }

    #[test]
    fn return_preferences_are_read_from_any_prefer_header() {
        assert_eq!(of(&[]), Return::Unstated);
        assert_eq!(of(&["return=minimal"]), Return::Minimal);
        assert_eq!(of(&["RETURN = \"representation\""]), Return::Representation);
        assert_eq!(of(&["respond-async, wait=10", "return=minimal; foo"]), Return::Minimal);
        assert_eq!(of(&["return=everything", "handling=lenient"]), Return::Unstated);
    }
}
