//! The trend chart: the share by survey round year (x) with its interval as
//! a vertical whisker, joined by a line, and the targets as hollow diamonds
//! joined by a dashed line per plan.

use super::axis::{Axis, Scale};
use super::dotplot::{plan_legend, plan_order};
use super::svg::{self, ESTIMATE, GRID, INK, Key, MUTED, N, SUPPRESSED, Svg, pct};
use super::{Labels, Lang, TargetLine, TrendPoint};

const PLOT_HEIGHT: f64 = 280.0;
/// Inner padding between the plot's edges and the first and last years.
const PAD: f64 = 24.0;

/// Where the plot is on the page and how data map onto it.
struct Plot {
    sx: Scale,
    sy: Scale,
    x0: f64,
    x1: f64,
    bottom: f64,
    width: f64,
}

/// The axes for the drawn points and the targets: years across, shares
/// up (`None` when the values cannot be drawn).
fn axes(drawn: &[&TrendPoint], targets: &[TargetLine]) -> Option<(Axis, Axis)> {
    let years = drawn
        .iter()
        .map(|p| p.year)
        .chain(targets.iter().map(|t| t.year));
    let (y_min, y_max) = years.fold((i32::MAX, i32::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let mut values = Vec::new();
    for p in drawn {
        values.extend([p.estimate, p.ci_low, p.ci_high]);
    }
    values.extend(targets.iter().map(|t| t.share));
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((0.0_f64, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    Some((
        Axis::nice(f64::from(y_min), f64::from(y_max), 6, 1.0)?,
        Axis::nice(lo, hi.max(lo), 5, 0.0)?,
    ))
}

/// The chart as an SVG document, under `title`, its y axis captioned `caption`.
pub(crate) fn render(
    points: &[TrendPoint],
    targets: &[TargetLine],
    labels: &Labels,
    title: &str,
    caption: &str,
) -> String {
    let lang = labels.lang;
    let source = labels.source.as_deref();
    let width = labels.chart_width();
    let mut drawn: Vec<&TrendPoint> = points.iter().filter(|p| p.estimate.is_finite()).collect();
    drawn.sort_by_key(|p| p.year);
    if drawn.is_empty() {
        let message = if points.is_empty() {
            lang.msg("chart.no_results")
        } else {
            lang.msg("chart.no_finite")
        };
        return svg::message_chart("trend", lang, width, title, message, source);
    }
    let targets: Vec<TargetLine> = targets
        .iter()
        .filter(|t| t.share.is_finite())
        .cloned()
        .collect();
    let Some((xa, ya)) = axes(&drawn, &targets) else {
        let message = lang.msg("chart.out_of_range");
        return svg::message_chart("trend", lang, width, title, message, source);
    };

    let mut body = Svg::new();
    let mut y = svg::title_block(&mut body, title, 12.0, width);
    let plans = plan_order(&targets);
    let mut legend = vec![(Key::Estimate, svg::estimate_key(lang, labels.ci_level))];
    if drawn.iter().any(|p| p.suppressed) {
        legend.push((Key::Suppressed, lang.msg("chart.suppressed").to_owned()));
    }
    for (i, plan) in plans.iter().enumerate() {
        legend.push((Key::TargetMarker(i), plan_legend(lang, plan, &targets)));
    }
    y = svg::legend_block(&mut body, &legend, y, width);

    let (x0, x1) = (64.0, width - 24.0);
    body.nl();
    body.tag("text")
        .a("class", "axis-caption y")
        .a("x", N(x0 - 48.0))
        .a("y", N(y + 10.0))
        .a("fill", MUTED)
        .text(caption);
    let plot_top = y + 26.0;
    let plot_bottom = plot_top + PLOT_HEIGHT;
    let plot = Plot {
        sx: Scale {
            d0: xa.lo(),
            d1: xa.hi(),
            r0: x0 + PAD,
            r1: x1 - PAD,
        },
        sy: Scale {
            d0: ya.lo(),
            d1: ya.hi(),
            r0: plot_bottom,
            r1: plot_top,
        },
        x0,
        x1,
        bottom: plot_bottom,
        width,
    };
    draw_axes(&mut body, lang, &xa, &ya, &plot);
    draw_targets(&mut body, lang, &plans, &targets, &plot);
    draw_series(&mut body, lang, &drawn, &plot);

    let mut notes: Vec<String> = Vec::new();
    let omitted: Vec<String> = points
        .iter()
        .filter(|p| !p.estimate.is_finite())
        .map(|p| p.year.to_string())
        .collect();
    if !omitted.is_empty() {
        let list = omitted.join(lang.msg("list.separator"));
        notes.push(lang.msgf("chart.years_omitted", &[("list", &list)]));
    }
    notes.extend(source.map(str::to_owned));
    let height = svg::notes_block(&mut body, &notes, plot_bottom + 48.0, width) + 12.0;
    let desc = describe(lang, &drawn, &targets);
    svg::document("trend", lang, width, height, title, &desc, &body)
}

/// The share axis (grid lines and labels) and the year axis.
fn draw_axes(body: &mut Svg, lang: Lang, xa: &Axis, ya: &Axis, p: &Plot) {
    body.nl();
    body.tag("g").a("class", "axis y").open();
    for t in &ya.ticks {
        let ty = p.sy.map(*t);
        body.nl();
        body.tag("g").a("class", "tick").open();
        body.tag("line")
            .a("x1", N(p.x0))
            .a("x2", N(p.x1))
            .a("y1", N(ty))
            .a("y2", N(ty))
            .a("stroke", GRID)
            .end();
        body.tag("text")
            .a("x", N(p.x0 - 8.0))
            .a("y", N(ty + 4.0))
            .a("text-anchor", "end")
            .a("fill", MUTED)
            .text(&ya.percent_label(*t));
        body.close("g");
    }
    body.close("g");
    body.nl();
    body.tag("g").a("class", "axis x").open();
    for t in &xa.ticks {
        let tx = N(p.sx.map(*t));
        body.nl();
        body.tag("g").a("class", "tick").open();
        body.tag("line")
            .a("x1", &tx)
            .a("x2", &tx)
            .a("y1", N(p.bottom))
            .a("y2", N(p.bottom + 5.0))
            .a("stroke", MUTED)
            .end();
        body.tag("text")
            .a("x", &tx)
            .a("y", N(p.bottom + 18.0))
            .a("text-anchor", "middle")
            .a("fill", MUTED)
            .text(&(*t as i64).to_string());
        body.close("g");
    }
    body.nl();
    body.tag("line")
        .a("class", "baseline")
        .a("x1", N(p.x0))
        .a("x2", N(p.x1))
        .a("y1", N(p.bottom))
        .a("y2", N(p.bottom))
        .a("stroke", MUTED)
        .end();
    body.nl();
    body.tag("text")
        .a("class", "axis-caption x")
        .a("x", N((p.x0 + p.x1) / 2.0))
        .a("y", N(p.bottom + 38.0))
        .a("text-anchor", "middle")
        .text(lang.msg("chart.survey_year"));
    body.close("g");
}

/// Targets: a dashed path per plan, then the markers and their labels.
fn draw_targets(body: &mut Svg, lang: Lang, plans: &[String], targets: &[TargetLine], p: &Plot) {
    for (i, plan) in plans.iter().enumerate() {
        let mut own: Vec<&TargetLine> = targets.iter().filter(|t| t.plan == *plan).collect();
        own.sort_by_key(|t| t.year);
        if own.len() >= 2 {
            let (color, dash) = svg::target_style(i);
            let pts: Vec<String> = own
                .iter()
                .map(|t| {
                    format!(
                        "{},{}",
                        N(p.sx.map(f64::from(t.year))),
                        N(p.sy.map(t.share))
                    )
                })
                .collect();
            body.nl();
            body.tag("polyline")
                .a("class", "target-path")
                .a("data-plan", plan)
                .a("points", pts.join(" "))
                .a("fill", "none")
                .a("stroke", color)
                .a("stroke-width", "1.5")
                .a("stroke-dasharray", dash)
                .end();
        }
    }
    for t in targets {
        let i = plans.iter().position(|p| *p == t.plan).unwrap_or(0);
        let (color, _) = svg::target_style(i);
        let (mx, my) = (p.sx.map(f64::from(t.year)), p.sy.map(t.share));
        let text = t.text(lang);
        let tw = svg::text_width(&text, 11.0);
        let (tx, anchor) = if mx + 9.0 + tw <= p.width - 8.0 {
            (mx + 9.0, "start")
        } else {
            (mx - 9.0, "end")
        };
        body.nl();
        body.tag("g")
            .a("class", "target")
            .a("data-plan", &t.plan)
            .a("data-year", t.year)
            .open();
        body.tag("title").text(&text);
        svg::diamond(body, mx, my, 6.0, color);
        body.tag("text")
            .a("x", N(tx))
            .a("y", N(my + 4.0))
            .a("text-anchor", anchor)
            .a("font-size", "11")
            .a("fill", color)
            .halo()
            .text(&text);
        body.close("g");
    }
}

/// The series: a line through the rounds, then each round's dot, whisker
/// and value (values only where neighbouring rounds leave room for them).
fn draw_series(body: &mut Svg, lang: Lang, drawn: &[&TrendPoint], p: &Plot) {
    if drawn.len() >= 2 {
        let pts: Vec<String> = drawn
            .iter()
            .map(|d| {
                format!(
                    "{},{}",
                    N(p.sx.map(f64::from(d.year))),
                    N(p.sy.map(d.estimate))
                )
            })
            .collect();
        body.nl();
        body.tag("polyline")
            .a("class", "series")
            .a("points", pts.join(" "))
            .a("fill", "none")
            .a("stroke", ESTIMATE)
            .a("stroke-width", "1.5")
            .a("stroke-opacity", "0.6")
            .end();
    }
    let label_w = drawn
        .iter()
        .map(|d| svg::text_width(&pct(d.estimate), 11.0))
        .fold(0.0, f64::max);
    let room = drawn
        .windows(2)
        .map(|w| p.sx.map(f64::from(w[1].year)) - p.sx.map(f64::from(w[0].year)))
        .all(|gap| gap >= label_w + 6.0);
    for d in drawn {
        draw_point(body, lang, d, p, room);
    }
}

/// One round: its tooltip, whisker, dot and (with `room`) value.
fn draw_point(body: &mut Svg, lang: Lang, d: &TrendPoint, p: &Plot, room: bool) {
    let (px, py) = (p.sx.map(f64::from(d.year)), p.sy.map(d.estimate));
    let color = if d.suppressed { SUPPRESSED } else { ESTIMATE };
    let class = if d.suppressed {
        "point suppressed"
    } else {
        "point"
    };
    let label = d.year.to_string();
    let tooltip = svg::estimate_tooltip(
        lang,
        &label,
        d.estimate,
        (d.ci_low, d.ci_high),
        d.n,
        d.suppressed,
    );
    body.nl();
    body.tag("g")
        .a("class", class)
        .a("data-year", d.year)
        .open();
    body.tag("title").text(&tooltip);
    let mut top = py;
    if d.ci_low.is_finite() && d.ci_high.is_finite() {
        let (a, b) = (p.sy.map(d.ci_low), p.sy.map(d.ci_high));
        top = a.min(b);
        svg::whisker(body, (px, a), (px, b), color);
    }
    svg::dot(body, (px, py), 4.5, d.suppressed);
    if room {
        body.tag("text")
            .a("class", "value")
            .a("x", N(px))
            .a("y", N(top.min(py - 4.5) - 6.0))
            .a("text-anchor", "middle")
            .a("font-size", "11")
            .a("fill", if d.suppressed { MUTED } else { INK })
            .halo()
            .text(&pct(d.estimate));
    }
    body.close("g");
}

/// Every round's share and interval, then every target, in words.
fn describe(lang: Lang, drawn: &[&TrendPoint], targets: &[TargetLine]) -> String {
    let rounds: Vec<String> = drawn
        .iter()
        .map(|p| {
            let label = lang.msgf("chart.year", &[("year", &p.year)]);
            svg::estimate_tooltip(
                lang,
                &label,
                p.estimate,
                (p.ci_low, p.ci_high),
                None,
                p.suppressed,
            )
        })
        .collect();
    let semicolon = lang.msg("list.semicolon");
    let mut d = lang.msgf(
        "chart.rounds_sentence",
        &[("list", &rounds.join(semicolon))],
    );
    let mut ts: Vec<&TargetLine> = targets.iter().collect();
    ts.sort_by(|a, b| a.year.cmp(&b.year).then(a.share.total_cmp(&b.share)));
    if !ts.is_empty() {
        let parts: Vec<String> = ts.iter().map(|t| t.text(lang)).collect();
        let list = parts.join(semicolon);
        d.push_str(&lang.msgf("chart.targets_sentence", &[("list", &list)]));
    }
    d
}
