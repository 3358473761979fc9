//! `literacy score`: streams an answer file through the scoring core in
//! blocks, so memory stays bounded whatever the file size, and reports
//! every rejected row with its line, column, value and reason.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use literacy_core::answer::Cell;
use literacy_core::scoring::Summary;
use literacy_core::{Instrument, MISSING, ResponseMatrix};
use rayon::prelude::*;

use crate::instrument_file;

/// Exit code when the file was scored but some rows were rejected.
pub const EXIT_ROWS_REJECTED: u8 = 2;

/// Column that identifies a respondent.
const RESPONDENT_ID: &str = "respondent_id";

/// Score an answer file.
///
/// Writes the input rows with their scores appended: `score_<dimension>`
/// for each dimension (on its own points), `total` (0-100), `band`,
/// `qualified` (1 or 0), `n_missing` and `status`. Scores are rounded to
/// 10 decimal places. Exit code 0: every row scored; 2: some rows were
/// rejected (each is reported, the others are written); 1: the file could
/// not be scored at all.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instrument directory (holding instrument.json) or file.
    #[arg(long)]
    pub instrument: PathBuf,
    /// Answer file: `respondent_id`, one column per item, other columns passed through.
    #[arg(long)]
    pub responses: PathBuf,
    /// Where to write the scored rows.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the rejected rows' problems as CSV (line,column,value,message).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Column holding each respondent's ability theta (for the irt_cut rule).
    #[arg(long)]
    pub theta_column: Option<String>,
    /// Rows read and scored per block.
    #[arg(long, default_value_t = 65_536, hide = true)]
    pub block: usize,
}

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowError {
    line: u64,
    column: String,
    value: String,
    message: String,
}

