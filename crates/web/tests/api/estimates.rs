//! Estimates (JSON, CSV, cache), progress, export and codebook on
//! simulated provincial batches committed through the API.

use literacy_test_support::csv_text;
use serde_json::Value;

use crate::helpers::{Body, ROUND, TestApp, batch_of};
use crate::on_both_backends;

on_both_backends!(
    estimates_are_served_as_json_and_csv_and_cached,
    progress_reports_national_and_provincial_targets,
    export_streams_microdata_with_final_weights,
    codebook_describes_every_column_in_two_languages,
    design_fields_of_the_demographics_drive_the_variance,
    an_empty_round_is_refused_not_failed,
    a_formula_in_an_uploaded_id_is_not_a_formula_in_the_export,
);

/// An uploader's respondent id a spreadsheet would run as a formula comes
/// back from the export with a leading `'` (#17: CSV injection).
fn a_formula_in_an_uploaded_id_is_not_a_formula_in_the_export(app: &TestApp) {
    let formula = r#"=HYPERLINK("http://evil.example","x")"#;
    // The first row's respondent id (the first column) becomes the formula.
    let original = batch_of(44);
    let (header, rest) = original.split_once('\n').expect("header line");
    assert!(header.starts_with("respondent_id,"), "{header}");
    let (_, first_row_tail) = rest.split_once(',').expect("first row");
    let quoted = format!("\"{}\"", formula.replace('"', "\"\""));
    let batch = format!("{header}\n{quoted},{first_row_tail}");
    let r = app.upload(&app.login("up44"), false, &batch);
    assert_eq!(r.status, 201, "{}", r.text);
    let stat = app.login("stat");
    let export = app.get(&format!("/api/v1/rounds/{ROUND}/export"), Some(&stat));
    assert_eq!(export.status, 200, "{}", export.text);
    let mut reader = csv::Reader::from_reader(export.text.as_bytes());
    let column = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "respondent_id")
        .expect("respondent_id");
    let ids: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[column].to_owned())
        .collect();
    assert!(ids.contains(&format!("'{formula}")), "{ids:?}");
    // No cell anywhere starts a formula.
    let mut cells = csv::Reader::from_reader(export.text.as_bytes());
    for row in cells.records() {
        for cell in row.expect("row").iter() {
            assert!(!cell.starts_with(['=', '@']), "{cell}");
        }
    }
}

