//! Criterion benchmark of the scoring core: 1,000,000 respondents x 60
//! items of `surveys/csl-2026`, next to two measures of this machine's
//! memory bandwidth on the same matrix (a plain copy and a parallel read).
//! Results and their interpretation: `bench/RESULTS.md`.

#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented functions"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use literacy_core::{Instrument, ResponseMatrix};
use literacy_sim::answers::{self, AnswerModel};
use rayon::prelude::*;

const RESPONDENTS: usize = 1_000_000;

fn matrix() -> (Instrument, ResponseMatrix) {
    let instrument = Instrument::from_json(
        "surveys/csl-2026/instrument.json",
        include_str!("../surveys/csl-2026/instrument.json"),
    )
    .expect("csl-2026 is valid");
    let model = AnswerModel::for_instrument(&instrument, 1);
    let thetas = answers::standard_normal(RESPONDENTS, 1);
    let rows = answers::generate(&instrument, &model, &thetas, 1);
    let matrix = ResponseMatrix::from_rows(&instrument, &rows).expect("valid cells");
    (instrument, matrix)
}

fn bench(c: &mut Criterion) {
    let (instrument, matrix) = matrix();
    let bytes = std::mem::size_of_val(matrix.cells()) as u64;
    let mut group = c.benchmark_group("score_1m_x_60");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(bytes));

    group.bench_function("score", |b| {
        b.iter(|| literacy_core::score(&instrument, black_box(&matrix), None).expect("scores"))
    });
    let mut scores = literacy_core::Scores::default();
    group.bench_function("score_into_reused_buffers", |b| {
        b.iter(|| {
            literacy_core::scoring::score_into(&instrument, black_box(&matrix), None, &mut scores)
                .expect("scores")
        })
    });
    let mut copy = vec![0u16; matrix.cells().len()];
    group.bench_function("copy_matrix", |b| {
        b.iter(|| copy.copy_from_slice(black_box(matrix.cells())))
    });
    group.bench_function("parallel_read_matrix", |b| {
        b.iter(|| {
            black_box(matrix.cells())
                .par_chunks(1 << 16)
                .map(|c| c.iter().map(|&x| u64::from(x)).sum::<u64>())
                .sum::<u64>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
