//! Provincial batches: every problem listed, one transaction, re-uploads
//! change nothing, stored respondents are never overwritten, other
//! provinces' rows are refused.

use literacy_web::batch;

use crate::helpers::{ROUND, TestApp, batch_of, own_rows_of};
use crate::on_both_backends;

on_both_backends!(
    a_dry_run_lists_every_problem_and_stores_nothing,
    a_commit_stores_the_accepted_rows_once,
    stored_respondents_are_reported_never_overwritten,
    rows_of_another_province_are_rejected,
    unreadable_batches_are_refused_in_the_error_shape,
    batches_are_read_exactly_whatever_excel_saved,
    spreadsheet_batches_are_checked_like_csv,
    a_file_of_bad_cells_gives_a_bounded_report_with_exact_counts,
);

fn a_dry_run_lists_every_problem_and_stores_nothing(app: &TestApp) {
    let up = app.login("up11");
    let text = batch_of(11);
    let expected = batch::check(
        &app.instrument,
        11,
        text.as_bytes(),
        &literacy_table::Options::default(),
    )
    .expect("readable");
    assert!(
        !expected.problems.is_empty(),
        "the simulator injects errors"
    );
    let r = app.upload(&up, true, text);
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["batch_id"], serde_json::Value::Null);
    assert_eq!(v["rows"], expected.rows);
    assert_eq!(v["accepted"], expected.accepted.len());
    assert_eq!(v["rejected"], expected.rejected());
    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), expected.problems.listed().len());
    for (got, want) in errors.iter().zip(expected.problems.listed()) {
        assert_eq!(got["line"], want.line);
        assert_eq!(got["column"], want.column.as_str());
        assert_eq!(got["value"], want.value.as_str());
        assert_eq!(got["message"], want.message.as_str());
        assert_eq!(got["message_zh"], want.message_zh.as_str());
        assert!(
            !want.message_zh.is_empty() && !want.message_zh.is_ascii(),
            "a Chinese message for every problem: {want:?}"
        );
    }
    assert_eq!(app.responses(), 0);
    assert!(app.audits("batch.commit").is_empty());
}

fn a_commit_stores_the_accepted_rows_once(app: &TestApp) {
    let up = app.login("up11");
    let text = batch_of(11);
    let r = app.upload(&up, false, text);
    assert_eq!(r.status, 201, "{}", r.text);
    let report = r.json();
    let id = report["batch_id"].as_i64().expect("id");
    let accepted = report["accepted"].as_u64().expect("accepted") as usize;
    assert!(accepted > 0);
    assert_eq!(app.responses(), accepted);
    assert_eq!(app.audits("batch.commit").len(), 1);
    // The same file again: the earlier batch, nothing changes.
    let version = {
        let mut c = app.store.conn().expect("conn");
        literacy_store::rounds::data_version(&mut c, app.round.id).expect("version")
    };
    for dry_run in [false, true] {
        let again = app.upload(&up, dry_run, text);
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.json()["duplicate_of"], id);
    }
    assert_eq!(app.responses(), accepted);
    let mut c = app.store.conn().expect("conn");
    assert_eq!(
        literacy_store::rounds::data_version(&mut c, app.round.id).expect("version"),
        version
    );
    // The report again.
    let stored = app.get(&format!("/api/v1/batches/{id}"), Some(&up));
    assert_eq!(stored.status, 200);
    let stored = stored.json();
    for key in ["batch_id", "rows", "accepted", "rejected", "errors"] {
        assert_eq!(stored[key], report[key], "{key}");
    }
    app.get("/api/v1/batches/999999", Some(&up)).error(404);
}

fn stored_respondents_are_reported_never_overwritten(app: &TestApp) {
    let up = app.login("up11");
    let text = batch_of(11);
    let first = app.upload(&up, false, text).json();
    let stored = app.responses();
    // The same rows in another file (one line dropped, so another hash).
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    let changed = lines.join("\n") + "\n";
    // Nothing in it is new: refused, no batch, each row reported.
    let batches = app.batches();
    let r = app.upload(&up, false, &changed);
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(app.batches(), batches);
    let v = &r.json()["report"];
    assert_eq!(v["accepted"], 0, "{}", r.text);
    let duplicates = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("already stored"))
        })
        .count();
    let valid = batch::check(
        &app.instrument,
        11,
        changed.as_bytes(),
        &literacy_table::Options::default(),
    )
    .expect("readable")
    .accepted
    .len();
    assert_eq!(duplicates, valid, "{}", r.text);
    assert!(duplicates > 0 && first["accepted"].as_u64() >= Some(valid as u64));
    assert_eq!(app.responses(), stored);
}

