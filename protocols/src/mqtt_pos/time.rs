//! Wall-clock times and dates as the terminals write them: `yyyy-MM-dd HH:mm:ss`, `yyyy-MM-dd`.
//!
//! The terminals send local time with no zone, so these types are plain calendar values, not
//! instants; the adapter decides the zone. The protocols crate has no date library, so the
//! calendar check (month lengths, leap years) is done here, in a few lines.
//!
//! Tolerance: the spec's `menu_rec` example writes `"2021-05-06 12: 23: 56"`, so spaces right
//! after a `:` are ignored. The spec's table says `hh`, but its examples use a 24-hour clock
//! (`14:24:13`); hours are 00 to 23.

use std::fmt;

/// Earliest year accepted: a device whose clock was never set reports 1970 or 2000; both are
/// readable, and the adapter decides whether such a time is plausible.
const YEAR_MIN: u16 = 1970;
/// Latest year accepted (four digits).
const YEAR_MAX: u16 = 9999;
/// Longest time text looked at (19 characters plus a few tolerated spaces).
const TIME_TEXT_BYTES_MAX: usize = 32;

/// A calendar date, `yyyy-MM-dd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WireDate {
    year: u16,
    month: u8,
    day: u8,
}

/// A local date and time to the second, `yyyy-MM-dd HH:mm:ss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WireTime {
    date: WireDate,
    hour: u8,
    minute: u8,
    second: u8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Reads exactly `N` ASCII digits.
fn digits<const N: usize>(bytes: &[u8]) -> Option<u16> {
    if bytes.len() != N || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0')),
    )
}

impl WireDate {
    /// A date, if it exists in the calendar and the year is in 1970..=9999.
    pub fn new(year: u16, month: u8, day: u8) -> Option<WireDate> {
        if !(YEAR_MIN..=YEAR_MAX).contains(&year) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(WireDate { year, month, day })
    }

    /// Parses `yyyy-MM-dd`.
    pub fn parse(text: &str) -> Option<WireDate> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = digits::<4>(&b[0..4])?;
        let month = u8::try_from(digits::<2>(&b[5..7])?).ok()?;
        let day = u8::try_from(digits::<2>(&b[8..10])?).ok()?;
        WireDate::new(year, month, day)
    }

    /// Year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// Month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// Day of the month, 1 to 31.
    pub fn day(self) -> u8 {
        self.day
    }
}

impl WireTime {
    /// A time, if the date exists and the clock reads 00:00:00 to 23:59:59.
    pub fn new(date: WireDate, hour: u8, minute: u8, second: u8) -> Option<WireTime> {
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        Some(WireTime {
            date,
            hour,
            minute,
            second,
        })
    }

    /// Parses `yyyy-MM-dd HH:mm:ss`, ignoring spaces right after a `:`.
    pub fn parse(text: &str) -> Option<WireTime> {
        if text.len() > TIME_TEXT_BYTES_MAX {
            return None;
        }
        let mut compact = [0u8; TIME_TEXT_BYTES_MAX];
        let mut len = 0;
        let mut after_colon = false;
        for &b in text.as_bytes() {
            if after_colon && b == b' ' {
                continue;
            }
            after_colon = b == b':';
            let slot = compact.get_mut(len)?;
            *slot = b;
            len += 1;
        }
        let b = compact.get(..len)?;
        if b.len() != 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let date = WireDate::parse(std::str::from_utf8(&b[0..10]).ok()?)?;
        let hour = u8::try_from(digits::<2>(&b[11..13])?).ok()?;
        let minute = u8::try_from(digits::<2>(&b[14..16])?).ok()?;
        let second = u8::try_from(digits::<2>(&b[17..19])?).ok()?;
        WireTime::new(date, hour, minute, second)
    }

    /// The date part.
    pub fn date(self) -> WireDate {
        self.date
    }

    /// Hour, 0 to 23.
    pub fn hour(self) -> u8 {
        self.hour
    }

    /// Minute, 0 to 59.
    pub fn minute(self) -> u8 {
        self.minute
    }

    /// Second, 0 to 59.
    pub fn second(self) -> u8 {
        self.second
    }
}

impl fmt::Display for WireDate {
    /// `yyyy-MM-dd`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for WireTime {
    /// `yyyy-MM-dd HH:mm:ss`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_spec_times() {
        let t = WireTime::parse("2021-05-07 14:24:13").unwrap();
        assert_eq!(t.to_string(), "2021-05-07 14:24:13");
        let sloppy = WireTime::parse("2021-05-06 12: 23: 56").unwrap();
        assert_eq!(sloppy.to_string(), "2021-05-06 12:23:56");
        assert_eq!(
            WireDate::parse("2019-07-30").unwrap().to_string(),
            "2019-07-30"
        );
        assert!(WireTime::parse("2024-02-29 00:00:00").is_some());
    }

    #[test]
    fn refuses_bad_times() {
        for bad in [
            "",
            "2021-05-07",
            "2021-05-07T14:24:13",
            "2021-13-01 00:00:00",
            "2023-02-29 00:00:00",
            "2021-05-07 24:00:00",
            "2021-05-07 23:60:00",
            "1969-12-31 23:59:59",
            "2021-5-7 14:24:13",
            "2021-05-07  14:24:13",
            "２０２１-05-07 14:24:13",
            "2021-05-07 14:24:13 ",
        ] {
            assert_eq!(WireTime::parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(y in 1970u16..=9999, mo in 1u8..=12, d in 1u8..=28, h in 0u8..24, mi in 0u8..60, s in 0u8..60) {
            let t = WireTime::new(WireDate::new(y, mo, d).unwrap(), h, mi, s).unwrap();
            prop_assert_eq!(WireTime::parse(&t.to_string()), Some(t));
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = WireTime::parse(&text);
            let _ = WireDate::parse(&text);
        }
    }
}
