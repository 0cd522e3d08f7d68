//! `POST /.search` bodies (RFC 7644 §3.4.3).

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::SearchRequest;
use crate::resource::kind_of;
use crate::schema::SEARCH_REQUEST;

pub fn parse(body: &Value, lenient: bool) -> Result<SearchRequest> {
    let Value::Object(obj) = body else {
        return Err(Error::InvalidSyntax("a search request must be a JSON object".into()));
    };
    let mut out = SearchRequest::default();
    let mut listed = false;
    for (key, v) in obj {
        let text = |v: &Value| -> Result<Option<String>> {
            match v {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                // `attributes` is an array of strings in the RFC's examples.
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| Error::InvalidValue(format!("'{key}' must be a list of strings")))
                    })
                    .collect::<Result<Vec<_>>>()
                    .map(|l| Some(l.join(","))),
                other => Err(Error::InvalidValue(format!("'{key}' must be a string, not {}", kind_of(other)))),
            }
        };
        let int = |v: &Value| -> Result<Option<i64>> {
            match v {
                Value::Null => Ok(None),
                Value::Number(n) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| Error::InvalidValue(format!("'{key}' must be an integer, not {n}"))),
                Value::String(s) if lenient => s
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| Error::InvalidValue(format!("'{key}' must be an integer, not \"{s}\""))),
                other => Err(Error::InvalidValue(format!("'{key}' must be an integer, not {}", kind_of(other)))),
            }
        };
        match key.to_ascii_lowercase().as_str() {
            "schemas" => {
                listed = v.as_array().is_some_and(|a| {
                    a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST)))
                });
            }
            "filter" => out.filter = text(v)?,
            "attributes" => out.attributes = text(v)?,
            "excludedattributes" => out.excluded_attributes = text(v)?,
            "sortby" => out.sort_by = text(v)?,
            "sortorder" => out.sort_order = text(v)?,
            "startindex" => out.start_index = int(v)?,
            "count" => out.count = int(v)?,
            // RFC 9865 §3: an empty cursor asks for the first page.
            "cursor" => out.cursor = text(v)?,
            _ if lenient => {}
            _ => {
                return Err(Error::InvalidValue(format!("'{key}' is not a search request parameter")));
            }
        }
    }
    if !listed && !lenient {
        return Err(Error::InvalidValue(format!("a search request must have 'schemas': [\"{SEARCH_REQUEST}\"]")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_all_parameters() {
        let r = parse(
            &json!({"schemas": [SEARCH_REQUEST], "attributes": ["userName", "emails"], "filter": "userName pr",
                    "startIndex": 2, "count": 10, "sortBy": "userName", "sortOrder": "descending"}),
            false,
        )
        .expect("valid");
        assert_eq!(r.attributes.as_deref(), Some("userName,emails"));
        assert_eq!(r.start_index, Some(2));
        assert_eq!(r.count, Some(10));
    }

    #[test]
    fn wrong_types_are_invalid_value() {
        assert!(parse(&json!({"schemas": [SEARCH_REQUEST], "count": "ten"}), false).is_err());
        assert!(parse(&json!({"count": 10}), false).is_err());
        assert!(parse(&json!([]), true).is_err());
    }
}
