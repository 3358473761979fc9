//! The horizontal dot plot behind the province, national and breakdown
//! charts: one row per estimate (a dot and its interval as a whisker),
//! optional group headings, vertical reference lines for the national share
//! and the targets, a percent axis at the bottom.

use super::axis::{Axis, Scale};
use super::svg::{self, BAND, ESTIMATE, GRID, INK, Key, MUTED, N, NATIONAL, SUPPRESSED, Svg, pct};
use super::{Group, Lang, ShareRow, TargetLine};

/// One estimate to draw, its label already in the chart's language.
#[derive(Debug, Clone)]
pub(crate) struct PlotRow {
    pub key: String,
    pub group: Option<String>,
    pub label: String,
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub n: Option<usize>,
    pub suppressed: bool,
}

impl PlotRow {
    fn has_ci(&self) -> bool {
        self.ci_low.is_finite() && self.ci_high.is_finite()
    }
}

/// A line of the plot, top to bottom.
#[derive(Debug, Clone)]
pub(crate) enum Line {
    /// A group's name above its rows.
    Heading { key: String, label: String },
    /// An estimate.
    Row(PlotRow),
}

/// Everything a dot plot draws.
pub(crate) struct DotPlot<'a> {
    pub kind: &'static str,
    pub lang: Lang,
    pub title: String,
    pub source: Option<&'a str>,
    pub desc: String,
    pub lines: Vec<Line>,
    /// The national line's label and share.
    pub national: Option<(String, f64)>,
    pub targets: &'a [TargetLine],
    pub row_height: f64,
    pub radius: f64,
    /// Width of the viewBox.
    pub width: f64,
    /// The intervals' confidence level, named in the legend.
    pub ci_level: Option<f64>,
    pub axis_caption: String,
}

/// A vertical reference line.
struct Ref {
    x: f64,
    text: String,
    tooltip: String,
    /// `None` for the national line, else the plan's index.
    plan: Option<usize>,
    plan_id: String,
    year: i32,
}

const LANE: f64 = 15.0;

/// The horizontal layout: the scale, the plot's ends, the label column.
#[derive(Clone, Copy)]
struct Geometry {
    scale: Scale,
    x0: f64,
    x1: f64,
    label_w: f64,
}

