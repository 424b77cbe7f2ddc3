//! Distance metrics and input validation.
//!
//! Every metric is turned into a *distance* where smaller is closer:
//! - [`Metric::L2`]: squared Euclidean distance;
//! - [`Metric::Cosine`]: `1 - cos(a, b)`; vectors are normalised on the way in, so this is
//!   `1 - dot` on stored vectors;
//! - [`Metric::InnerProduct`]: `-dot(a, b)`.

use crate::error::{IndexError, Result};
use crate::simd;

/// Similarity measure of an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Squared Euclidean distance.
    L2,
    /// Cosine distance `1 - cos`.
    Cosine,
    /// Negative inner product (maximum inner product search).
    InnerProduct,
}

impl Metric {
    /// Canonical lower-case name: `"l2"`, `"cosine"` or `"ip"` (what [`Display`] prints and
    /// what persisted descriptors store).
    ///
    /// [`Display`]: std::fmt::Display
    pub fn name(self) -> &'static str {
        match self {
            Metric::L2 => "l2",
            Metric::Cosine => "cosine",
            Metric::InnerProduct => "ip",
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Metric {
    type Err = IndexError;

    /// Parses a metric name, case-insensitively: `l2` / `euclidean`, `cosine` / `cos`,
    /// `ip` / `inner_product` / `dot`. Anything else is [`IndexError::InvalidArgument`].
    fn from_str(s: &str) -> Result<Metric> {
        match s.to_ascii_lowercase().as_str() {
            "l2" | "euclidean" => Ok(Metric::L2),
            "cosine" | "cos" => Ok(Metric::Cosine),
            "ip" | "inner_product" | "innerproduct" | "dot" => Ok(Metric::InnerProduct),
            _ => Err(IndexError::InvalidArgument(format!(
                "unknown metric {s:?} (expected l2, cosine or ip)"
            ))),
        }
    }
}

impl Metric {
    /// Distance between two vectors that were already [`prepare`]d for this metric.
    #[inline]
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::L2 => simd::l2sq(a, b),
            Metric::Cosine => 1.0 - simd::dot(a, b),
            Metric::InnerProduct => -simd::dot(a, b),
        }
    }

    /// Stable one-byte tag used in persisted metadata.
    pub fn tag(self) -> u8 {
        match self {
            Metric::L2 => 0,
            Metric::Cosine => 1,
            Metric::InnerProduct => 2,
        }
    }

    /// Inverse of [`Metric::tag`].
    pub fn from_tag(t: u8) -> Option<Metric> {
        match t {
            0 => Some(Metric::L2),
            1 => Some(Metric::Cosine),
            2 => Some(Metric::InnerProduct),
            _ => None,
        }
    }
}

/// Checks `v` against `dim` and finiteness, and normalises it for [`Metric::Cosine`].
///
/// Errors: [`IndexError::DimensionMismatch`], [`IndexError::NonFinite`],
/// [`IndexError::ZeroVector`] (cosine only).
pub fn prepare(metric: Metric, dim: usize, v: &[f32]) -> Result<Vec<f32>> {
    let mut out = v.to_vec();
    prepare_in_place(metric, dim, &mut out)?;
    Ok(out)
}

/// In-place variant of [`prepare`].
pub fn prepare_in_place(metric: Metric, dim: usize, v: &mut [f32]) -> Result<()> {
    if v.len() != dim {
        return Err(IndexError::DimensionMismatch {
            expected: dim,
            got: v.len(),
        });
    }
    if let Some((index, &value)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(IndexError::NonFinite { index, value });
    }
    if metric == Metric::Cosine {
        // Accumulate in f64 so that huge-but-finite components do not overflow to inf.
        let norm = v
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        if norm.is_nan() || norm <= 1e-30 || !norm.is_finite() {
            return Err(IndexError::ZeroVector);
        }
        for x in v.iter_mut() {
            *x = (f64::from(*x) / norm) as f32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn metric_names_roundtrip_and_reject_unknown() {
        use super::Metric;
        for m in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
            assert_eq!(m.to_string().parse::<Metric>().unwrap(), m);
        }
        assert_eq!("Euclidean".parse::<Metric>().unwrap(), Metric::L2);
        assert_eq!("DOT".parse::<Metric>().unwrap(), Metric::InnerProduct);
        assert!("manhattan".parse::<Metric>().is_err());
        assert!("".parse::<Metric>().is_err());
    }

    use super::*;

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            prepare(Metric::L2, 3, &[1.0, 2.0]),
            Err(IndexError::DimensionMismatch {
                expected: 3,
                got: 2
            })
        ));
        assert!(matches!(
            prepare(Metric::L2, 2, &[1.0, f32::NAN]),
            Err(IndexError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            prepare(Metric::InnerProduct, 2, &[f32::INFINITY, 0.0]),
            Err(IndexError::NonFinite { index: 0, .. })
        ));
        assert!(matches!(
            prepare(Metric::Cosine, 2, &[0.0, 0.0]),
            Err(IndexError::ZeroVector)
        ));
        // Zero vectors are fine for L2 and inner product.
        assert!(prepare(Metric::L2, 2, &[0.0, 0.0]).is_ok());
    }

    #[test]
    fn cosine_normalises_even_huge_vectors() {
        let v = prepare(Metric::Cosine, 2, &[3.0e38, 3.0e38]).unwrap();
        assert!((v[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        let a = prepare(Metric::Cosine, 2, &[1.0, 0.0]).unwrap();
        let b = prepare(Metric::Cosine, 2, &[0.0, 5.0]).unwrap();
        assert!((Metric::Cosine.distance(&a, &b) - 1.0).abs() < 1e-6);
        assert!(Metric::Cosine.distance(&a, &a).abs() < 1e-6);
    }

    #[test]
    fn tags_round_trip() {
        for m in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
            assert_eq!(Metric::from_tag(m.tag()), Some(m));
        }
        assert_eq!(Metric::from_tag(9), None);
    }
}
