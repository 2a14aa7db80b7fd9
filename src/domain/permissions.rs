//! Who may do what in an incident, and the sentence that says who may when
//! someone may not. Pure: the caller brings the incident and its roles.

use super::roles::{INCIDENT_LEAD, RoleCatalog};
use super::{Assignment, Incident, RoleName, UserId, holders, lead};

/// The configured word that opens an action to everyone in the war room.
pub const ANYONE: &str = "anyone";

/// Something only some people may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    Close,
    Assign,
    Severity,
    Tag,
    /// Claiming a role someone else holds (it passes to the claimer).
    TakeOver,
}

impl Permission {
    /// The configuration key that says who may.
    pub fn key(self) -> &'static str {
        match self {
            Permission::Close => "permissions.close",
            Permission::Assign => "permissions.assign",
            Permission::Severity => "permissions.severity",
            Permission::Tag => "timeline.taggers",
            Permission::TakeOver => "permissions.take_over",
        }
    }

    /// What the action does to the incident, after "can".
    fn phrase(self, reference: &str) -> String {
        match self {
            Permission::Close => format!("close {reference}"),
            Permission::Assign => format!("assign roles in {reference}"),
            Permission::Severity => format!("change the severity of {reference}"),
            Permission::Tag => format!("put messages on the timeline of {reference}"),
            Permission::TakeOver => {
                format!("take over a role someone else holds in {reference}")
            }
        }
    }
}

/// Who may take an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Anyone in the war room.
    Anyone,
    /// Whoever holds one of these roles (leading counts as holding
    /// Incident Lead). Never empty.
    Roles(Vec<RoleName>),
}

/// Why a configured list of roles cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AllowedError {
    #[error("empty: name at least one role, or `anyone`")]
    Empty,
    #[error("mixing `anyone` with roles: give `anyone` alone, or roles only")]
    AnyoneAndRoles,
    #[error("naming `{given}`, which is not a configured role (roles are {known})")]
    Unknown { given: String, known: String },
}

impl Allowed {
    pub fn roles(names: &[&str]) -> Self {
        Allowed::Roles(names.iter().map(|n| RoleName::new(*n)).collect())
    }

    /// Reads a configured list: `anyone` alone, or exact role names from
    /// the catalog (a name given twice counts once).
    pub fn from_config(list: &[String], catalog: &RoleCatalog) -> Result<Self, AllowedError> {
        let anyone = |s: &str| s.trim().eq_ignore_ascii_case(ANYONE);
        match list {
            [] => Err(AllowedError::Empty),
            [one] if anyone(one) => Ok(Allowed::Anyone),
            _ if list.iter().any(|s| anyone(s)) => Err(AllowedError::AnyoneAndRoles),
            _ => {
                let mut roles: Vec<RoleName> = Vec::new();
                for name in list {
                    let Some(role) = catalog.get(&RoleName::new(name.as_str())) else {
                        return Err(AllowedError::Unknown {
                            given: name.clone(),
                            known: catalog.names().join(", "),
                        });
                    };
                    if !roles.contains(&role.name) {
                        roles.push(role.name.clone());
                    }
                }
                Ok(Allowed::Roles(roles))
            }
        }
    }
}

/// Who may take each action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permissions {
    pub close: Allowed,
    pub assign: Allowed,
    pub severity: Allowed,
    pub tag: Allowed,
    pub take_over: Allowed,
}

impl Permissions {
    pub fn get(&self, action: Permission) -> &Allowed {
        match action {
            Permission::Close => &self.close,
            Permission::Assign => &self.assign,
            Permission::Severity => &self.severity,
            Permission::Tag => &self.tag,
            Permission::TakeOver => &self.take_over,
        }
    }
}

impl Default for Permissions {
    /// The safe defaults: the Incident Lead closes, assigns and changes the
    /// severity; the Scribe and the Incident Lead tag.
    fn default() -> Self {
        let lead = Allowed::roles(&[INCIDENT_LEAD]);
        Self {
            close: lead.clone(),
            assign: lead.clone(),
            severity: lead,
            tag: Allowed::roles(&[super::roles::SCRIBE, INCIDENT_LEAD]),
            // Claim on the role board stays one click for everyone.
            take_over: Allowed::Anyone,
        }
    }
}

/// Who holds `role` in this incident: for Incident Lead, whoever leads
/// (the declarer while nobody claimed it).
fn holders_of(incident: &Incident, assignments: &[Assignment], role: &str) -> Vec<UserId> {
    if role == INCIDENT_LEAD {
        vec![lead(incident, assignments)]
    } else {
        holders(assignments, role).into_iter().cloned().collect()
    }
}

/// Whether `user` may take an action that `allowed` guards in this incident.
pub fn may(
    incident: &Incident,
    assignments: &[Assignment],
    allowed: &Allowed,
    user: &UserId,
) -> bool {
    match allowed {
        Allowed::Anyone => true,
        Allowed::Roles(roles) => roles
            .iter()
            .any(|role| holders_of(incident, assignments, role.as_str()).contains(user)),
    }
}

