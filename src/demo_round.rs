//! The demo round of `literacy serve --demo`: the csl-2026 instrument
//! published, round `2026` raked to the simulated population's margins and
//! filled with a simulated national sample (every province, every mode,
//! with its design: stratum, PSU and weight), and one account per role with
//! a fresh random password, so a newcomer sees real estimates at once.

use std::collections::BTreeMap;

use anyhow::Context;
use literacy_core::Instrument;
use literacy_core::demographics::PROVINCES;
use literacy_sim::NationalModel;
use literacy_sim::output::MARGIN_VARIABLES;
use literacy_store::batches::{self, BatchRow, NewBatch};
use literacy_store::rounds::{self, NewRound, RoundStatus};
use literacy_store::submissions::Mode;
use literacy_store::users::{self, Role};
use literacy_store::{Store, instruments};
use rand::{RngCore, SeedableRng};

use crate::instrument_file;

/// The demo round's code.
pub const ROUND: &str = "2026";
/// Respondents simulated for the demo by default.
pub const RESPONDENTS: usize = 20_000;
/// The demo's seed: the same sample every time.
pub const SEED: u64 = 2026;

/// The demo round's instrument: the built-in national design.
const INSTRUMENT: &str = instrument_file::CSL_2026;

/// An account made for the demo, with its password.
#[derive(Debug, Clone)]
pub struct Account {
    /// User name.
    pub username: String,
    /// Password (random, printed once).
    pub password: String,
    /// Role name.
    pub role: String,
}

/// What the demo seeding did.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// Accounts with their passwords.
    pub accounts: Vec<Account>,
    /// Responses stored now (0 if the round existed).
    pub responses: usize,
}

/// Creates the demo round (unless it exists) and the demo accounts (or new
/// passwords for them).
pub fn seed(store: &Store, respondents: usize) -> anyhow::Result<Seeded> {
    let mut conn = store.conn()?;
    let responses = if rounds::by_code(&mut conn, ROUND)?.is_some() {
        0
    } else {
        create_round(store, respondents).context("creating the demo round")?
    };
    let mut accounts = Vec::new();
    for (username, role) in [
        ("admin", Role::Admin),
        ("statistician", Role::Statistician),
        ("uploader-11", Role::Uploader { province: 11 }),
        ("uploader-44", Role::Uploader { province: 44 }),
    ] {
        let password = random_password();
        let existing = users::list(&mut conn)?
            .into_iter()
            .find(|u| u.username == username);
        match existing {
            Some(u) => {
                users::set_password(&mut conn, u.id, &password)?;
            }
            None => {
                users::create(&mut conn, username, &password, role)?;
            }
        }
        accounts.push(Account {
            username: username.to_owned(),
            password,
            role: role.name().to_owned(),
        });
    }
    Ok(Seeded {
        accounts,
        responses,
    })
}

fn random_password() -> String {
    let mut bytes = [0u8; 9];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Publishes the instrument, creates the round and stores the sample;
/// returns the number of responses stored.
fn create_round(store: &Store, respondents: usize) -> anyhow::Result<usize> {
    let instrument = Instrument::from_json("csl-2026/instrument.json", INSTRUMENT)?;
    let model = NationalModel::embedded_2023(&instrument)?;
    let round = model.simulate(respondents, SEED)?;
    let mut margins = serde_json::Map::new();
    for v in MARGIN_VARIABLES {
        let totals: serde_json::Map<String, serde_json::Value> = model
            .population_counts(v)
            .iter()
            .enumerate()
            .map(|(k, n)| (v.code(k), serde_json::Value::from(*n as u64)))
            .collect();
        margins.insert(v.name().to_owned(), totals.into());
    }
    let rule = serde_json::to_string(&instrument.rule)?;
    let margins = serde_json::Value::Object(margins).to_string();

    let mut conn = store.conn()?;
    let stored =
        instruments::create_draft(&mut conn, &instrument.id, &instrument.version, INSTRUMENT)?;
    instruments::publish(&mut conn, stored.id)?;
    let created = rounds::create(
        &mut conn,
        &NewRound {
            code: ROUND,
            instrument_id: stored.id,
            rule: &rule,
            margins: &margins,
            opens_at: None,
            closes_at: None,
            status: RoundStatus::Open,
            open_online: true,
        },
    )?;

    // One batch per province and mode, as the provinces would deliver them.
    let n_items = instrument.items.len();
    let mut groups: BTreeMap<(u16, &'static str), Vec<BatchRow>> = BTreeMap::new();
    for (r, resp) in round.sample.respondents.iter().enumerate() {
        let cell = &model.population().cells[resp.cell as usize];
        let province = PROVINCES[usize::from(cell.province)].code;
        let stratum = &model.population().strata[usize::from(resp.stratum)];
        let answers = instrument
            .items
            .iter()
            .zip(&round.cells[r * n_items..(r + 1) * n_items])
            .filter(|(_, c)| **c != literacy_core::MISSING)
            .map(|(item, &c)| (item.id.clone(), item.decode(c)))
            .collect();
        let demographics = [
            ("province", province.to_string()),
            ("urban_rural", cell.urban_rural.to_string()),
            ("sex", cell.sex.to_string()),
            (
                "birth_year",
                (instrument.fieldwork_year - i32::from(resp.age)).to_string(),
            ),
            ("education", cell.education.to_string()),
            ("occupation", cell.occupation.to_string()),
            ("stratum", stratum.code().to_string()),
            ("psu", resp.psu.to_string()),
            ("weight", resp.weight.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let rows = groups.entry((province, resp.mode.as_str())).or_default();
        rows.push(BatchRow::new(
            rows.len() as u64 + 2,
            round.respondent_id(r),
            &answers,
            &demographics,
            None,
        )?);
    }
    let mut stored_rows = 0;
    for ((province, mode), rows) in &groups {
        let name = format!("demo-{province}-{mode}.csv");
        let hash = format!("demo-{SEED}-{respondents}-{province}-{mode}");
        let outcome = batches::commit(
            &mut conn,
            &NewBatch {
                round_id: created.id,
                province: i32::from(*province),
                uploader_id: None,
                file_name: &name,
                file_hash: &hash,
                mode: Mode::parse(mode).unwrap_or(Mode::Paper),
                rows_rejected: 0,
                rows,
            },
        )?;
        if let batches::BatchOutcome::Committed(receipt) = outcome {
            stored_rows += receipt.accepted;
        }
    }
    Ok(stored_rows)
}
