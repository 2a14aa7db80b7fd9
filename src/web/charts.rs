//! The insights page's figures and their charts: incidents per week by
//! severity, time to detect / mitigate / resolve per month (median and
//! p90), follow-ups opened and done per month. The figures are pure
//! (tested as such); the charts are SVG drawn by `plotters` on the server,
//! and each chart's numbers are also given beside it as a table.

use crate::domain::followups::Followup;
use crate::domain::metrics::metrics;
use crate::domain::{Incident, SeverityName};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use plotters::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// Incidents declared in one week, by level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Week {
    /// Its Monday.
    pub start: NaiveDate,
    /// One count per configured level, in the catalogue's order.
    pub counts: Vec<u32>,
}

/// Median and p90 of one metric in one month, in minutes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthTimes {
    pub month: String,
    /// Time to detect, mitigate, resolve: (median, p90), `None` when no
    /// incident of the month has it.
    pub detect: Option<(f64, f64)>,
    pub mitigate: Option<(f64, f64)>,
    pub resolve: Option<(f64, f64)>,
}

/// Follow-ups of one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthFollowups {
    pub month: String,
    pub opened: u32,
    pub done: u32,
}

/// Everything the page shows.
#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    pub levels: Vec<String>,
    pub weeks: Vec<Week>,
    pub months: Vec<MonthTimes>,
    pub followups: Vec<MonthFollowups>,
    pub overdue: u32,
}

/// The Monday of the week `at` falls in, where the team is (`tz`).
fn monday(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    crate::domain::monday_of(at.with_timezone(&tz).date_naive())
}

/// `2026-11`: the month `at` falls in, where the team is.
fn month(at: DateTime<Utc>, tz: Tz) -> String {
    let at = at.with_timezone(&tz);
    format!("{}-{:02}", at.year(), at.month())
}

/// The value at quantile `q` (nearest rank) of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median_p90(mut v: Vec<f64>) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some((quantile(&v, 0.5), quantile(&v, 0.9)))
}

