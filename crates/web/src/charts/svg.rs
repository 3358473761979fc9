//! The SVG document around a chart, the one writer every chart's marks and
//! texts go through (escaping them), number formats and text measures.

use std::fmt;

use super::Lang;

/// `write!` to a `String`, which cannot fail.
macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = write!($dst, $($arg)*);
    }};
}

/// Default width of a chart's viewBox.
pub(crate) const DEFAULT_WIDTH: f64 = 760.0;
/// Narrowest viewBox a chart is laid out for.
pub(crate) const MIN_WIDTH: f64 = 360.0;
/// Widest viewBox a chart is laid out for.
pub(crate) const MAX_WIDTH: f64 = 1600.0;
/// The font stack: CJK faces first, on every platform.
pub(crate) const FONT_STACK: &str =
    "'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', 'Noto Sans SC', sans-serif";

/// Estimates (Okabe-Ito blue).
pub(crate) const ESTIMATE: &str = "#0072b2";
/// Suppressed estimates.
pub(crate) const SUPPRESSED: &str = "#8c8c8c";
/// The national line.
pub(crate) const NATIONAL: &str = "#333333";
/// Text.
pub(crate) const INK: &str = "#222222";
/// Secondary text.
pub(crate) const MUTED: &str = "#5f5f5f";
/// Grid lines.
pub(crate) const GRID: &str = "#e3e3e3";
/// Alternate row bands.
pub(crate) const BAND: &str = "#f6f6f6";
/// Target colours and dash patterns, one per plan in order of appearance
/// (Okabe-Ito vermillion, reddish purple, bluish green).
pub(crate) const TARGET_STYLES: [(&str, &str); 3] = [
    ("#d55e00", "6 4"),
    ("#a0508a", "2 3"),
    ("#009e73", "8 3 2 3"),
];

/// A number in an attribute: two decimals at most, trailing zeros dropped,
/// 0 for a non-finite value (layout code never passes one).
pub(crate) struct N(pub f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = if self.0.is_finite() { self.0 } else { 0.0 };
        let s = format!("{v:.2}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        let s = if s == "-0" || s.is_empty() { "0" } else { s };
        f.write_str(s)
    }
}

/// Text made safe for XML character data and attribute values: markup
/// characters escaped, characters XML 1.0 cannot carry replaced by U+FFFD.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// XML 1.0 `Char`, less the C1 controls and discouraged non-characters.
fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fdcf}'
        | '\u{fdf0}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
        && (c as u32 & 0xfffe) != 0xfffe
}

pub(crate) use crate::percent::{interval as ci_text, percent as pct, percent_trimmed as pct_trim};

/// The legend text of a dot with its whisker, naming the interval's level
/// when known (`估计值及95%置信区间`); a level outside (0, 1) is ignored.
pub(crate) fn estimate_key(lang: Lang, level: Option<f64>) -> String {
    match level.filter(|l| *l > 0.0 && *l < 1.0) {
        Some(l) => lang.msgf("chart.estimate_key_level", &[("level", &pct_trim(l))]),
        None => lang.msg("chart.estimate_key").to_owned(),
    }
}

/// A count with thousands separators.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The tooltip of one estimate: label, share, interval, sample size, suppression.
pub(crate) fn estimate_tooltip(
    lang: Lang,
    label: &str,
    estimate: f64,
    ci: (f64, f64),
    n: Option<usize>,
    suppressed: bool,
) -> String {
    let mut t = lang.msgf("chart.tip", &[("label", &label), ("share", &pct(estimate))]);
    if let Some(ci) = ci_text(ci.0, ci.1) {
        t.push_str(&lang.msgf("chart.tip_ci", &[("ci", &ci)]));
    }
    if let Some(n) = n {
        t.push_str(&lang.msgf("chart.tip_n", &[("n", &count(n))]));
    }
    if suppressed {
        t.push_str(lang.msg("chart.tip_suppressed"));
    }
    t
}

/// Estimated width of `s` at `size` px: CJK and full-width characters one
/// em, Latin letters and digits about 0.6 em.
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
    s.chars().map(char_em).sum::<f64>() * size
}

