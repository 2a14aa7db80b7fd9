//! Follow-ups: action items with an owner, an optional due date and a
//! status (open until ticked done). Pure: the due-date grammar and the
//! item itself; stored by `store`, rendered by `slack::blocks`.

use super::{IncidentNumber, UserId};
use chrono::{DateTime, Days, NaiveDate, Utc};

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
    pub id: i64,
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
            id: 1,
            incident: 1,
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
}
