//! RFC 9865 cursors: where the next (or previous) page of a query starts, handed to the
//! client sealed.
//!
//! A cursor holds a keyset position (`store::Resume`: a row's sort value and key, and whether
//! the page runs after or before it), the time it was issued, and a digest of what it is bound
//! to: the realm, the resource type and the query (filter, sort attribute and order). It is
//! encrypted (so a client learns nothing of the row it points at, such as a user name it may
//! not filter on) and authenticated (so it cannot be forged or moved to another realm or
//! query) with XChaCha20-Poly1305 under a key the database keeps (`Store::cursor_key`), so that
//! it survives a restart and is the same on every node of a store. A fresh random nonce per
//! cursor. Pages are counted from no snapshot: a cursor stays valid whatever is written
//! between pages, and rows inserted or deleted meanwhile move no other row.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::types::Value as SqlValue;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::runtime::bindings::ResourceKind;
use crate::store::{Position, Resume};

const NONCE: usize = 24;
const FORMAT: u8 = 3;
/// Sealed positions are padded to a multiple of this, so a cursor's length does not tell the
/// length of the sort value it holds.
const PAD: usize = 64;
/// The most of a text sort value a cursor carries: the store looks a longer one up by row
/// (`store::Position::cut`), so that a cursor stays short whatever the values.
const VALUE_CUT: usize = 256;
/// The longest cursor accepted (what `seal` writes is well under it).
const MAX_CURSOR: usize = 1024;
/// Marks a position the page runs before (`previousCursor`) in the phase byte.
const BACKWARD: u8 = 0x80;

/// What a cursor is bound to: one query of one resource type of one realm.
pub struct Binding([u8; 16]);

