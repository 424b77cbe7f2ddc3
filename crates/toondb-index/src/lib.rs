//! ToonDB's vector index: HNSW with quantization and SIMD distances, persisted through toondb-storage.
#![forbid(unsafe_code)]
