//! `literacy score` end to end: the real binary on files, with scores
//! computed by hand for the all-types fixture instrument (see
//! `crates/core/tests/common/mod.rs` for its points: total =
//! 60 * know_raw / 5 + 40 * method_raw / 7).

use std::path::{Path, PathBuf};
use std::process::Output;

const FIXTURE: &str = "crates/core/tests/fixtures/all-types.json";
const HEADER: &str = "respondent_id,T1,T2,C1,N1,MA,MP,O1,O2";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

use literacy_test_support::cmd::{self, stderr};
use literacy_test_support::dirs::scratch;

fn literacy(args: &[&str]) -> Output {
    cmd::run(env!("CARGO_BIN_EXE_literacy"), Some(&root()), args)
}

fn score(dir: &Path, instrument: &str, csv: &[u8], extra: &[&str]) -> (Output, String) {
    let input = dir.join("answers.csv");
    let out = dir.join("scored.csv");
    std::fs::write(&input, csv).expect("answers written");
    let mut args = vec![
        "score",
        "--instrument",
        instrument,
        "--responses",
        input.to_str().expect("UTF-8 path"),
        "--out",
        out.to_str().expect("UTF-8 path"),
    ];
    args.extend_from_slice(extra);
    let output = literacy(&args);
    let scored = std::fs::read_to_string(&out).unwrap_or_default();
    (output, scored)
}

