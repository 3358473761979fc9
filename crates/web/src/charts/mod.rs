//! Server-side SVG charts for the statistician dashboard, and each chart's
//! data as CSV.
//!
//! Every function here is pure: plain input structs in, a `String` out, no
//! I/O and no state, so a page handler, a download handler and a test get
//! the same bytes for the same input. The structs are independent of the
//! rest of the crate; the page code fills them from
//! `literacy_core::estimate::Estimate` and the progress data. Shares are
//! fractions (0.15 for 15%) everywhere.
//!
//! The SVG is written by hand:
//! - sizes live in a `viewBox` (no `width`/`height`), so a chart scales to
//!   its container, phones included;
//! - styling uses presentation attributes only (no `<style>`, no script), so
//!   the charts work offline, inline in a page under a strict
//!   Content-Security-Policy, and as standalone downloaded files;
//! - every chart has `role="img"`, a `<title>` and a `<desc>` that states
//!   the numbers in words, and each mark its own `<title>` (a tooltip);
//! - all text is escaped for XML, and characters XML cannot carry are
//!   replaced, so a label can never break the document;
//! - non-finite numbers and empty input never panic: the chart is drawn
//!   with a message instead.
//!
//! Suppressed estimates (unreliable under the reliability standard) are
//! drawn hollow and grey and named in the legend; they stay in the CSV with
//! `suppressed = true`, since the dashboard is for statisticians.

mod axis;
mod dotplot;
mod svg;
mod table;
mod trend;

pub use table::{breakdown_to_csv, shares_to_csv, targets_to_csv, trend_to_csv};

use dotplot::{DotPlot, Line, PlotRow};

pub use crate::lang::Lang;

/// One estimated share: a province, a group's category or the nation.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRow {
    /// Stable key (a GB/T 2260 province code, a category code); written as `data-key`.
    pub key: String,
    /// The label in Chinese.
    pub label_zh: String,
    /// The label in English.
    pub label_en: String,
    /// The estimated share, as a fraction.
    pub estimate: f64,
    /// Lower confidence limit, as a fraction (NaN when unknown).
    pub ci_low: f64,
    /// Upper confidence limit, as a fraction (NaN when unknown).
    pub ci_high: f64,
    /// Sampled respondents behind the estimate.
    pub n: usize,
    /// Not to be published under the reliability standard: drawn hollow and grey.
    pub suppressed: bool,
}

impl ShareRow {
    /// The label in `lang`, falling back to the other language when empty.
    pub fn label(&self, lang: Lang) -> &str {
        pick_label(lang, &self.label_zh, &self.label_en, &self.key)
    }

    fn plot_row(&self, lang: Lang, group: Option<&str>) -> PlotRow {
        PlotRow {
            key: self.key.clone(),
            group: group.map(str::to_owned),
            label: self.label(lang).to_owned(),
            estimate: self.estimate,
            ci_low: self.ci_low,
            ci_high: self.ci_high,
            n: Some(self.n),
            suppressed: self.suppressed,
        }
    }
}

/// One breakdown variable (sex, urban/rural, age group, education) and its categories.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Stable key of the variable (`sex`, `age_group`); written as `data-group`.
    pub key: String,
    /// The variable's name in Chinese.
    pub label_zh: String,
    /// The variable's name in English.
    pub label_en: String,
    /// Its categories, drawn in the order given (the natural order of the codes).
    pub rows: Vec<ShareRow>,
}

impl Group {
    /// The name in `lang`, falling back to the other language when empty.
    pub fn label(&self, lang: Lang) -> &str {
        pick_label(lang, &self.label_zh, &self.label_en, &self.key)
    }
}

/// A national target: a share to be reached by a year under a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetLine {
    /// The plan's id (targets of one plan share a colour and, in the trend, a line).
    pub plan: String,
    /// The year by which the share is to be reached.
    pub year: i32,
    /// The share, as a fraction.
    pub share: f64,
    /// The label drawn; empty for the default (`2025 目标 15%`, `2025 target 15%`).
    pub label: String,
}

