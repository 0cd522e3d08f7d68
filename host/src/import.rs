//! `scimd import`: loads users into a realm offline, from SCIM User documents one per line.
//!
//! Every line goes through the realm's engine as a `POST /Users` body would (validation,
//! mapping, the realm's profile), and each user is one atomic write, so a refused line loses
//! nothing else and is reported by number. The writes are not awaited one by one: the store's
//! writer commits what is queued together (`store::writer`), a few thousand users per
//! transaction, which is what makes a million users a matter of minutes. One admin event
//! records the import, not one per user.

use std::io::BufRead;
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::http::AppState;
use crate::runtime::bindings::{Context, ResourceKind};
use crate::store::{self, events, now_ms};

/// Writes queued and not yet answered, at most.
const IN_FLIGHT: usize = 4096;
/// Refused lines reported one by one; past these, only counted.
const REPORTED: usize = 20;

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    pub imported: u64,
    pub refused: u64,
    /// The first refused lines: number and why.
    pub refusals: Vec<(u64, String)>,
}

impl Report {
    fn refuse(&mut self, line: u64, e: &Error) {
        self.refused += 1;
        if self.refusals.len() < REPORTED {
            self.refusals.push((line, e.to_string()));
        }
    }
}

/// Imports the users of `input` (one SCIM User JSON document a line; blank lines skipped)
/// into `realm`, calling `progress` with the count imported every 10,000 users.
pub fn users(app: &AppState, realm: &str, input: impl BufRead, mut progress: impl FnMut(u64)) -> Result<Report> {
    let realm = app.realms.serving_scim(realm)?;
    let engine = app.realms.engine(&realm)?;
    // Nothing is rendered, only validated and mapped: the base URL is never shown.
    let ctx = Context { realm: realm.name.clone(), base_url: format!("/realms/{}/scim/v2", realm.name) };
    let (done_tx, done_rx) = mpsc::channel::<(u64, Result<()>)>();
    let mut report = Report::default();
    let mut in_flight = 0usize;
    let mut settle = |report: &mut Report, (line, r): (u64, Result<()>)| match r {
        Ok(()) => {
            report.imported += 1;
            if report.imported.is_multiple_of(10_000) {
                progress(report.imported);
            }
        }
        Err(e) => report.refuse(line, &e),
    };
    for (n, text) in input.lines().enumerate() {
        let line = n as u64 + 1;
        let text = text.map_err(|e| Error::InvalidValue(format!("reading line {line}: {e}")))?;
        if text.trim().is_empty() {
            continue;
        }
        let write = match engine.with(|s| s.create_resource(&ctx, ResourceKind::User, &text)) {
            Ok(w) if store::kind_of_model(&w.model) == ResourceKind::User && w.members.is_none() => w,
            Ok(_) => {
                report.refuse(line, &Error::EngineFault("the engine returned something other than a user".into()));
                continue;
            }
            Err(e) => {
                report.refuse(line, &e);
                continue;
            }
        };
        let hash = match &write.password {
            Some(p) => match crate::auth::password::hash(p) {
                Ok(h) => Some(h),
                Err(e) => {
                    report.refuse(line, &e);
                    continue;
                }
            },
            None => None,
        };
        let (realm_id, model) = (realm.id, write.model);
        let tx = done_tx.clone();
        app.store.submit(
            move |c| {
                let id = uuid::Uuid::new_v4().to_string();
                store::insert(c, realm_id, &id, &model, now_ms(), hash.as_deref()).map(|_| ())
            },
            move |r| {
                let _ = tx.send((line, r));
            },
        )?;
        in_flight += 1;
        while in_flight >= IN_FLIGHT {
            let answer = done_rx.recv().map_err(|_| Error::Internal("the writer thread has stopped".into()))?;
            in_flight -= 1;
            settle(&mut report, answer);
        }
    }
    while in_flight > 0 {
        let answer = done_rx.recv().map_err(|_| Error::Internal("the writer thread has stopped".into()))?;
        in_flight -= 1;
        settle(&mut report, answer);
    }
    // Writes answer after the engine's refusals of later lines: report in line order.
    report.refusals.sort_by_key(|(line, _)| *line);
    let (imported, realm_id) = (report.imported, realm.id);
    app.store.write_blocking(move |c| {
        let actor = store::Actor { realm: None, client: None, user: Some("scimd import".into()) };
        let detail = serde_json::json!({"imported": imported});
        events::record(c, realm_id, &actor, "CREATE", ResourceKind::User.event_type(), "users", Some(&detail))
    })?;
    Ok(report)
}
