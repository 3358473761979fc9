//! `literacy score`: streams an answer file through the scoring core in
//! blocks, so memory stays bounded whatever the file size, and reports
//! every rejected row with its line, column, value and reason.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context, bail};
use literacy_core::answer::{Cell, Encoder};
use literacy_core::scoring::RespondentScore;
use literacy_core::scoring::Summary;
use literacy_core::{Instrument, MISSING, ResponseMatrix};
use literacy_table::{Header, Record};
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
    #[command(flatten)]
    pub read: crate::reading::ReadArgs,
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
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let instrument = instrument_file::load(&args.instrument)?;
    let name = args.responses.display().to_string();
    let (mut reader, header) = crate::reading::open(&args.responses, &args.read.options())?;
    let layout = layout(&instrument, &header, args.theta_column.as_deref())
        .with_context(|| format!("{name}: line 1 (header)"))?;

    let out =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let mut out_header = csv::Writer::from_writer(Vec::new());
    out_header.write_record(
        header
            .names()
            .iter()
            .map(String::as_str)
            .chain(output_columns(&instrument).iter().map(String::as_str)),
    )?;
    out.write_all(&out_header.into_inner()?)?;
    let mut error_file = match &args.errors {
        Some(path) => {
            let mut w = csv::Writer::from_path(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            w.write_record(["line", "column", "value", "message"])?;
            Some(w)
        }
        None => None,
    };

    // A reader thread parses the next block while this one is encoded,
    // scored and formatted in parallel; blocks bound the memory used.
    let block = args.block.max(1);
    let encoders: Vec<Encoder<'_>> = instrument.items.iter().map(Encoder::new).collect();
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Record>>(1);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<Record>>();
    let mut totals = Totals::default();
    let mut work = Work::default();
    let mut shown = std::collections::HashMap::new();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let reader_thread = scope.spawn(move || -> anyhow::Result<()> {
            loop {
                let mut records = empty_rx.try_recv().unwrap_or_default();
                records.resize(block, Record::default());
                let mut filled = 0;
                while filled < block && reader.read(&mut records[filled])? {
                    filled += 1;
                }
                records.truncate(filled);
                if filled == 0 || full_tx.send(records).is_err() {
                    return Ok(());
                }
            }
        });
        for rows in full_rx {
            let errors = work.run(&instrument, &encoders, &layout, &header, &rows)?;
            for chunk in work.format(&instrument, &rows)? {
                out.write_all(&chunk)?;
            }
            for error in errors.iter().flatten() {
                report(&name, error, error_file.as_mut(), &mut shown)?;
            }
            totals.add(rows.len(), work.accepted.len(), &work.scores.summary());
            // The reader may have finished already; then the buffer is not needed.
            let _ = empty_tx.send(rows);
        }
        reader_thread
            .join()
            .map_err(|_| anyhow::anyhow!("the reader thread failed"))?
            .with_context(|| format!("{name}: cannot read"))
    })?;
    out.flush()?;
    if let Some(mut w) = error_file {
        w.flush()?;
    }
    let unprinted: usize = shown
        .values()
        .map(|n| n.saturating_sub(PRINTED_PER_COLUMN))
        .sum();
    if unprinted > 0 {
        eprintln!(
            "{name}: {unprinted} more problems not printed (at most {PRINTED_PER_COLUMN} per column here; {})",
            if args.errors.is_some() {
                "every one is in the --errors file"
            } else {
                "give --errors FILE for all of them"
            }
        );
    }
    totals.print(&name);
    Ok(if totals.rows > totals.accepted {
        ExitCode::from(EXIT_ROWS_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Buffers reused from block to block.
#[derive(Default)]
struct Work {
    cells: Vec<Cell>,
    thetas: Vec<f64>,
    accepted: Vec<usize>,
    kept: Vec<Cell>,
    kept_thetas: Vec<f64>,
    scores: literacy_core::Scores,
    /// The line each respondent id was first seen on, over all blocks.
    seen: literacy_table::FirstSeen,
    /// Per row of the block: the line its id was first seen on, if earlier.
    repeats: Vec<Option<u64>>,
}

/// Rows formatted per parallel task.
const FORMAT_CHUNK: usize = 4096;

impl Work {
    /// Encodes and scores one block; returns each row's problems.
    fn run(
        &mut self,
        instrument: &Instrument,
        encoders: &[Encoder<'_>],
        layout: &Layout,
        header: &Header,
        rows: &[Record],
    ) -> anyhow::Result<Vec<Vec<RowError>>> {
        let n_items = instrument.items.len();
        // Repeated respondents, in file order (the hashes in parallel first).
        fn id<'r>(record: &'r Record, layout: &Layout) -> &'r str {
            record.get(layout.id).unwrap_or_default().trim()
        }
        let seen = &self.seen;
        let hashes: Vec<u64> = rows.par_iter().map(|r| seen.hash(id(r, layout))).collect();
        self.repeats.clear();
        for (record, &hash) in rows.iter().zip(&hashes) {
            let id = id(record, layout);
            let repeat = if record.problem().is_some() || id.is_empty() {
                None
            } else {
                self.seen.first_line_hashed(id, hash, record.line())
            };
            self.repeats.push(repeat);
        }
        self.cells.resize(rows.len() * n_items, MISSING);
        self.thetas.resize(rows.len(), f64::NAN);
        let errors: Vec<Vec<RowError>> = self.cells[..rows.len() * n_items]
            .par_chunks_mut(n_items)
            .zip(self.thetas[..rows.len()].par_iter_mut())
            .zip(rows.par_iter().zip(self.repeats.par_iter()))
            .map(|((cells, theta), (record, repeat))| {
                let mut errors = encode_row(encoders, layout, header, record, cells, theta);
                if let Some(first) = repeat {
                    errors.push(RowError {
                        line: record.line(),
                        column: RESPONDENT_ID.to_owned(),
                        value: shorten(record.get(layout.id).unwrap_or_default()),
                        message: format!("the same respondent as line {first}"),
                    });
                }
                errors
            })
            .collect();
        self.accepted.clear();
        self.accepted
            .extend((0..rows.len()).filter(|&r| errors[r].is_empty()));
        self.kept.clear();
        self.kept_thetas.clear();
        for &r in &self.accepted {
            self.kept
                .extend_from_slice(&self.cells[r * n_items..(r + 1) * n_items]);
            self.kept_thetas.push(self.thetas[r]);
        }
        let matrix = ResponseMatrix::from_rows(instrument, &self.kept)?;
        literacy_core::scoring::score_into(
            instrument,
            &matrix,
            layout.theta.map(|_| self.kept_thetas.as_slice()),
            &mut self.scores,
        )?;
        Ok(errors)
    }

    /// The accepted rows with their scores, as CSV, in parallel chunks.
    fn format(&self, instrument: &Instrument, rows: &[Record]) -> anyhow::Result<Vec<Vec<u8>>> {
        self.accepted
            .par_chunks(FORMAT_CHUNK)
            .enumerate()
            .map(|(chunk, accepted)| {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Vec::with_capacity(accepted.len() * 256));
                let mut number = String::new();
                for (j, &r) in accepted.iter().enumerate() {
                    let score = self.scores.get(chunk * FORMAT_CHUNK + j);
                    write_row(instrument, &rows[r], &score, &mut number, &mut w)?;
                }
                Ok(w.into_inner().map_err(|e| e.into_error())?)
            })
            .collect()
    }
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
    header: &Header,
    theta_column: Option<&str>,
) -> anyhow::Result<Layout> {
    let find = |name: &str| header.position(name);
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
    })
}