/// Commits the batches of two provinces; returns the rows stored.
fn seed(app: &TestApp) -> usize {
    for (user, province) in [("up11", 11), ("up44", 44)] {
        let token = app.login(user);
        let r = app.upload(&token, false, batch_of(province));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    app.responses()
}

fn estimates_are_served_as_json_and_csv_and_cached(app: &TestApp) {
    seed(app);
    let stat = app.login("stat");
    let path = format!("/api/v1/rounds/{ROUND}/estimates?by=province,sex&variance=taylor&ci=logit");
    let first = app.get(&path, Some(&stat));
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.cache.as_deref(), Some("miss"));
    let v = first.json();
    let estimates = v["estimates"].as_array().expect("estimates");
    assert_eq!(estimates.len(), 4, "two provinces by two sexes");
    for e in estimates {
        assert!(e["domain"]["province"].is_string() && e["domain"]["sex"].is_string());
        for key in "n weighted_total estimate se ci_low ci_high deff effective_n".split(' ') {
            assert!(e[key].is_number(), "{key}: {e}");
        }
        let p = e["estimate"].as_f64().expect("p");
        assert!((0.0..=1.0).contains(&p));
        assert!(e["ci_low"].as_f64() <= Some(p) && e["ci_high"].as_f64() >= Some(p));
    }
    // Raked to the sex margins: the weighted totals add up to them.
    let total: f64 = estimates
        .iter()
        .map(|e| e["weighted_total"].as_f64().expect("total"))
        .sum();
    assert!((total - 100_000.0).abs() < 1e-6, "{total}");
    // The same query again comes from the cache, whatever the parameter order.
    let again = app.get(
        &format!("/api/v1/rounds/{ROUND}/estimates?ci=logit&variance=taylor&by=province,sex"),
        Some(&stat),
    );
    assert_eq!(again.cache.as_deref(), Some("hit"));
    assert_eq!(again.json(), v);
    // CSV by parameter and by Accept header.
    let csv = app.get(&format!("{path}&format=csv"), Some(&stat));
    assert_eq!(csv.status, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let mut lines = csv.text.lines();
    let header = lines.next().expect("header");
    assert!(
        header.starts_with("province,sex,n,weighted_total,estimate,se,ci_low,ci_high"),
        "{header}"
    );
    assert_eq!(lines.count(), 4);
    let accept = app.request("GET", &path, Some(&stat), Body::Accept("text/csv"));
    assert_eq!(accept.text, csv.text);
    // Other variances and intervals.
    for (variance, ci) in [("jkn", "beta"), ("bootstrap", "wilson")] {
        let r = app.get(
            &format!("/api/v1/rounds/{ROUND}/estimates?by=province&variance={variance}&ci={ci}"),
            Some(&stat),
        );
        assert_eq!(r.status, 200, "{variance}: {}", r.text);
        let v = r.json();
        assert_eq!(v["estimates"].as_array().map(Vec::len), Some(2));
        assert!(v["replicates"].as_u64() > Some(1));
    }
    // Bad queries.
    for bad in [
        "by=shoe_size",
        "variance=magic",
        "ci=vibes",
        "level=2",
        "by=sex,sex",
        "format=xml",
    ] {
        app.get(
            &format!("/api/v1/rounds/{ROUND}/estimates?{bad}"),
            Some(&stat),
        )
        .error(400);
    }
    app.get("/api/v1/rounds/1999/estimates", Some(&stat))
        .error(404);
    // New data: the cache is not served any more.
    let up = app.login("up44");
    let text = batch_of(44);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    // Same respondents (all duplicates): nothing stored, the version does not move.
    app.upload(&up, false, &(lines.join("\n") + "\n"));
    let still = app.get(&path, Some(&stat));
    assert_eq!(still.cache.as_deref(), Some("hit"));
    let stat2 = app.login("admin");
    {
        let mut conn = app.store.conn().expect("conn");
        literacy_store::rounds::set_margins(
            &mut conn,
            app.round.id,
            r#"{"sex":{"1":50000.0,"2":50000.0}}"#,
        )
        .expect("margins");
    }
    let after = app.get(&path, Some(&stat2));
    assert_eq!(after.cache.as_deref(), Some("miss"));
    let total: f64 = after.json()["estimates"]
        .as_array()
        .expect("estimates")
        .iter()
        .filter(|e| e["domain"]["sex"] == "1")
        .map(|e| e["weighted_total"].as_f64().expect("total"))
        .sum();
    assert!((total - 50_000.0).abs() < 1e-6, "{total}");
}

fn progress_reports_national_and_provincial_targets(app: &TestApp) {
    seed(app);
    let stat = app.login("stat");
    let r = app.get(&format!("/api/v1/rounds/{ROUND}/progress"), Some(&stat));
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["year"], app.instrument.fieldwork_year);
    let national = &v["national"];
    assert!(national["estimate"]["estimate"].is_number(), "{v}");
    let plans = national["targets"].as_array().expect("plans");
    assert!(!plans.is_empty());
    assert!(plans.iter().all(|p| p["plan"].is_string()));
    assert!(
        plans
            .iter()
            .any(|p| p["due"]["p_value"].is_number() || p["next"]["p_value"].is_number())
    );
    let provinces = v["provinces"].as_array().expect("provinces");
    assert_eq!(provinces.len(), 2);
    assert_eq!(provinces[0]["name"]["zh-CN"], "北京");
    assert!(provinces.iter().all(|p| p["targets"].is_array()));
}

fn export_streams_microdata_with_final_weights(app: &TestApp) {
    let rows = seed(app);
    let stat = app.login("stat");
    let r = app.get(&format!("/api/v1/rounds/{ROUND}/export"), Some(&stat));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("text/csv"));
    let (header, records) = csv_text::read(r.text.as_bytes());
    for column in [
        "response_id",
        "respondent_id",
        "province",
        "sex",
        "final_weight",
        "qualified",
    ] {
        assert!(header.iter().any(|h| h == column), "{column}");
    }
    for item in &app.instrument.items {
        assert!(header.contains(&item.id), "{}", item.id);
    }
    let weight = header
        .iter()
        .position(|h| h == "final_weight")
        .expect("weight");
    assert_eq!(records.len(), rows);
    let total: f64 = records
        .iter()
        .filter_map(|r| r[weight].parse::<f64>().ok())
        .sum();
    assert!((total - 100_000.0).abs() < 1e-6, "{total}");
    assert_eq!(app.audits("round.export").len(), 1);
}

