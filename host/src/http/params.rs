//! Query parameters of SCIM requests (RFC 7644 §3.4.2, §3.9). Names are matched
//! case-insensitively and unknown parameters ignored (§3.4.2: Entra appends its own flags);
//! `+` decodes as a space, as in every form-encoded query.

use crate::error::{Error, Result};
use crate::store::PageRequest;

/// The parameters a list, search or read understands.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pub filter: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    /// RFC 9865: present (perhaps empty, for the first page) when the client pages by cursor.
    pub cursor: Option<String>,
}

/// A `.search` body as the engine read it (`parse-search`): the same fields as a query string,
/// given the same meaning by `Params`.
impl From<crate::runtime::bindings::SearchRequest> for Params {
    fn from(req: crate::runtime::bindings::SearchRequest) -> Params {
        Params {
            filter: req.filter,
            attributes: req.attributes,
            excluded_attributes: req.excluded_attributes,
            sort_by: req.sort_by,
            sort_order: req.sort_order,
            start_index: req.start_index,
            count: req.count,
            cursor: req.cursor,
        }
    }
}

fn integer(name: &str, value: &str) -> Result<i64> {
    value.trim().parse::<i64>().map_err(|_| Error::InvalidValue(format!("'{name}' must be an integer, not '{value}'")))
}

impl Params {
    pub fn parse(query: Option<&str>) -> Result<Params> {
        let mut p = Params::default();
        let Some(query) = query else { return Ok(p) };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| Error::InvalidValue(format!("the query string cannot be decoded: {e}")))?;
        for (name, value) in pairs {
            match name.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(value),
                "attributes" => p.attributes = Some(value),
                "excludedattributes" => p.excluded_attributes = Some(value),
                "sortby" => p.sort_by = Some(value),
                "sortorder" => p.sort_order = Some(value),
                "startindex" => p.start_index = Some(integer("startIndex", &value)?),
                "count" => p.count = Some(integer("count", &value)?),
                "cursor" => p.cursor = Some(value),
                _ => {}
            }
        }
        Ok(p)
    }

    /// The page asked for (RFC 7644 §3.4.2.4): `startIndex` below 1 means 1, a negative
    /// `count` means 0, and `count` is capped at the server's maximum, which is also the
    /// default.
    pub fn page(&self, max_results: u32) -> PageRequest {
        PageRequest { start_index: self.start_index.unwrap_or(1).max(1), count: self.count(max_results) }
    }

    /// `count` within `0..=max_results` (the maximum also when absent), for either paging.
    pub fn count(&self, max_results: u32) -> i64 {
        let max = i64::from(max_results);
        self.count.unwrap_or(max).clamp(0, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_a_space_and_names_are_case_insensitive() {
        let p = Params::parse(Some("Filter=userName+eq+%22a%40b.c%22&STARTINDEX=2&aadOptscim062020")).expect("ok");
        assert_eq!(p.filter.as_deref(), Some("userName eq \"a@b.c\""));
        assert_eq!(p.start_index, Some(2));
    }

    #[test]
    fn paging_edges() {
        let p = Params { start_index: Some(0), count: Some(-5), ..Default::default() };
        let r = p.page(100);
        assert_eq!((r.start_index, r.count), (1, 0));
        let p = Params { start_index: Some(-3), count: Some(5000), ..Default::default() };
        let r = p.page(100);
        assert_eq!((r.start_index, r.count), (1, 100));
    }

    #[test]
    fn non_integers_are_invalid_values() {
        assert!(Params::parse(Some("count=ten")).is_err());
    }
}