#[test]
fn scores_are_written_next_to_the_answers_with_other_columns_passed_through() {
    let dir = scratch("score-ok");
    let csv = format!(
        "{HEADER},region\n\
         A,1,2,2,8,1;3,1;2;3,5,1,east\n\
         B,1,2,2,9,2,1,4,5,west\n\
         C,8,8,8,9999,8,8,8,3,\n\
         D,,,,,,,,,north\n\
         E,1,2,2,8,1;3,,,,south\n"
    );
    let (output, scored) = score(&dir, FIXTURE, csv.as_bytes(), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = "respondent_id,T1,T2,C1,N1,MA,MP,O1,O2,region,score_know,score_method,total,band,qualified,n_missing,status\n\
        A,1,2,2,8,1;3,1;2;3,5,1,east,60,40,100,advanced,1,0,scored\n\
        B,1,2,2,9,2,1,4,5,west,60,10,70,qualified,1,0,scored\n\
        C,8,8,8,9999,8,8,8,3,,0,2.8571428571,2.8571428571,low,0,0,scored\n\
        D,,,,,,,,,north,,,,,,8,too_many_missing\n\
        E,1,2,2,8,1;3,,,,south,60,11.4285714286,71.4285714286,qualified,1,3,scored\n";
    assert_eq!(scored, expected);
    assert!(
        stderr(&output).contains("5 rows read, 5 accepted, 0 rejected; 4 scored (3 qualified), 1 excluded for too many missing answers"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn every_bad_row_is_reported_and_the_exit_code_says_so() {
    let dir = scratch("score-bad");
    let csv = format!(
        "{HEADER}\n\
         A,1,2,2,8,1;3,1;2;3,5,1\n\
         B,3,2,2,8,1;8,1;2;3,5,1\n\
         ,1,2,2,8,1;3,1;2;3,5,1\n\
         D,1,2\n\
         \"E\",1,2,2,8.5,1;3,\"1;\nx\",5,1\n\
         F,1,2,2,8,1;3,1;2;3,5,1\n"
    );
    let errors = dir.join("errors.csv");
    let (output, scored) = score(
        &dir,
        FIXTURE,
        csv.as_bytes(),
        &["--errors", errors.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let ids: Vec<&str> = scored
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["A", "F"], "good rows are still scored");
    let report = std::fs::read_to_string(&errors).unwrap();
    assert_eq!(
        report,
        "line,column,value,message\n\
         3,T1,3,\"not one of the item's codes: 1 (true), 2 (false), 8 (don't know)\"\n\
         3,MA,1;8,don't know (8) cannot be combined with other codes\n\
         4,respondent_id,,is empty\n\
         5,C1,,the row has 3 fields; the header has 9\n\
         6,N1,8.5,not a whole number\n\
         6,MP,1;\\u{a}x,\"not one of the item's codes: 1 (option 1), 2 (option 2), 3 (option 3), 4 (option 4), 8 (don't know) (several separated by `;`)\"\n"
    );
    let err = stderr(&output);
    assert!(
        err.contains("answers.csv: line 3: column T1, value \"3\": not one of the item's codes"),
        "{err}"
    );
    assert!(err.contains("6 rows read, 2 accepted, 4 rejected"), "{err}");
}

#[test]
fn a_header_without_every_item_is_refused_before_anything_is_scored() {
    let dir = scratch("score-header");
    let (output, _) = score(&dir, FIXTURE, b"respondent_id,T1,C1\nA,1,2\n", &[]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("line 1 (header): 6 item columns of instrument test-all-types are missing: T2, N1, MA, MP, O1, O2"),
        "{err}"
    );
    let (output, _) = score(&dir, FIXTURE, format!("{HEADER},total\n").as_bytes(), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("column \"total\" would be overwritten by the scores"));
    let (output, _) = score(&dir, FIXTURE, b"T1,T2,C1,N1,MA,MP,O1,O2\n", &[]);
    assert!(stderr(&output).contains("there is no \"respondent_id\" column"));
    let (output, _) = score(&dir, FIXTURE, format!("{HEADER},T1\n").as_bytes(), &[]);
    assert!(stderr(&output).contains("column \"T1\" appears twice"));
}

#[test]
fn a_byte_order_mark_and_blank_cells_are_handled() {
    let dir = scratch("score-bom");
    let csv = format!("\u{feff}{HEADER}\nA, 1 ,2,2,8,1;3,1;2;3,5,1\n");
    let (output, scored) = score(&dir, FIXTURE, csv.as_bytes(), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        scored
            .lines()
            .nth(1)
            .unwrap()
            .ends_with(",100,advanced,1,0,scored"),
        "{scored}"
    );
}

#[test]
fn small_blocks_give_the_same_output_as_one_block() {
    let dir = scratch("score-blocks");
    let sim = literacy(&[
        "simulate",
        "--instrument",
        FIXTURE,
        "--respondents",
        "1001",
        "--seed",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(sim.status.success(), "{}", stderr(&sim));
    let answers = std::fs::read(dir.join("answers.csv")).unwrap();
    let (one, whole) = score(&dir, FIXTURE, &answers, &[]);
    assert!(one.status.success());
    let (blocks, split) = score(&dir, FIXTURE, &answers, &["--block", "7"]);
    assert!(blocks.status.success());
    assert_eq!(whole, split);
    assert_eq!(whole.lines().count(), 1002);
}

#[test]
fn the_irt_cut_rule_reads_theta_from_a_column() {
    let dir = scratch("score-irt");
    let mut instrument: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(FIXTURE)).unwrap()).unwrap();
    instrument["rule"] = serde_json::json!({
        "kind": "irt_cut", "cut": 0.5, "missing": {"policy": "count_as_wrong"}
    });
    let path = dir.join("irt.json");
    std::fs::write(&path, instrument.to_string()).unwrap();
    let path = path.to_str().unwrap();
    let csv = format!(
        "{HEADER},theta\nA,1,2,2,8,1;3,1;2;3,5,1,0.5\nB,1,2,2,8,1;3,1;2;3,5,1,0.2\nC,,,,,,,,,\nD,,,,,,,,,x\n"
    );
    let (output, _) = score(&dir, path, csv.as_bytes(), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("give --theta-column"),
        "{}",
        stderr(&output)
    );
    let (output, scored) = score(&dir, path, csv.as_bytes(), &["--theta-column", "theta"]);
    assert_eq!(output.status.code(), Some(2), "row D has a bad theta");
    let tails: Vec<&str> = scored
        .lines()
        .skip(1)
        .map(|l| {
            l.rsplitn(3, ',')
                .nth(2)
                .unwrap()
                .rsplit(',')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(tails, ["1", "0", ""], "{scored}");
    assert!(scored.contains(",no_theta"), "{scored}");
    assert!(stderr(&output).contains("line 5: column theta, value \"x\": is not a number"));
}

#[test]
fn both_national_instruments_score_simulated_answers() {
    for instrument in ["surveys/csl-2026", "surveys/csl-legacy"] {
        let dir = scratch(&format!("score-{}", instrument.replace('/', "-")));
        let sim = literacy(&[
            "simulate",
            "--instrument",
            instrument,
            "--respondents",
            "500",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(sim.status.success(), "{}", stderr(&sim));
        let answers = std::fs::read(dir.join("answers.csv")).unwrap();
        let (output, scored) = score(&dir, instrument, &answers, &[]);
        assert!(output.status.success(), "{instrument}: {}", stderr(&output));
        let rows: Vec<Vec<&str>> = scored.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), 501);
        let column = rows[0].iter().position(|h| *h == "qualified").unwrap();
        assert!(
            rows[1..]
                .iter()
                .all(|r| ["0", "1", ""].contains(&r[column]))
        );
        let qualified = rows[1..].iter().filter(|r| r[column] == "1").count();
        assert!(
            qualified > 0 && qualified < 500,
            "{instrument}: {qualified}"
        );
    }
}

#[test]
fn an_unreadable_instrument_is_a_clear_error() {
    let dir = scratch("score-no-instrument");
    let (output, _) = score(&dir, "surveys/no-such-round", b"respondent_id\n", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot read the instrument surveys/no-such-round"),
        "{}",
        stderr(&output)
    );
}

/// A valid answer row of the fixture instrument for respondent `id`.
fn row(id: &str) -> String {
    format!("{id},1,2,2,8,1;3,1;2;3,5,1")
}

/// The rejected rows' `line,column,value,message` records.
fn errors_of(dir: &Path, csv: &[u8], extra: &[&str]) -> (Output, String, Vec<String>) {
    let errors = dir.join("errors.csv");
    let _ = std::fs::remove_file(&errors);
    let mut args = vec!["--errors", errors.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    let (output, scored) = score(dir, FIXTURE, csv, &args);
    let errors = std::fs::read_to_string(&errors).unwrap_or_default();
    (
        output,
        scored,
        errors.lines().skip(1).map(str::to_owned).collect(),
    )
}

#[test]
fn an_unterminated_quote_refuses_the_file_at_its_line() {
    let dir = scratch("score-quote");
    let mut csv = format!("{HEADER},comment\n");
    for r in 0..3000 {
        let comment = if r == 1200 { "\"she said" } else { "ok" };
        csv.push_str(&format!("{},{comment}\n", row(&format!("R{r}"))));
    }
    let (output, _) = score(&dir, FIXTURE, csv.as_bytes(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("line 1202") && said.contains("never closed"),
        "{said}"
    );
    assert!(
        !said.contains("rows read"),
        "no partial result is claimed: {said}"
    );
}

#[test]
fn crlf_files_report_the_physical_line() {
    let dir = scratch("score-crlf");
    let csv = format!(
        "{HEADER}\r\n{}\r\n{}\r\n\"C\r\nD\",1,2,2,8,1;3,1;2;3,5,1\r\nE,9,2,2,8,1;3,1;2;3,5,1\r\n",
        row("A"),
        row("B")
    );
    let (output, scored, errors) = errors_of(&dir, csv.as_bytes(), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    // The quoted id spans lines 4 and 5, so E is on line 6.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("6,T1,9,"), "{errors:?}");
    assert!(
        scored.contains("\"C\r\nD\",1,2,2"),
        "the quoted id is kept: {scored}"
    );
}

#[test]
fn gbk_files_are_decoded_and_written_as_utf8() {
    let dir = scratch("score-gbk");
    let text = format!(
        "{HEADER},地区\n{},北京\n{},广东\n",
        row("京-R0000001"),
        row("粤-R0000002")
    );
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    let (output, scored) = score(&dir, FIXTURE, &gbk, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        scored.contains("京-R0000001,1,2,2,8,1;3,1;2;3,5,1,北京,60,40,100"),
        "{scored}"
    );
    assert!(scored.contains(",地区,score_know"), "{scored}");
    // Named as UTF-8, the same bytes are refused with their line.
    let (output, _) = score(&dir, FIXTURE, &gbk, &["--encoding", "utf-8"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("line 1: not valid utf-8"),
        "{}",
        stderr(&output)
    );
    // UTF-16 with a byte-order mark reads the same.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let (output, again) = score(&dir, FIXTURE, &utf16, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(again, scored);
}

#[test]
fn repeated_respondents_and_broken_rows_are_rejected_by_line() {
    let dir = scratch("score-rows");
    let csv = format!(
        "{HEADER},note\n{},a\n{},b\n{},c\n{},d\u{0}e\n{},f\"g\n{}\n",
        row("A"),
        row("B"),
        row("A"),
        row("C"),
        row("D"),
        row("E"),
    );
    let (output, scored, errors) = errors_of(&dir, csv.as_bytes(), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        errors,
        vec![
            "4,respondent_id,A,the same respondent as line 2".to_owned(),
            "5,note,d\\u{0}e,field 10 holds the control character U+0000".to_owned(),
            "6,note,\"f\"\"g\",\"field 10 holds a quote but does not start with one (quote the whole field, doubling inner quotes)\"".to_owned(),
            "7,note,,the row has 9 fields; the header has 10".to_owned(),
        ]
    );
    assert_eq!(scored.lines().count(), 3, "the header, A and B: {scored}");
    let (output, _) = score(
        &dir,
        FIXTURE,
        format!("{HEADER},T1\n{}\n", row("A")).as_bytes(),
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("\"T1\" appears twice (columns 2 and 10)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn full_width_answers_score_as_the_codes_they_stand_for() {
    let dir = scratch("score-full-width");
    let ascii = format!("{HEADER}\n{}\n", row("A"));
    let wide = format!("{HEADER}\nA,１,２,２,８,１；３,１；２；３,５,１\n");
    let (a, ascii_scored) = score(&dir, FIXTURE, ascii.as_bytes(), &[]);
    assert!(a.status.success(), "{}", stderr(&a));
    let (w, wide_scored) = score(&dir, FIXTURE, wide.as_bytes(), &[]);
    assert!(w.status.success(), "{}", stderr(&w));
    let scores = |s: &str| {
        s.lines()
            .nth(1)
            .map(|l| l.split(',').skip(9).collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    };
    assert_eq!(scores(&wide_scored), scores(&ascii_scored));
    assert!(
        scores(&ascii_scored).starts_with("60,40,100"),
        "{ascii_scored}"
    );
}

#[test]
fn a_spreadsheet_scores_like_its_csv() {
    let dir = scratch("score-xlsx");
    let csv = format!(
        "{HEADER},region\n{},北京\n{},\nC,8,8,8,9999,8,8,8,3,east\n",
        row("A"),
        row("B")
    );
    let (a, from_csv) = score(&dir, FIXTURE, csv.as_bytes(), &[]);
    assert!(a.status.success(), "{}", stderr(&a));
    let sheet = literacy_test_support::sheet::xlsx(
        "answers",
        &literacy_test_support::sheet::rows_of(csv.trim_end()),
    );
    let input = dir.join("answers.xlsx");
    std::fs::write(&input, sheet).expect("xlsx");
    let out = dir.join("scored-xlsx.csv");
    let b = literacy(&[
        "score",
        "--instrument",
        FIXTURE,
        "--responses",
        input.to_str().expect("path"),
        "--out",
        out.to_str().expect("path"),
    ]);
    assert!(b.status.success(), "{}", stderr(&b));
    assert_eq!(std::fs::read_to_string(&out).expect("scored"), from_csv);
}

#[test]
fn a_file_of_bad_rows_prints_a_bounded_report_and_files_every_problem() {
    let dir = scratch("score-many-bad");
    let mut csv = format!("{HEADER}\n");
    for r in 0..1_500 {
        csv.push_str(&format!("R{r},9,2,2,8,1;3,1;2;3,5,1\n"));
    }
    let (output, _, errors) = errors_of(&dir, csv.as_bytes(), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(errors.len(), 1_500, "the errors file has every problem");
    let said = stderr(&output);
    assert_eq!(
        said.matches("column T1").count(),
        1_000,
        "stderr lists 1,000"
    );
    assert!(
        said.contains("500 more problems not printed") && said.contains("1500 rows read"),
        "{said:.300}"
    );
}