fn codebook_describes_every_column_in_two_languages(app: &TestApp) {
    let stat = app.login("stat");
    let r = app.get(&format!("/api/v1/rounds/{ROUND}/codebook"), Some(&stat));
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let columns = v["columns"].as_array().expect("columns");
    let names: Vec<&str> = columns.iter().filter_map(|c| c["name"].as_str()).collect();
    for item in &app.instrument.items {
        assert!(names.contains(&item.id.as_str()), "{}", item.id);
    }
    for c in columns {
        assert!(
            c["label"]["zh-CN"].is_string() && c["label"]["en"].is_string(),
            "{c}"
        );
        for code in c["codes"].as_array().into_iter().flatten() {
            assert!(code["label"]["zh-CN"].is_string(), "{c}");
        }
    }
    let province = columns
        .iter()
        .find(|c| c["name"] == "province")
        .expect("province");
    assert_eq!(province["codes"].as_array().map(Vec::len), Some(31));
    let tf = columns
        .iter()
        .find(|c| c["name"] == app.item("true_false").as_str())
        .expect("item");
    assert!(tf["codes"].as_array().is_some_and(|c| c.len() == 3));
    let _: &Value = &v["instrument"];
}

/// Responses stored with a design (stratum, PSU, weight in the
/// demographics JSON): the delete-one-PSU jackknife has one replicate per
/// PSU and the Taylor degrees of freedom are PSUs minus strata.
fn design_fields_of_the_demographics_drive_the_variance(app: &TestApp) {
    let design = BatchDesign {
        strata: 3,
        psus_per_stratum: 4,
    };
    let accepted = commit_batch_with_design(app, &design);
    let stat = app.login("stat");
    let jkn = app.get(
        &format!("/api/v1/rounds/{ROUND}/estimates?variance=jkn"),
        Some(&stat),
    );
    assert_eq!(jkn.status, 200, "{}", jkn.text);
    assert_eq!(jkn.json()["replicates"], design.psus());
    let taylor = app.get(&format!("/api/v1/rounds/{ROUND}/estimates"), Some(&stat));
    let v = taylor.json();
    assert_eq!(
        v["estimates"][0]["df"],
        (design.psus() - design.strata) as f64
    );
    assert_eq!(
        v["warnings"],
        serde_json::json!([]),
        "every respondent has a weight"
    );
    export_carries_the_design(app, &stat, accepted);
    let se = jkn.json()["estimates"][0]["se"].as_f64().expect("se");
    replicate_weights_give_the_jkn_se(app, &stat, design.psus(), se);
    app.get(
        &format!("/api/v1/rounds/{ROUND}/export?replicates=taylor"),
        Some(&stat),
    )
    .error(400);
    weights_not_on_one_scale_are_warned_of(app, &stat);
}

/// The design of a provincial batch's rows: data row i is in stratum
/// s(i mod strata), PSU (i / strata) mod psus_per_stratum of it, with
/// design weight 100 + 10 x stratum.
struct BatchDesign {
    strata: usize,
    psus_per_stratum: usize,
}

impl BatchDesign {
    fn psus(&self) -> usize {
        self.strata * self.psus_per_stratum
    }
}

/// Commits province 11's batch with the design columns of `design` through
/// the API; returns the rows accepted.
fn commit_batch_with_design(app: &TestApp, design: &BatchDesign) -> usize {
    let &BatchDesign {
        strata,
        psus_per_stratum,
    } = design;
    let mut csv = String::new();
    for (i, line) in batch_of(11).lines().enumerate() {
        csv.push_str(line);
        if i == 0 {
            csv.push_str(",stratum,psu,weight\n");
        } else {
            let stratum = (i - 1) % strata;
            let psu = ((i - 1) / strata) % psus_per_stratum;
            csv.push_str(&format!(
                ",s{stratum},s{stratum}-p{psu},{}\n",
                100 + 10 * stratum
            ));
        }
    }
    let up = app.login("up11");
    let committed = app.upload(&up, false, &csv);
    assert_eq!(committed.status, 201, "{}", committed.text);
    let accepted = committed.json()["accepted"].as_u64().expect("accepted") as usize;
    assert!(accepted > 24, "{}", committed.text);
    accepted
}

