//! Small dense linear algebra for information matrices.

/// Inverse of a square matrix (row-major, `n x n`) by Gauss-Jordan
/// elimination with partial pivoting; `None` when singular.
pub(crate) fn invert(m: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut a = m.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    let scale = m
        .iter()
        .fold(0.0_f64, |s, x| s.max(x.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[pivot * n + col].abs() <= 1e-13 * scale {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
                inv.swap(col * n + k, pivot * n + k);
            }
        }
        let p = a[col * n + col];
        for k in 0..n {
            a[col * n + k] /= p;
            inv[col * n + k] /= p;
        }
        for i in 0..n {
            if i != col {
                let f = a[i * n + col];
                if f != 0.0 {
                    for k in 0..n {
                        a[i * n + k] -= f * a[col * n + k];
                        inv[i * n + k] -= f * inv[col * n + k];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// Solves `m x = g` (`m` square, `n x n`); `None` when singular.
pub(crate) fn solve(m: &[f64], g: &[f64], n: usize) -> Option<Vec<f64>> {
    let inv = invert(m, n)?;
    Some(
        (0..n)
            .map(|i| (0..n).map(|k| inv[i * n + k] * g[k]).sum())
            .collect(),
    )
}
