//! The files of a simulated round, written to any `Write` (the command
//! line chooses the paths). No value written needs CSV quoting: codes,
//! numbers, `;`-separated multiple-select answers and identifiers.
//!
//! | file | columns |
//! |---|---|
//! | `answers.csv` | `respondent_id`, one column per item (answer codes, empty = blank), `province`, `urban_rural`, `sex`, `birth_year`, `education`, `occupation`, `mode` |
//! | `microdata.csv` | `respondent_id`, `stratum`, `psu`, `stratum_psus`, `base_weight`, `weight`, `province`, `region`, `urban_rural`, `sex`, `age_group`, `birth_year`, `education`, `occupation`, `mode`, `theta`, `total`, `qualified` |
//! | `margin_<variable>.csv` | `<variable>` (category code), `total` (adults) |
//! | `truth.csv` | `variable`, `category`, `population`, `share`, `published` |
//! | `items.csv` | `item_id`, `dimension`, `type`, `points`, `slope`, `difficulty`, `dont_know`, `missing` |
//! | `strata.csv` | `stratum`, `province`, `urban_rural`, `adults`, `frame_psus`, `sampled_psus`, `contacted`, `completes`, `response_rate` |

use std::fmt::Write as _;
use std::io::{self, Write};

use literacy_core::demographics::{self, PROVINCES};
use rayon::prelude::*;

use crate::design::largest_remainder;
use crate::population::PopulationVariable;
use crate::structure::region_name;
use crate::{NationalModel, SimulatedRound};

/// The variables with a margin file, in order.
pub const MARGIN_VARIABLES: [PopulationVariable; 5] = [
    PopulationVariable::Province,
    PopulationVariable::UrbanRural,
    PopulationVariable::Sex,
    PopulationVariable::AgeGroup,
    PopulationVariable::Education,
];

/// The variables of the truth file after the nation, in order.
pub const TRUTH_VARIABLES: [PopulationVariable; 7] = [
    PopulationVariable::Sex,
    PopulationVariable::UrbanRural,
    PopulationVariable::Region,
    PopulationVariable::AgeGroup,
    PopulationVariable::Education,
    PopulationVariable::Occupation,
    PopulationVariable::Province,
];

/// Respondents formatted per parallel task.
const CHUNK: usize = 4096;

/// A number with at most `places` decimals, trailing zeros removed.
pub fn decimal(x: f64, places: usize) -> String {
    let s = format!("{x:.places$}");
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".to_owned()
        } else {
            t.to_owned()
        }
    } else {
        s
    }
}

fn line(out: &mut String, fields: &[&str]) {
    for (k, f) in fields.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(f);
    }
    out.push('\n');
}

/// Formats rows in parallel, in chunks, and writes them in order.
fn write_rows(
    w: &mut impl Write,
    n: usize,
    row: impl Fn(usize, &mut String) + Sync,
) -> io::Result<()> {
    // Windows of chunks bound the memory of the formatted text.
    for window in (0..n).step_by(CHUNK * 16) {
        let end = (window + CHUNK * 16).min(n);
        let texts: Vec<String> = (window..end)
            .step_by(CHUNK)
            .collect::<Vec<_>>()
            .par_iter()
            .map(|&start| {
                let mut s = String::with_capacity(CHUNK * 160);
                for r in start..(start + CHUNK).min(end) {
                    row(r, &mut s);
                }
                s
            })
            .collect();
        for t in texts {
            w.write_all(t.as_bytes())?;
        }
    }
    Ok(())
}

impl NationalModel {
    /// The answer text of every cell of every item (index = cell).
    pub fn answer_texts(&self) -> Vec<Vec<String>> {
        self.instrument()
            .items
            .iter()
            .map(|item| {
                (0..item.cell_count())
                    .map(|c| item.decode(u16::try_from(c).unwrap_or(u16::MAX)))
                    .collect()
            })
            .collect()
    }

    /// The header of the answer files.
    pub fn answers_header(&self) -> Vec<String> {
        let mut header = vec!["respondent_id".to_owned()];
        header.extend(self.instrument().items.iter().map(|i| i.id.clone()));
        header.extend(demographics::ALL.iter().map(|d| d.id().to_owned()));
        header.push("mode".to_owned());
        header
    }