impl TargetLine {
    /// A target with the default label.
    pub fn new(plan: &str, year: i32, share: f64) -> TargetLine {
        TargetLine {
            plan: plan.to_owned(),
            year,
            share,
            label: String::new(),
        }
    }

    /// The label drawn in `lang`: `label` if set, else `2025 目标 15%` / `2025 target 15%`.
    pub fn text(&self, lang: Lang) -> String {
        if !self.label.is_empty() {
            return self.label.clone();
        }
        let share = svg::pct_trim(self.share);
        lang.msgf(
            "chart.target_label",
            &[("year", &self.year), ("share", &share)],
        )
    }
}

/// Where a trend point comes from, so that a published figure and this
/// service's estimate for the same year can be told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrendSource {
    /// A published national figure, with where it was published.
    Published(String),
    /// This service's estimate of the stored round with this code.
    Round(String),
}

impl TrendSource {
    /// `published` or `estimate`: the CSV's `series` column.
    pub fn series(&self) -> &'static str {
        match self {
            TrendSource::Published(_) => "published",
            TrendSource::Round(_) => "estimate",
        }
    }

    /// The publication, or the round's code: the CSV's `source` column.
    pub fn name(&self) -> &str {
        match self {
            TrendSource::Published(s) | TrendSource::Round(s) => s,
        }
    }
}

/// One survey round's share in a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The round's year.
    pub year: i32,
    /// A published figure or one of the service's rounds.
    pub source: TrendSource,
    /// The estimated share, as a fraction.
    pub estimate: f64,
    /// Lower confidence limit (NaN when not published, as for early rounds).
    pub ci_low: f64,
    /// Upper confidence limit (NaN when not published).
    pub ci_high: f64,
    /// Sampled respondents, when known.
    pub n: Option<usize>,
    /// Not to be published under the reliability standard: drawn hollow and grey.
    pub suppressed: bool,
}

/// The texts around a chart: its language, and optionally a title and a source line.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// The language of every text the chart draws.
    pub lang: Lang,
    /// The title; `None` (or blank) for the chart's default title.
    pub title: Option<String>,
    /// A source line drawn under the chart (survey, round, date).
    pub source: Option<String>,
    /// The intervals' confidence level (0.95), named in the legend when set.
    pub ci_level: Option<f64>,
    /// Width of the viewBox in user units (default 760; 360 to 1600): a
    /// narrower layout keeps text legible on phones.
    pub width: Option<f64>,
}

impl Labels {
    /// Default title, no source line.
    pub fn new(lang: Lang) -> Labels {
        Labels {
            lang,
            title: None,
            source: None,
            ci_level: None,
            width: None,
        }
    }

    /// With this title.
    pub fn with_title(mut self, title: &str) -> Labels {
        self.title = Some(title.to_owned());
        self
    }

    /// With the intervals' confidence level (0.95 for 95%).
    pub fn with_ci_level(mut self, level: f64) -> Labels {
        self.ci_level = Some(level);
        self
    }

    /// Laid out for a viewBox this wide (clamped to 360..=1600).
    pub fn with_width(mut self, width: f64) -> Labels {
        self.width = Some(width);
        self
    }

    /// With this source line.
    pub fn with_source(mut self, source: &str) -> Labels {
        self.source = Some(source.to_owned());
        self
    }

    fn chart_width(&self) -> f64 {
        match self.width {
            Some(w) if w.is_finite() => w.clamp(svg::MIN_WIDTH, svg::MAX_WIDTH),
            _ => svg::DEFAULT_WIDTH,
        }
    }

    fn title_or(&self, default: &str) -> String {
        match &self.title {
            Some(t) if !t.trim().is_empty() => t.clone(),
            _ => default.to_owned(),
        }
    }
}

fn pick_label<'a>(lang: Lang, zh: &'a str, en: &'a str, key: &'a str) -> &'a str {
    let (first, second) = match lang {
        Lang::Zh => (zh, en),
        Lang::En => (en, zh),
    };
    [first, second, key]
        .into_iter()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("")
}