fn char_em(c: char) -> f64 {
    // Generous Latin widths (DejaVu Sans, the widest common fallback), so
    // that labels fit whichever face the viewer has.
    match c {
        ' ' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'i' | 'j' | 'l' => 0.32,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | 'I' => 0.42,
        '0'..='9' | '–' | '_' | '/' => 0.64,
        'm' | 'w' | 'M' | 'W' | '%' | '@' => 0.96,
        'A'..='Z' => 0.72,
        '\u{1100}'..='\u{115f}'
        | '\u{2e80}'..='\u{a4cf}'
        | '\u{ac00}'..='\u{d7a3}'
        | '\u{f900}'..='\u{faff}'
        | '\u{fe30}'..='\u{fe4f}'
        | '\u{ff00}'..='\u{ff60}'
        | '\u{ffe0}'..='\u{ffe6}'
        | '\u{20000}'..='\u{3fffd}' => 1.0,
        _ => 0.62,
    }
}

/// `s` cut to fit `max` px at `size`, with an ellipsis when cut.
pub(crate) fn fit(s: &str, max: f64, size: f64) -> String {
    if text_width(s, size) <= max {
        return s.to_owned();
    }
    let budget = max - char_em('…') * size;
    let mut out = String::new();
    let mut used = 0.0;
    for c in s.chars() {
        let cw = char_em(c) * size;
        if used + cw > budget {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` broken into lines of at most `max` px at `size`: at spaces where
/// there are any, between any two CJK characters, anywhere as a last resort.
pub(crate) fn wrap(s: &str, max: f64, size: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut width = 0.0;
    for word in words(s) {
        let ww = text_width(&word, size);
        if width + ww > max && !line.trim().is_empty() {
            lines.push(line.trim_end().to_owned());
            line = String::new();
            width = 0.0;
        }
        if ww > max {
            for c in word.chars() {
                let cw = char_em(c) * size;
                if width + cw > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    width = 0.0;
                }
                line.push(c);
                width += cw;
            }
            continue;
        }
        if line.is_empty() {
            let trimmed = word.trim_start();
            width = text_width(trimmed, size);
            line.push_str(trimmed);
        } else {
            line.push_str(&word);
            width += ww;
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// Break units: a CJK character alone, or a run of other characters with its leading spaces.
fn words(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if char_em(c) >= 1.0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else if c == ' ' && !cur.trim().is_empty() {
            out.push(std::mem::take(&mut cur));
            cur.push(c);
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// FNV-1a, for ids that are stable for the same chart and distinct between charts.
fn fnv(parts: &[&str]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// The `<svg>` document: the accessible name and description first, a white
/// background, then `body`.
pub(crate) fn document(
    kind: &str,
    lang: Lang,
    width: f64,
    height: f64,
    title: &str,
    desc: &str,
    body: &Svg,
) -> String {
    let id = format!(
        "chart-{kind}-{:08x}",
        fnv(&[kind, title, desc, body.as_str()])
    );
    let mut s = Svg::new();
    s.tag("svg")
        .a("xmlns", "http://www.w3.org/2000/svg")
        .a("class", format!("chart chart-{kind}"))
        .a("viewBox", format!("0 0 {} {}", N(width), N(height)))
        .a("role", "img")
        .a("aria-labelledby", format!("{id}-title"))
        .a("aria-describedby", format!("{id}-desc"))
        .a("lang", lang.tag())
        .a("xml:lang", lang.tag())
        .a("font-family", FONT_STACK)
        .a("font-size", "12")
        .a("fill", INK)
        .open();
    s.nl();
    s.tag("title").a("id", format!("{id}-title")).text(title);
    s.nl();
    s.tag("desc").a("id", format!("{id}-desc")).text(desc);
    s.nl();
    s.tag("rect")
        .a("class", "background")
        .a("x", "0")
        .a("y", "0")
        .a("width", N(width))
        .a("height", N(height))
        .a("fill", "#ffffff")
        .end();
    s.append(body);
    s.nl();
    s.close("svg");
    s.nl();
    s.into_string()
}

/// The title lines from `y` (their first baseline); returns the y below them.
pub(crate) fn title_block(body: &mut Svg, title: &str, y: f64, width: f64) -> f64 {
    let mut y = y;
    body.nl();
    body.tag("g")
        .a("class", "chart-title")
        .a("font-size", "16")
        .a("font-weight", "bold")
        .open();
    for line in wrap(title, width - 32.0, 16.0) {
        body.tag("text")
            .a("x", "16")
            .a("y", N(y + 16.0))
            .text(&line);
        y += 21.0;
    }
    body.close("g");
    y + 4.0
}

/// Notes under a chart (source line, messages), from `y`; returns the y below them.
pub(crate) fn notes_block(body: &mut Svg, notes: &[String], y: f64, width: f64) -> f64 {
    let mut y = y;
    for note in notes {
        for line in wrap(note, width - 32.0, 11.0) {
            body.nl();
            body.tag("text")
                .a("class", "note")
                .a("x", "16")
                .a("y", N(y + 11.0))
                .a("font-size", "11")
                .a("fill", MUTED)
                .text(&line);
            y += 15.0;
        }
    }
    y
}

/// A legend entry.
pub(crate) enum Key {
    /// A filled dot with a whisker.
    Estimate,
    /// A hollow grey dot with a whisker.
    Suppressed,
    /// A solid vertical line.
    National,
    /// A dashed vertical line in a plan's style.
    TargetLine(usize),
    /// A hollow diamond in a plan's style.
    TargetMarker(usize),
}

/// A vertical line centred on `x` from `cy - 7` to `cy + 7`, dashed when
/// `dash` is some.
fn key_line(body: &mut Svg, x: f64, cy: f64, color: &str, dash: Option<&str>) {
    body.tag("line")
        .a("x1", N(x))
        .a("x2", N(x))
        .a("y1", N(cy - 7.0))
        .a("y2", N(cy + 7.0))
        .a("stroke", color)
        .a("stroke-width", "1.5")
        .a_opt("stroke-dasharray", dash)
        .end();
}

/// A legend entry's mark at `x`, centred on `cy`.
fn key_mark(body: &mut Svg, key: &Key, x: f64, cy: f64) {
    match key {
        Key::Estimate | Key::Suppressed => {
            let (stroke, fill) = if matches!(key, Key::Suppressed) {
                (SUPPRESSED, "#ffffff")
            } else {
                (ESTIMATE, ESTIMATE)
            };
            body.tag("line")
                .a("x1", N(x))
                .a("x2", N(x + 20.0))
                .a("y1", N(cy))
                .a("y2", N(cy))
                .a("stroke", stroke)
                .a("stroke-width", "1.5")
                .end();
            body.tag("circle")
                .a("cx", N(x + 10.0))
                .a("cy", N(cy))
                .a("r", "4.5")
                .a("fill", fill)
                .a("stroke", stroke)
                .a("stroke-width", "1.5")
                .end();
        }
        Key::National => key_line(body, x + 10.0, cy, NATIONAL, None),
        Key::TargetLine(i) => {
            let (color, dash) = target_style(*i);
            key_line(body, x + 10.0, cy, color, Some(dash));
        }
        Key::TargetMarker(i) => diamond(body, x + 10.0, cy, 5.5, target_style(*i).0),
    }
}

/// The legend, entries left to right, wrapping; returns the y below it.
pub(crate) fn legend_block(
    body: &mut Svg,
    entries: &[(Key, String)],
    y: f64,
    chart_width: f64,
) -> f64 {
    let mut x = 16.0;
    let mut y = y;
    body.nl();
    body.tag("g")
        .a("class", "legend")
        .a("font-size", "12")
        .open();
    for (key, label) in entries {
        let width = 26.0 + text_width(label, 12.0) + 18.0;
        if x + width > chart_width - 16.0 && x > 16.0 {
            x = 16.0;
            y += 18.0;
        }
        let cy = y + 8.0;
        let kind = match key {
            Key::Estimate => "legend-estimate",
            Key::Suppressed => "legend-suppressed",
            Key::National => "legend-national",
            Key::TargetLine(_) | Key::TargetMarker(_) => "legend-target",
        };
        body.tag("g")
            .a("class", format!("legend-item {kind}"))
            .open();
        key_mark(body, key, x, cy);
        body.tag("text")
            .a("x", N(x + 26.0))
            .a("y", N(cy + 4.0))
            .text(label);
        body.close("g");
        x += width;
    }
    body.close("g");
    y + 24.0
}

/// An estimate's interval: a whisker from `from` to `to` (x, y).
pub(crate) fn whisker(body: &mut Svg, from: (f64, f64), to: (f64, f64), color: &str) {
    body.tag("line")
        .a("class", "ci")
        .a("x1", N(from.0))
        .a("x2", N(to.0))
        .a("y1", N(from.1))
        .a("y2", N(to.1))
        .a("stroke", color)
        .a("stroke-width", "2")
        .a("stroke-linecap", "round")
        .end();
}

/// An estimate's dot of radius `r` at (x, y): filled, or hollow grey when
/// suppressed.
pub(crate) fn dot(body: &mut Svg, (x, y): (f64, f64), r: f64, suppressed: bool) {
    let (stroke, fill) = if suppressed {
        (SUPPRESSED, "#ffffff")
    } else {
        (ESTIMATE, ESTIMATE)
    };
    body.tag("circle")
        .a("class", "estimate")
        .a("cx", N(x))
        .a("cy", N(y))
        .a("r", N(r))
        .a("fill", fill)
        .a("stroke", stroke)
        .a("stroke-width", "1.5")
        .end();
}

/// The colour and dash pattern of the `i`-th plan.
pub(crate) fn target_style(i: usize) -> (&'static str, &'static str) {
    TARGET_STYLES[i % TARGET_STYLES.len()]
}

/// A hollow diamond centred on (x, y).
pub(crate) fn diamond(body: &mut Svg, x: f64, y: f64, r: f64, color: &str) {
    let points = format!(
        "{},{} {},{} {},{} {},{}",
        N(x),
        N(y - r),
        N(x + r),
        N(y),
        N(x),
        N(y + r),
        N(x - r),
        N(y)
    );
    body.tag("polygon")
        .a("class", "marker")
        .a("points", points)
        .a("fill", "#ffffff")
        .a("stroke", color)
        .a("stroke-width", "2")
        .end();
}

/// The chart drawn when there is nothing to plot: title, message, notes.
pub(crate) fn message_chart(
    kind: &str,
    lang: Lang,
    width: f64,
    title: &str,
    message: &str,
    source: Option<&str>,
) -> String {
    let mut body = Svg::new();
    let y = title_block(&mut body, title, 12.0, width);
    let my = y + 60.0;
    body.nl();
    body.tag("text")
        .a("class", "message")
        .a("x", N(width / 2.0))
        .a("y", N(my))
        .a("text-anchor", "middle")
        .a("font-size", "14")
        .a("fill", MUTED)
        .text(message);
    let notes: Vec<String> = source.map(str::to_owned).into_iter().collect();
    let height = notes_block(&mut body, &notes, my + 50.0, width) + 12.0;
    document(kind, lang, width, height, title, message, &body)
}

/// A value written into an attribute or as text: strings escaped by
/// [`esc`], numbers as they print.
pub(crate) trait Value {
    /// Writes the value, escaped where it is text.
    fn write_to(&self, out: &mut String);
}

impl Value for str {
    fn write_to(&self, out: &mut String) {
        out.push_str(&esc(self));
    }
}

impl Value for String {
    fn write_to(&self, out: &mut String) {
        self.as_str().write_to(out);
    }
}

impl<T: Value + ?Sized> Value for &T {
    fn write_to(&self, out: &mut String) {
        (**self).write_to(out);
    }
}

macro_rules! display_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn write_to(&self, out: &mut String) {
                w!(out, "{self}");
            }
        }
    )*};
}
display_value!(N, i32, i64, usize);

/// The one SVG writer of the charts: element and attribute names are the
/// code's, and every attribute value and text goes through [`esc`], so no
/// label, key or tooltip can become markup.
#[derive(Default)]
pub(crate) struct Svg {
    out: String,
}

/// An element being written: its start tag is open for attributes.
pub(crate) struct Tag<'s> {
    svg: &'s mut Svg,
    name: &'static str,
}

impl Svg {
    /// An empty writer.
    pub fn new() -> Svg {
        Svg::default()
    }

    /// A line break (between top-level marks, for readable files).
    pub fn nl(&mut self) {
        self.out.push('\n');
    }

    /// Starts element `name`.
    pub fn tag(&mut self, name: &'static str) -> Tag<'_> {
        self.out.push('<');
        self.out.push_str(name);
        Tag { svg: self, name }
    }

    /// Ends element `name`.
    pub fn close(&mut self, name: &'static str) {
        w!(self.out, "</{name}>");
    }

    /// What was written.
    pub fn as_str(&self) -> &str {
        &self.out
    }
}

impl Tag<'_> {
    /// Adds attribute `name` with `value` (escaped).
    pub fn a(self, name: &'static str, value: impl Value) -> Self {
        w!(self.svg.out, " {name}=\"");
        value.write_to(&mut self.svg.out);
        self.svg.out.push('"');
        self
    }

    /// Adds attribute `name` when `value` is some.
    pub fn a_opt(self, name: &'static str, value: Option<impl Value>) -> Self {
        match value {
            Some(v) => self.a(name, v),
            None => self,
        }
    }

    /// Adds a white outline under the text, so lines crossing it leave it
    /// readable.
    pub fn halo(self) -> Self {
        self.a("stroke", "#ffffff")
            .a("stroke-width", "3")
            .a("stroke-linejoin", "round")
            .a("paint-order", "stroke")
    }

    /// Ends the start tag; children follow, then [`Svg::close`].
    pub fn open(self) {
        self.svg.out.push('>');
    }

    /// Ends the element without children.
    pub fn end(self) {
        self.svg.out.push_str("/>");
    }

    /// Ends the element with `text` (escaped) as its content.
    pub fn text(self, text: &str) {
        self.svg.out.push('>');
        text.write_to(&mut self.svg.out);
        w!(self.svg.out, "</{}>", self.name);
    }
}

impl Svg {
    /// Appends what another writer wrote (already escaped).
    pub fn append(&mut self, other: &Svg) {
        self.out.push_str(&other.out);
    }

    /// What was written, as an owned string.
    pub fn into_string(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_replaces_what_xml_cannot_carry() {
        assert_eq!(
            esc(r#"<a & "b" 'c'>"#),
            "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"
        );
        assert_eq!(esc("a\u{0}b\u{1b}c\u{ffff}"), "a\u{fffd}b\u{fffd}c\u{fffd}");
        assert_eq!(esc("北京\nx"), "北京 x");
    }

    #[test]
    fn numbers_are_short_and_never_non_finite() {
        assert_eq!(N(12.5).to_string(), "12.5");
        assert_eq!(N(12.0).to_string(), "12");
        assert_eq!(N(-0.001).to_string(), "0");
        assert_eq!(N(f64::NAN).to_string(), "0");
        assert_eq!(N(f64::INFINITY).to_string(), "0");
        assert_eq!(pct_trim(0.15), "15%");
        assert_eq!(pct_trim(0.125), "12.5%");
        assert_eq!(pct(0.12929), "12.93%");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(999), "999");
    }

    #[test]
    fn cjk_is_wider_than_latin_and_fit_cuts() {
        assert!(text_width("北京", 12.0) > text_width("ab", 12.0));
        let cut = fit("Xinjiang Uygur Autonomous Region", 80.0, 12.0);
        assert!(cut.ends_with('…'));
        assert!(text_width(&cut, 12.0) <= 80.0 + 1e-9);
        assert_eq!(fit("北京", 80.0, 12.0), "北京");
    }

    #[test]
    fn wrap_keeps_every_character_and_respects_the_width() {
        let s = "Share of citizens with civic scientific literacy by survey round and targets";
        let lines = wrap(s, 200.0, 12.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), s);
        for l in &lines {
            assert!(text_width(l, 12.0) <= 200.0 + 1e-9, "{l}");
        }
        let zh = "各省（区、市）公民具备科学素质的比例与二〇三五年目标";
        let lines = wrap(zh, 100.0, 12.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), zh);
    }
}