fn rows_of_another_province_are_rejected(app: &TestApp) {
    let up = app.login("up11");
    let (file, n_rows) = own_rows_of(44);
    // Committed, every row is refused: no empty batch, the report beside
    // the error.
    let r = app.upload(&up, false, &file);
    assert_eq!(r.status, 422, "{}", r.text);
    let body = r.json();
    assert_eq!(body["error"]["code"], "invalid");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("nothing to commit"), "{message}");
    assert_eq!(app.batches(), 0);
    let v = &body["report"];
    assert_eq!(v["batch_id"], serde_json::Value::Null);
    assert_eq!(v["accepted"], 0);
    assert_eq!(v["rows"], n_rows);
    assert_eq!(v["rejected"], n_rows);
    let errors = v["errors"].as_array().expect("errors");
    let province_errors: Vec<_> = errors
        .iter()
        .filter(|e| e["column"] == "province")
        .collect();
    assert_eq!(province_errors.len(), n_rows);
    assert!(province_errors.iter().all(|e| {
        e["value"] == "44"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("batch of province 11"))
    }));
    assert_eq!(app.responses(), 0);
}

fn unreadable_batches_are_refused_in_the_error_shape(app: &TestApp) {
    let up = app.login("up11");
    let m = app
        .upload(&up, true, "respondent_id,province\nR1,11\n")
        .error(422);
    assert!(m.contains("missing columns"), "{m}");
    let header = batch_of(11).lines().next().expect("header");
    app.upload(&up, true, &format!("{header}\n")).error(422);
    // Not CSV at all.
    app.request(
        "POST",
        &format!("/api/v1/rounds/{ROUND}/batches?dry_run=true"),
        Some(&up),
        crate::helpers::Body::Raw("application/json", b"{}"),
    )
    .error(415);
    app.request(
        "POST",
        &format!("/api/v1/rounds/{ROUND}/batches?dry_run=maybe"),
        Some(&up),
        crate::helpers::Body::Raw("text/csv", b"a"),
    )
    .error(400);
    app.request(
        "POST",
        "/api/v1/rounds/1999/batches?dry_run=true",
        Some(&up),
        crate::helpers::Body::Raw("text/csv", batch_of(11).as_bytes()),
    )
    .error(404);
}

/// The first `n` data rows of province 11's batch that have no keying
/// error, with the header.
fn clean_rows(app: &TestApp, n: usize) -> (String, Vec<String>) {
    let text = batch_of(11);
    let checked = batch::check(
        &app.instrument,
        11,
        text.as_bytes(),
        &literacy_table::Options::default(),
    )
    .expect("readable");
    let lines: Vec<&str> = text.lines().collect();
    let rows = checked
        .accepted
        .iter()
        .take(n)
        .map(|r| lines[usize::try_from(r.line).expect("line") - 1].to_owned())
        .collect();
    (lines[0].to_owned(), rows)
}

fn upload_bytes(app: &TestApp, token: &str, query: &str, body: &[u8]) -> crate::helpers::Resp {
    app.request(
        "POST",
        &format!("/api/v1/rounds/{ROUND}/batches?{query}"),
        Some(token),
        crate::helpers::Body::Raw("text/csv", body),
    )
}

fn batches_are_read_exactly_whatever_excel_saved(app: &TestApp) {
    let up = app.login("up11");
    let (header, rows) = clean_rows(app, 3);
    // Chinese in the respondent ids, saved by Chinese Excel as GBK, with CRLF.
    let renamed: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (_, rest) = r.split_once(',').expect("a row");
            format!("京-R{i:07},{rest}")
        })
        .collect();
    // The second row's birth year typed in full width, as Chinese input
    // methods do: read as the year it is.
    let year = header
        .split(',')
        .position(|c| c == "birth_year")
        .expect("birth_year column");
    let mut renamed = renamed;
    renamed[1] = renamed[1]
        .split(',')
        .enumerate()
        .map(|(i, f)| {
            if i == year {
                f.chars()
                    .map(|c| char::from_u32(u32::from(c) - 0x30 + 0xFF10).unwrap_or(c))
                    .collect()
            } else {
                f.to_owned()
            }
        })
        .collect::<Vec<String>>()
        .join(",");
    assert!(renamed[1].contains('１'), "{}", renamed[1]);
    let mut text = format!("{header}\r\n{}\r\n", renamed.join("\r\n"));
    // A bad answer on the last row: reported on its physical line (4).
    let bad = text.rfind(",1,").map(|at| at + 1).expect("an answer 1");
    text.replace_range(bad..bad + 1, "7");
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    // Named as UTF-8, the GBK bytes are refused with their line.
    let m = upload_bytes(app, &up, "dry_run=true&encoding=utf-8", &gbk).error(422);
    assert!(m.contains("line 2") && m.contains("not valid utf-8"), "{m}");
    let m = upload_bytes(app, &up, "dry_run=true&encoding=latin-9", &gbk).error(400);
    assert!(m.contains("unknown encoding"), "{m}");
    // Detected as GB18030 (or named so), stored exactly.
    let r = upload_bytes(app, &up, "dry_run=false", &gbk);
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v["accepted"], 2, "{v}");
    assert_eq!(v["errors"][0]["line"], 4, "{v}");
    let mut conn = app.store.conn().expect("connection");
    let mut ids: Vec<String> = literacy_store::load::all(&mut conn, app.round.id)
        .expect("responses")
        .into_iter()
        .map(|r| r.respondent_id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["京-R0000000", "京-R0000001"], "stored exactly");
    // A stray quote does not swallow the rest of the file.
    let quoted = format!("{header}\n{}\n\"{}\n{}\n", rows[0], rows[1], rows[2]);
    let m = upload_bytes(app, &up, "dry_run=true", quoted.as_bytes()).error(422);
    assert!(m.contains("line 3") && m.contains("never closed"), "{m}");
    // A header of 100,000 extra columns: refused at once, in a short message.
    let wide = format!(
        "{header},{}\n{},{}\n",
        (0..100_000)
            .map(|i| format!("x{i}"))
            .collect::<Vec<_>>()
            .join(","),
        rows[0],
        vec!["1"; 100_000].join(",")
    );
    let m = upload_bytes(app, &up, "dry_run=true", wide.as_bytes()).error(422);
    assert!(
        m.contains("unknown columns: x0, x1") && m.contains("and 99980 more"),
        "{m}"
    );
    assert!(m.len() < 2_000, "{} bytes", m.len());
    // A NUL in a field and a row cut short: their rows refused, by line.
    let broken = format!(
        "{header}\n{}\n{}\u{0}\n{}\n",
        rows[0],
        rows[1],
        rows[2].rsplit_once(',').expect("fields").0
    );
    let v = upload_bytes(app, &up, "dry_run=true", broken.as_bytes()).json();
    let lines: Vec<u64> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, [3, 4], "{v}");
    assert!(
        v["errors"][0]["message_zh"]
            .as_str()
            .is_some_and(|m| m.contains("控制字符")),
        "{v}"
    );
}

