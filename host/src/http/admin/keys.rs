//! `/admin/realms/{realm}/keys` (list, rotate) and `/trusted-issuers` (external token issuers
//! the realm accepts, e.g. an Entra ID tenant).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{AdminResult, created, enter, json, no_content, object, take_bool, take_string};
use crate::auth::{AdminNeed, ROLES, jwks_file};
use crate::error::Error;
use crate::http::AppState;
use crate::store::events;
use crate::store::issuers::{self, TrustedIssuer};

pub async fn list(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let keys: Vec<Value> = app
        .store
        .signing_keys(realm.id)?
        .iter()
        .map(|k| {
            json!({"kid": k.kid, "algorithm": k.alg, "type": "EC", "use": "SIG",
                   "status": if k.active { "ACTIVE" } else { "PASSIVE" }, "publicKey": k.public_jwk, "createdTimestamp": k.created})
        })
        .collect();
    Ok(json(StatusCode::OK, json!({"keys": keys})))
}

/// Makes a new active signing key; the old ones keep verifying the tokens they signed.
pub async fn rotate(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let (actor, realm_id) = (principal.actor(), realm.id);
    let kid = app.store.rotate_signing_key(realm_id).await?;
    app.store.write(move |c| events::record(c, realm_id, &actor, "ACTION", "REALM", "keys", None)).await?;
    Ok(json(StatusCode::OK, json!({"kid": kid})))
}

fn issuer_representation(t: &TrustedIssuer) -> Value {
    let mut m = json!({"id": t.id, "issuer": t.issuer, "roles": t.roles});
    match &t.audience {
        Some(a) => m["audience"] = json!(a),
        None => m["anyAudience"] = json!(true),
    }
    if let Some(f) = &t.jwks_file {
        m["jwksFile"] = json!(f);
    }
    if let Some(j) = &t.jwks {
        m["jwks"] = serde_json::from_str(j).unwrap_or(Value::Null);
    }
    m
}

pub async fn list_issuers(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let all = app.store.trusted_issuers(realm.id)?;
    Ok(json(StatusCode::OK, Value::Array(all.iter().map(issuer_representation).collect())))
}

/// Trusts an issuer: `{"issuer", "audience"?, "jwks": {…} | "jwksFile": "…", "roles"?: […]}`.
pub async fn add_issuer(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let mut m = object(&body)?;
    let issuer = take_string(&mut m, "issuer")?.ok_or_else(|| Error::InvalidValue("'issuer' is required".into()))?;
    let audience = take_string(&mut m, "audience")?;
    let any_audience = take_bool(&mut m, "anyAudience")? == Some(true);
    let jwks_file = take_string(&mut m, "jwksFile")?;
    let jwks = match m.remove("jwks") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(other) => return Err(Error::InvalidValue(format!("'jwks' must be a JWKS object, not {other}")).into()),
    };
    if let Some(text) = &jwks {
        serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(text)
            .map_err(|e| Error::InvalidValue(format!("'jwks' is not a valid JWKS: {e}")))?;
    }
    let roles: Vec<String> = match m.remove("roles") {
        None | Some(Value::Null) => vec!["manage-users".into()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .filter(|r| ROLES.contains(r))
                    .map(str::to_string)
                    .ok_or_else(|| Error::InvalidValue(format!("'roles' items must be among {}", ROLES.join(", "))))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(Error::InvalidValue(format!("'roles' must be an array, not {other}")).into()),
    };
    if let Some(file) = &jwks_file {
        // The server reads the file: only its administrators choose one, under the directory
        // the operator allowed, and it must be a JWKS now.
        if !principal.is_server_admin() {
            return Err(Error::Forbidden("only a server administrator can name a jwksFile".into()).into());
        }
        let dir = app.auth.jwks_dir().map(std::path::Path::to_path_buf);
        let file = file.clone();
        let text = crate::http::heavy(|| jwks_file::read(dir.as_deref(), &file))?;
        serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(&text)
            .map_err(|e| Error::InvalidValue(format!("'jwksFile' is not a valid JWKS: {e}")))?;
    }
    // Tokens meant for any other service of the issuer would be accepted: say so explicitly.
    if audience.is_none() && !any_audience {
        return Err(Error::InvalidValue(
            "give the 'audience' its tokens must carry (for Entra ID, the application's id URI), or \
             'anyAudience': true to accept tokens meant for any audience of this issuer"
                .into(),
        )
        .into());
    }
    let t = TrustedIssuer { id: uuid::Uuid::new_v4().to_string(), issuer, audience, jwks, jwks_file, roles };
    let (actor, realm_id, id) = (principal.actor(), realm.id, t.id.clone());
    let rep = issuer_representation(&t);
    app.store
        .write(move |c| {
            issuers::create(c, realm_id, &t)?;
            events::record(c, realm_id, &actor, "CREATE", "REALM", &format!("trusted-issuers/{}", t.id), Some(&rep))
        })
        .await?;
    Ok(created(format!("/admin/realms/{}/trusted-issuers/{id}", realm.name)))
}

pub async fn remove_issuer(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let (actor, realm_id, target) = (principal.actor(), realm.id, id.clone());
    let removed = app
        .store
        .write(move |c| {
            let removed = issuers::delete(c, realm_id, &target)?;
            if removed {
                events::record(c, realm_id, &actor, "DELETE", "REALM", &format!("trusted-issuers/{target}"), None)?;
            }
            Ok(removed)
        })
        .await?;
    if !removed {
        return Err(Error::NotFound(format!("trusted issuer '{id}' does not exist")).into());
    }
    Ok(no_content())
}