impl DotPlot<'_> {
    /// The chart as an SVG document.
    pub fn render(self) -> String {
        let lang = self.lang;
        let width = self.width;
        let rows: Vec<&PlotRow> = self
            .lines
            .iter()
            .filter_map(|l| match l {
                Line::Row(r) => Some(r),
                Line::Heading { .. } => None,
            })
            .collect();
        if !rows.iter().any(|r| r.estimate.is_finite()) {
            let message = if rows.is_empty() {
                lang.msg("chart.no_estimates")
            } else {
                lang.msg("chart.no_finite")
            };
            return svg::message_chart(self.kind, lang, width, &self.title, message, self.source);
        }

        // The domain: every finite number drawn, from zero (or below, for a
        // negative Wald limit).
        let mut values: Vec<f64> = Vec::new();
        for r in &rows {
            values.extend([r.estimate, r.ci_low, r.ci_high]);
        }
        values.extend(self.national.iter().map(|n| n.1));
        values.extend(self.targets.iter().map(|t| t.share));
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((0.0_f64, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let Some(axis) = Axis::nice(lo, hi.max(lo), 6, 0.0) else {
            let message = lang.msg("chart.out_of_range");
            return svg::message_chart(self.kind, lang, width, &self.title, message, self.source);
        };

        // Horizontal layout: labels | plot | values. Narrow charts cap the
        // label column harder and print the intervals only in the tooltips
        // if the plot would otherwise get less than ~45% of the width.
        let label_w = rows
            .iter()
            .map(|r| svg::text_width(&r.label, 12.0))
            .fold(0.0, f64::max)
            .clamp(36.0, (width * 0.26).clamp(60.0, 200.0));
        let columns = |with_ci: bool| {
            let texts: Vec<String> = rows.iter().map(|r| value_text(lang, r, with_ci)).collect();
            let w = texts
                .iter()
                .map(|t| svg::text_width(t, 11.0))
                .fold(0.0, f64::max)
                .clamp(36.0, 160.0);
            (texts, w)
        };
        let (mut values_text, mut value_w) = columns(true);
        if width - 56.0 - label_w - value_w < width * 0.45 {
            (values_text, value_w) = columns(false);
        }
        let x0 = 16.0 + label_w + 12.0;
        let x1 = width - 16.0 - value_w - 12.0;
        let scale = Scale {
            d0: axis.lo(),
            d1: axis.hi(),
            r0: x0,
            r1: x1,
        };

        let mut body = Svg::new();
        let mut y = svg::title_block(&mut body, &self.title, 12.0, width);

        let plans = plan_order(self.targets);
        let suppressed = rows.iter().any(|r| r.suppressed);
        y = svg::legend_block(&mut body, &self.legend(&plans, suppressed), y, width);
        let refs = self.refs(&plans, &scale);
        let placed = place_labels(&refs, width);
        let lanes = placed.iter().map(|p| p.lane + 1).max().unwrap_or(0);
        let plot_top = y + lanes as f64 * LANE + 8.0;
        let (centres, plot_bottom) = self.row_centres(plot_top);
        self.draw_bands(&mut body, &centres);
        let geometry = Geometry {
            scale,
            x0,
            x1,
            label_w,
        };
        self.draw_axis(&mut body, &axis, &geometry, (plot_top, plot_bottom));
        draw_refs(&mut body, &refs, &placed, plot_top, plot_bottom);
        let mut values_iter = values_text.iter();
        for (line, c) in self.lines.iter().zip(&centres) {
            match line {
                Line::Heading { key, label } => {
                    body.nl();
                    body.tag("g")
                        .a("class", "group")
                        .a("data-group", key)
                        .open();
                    body.tag("text")
                        .a("class", "group-label")
                        .a("x", "16")
                        .a("y", N(c + 4.0))
                        .a("font-weight", "bold")
                        .text(label);
                    body.close("g");
                }
                Line::Row(r) => {
                    let value = values_iter.next().map(String::as_str).unwrap_or("");
                    self.draw_row(&mut body, r, *c, &geometry, value);
                }
            }
        }

        let notes: Vec<String> = self.source.map(str::to_owned).into_iter().collect();
        let height = svg::notes_block(&mut body, &notes, plot_bottom + 46.0, width) + 12.0;
        svg::document(
            self.kind,
            lang,
            width,
            height,
            &self.title,
            &self.desc,
            &body,
        )
    }

    /// The legend: estimates, suppressed ones if any, the national line,
    /// each plan's targets.
    fn legend(&self, plans: &[String], suppressed: bool) -> Vec<(Key, String)> {
        let lang = self.lang;
        let mut legend = vec![(Key::Estimate, svg::estimate_key(lang, self.ci_level))];
        if suppressed {
            legend.push((Key::Suppressed, lang.msg("chart.suppressed").to_owned()));
        }
        if self.national.is_some() {
            legend.push((Key::National, lang.msg("national").to_owned()));
        }
        for (i, plan) in plans.iter().enumerate() {
            legend.push((Key::TargetLine(i), plan_legend(lang, plan, self.targets)));
        }
        legend
    }

    /// The reference lines: the national share, then every finite target.
    fn refs(&self, plans: &[String], scale: &Scale) -> Vec<Ref> {
        let mut refs = Vec::new();
        if let Some((text, share)) = &self.national {
            refs.push(Ref {
                x: scale.map(*share),
                text: text.clone(),
                tooltip: text.clone(),
                plan: None,
                plan_id: String::new(),
                year: 0,
            });
        }
        for t in self.targets.iter().filter(|t| t.share.is_finite()) {
            let plan = plans.iter().position(|p| *p == t.plan);
            refs.push(Ref {
                x: scale.map(t.share),
                text: t.text(self.lang),
                tooltip: t.text(self.lang),
                plan: Some(plan.unwrap_or(0)),
                plan_id: t.plan.clone(),
                year: t.year,
            });
        }
        refs
    }

    /// Each line's centre, top to bottom from `top`, and the plot's bottom.
    fn row_centres(&self, top: f64) -> (Vec<f64>, f64) {
        let mut centres = Vec::with_capacity(self.lines.len());
        let mut cy = top;
        for (i, line) in self.lines.iter().enumerate() {
            match line {
                Line::Heading { .. } => {
                    let h = self.row_height + if i == 0 { 0.0 } else { 6.0 };
                    centres.push(cy + h - self.row_height / 2.0);
                    cy += h;
                }
                Line::Row(_) => {
                    centres.push(cy + self.row_height / 2.0);
                    cy += self.row_height;
                }
            }
        }
        (centres, cy + 4.0)
    }

    /// A band behind every other row.
    fn draw_bands(&self, body: &mut Svg, centres: &[f64]) {
        body.nl();
        body.tag("g").a("class", "bands").open();
        let rows = self
            .lines
            .iter()
            .zip(centres)
            .filter(|(line, _)| matches!(line, Line::Row(_)));
        for (_, c) in rows.skip(1).step_by(2) {
            body.tag("rect")
                .a("x", "16")
                .a("y", N(c - self.row_height / 2.0))
                .a("width", N(self.width - 32.0))
                .a("height", N(self.row_height))
                .a("fill", BAND)
                .end();
        }
        body.close("g");
    }

    /// The axis: grid lines, tick labels, baseline, caption.
    fn draw_axis(&self, body: &mut Svg, axis: &Axis, g: &Geometry, (top, bottom): (f64, f64)) {
        body.nl();
        body.tag("g").a("class", "axis x").open();
        for t in &axis.ticks {
            let x = N(g.scale.map(*t));
            body.nl();
            body.tag("g").a("class", "tick").open();
            body.tag("line")
                .a("x1", &x)
                .a("x2", &x)
                .a("y1", N(top))
                .a("y2", N(bottom))
                .a("stroke", GRID)
                .end();
            body.tag("text")
                .a("x", &x)
                .a("y", N(bottom + 16.0))
                .a("text-anchor", "middle")
                .a("fill", MUTED)
                .text(&axis.percent_label(*t));
            body.close("g");
        }
        body.nl();
        body.tag("line")
            .a("class", "baseline")
            .a("x1", N(g.x0))
            .a("x2", N(g.x1))
            .a("y1", N(bottom))
            .a("y2", N(bottom))
            .a("stroke", MUTED)
            .end();
        body.nl();
        body.tag("text")
            .a("class", "axis-caption")
            .a("x", N((g.x0 + g.x1) / 2.0))
            .a("y", N(bottom + 36.0))
            .a("text-anchor", "middle")
            .text(&self.axis_caption);
        body.close("g");
    }

    fn draw_row(&self, body: &mut Svg, r: &PlotRow, cy: f64, g: &Geometry, value: &str) {
        let lang = self.lang;
        let finite = r.estimate.is_finite();
        let mut class = String::from("row");
        if r.suppressed {
            class.push_str(" suppressed");
        }
        if !finite {
            class.push_str(" missing");
        }
        body.nl();
        body.tag("g")
            .a("class", class)
            .a("data-key", &r.key)
            .a_opt("data-group", r.group.as_ref())
            .open();
        let tooltip = if finite {
            svg::estimate_tooltip(
                lang,
                &r.label,
                r.estimate,
                (r.ci_low, r.ci_high),
                r.n,
                r.suppressed,
            )
        } else {
            lang.msgf("chart.no_estimate_of", &[("label", &r.label)])
        };
        body.tag("title").text(&tooltip);
        body.tag("text")
            .a("class", "label")
            .a("x", N(g.x0 - 12.0))
            .a("y", N(cy + 4.0))
            .a("text-anchor", "end")
            .text(&svg::fit(&r.label, g.label_w, 12.0));
        let color = if r.suppressed { SUPPRESSED } else { ESTIMATE };
        if finite {
            if r.has_ci() {
                let from = (g.scale.map(r.ci_low.min(r.ci_high)), cy);
                let to = (g.scale.map(r.ci_low.max(r.ci_high)), cy);
                svg::whisker(body, from, to, color);
            }
            svg::dot(
                body,
                (g.scale.map(r.estimate), cy),
                self.radius,
                r.suppressed,
            );
        }
        body.tag("text")
            .a("class", "value")
            .a("x", N(g.x1 + 12.0))
            .a("y", N(cy + 4.0))
            .a("font-size", "11")
            .a("fill", if r.suppressed || !finite { MUTED } else { INK })
            .text(value);
        body.close("g");
    }
}

/// The national and target lines, each with its label in its lane.
fn draw_refs(body: &mut Svg, refs: &[Ref], placed: &[Placed], top: f64, bottom: f64) {
    for (r, p) in refs.iter().zip(placed) {
        let baseline = top - 8.0 - p.lane as f64 * LANE;
        let (class, color, dash) = match r.plan {
            None => ("national", NATIONAL, None),
            Some(i) => {
                let (color, dash) = svg::target_style(i);
                ("target", color, Some(dash))
            }
        };
        let x = N(r.x);
        body.nl();
        body.tag("g")
            .a("class", class)
            .a_opt("data-plan", r.plan.map(|_| &r.plan_id))
            .a_opt("data-year", r.plan.map(|_| r.year))
            .open();
        body.tag("title").text(&r.tooltip);
        body.tag("line")
            .a("class", "ref")
            .a("x1", &x)
            .a("x2", &x)
            .a("y1", N(baseline + 3.0))
            .a("y2", N(bottom))
            .a("stroke", color)
            .a("stroke-width", "1.5")
            .a_opt("stroke-dasharray", dash)
            .end();
        body.tag("text")
            .a("x", N(p.text_x))
            .a("y", N(baseline))
            .a("text-anchor", p.anchor)
            .a("font-size", "11")
            .a("fill", color)
            .halo()
            .text(&r.text);
        body.close("g");
    }
}

/// The number printed right of a row: `24.3% (23.1–25.5)`, or `24.3%`.
fn value_text(lang: Lang, r: &PlotRow, with_ci: bool) -> String {
    if !r.estimate.is_finite() {
        return lang.msg("chart.no_estimate").to_owned();
    }
    match svg::ci_text(r.ci_low, r.ci_high).filter(|_| with_ci) {
        Some(ci) => format!("{} ({ci})", pct(r.estimate)),
        None => pct(r.estimate),
    }
}

/// Plans in order of first appearance.
pub(crate) fn plan_order(targets: &[TargetLine]) -> Vec<String> {
    let mut plans: Vec<String> = Vec::new();
    for t in targets.iter().filter(|t| t.share.is_finite()) {
        if !plans.contains(&t.plan) {
            plans.push(t.plan.clone());
        }
    }
    plans
}

/// A plan's legend entry: `目标：2020 年 10%，2035 年 20%`.
pub(crate) fn plan_legend(lang: Lang, plan: &str, targets: &[TargetLine]) -> String {
    let mut items: Vec<&TargetLine> = targets
        .iter()
        .filter(|t| t.plan == plan && t.share.is_finite())
        .collect();
    items.sort_by_key(|t| t.year);
    let parts: Vec<String> = items
        .iter()
        .map(|t| {
            let share = svg::pct_trim(t.share);
            lang.msgf("chart.plan_item", &[("year", &t.year), ("share", &share)])
        })
        .collect();
    let list = parts.join(lang.msg("list.comma"));
    lang.msgf("chart.targets_legend", &[("list", &list)])
}

/// Where a reference line's label goes.
struct Placed {
    lane: usize,
    text_x: f64,
    anchor: &'static str,
}

/// Label lanes above the plot (lane 0 nearest it). A line runs from its
/// label down to the plot, so a label whose box a line crosses must sit in a
/// higher lane than that line's label, and labels in one lane must not
/// overlap. Labels go right of their line; left of it at the right edge,
/// and also where two labels would each span the other's line (which no
/// choice of lanes could fix).
fn place_labels(refs: &[Ref], width: f64) -> Vec<Placed> {
    let n = refs.len();
    let widths: Vec<f64> = refs
        .iter()
        .map(|r| svg::text_width(&r.text, 11.0))
        .collect();
    let mut left: Vec<bool> = refs
        .iter()
        .zip(&widths)
        .map(|(r, w)| r.x + 4.0 + w > width - 8.0)
        .collect();
    let boxes = |left: &[bool]| -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                let (x, w) = (refs[i].x, widths[i]);
                if left[i] {
                    (x - 4.0 - w, x - 4.0)
                } else {
                    (x + 4.0, x + 4.0 + w)
                }
            })
            .collect()
    };
    // crosses(i, j): line i rises through label j's box.
    let crosses = |b: &[(f64, f64)], i: usize, j: usize| {
        i != j && refs[i].x >= b[j].0 - 3.0 && refs[i].x <= b[j].1 + 3.0
    };
    // Break two-way crossings by moving the left one's label to the left of its line.
    for _ in 0..n {
        let b = boxes(&left);
        let flip = (0..n).find(|&i| {
            !left[i]
                && refs[i].x - 4.0 - widths[i] >= 8.0
                && (0..n).any(|j| crosses(&b, i, j) && crosses(&b, j, i))
        });
        match flip {
            Some(i) => left[i] = true,
            None => break,
        }
    }
    // Place labels in an order where every line crossing a label is placed
    // before it (Kahn's algorithm, left to right among the ready ones; a
    // cycle, possible only where no flip fitted, is broken left to right),
    // each in the lowest lane above those lines that no placed label overlaps.
    let b = boxes(&left);
    let mut lane: Vec<Option<usize>> = vec![None; n];
    for _ in 0..n {
        let ready = |j: usize| (0..n).all(|i| !crosses(&b, i, j) || lane[i].is_some());
        let mut todo: Vec<usize> = (0..n).filter(|&j| lane[j].is_none()).collect();
        todo.sort_by(|a, c| refs[*a].x.total_cmp(&refs[*c].x));
        let Some(&j) = todo.iter().find(|&&j| ready(j)).or(todo.first()) else {
            break;
        };
        let floor = (0..n)
            .filter(|&i| crosses(&b, i, j))
            .filter_map(|i| lane[i].map(|l| l + 1))
            .max()
            .unwrap_or(0);
        let free = |l: usize| {
            (0..n).all(|k| lane[k] != Some(l) || b[k].1 + 6.0 <= b[j].0 || b[j].1 + 6.0 <= b[k].0)
        };
        lane[j] = (floor..floor + n + 1).find(|&l| free(l)).or(Some(floor));
    }
    let lane: Vec<usize> = lane.into_iter().map(|l| l.unwrap_or(0)).collect();
    (0..n)
        .map(|i| Placed {
            lane: lane[i],
            text_x: if left[i] {
                refs[i].x - 4.0
            } else {
                refs[i].x + 4.0
            },
            anchor: if left[i] { "end" } else { "start" },
        })
        .collect()
}

