//! Distance kernels: scalar reference vs the runtime-selected SIMD implementation.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use toondb_index::rng::Rng;
use toondb_index::simd;

fn kernels(c: &mut Criterion) {
    let mut r = Rng::new(1);
    for dim in [128usize, 384, 1536] {
        let a: Vec<f32> = (0..dim).map(|_| r.next_f32()).collect();
        let b: Vec<f32> = (0..dim).map(|_| r.next_f32()).collect();
        let codes: Vec<u8> = (0..dim).map(|_| (r.next_u64() & 0xff) as u8).collect();
        let level = format!("{:?}", simd::kernel_level());
        let mut g = c.benchmark_group(format!("dim{dim}"));
        g.bench_function("dot/scalar", |bn| {
            bn.iter(|| simd::dot_scalar(black_box(&a), black_box(&b)))
        });
        g.bench_function(format!("dot/{level}"), |bn| {
            bn.iter(|| simd::dot(black_box(&a), black_box(&b)))
        });
        g.bench_function("l2sq/scalar", |bn| {
            bn.iter(|| simd::l2sq_scalar(black_box(&a), black_box(&b)))
        });
        g.bench_function(format!("l2sq/{level}"), |bn| {
            bn.iter(|| simd::l2sq(black_box(&a), black_box(&b)))
        });
        g.bench_function("dot_u8/scalar", |bn| {
            bn.iter(|| simd::dot_u8_scalar(black_box(&a), black_box(&codes)))
        });
        g.bench_function(format!("dot_u8/{level}"), |bn| {
            bn.iter(|| simd::dot_u8(black_box(&a), black_box(&codes)))
        });
        g.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
