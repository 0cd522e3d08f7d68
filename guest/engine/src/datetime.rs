//! `xsd:dateTime` values (RFC 7643 §2.3.5), parsed without a clock: filters compare instants,
//! not strings, so `2015-10-10T14:38:21.8617979-07:00` and `2015-10-10T21:38:21.8617979Z` are equal.

/// An instant as nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub i128);

impl Instant {
    /// The instant as milliseconds, rounded down, and whether it had a sub-millisecond part.
    pub fn millis_floor(self) -> (i64, bool) {
        let ms = self.0.div_euclid(1_000_000);
        let rem = self.0.rem_euclid(1_000_000) != 0;
        (ms as i64, rem)
    }
}

/// Parses `YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm]`. A missing offset means UTC. A `t` or a
/// space in place of `T` and a lowercase `z` are accepted, as real clients send them.
pub fn parse(text: &str) -> Option<Instant> {
    let b = text.trim().as_bytes();
    let num = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    if b.len() < 19 {
        return None;
    }
    let (neg_year, b) = if b[0] == b'-' { (true, &b[1..]) } else { (false, b) };
    let dash = b.iter().position(|&c| c == b'-')?;
    if dash < 4 {
        return None;
    }
    let mut year = num(&b[..dash])?;
    if neg_year {
        year = -year;
    }
    let rest = &b[dash..];
    if rest.len() < 15
        || rest[0] != b'-'
        || rest[3] != b'-'
        || !matches!(rest[6], b'T' | b't' | b' ')
        || rest[9] != b':'
        || rest[12] != b':'
    {
        return None;
    }
    let month = num(&rest[1..3])?;
    let day = num(&rest[4..6])?;
    let hour = num(&rest[7..9])?;
    let minute = num(&rest[10..12])?;
    let second = num(&rest[13..15])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 24
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut tail = &rest[15..];
    let mut nanos: i128 = 0;
    if let Some(b'.') = tail.first() {
        let digits = tail[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let frac = &tail[1..1 + digits];
        for (i, d) in frac.iter().enumerate().take(9) {
            nanos += i128::from(d - b'0') * 10i128.pow(8 - i as u32);
        }
        tail = &tail[1 + digits..];
    }
    let offset_secs: i64 = match tail {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = num(&[*h1, *h2])?;
            let m = num(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let s = h * 3600 + m * 60;
            if *sign == b'-' { -s } else { s }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(Instant(i128::from(secs) * 1_000_000_000 + nanos))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_offset_forms_denote_the_same_instant() {
        let a = parse("2015-10-10T14:38:21.8617979-07:00").expect("valid");
        let b = parse("2015-10-10T21:38:21.8617979Z").expect("valid");
        assert_eq!(a, b);
    }

    #[test]
    fn epoch_is_zero() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(Instant(0)));
        assert_eq!(parse("1970-01-01T00:00:00.001Z").map(|i| i.millis_floor()), Some((1, false)));
    }

    #[test]
    fn seven_digit_fraction_keeps_sub_millisecond_part() {
        let i = parse("2011-05-13T04:42:34.8617979Z").expect("valid");
        assert!(i.millis_floor().1);
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in
            ["", "2011-05-13", "2011-13-13T04:42:34Z", "2011-02-30T00:00:00Z", "2011-05-13T04:42:34+0700", "yesterday"]
        {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