fn spreadsheet_batches_are_checked_like_csv(app: &TestApp) {
    let up = app.login("up11");
    let (header, rows) = clean_rows(app, 3);
    let mut table = vec![header.clone()];
    table.extend(rows.iter().cloned());
    // A fourth row with an answer outside its codes (spreadsheet row 5).
    let bad = rows[2].replacen(",1,", ",7,", 1);
    let id = bad.split(',').next().expect("id").to_owned();
    table.push(bad.replacen(&id, &format!("{id}x"), 1));
    let sheet = literacy_test_support::sheet::xlsx(
        "批次",
        &literacy_test_support::sheet::rows_of(&table.join("\n")),
    );
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let send = |query: &str| {
        app.request(
            "POST",
            &format!("/api/v1/rounds/{ROUND}/batches?{query}"),
            Some(&up),
            crate::helpers::Body::Raw(xlsx, &sheet),
        )
    };
    let m = send("dry_run=true&sheet=Sheet1").error(422);
    assert!(m.contains("no sheet \"Sheet1\" (sheets: 批次)"), "{m}");
    let r = send("dry_run=false&sheet=%E6%89%B9%E6%AC%A1");
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v["accepted"], 3, "{v}");
    assert_eq!(v["errors"][0]["line"], 5, "the spreadsheet's row: {v}");
    // The same rows as CSV give the same stored answers.
    let mut conn = app.store.conn().expect("connection");
    let stored = literacy_store::load::all(&mut conn, app.round.id).expect("responses");
    let csv = batch::check(
        &app.instrument,
        11,
        table.join("\n").as_bytes(),
        &literacy_table::Options::default(),
    )
    .expect("csv");
    assert_eq!(stored.len(), 3);
    for (row, want) in stored.iter().zip(&csv.accepted) {
        assert_eq!(row.respondent_id, want.respondent_id);
        let stored: serde_json::Value = serde_json::from_str(&row.answers).expect("JSON");
        assert_eq!(
            stored,
            serde_json::to_value(want.answers(&app.instrument)).expect("answers")
        );
    }
}

fn a_file_of_bad_cells_gives_a_bounded_report_with_exact_counts(app: &TestApp) {
    let up = app.login("up11");
    let (header, rows) = clean_rows(app, 1);
    let sex = header.split(',').position(|c| c == "sex").expect("sex");
    let mut text = format!("{header}\n");
    for r in 0..2_500 {
        let mut fields: Vec<String> = rows[0].split(',').map(str::to_owned).collect();
        fields[0] = format!("X{r:05}");
        fields[sex] = "7".to_owned();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    let v = app.upload(&up, true, &text).json();
    assert_eq!(v["rows"], 2_500);
    assert_eq!(v["rejected"], 2_500);
    let listed = v["errors"].as_array().expect("errors");
    assert_eq!(
        listed.len(),
        batch::LISTED_PER_COLUMN,
        "listed up to the cap"
    );
    assert_eq!(listed[999]["line"], 1_001, "the first ones, in line order");
    assert_eq!(
        v["error_counts"]["sex"], 2_500,
        "every one counted: {}",
        v["error_counts"]
    );
    assert_eq!(v["errors_unlisted"], 1_500);
}
