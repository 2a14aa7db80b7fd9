//! `/incident …` text → [`Command`]. Pure: no IO, unit-tested.
//!
//! Slack sends user mentions escaped (`<@U123|alice>`) when the command has
//! `should_escape: true`, as `manifest.yml` asks; a bare `<@U123>` is accepted
//! too.

use crate::domain::{Status, UserId};

/// Default window of `/incident stats`.
pub const DEFAULT_STATS_DAYS: u32 = 90;

/// A parsed `/incident …`: either it works anywhere or it acts on the
/// incident of the war room it was typed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Anywhere(AnywhereCommand),
    InRoom(RoomCommand),
}

/// Commands that work in any channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnywhereCommand {
    Declare {
        title: Option<String>,
    },
    List,
    Stats {
        days: u32,
    },
    Help,
    /// Lists follow-ups (anywhere).
    Followups {
        scope: crate::domain::followups::Scope,
    },
}

/// Commands that act on the incident of the channel they were typed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomCommand {
    Roles,
    Assign {
        role: String,
        user: UserId,
    },
    /// Without a level: the severity form (impact, urgency, override).
    Severity {
        level: Option<String>,
    },
    Status {
        status: Status,
    },
    Update {
        text: Option<String>,
    },
    Note {
        text: String,
    },
    Timeline,
    Close,
    Postmortem,
    /// Posts the checklists of the roles the caller holds.
    Checklist,
    /// Records a follow-up (action item) on the incident of the war room.
    Followup {
        text: String,
        owner: Option<UserId>,
        due: Option<crate::domain::followups::Due>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("`{0}` is not an /incident command")]
    Unknown(String),
    #[error("usage: {0}")]
    Usage(&'static str),
    #[error("{0}")]
    BadStatus(String),
}

pub const USAGE_ASSIGN: &str = "/incident assign <role> @person";
pub const USAGE_SEVERITY: &str = "/incident severity [level]";
pub const USAGE_STATUS: &str = "/incident status <investigating|identified|mitigated|resolved>";
pub const USAGE_NOTE: &str = "/incident note <text>";
pub const USAGE_STATS: &str = "/incident stats [days]";
pub const USAGE_FOLLOWUP: &str = "/incident followup <text> [@owner] [due: 2026-12-24 or 7d]";
pub const USAGE_FOLLOWUPS: &str = "/incident followups [mine|open|all]";

/// Parses the text after `/incident`.
pub fn parse(text: &str) -> Result<Command, ParseError> {
    use {AnywhereCommand as A, RoomCommand as R};
    let text = text.trim();
    let (word, rest) = match text.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (text, ""),
    };
    let rest_opt = (!rest.is_empty()).then(|| rest.to_string());
    match word.to_ascii_lowercase().as_str() {
        "" | "help" | "-h" | "--help" => Ok(Command::Anywhere(A::Help)),
        "declare" | "new" | "open" => Ok(Command::Anywhere(A::Declare { title: rest_opt })),
        "roles" | "role" if rest.is_empty() => Ok(Command::InRoom(R::Roles)),
        "assign" => parse_assign(rest),
        "severity" | "sev" => match rest.split_whitespace().collect::<Vec<_>>().as_slice() {
            [] => Ok(Command::InRoom(R::Severity { level: None })),
            [level] => Ok(Command::InRoom(R::Severity {
                level: Some(level.to_string()),
            })),
            _ => Err(ParseError::Usage(USAGE_SEVERITY)),
        },
        "status" => match rest.split_whitespace().collect::<Vec<_>>().as_slice() {
            [s] => match s.parse::<Status>() {
                Ok(Status::Closed) => Err(ParseError::BadStatus(
                    "to close the incident use `/incident close`".to_string(),
                )),
                Ok(status) => Ok(Command::InRoom(R::Status { status })),
                Err(e) => Err(ParseError::BadStatus(e.to_string())),
            },
            _ => Err(ParseError::Usage(USAGE_STATUS)),
        },
        "update" => Ok(Command::InRoom(R::Update { text: rest_opt })),
        "note" => match rest_opt {
            Some(text) => Ok(Command::InRoom(R::Note { text })),
            None => Err(ParseError::Usage(USAGE_NOTE)),
        },
        "timeline" if rest.is_empty() => Ok(Command::InRoom(R::Timeline)),
        "close" if rest.is_empty() => Ok(Command::InRoom(R::Close)),
        "postmortem" if rest.is_empty() => Ok(Command::InRoom(R::Postmortem)),
        "list" | "ls" if rest.is_empty() => Ok(Command::Anywhere(A::List)),
        "checklist" | "tasks" if rest.is_empty() => Ok(Command::InRoom(R::Checklist)),
        "followup" | "follow-up" | "action" => parse_followup(rest),
        "followups" | "follow-ups" | "actions" => {
            match crate::domain::followups::Scope::parse(rest) {
                Some(scope) => Ok(Command::Anywhere(A::Followups { scope })),
                None => Err(ParseError::Usage(USAGE_FOLLOWUPS)),
            }
        }
        "stats" => match rest {
            "" => Ok(Command::Anywhere(A::Stats {
                days: DEFAULT_STATS_DAYS,
            })),
            n => match n.parse::<u32>() {
                Ok(days) if (1..=3650).contains(&days) => Ok(Command::Anywhere(A::Stats { days })),
                _ => Err(ParseError::Usage(USAGE_STATS)),
            },
        },
        _ => Err(ParseError::Unknown(text.chars().take(60).collect())),
    }
}

