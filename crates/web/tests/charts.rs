//! The dashboard's SVG charts checked as documents: they parse as XML, carry
//! their accessible name and description, and every mark sits where the axis
//! drawn in the same SVG says its value goes. The axis mapping is rebuilt
//! here from the tick labels and positions read back from the SVG, not taken
//! from the chart code. The CSV downloads are read back with the `csv` crate.

use literacy_core::demographics::PROVINCES;
use literacy_test_support::csv_text;
use literacy_test_support::tolerance::{Tol, is_close};
use literacy_web::charts::{
    Group, Labels, Lang, ShareRow, TargetLine, TrendPoint, TrendSource, breakdown_chart,
    breakdown_to_csv, national_chart, province_chart, shares_to_csv, targets_to_csv, trend_chart,
    trend_to_csv,
};
use roxmltree::{Document, Node};

/// Where a mark should stand: coordinates are written with two decimals.
const PIXEL: Tol = Tol::abs(0.02);

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

// ---------------------------------------------------------------- data

/// 31 provinces with distinct shares from 6% to 24%; Tibet and Qinghai suppressed.
fn provinces() -> Vec<ShareRow> {
    PROVINCES
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let est = 0.06 + 0.006 * ((i * 7) % 31) as f64;
            let half = 0.01 + 0.0005 * i as f64;
            ShareRow {
                key: p.code.to_string(),
                label_zh: p.name_zh.to_owned(),
                label_en: p.name_en.to_owned(),
                estimate: est,
                ci_low: est - half,
                ci_high: est + half * 1.2,
                n: 1000 + 37 * i,
                suppressed: p.code == 54 || p.code == 63,
            }
        })
        .collect()
}

fn national() -> ShareRow {
    ShareRow {
        key: "all".to_owned(),
        label_zh: "全国".to_owned(),
        label_en: "National".to_owned(),
        estimate: 0.1293,
        ci_low: 0.1251,
        ci_high: 0.1337,
        n: 300_000,
        suppressed: false,
    }
}

/// The two plans' targets: above 10% by 2020 and 20% by 2035; above 15% by 2025 and 25% by 2035.
fn targets() -> Vec<TargetLine> {
    vec![
        TargetLine::new("cast-2018", 2020, 0.10),
        TargetLine::new("cast-2018", 2035, 0.20),
        TargetLine::new("state-council-2021", 2025, 0.15),
        TargetLine::new("state-council-2021", 2035, 0.25),
    ]
}

fn row(key: &str, zh: &str, en: &str, est: f64, half: f64, suppressed: bool) -> ShareRow {
    ShareRow {
        key: key.to_owned(),
        label_zh: zh.to_owned(),
        label_en: en.to_owned(),
        estimate: est,
        ci_low: est - half,
        ci_high: est + half,
        n: 5000,
        suppressed,
    }
}

fn groups() -> Vec<Group> {
    vec![
        Group {
            key: "sex".to_owned(),
            label_zh: "性别".to_owned(),
            label_en: "Sex".to_owned(),
            rows: vec![
                row("1", "男", "Male", 0.141, 0.006, false),
                row("2", "女", "Female", 0.112, 0.005, false),
            ],
        },
        Group {
            key: "urban".to_owned(),
            label_zh: "城乡".to_owned(),
            label_en: "Urban/rural".to_owned(),
            rows: vec![
                row("1", "城镇", "Urban", 0.157, 0.006, false),
                row("2", "农村", "Rural", 0.071, 0.004, false),
            ],
        },
        Group {
            key: "education".to_owned(),
            label_zh: "受教育程度".to_owned(),
            label_en: "Education".to_owned(),
            rows: vec![
                row("1", "小学及以下", "Primary or less", 0.021, 0.004, false),
                row("2", "初中", "Lower secondary", 0.085, 0.005, false),
                row("3", "高中", "Upper secondary", 0.192, 0.009, false),
                row("4", "大学专科及以上", "Tertiary", 0.356, 0.041, true),
            ],
        },
    ]
}

fn trend_points() -> Vec<TrendPoint> {
    let p = |year: i32, estimate: f64, half: f64| TrendPoint {
        year,
        source: TrendSource::Round(year.to_string()),
        estimate,
        ci_low: estimate - half,
        ci_high: estimate + half,
        n: Some(30_000),
        suppressed: false,
    };
    let published = |year, estimate| TrendPoint {
        year,
        source: TrendSource::Published("CAST, release of the survey".to_owned()),
        estimate,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        n: None,
        suppressed: false,
    };
    vec![
        published(2010, 0.0327),
        published(2015, 0.062),
        p(2018, 0.0847, 0.003),
        p(2020, 0.1056, 0.003),
        p(2022, 0.1293, 0.004),
        p(2024, 0.1537, 0.004),
    ]
}

// ---------------------------------------------------------------- reading the SVG

fn parse(svg: &str) -> Document<'_> {
    Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{svg}"))
}

fn has_class(n: &Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|x| x == class))
}

fn num(n: &Node, attr: &str) -> f64 {
    n.attribute(attr)
        .unwrap_or_else(|| panic!("<{}> has no {attr}", n.tag_name().name()))
        .parse()
        .unwrap_or_else(|e| panic!("{attr} is not a number: {e}"))
}

fn elements<'a, 'i>(doc: &'a Document<'i>, tag: &str, class: &str) -> Vec<Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.tag_name().name() == tag && has_class(n, class))
        .collect()
}

fn child<'a, 'i>(n: &Node<'a, 'i>, tag: &str, class: Option<&str>) -> Option<Node<'a, 'i>> {
    n.descendants()
        .find(|c| c.tag_name().name() == tag && class.is_none_or(|k| has_class(c, k)))
}

