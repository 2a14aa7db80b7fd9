//! Follow-ups: action items with an owner, an optional due date and a
//! status (open until ticked done). Pure: the due-date grammar and the
//! item itself; stored by `store`, rendered by `slack::blocks`.

use super::{IncidentNumber, UserId};
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

/// A due date as typed: a calendar date, or a number of days from today
/// (`in 7d`, `7d`). Resolved against the clock's today in the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    On(NaiveDate),
    InDays(u32),
}

impl Due {
    /// `2026-12-24`, `7d` (or `in 7d`, given as its last word) → a due date.
    pub fn parse(word: &str) -> Option<Due> {
        if let Ok(date) = NaiveDate::parse_from_str(word, "%Y-%m-%d") {
            return Some(Due::On(date));
        }
        let days = word.strip_suffix(['d', 'D'])?;
        let days: u32 = days.parse().ok()?;
        (1..=3650).contains(&days).then_some(Due::InDays(days))
    }

    /// The date this means, `today` being the clock's date.
    pub fn resolve(self, today: NaiveDate) -> Option<NaiveDate> {
        match self {
            Due::On(date) => Some(date),
            Due::InDays(n) => today.checked_add_days(Days::new(u64::from(n))),
        }
    }
}

/// Which follow-ups `/incident followups` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scope {
    /// Open ones the caller owns.
    #[default]
    Mine,
    /// Every open one.
    Open,
    /// Every one, done included.
    All,
}

impl Scope {
    pub fn parse(word: &str) -> Option<Scope> {
        match word.to_ascii_lowercase().as_str() {
            "" | "mine" | "me" => Some(Scope::Mine),
            "open" => Some(Scope::Open),
            "all" => Some(Scope::All),
            _ => None,
        }
    }
}

/// A stored follow-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Followup {
    pub id: super::FollowupId,
    pub incident: IncidentNumber,
    /// As typed, in Slack's format.
    pub text: String,
    pub owner: UserId,
    pub due: Option<NaiveDate>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<UserId>,
}

impl Followup {
    pub fn is_open(&self) -> bool {
        self.done_at.is_none()
    }

    /// Open and due before `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.is_open() && self.due.is_some_and(|d| d < today)
    }
}

/// Open and overdue counts of `items` on `today`.
pub fn counts(items: &[Followup], today: NaiveDate) -> (usize, usize) {
    let open = items.iter().filter(|f| f.is_open()).count();
    let overdue = items.iter().filter(|f| f.is_overdue(today)).count();
    (open, overdue)
}

/// When the weekly digest of open follow-ups goes out (`followups.digest`):
/// a weekday and a time of day in the configured time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestTime {
    pub weekday: Weekday,
    pub time: NaiveTime,
}

/// A `followups.digest` value that is neither `off` nor a weekday and a time.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}`: give a weekday and a 24-hour time like `Monday 09:00`, or `off`")]
pub struct DigestParseError(String);

/// One weekly digest: when it is due, and the week it stands for (the
/// Monday of its ISO week, in the configured time zone), which names it
/// in the database so it goes out once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestRound {
    pub due_at: DateTime<Utc>,
    pub week: NaiveDate,
}

impl DigestTime {
    /// `Monday 09:00` (or `mon 9:00`) → a digest time; `off` or nothing →
    /// no digest.
    pub fn parse(text: &str) -> Result<Option<DigestTime>, DigestParseError> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || DigestParseError(text.to_string());
        let mut words = text.split_whitespace();
        let (Some(day), Some(time), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad());
        };
        let weekday = day.parse::<Weekday>().map_err(|_| bad())?;
        let time = NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| bad())?;
        Ok(Some(DigestTime { weekday, time }))
    }

    /// The latest digest due at or before `now`: the one to send now if it
    /// was not sent (a digest missed while the bot was down goes out once,
    /// for the current week only).
    pub fn latest(&self, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DigestRound> {
        let today = now.with_timezone(&tz).date_naive();
        let back =
            (7 + today.weekday().num_days_from_monday() - self.weekday.num_days_from_monday()) % 7;
        let mut day = today.checked_sub_days(Days::new(u64::from(back)))?;
        // Today's may still be ahead; a week back there is always one.
        for _ in 0..2 {
            let due_at = self.instant(day, tz)?;
            if due_at <= now {
                return Some(DigestRound {
                    due_at,
                    week: super::monday_of(day),
                });
            }
            day = day.checked_sub_days(Days::new(7))?;
        }
        None
    }

    /// The first digest due after `now`.
    pub fn next_after(&self, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
        let latest = self.latest(now, tz)?;
        let mut day = latest.due_at.with_timezone(&tz).date_naive();
        for _ in 0..2 {
            day = day.checked_add_days(Days::new(7))?;
            let at = self.instant(day, tz)?;
            if at > now {
                return Some(at);
            }
        }
        None
    }

    /// The digest time on `day` in `tz`; on a day whose clocks skip that
    /// time (a spring-forward gap), an hour later.
    fn instant(&self, day: NaiveDate, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
        let local = day.and_time(self.time);
        tz.from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
    }
}