/// The description of a sorted list: how many, highest, lowest, national, suppressed.
pub(crate) fn describe_sorted(lang: Lang, lines: &[Line], national: Option<&ShareRow>) -> String {
    let rows: Vec<&PlotRow> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Row(r) if r.estimate.is_finite() => Some(r),
            _ => None,
        })
        .collect();
    let mut d = String::new();
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return lang.msg("chart.no_estimates_sentence").to_owned();
    };
    let said = |r: &PlotRow| -> String {
        let share = pct(r.estimate);
        match svg::ci_text(r.ci_low, r.ci_high) {
            Some(ci) => lang.msgf(
                "chart.said_ci",
                &[("label", &r.label), ("share", &share), ("ci", &ci)],
            ),
            None => format!("{} {share}", r.label),
        }
    };
    d.push_str(&lang.msgf(
        "chart.sorted",
        &[
            ("n", &rows.len()),
            ("highest", &said(first)),
            ("lowest", &said(last)),
        ],
    ));
    if let Some(n) = national.filter(|n| n.estimate.is_finite()) {
        d.push_str(&lang.msgf("chart.national_after", &[("share", &pct(n.estimate))]));
    }
    let suppressed: Vec<&str> = rows
        .iter()
        .filter(|r| r.suppressed)
        .map(|r| r.label.as_str())
        .collect();
    if !suppressed.is_empty() {
        let list = suppressed.join(lang.msg("list.separator"));
        d.push_str(&lang.msgf("chart.suppressed_list", &[("list", &list)]));
    }
    d
}