/// Where each needed column is in the input.
struct Layout {
    id: usize,
    items: Vec<usize>,
    theta: Option<usize>,
    width: usize,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let instrument = instrument_file::load(&args.instrument)?;
    let name = args.responses.display().to_string();
    let input = File::open(&args.responses).with_context(|| format!("cannot open {name}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 20, input));
    let headers = reader
        .byte_headers()
        .with_context(|| format!("{name}: cannot read the header"))?
        .clone();
    let layout = layout(&instrument, &headers, args.theta_column.as_deref())
        .with_context(|| format!("{name}: line 1 (header)"))?;

    let out =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, out));
    let mut out_headers = headers.clone();
    for column in output_columns(&instrument) {
        out_headers.push_field(column.as_bytes());
    }
    writer.write_byte_record(&out_headers)?;
    let mut error_file = match &args.errors {
        Some(path) => {
            let mut w = csv::Writer::from_path(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            w.write_record(["line", "column", "value", "message"])?;
            Some(w)
        }
        None => None,
    };

    let block = args.block.max(1);
    let n_items = instrument.items.len();
    let mut records = vec![csv::ByteRecord::new(); block];
    let mut cells = vec![MISSING; block * n_items];
    let mut thetas = vec![f64::NAN; block];
    let mut totals = Totals::default();
    loop {
        let mut filled = 0;
        while filled < block {
            match reader.read_byte_record(&mut records[filled]) {
                Ok(true) => filled += 1,
                Ok(false) => break,
                Err(e) => bail!("{name}: {e}"),
            }
        }
        if filled == 0 {
            break;
        }
        let rows = &records[..filled];
        let errors: Vec<Vec<RowError>> = cells[..filled * n_items]
            .par_chunks_mut(n_items)
            .zip(thetas[..filled].par_iter_mut())
            .zip(rows.par_iter())
            .map(|((row_cells, theta), record)| {
                encode_row(&instrument, &layout, record, row_cells, theta)
            })
            .collect();

        let accepted: Vec<usize> = (0..filled).filter(|&r| errors[r].is_empty()).collect();
        let mut kept = Vec::with_capacity(accepted.len() * n_items);
        for &r in &accepted {
            kept.extend_from_slice(&cells[r * n_items..(r + 1) * n_items]);
        }
        let kept_thetas: Vec<f64> = accepted.iter().map(|&r| thetas[r]).collect();
        let matrix = ResponseMatrix::from_rows(&instrument, &kept)?;
        let scores = literacy_core::score(
            &instrument,
            &matrix,
            layout.theta.map(|_| kept_thetas.as_slice()),
        )?;

        for (k, &r) in accepted.iter().enumerate() {
            let mut record = rows[r].clone();
            append_scores(&instrument, &scores.get(k), &mut record);
            writer.write_byte_record(&record)?;
        }
        for error in errors.iter().flatten() {
            report(&name, error, error_file.as_mut())?;
        }
        totals.add(filled, accepted.len(), &scores.summary());
    }
    writer.flush()?;
    if let Some(mut w) = error_file {
        w.flush()?;
    }
    totals.print(&name);
    Ok(if totals.rows > totals.accepted {
        ExitCode::from(EXIT_ROWS_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The score columns appended to every row.
fn output_columns(instrument: &Instrument) -> Vec<String> {
    let mut columns: Vec<String> = instrument
        .dimensions
        .iter()
        .map(|d| format!("score_{}", d.id))
        .collect();
    columns.extend(
        ["total", "band", "qualified", "n_missing", "status"]
            .iter()
            .map(|c| (*c).to_owned()),
    );
    columns
}

fn layout(
    instrument: &Instrument,
    headers: &csv::ByteRecord,
    theta_column: Option<&str>,
) -> anyhow::Result<Layout> {
    let names: Vec<String> = headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    let find = |name: &str| names.iter().position(|h| h == name);
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            bail!("column {name:?} appears twice");
        }
    }
    let Some(id) = find(RESPONDENT_ID) else {
        bail!("there is no {RESPONDENT_ID:?} column");
    };
    let missing: Vec<&str> = instrument
        .items
        .iter()
        .filter(|item| find(&item.id).is_none())
        .map(|item| item.id.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} item column{} of instrument {} {} missing: {}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            instrument.id,
            if missing.len() == 1 { "is" } else { "are" },
            missing.join(", ")
        );
    }
    for column in output_columns(instrument) {
        if find(&column).is_some() {
            bail!("column {column:?} would be overwritten by the scores; rename it");
        }
    }
    let theta = match theta_column {
        Some(name) => match find(name) {
            Some(i) => Some(i),
            None => bail!("there is no theta column {name:?}"),
        },
        None if instrument.rule.needs_theta() => {
            bail!(
                "instrument {} qualifies by an irt_cut rule: give --theta-column",
                instrument.id
            )
        }
        None => None,
    };
    Ok(Layout {
        id,
        items: instrument
            .items
            .iter()
            .filter_map(|item| find(&item.id))
            .collect(),
        theta,
        width: names.len(),
    })
}

/// Encodes one row into `cells`, returning every problem found in it.
fn encode_row(
    instrument: &Instrument,
    layout: &Layout,
    record: &csv::ByteRecord,
    cells: &mut [Cell],
    theta: &mut f64,
) -> Vec<RowError> {
    let line = record.position().map_or(0, csv::Position::line);
    let mut errors = Vec::new();
    let mut error = |column: &str, value: &[u8], message: String| {
        errors.push(RowError {
            line,
            column: column.to_owned(),
            value: String::from_utf8_lossy(value).into_owned(),
            message,
        });
    };
    if record.len() != layout.width {
        error(
            "",
            b"",
            format!(
                "the row has {} fields; the header has {}",
                record.len(),
                layout.width
            ),
        );
        return errors;
    }
    let id = record.get(layout.id).unwrap_or_default();
    if id.iter().all(u8::is_ascii_whitespace) {
        error(RESPONDENT_ID, id, "is empty".to_owned());
    }
    for ((item, &column), cell) in instrument.items.iter().zip(&layout.items).zip(cells) {
        let raw = record.get(column).unwrap_or_default();
        *cell = MISSING;
        match std::str::from_utf8(raw) {
            Ok(text) => match item.encode(text) {
                Ok(c) => *cell = c,
                Err(e) => error(&item.id, raw, e.to_string()),
            },
            Err(_) => error(&item.id, raw, "is not valid UTF-8".to_owned()),
        }
    }
    if let Some(column) = layout.theta {
        let raw = record.get(column).unwrap_or_default();
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        *theta = if text.is_empty() {
            f64::NAN
        } else {
            match text.parse::<f64>() {
                Ok(t) if t.is_finite() => t,
                _ => {
                    error("theta", raw, "is not a number".to_owned());
                    f64::NAN
                }
            }
        };
    }
    errors
}

/// Formats a score rounded to 10 decimals, which removes floating-point
/// noise (69.99999999999999 is written 70) and keeps every real digit.
fn format_score(x: f64) -> String {
    let rounded = (x * 1e10).round() / 1e10;
    format!("{}", rounded + 0.0)
}

fn append_scores(
    instrument: &Instrument,
    score: &literacy_core::scoring::RespondentScore<'_>,
    record: &mut csv::ByteRecord,
) {
    match score.dimensions {
        Some(dims) => {
            for &d in dims {
                record.push_field(format_score(d).as_bytes());
            }
        }
        None => {
            for _ in &instrument.dimensions {
                record.push_field(b"");
            }
        }
    }
    record.push_field(score.total.map(format_score).unwrap_or_default().as_bytes());
    let band = score
        .band
        .and_then(|b| instrument.rule.bands.get(b))
        .map_or("", |b| b.id.as_str());
    record.push_field(band.as_bytes());
    record.push_field(match score.qualified {
        Some(true) => b"1",
        Some(false) => b"0",
        None => b"",
    });
    record.push_field(score.missing.to_string().as_bytes());
    record.push_field(score.status.as_str().as_bytes());
}

fn report(
    name: &str,
    error: &RowError,
    file: Option<&mut csv::Writer<File>>,
) -> anyhow::Result<()> {
    let column = if error.column.is_empty() {
        String::new()
    } else {
        format!(" column {}, value {:?}:", error.column, error.value)
    };
    eprintln!("{name}: line {}:{column} {}", error.line, error.message);
    if let Some(w) = file {
        w.write_record([
            error.line.to_string().as_str(),
            &error.column,
            &error.value,
            &error.message,
        ])?;
    }
    Ok(())
}

#[derive(Default)]
struct Totals {
    rows: usize,
    accepted: usize,
    scores: Summary,
}

impl Totals {
    fn add(&mut self, rows: usize, accepted: usize, s: &Summary) {
        self.rows += rows;
        self.accepted += accepted;
        self.scores.respondents += s.respondents;
        self.scores.scored += s.scored;
        self.scores.too_many_missing += s.too_many_missing;
        self.scores.no_theta += s.no_theta;
        self.scores.qualified += s.qualified;
    }

    fn print(&self, name: &str) {
        let s = &self.scores;
        eprintln!(
            "{name}: {} rows read, {} accepted, {} rejected; {} scored ({} qualified), {} excluded for too many missing answers, {} without a theta",
            self.rows,
            self.accepted,
            self.rows - self.accepted,
            s.scored,
            s.qualified,
            s.too_many_missing,
            s.no_theta
        );
    }
}

#[cfg(test)]
mod tests {
    use super::format_score;

    #[test]
    fn scores_are_rounded_to_ten_decimals() {
        assert_eq!(format_score(69.999_999_999_999_99), "70");
        assert_eq!(format_score(20.0 / 7.0), "2.8571428571");
        assert_eq!(format_score(0.0), "0");
        assert_eq!(format_score(-0.0), "0");
        assert_eq!(format_score(12.5), "12.5");
    }
}