/// All text in the document.
fn all_text(doc: &Document) -> String {
    doc.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The viewBox's width and height; it must start at the origin.
fn view_box(doc: &Document) -> (f64, f64) {
    let vb: Vec<f64> = doc
        .root_element()
        .attribute("viewBox")
        .expect("a viewBox")
        .split_whitespace()
        .map(|s| s.parse().expect("a number"))
        .collect();
    assert_eq!(vb.len(), 4);
    assert_eq!((vb[0], vb[1]), (0.0, 0.0));
    assert!(vb[2] > 0.0 && vb[3] > 0.0);
    (vb[2], vb[3])
}

/// A linear map from data to one page coordinate, rebuilt from tick labels.
#[derive(Debug)]
struct AxisMap {
    values: Vec<f64>,
    v0: f64,
    p0: f64,
    slope: f64,
}

impl AxisMap {
    fn at(&self, v: f64) -> f64 {
        self.p0 + (v - self.v0) * self.slope
    }
    fn lo(&self) -> f64 {
        self.values[0]
    }
    fn hi(&self) -> f64 {
        self.values[self.values.len() - 1]
    }
}

/// Reads the ticks of the axis `<g class="axis {which}">`: the label of each
/// tick parsed as a percent or a year, its position from its `<line>`
/// (`x1` for the x axis, `y1` for the y axis). Checks the ticks are equally
/// spaced in value and on the page, at 1, 2 or 5 times a power of ten, and
/// inside the viewBox.
fn read_axis(doc: &Document, which: &str) -> AxisMap {
    let axis = doc
        .descendants()
        .find(|n| n.tag_name().name() == "g" && has_class(n, "axis") && has_class(n, which))
        .unwrap_or_else(|| panic!("no {which} axis"));
    let (w, h) = view_box(doc);
    let mut ticks: Vec<(f64, f64)> = axis
        .children()
        .filter(|n| has_class(n, "tick"))
        .map(|t| {
            let label = child(&t, "text", None)
                .and_then(|n| n.text())
                .expect("a tick label");
            let value = match label.strip_suffix('%') {
                Some(p) => p.parse::<f64>().expect("a percent") / 100.0,
                None => label.parse::<f64>().expect("a year"),
            };
            let line = child(&t, "line", None).expect("a tick line");
            let pos = if which == "x" {
                assert_eq!(
                    num(&line, "x1"),
                    num(&line, "x2"),
                    "tick lines are vertical"
                );
                num(&line, "x1")
            } else {
                assert_eq!(
                    num(&line, "y1"),
                    num(&line, "y2"),
                    "grid lines are horizontal"
                );
                num(&line, "y1")
            };
            let limit = if which == "x" { w } else { h };
            assert!(
                (0.0..=limit).contains(&pos),
                "tick at {pos} outside the viewBox"
            );
            (value, pos)
        })
        .collect();
    assert!(ticks.len() >= 3, "{which} axis has {} ticks", ticks.len());
    ticks.sort_by(|a, b| a.0.total_cmp(&b.0));
    let step = ticks[1].0 - ticks[0].0;
    let mantissa = step / 10f64.powf(step.log10().floor());
    assert!(
        [1.0, 2.0, 5.0, 10.0]
            .iter()
            .any(|m| (mantissa - m).abs() < 1e-6),
        "step {step} is not 1, 2 or 5 times a power of ten"
    );
    for w in ticks.windows(2) {
        assert!(
            ((w[1].0 - w[0].0) - step).abs() < 1e-9 * step.max(1.0),
            "uneven ticks"
        );
    }
    let (v0, p0) = ticks[0];
    let (v1, p1) = ticks[ticks.len() - 1];
    let slope = (p1 - p0) / (v1 - v0);
    assert!(slope.is_finite() && slope != 0.0);
    let map = AxisMap {
        values: ticks.iter().map(|t| t.0).collect(),
        v0,
        p0,
        slope,
    };
    for (v, p) in &ticks {
        assert!(
            (map.at(*v) - p).abs() < 0.02,
            "tick {v} at {p}, not on a line"
        );
    }
    map
}

/// Checks every chart shares: root `<svg>` in the SVG namespace, a viewBox
/// and no fixed size, `role="img"`, a title and a description referenced by
/// id, the CJK font stack, the language, no script and no style element.
fn check_document(doc: &Document, lang: &str) -> (String, String) {
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    view_box(doc);
    assert!(root.attribute("width").is_none() && root.attribute("height").is_none());
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(root.attribute((XML_NS, "lang")), Some(lang));
    let fonts = root.attribute("font-family").expect("a font stack");
    let order: Vec<usize> = [
        "Noto Sans CJK SC",
        "Microsoft YaHei",
        "PingFang SC",
        "sans-serif",
    ]
    .iter()
    .map(|f| {
        fonts
            .find(f)
            .unwrap_or_else(|| panic!("{f} missing from {fonts}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{fonts}");
    let mut kids = root.children().filter(|n| n.is_element());
    let title = kids.next().expect("a first child");
    let desc = kids.next().expect("a second child");
    assert_eq!(title.tag_name().name(), "title");
    assert_eq!(desc.tag_name().name(), "desc");
    let by_id = |id: &str| doc.descendants().find(|n| n.attribute("id") == Some(id));
    let labelled = root.attribute("aria-labelledby").expect("aria-labelledby");
    assert_eq!(by_id(labelled).map(|n| n.id()), Some(title.id()));
    let described = root
        .attribute("aria-describedby")
        .expect("aria-describedby");
    assert_eq!(by_id(described).map(|n| n.id()), Some(desc.id()));
    for bad in ["script", "style", "foreignObject"] {
        assert!(
            doc.descendants().all(|n| n.tag_name().name() != bad),
            "{bad}"
        );
    }
    let title = title.text().unwrap_or("").to_owned();
    let desc = desc.text().unwrap_or("").to_owned();
    assert!(!title.trim().is_empty() && !desc.trim().is_empty());
    (title, desc)
}

/// Rows of a dot plot in page order: key, dot centre, the whisker's ends.
struct DrawnRow {
    key: String,
    group: Option<String>,
    cx: Option<f64>,
    cy: Option<f64>,
    whisker: Option<(f64, f64)>,
    suppressed: bool,
    fill: Option<String>,
    label: String,
}

fn drawn_rows(doc: &Document) -> Vec<DrawnRow> {
    let mut rows: Vec<(f64, DrawnRow)> = elements(doc, "g", "row")
        .into_iter()
        .map(|g| {
            let dot = child(&g, "circle", Some("estimate"));
            let ci = child(&g, "line", Some("ci"));
            let label = child(&g, "text", Some("label")).expect("a label");
            let y = num(&label, "y");
            let whisker = ci.map(|l| {
                assert_eq!(num(&l, "y1"), num(&l, "y2"), "whiskers are horizontal");
                (num(&l, "x1"), num(&l, "x2"))
            });
            (
                y,
                DrawnRow {
                    key: g.attribute("data-key").expect("a data-key").to_owned(),
                    group: g.attribute("data-group").map(str::to_owned),
                    cx: dot.map(|d| num(&d, "cx")),
                    cy: dot.map(|d| num(&d, "cy")),
                    whisker,
                    suppressed: has_class(&g, "suppressed"),
                    fill: dot.and_then(|d| d.attribute("fill")).map(str::to_owned),
                    label: label.text().unwrap_or("").to_owned(),
                },
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    rows.into_iter().map(|r| r.1).collect()
}

// ---------------------------------------------------------------- province chart

#[test]
fn province_chart_is_an_accessible_scalable_svg() {
    let rows = provinces();
    let svg = province_chart(&rows, Some(&national()), &targets(), &Labels::new(Lang::Zh));
    let doc = parse(&svg);
    let (title, desc) = check_document(&doc, "zh-CN");
    assert!(title.contains("省"), "{title}");
    // the description names the highest and the lowest province and the national share
    let hi = rows
        .iter()
        .max_by(|a, b| a.estimate.total_cmp(&b.estimate))
        .expect("rows");
    let lo = rows
        .iter()
        .min_by(|a, b| a.estimate.total_cmp(&b.estimate))
        .expect("rows");
    assert!(
        desc.contains(&hi.label_zh) && desc.contains(&lo.label_zh),
        "{desc}"
    );
    assert!(desc.contains("31") && desc.contains("12.93%"), "{desc}");
    // every mark inside the viewBox
    let (w, h) = view_box(&doc);
    for c in doc
        .descendants()
        .filter(|n| n.tag_name().name() == "circle")
    {
        assert!((0.0..=w).contains(&num(&c, "cx")) && (0.0..=h).contains(&num(&c, "cy")));
    }
}

#[test]
fn each_province_dot_and_whisker_sit_where_the_axis_maps_its_share() {
    let rows = provinces();
    for lang in [Lang::Zh, Lang::En] {
        let svg = province_chart(&rows, Some(&national()), &targets(), &Labels::new(lang));
        let doc = parse(&svg);
        let x = read_axis(&doc, "x");
        assert!(x.lo() <= 0.0, "shares start at zero");
        let top = rows.iter().map(|r| r.ci_high).fold(0.25, f64::max);
        assert!(x.hi() >= top, "axis ends at {} below {top}", x.hi());
        let drawn = drawn_rows(&doc);
        assert_eq!(drawn.len(), rows.len());
        for r in &rows {
            let d = drawn
                .iter()
                .find(|d| d.key == r.key)
                .expect("every province drawn");
            let cx = d.cx.expect("a dot");
            assert!(
                is_close(cx, x.at(r.estimate), PIXEL),
                "{}: dot at {cx}, axis says {}",
                r.key,
                x.at(r.estimate)
            );
            let (a, b) = d.whisker.expect("a whisker");
            assert!(
                is_close(a, x.at(r.ci_low), PIXEL) && is_close(b, x.at(r.ci_high), PIXEL),
                "{}",
                r.key
            );
            assert_eq!(d.label, r.label(lang));
        }
    }
}

#[test]
fn narrow_charts_keep_every_mark_and_label_inside_the_view_box() {
    let rows = provinces();
    for width in [360.0, 420.0, 1600.0] {
        for lang in [Lang::Zh, Lang::En] {
            let labels = Labels::new(lang).with_width(width);
            let charts = [
                province_chart(&rows, Some(&national()), &targets(), &labels),
                national_chart(&national(), &targets(), &labels),
                breakdown_chart(&groups(), Some(&national()), &targets(), &labels),
                trend_chart(&trend_points(), &targets(), &labels),
            ];
            for svg in &charts {
                let doc = parse(svg);
                let (w, h) = view_box(&doc);
                assert_eq!(w, width);
                let x = read_axis(&doc, "x");
                assert!(
                    x.at(x.hi()) - x.at(x.lo()) > width * 0.3,
                    "the plot keeps room"
                );
                for n in doc.descendants().filter(|n| n.is_element()) {
                    for a in ["x", "x1", "x2", "cx"] {
                        if let Some(v) = n.attribute(a) {
                            let v: f64 = v.parse().expect("a number");
                            assert!((0.0..=w).contains(&v), "{a}={v} outside 0..{w}");
                        }
                    }
                    for a in ["y", "y1", "y2", "cy"] {
                        if let Some(v) = n.attribute(a) {
                            let v: f64 = v.parse().expect("a number");
                            assert!((0.0..=h).contains(&v), "{a}={v} outside 0..{h}");
                        }
                    }
                }
            }
        }
    }
    // out-of-range and non-finite widths fall back to the limits and the default
    let w = |width: f64| {
        view_box(&parse(&national_chart(
            &national(),
            &[],
            &Labels::new(Lang::Zh).with_width(width),
        )))
        .0
    };
    assert_eq!((w(10.0), w(1e9), w(f64::NAN)), (360.0, 1600.0, 760.0));
}

#[test]
fn provinces_are_drawn_from_the_highest_share_down() {
    let mut rows = provinces();
    rows.reverse();
    let svg = province_chart(&rows, None, &[], &Labels::new(Lang::En));
    let doc = parse(&svg);
    let drawn = drawn_rows(&doc);
    let share = |key: &str| {
        rows.iter()
            .find(|r| r.key == key)
            .expect("known key")
            .estimate
    };
    let shares: Vec<f64> = drawn.iter().map(|d| share(&d.key)).collect();
    assert_eq!(shares.len(), 31);
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{shares:?}");
    // dots go down the page in that order
    let ys: Vec<f64> = drawn.iter().map(|d| d.cy.expect("a dot")).collect();
    assert!(ys.windows(2).all(|w| w[0] < w[1]));
    let mut keys: Vec<&str> = drawn.iter().map(|d| d.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 31);
}

#[test]
fn target_and_national_lines_stand_at_their_shares() {
    let svg = province_chart(
        &provinces(),
        Some(&national()),
        &targets(),
        &Labels::new(Lang::Zh),
    );
    let doc = parse(&svg);
    let x = read_axis(&doc, "x");
    let lines = elements(&doc, "g", "target");
    assert_eq!(lines.len(), 4);
    for t in targets() {
        let g = lines
            .iter()
            .find(|g| {
                g.attribute("data-year") == Some(&t.year.to_string())
                    && g.attribute("data-plan") == Some(&t.plan)
            })
            .unwrap_or_else(|| panic!("no line for {} {}", t.plan, t.year));
        let line = child(g, "line", None).expect("a line");
        assert_eq!(num(&line, "x1"), num(&line, "x2"), "vertical");
        assert!(
            is_close(num(&line, "x1"), x.at(t.share), PIXEL),
            "{} at {}",
            t.share,
            num(&line, "x1")
        );
        assert!(
            line.attribute("stroke-dasharray").is_some(),
            "targets are dashed"
        );
        let text = child(g, "text", None)
            .and_then(|n| n.text())
            .expect("a label");
        let expected = format!("{} 目标 {}%", t.year, (t.share * 100.0).round());
        assert_eq!(text, expected);
    }
    let nat = elements(&doc, "g", "national");
    assert_eq!(nat.len(), 1);
    let line = child(&nat[0], "line", None).expect("a line");
    assert!(is_close(num(&line, "x1"), x.at(national().estimate), PIXEL));
    assert!(
        line.attribute("stroke-dasharray").is_none(),
        "the national line is solid"
    );
    // the two plans are told apart by colour
    let stroke = |plan: &str| {
        lines
            .iter()
            .find(|g| g.attribute("data-plan") == Some(plan))
            .and_then(|g| child(g, "line", None))
            .and_then(|l| l.attribute("stroke"))
            .map(str::to_owned)
    };
    assert_ne!(stroke("cast-2018"), stroke("state-council-2021"));
}

#[test]
fn reference_labels_do_not_share_a_lane_when_they_would_overlap() {
    // 20% and 20.5%: the labels would overlap on one line.
    let ts = vec![
        TargetLine::new("a", 2035, 0.20),
        TargetLine::new("b", 2035, 0.205),
    ];
    let svg = province_chart(&provinces(), None, &ts, &Labels::new(Lang::Zh));
    let doc = parse(&svg);
    let ys: Vec<f64> = elements(&doc, "g", "target")
        .iter()
        .map(|g| num(&child(g, "text", None).expect("a label"), "y"))
        .collect();
    assert_eq!(ys.len(), 2);
    assert_ne!(ys[0], ys[1]);
}

#[test]
fn labels_are_in_the_chosen_language() {
    let rows = provinces();
    let zh = parse_text(&province_chart(
        &rows,
        Some(&national()),
        &targets(),
        &Labels::new(Lang::Zh),
    ));
    for name in ["北京", "内蒙古", "黑龙江", "新疆", "全国", "2025 目标 15%"] {
        assert!(zh.contains(name), "{name} missing");
    }
    assert!(!zh.contains("Beijing"));
    let en = parse_text(&province_chart(
        &rows,
        Some(&national()),
        &targets(),
        &Labels::new(Lang::En),
    ));
    for name in ["Beijing", "Inner Mongolia", "National", "2025 target 15%"] {
        assert!(en.contains(name), "{name} missing");
    }
    assert!(!en.contains("北京"));
    // an empty English label falls back to the Chinese one
    let mut rows = provinces();
    rows[0].label_en.clear();
    let en = parse_text(&province_chart(&rows, None, &[], &Labels::new(Lang::En)));
    assert!(en.contains(&rows[0].label_zh));
}

fn parse_text(svg: &str) -> String {
    all_text(&parse(svg))
}

#[test]
fn markup_in_labels_is_escaped_and_reads_back_unchanged() {
    let nasty = r#"<b>&</b>"' ]]><!--"#;
    let mut rows = provinces();
    rows[3].label_zh = nasty.to_owned();
    rows[3].key = r#"k"<&>"#.to_owned();
    let mut ts = targets();
    ts[0].label = "<script>alert(1)</script>".to_owned();
    let labels = Labels::new(Lang::Zh)
        .with_title("标题 <i>&amp;</i>")
        .with_source("来源: \"A\" & 'B' <C>\u{0}\u{1b}");
    let svg = province_chart(&rows, None, &ts, &labels);
    let doc = parse(&svg);
    let (title, _) = check_document(&doc, "zh-CN");
    assert_eq!(title, "标题 <i>&amp;</i>");
    let row = drawn_rows(&doc)
        .into_iter()
        .find(|r| r.key == r#"k"<&>"#)
        .expect("the row, its key unescaped");
    assert_eq!(row.label, nasty);
    let text = all_text(&doc);
    assert!(
        text.contains("<script>alert(1)</script>"),
        "the label is text"
    );
    assert!(text.contains("来源: \"A\" & 'B' <C>"));
    assert!(!svg.contains("<b>") && !svg.contains("<script") && !svg.contains('\u{0}'));
    // only the elements the chart itself writes
    for n in doc.descendants().filter(|n| n.is_element()) {
        assert!(
            [
                "svg", "title", "desc", "rect", "g", "text", "line", "circle", "polygon",
                "polyline"
            ]
            .contains(&n.tag_name().name()),
            "unexpected <{}>",
            n.tag_name().name()
        );
    }
}

#[test]
fn long_labels_are_cut_but_the_tooltip_keeps_them_whole() {
    let mut rows = provinces();
    let long = "Xinjiang Uygur Autonomous Region and Xinjiang Production and Construction Corps";
    rows[30].label_en = long.to_owned();
    let svg = province_chart(&rows, None, &[], &Labels::new(Lang::En));
    let doc = parse(&svg);
    let g = elements(&doc, "g", "row")
        .into_iter()
        .find(|g| g.attribute("data-key") == Some("65"))
        .expect("Xinjiang");
    let label = child(&g, "text", Some("label"))
        .and_then(|n| n.text())
        .expect("a label");
    assert!(label.ends_with('…') && label.len() < long.len(), "{label}");
    let tip = child(&g, "title", None)
        .and_then(|n| n.text())
        .expect("a tooltip");
    assert!(tip.contains(long));
    // the label column does not push the plot off the page
    let x = read_axis(&doc, "x");
    assert!(x.at(x.lo()) > 0.0 && x.at(x.hi()) < view_box(&doc).0);
}

#[test]
fn suppressed_estimates_are_hollow_grey_and_in_the_legend() {
    let svg = province_chart(&provinces(), None, &targets(), &Labels::new(Lang::Zh));
    let doc = parse(&svg);
    let drawn = drawn_rows(&doc);
    let suppressed: Vec<&DrawnRow> = drawn.iter().filter(|d| d.suppressed).collect();
    let mut keys: Vec<&str> = suppressed.iter().map(|d| d.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["54", "63"]);
    let filled = drawn
        .iter()
        .find(|d| !d.suppressed)
        .and_then(|d| d.fill.clone());
    for d in &suppressed {
        let fill = d.fill.as_deref().expect("a fill");
        assert!(
            fill == "none" || fill.eq_ignore_ascii_case("#ffffff"),
            "hollow, not {fill}"
        );
        assert_ne!(Some(fill.to_owned()), filled);
    }
    let item = elements(&doc, "g", "legend-item")
        .into_iter()
        .find(|g| has_class(g, "legend-suppressed"))
        .expect("a legend item for suppressed estimates");
    let swatch = child(&item, "circle", None).expect("a swatch");
    let dot = elements(&doc, "g", "row")
        .into_iter()
        .find(|g| g.attribute("data-key") == Some("54"))
        .and_then(|g| child(&g, "circle", None))
        .expect("Tibet's dot");
    assert_eq!(swatch.attribute("fill"), dot.attribute("fill"));
    assert_eq!(swatch.attribute("stroke"), dot.attribute("stroke"));
    // no suppressed row: no such legend item
    let mut rows = provinces();
    rows.iter_mut().for_each(|r| r.suppressed = false);
    let doc2 = province_chart(&rows, None, &[], &Labels::new(Lang::Zh));
    let doc2 = parse(&doc2);
    assert!(
        elements(&doc2, "g", "legend-item")
            .iter()
            .all(|g| !has_class(g, "legend-suppressed"))
    );
}

// ---------------------------------------------------------------- empty and non-finite input

fn message(doc: &Document) -> Option<String> {
    elements(doc, "text", "message")
        .first()
        .and_then(|n| n.text())
        .map(str::to_owned)
}

#[test]
fn empty_or_non_finite_input_gives_a_valid_chart_with_a_message() {
    let nan_rows: Vec<ShareRow> = provinces()
        .into_iter()
        .map(|mut r| {
            r.estimate = f64::NAN;
            r
        })
        .collect();
    let nan_national = ShareRow {
        estimate: f64::INFINITY,
        ..national()
    };
    let nan_trend = vec![TrendPoint {
        year: 2020,
        source: TrendSource::Round("2020".to_owned()),
        estimate: f64::NAN,
        ci_low: 0.1,
        ci_high: 0.2,
        n: None,
        suppressed: false,
    }];
    let huge = vec![ShareRow {
        estimate: f64::MAX,
        ..national()
    }];
    let lz = Labels::new(Lang::Zh);
    let le = Labels::new(Lang::En);
    let charts = [
        (province_chart(&[], None, &[], &lz), "zh-CN"),
        (
            province_chart(&[], Some(&national()), &targets(), &le),
            "en",
        ),
        (province_chart(&nan_rows, None, &targets(), &lz), "zh-CN"),
        (province_chart(&huge, None, &[], &le), "en"),
        (national_chart(&nan_national, &targets(), &lz), "zh-CN"),
        (breakdown_chart(&[], None, &targets(), &lz), "zh-CN"),
        (
            breakdown_chart(
                &[Group {
                    key: "sex".into(),
                    label_zh: "性别".into(),
                    label_en: "Sex".into(),
                    rows: vec![],
                }],
                None,
                &[],
                &le,
            ),
            "en",
        ),
        (trend_chart(&[], &targets(), &lz), "zh-CN"),
        (trend_chart(&nan_trend, &targets(), &le), "en"),
    ];
    for (svg, lang) in &charts {
        let doc = parse(svg);
        check_document(&doc, lang);
        let m = message(&doc).unwrap_or_else(|| panic!("no message in\n{svg}"));
        assert!(!m.trim().is_empty());
        assert!(
            doc.descendants().all(|n| n.tag_name().name() != "circle"),
            "no dots"
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }
    // a chart with data has no message
    let svg = province_chart(&provinces(), None, &[], &lz);
    assert!(message(&parse(&svg)).is_none());
}

#[test]
fn rows_without_a_finite_estimate_are_listed_last_without_a_dot() {
    let mut rows = provinces();
    rows[0].estimate = f64::NAN; // Beijing
    rows[1].ci_low = f64::NEG_INFINITY; // Tianjin: no whisker
    rows[2].ci_high = f64::NAN; // Hebei: no whisker
    let mut ts = targets();
    ts.push(TargetLine::new("bad", 2030, f64::NAN));
    let svg = province_chart(&rows, Some(&national()), &ts, &Labels::new(Lang::En));
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    let doc = parse(&svg);
    let x = read_axis(&doc, "x");
    let drawn = drawn_rows(&doc);
    let last = drawn.last().expect("rows");
    assert_eq!(last.key, "11");
    assert!(last.cx.is_none() && last.whisker.is_none());
    for key in ["12", "13"] {
        let d = drawn.iter().find(|d| d.key == key).expect("drawn");
        assert!(d.whisker.is_none(), "{key}");
        let r = rows.iter().find(|r| r.key == key).expect("a row");
        assert!(is_close(d.cx.expect("a dot"), x.at(r.estimate), PIXEL));
    }
    assert_eq!(
        elements(&doc, "g", "target").len(),
        4,
        "the NaN target is left out"
    );
}

#[test]
fn fuzzed_input_never_breaks_the_document() {
    // A fixed pseudo-random sequence (64-bit LCG) of awkward numbers and labels.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 11
    };
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.05,
        0.0,
        1.0,
        1.7,
        1e-12,
        1e9,
        -0.0,
    ];
    let texts = [
        "",
        " ",
        "<",
        "&amp;",
        "\"",
        "北京",
        "a\u{7}b",
        "\u{fffe}",
        "Ω≈ç√",
        "🙂",
    ];
    for round in 0..60 {
        let mut num = || {
            let r = next();
            if r % 5 == 0 {
                specials[(r / 5 % specials.len() as u64) as usize]
            } else {
                (r % 10_000) as f64 / 20_000.0
            }
        };
        let len = round % 7;
        let rows: Vec<ShareRow> = (0..len)
            .map(|i| ShareRow {
                key: texts[(i + round) % texts.len()].to_owned(),
                label_zh: texts[(i * 3 + round) % texts.len()].to_owned(),
                label_en: texts[(i * 7 + round) % texts.len()].to_owned(),
                estimate: num(),
                ci_low: num(),
                ci_high: num(),
                n: i,
                suppressed: i % 2 == 0,
            })
            .collect();
        let ts: Vec<TargetLine> = (0..round % 4)
            .map(|i| TargetLine::new(texts[i], 2000 + (i as i32) * 13, num()))
            .collect();
        let points: Vec<TrendPoint> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| TrendPoint {
                year: [2010, 1990, 2100, 2010, 2024, 2023, 2022][i],
                source: TrendSource::Round(texts[i % texts.len()].to_owned()),
                estimate: r.estimate,
                ci_low: r.ci_low,
                ci_high: r.ci_high,
                n: Some(i),
                suppressed: r.suppressed,
            })
            .collect();
        let lang = if round % 2 == 0 { Lang::Zh } else { Lang::En };
        let labels = Labels::new(lang).with_title(texts[round % texts.len()]);
        let fallback = national();
        let nat = rows.first();
        let group = Group {
            key: "g".into(),
            label_zh: "组".into(),
            label_en: "G".into(),
            rows: rows.clone(),
        };
        let charts = [
            province_chart(&rows, nat, &ts, &labels),
            breakdown_chart(std::slice::from_ref(&group), nat, &ts, &labels),
            trend_chart(&points, &ts, &labels),
            national_chart(nat.unwrap_or(&fallback), &ts, &labels),
        ];
        for svg in &charts {
            let doc = parse(svg);
            check_document(&doc, lang.tag());
            assert!(
                !svg.contains("NaN") && !svg.contains("inf"),
                "round {round}:\n{svg}"
            );
            for n in doc.descendants().filter(|n| n.is_element()) {
                for a in [
                    "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height",
                ] {
                    if let Some(v) = n.attribute(a) {
                        let v: f64 = v.parse().unwrap_or_else(|_| panic!("{a}={v}"));
                        assert!(v.is_finite());
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- national chart

#[test]
fn national_chart_places_the_share_among_both_plans_targets() {
    let nat = national();
    let svg = national_chart(&nat, &targets(), &Labels::new(Lang::Zh));
    let doc = parse(&svg);
    let (_, desc) = check_document(&doc, "zh-CN");
    for t in [
        "2020 目标 10%",
        "2025 目标 15%",
        "2035 目标 20%",
        "2035 目标 25%",
        "12.93%",
    ] {
        assert!(desc.contains(t), "{t} not in {desc}");
    }
    let x = read_axis(&doc, "x");
    let drawn = drawn_rows(&doc);
    assert_eq!(drawn.len(), 1);
    assert!(is_close(
        drawn[0].cx.expect("a dot"),
        x.at(nat.estimate),
        PIXEL
    ));
    let (a, b) = drawn[0].whisker.expect("a whisker");
    assert!(is_close(a, x.at(nat.ci_low), PIXEL) && is_close(b, x.at(nat.ci_high), PIXEL));
    let targets_drawn = elements(&doc, "g", "target");
    assert_eq!(targets_drawn.len(), 4);
    for t in targets() {
        let hit = targets_drawn.iter().any(|g| {
            g.attribute("data-year") == Some(&t.year.to_string())
                && child(g, "line", None)
                    .is_some_and(|l| is_close(num(&l, "x1"), x.at(t.share), PIXEL))
        });
        assert!(hit, "{} {}", t.year, t.share);
    }
    // one legend entry per plan, naming its years and shares
    let legend: Vec<String> = elements(&doc, "g", "legend-item")
        .iter()
        .filter(|g| has_class(g, "legend-target"))
        .filter_map(|g| {
            child(g, "text", None)
                .and_then(|t| t.text())
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(legend.len(), 2, "{legend:?}");
    assert!(
        legend
            .iter()
            .any(|l| l.contains("2020") && l.contains("10%") && l.contains("20%"))
    );
    assert!(
        legend
            .iter()
            .any(|l| l.contains("2025") && l.contains("15%") && l.contains("25%"))
    );
}

// ---------------------------------------------------------------- breakdown chart

#[test]
fn breakdown_chart_groups_categories_in_their_order() {
    let gs = groups();
    let svg = breakdown_chart(&gs, Some(&national()), &targets(), &Labels::new(Lang::Zh));
    let doc = parse(&svg);
    let (_, desc) = check_document(&doc, "zh-CN");
    assert!(
        desc.contains("性别") && desc.contains("农村 7.10%"),
        "{desc}"
    );
    let x = read_axis(&doc, "x");
    // headings in the given order, each above its own rows
    let headings: Vec<(String, f64)> = elements(&doc, "g", "group")
        .iter()
        .map(|g| {
            let t = child(g, "text", None).expect("a heading");
            (t.text().unwrap_or("").to_owned(), num(&t, "y"))
        })
        .collect();
    let names: Vec<&str> = headings.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(names, ["性别", "城乡", "受教育程度"]);
    let drawn = drawn_rows(&doc);
    let expected: Vec<(String, String)> = gs
        .iter()
        .flat_map(|g| g.rows.iter().map(|r| (g.key.clone(), r.key.clone())))
        .collect();
    let got: Vec<(String, String)> = drawn
        .iter()
        .map(|d| (d.group.clone().expect("a group"), d.key.clone()))
        .collect();
    assert_eq!(got, expected, "rows in the given order, not sorted");
    for (gi, g) in gs.iter().enumerate() {
        let start = headings[gi].1;
        let end = headings.get(gi + 1).map_or(f64::INFINITY, |h| h.1);
        for r in &g.rows {
            let d = drawn
                .iter()
                .find(|d| d.group.as_deref() == Some(&g.key) && d.key == r.key)
                .expect("drawn");
            let cy = d.cy.expect("a dot");
            assert!(
                cy > start && cy < end,
                "{} {} outside its group",
                g.key,
                r.key
            );
            assert!(is_close(d.cx.expect("a dot"), x.at(r.estimate), PIXEL));
            assert_eq!(d.label, r.label_zh);
            assert_eq!(d.suppressed, r.suppressed);
        }
    }
    // the tertiary share (35.6% + 4.1%) widens the axis
    assert!(x.hi() >= 0.397);
}

// ---------------------------------------------------------------- trend chart

#[test]
fn trend_points_and_targets_sit_where_both_axes_map_them() {
    let points = trend_points();
    let ts = targets();
    let svg = trend_chart(
        &points,
        &ts,
        &Labels::new(Lang::En).with_source("CAST survey rounds"),
    );
    let doc = parse(&svg);
    let (_, desc) = check_document(&doc, "en");
    assert!(
        desc.contains("2010: 3.27%") && desc.contains("2035 target 25%"),
        "{desc}"
    );
    let x = read_axis(&doc, "x");
    let y = read_axis(&doc, "y");
    assert!(x.values.iter().all(|v| v.fract() == 0.0), "years are whole");
    assert!(x.lo() <= 2010.0 && x.hi() >= 2035.0);
    assert!(y.lo() <= 0.0 && y.hi() >= 0.25);
    assert!(y.slope < 0.0, "shares go up the page");
    let groups = elements(&doc, "g", "point");
    assert_eq!(groups.len(), points.len());
    for p in &points {
        let g = groups
            .iter()
            .find(|g| g.attribute("data-year") == Some(&p.year.to_string()))
            .expect("every round");
        let dot = child(g, "circle", None).expect("a dot");
        assert!(
            is_close(num(&dot, "cx"), x.at(f64::from(p.year)), PIXEL),
            "{}",
            p.year
        );
        assert!(
            is_close(num(&dot, "cy"), y.at(p.estimate), PIXEL),
            "{}",
            p.year
        );
        match child(g, "line", Some("ci")) {
            Some(l) => {
                assert!(p.ci_low.is_finite());
                assert_eq!(num(&l, "x1"), num(&l, "x2"));
                let (a, b) = (num(&l, "y1"), num(&l, "y2"));
                assert!(
                    is_close(a.max(b), y.at(p.ci_low), PIXEL)
                        && is_close(a.min(b), y.at(p.ci_high), PIXEL)
                );
            }
            None => assert!(p.ci_low.is_nan(), "{} lost its whisker", p.year),
        }
    }
    for t in &ts {
        let g = elements(&doc, "g", "target")
            .into_iter()
            .find(|g| {
                g.attribute("data-year") == Some(&t.year.to_string())
                    && g.attribute("data-plan") == Some(&t.plan)
            })
            .expect("every target");
        let poly = child(&g, "polygon", None).expect("a marker");
        let pts: Vec<(f64, f64)> = poly
            .attribute("points")
            .expect("points")
            .split_whitespace()
            .map(|p| {
                let (a, b) = p.split_once(',').expect("x,y");
                (a.parse().expect("x"), b.parse().expect("y"))
            })
            .collect();
        let cx = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
        let cy = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
        assert!(
            is_close(cx, x.at(f64::from(t.year)), PIXEL) && is_close(cy, y.at(t.share), PIXEL),
            "{t:?}"
        );
    }
    // each plan's targets joined by a dashed path
    let paths = elements(&doc, "polyline", "target-path");
    assert_eq!(paths.len(), 2);
    assert!(
        paths
            .iter()
            .all(|p| p.attribute("stroke-dasharray").is_some())
    );
    assert!(all_text(&doc).contains("CAST survey rounds"));
}

#[test]
fn trend_of_one_round_still_has_an_axis_around_it() {
    let p = TrendPoint {
        year: 2024,
        source: TrendSource::Round("2024".to_owned()),
        estimate: 0.1537,
        ci_low: 0.15,
        ci_high: 0.157,
        n: Some(1),
        suppressed: true,
    };
    let doc_text = trend_chart(std::slice::from_ref(&p), &[], &Labels::new(Lang::Zh));
    let doc = parse(&doc_text);
    let x = read_axis(&doc, "x");
    let y = read_axis(&doc, "y");
    assert!(x.lo() < 2024.0 && x.hi() > 2024.0);
    let dot = elements(&doc, "circle", "estimate").pop().expect("a dot");
    assert!(
        is_close(num(&dot, "cx"), x.at(2024.0), PIXEL)
            && is_close(num(&dot, "cy"), y.at(0.1537), PIXEL)
    );
    assert_eq!(dot.attribute("fill"), Some("#ffffff"), "suppressed: hollow");
}

#[test]
fn two_charts_on_one_page_have_distinct_ids() {
    let a = province_chart(&provinces(), None, &[], &Labels::new(Lang::Zh));
    let b = national_chart(&national(), &targets(), &Labels::new(Lang::Zh));
    let ids = |s: &str| -> Vec<String> {
        parse(s)
            .descendants()
            .filter_map(|n| n.attribute("id").map(str::to_owned))
            .collect()
    };
    let (ia, ib) = (ids(&a), ids(&b));
    assert_eq!(ia.len(), 2);
    assert!(ia.iter().all(|i| !ib.contains(i)));
    // and the same chart twice is the same text
    assert_eq!(
        a,
        province_chart(&provinces(), None, &[], &Labels::new(Lang::Zh))
    );
}

// ---------------------------------------------------------------- CSV

fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    let (header, records) = csv_text::read(text.as_bytes());
    let rows = records
        .iter()
        .map(|r| r.iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn back(s: &str) -> f64 {
    if s.is_empty() {
        f64::NAN
    } else {
        s.parse().expect("a number")
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

#[test]
fn share_csv_round_trips_through_a_csv_reader() {
    let mut rows = provinces();
    rows[0].label_en = "Beijing, \"the capital\"".to_owned();
    rows[1].label_en = "two\nlines\r\nhere".to_owned();
    rows[2].label_en = "  padded ".to_owned();
    rows[3].label_zh = "=SUM(A1)".to_owned();
    rows[4].estimate = f64::NAN;
    rows[5].ci_high = f64::INFINITY;
    rows[6].estimate = 0.1 + 0.2; // full precision
    let text = shares_to_csv(&rows);
    assert!(text.contains("\r\n"));
    let (header, back_rows) = read_csv(&text);
    let want: Vec<&str> = "key label_zh label_en estimate ci_low ci_high n suppressed"
        .split(' ')
        .collect();
    assert_eq!(header, want);
    assert_eq!(back_rows.len(), rows.len());
    // A label a spreadsheet would run as a formula comes back with a
    // leading ' (the OWASP rule); every other text exactly.
    let written = |s: &str| {
        if s.starts_with('=') {
            format!("'{s}")
        } else {
            s.to_owned()
        }
    };
    assert_eq!(back_rows[3][1], "'=SUM(A1)");
    for (r, b) in rows.iter().zip(&back_rows) {
        assert_eq!(b[0], r.key);
        assert_eq!(b[1], written(&r.label_zh));
        assert_eq!(b[2], r.label_en);
        let finite = |x: f64| if x.is_finite() { x } else { f64::NAN };
        assert!(
            same(back(&b[3]), finite(r.estimate)),
            "{} vs {}",
            b[3],
            r.estimate
        );
        assert!(same(back(&b[4]), finite(r.ci_low)));
        assert!(same(back(&b[5]), finite(r.ci_high)));
        assert_eq!(b[6].parse::<usize>().expect("n"), r.n);
        assert_eq!(b[7].parse::<bool>().expect("a bool"), r.suppressed);
    }
    assert_eq!(back(&back_rows[6][3]).to_bits(), (0.1_f64 + 0.2).to_bits());
    assert!(
        shares_to_csv(&[]).lines().count() == 1,
        "an empty table keeps its header"
    );
}

#[test]
fn breakdown_trend_and_target_csv_round_trip() {
    let gs = groups();
    let (header, rows) = read_csv(&breakdown_to_csv(&gs));
    assert_eq!(&header[..4], ["group_key", "group_zh", "group_en", "key"]);
    let flat: Vec<(&Group, &ShareRow)> = gs
        .iter()
        .flat_map(|g| g.rows.iter().map(move |r| (g, r)))
        .collect();
    assert_eq!(rows.len(), flat.len());
    for ((g, r), b) in flat.iter().zip(&rows) {
        assert_eq!((&b[0], &b[1], &b[2]), (&g.key, &g.label_zh, &g.label_en));
        assert_eq!((&b[3], &b[4], &b[5]), (&r.key, &r.label_zh, &r.label_en));
        assert_eq!(back(&b[6]), r.estimate);
        assert_eq!(b[10], r.suppressed.to_string());
    }

    let pts = trend_points();
    let (header, rows) = read_csv(&trend_to_csv(&pts));
    let want: Vec<&str> = "year series estimate ci_low ci_high n suppressed source"
        .split(' ')
        .collect();
    assert_eq!(header, want);
    assert_eq!(rows.len(), pts.len());
    for (p, b) in pts.iter().zip(&rows) {
        assert_eq!(b[0].parse::<i32>().expect("a year"), p.year);
        assert_eq!(back(&b[2]), p.estimate);
        assert!(same(back(&b[3]), p.ci_low) && same(back(&b[4]), p.ci_high));
        assert_eq!(b[5].parse::<usize>().ok(), p.n);
    }
    // Which figures were published and which this service estimated.
    assert_eq!(
        (&rows[0][1], &rows[0][7]),
        (
            &"published".to_owned(),
            &"CAST, release of the survey".to_owned()
        )
    );
    assert_eq!(
        (&rows[2][1], &rows[2][7]),
        (&"estimate".to_owned(), &"2018".to_owned())
    );

    let mut ts = targets();
    ts[1].label = "2035年, \"远景\"".to_owned();
    let (header, rows) = read_csv(&targets_to_csv(&ts));
    assert_eq!(header, ["plan", "year", "share", "label_zh", "label_en"]);
    assert_eq!(
        rows[0],
        [
            "cast-2018",
            "2020",
            "0.1",
            "2020 目标 10%",
            "2020 target 10%"
        ]
    );
    assert_eq!(rows[1][3], "2035年, \"远景\"");
    assert_eq!(back(&rows[3][2]), 0.25);
}

#[test]
fn no_reference_line_rises_through_another_line_s_label() {
    // national 12.9%, targets 10, 15, 20, 25% and two close ones: any label
    // at least 30 units wide that a line crosses must sit above that line's top.
    let mut ts = targets();
    ts.push(TargetLine::new("x", 2030, 0.135));
    ts.push(TargetLine::new("x", 2031, 0.14));
    for (lang, width) in [
        (Lang::Zh, 760.0),
        (Lang::En, 760.0),
        (Lang::Zh, 380.0),
        (Lang::En, 380.0),
    ] {
        let labels = Labels::new(lang).with_width(width);
        let svg = province_chart(&provinces(), Some(&national()), &ts, &labels);
        let doc = parse(&svg);
        let refs: Vec<(f64, f64, f64, bool)> = elements(&doc, "g", "target")
            .into_iter()
            .chain(elements(&doc, "g", "national"))
            .map(|g| {
                let line = child(&g, "line", None).expect("a line");
                let text = child(&g, "text", None).expect("a label");
                let top = num(&line, "y1").min(num(&line, "y2"));
                let start = text.attribute("text-anchor") != Some("end");
                (num(&line, "x1"), top, num(&text, "y"), start)
            })
            .collect();
        assert_eq!(refs.len(), 7);
        for (i, &(xi, _, label_y, start)) in refs.iter().enumerate() {
            let (lo, hi) = if start {
                (xi + 4.0, xi + 34.0)
            } else {
                (xi - 34.0, xi - 4.0)
            };
            for (j, &(xj, top_j, _, _)) in refs.iter().enumerate() {
                if i != j && xj > lo && xj < hi {
                    assert!(
                        top_j > label_y,
                        "line at {xj} crosses the label at {xi} (y {label_y})"
                    );
                }
            }
        }
    }
}

#[test]
fn the_legend_names_the_confidence_level_when_given() {
    let legend_text = |svg: &str| -> String {
        let doc = parse(svg);
        elements(&doc, "g", "legend-estimate")
            .first()
            .and_then(|g| child(g, "text", None))
            .and_then(|t| t.text())
            .expect("an estimate legend item")
            .to_owned()
    };
    let zh = Labels::new(Lang::Zh).with_ci_level(0.95);
    let en = Labels::new(Lang::En).with_ci_level(0.9);
    assert_eq!(
        legend_text(&province_chart(&provinces(), None, &[], &zh)),
        "估计值及95%置信区间"
    );
    assert_eq!(
        legend_text(&trend_chart(&trend_points(), &[], &en)),
        "Estimate and 90% confidence interval"
    );
    let plain = legend_text(&national_chart(&national(), &[], &Labels::new(Lang::Zh)));
    assert_eq!(plain, "估计值及置信区间");
    let nonsense = Labels::new(Lang::En).with_ci_level(f64::NAN);
    assert_eq!(
        legend_text(&breakdown_chart(&groups(), None, &[], &nonsense)),
        "Estimate and confidence interval"
    );
}