fn parse_assign(rest: &str) -> Result<Command, ParseError> {
    use RoomCommand as R;
    let mut user = None;
    let mut role_words = Vec::new();
    for token in rest.split_whitespace() {
        match mention(token) {
            Some(u) if user.is_none() => user = Some(u),
            Some(_) => return Err(ParseError::Usage(USAGE_ASSIGN)),
            None => role_words.push(token),
        }
    }
    match (user, role_words.is_empty()) {
        (Some(user), false) => Ok(Command::InRoom(R::Assign {
            role: role_words.join(" "),
            user,
        })),
        _ => Err(ParseError::Usage(USAGE_ASSIGN)),
    }
}

/// `<text> [@owner] [due]`: the owner and the due date are read from the
/// end (`in 7d` counts as one due date), the rest is the text.
fn parse_followup(rest: &str) -> Result<Command, ParseError> {
    use crate::domain::followups::Due;
    use RoomCommand as R;
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    let mut due = None;
    if let Some(last) = words.last().and_then(|w| Due::parse(w)) {
        due = Some(last);
        words.pop();
        if words.last().is_some_and(|w| w.eq_ignore_ascii_case("in")) {
            words.pop();
        }
    }
    let owner = words.last().and_then(|w| mention(w));
    if owner.is_some() {
        words.pop();
    }
    if words.is_empty() {
        return Err(ParseError::Usage(USAGE_FOLLOWUP));
    }
    Ok(Command::InRoom(R::Followup {
        text: words.join(" "),
        owner,
        due,
    }))
}

/// `<@U123>` or `<@U123|alice>` → `U123`.
pub fn mention(token: &str) -> Option<UserId> {
    let inner = token.strip_prefix("<@")?.strip_suffix('>')?;
    let id = inner.split('|').next()?;
    let valid = id.len() >= 2
        && id.starts_with(['U', 'W'])
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    valid.then(|| UserId(id.to_string()))
}