    /// Appends respondent `r`'s line of the answer files (without the
    /// line break) to `out`; `texts` is [`NationalModel::answer_texts`].
    pub fn push_answer_line(
        &self,
        round: &SimulatedRound,
        r: usize,
        texts: &[Vec<String>],
        out: &mut String,
    ) {
        let n_items = self.instrument().items.len();
        let resp = &round.sample.respondents[r];
        let cell = &self.population().cells[resp.cell as usize];
        let cells = &round.cells[r * n_items..(r + 1) * n_items];
        round.push_respondent_id(r, out);
        for (text, &c) in texts.iter().zip(cells) {
            out.push(',');
            out.push_str(&text[usize::from(c)]);
        }
        let _ = write!(
            out,
            ",{},{},{},{},{},{},{}",
            PROVINCES[usize::from(cell.province)].code,
            cell.urban_rural,
            cell.sex,
            self.instrument().fieldwork_year - i32::from(resp.age),
            cell.education,
            cell.occupation,
            resp.mode.as_str()
        );
    }

    /// Writes `answers.csv`: the format `literacy score` reads, with the
    /// demographic columns and the mode passed through.
    pub fn write_answers(&self, round: &SimulatedRound, w: &mut impl Write) -> io::Result<()> {
        let texts = self.answer_texts();
        let mut header = String::new();
        let columns = self.answers_header();
        line(
            &mut header,
            &columns.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        w.write_all(header.as_bytes())?;
        write_rows(w, round.sample.respondents.len(), |r, out| {
            self.push_answer_line(round, r, &texts, out);
            out.push('\n');
        })
    }

    /// Writes `microdata.csv`: one row per respondent with the design
    /// (stratum, PSU, the stratum's PSUs in the frame for a finite
    /// population correction, base and nonresponse-adjusted weights), the
    /// groups, the true theta and the score under the instrument's rule
    /// (`total` and `qualified` are empty for a respondent the rule cannot
    /// score).
    pub fn write_microdata(&self, round: &SimulatedRound, w: &mut impl Write) -> io::Result<()> {
        w.write_all(
            b"respondent_id,stratum,psu,stratum_psus,base_weight,weight,province,region,urban_rural,sex,age_group,birth_year,education,occupation,mode,theta,total,qualified\n",
        )?;
        let mut frame = vec![0usize; self.population().strata.len()];
        for s in &round.sample.strata {
            frame[s.stratum] = s.frame_psus;
        }
        write_rows(w, round.sample.respondents.len(), |r, out| {
            let resp = &round.sample.respondents[r];
            let cell = &self.population().cells[resp.cell as usize];
            let stratum = &self.population().strata[usize::from(resp.stratum)];
            let score = round.scores.get(r);
            round.push_respondent_id(r, out);
            let _ = write!(
                out,
                ",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},",
                stratum.code(),
                resp.psu,
                frame[usize::from(resp.stratum)],
                resp.base_weight,
                resp.weight,
                PROVINCES[usize::from(cell.province)].code,
                region_name(usize::from(cell.region)),
                cell.urban_rural,
                cell.sex,
                cell.age_group,
                self.instrument().fieldwork_year - i32::from(resp.age),
                cell.education,
                cell.occupation,
                resp.mode.as_str(),
                decimal(resp.theta, 6),
            );
            if let Some(total) = score.total {
                out.push_str(&decimal(total, 10));
            }
            out.push(',');
            if let Some(q) = score.qualified {
                out.push(if q { '1' } else { '0' });
            }
            out.push('\n');
        })
    }

    /// Population counts (whole adults, all variables adding up to the same
    /// grand total) of every category of `variable`.
    pub fn population_counts(&self, variable: PopulationVariable) -> Vec<usize> {
        let population = self.population();
        let mut exact = vec![0.0; variable.len()];
        for c in &population.cells {
            exact[c.category(variable)] += c.count;
        }
        let grand = population.adults().round() as usize;
        largest_remainder(grand, &exact)
    }

    /// Writes the margin file of `variable` (`margin_<variable>.csv`).
    pub fn write_margin(&self, variable: PopulationVariable, w: &mut impl Write) -> io::Result<()> {
        let mut out = String::new();
        line(&mut out, &[variable.name(), "total"]);
        for (k, n) in self.population_counts(variable).iter().enumerate() {
            line(&mut out, &[&variable.code(k), &n.to_string()]);
        }
        w.write_all(out.as_bytes())
    }

    /// Writes `truth.csv`: the true population share qualified (a
    /// fraction) of the nation (`national,all`) and of every category of
    /// sex, urban/rural, region, age group, education, occupation and
    /// province, with the adults in it and the published share (a
    /// fraction) where the structure file has one.
    pub fn write_truth(&self, w: &mut impl Write) -> io::Result<()> {
        let population = self.population();
        let mut out = String::new();
        line(
            &mut out,
            &["variable", "category", "population", "share", "published"],
        );
        let published = |p: Option<f64>| p.map(|p| decimal(p, 6)).unwrap_or_default();
        line(
            &mut out,
            &[
                "national",
                "all",
                &(population.adults().round() as usize).to_string(),
                &decimal(population.share_of(|_| true), 10),
                &published(population.target(None, 0)),
            ],
        );
        for variable in TRUTH_VARIABLES {
            let counts = self.population_counts(variable);
            for (k, n) in counts.iter().enumerate() {
                let share = population.share_of(|c| c.category(variable) == k);
                line(
                    &mut out,
                    &[
                        variable.name(),
                        &variable.code(k),
                        &n.to_string(),
                        &decimal(share, 10),
                        &published(population.target(Some(variable), k)),
                    ],
                );
            }
        }
        w.write_all(out.as_bytes())
    }

    /// Writes `items.csv`: each item's answer-model parameters (the 2PL
    /// slope and difficulty of a fully correct answer; the probability that
    /// a wrong answer is don't know and that the item is left blank).
    pub fn write_items(&self, w: &mut impl Write) -> io::Result<()> {
        let model = self.answer_model();
        let mut out = String::new();
        line(
            &mut out,
            &[
                "item_id",
                "dimension",
                "type",
                "points",
                "slope",
                "difficulty",
                "dont_know",
                "missing",
            ],
        );
        for (i, item) in self.instrument().items.iter().enumerate() {
            line(
                &mut out,
                &[
                    &item.id,
                    &item.dimension,
                    item.kind.type_name(),
                    &item.points.to_string(),
                    &decimal(model.slope[i], 10),
                    &decimal(model.difficulty[i], 10),
                    &model.dont_know.to_string(),
                    &model.missing.to_string(),
                ],
            );
        }
        w.write_all(out.as_bytes())
    }

    /// Writes `strata.csv`: each sampled stratum's adults, frame and drawn
    /// PSUs, households contacted and completed interviews.
    pub fn write_strata(&self, round: &SimulatedRound, w: &mut impl Write) -> io::Result<()> {
        let mut out = String::new();
        line(
            &mut out,
            &[
                "stratum",
                "province",
                "urban_rural",
                "adults",
                "frame_psus",
                "sampled_psus",
                "contacted",
                "completes",
                "response_rate",
            ],
        );
        for s in &round.sample.strata {
            let stratum = &self.population().strata[s.stratum];
            let rate = s.completes as f64 / s.contacted.max(1) as f64;
            line(
                &mut out,
                &[
                    &stratum.code().to_string(),
                    &PROVINCES[stratum.province].code.to_string(),
                    &stratum.urban_rural.to_string(),
                    &(stratum.adults.round() as u64).to_string(),
                    &s.frame_psus.to_string(),
                    &s.sampled_psus.to_string(),
                    &s.contacted.to_string(),
                    &s.completes.to_string(),
                    &decimal(rate, 6),
                ],
            );
        }
        w.write_all(out.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_trimmed() {
        assert_eq!(decimal(70.0, 10), "70");
        assert_eq!(decimal(2.857_142_857_142_857, 10), "2.8571428571");
        assert_eq!(decimal(0.5, 6), "0.5");
        assert_eq!(decimal(-0.000_000_1, 6), "0");
    }
}