/// The description of the national chart: the share and every target.
pub(crate) fn describe_national(lang: Lang, national: &ShareRow, targets: &[TargetLine]) -> String {
    let mut d = svg::estimate_tooltip(
        lang,
        national.label(lang),
        national.estimate,
        (national.ci_low, national.ci_high),
        Some(national.n),
        national.suppressed,
    );
    d.push_str(lang.msg("chart.full_stop"));
    let mut ts: Vec<&TargetLine> = targets.iter().filter(|t| t.share.is_finite()).collect();
    ts.sort_by(|a, b| a.year.cmp(&b.year).then(a.share.total_cmp(&b.share)));
    if !ts.is_empty() {
        let parts: Vec<String> = ts.iter().map(|t| t.text(lang)).collect();
        let list = parts.join(lang.msg("list.semicolon"));
        d.push_str(&lang.msgf("chart.targets_sentence", &[("list", &list)]));
    }
    d
}

/// The description of a breakdown: every group's categories and shares.
pub(crate) fn describe_groups(lang: Lang, groups: &[Group], national: Option<&ShareRow>) -> String {
    let mut d = String::new();
    for g in groups.iter().filter(|g| !g.rows.is_empty()) {
        let parts: Vec<String> = g
            .rows
            .iter()
            .map(|r| {
                let mut s = format!("{} {}", r.label(lang), pct(r.estimate));
                if r.suppressed {
                    s.push_str(lang.msg("chart.unreliable_mark"));
                }
                s
            })
            .collect();
        let list = parts.join(lang.msg("list.comma"));
        d.push_str(&lang.msgf(
            "chart.group_sentence",
            &[("group", &g.label(lang)), ("list", &list)],
        ));
    }
    if let Some(n) = national.filter(|n| n.estimate.is_finite()) {
        d.push_str(&lang.msgf("chart.national_sentence", &[("share", &pct(n.estimate))]));
    }
    if d.is_empty() {
        d.push_str(lang.msg("chart.no_estimates_sentence"));
    }
    d.trim_end().to_owned()
}