/// Every province's share with its confidence interval, sorted from the
/// highest share down, against the national share and the targets.
///
/// Rows without a finite estimate are listed at the bottom with "no
/// estimate"; no finite estimate at all gives a chart with a message.
pub fn province_chart(
    rows: &[ShareRow],
    national: Option<&ShareRow>,
    targets: &[TargetLine],
    labels: &Labels,
) -> String {
    let lang = labels.lang;
    let mut sorted: Vec<&ShareRow> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        let (fa, fb) = (a.estimate.is_finite(), b.estimate.is_finite());
        fb.cmp(&fa)
            .then_with(|| {
                if fa && fb {
                    b.estimate.total_cmp(&a.estimate)
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| a.key.cmp(&b.key))
    });
    let lines: Vec<Line> = sorted
        .iter()
        .map(|r| Line::Row(r.plot_row(lang, None)))
        .collect();
    let desc = dotplot::describe_sorted(lang, &lines, national);
    let title = lang.msg("chart.title_province");
    dot_plot("province", title, desc, lines, national, targets, labels).render()
}

/// The national share with its confidence interval against the targets
/// (for example 10% by 2020 and 20% by 2035; 15% by 2025 and 25% by 2035).
pub fn national_chart(national: &ShareRow, targets: &[TargetLine], labels: &Labels) -> String {
    let lang = labels.lang;
    let lines = vec![Line::Row(national.plot_row(lang, None))];
    let desc = dotplot::describe_national(lang, national, targets);
    let title = lang.msg("chart.title_national");
    DotPlot {
        row_height: 44.0,
        radius: 7.0,
        ..dot_plot("national", title, desc, lines, None, targets, labels)
    }
    .render()
}

/// Shares by group (sex, urban/rural, age group, education): one block per
/// group, its categories in the order given, each a dot with its interval,
/// against the national share and the targets.
pub fn breakdown_chart(
    groups: &[Group],
    national: Option<&ShareRow>,
    targets: &[TargetLine],
    labels: &Labels,
) -> String {
    let lang = labels.lang;
    let mut lines = Vec::new();
    for g in groups.iter().filter(|g| !g.rows.is_empty()) {
        lines.push(Line::Heading {
            key: g.key.clone(),
            label: g.label(lang).to_owned(),
        });
        for r in &g.rows {
            lines.push(Line::Row(r.plot_row(lang, Some(&g.key))));
        }
    }
    let desc = dotplot::describe_groups(lang, groups, national);
    let title = lang.msg("chart.title_breakdown");
    dot_plot("breakdown", title, desc, lines, national, targets, labels).render()
}

/// A dot plot of `lines` against the national share and the targets, as
/// `labels` ask (their title, else `default_title`), in rows of the usual
/// height.
fn dot_plot<'a>(
    kind: &'static str,
    default_title: &str,
    desc: String,
    lines: Vec<Line>,
    national: Option<&ShareRow>,
    targets: &'a [TargetLine],
    labels: &'a Labels,
) -> DotPlot<'a> {
    let lang = labels.lang;
    DotPlot {
        kind,
        lang,
        title: labels.title_or(default_title),
        source: labels.source.as_deref(),
        desc,
        lines,
        national: national_line(national, lang),
        targets,
        row_height: 20.0,
        radius: 4.5,
        ci_level: labels.ci_level,
        width: labels.chart_width(),
        axis_caption: lang.msg("chart.axis").to_owned(),
    }
}

/// The share by survey round year with its intervals, and the targets as
/// points joined by plan.
pub fn trend_chart(points: &[TrendPoint], targets: &[TargetLine], labels: &Labels) -> String {
    let lang = labels.lang;
    let title = labels.title_or(lang.msg("chart.title_trend"));
    trend::render(points, targets, labels, &title, lang.msg("chart.axis"))
}

fn national_line(national: Option<&ShareRow>, lang: Lang) -> Option<(String, f64)> {
    let n = national?;
    if !n.estimate.is_finite() {
        return None;
    }
    Some((
        format!("{} {}", n.label(lang), svg::pct(n.estimate)),
        n.estimate,
    ))
}