/// Who may take an action in one incident, naming the current holders of
/// each role; [`WhoMay::sentence`] says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhoMay {
    pub action: Permission,
    /// The incident's reference (`INC-4`).
    pub reference: String,
    /// `None`: anyone in the war room. Else each role with its holders
    /// (for Incident Lead, whoever leads).
    pub roles: Option<Vec<(RoleName, Vec<UserId>)>>,
}

impl WhoMay {
    /// "Only the Incident Lead (U1) or the Technical Lead can change the
    /// severity of INC-4.", each holder named by `name`.
    pub fn sentence(&self, name: &dyn Fn(&UserId) -> String) -> String {
        let what = self.action.phrase(&self.reference);
        let Some(roles) = &self.roles else {
            return format!("Anyone in the war room can {what}.");
        };
        let named: Vec<String> = roles
            .iter()
            .map(|(role, held)| {
                if held.is_empty() {
                    format!("the {role}")
                } else {
                    let held: Vec<String> = held.iter().map(name).collect();
                    format!("the {role} ({})", held.join(", "))
                }
            })
            .collect();
        format!("Only {} can {what}.", or_list(&named))
    }
}

/// Who may take `action` in this incident, with the current holders.
pub fn who_may(
    incident: &Incident,
    assignments: &[Assignment],
    allowed: &Allowed,
    action: Permission,
) -> WhoMay {
    let roles = match allowed {
        Allowed::Anyone => None,
        Allowed::Roles(roles) => Some(
            roles
                .iter()
                .map(|role| {
                    (
                        role.clone(),
                        holders_of(incident, assignments, role.as_str()),
                    )
                })
                .collect(),
        ),
    };
    WhoMay {
        action,
        reference: incident.reference(),
        roles,
    }
}

/// Why a change was refused, for the person who asked. Structured here;
/// `slack::render` shows it as Slack text (its `Display`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The incident (this reference) is closed.
    Closed(String),
    /// The person may not take the action: who may.
    NotAllowed(WhoMay),
}

impl Refusal {
    /// The whole refusal: who may, and how to become one of them (or that
    /// the incident is closed), each person named by `name`.
    pub fn sentence(&self, name: &dyn Fn(&UserId) -> String) -> String {
        let who_may = match self {
            Refusal::Closed(reference) => {
                return format!("{reference} is closed; nothing more can change here.");
            }
            Refusal::NotAllowed(who_may) => who_may,
        };
        let who = who_may.sentence(name);
        match &who_may.roles {
            Some(_) if who_may.action == Permission::TakeOver => format!(
                "{who} Ask its holder to release it, or the Incident Lead to assign it to you (`/incident assign`)."
            ),
            Some(roles) if roles.len() == 1 => format!(
                "{who} Claim {} on the role board if you are taking over.",
                roles[0].0
            ),
            Some(_) => {
                format!("{who} Claim one of these roles on the role board if you are taking over.")
            }
            None => who,
        }
    }
}

/// The refusal of `action` for someone who may not take it.
pub fn refusal(
    incident: &Incident,
    assignments: &[Assignment],
    allowed: &Allowed,
    action: Permission,
) -> Refusal {
    Refusal::NotAllowed(who_may(incident, assignments, allowed, action))
}