/// Values are shortened to this many characters in messages.
const VALUE_CHARS: usize = 80;

fn shorten(value: &str) -> String {
    literacy_table::shorten(value, VALUE_CHARS)
}

/// Encodes one row into `cells`, returning every problem found in it.
fn encode_row(
    encoders: &[Encoder<'_>],
    layout: &Layout,
    header: &Header,
    record: &Record,
    cells: &mut [Cell],
    theta: &mut f64,
) -> Vec<RowError> {
    let line = record.line();
    let mut errors = Vec::new();
    let mut error = |column: &str, value: &str, message: String| {
        errors.push(RowError {
            line,
            column: column.to_owned(),
            value: shorten(value),
            message,
        });
    };
    if let Some(placed) = record.placed_problem(header) {
        error(placed.column, placed.value, placed.problem.to_string());
        return errors;
    }
    let id = record.get(layout.id).unwrap_or_default();
    if id.trim().is_empty() {
        error(RESPONDENT_ID, id, "is empty".to_owned());
    }
    for ((encoder, &column), cell) in encoders.iter().zip(&layout.items).zip(cells) {
        let raw = record.bytes(column).unwrap_or_default();
        match encoder.encode(raw) {
            Ok(c) => *cell = c,
            Err(e) => {
                *cell = MISSING;
                let raw = record.get(column).unwrap_or_default();
                error(&encoder.item().id, raw, e.to_string());
            }
        }
    }
    if let Some(column) = layout.theta {
        let raw = record.get(column).unwrap_or_default();
        let text = literacy_core::text::normalize(raw);
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

/// Writes a score rounded to 10 decimals into `buf`: exact decimal digits,
/// without floating-point noise (69.99999999999999 is written 70).
fn push_score(buf: &mut String, x: f64) {
    use std::fmt::Write as _;
    buf.clear();
    let scaled = (x * 1e10).round();
    if scaled.is_nan() || scaled.abs() >= 9e18 {
        let _ = write!(buf, "{x}");
        return;
    }
    // In range: the cast is exact for these integral values.
    let n = scaled as i64;
    if n < 0 {
        buf.push('-');
    }
    let n = n.unsigned_abs();
    let (int, frac) = (n / 10_000_000_000, n % 10_000_000_000);
    let _ = write!(buf, "{int}");
    if frac != 0 {
        let _ = write!(buf, ".{frac:010}");
        while buf.ends_with('0') {
            buf.pop();
        }
    }
}

/// Writes one input row with its score columns appended.
fn write_row<W: std::io::Write>(
    instrument: &Instrument,
    record: &Record,
    score: &RespondentScore<'_>,
    number: &mut String,
    w: &mut csv::Writer<W>,
) -> csv::Result<()> {
    for field in record.iter_bytes() {
        w.write_field(field)?;
    }
    let mut write_number = |w: &mut csv::Writer<W>, x: Option<f64>| match x {
        Some(x) => {
            push_score(number, x);
            w.write_field(number.as_bytes())
        }
        None => w.write_field(b""),
    };
    for d in 0..instrument.dimensions.len() {
        write_number(w, score.dimensions.map(|dims| dims[d]))?;
    }
    write_number(w, score.total)?;
    let band = score
        .band
        .and_then(|b| instrument.rule.bands.get(b))
        .map_or("", |b| b.id.as_str());
    w.write_field(band)?;
    w.write_field(match score.qualified {
        Some(true) => "1",
        Some(false) => "0",
        None => "",
    })?;
    w.write_field(score.missing.to_string())?;
    w.write_field(score.status.as_str())?;
    w.write_record(None::<&[u8]>)
}

/// Problems printed on stderr per column; the `--errors` file gets them all.
const PRINTED_PER_COLUMN: usize = 1_000;

/// Writes one problem to the errors file, and to stderr while its column
/// has printed fewer than [`PRINTED_PER_COLUMN`] (`shown` counts them).
fn report(
    name: &str,
    error: &RowError,
    file: Option<&mut csv::Writer<File>>,
    shown: &mut std::collections::HashMap<String, usize>,
) -> anyhow::Result<()> {
    let count = shown.entry(error.column.clone()).or_insert(0);
    *count += 1;
    if *count <= PRINTED_PER_COLUMN {
        let column = if error.column.is_empty() {
            String::new()
        } else {
            format!(" column {}, value {:?}:", error.column, error.value)
        };
        eprintln!("{name}: line {}:{column} {}", error.line, error.message);
    }
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
    use super::push_score;

    #[test]
    fn scores_are_rounded_to_ten_decimals() {
        let show = |x: f64| {
            let mut buf = String::new();
            push_score(&mut buf, x);
            buf
        };
        assert_eq!(show(69.999_999_999_999_99), "70");
        assert_eq!(show(20.0 / 7.0), "2.8571428571");
        assert_eq!(show(80.0 / 7.0), "11.4285714286");
        assert_eq!(show(0.0), "0");
        assert_eq!(show(-0.0), "0");
        assert_eq!(show(12.5), "12.5");
        assert_eq!(show(-1.25), "-1.25");
        assert_eq!(show(0.000_000_000_04), "0");
        assert_eq!(show(0.000_000_000_06), "0.0000000001");
        assert_eq!(show(100.0), "100");
    }
}
