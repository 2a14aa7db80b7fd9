//! Severity from impact and urgency (`severity_matrix`): two questions asked
//! in the declare form, and the level their answers suggest. Pure.

use super::SeverityCatalog;
use super::SeverityName;
use serde::Deserialize;

/// The answers to the two questions, as stored with an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub impact: String,
    pub urgency: String,
}

/// One cell of the matrix as written in the file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub impact: String,
    pub urgency: String,
    pub severity: String,
}

/// `[severity_matrix]` as written in the file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatrix {
    pub impacts: Vec<String>,
    pub urgencies: Vec<String>,
    pub rules: Vec<Rule>,
}

impl Default for RawMatrix {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let impacts = s(&["All customers", "Some customers", "Internal only"]);
        let urgencies = s(&["Getting worse", "Stable", "No deadline"]);
        // Rows: impacts; columns: urgencies.
        let grid = [
            ["SEV1", "SEV1", "SEV2"],
            ["SEV1", "SEV2", "SEV3"],
            ["SEV2", "SEV3", "SEV3"],
        ];
        let mut rules = Vec::new();
        for (i, impact) in impacts.iter().enumerate() {
            for (u, urgency) in urgencies.iter().enumerate() {
                rules.push(Rule {
                    impact: impact.clone(),
                    urgency: urgency.clone(),
                    severity: grid[i][u].to_string(),
                });
            }
        }
        RawMatrix {
            impacts,
            urgencies,
            rules,
        }
    }
}

/// Why a `severity_matrix` cannot be used; the config names the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MatrixError {
    #[error("has no {0}: list at least one")]
    Empty(&'static str),
    #[error("has more than 25 {0} (a select holds 100 options, keep it short)")]
    TooMany(&'static str),
    #[error("lists `{0}` twice, or an empty or over-75-character name")]
    BadName(String),
    #[error("has a rule for impact `{0}`, which is not in `impacts`")]
    UnknownImpact(String),
    #[error("has a rule for urgency `{0}`, which is not in `urgencies`")]
    UnknownUrgency(String),
    #[error("has a rule naming severity `{0}`, which is not one of `severities`")]
    UnknownLevel(String),
    #[error("has two rules for impact `{0}` and urgency `{1}`")]
    Duplicate(String, String),
    #[error("has no rule for impact `{0}` and urgency `{1}`: every pair needs a severity")]
    Missing(String, String),
}

/// The checked matrix: every impact × urgency pair maps to a configured level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeverityMatrix {
    impacts: Vec<String>,
    urgencies: Vec<String>,
    /// `cells[impact][urgency]`: a level name as spelled in `severities`.
    cells: Vec<Vec<SeverityName>>,
}

impl SeverityMatrix {
    pub fn new(raw: RawMatrix, levels: &SeverityCatalog) -> Result<Self, MatrixError> {
        for (what, names) in [("impacts", &raw.impacts), ("urgencies", &raw.urgencies)] {
            if names.is_empty() {
                return Err(MatrixError::Empty(what));
            }
            if names.len() > 25 {
                return Err(MatrixError::TooMany(what));
            }
            let mut seen = std::collections::HashSet::new();
            for n in names {
                let t = n.trim();
                if t.is_empty() || t.chars().count() > 75 || !seen.insert(t.to_lowercase()) {
                    return Err(MatrixError::BadName(n.clone()));
                }
            }
        }
        let impacts: Vec<String> = raw.impacts.iter().map(|s| s.trim().to_string()).collect();
        let urgencies: Vec<String> = raw.urgencies.iter().map(|s| s.trim().to_string()).collect();
        let find = |list: &[String], name: &str| {
            list.iter()
                .position(|x| x.eq_ignore_ascii_case(name.trim()))
        };
        let mut cells: Vec<Vec<Option<SeverityName>>> =
            vec![vec![None; urgencies.len()]; impacts.len()];
        for rule in raw.rules {
            let i = find(&impacts, &rule.impact)
                .ok_or_else(|| MatrixError::UnknownImpact(rule.impact.clone()))?;
            let u = find(&urgencies, &rule.urgency)
                .ok_or_else(|| MatrixError::UnknownUrgency(rule.urgency.clone()))?;
            let level = levels
                .resolve(&rule.severity)
                .map_err(|_| MatrixError::UnknownLevel(rule.severity.clone()))?;
            if cells[i][u].is_some() {
                return Err(MatrixError::Duplicate(
                    impacts[i].clone(),
                    urgencies[u].clone(),
                ));
            }
            cells[i][u] = Some(level.name.clone());
        }
        let mut checked = Vec::with_capacity(impacts.len());
        for (i, row) in cells.into_iter().enumerate() {
            let mut out = Vec::with_capacity(row.len());
            for (u, cell) in row.into_iter().enumerate() {
                out.push(cell.ok_or_else(|| {
                    MatrixError::Missing(impacts[i].clone(), urgencies[u].clone())
                })?);
            }
            checked.push(out);
        }
        Ok(SeverityMatrix {
            impacts,
            urgencies,
            cells: checked,
        })
    }

