//! Incident metrics (time to detect, mitigate and resolve; total duration) and
//! their aggregation for `/incident stats`. Pure.
//!
//! - time to detect   = detected (an alert's first firing, a "detected"
//!   tag; else declared) − impact started
//! - time to mitigate = mitigated − declared
//! - time to resolve  = resolved − declared
//! - total duration   = resolved − impact started (declared when unknown)

use super::Incident;
use chrono::Duration;

/// One metric: its value, or which input is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub value: Result<Duration, &'static str>,
}

pub fn metrics(i: &Incident) -> [Metric; 4] {
    let between = |from: Option<chrono::DateTime<chrono::Utc>>,
                   to: Option<chrono::DateTime<chrono::Utc>>,
                   missing_from: &'static str,
                   missing_to: &'static str| match (from, to) {
        (Some(f), Some(t)) => Ok((t - f).max(Duration::zero())),
        (None, _) => Err(missing_from),
        (_, None) => Err(missing_to),
    };
    let declared = Some(i.declared_at);
    // Detection is what the process starts from: the first alert, or a
    // "detected" tag, when it came before the declaration.
    let detected = i
        .detected_at
        .map_or(i.declared_at, |d| d.min(i.declared_at));
    [
        Metric {
            name: "Time to detect",
            value: between(
                i.impact_started_at,
                Some(detected),
                "impact start not recorded",
                "",
            ),
        },
        Metric {
            name: "Time to mitigate",
            value: between(declared, i.mitigated_at, "", "not mitigated yet"),
        },
        Metric {
            name: "Time to resolve",
            value: between(declared, i.resolved_at, "", "not resolved yet"),
        },
        Metric {
            name: "Total duration",
            value: between(
                i.impact_started_at.or(declared),
                i.resolved_at,
                "",
                "not resolved yet",
            ),
        },
    ]
}

/// `1h 05m`, `12m`, `45s`.
pub fn human(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{sec}s"),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h {m:02}m"),
    }
}

/// Mean and median of some durations (`None` when there are none).
pub fn mean_median(mut values: Vec<Duration>) -> Option<(Duration, Duration)> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let n = values.len();
    let total: i64 = values.iter().map(|d| d.num_seconds()).sum();
    let mean = Duration::seconds(total / n as i64);
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        Duration::seconds((values[n / 2 - 1].num_seconds() + values[n / 2].num_seconds()) / 2)
    };
    Some((mean, median))
}

/// What `/incident stats` says about a period, as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Incidents counted (drills are left out by the caller).
    pub incidents: usize,
    /// Each configured level, in catalog order, with its count.
    pub by_severity: Vec<(String, usize)>,
    /// Incidents at a level no longer configured.
    pub other_levels: usize,
    /// Time to detect, to mitigate, to resolve.
    pub times: Vec<TimeStat>,
    pub followups_open: usize,
    pub followups_overdue: usize,
}

/// One time-to metric over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStat {
    /// `time to detect`, …
    pub name: &'static str,
    /// Incidents for which it is known.
    pub known: usize,
    pub mean_median: Option<(Duration, Duration)>,
}

impl Stats {
    /// The statistics of `incidents`, with `followups` (open, overdue).
    pub fn of(
        incidents: &[Incident],
        levels: &super::SeverityCatalog,
        followups: (usize, usize),
    ) -> Stats {
        let by_severity = levels
            .iter()
            .map(|l| {
                (
                    l.name.to_string(),
                    incidents.iter().filter(|i| i.severity == l.name).count(),
                )
            })
            .collect();
        let other_levels = incidents
            .iter()
            .filter(|i| levels.resolve(i.severity.as_str()).is_err())
            .count();
        let all: Vec<_> = incidents.iter().map(metrics).collect();
        let times = ["time to detect", "time to mitigate", "time to resolve"]
            .into_iter()
            .enumerate()
            .map(|(k, name)| {
                let known: Vec<Duration> = all.iter().filter_map(|m| m[k].value.ok()).collect();
                TimeStat {
                    name,
                    known: known.len(),
                    mean_median: mean_median(known),
                }
            })
            .collect();
        Stats {
            incidents: incidents.len(),
            by_severity,
            other_levels,
            times,
            followups_open: followups.0,
            followups_overdue: followups.1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::seconds(45)), "45s");
        assert_eq!(human(Duration::minutes(12)), "12m");
        assert_eq!(human(Duration::minutes(65)), "1h 05m");
    }

    #[test]
    fn mean_and_median() {
        assert_eq!(mean_median(vec![]), None);
        let m = |x| Duration::minutes(x);
        assert_eq!(mean_median(vec![m(10), m(30), m(20)]), Some((m(20), m(20))));
        assert_eq!(
            mean_median(vec![m(10), m(20), m(30), m(100)]),
            Some((m(40), m(25)))
        );
    }
}