/// The figures of `incidents` (those the reader may see, declared since
/// `since`), drills left out, and of `followups`; weeks and months as the
/// team's clock (`tz`) has them.
pub fn figures(
    incidents: &[Incident],
    followups: &[Followup],
    levels: &[SeverityName],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Figures {
    let today = now.with_timezone(&tz).date_naive();
    let real: Vec<&Incident> = incidents.iter().filter(|i| !i.drill).collect();
    let mut weeks = Vec::new();
    let mut start = monday(since, tz);
    while start <= today {
        weeks.push(Week {
            start,
            counts: vec![0; levels.len()],
        });
        start += Duration::days(7);
    }
    for i in &real {
        let week = monday(i.declared_at, tz);
        if let (Some(w), Some(level)) = (
            weeks.iter_mut().find(|w| w.start == week),
            levels.iter().position(|l| *l == i.severity),
        ) {
            w.counts[level] += 1;
        }
    }
    let mut by_month: BTreeMap<String, [Vec<f64>; 3]> = BTreeMap::new();
    for i in &real {
        let m = metrics(i);
        let slot = by_month.entry(month(i.declared_at, tz)).or_default();
        for (k, metric) in m.iter().take(3).enumerate() {
            if let Ok(d) = metric.value {
                slot[k].push(d.num_seconds() as f64 / 60.0);
            }
        }
    }
    let months = by_month
        .into_iter()
        .map(|(month, [d, m, r])| MonthTimes {
            month,
            detect: median_p90(d),
            mitigate: median_p90(m),
            resolve: median_p90(r),
        })
        .collect();
    let mut opened: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for f in followups {
        if f.created_at >= since {
            opened.entry(month(f.created_at, tz)).or_default().0 += 1;
        }
        if let Some(done) = f.done_at.filter(|d| *d >= since) {
            opened.entry(month(done, tz)).or_default().1 += 1;
        }
    }
    Figures {
        levels: levels.iter().map(|l| l.as_str().to_string()).collect(),
        weeks,
        months,
        followups: opened
            .into_iter()
            .map(|(month, (opened, done))| MonthFollowups {
                month,
                opened,
                done,
            })
            .collect(),
        overdue: followups.iter().filter(|f| f.is_overdue(today)).count() as u32,
    }
}

const SIZE: (u32, u32) = (720, 300);
const PALETTE: [RGBColor; 6] = [
    RGBColor(192, 57, 43),
    RGBColor(230, 126, 34),
    RGBColor(241, 196, 15),
    RGBColor(39, 174, 96),
    RGBColor(41, 128, 185),
    RGBColor(142, 68, 173),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Draws into an SVG string; an error leaves a chart that says so.
fn svg(
    draw: impl FnOnce(DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    let mut out = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw(root)
    };
    match result {
        Ok(()) => out,
        Err(e) => {
            tracing::warn!(error = %e, "a chart could not be drawn");
            String::new()
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Stacked bars: incidents per week, one colour per level.
pub fn weeks_chart(f: &Figures) -> String {
    svg(|root| {
        root.fill(&WHITE).map_err(err)?;
        let top = f
            .weeks
            .iter()
            .map(|w| w.counts.iter().sum::<u32>())
            .max()
            .unwrap_or(0)
            .max(1);
        let n = f.weeks.len().max(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0u32..n, 0u32..top + 1)
            .map_err(err)?;
        let labels: Vec<String> = f
            .weeks
            .iter()
            .map(|w| w.start.format("%b %d").to_string())
            .collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(labels.len().clamp(1, 12))
            .x_label_formatter(&|x| labels.get(*x as usize).cloned().unwrap_or_default())
            .y_desc("incidents")
            .draw()
            .map_err(err)?;
        for (x, w) in f.weeks.iter().enumerate() {
            let mut base = 0;
            for (level, count) in w.counts.iter().enumerate() {
                if *count == 0 {
                    continue;
                }
                let x = x as u32;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, base), (x + 1, base + count)],
                        color(level).filled(),
                    )))
                    .map_err(err)?;
                base += count;
            }
        }
        root.present().map_err(err)
    })
}

/// Lines: median (solid) and p90 (thin) minutes per month, per metric.
pub fn times_chart(f: &Figures) -> String {
    svg(|root| {
        root.fill(&WHITE).map_err(err)?;
        let pick = |m: &MonthTimes, k: usize| match k {
            0 => m.detect,
            1 => m.mitigate,
            _ => m.resolve,
        };
        let top = f
            .months
            .iter()
            .flat_map(|m| (0..3).filter_map(move |k| pick(m, k).map(|(_, p)| p)))
            .fold(1.0_f64, f64::max);
        let n = f.months.len().max(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0u32..n, 0.0..top * 1.1)
            .map_err(err)?;
        let labels: Vec<String> = f.months.iter().map(|m| m.month.clone()).collect();
        chart
            .configure_mesh()
            .x_labels(labels.len().clamp(1, 12))
            .x_label_formatter(&|x| labels.get(*x as usize).cloned().unwrap_or_default())
            .y_desc("minutes")
            .draw()
            .map_err(err)?;
        for k in 0..3 {
            let points = |q: usize| -> Vec<(u32, f64)> {
                f.months
                    .iter()
                    .enumerate()
                    .filter_map(|(x, m)| {
                        pick(m, k).map(|v| (x as u32, if q == 0 { v.0 } else { v.1 }))
                    })
                    .collect()
            };
            chart
                .draw_series(LineSeries::new(points(0), color(k).stroke_width(3)))
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(points(1), color(k).stroke_width(1)))
                .map_err(err)?;
        }
        root.present().map_err(err)
    })
}