/// The short help every unknown or malformed command gets.
pub fn help_text() -> String {
    [
        "*/incident* runs an incident in Slack.",
        "• `/incident declare [title]` opens a war room",
        "• `/incident list` shows open incidents",
        "In a war room:",
        "• `/incident roles` posts the role board again",
        "• `/incident assign <role> @person` gives someone a role",
        "• `/incident severity [level]` changes the severity; without a level, asks impact and urgency and suggests one",
        "• `/incident status <investigating|identified|mitigated|resolved>`",
        "• `/incident note <text>` adds a timeline entry",
        "• `/incident timeline` shows the timeline",
        "• `/incident checklist` posts the checklists of the roles you hold",
        "• `/incident followup <text> [@owner] [due]` records an action item (due `2026-12-24` or `7d`)",
        "• `/incident followups [mine|open|all]` lists action items, each with a Done button",
        "• `/incident update [text]`, `close`, `postmortem`, `stats [days]`",
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use {AnywhereCommand as A, RoomCommand as R};

    fn u(id: &str) -> UserId {
        UserId(id.to_string())
    }

    #[test]
    fn parses_every_subcommand() {
        assert_eq!(parse(""), Ok(Command::Anywhere(A::Help)));
        assert_eq!(parse("help"), Ok(Command::Anywhere(A::Help)));
        assert_eq!(
            parse("declare"),
            Ok(Command::Anywhere(A::Declare { title: None }))
        );
        assert_eq!(
            parse("  declare   Checkout is down  "),
            Ok(Command::Anywhere(A::Declare {
                title: Some("Checkout is down".into())
            }))
        );
        assert_eq!(parse("roles"), Ok(Command::InRoom(R::Roles)));
        assert_eq!(parse("checklist"), Ok(Command::InRoom(R::Checklist)));
        assert_eq!(parse("tasks"), Ok(Command::InRoom(R::Checklist)));
        use crate::domain::followups::{Due, Scope};
        assert_eq!(
            parse("followup Add an alert on 5xx <@U9|bob> in 7d"),
            Ok(Command::InRoom(R::Followup {
                text: "Add an alert on 5xx".into(),
                owner: Some(UserId("U9".into())),
                due: Some(Due::InDays(7)),
            }))
        );
        assert_eq!(
            parse("followup Write the runbook"),
            Ok(Command::InRoom(R::Followup {
                text: "Write the runbook".into(),
                owner: None,
                due: None,
            }))
        );
        assert_eq!(
            parse("followup <@U9> 2026-12-24"),
            Err(ParseError::Usage(USAGE_FOLLOWUP))
        );
        assert_eq!(
            parse("followups"),
            Ok(Command::Anywhere(A::Followups { scope: Scope::Mine }))
        );
        assert_eq!(
            parse("followups all"),
            Ok(Command::Anywhere(A::Followups { scope: Scope::All }))
        );
        assert!(parse("followups later").is_err());
        assert_eq!(
            parse("assign incident lead <@U123|alice>"),
            Ok(Command::InRoom(R::Assign {
                role: "incident lead".into(),
                user: u("U123")
            }))
        );
        assert_eq!(
            parse("assign <@W9> scribe"),
            Ok(Command::InRoom(R::Assign {
                role: "scribe".into(),
                user: u("W9")
            }))
        );
        assert_eq!(
            parse("SEVERITY sev1"),
            Ok(Command::InRoom(R::Severity {
                level: Some("sev1".into())
            }))
        );
        assert_eq!(
            parse("status Mitigated"),
            Ok(Command::InRoom(R::Status {
                status: Status::Mitigated
            }))
        );
        assert_eq!(
            parse("update"),
            Ok(Command::InRoom(R::Update { text: None }))
        );
        assert_eq!(
            parse("update all good"),
            Ok(Command::InRoom(R::Update {
                text: Some("all good".into())
            }))
        );
        assert_eq!(
            parse("note rolled back 1.2.3"),
            Ok(Command::InRoom(R::Note {
                text: "rolled back 1.2.3".into()
            }))
        );
        assert_eq!(parse("timeline"), Ok(Command::InRoom(R::Timeline)));
        assert_eq!(parse("close"), Ok(Command::InRoom(R::Close)));
        assert_eq!(parse("postmortem"), Ok(Command::InRoom(R::Postmortem)));
        assert_eq!(parse("list"), Ok(Command::Anywhere(A::List)));
        assert_eq!(parse("stats"), Ok(Command::Anywhere(A::Stats { days: 90 })));
        assert_eq!(
            parse("stats 30"),
            Ok(Command::Anywhere(A::Stats { days: 30 }))
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_guess() {
        assert!(matches!(parse("explode"), Err(ParseError::Unknown(_))));
        assert_eq!(parse("assign scribe"), Err(ParseError::Usage(USAGE_ASSIGN)));
        assert_eq!(parse("assign <@U1>"), Err(ParseError::Usage(USAGE_ASSIGN)));
        assert_eq!(
            parse("assign scribe <@U1> <@U2>"),
            Err(ParseError::Usage(USAGE_ASSIGN))
        );
        assert_eq!(
            parse("severity"),
            Ok(Command::InRoom(R::Severity { level: None }))
        );
        assert_eq!(
            parse("severity 1 2"),
            Err(ParseError::Usage(USAGE_SEVERITY))
        );
        assert!(matches!(
            parse("status fixed"),
            Err(ParseError::BadStatus(_))
        ));
        assert!(matches!(
            parse("status closed"),
            Err(ParseError::BadStatus(_))
        ));
        assert_eq!(parse("note"), Err(ParseError::Usage(USAGE_NOTE)));
        assert_eq!(parse("stats soon"), Err(ParseError::Usage(USAGE_STATS)));
        assert_eq!(parse("stats 0"), Err(ParseError::Usage(USAGE_STATS)));
        assert!(matches!(parse("close now"), Err(ParseError::Unknown(_))));
    }

    #[test]
    fn mentions() {
        assert_eq!(mention("<@U12AB|bob>"), Some(u("U12AB")));
        assert_eq!(mention("<@U12AB>"), Some(u("U12AB")));
        assert_eq!(mention("@bob"), None);
        assert_eq!(mention("<@u1>"), None);
        assert_eq!(mention("<#C123|general>"), None);
    }

    #[test]
    fn war_room_commands() {
        assert!(matches!(parse("roles"), Ok(Command::InRoom(_))));
        assert!(matches!(parse("list"), Ok(Command::Anywhere(_))));
        assert!(matches!(parse("declare x"), Ok(Command::Anywhere(_))));
    }
}