    pub fn impacts(&self) -> &[String] {
        &self.impacts
    }

    pub fn urgencies(&self) -> &[String] {
        &self.urgencies
    }

    /// Reads two answers as sent back by a form: `None` unless both are
    /// among the configured options (a stale form after a config change).
    pub fn assess(&self, impact: &str, urgency: &str) -> Option<Assessment> {
        let impact = self.impacts.iter().find(|x| x.as_str() == impact)?;
        let urgency = self.urgencies.iter().find(|x| x.as_str() == urgency)?;
        Some(Assessment {
            impact: impact.clone(),
            urgency: urgency.clone(),
        })
    }

    /// The level the matrix suggests for these answers.
    pub fn suggest(&self, a: &Assessment) -> Option<&SeverityName> {
        let i = self.impacts.iter().position(|x| *x == a.impact)?;
        let u = self.urgencies.iter().position(|x| *x == a.urgency)?;
        Some(&self.cells[i][u])
    }
}

/// What a form's answers decide: the override wins; otherwise the
/// matrix's suggestion; otherwise nothing (the form asks for more).
pub fn decide(
    matrix: &SeverityMatrix,
    chosen: Option<&SeverityName>,
    assessment: Option<&Assessment>,
) -> Option<SeverityName> {
    chosen
        .or_else(|| assessment.and_then(|a| matrix.suggest(a)))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> SeverityCatalog {
        SeverityCatalog::new(SeverityCatalog::defaults()).unwrap()
    }

    fn default_matrix() -> SeverityMatrix {
        SeverityMatrix::new(RawMatrix::default(), &levels()).unwrap()
    }

    #[test]
    fn suggests_from_the_default_grid() {
        let m = default_matrix();
        for (impact, urgency, want) in [
            ("All customers", "Getting worse", "SEV1"),
            ("All customers", "No deadline", "SEV2"),
            ("Some customers", "Getting worse", "SEV1"),
            ("Some customers", "Stable", "SEV2"),
            ("Some customers", "No deadline", "SEV3"),
            ("Internal only", "Getting worse", "SEV2"),
            ("Internal only", "No deadline", "SEV3"),
        ] {
            let a = m.assess(impact, urgency).unwrap();
            assert_eq!(
                m.suggest(&a).map(|l| l.as_str()),
                Some(want),
                "{impact} × {urgency}"
            );
        }
        assert_eq!(m.assess("Everyone", "Stable"), None);
    }

    #[test]
    fn the_override_wins_over_the_suggestion() {
        let m = default_matrix();
        let a = m.assess("Internal only", "No deadline").unwrap();
        assert_eq!(
            decide(&m, Some(&SeverityName::new("SEV1")), Some(&a)),
            Some(SeverityName::new("SEV1"))
        );
        assert_eq!(decide(&m, None, Some(&a)), Some(SeverityName::new("SEV3")));
        assert_eq!(decide(&m, None, None), None);
    }

    #[test]
    fn rules_name_levels_case_insensitively_and_store_their_spelling() {
        let mut raw = RawMatrix::default();
        raw.rules[0].severity = "sev2".into();
        let m = SeverityMatrix::new(raw, &levels()).unwrap();
        let a = m.assess("All customers", "Getting worse").unwrap();
        assert_eq!(m.suggest(&a).map(|l| l.as_str()), Some("SEV2"));
    }

    #[test]
    fn refuses_unknown_names_missing_and_duplicate_pairs() {
        let mut raw = RawMatrix::default();
        raw.rules[0].impact = "Everyone".into();
        assert_eq!(
            SeverityMatrix::new(raw, &levels()),
            Err(MatrixError::UnknownImpact("Everyone".into()))
        );
        let mut raw = RawMatrix::default();
        raw.rules[0].urgency = "Soon".into();
        assert_eq!(
            SeverityMatrix::new(raw, &levels()),
            Err(MatrixError::UnknownUrgency("Soon".into()))
        );
        let mut raw = RawMatrix::default();
        raw.rules[0].severity = "SEV9".into();
        assert_eq!(
            SeverityMatrix::new(raw, &levels()),
            Err(MatrixError::UnknownLevel("SEV9".into()))
        );
        let mut raw = RawMatrix::default();
        raw.rules.pop();
        assert_eq!(
            SeverityMatrix::new(raw, &levels()),
            Err(MatrixError::Missing(
                "Internal only".into(),
                "No deadline".into()
            ))
        );
        let mut raw = RawMatrix::default();
        let first = raw.rules[0].clone();
        raw.rules.push(first);
        assert!(matches!(
            SeverityMatrix::new(raw, &levels()),
            Err(MatrixError::Duplicate(..))
        ));
        let raw = RawMatrix {
            impacts: vec![],
            ..RawMatrix::default()
        };
        assert_eq!(
            SeverityMatrix::new(raw, &levels()),
            Err(MatrixError::Empty("impacts"))
        );
    }
}
