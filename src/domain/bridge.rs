//! The incident's bridge: a video call whose link the bot puts in the war
//! room's first message and its topic. Pure.

use super::IncidentNumber;

/// Slack's limit on a button URL.
pub const MAX_URL: usize = 3000;

/// `bridge.url_template`, checked: an http(s) URL, optionally with
/// `{number}` where the incident number goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeTemplate(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BridgeError {
    #[error("not an http(s) URL like https://meet.example.com/inc-{{number}}: `{0}`")]
    NotUrl(String),
    #[error("using a placeholder other than {{number}} (the only one filled in): `{0}`")]
    UnknownPlaceholder(String),
    #[error("longer than {MAX_URL} characters")]
    TooLong,
}

impl BridgeTemplate {
    pub fn parse(template: &str) -> Result<Self, BridgeError> {
        let t = template.trim();
        let rest = t
            .strip_prefix("https://")
            .or_else(|| t.strip_prefix("http://"))
            .ok_or_else(|| BridgeError::NotUrl(t.to_string()))?;
        if rest.is_empty()
            || rest.starts_with('/')
            || t.chars()
                .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == '|')
        {
            return Err(BridgeError::NotUrl(t.to_string()));
        }
        if t.replace("{number}", "").contains(['{', '}']) {
            return Err(BridgeError::UnknownPlaceholder(t.to_string()));
        }
        // Room for a long incident number.
        if t.chars().count() + 20 > MAX_URL {
            return Err(BridgeError::TooLong);
        }
        Ok(Self(t.to_string()))
    }

    /// The bridge of incident `number`.
    pub fn url(&self, number: IncidentNumber) -> String {
        self.0.replace("{number}", &number.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_in_the_number_or_keeps_a_fixed_room() {
        let t = BridgeTemplate::parse("https://meet.example.com/inc-{number}").unwrap();
        assert_eq!(
            t.url(crate::domain::IncidentNumber::new(7)),
            "https://meet.example.com/inc-7"
        );
        let fixed = BridgeTemplate::parse(" https://zoom.example.com/j/123 ").unwrap();
        assert_eq!(
            fixed.url(crate::domain::IncidentNumber::new(7)),
            "https://zoom.example.com/j/123"
        );
    }

    #[test]
    fn refuses_what_is_not_a_link() {
        assert!(matches!(
            BridgeTemplate::parse("meet.example.com/{number}"),
            Err(BridgeError::NotUrl(_))
        ));
        assert!(matches!(
            BridgeTemplate::parse("https://"),
            Err(BridgeError::NotUrl(_))
        ));
        assert!(matches!(
            BridgeTemplate::parse("https://x.example.com/a b"),
            Err(BridgeError::NotUrl(_))
        ));
        assert!(matches!(
            BridgeTemplate::parse("https://x.example.com/{id}"),
            Err(BridgeError::UnknownPlaceholder(_))
        ));
        let long = format!("https://x.example.com/{}", "a".repeat(MAX_URL));
        assert_eq!(BridgeTemplate::parse(&long), Err(BridgeError::TooLong));
    }
}
