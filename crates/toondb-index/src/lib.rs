//! ToonDB's vector index: HNSW with scalar (SQ8) and product (PQ) quantization, SIMD distance
//! kernels and exact brute-force search, persisted through `toondb-storage`. It depends only on
//! storage (never on the query layer) and uses no async runtime.
//!
//! - [`HnswIndex`]: approximate k-NN with live upserts, deletes + graph repair, filters and
//!   parallel batch build.
//! - [`FlatIndex`]: exact search for small collections and ground truth.
//! - [`quant`]: SQ8 and PQ quantizers with asymmetric distance tables.
//! - [`simd`]: distance kernels (AVX2+FMA / NEON / scalar, chosen at run time). It is the only
//!   module allowed to use `unsafe`.
//! - [`PersistentIndex`]: an [`HnswIndex`] whose vectors live in a `toondb-storage` engine
//!   (one key per vector, writable inside the caller's transaction); the graph is rebuilt
//!   from the stored vectors on open, so it always agrees with them after a crash.
//! - [`texmex`]: a validating reader of `.fvecs` / `.ivecs` files (benchmark data sets).
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod error;
pub mod flat;
pub mod hnsw;
pub mod metric;
pub mod persist;
pub mod quant;
pub mod rng;
pub mod search;
pub mod simd;
pub mod texmex;

pub use error::{IndexError, Result};
pub use flat::FlatIndex;
pub use hnsw::{HnswConfig, HnswIndex, MemoryUsage, VectorSource};
pub use metric::Metric;
pub use persist::{
    graph_vector_sum, read_graph_image, stage_graph_image, OpenReport, PersistentIndex,
};
pub use quant::Quantization;
pub use search::{Filter, Hit, SearchParams};