impl Binding {
    pub fn new(
        realm_id: i64,
        kind: ResourceKind,
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Binding {
        let mut h = Sha256::new();
        h.update(realm_id.to_be_bytes());
        h.update([kind as u8]);
        for part in [filter, sort_by, sort_order] {
            // Length-prefixed, so that no two queries hash the same parts.
            match part {
                Some(p) => {
                    h.update([1]);
                    h.update((p.len() as u64).to_be_bytes());
                    h.update(p.as_bytes());
                }
                None => h.update([0]),
            }
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&h.finalize()[..16]);
        Binding(out)
    }
}

/// Appends `b` with its length (at most `VALUE_CUT`, so two bytes hold it).
fn bytes(plain: &mut Vec<u8>, b: &[u8]) {
    plain.extend_from_slice(&(b.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    plain.extend_from_slice(b);
}

/// Seals and opens cursors.
pub struct Cursors {
    aead: XChaCha20Poly1305,
    /// How long a cursor stays valid, in milliseconds (`cursorTimeout`).
    timeout_ms: i64,
}

fn invalid(detail: &str) -> Error {
    Error::Scim { status: 400, scim_type: Some("invalidCursor".into()), detail: detail.into() }
}

impl Cursors {
    pub fn new(key: &[u8; 32], timeout: std::time::Duration) -> Cursors {
        // A key of its own for cursors, should the stored secret ever serve another purpose.
        let derived: [u8; 32] = Sha256::new().chain_update(b"scimd cursor key").chain_update(key).finalize().into();
        Cursors {
            aead: XChaCha20Poly1305::new(&derived.into()),
            timeout_ms: i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// The cursor of `resume` for a query bound to `binding`, issued at `now_ms`.
    pub fn seal(&self, binding: &Binding, resume: &Resume, now_ms: i64) -> String {
        let (position, direction) = match resume {
            Resume::After(p) => (p, 0),
            Resume::Before(p) => (p, BACKWARD),
        };
        let mut plain = Vec::with_capacity(64);
        plain.push(FORMAT);
        plain.extend_from_slice(&binding.0);
        plain.extend_from_slice(&now_ms.to_be_bytes());
        plain.push(position.phase | direction);
        plain.extend_from_slice(&position.pk.to_be_bytes());
        match &position.value {
            SqlValue::Null => plain.push(0),
            SqlValue::Integer(i) => {
                plain.push(1);
                plain.extend_from_slice(&i.to_be_bytes());
            }
            SqlValue::Text(t) if t.len() <= VALUE_CUT && !position.cut => {
                plain.push(2);
                bytes(&mut plain, t.as_bytes());
            }
            SqlValue::Text(t) => {
                let mut end = VALUE_CUT.min(t.len());
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                plain.push(3);
                bytes(&mut plain, &t.as_bytes()[..end]);
            }
            SqlValue::Real(f) => {
                plain.push(4);
                plain.extend_from_slice(&f.to_be_bytes());
            }
            SqlValue::Blob(b) => {
                plain.push(5);
                bytes(&mut plain, &b[..b.len().min(VALUE_CUT)]);
            }
        }
        plain.resize(plain.len().div_ceil(PAD) * PAD, 0);
        let nonce: [u8; NONCE] = rand::random();
        // Encrypting a buffer in memory fails only past 256 GiB.
        let sealed = self.aead.encrypt(XNonce::from_slice(&nonce), plain.as_slice()).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
    }

    /// Where a cursor resumes, if this server sealed it for this query and it has not
    /// expired.
    pub fn open(&self, binding: &Binding, cursor: &str, now_ms: i64) -> Result<Resume> {
        const NOT_OURS: &str = "the cursor was not issued by this server: pass nextCursor or previousCursor as given";
        if cursor.len() > MAX_CURSOR {
            return Err(invalid(NOT_OURS));
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid(NOT_OURS))?;
        if bytes.len() <= NONCE {
            return Err(invalid(NOT_OURS));
        }
        let (nonce, sealed) = bytes.split_at(NONCE);
        let plain = self.aead.decrypt(XNonce::from_slice(nonce), sealed).map_err(|_| invalid(NOT_OURS))?;
        // Authenticated, so well formed unless this server wrote it wrong: still checked.
        let malformed = || invalid("the cursor is malformed");
        let take = |at: usize, n: usize| plain.get(at..at + n).ok_or_else(malformed);
        let int = |b: &[u8]| <[u8; 8]>::try_from(b).map(i64::from_be_bytes).map_err(|_| malformed());
        if plain.first() != Some(&FORMAT) {
            return Err(malformed());
        }
        if take(1, 16)? != binding.0 {
            return Err(invalid(
                "the cursor belongs to another query: filter, sortBy and sortOrder must stay as they were \
                 on the first page, in the same realm and resource type",
            ));
        }
        let issued = int(take(17, 8)?)?;
        if now_ms.saturating_sub(issued) > self.timeout_ms {
            return Err(Error::Scim {
                status: 400,
                scim_type: Some("expiredCursor".into()),
                detail: format!(
                    "the cursor has expired: cursors are valid for {} seconds (cursorTimeout); \
                     start again without one",
                    self.timeout_ms / 1000
                ),
            });
        }
        let phase = take(25, 1)?[0];
        let pk = int(take(26, 8)?)?;
        // A length-prefixed value, then padding.
        let counted = || -> Result<&[u8]> {
            let n = take(35, 2)?;
            take(37, usize::from(u16::from_be_bytes([n[0], n[1]])))
        };
        let text = || String::from_utf8(counted()?.to_vec()).map_err(|_| malformed());
        let (value, cut) = match take(34, 1)?[0] {
            0 => (SqlValue::Null, false),
            1 => (SqlValue::Integer(int(take(35, 8)?)?), false),
            2 => (SqlValue::Text(text()?), false),
            3 => (SqlValue::Text(text()?), true),
            4 => (SqlValue::Real(f64::from_bits(int(take(35, 8)?)? as u64)), false),
            5 => (SqlValue::Blob(counted()?.to_vec()), false),
            _ => return Err(malformed()),
        };
        let position = Position { phase: phase & !BACKWARD, value, pk, cut };
        Ok(if phase & BACKWARD != 0 { Resume::Before(position) } else { Resume::After(position) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursors() -> Cursors {
        Cursors::new(&[7; 32], std::time::Duration::from_secs(60))
    }

    fn binding() -> Binding {
        Binding::new(1, ResourceKind::User, Some("userName sw \"a\""), Some("userName"), None)
    }

    #[test]
    fn a_sealed_position_opens_to_itself() {
        let c = cursors();
        for value in [SqlValue::Null, SqlValue::Integer(-5), SqlValue::Text("zoë".into())] {
            for resume in [Resume::After, Resume::Before] {
                let r = resume(Position { phase: 1, value: value.clone(), pk: 42, cut: false });
                let sealed = c.seal(&binding(), &r, 1000);
                assert!(sealed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                assert_eq!(c.open(&binding(), &sealed, 2000).expect("opens"), r);
            }
        }
    }

    #[test]
    fn a_long_value_is_cut_at_a_character_boundary_and_marked() {
        let c = cursors();
        let long = "é".repeat(1000);
        let p = Position { phase: 0, value: SqlValue::Text(long.clone()), pk: 5, cut: false };
        let sealed = c.seal(&binding(), &Resume::After(p), 0);
        assert!(sealed.len() < MAX_CURSOR, "{}", sealed.len());
        let Resume::After(opened) = c.open(&binding(), &sealed, 0).expect("opens") else { panic!("direction") };
        let SqlValue::Text(start) = &opened.value else { panic!("text") };
        assert!(
            opened.cut && long.starts_with(start.as_str()) && start.len() <= VALUE_CUT && start.len() >= VALUE_CUT - 1
        );
    }

    #[test]
    fn a_cursor_does_not_tell_the_length_of_its_value() {
        let c = cursors();
        let sealed = |v: &str| {
            let p = Position { phase: 0, value: SqlValue::Text(v.into()), pk: 1, cut: false };
            c.seal(&binding(), &Resume::After(p), 0).len()
        };
        assert_eq!(sealed("a"), sealed(&"a".repeat(20)));
        assert_eq!(sealed(""), sealed("bob@example.com"));
    }

    #[test]
    fn the_position_is_not_readable_in_the_cursor() {
        let p = Position { phase: 0, value: SqlValue::Text("secret-user-name".into()), pk: 1, cut: false };
        let sealed = cursors().seal(&binding(), &Resume::After(p), 0);
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sealed).expect("base64");
        assert!(!bytes.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let c = cursors();
        let sealed = c.seal(
            &binding(),
            &Resume::After(Position { phase: 0, value: SqlValue::Integer(9), pk: 3, cut: false }),
            0,
        );
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&sealed).expect("base64");
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            let tampered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
            assert!(c.open(&binding(), &tampered, 0).is_err(), "bit {i}");
        }
    }

    #[test]
    fn another_key_query_or_realm_is_refused_and_old_cursors_expire() {
        let c = cursors();
        let p = Resume::After(Position { phase: 0, value: SqlValue::Null, pk: 3, cut: false });
        let sealed = c.seal(&binding(), &p, 0);
        let other_key = Cursors::new(&[8; 32], std::time::Duration::from_secs(60));
        assert!(other_key.open(&binding(), &sealed, 0).is_err());
        let other_realm = Binding::new(2, ResourceKind::User, Some("userName sw \"a\""), Some("userName"), None);
        assert!(c.open(&other_realm, &sealed, 0).is_err());
        let other_kind = Binding::new(1, ResourceKind::Group, Some("userName sw \"a\""), Some("userName"), None);
        assert!(c.open(&other_kind, &sealed, 0).is_err());
        let Err(Error::Scim { scim_type, .. }) = c.open(&binding(), &sealed, 61_000) else { panic!("expired") };
        assert_eq!(scim_type.as_deref(), Some("expiredCursor"));
    }
}