/// "a", "a or b", "a, b or c".
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;
    use crate::domain::comms::Schedule;
    use chrono::{TimeZone, Utc};

    const DECLARER: &str = "UDECLARER";

    fn incident() -> Incident {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        Incident {
            number: crate::domain::IncidentNumber::new(4),
            title: "Checkout errors".into(),
            severity: crate::domain::SeverityName::new("SEV2"),
            status: Status::Investigating,
            summary: String::new(),
            security: false,
            drill: false,
            private: false,
            declared_by: UserId(DECLARER.into()),
            declared_at: at,
            impact_started_at: None,
            detected_at: None,
            mitigated_at: None,
            resolved_at: None,
            closed_at: None,
            origin_channel: crate::domain::ChannelId::new("CGENERAL"),
            announce_channel: crate::domain::ChannelId::new("CGENERAL"),
            channel_id: Some(crate::domain::ChannelId::new("CROOM")),
            channel_name: None,
            board_ts: None,
            announce_ts: None,
            last_update_at: None,
            schedule: Schedule::default(),
            assessment: None,
        }
    }

    fn held(pairs: &[(&str, &str)]) -> Vec<Assignment> {
        pairs
            .iter()
            .map(|(role, user)| Assignment {
                role: RoleName::new(*role),
                user: UserId(user.to_string()),
            })
            .collect()
    }

    fn u(id: &str) -> UserId {
        UserId(id.to_string())
    }

    fn catalog() -> RoleCatalog {
        RoleCatalog::new(RoleCatalog::defaults()).unwrap()
    }

    #[test]
    fn the_declarer_leads_until_someone_claims_incident_lead() {
        let i = incident();
        let lead_only = Allowed::roles(&[INCIDENT_LEAD]);
        assert!(may(&i, &[], &lead_only, &u(DECLARER)));
        assert!(!may(&i, &[], &lead_only, &u("UBOB")));
        let bob_leads = held(&[(INCIDENT_LEAD, "UBOB")]);
        assert!(may(&i, &bob_leads, &lead_only, &u("UBOB")));
        assert!(
            !may(&i, &bob_leads, &lead_only, &u(DECLARER)),
            "declaring is not leading once someone else leads"
        );
    }

    #[test]
    fn holding_any_listed_role_is_enough_and_other_roles_are_not() {
        let i = incident();
        let a = held(&[("Scribe", "USCRIBE"), ("Tester", "UT1"), ("Tester", "UT2")]);
        let taggers = Allowed::roles(&["Scribe", INCIDENT_LEAD]);
        assert!(may(&i, &a, &taggers, &u("USCRIBE")));
        assert!(may(&i, &a, &taggers, &u(DECLARER)));
        assert!(!may(&i, &a, &taggers, &u("UT1")));
        let testers = Allowed::roles(&["Tester"]);
        assert!(may(&i, &a, &testers, &u("UT2")));
        assert!(
            !may(&i, &a, &testers, &u(DECLARER)),
            "the lead does not stand in for other roles"
        );
        assert!(may(&i, &a, &Allowed::Anyone, &u("USTRANGER")));
    }

    #[test]
    fn who_may_names_the_roles_and_their_holders() {
        // Rendered as Slack shows it (`UserId::mention` is `slack::render`'s).
        let i = incident();
        let a = held(&[
            ("Technical Lead", "UTECH"),
            ("Tester", "UT1"),
            ("Tester", "UT2"),
        ]);
        assert_eq!(
            who_may(&i, &a, &Allowed::roles(&[INCIDENT_LEAD]), Permission::Close)
                .sentence(&|u| u.mention().into()),
            "Only the Incident Lead (<@UDECLARER>) can close INC-4."
        );
        assert_eq!(
            who_may(
                &i,
                &[],
                &Allowed::roles(&[INCIDENT_LEAD, "Technical Lead"]),
                Permission::Severity
            )
            .sentence(&|u| u.mention().into()),
            "Only the Incident Lead (<@UDECLARER>) or the Technical Lead can change the severity of INC-4."
        );
        assert_eq!(
            who_may(
                &i,
                &a,
                &Allowed::roles(&["Scribe", "Technical Lead", "Tester"]),
                Permission::Tag
            )
            .sentence(&|u| u.mention().into()),
            "Only the Scribe, the Technical Lead (<@UTECH>) or the Tester (<@UT1>, <@UT2>) can put messages on the timeline of INC-4."
        );
        assert_eq!(
            who_may(&i, &a, &Allowed::Anyone, Permission::Assign).sentence(&|u| u.mention().into()),
            "Anyone in the war room can assign roles in INC-4."
        );
        assert!(
            refusal(
                &i,
                &a,
                &Allowed::roles(&[INCIDENT_LEAD]),
                Permission::Assign
            )
            .to_string()
            .ends_with("Claim Incident Lead on the role board if you are taking over.")
        );
    }

    #[test]
    fn configured_lists_are_anyone_alone_or_known_roles() {
        let c = catalog();
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Allowed::from_config(&list(&["anyone"]), &c),
            Ok(Allowed::Anyone)
        );
        assert_eq!(
            Allowed::from_config(&list(&["Anyone"]), &c),
            Ok(Allowed::Anyone)
        );
        assert_eq!(
            Allowed::from_config(&list(&["Scribe", "Incident Lead", "Scribe"]), &c),
            Ok(Allowed::roles(&["Scribe", "Incident Lead"]))
        );
        assert_eq!(Allowed::from_config(&[], &c), Err(AllowedError::Empty));
        assert_eq!(
            Allowed::from_config(&list(&["anyone", "Scribe"]), &c),
            Err(AllowedError::AnyoneAndRoles)
        );
        assert!(matches!(
            Allowed::from_config(&list(&["Janitor"]), &c),
            Err(AllowedError::Unknown { given, .. }) if given == "Janitor"
        ));
        assert!(matches!(
            Allowed::from_config(&list(&["scribe"]), &c),
            Err(AllowedError::Unknown { .. })
        ));
    }

    #[test]
    fn the_defaults_are_the_safe_ones() {
        let p = Permissions::default();
        for action in [Permission::Close, Permission::Assign, Permission::Severity] {
            assert_eq!(p.get(action), &Allowed::roles(&[INCIDENT_LEAD]));
        }
        assert_eq!(
            p.get(Permission::Tag),
            &Allowed::roles(&["Scribe", INCIDENT_LEAD])
        );
    }
}
