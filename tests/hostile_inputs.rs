//! Files as people really have them, through `literacy estimate` and
//! `literacy weight`: Chinese Excel's GBK, Windows line ends, a stray
//! quote, a value that does not belong, a repeated column or respondent,
//! weights that cannot be. Each is read exactly or refused naming the
//! line, the column and the reason, never half read.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::{SYNTH_DESIGN, root};
use literacy_test_support::cmd::{self, stderr};
use literacy_test_support::dirs::scratch;

fn literacy(args: &[&str]) -> Output {
    cmd::run(env!("CARGO_BIN_EXE_literacy"), None, args)
}

/// R's reference microdata (`tests/reference/data/synth.csv`) as lines,
/// with a Chinese `地区` column (城镇 urban, 乡村 rural).
fn synth() -> Vec<String> {
    let text =
        std::fs::read_to_string(root().join("tests/reference/data/synth.csv")).expect("synth");
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let urban = line.split(',').nth(5).expect("urban_rural");
            let label = match (i, urban) {
                (0, _) => "地区",
                (_, "1") => "城镇",
                _ => "乡村",
            };
            format!("{line},{label}")
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("written");
    path.to_str().expect("UTF-8 path").to_owned()
}

/// `lines` written into `dir` as `name`, each ended by `end` (UTF-8).
fn write_lines(dir: &Path, name: &str, lines: &[String], end: &str) -> String {
    write(dir, name, format!("{}{end}", lines.join(end)).as_bytes())
}

/// `line` with its field `column` (from 0) set to `value`.
fn with_field(line: &str, column: usize, value: &str) -> String {
    let mut f: Vec<&str> = line.split(',').collect();
    f[column] = value;
    f.join(",")
}

/// The JSON of [`estimate`] of the qualified share by `by` on `file`,
/// which must succeed.
fn estimates(file: &str, by: &str) -> Value {
    cmd::json(&estimate(file, by, &[]))
}

/// `lines` written into `dir` twice: `utf8.csv` with LF line ends, and
/// `gbk.csv` in GB18030 with CRLF, as Chinese Excel saves it; their paths.
fn utf8_and_gbk(dir: &Path, lines: &[String]) -> (String, String) {
    let utf8 = write_lines(dir, "utf8.csv", lines, "\n");
    let crlf = format!("{}\r\n", lines.join("\r\n"));
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(&crlf);
    assert!(!unmappable);
    (utf8, write(dir, "gbk.csv", &gbk))
}

/// `estimate` of the qualified share by `by` on `file`, with `extra` options.
fn estimate(file: &str, by: &str, extra: &[&str]) -> Output {
    let mut args = vec!["estimate", "--data", file];
    args.extend(SYNTH_DESIGN);
    args.extend([
        "--outcome",
        "qualified",
        "--by",
        by,
        "--lonely-psu",
        "adjust",
    ]);
    args.extend_from_slice(extra);
    literacy(&args)
}

fn refused(o: &Output, parts: &[&str]) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    let said = stderr(o);
    for part in parts {
        assert!(said.contains(part), "{part:?} missing from: {said}");
    }
}

#[test]
fn gbk_and_crlf_files_give_the_same_estimates_as_utf8() {
    let dir = scratch("hostile-encodings");
    let lines = synth();
    let (utf8, gbk) = utf8_and_gbk(&dir, &lines);
    let (a, b) = (estimates(&utf8, "地区"), estimates(&gbk, "地区"));
    assert_eq!(a["estimates"], b["estimates"]);
    let labels: Vec<&str> = a["estimates"]
        .as_array()
        .expect("estimates")
        .iter()
        .map(|e| e["domain"]["地区"].as_str().unwrap_or_default())
        .collect();
    assert!(labels.contains(&"城镇") && labels.contains(&"乡村"), "{a}");
    // Named as UTF-8, the GBK file is refused at its first Chinese byte.
    refused(
        &estimate(&gbk, "地区", &["--encoding", "utf-8"]),
        &["gbk.csv", "line 1: not valid utf-8"],
    );
    // `weight` reads it the same way and writes UTF-8.
    let out = dir.join("weighted.csv");
    let o = literacy(&[
        "weight",
        "--data",
        &gbk,
        "--weight",
        "weight",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(&out).expect("UTF-8 output");
    assert!(
        written.starts_with(&format!("{},final_weight\n", lines[0])),
        "{written:.200}"
    );
    assert!(written.contains(",城镇,"));
}

#[test]
fn bad_cells_are_refused_at_their_physical_line() {
    let dir = scratch("hostile-cells");
    let mut lines = synth();
    // A Windows file with a quoted line break in row 10 and a typo in row 100.
    lines[10] = lines[10]
        .replace("城镇", "\"城\r\n镇\"")
        .replace("乡村", "\"乡\r\n村\"");
    lines[100] = with_field(&lines[100], 8, "abc");
    let file = write_lines(&dir, "crlf.csv", &lines, "\r\n");
    // Line 1 is the header, row k is on line k + 1, plus one for the break.
    refused(
        &estimate(&file, "sex", &[]),
        &["line 102, column qualified", "\"abc\" is not a number"],
    );
}

#[test]
fn a_share_needs_zeros_and_ones_and_says_where_it_has_not() {
    let dir = scratch("hostile-share");
    let mut lines = synth();
    for row in [7, 8] {
        lines[row] = with_field(&lines[row], 8, "2");
    }
    let file = write_lines(&dir, "two.csv", &lines, "\n");
    refused(
        &estimate(&file, "sex", &[]),
        &[
            "column qualified",
            "line 8 (2), line 9 (2)",
            "--statistic mean",
        ],
    );
    let mean = estimate(&file, "sex", &["--statistic", "mean"]);
    assert!(mean.status.success(), "{}", stderr(&mean));
}

#[test]
fn weights_that_cannot_be_are_refused_by_row() {
    let dir = scratch("hostile-weights");
    let lines = synth();
    let with_weight = |row: usize, value: &str| -> Vec<String> {
        let mut out = lines.clone();
        out[row] = with_field(&out[row], 3, value);
        out
    };
    let huge = write_lines(&dir, "huge.csv", &with_weight(50, "1e308"), "\n");
    refused(
        &estimate(&huge, "sex", &[]),
        &["column weight", "line 51 (1e308)"],
    );
    let negative = write_lines(&dir, "negative.csv", &with_weight(3, "-2"), "\n");
    refused(
        &estimate(&negative, "sex", &[]),
        &["negative weights at line 4 (-2)"],
    );
    let zero: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.clone()
            } else {
                with_field(l, 3, "0")
            }
        })
        .collect();
    let zero = write_lines(&dir, "zero.csv", &zero, "\n");
    refused(&estimate(&zero, "sex", &[]), &["every weight is zero"]);
}