/// Position of a column of an export's header.
fn column(header: &csv::StringRecord, name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// The export carries every accepted row's stratum, PSU and design weight.
fn export_carries_the_design(app: &TestApp, stat: &str, accepted: usize) {
    let export = app.get(&format!("/api/v1/rounds/{ROUND}/export"), Some(stat));
    let mut reader = csv::Reader::from_reader(export.text.as_bytes());
    let header = reader.headers().expect("header").clone();
    let (stratum, psu, weight) = (
        column(&header, "stratum"),
        column(&header, "psu"),
        column(&header, "design_weight"),
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), accepted);
    for row in &rows {
        let s: usize = row[stratum][1..].parse().expect("s<k>");
        assert!(row[psu].starts_with(&format!("s{s}-p")), "{row:?}");
        assert_eq!(row[weight], (100 + 10 * s).to_string(), "{row:?}");
    }
}

/// Replicate weights, each re-raked: their JKn variance of the national
/// share is the estimates route's (standard error `se`).
fn replicate_weights_give_the_jkn_se(app: &TestApp, stat: &str, replicates: usize, se: f64) {
    let r = app.get(
        &format!("/api/v1/rounds/{ROUND}/export?replicates=jkn"),
        Some(stat),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let scale: f64 = r
        .header("x-replicate-scale")
        .expect("scale")
        .parse()
        .expect("number");
    let rscales: Vec<f64> = r
        .header("x-replicate-rscales")
        .expect("rscales")
        .split(',')
        .map(|x| x.parse().expect("number"))
        .collect();
    assert_eq!(rscales.len(), replicates);
    let mut reader = csv::Reader::from_reader(r.text.as_bytes());
    let header = reader.headers().expect("header").clone();
    let qualified = column(&header, "qualified");
    let reps: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.starts_with("rep_"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(reps.len(), rscales.len());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.expect("row"))
        .filter(|r| !r[qualified].is_empty())
        .collect();
    let shares: Vec<f64> = reps
        .iter()
        .map(|&c| {
            let (mut num, mut den) = (0.0, 0.0);
            for rec in &records {
                let w: f64 = rec[c].parse().expect("weight");
                num += w * rec[qualified].parse::<f64>().expect("flag");
                den += w;
            }
            assert!(
                (den - 100_000.0).abs() < 1e-6,
                "each replicate is raked: {den}"
            );
            num / den
        })
        .collect();
    let mean = shares.iter().sum::<f64>() / shares.len() as f64;
    let variance: f64 = scale
        * shares
            .iter()
            .zip(&rscales)
            .map(|(p, rs)| rs * (p - mean).powi(2))
            .sum::<f64>();
    assert!(
        (variance.sqrt() - se).abs() < 1e-9 * se.max(1.0),
        "{} vs {se}",
        variance.sqrt()
    );
}

/// One online respondent (no design weight) beside the batch: the
/// estimates say that the weights are not on one scale.
fn weights_not_on_one_scale_are_warned_of(app: &TestApp, stat: &str) {
    let checked = literacy_web::batch::check(
        &app.instrument,
        11,
        batch_of(11).as_bytes(),
        &literacy_table::Options::default(),
    )
    .expect("readable");
    let answers = checked
        .accepted
        .iter()
        .map(|r| r.answers(&app.instrument))
        .find(|a| a.len() == app.instrument.items.len())
        .expect("a fully answered row");
    let (id, token) = app.session();
    let online = app.post(
        &format!("/api/v1/sessions/{id}/submit"),
        Some(&token),
        &serde_json::json!({
            "submission_id": "3c1d9e7a-5b2f-4a8c-9d6e-0f1a2b3c4d5e",
            "answers": answers,
            "demographics": crate::helpers::demographics(),
        }),
    );
    assert_eq!(online.status, 201, "{}", online.text);
    let v = app
        .get(&format!("/api/v1/rounds/{ROUND}/estimates"), Some(stat))
        .json();
    let warnings = v["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{v}");
    assert_eq!(warnings[0]["code"], "partial_design_weights");
    let message = warnings[0]["message"].as_str().expect("text");
    assert!(
        message.starts_with("1 of ") && message.contains("not on one scale"),
        "{message}"
    );
    assert!(
        warnings[0]["message_zh"]
            .as_str()
            .expect("text")
            .contains("两组的权数不在同一尺度上"),
        "{warnings:?}"
    );
}

fn an_empty_round_is_refused_not_failed(app: &TestApp) {
    let stat = app.login("stat");
    let m = app
        .get(&format!("/api/v1/rounds/{ROUND}/estimates"), Some(&stat))
        .error(422);
    assert!(m.contains("cannot be estimated"), "{m}");
    let export = app.get(&format!("/api/v1/rounds/{ROUND}/export"), Some(&stat));
    assert_eq!(export.status, 200);
    assert_eq!(export.text.lines().count(), 1, "the header alone");
}