/// Side-by-side bars: follow-ups opened and done per month.
pub fn followups_chart(f: &Figures) -> String {
    svg(|root| {
        root.fill(&WHITE).map_err(err)?;
        let top = f
            .followups
            .iter()
            .map(|m| m.opened.max(m.done))
            .max()
            .unwrap_or(0)
            .max(1);
        let n = f.followups.len().max(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0u32..n * 2, 0u32..top + 1)
            .map_err(err)?;
        let labels: Vec<String> = f.followups.iter().map(|m| m.month.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels((labels.len() * 2).clamp(1, 24))
            .x_label_formatter(&|x| {
                if x % 2 == 0 {
                    labels.get(*x as usize / 2).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("follow-ups")
            .draw()
            .map_err(err)?;
        for (x, m) in f.followups.iter().enumerate() {
            let x = x as u32 * 2;
            chart
                .draw_series([
                    Rectangle::new([(x, 0), (x + 1, m.opened)], color(4).filled()),
                    Rectangle::new([(x + 1, 0), (x + 2, m.done)], color(3).filled()),
                ])
                .map_err(err)?;
        }
        root.present().map_err(err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn medians_and_p90_by_nearest_rank() {
        assert_eq!(median_p90(vec![]), None);
        assert_eq!(median_p90(vec![5.0]), Some((5.0, 5.0)));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(median_p90(ten), Some((5.0, 9.0)));
    }

    #[test]
    fn weeks_and_months_are_the_teams() {
        let at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        let incident = |number: i64, declared_at: DateTime<Utc>, drill: bool| Incident {
            drill,
            ..crate::domain::sample_incident(number, declared_at)
        };
        // Monday 2026-11-30 03:00 UTC is still Sunday evening in Los
        // Angeles, and Tuesday 2026-12-01 03:00 UTC still November there.
        let incidents = [
            incident(1, at(2026, 11, 30, 3), false),
            incident(2, at(2026, 12, 2, 12), true),
            incident(3, at(2026, 12, 1, 3), false),
        ];
        let levels = [SeverityName::new("SEV1"), SeverityName::new("SEV2")];
        let since = at(2026, 11, 23, 8);
        let now = at(2026, 12, 7, 20);
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let f = figures(&incidents, &[], &levels, since, now, la);
        let week = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert_eq!(
            f.weeks
                .iter()
                .map(|w| (w.start, w.counts.clone()))
                .collect::<Vec<_>>(),
            [
                (week(23), vec![0, 1]),
                (week(30), vec![0, 1]),
                (NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), vec![0, 0])
            ],
            "the drill left out"
        );
        let months: Vec<&str> = f.months.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(months, ["2026-11"]);
        assert_eq!(f.months[0].resolve, Some((30.0, 30.0)));
        // In UTC both are in the week of the 30th, the second in December.
        let f = figures(&incidents, &[], &levels, since, now, chrono_tz::UTC);
        assert_eq!(f.weeks[0].counts, vec![0, 0]);
        assert_eq!(f.weeks[1].counts, vec![0, 2]);
        let months: Vec<&str> = f.months.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(months, ["2026-11", "2026-12"]);
    }

    #[test]
    fn the_charts_are_svg() {
        let f = Figures {
            levels: vec!["SEV1".into(), "SEV2".into()],
            weeks: vec![Week {
                start: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                counts: vec![1, 2],
            }],
            months: vec![MonthTimes {
                month: "2026-11".into(),
                detect: Some((3.0, 9.0)),
                mitigate: Some((20.0, 40.0)),
                resolve: None,
            }],
            followups: vec![MonthFollowups {
                month: "2026-11".into(),
                opened: 3,
                done: 1,
            }],
            overdue: 0,
        };
        for svg in [weeks_chart(&f), times_chart(&f), followups_chart(&f)] {
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(svg.contains("<rect") || svg.contains("<polyline"), "{svg}");
        }
        // Nothing in the period: empty charts, drawn all the same.
        let empty = Figures {
            levels: vec!["SEV1".into()],
            weeks: vec![],
            months: vec![],
            followups: vec![],
            overdue: 0,
        };
        for svg in [
            weeks_chart(&empty),
            times_chart(&empty),
            followups_chart(&empty),
        ] {
            assert!(svg.starts_with("<svg"), "{svg}");
        }
    }
}