#[test]
fn repeated_columns_respondents_and_stray_quotes_refuse_the_file() {
    let dir = scratch("hostile-structure");
    let lines = synth();
    // Two weight columns: which one was meant is not guessed.
    let twice: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{l},{}", if i == 0 { "weight" } else { "1" }))
        .collect();
    let twice = write_lines(&dir, "twice.csv", &twice, "\n");
    refused(
        &estimate(&twice, "sex", &[]),
        &["\"weight\" appears twice (columns 4 and 12)"],
    );
    // One respondent on two rows.
    let ids: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let id = match i {
                0 => "respondent_id".to_owned(),
                40 => "R7".to_owned(),
                i => format!("R{i}"),
            };
            format!("{id},{l}")
        })
        .collect();
    let ids = write_lines(&dir, "ids.csv", &ids, "\n");
    refused(
        &estimate(&ids, "sex", &[]),
        &[
            "line 41, column respondent_id",
            "\"R7\" is the same respondent as line 8",
        ],
    );
    // A stray quote would make the rest of the file one field.
    let mut quoted = lines.clone();
    quoted[300] = quoted[300]
        .replace("城镇", "\"城镇")
        .replace("乡村", "\"乡村");
    let quoted = write_lines(&dir, "quote.csv", &quoted, "\n");
    refused(
        &estimate(&quoted, "sex", &[]),
        &["line 301", "never closed"],
    );
}

/// The 1,000 LSAT-7 examinees of `irt_cli/main.rs`, with Chinese ids.
fn lsat7_lines() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("crates/core/tests/fixtures/lsat7.csv"))
        .expect("lsat7");
    let mut lines = vec!["respondent_id,item1,item2,item3,item4,item5".to_owned()];
    for row in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        for _ in 0..f[5].parse::<usize>().expect("frequency") {
            let id = lines.len();
            lines.push(format!("考生{id},{}", f[..5].join(",")));
        }
    }
    lines
}

fn calibrate(file: &str, out: &Path) -> Output {
    literacy(&[
        "irt",
        "calibrate",
        "--responses",
        file,
        "--model",
        "2pl",
        "--out",
        out.to_str().expect("path"),
    ])
}

#[test]
fn irt_reads_gbk_and_refuses_broken_files_at_their_line() {
    let dir = scratch("hostile-irt");
    let lines = lsat7_lines();
    let (utf8, gbk) = utf8_and_gbk(&dir, &lines);
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    let o = calibrate(&utf8, &a);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = calibrate(&gbk, &b);
    assert!(o.status.success(), "{}", stderr(&o));
    let params = |p: &Path| -> Value {
        serde_json::from_str::<Value>(&std::fs::read_to_string(p).expect("params"))
            .expect("JSON")["items"]
            .clone()
    };
    assert_eq!(params(&a), params(&b), "the same fit from either file");
    // A stray quote, and a bad cell on a Windows file's line 501.
    let mut broken = lines.clone();
    broken[400] = broken[400].replacen(",1", ",\"1", 1);
    let quoted = write_lines(&dir, "quote.csv", &broken, "\n");
    refused(&calibrate(&quoted, &a), &["line 401", "never closed"]);
    let mut bad = lines.clone();
    bad[500] = bad[500].replacen(",0", ",2", 1).replacen(",1", ",2", 1);
    let bad = write_lines(&dir, "bad.csv", &bad, "\r\n");
    refused(
        &calibrate(&bad, &a),
        &["line 501, column item", "not 0, 1 or empty"],
    );
}

#[test]
fn a_spreadsheet_gives_the_same_estimates_as_its_csv() {
    let dir = scratch("hostile-xlsx");
    let lines = synth();
    let csv = write_lines(&dir, "synth.csv", &lines, "\n");
    let sheet = literacy_test_support::sheet::xlsx(
        "microdata",
        &literacy_test_support::sheet::rows_of(&lines.join("\n")),
    );
    let xlsx = write(&dir, "synth.xlsx", &sheet);
    let (a, b) = (estimates(&csv, "地区"), estimates(&xlsx, "地区"));
    assert_eq!(a["estimates"], b["estimates"]);
    refused(
        &estimate(&xlsx, "地区", &["--sheet", "Sheet1"]),
        &["no sheet \"Sheet1\" (sheets: microdata)"],
    );
}