impl std::fmt::Display for DigestTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}", self.weekday, self.time.format("%H:%M"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn due_dates_as_typed() {
        assert_eq!(Due::parse("2026-12-24"), Some(Due::On(date("2026-12-24"))));
        assert_eq!(Due::parse("7d"), Some(Due::InDays(7)));
        assert_eq!(Due::parse("0d"), None);
        assert_eq!(Due::parse("soon"), None);
        assert_eq!(Due::parse("2026-13-01"), None);
        assert_eq!(
            Due::InDays(7).resolve(date("2026-12-30")),
            Some(date("2027-01-06"))
        );
    }

    #[test]
    fn scopes() {
        assert_eq!(Scope::parse(""), Some(Scope::Mine));
        assert_eq!(Scope::parse("OPEN"), Some(Scope::Open));
        assert_eq!(Scope::parse("all"), Some(Scope::All));
        assert_eq!(Scope::parse("later"), None);
    }

    #[test]
    fn overdue_is_open_and_past_its_date() {
        let f = Followup {
            id: crate::domain::FollowupId::new(1),
            incident: crate::domain::IncidentNumber::new(1),
            text: "x".into(),
            owner: UserId("U1".into()),
            due: Some(date("2026-12-01")),
            created_by: UserId("U1".into()),
            created_at: Utc::now(),
            done_at: None,
            done_by: None,
        };
        let mut done = f.clone();
        done.done_at = Some(Utc::now());
        assert!(f.is_overdue(date("2026-12-02")));
        assert!(!f.is_overdue(date("2026-12-01")));
        assert_eq!(counts(&[f, done], date("2026-12-02")), (1, 1));
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn digest_times_as_configured() {
        let monday_nine = DigestTime {
            weekday: Weekday::Mon,
            time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        };
        assert_eq!(DigestTime::parse("Monday 09:00"), Ok(Some(monday_nine)));
        assert_eq!(DigestTime::parse(" mon  9:00 "), Ok(Some(monday_nine)));
        assert_eq!(DigestTime::parse("off"), Ok(None));
        assert_eq!(DigestTime::parse("OFF"), Ok(None));
        assert_eq!(DigestTime::parse(""), Ok(None));
        for bad in [
            "Monday",
            "Funday 09:00",
            "Monday 25:00",
            "Monday 09:00 UTC",
            "09:00",
        ] {
            assert!(DigestTime::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(monday_nine.to_string(), "Mon 09:00");
    }

    #[test]
    fn the_digest_of_the_week_in_the_configured_zone() {
        let d = DigestTime::parse("Monday 09:00").unwrap().unwrap();
        let paris = chrono_tz::Europe::Paris;
        // Monday 2026-11-23, 07:59 UTC = 08:59 in Paris: last week's is the latest.
        let before = utc("2026-11-23T07:59:00Z");
        let last = d.latest(before, paris).unwrap();
        assert_eq!(last.due_at, utc("2026-11-16T08:00:00Z"));
        assert_eq!(last.week, date("2026-11-16"));
        assert_eq!(
            d.next_after(before, paris),
            Some(utc("2026-11-23T08:00:00Z"))
        );
        // At 09:00 in Paris this week's is due.
        let at = utc("2026-11-23T08:00:00Z");
        assert_eq!(d.latest(at, paris).unwrap().week, date("2026-11-23"));
        assert_eq!(d.next_after(at, paris), Some(utc("2026-11-30T08:00:00Z")));
        // Any time later that week (Sunday night) it is still this week's.
        let sunday = utc("2026-11-29T22:00:00Z");
        assert_eq!(d.latest(sunday, paris).unwrap().week, date("2026-11-23"));
        // Summer time: 09:00 in Paris is 07:00 UTC.
        let june = d.latest(utc("2026-06-30T12:00:00Z"), paris).unwrap();
        assert_eq!(june.due_at, utc("2026-06-29T07:00:00Z"));
        // A Sunday digest belongs to the ISO week that ends with it.
        let sunday_six = DigestTime::parse("Sunday 18:00").unwrap().unwrap();
        let round = sunday_six
            .latest(utc("2026-11-30T10:00:00Z"), chrono_tz::UTC)
            .unwrap();
        assert_eq!(round.due_at, utc("2026-11-29T18:00:00Z"));
        assert_eq!(round.week, date("2026-11-23"));
    }

    #[test]
    fn a_digest_time_the_clocks_skip_comes_an_hour_later() {
        // Europe/Paris skips 02:00–03:00 on Sunday 2026-03-29.
        let d = DigestTime::parse("Sunday 02:30").unwrap().unwrap();
        let round = d
            .latest(utc("2026-03-29T12:00:00Z"), chrono_tz::Europe::Paris)
            .unwrap();
        assert_eq!(round.due_at, utc("2026-03-29T01:30:00Z"));
    }
}
