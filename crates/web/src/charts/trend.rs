//! The trend chart: the share by survey round year (x) with its interval as
//! a vertical whisker, joined by a line, and the targets as hollow diamonds
//! joined by a dashed line per plan.

use super::axis::{Axis, Scale};
use super::dotplot::{plan_legend, plan_order};
use super::svg::{self, ESTIMATE, GRID, HALO, INK, Key, MUTED, N, SUPPRESSED, esc, pct, w};
use super::{Labels, Lang, TargetLine, TrendPoint};

const PLOT_HEIGHT: f64 = 280.0;
/// Inner padding between the plot's edges and the first and last years.
const PAD: f64 = 24.0;

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
    let ci_level = labels.ci_level;
    let width = labels.chart_width();
    let mut drawn: Vec<&TrendPoint> = points.iter().filter(|p| p.estimate.is_finite()).collect();
    drawn.sort_by_key(|p| p.year);
    if drawn.is_empty() {
        let message = if points.is_empty() {
            lang.t("暂无可显示的调查结果", "No survey results to show")
        } else {
            lang.t("没有有限的估计值，无法绘图", "No finite estimate to plot")
        };
        return svg::message_chart("trend", lang, width, title, message, source);
    }
    let targets: Vec<TargetLine> = targets
        .iter()
        .filter(|t| t.share.is_finite())
        .cloned()
        .collect();

    let years = drawn
        .iter()
        .map(|p| p.year)
        .chain(targets.iter().map(|t| t.year));
    let (y_min, y_max) = years.fold((i32::MAX, i32::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let mut values = Vec::new();
    for p in &drawn {
        values.extend([p.estimate, p.ci_low, p.ci_high]);
    }
    values.extend(targets.iter().map(|t| t.share));
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((0.0_f64, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let (Some(xa), Some(ya)) = (
        Axis::nice(f64::from(y_min), f64::from(y_max), 6, 1.0),
        Axis::nice(lo, hi.max(lo), 5, 0.0),
    ) else {
        let message = lang.t(
            "数值超出可绘制范围",
            "Values out of the range that can be drawn",
        );
        return svg::message_chart("trend", lang, width, title, message, source);
    };

    let mut body = String::new();
    let mut y = svg::title_block(&mut body, title, 12.0, width);
    let plans = plan_order(&targets);
    let mut legend = vec![(Key::Estimate, svg::estimate_key(lang, ci_level))];
    if drawn.iter().any(|p| p.suppressed) {
        legend.push((
            Key::Suppressed,
            lang.t("不可靠，不予发布", "Suppressed: unreliable")
                .to_owned(),
        ));
    }
    for (i, plan) in plans.iter().enumerate() {
        legend.push((Key::TargetMarker(i), plan_legend(lang, plan, &targets)));
    }
    y = svg::legend_block(&mut body, &legend, y, width);

    let x0 = 64.0;
    let x1 = width - 24.0;
    w!(
        body,
        "\n<text class=\"axis-caption y\" x=\"{}\" y=\"{}\" fill=\"{MUTED}\">{}</text>",
        N(x0 - 48.0),
        N(y + 10.0),
        esc(caption)
    );
    let plot_top = y + 26.0;
    let plot_bottom = plot_top + PLOT_HEIGHT;
    let sx = Scale {
        d0: xa.lo(),
        d1: xa.hi(),
        r0: x0 + PAD,
        r1: x1 - PAD,
    };
    let sy = Scale {
        d0: ya.lo(),
        d1: ya.hi(),
        r0: plot_bottom,
        r1: plot_top,
    };

    // Axes.
    body.push_str("\n<g class=\"axis y\">");
    for t in &ya.ticks {
        let ty = sy.map(*t);
        w!(
            body,
            "\n<g class=\"tick\"><line x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{GRID}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{MUTED}\">{}</text></g>",
            N(x0),
            N(x1),
            N(x0 - 8.0),
            N(ty + 4.0),
            esc(&ya.percent_label(*t)),
            y = N(ty)
        );
    }
    body.push_str("</g>\n<g class=\"axis x\">");
    for t in &xa.ticks {
        let tx = sx.map(*t);
        w!(
            body,
            "\n<g class=\"tick\"><line x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\" stroke=\"{MUTED}\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\">{}</text></g>",
            N(plot_bottom),
            N(plot_bottom + 5.0),
            N(plot_bottom + 18.0),
            *t as i64,
            x = N(tx)
        );
    }
    w!(
        body,
        "\n<line class=\"baseline\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{MUTED}\"/>",
        N(x0),
        N(x1),
        y = N(plot_bottom)
    );
    w!(
        body,
        "\n<text class=\"axis-caption x\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        N((x0 + x1) / 2.0),
        N(plot_bottom + 38.0),
        esc(lang.t("调查年份", "Survey year"))
    );
    body.push_str("</g>");

    // Targets: a dashed path per plan, then the markers and their labels.
    for (i, plan) in plans.iter().enumerate() {
        let mut own: Vec<&TargetLine> = targets.iter().filter(|t| t.plan == *plan).collect();
        own.sort_by_key(|t| t.year);
        if own.len() >= 2 {
            let (color, dash) = svg::target_style(i);
            let pts: Vec<String> = own
                .iter()
                .map(|t| format!("{},{}", N(sx.map(f64::from(t.year))), N(sy.map(t.share))))
                .collect();
            w!(
                body,
                "\n<polyline class=\"target-path\" data-plan=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"/>",
                esc(plan),
                pts.join(" ")
            );
        }
    }
    for t in &targets {
        let i = plans.iter().position(|p| *p == t.plan).unwrap_or(0);
        let (color, _) = svg::target_style(i);
        let (mx, my) = (sx.map(f64::from(t.year)), sy.map(t.share));
        let text = t.text(lang);
        let tw = svg::text_width(&text, 11.0);
        let (tx, anchor) = if mx + 9.0 + tw <= width - 8.0 {
            (mx + 9.0, "start")
        } else {
            (mx - 9.0, "end")
        };
        w!(
            body,
            "\n<g class=\"target\" data-plan=\"{}\" data-year=\"{}\"><title>{}</title>{}<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"11\" fill=\"{color}\"{HALO}>{}</text></g>",
            esc(&t.plan),
            t.year,
            esc(&text),
            svg::diamond(mx, my, 6.0, color),
            N(tx),
            N(my + 4.0),
            esc(&text)
        );
    }

    // The series.
    if drawn.len() >= 2 {
        let pts: Vec<String> = drawn
            .iter()
            .map(|p| format!("{},{}", N(sx.map(f64::from(p.year))), N(sy.map(p.estimate))))
            .collect();
        w!(
            body,
            "\n<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{ESTIMATE}\" stroke-width=\"1.5\" stroke-opacity=\"0.6\"/>",
            pts.join(" ")
        );
    }
    // Value labels only where neighbouring rounds leave room for them.
    let label_w = drawn
        .iter()
        .map(|p| svg::text_width(&pct(p.estimate), 11.0))
        .fold(0.0, f64::max);
    let room = drawn
        .windows(2)
        .map(|w| sx.map(f64::from(w[1].year)) - sx.map(f64::from(w[0].year)))
        .all(|gap| gap >= label_w + 6.0);
    for p in &drawn {
        let (px, py) = (sx.map(f64::from(p.year)), sy.map(p.estimate));
        let color = if p.suppressed { SUPPRESSED } else { ESTIMATE };
        let fill = if p.suppressed { "#ffffff" } else { ESTIMATE };
        let class = if p.suppressed {
            "point suppressed"
        } else {
            "point"
        };
        let label = p.year.to_string();
        let tooltip = svg::estimate_tooltip(
            lang,
            &label,
            p.estimate,
            (p.ci_low, p.ci_high),
            p.n,
            p.suppressed,
        );
        w!(
            body,
            "\n<g class=\"{class}\" data-year=\"{}\"><title>{}</title>",
            p.year,
            esc(&tooltip)
        );
        let mut top = py;
        if p.ci_low.is_finite() && p.ci_high.is_finite() {
            let (a, b) = (sy.map(p.ci_low), sy.map(p.ci_high));
            top = a.min(b);
            w!(
                body,
                "<line class=\"ci\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"2\" stroke-linecap=\"round\"/>",
                N(a),
                N(b),
                x = N(px)
            );
        }
        w!(
            body,
            "<circle class=\"estimate\" cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"{fill}\" stroke=\"{color}\" stroke-width=\"1.5\"/>",
            N(px),
            N(py)
        );
        if room {
            w!(
                body,
                "<text class=\"value\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{}\"{HALO}>{}</text>",
                N(px),
                N(top.min(py - 4.5) - 6.0),
                if p.suppressed { MUTED } else { INK },
                esc(&pct(p.estimate))
            );
        }
        body.push_str("</g>");
    }

    let mut notes: Vec<String> = Vec::new();
    let omitted: Vec<String> = points
        .iter()
        .filter(|p| !p.estimate.is_finite())
        .map(|p| p.year.to_string())
        .collect();
    if !omitted.is_empty() {
        notes.push(match lang {
            Lang::Zh => format!("无估计值、未绘出的年份：{}", omitted.join("、")),
            Lang::En => format!(
                "Years without an estimate, not drawn: {}",
                omitted.join(", ")
            ),
        });
    }
    notes.extend(source.map(str::to_owned));
    let height = svg::notes_block(&mut body, &notes, plot_bottom + 48.0, width) + 12.0;
    let desc = describe(lang, &drawn, &targets);
    svg::document("trend", lang, width, height, title, &desc, &body)
}

/// Every round's share and interval, then every target, in words.
fn describe(lang: Lang, drawn: &[&TrendPoint], targets: &[TargetLine]) -> String {
    let rounds: Vec<String> = drawn
        .iter()
        .map(|p| {
            let label = match lang {
                Lang::Zh => format!("{} 年", p.year),
                Lang::En => p.year.to_string(),
            };
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
    let mut d = match lang {
        Lang::Zh => format!("历次调查：{}。", rounds.join("；")),
        Lang::En => format!("Survey rounds: {}.", rounds.join("; ")),
    };
    let mut ts: Vec<&TargetLine> = targets.iter().collect();
    ts.sort_by(|a, b| a.year.cmp(&b.year).then(a.share.total_cmp(&b.share)));
    if !ts.is_empty() {
        let parts: Vec<String> = ts.iter().map(|t| t.text(lang)).collect();
        match lang {
            Lang::Zh => w!(d, "目标：{}。", parts.join("；")),
            Lang::En => w!(d, " Targets: {}.", parts.join("; ")),
        }
    }
    d
}
