//! Fuzzes the texmex (`.fvecs` / `.ivecs`) parsers of `toondb-index` and feeds whatever parses
//! into an index: no input may panic, and parsed sizes must be consistent with the bytes.
//!
//! Leak checking: `HnswIndex::insert_batch` and `HnswIndex::repair` (also reached through
//! `delete`) run on `std::thread::scope` threads, even with `threads = 1`. The scope returns
//! once every thread's closure has finished, but it does not join the OS threads: each one
//! still runs its thread-local destructors (freeing its `std::thread::Thread` handle and the
//! destructor list, 112 bytes) after the index call has returned. libFuzzer's leak check after
//! an input could run inside that window and report those 112 bytes (input kept in
//! `fuzz/regressions/vectors/`). The target therefore waits, after the index calls, until the
//! process is back to the thread count it had before them, so the check always sees a quiescent
//! process and a report is a real leak. See docs/TESTING.md (Fuzzing).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use toondb_index::texmex::{parse_fvecs, parse_ivecs};
use toondb_index::{FlatIndex, HnswConfig, HnswIndex, Metric};

/// Threads of this process (Linux `/proc/self/task`); `None` where that is not readable.
fn os_threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

/// Waits (at most 10 s) until the process has no more threads than `before`: the index's
/// scoped threads have then run their thread-local destructors and exited.
fn wait_for_thread_exit(before: Option<usize>) {
    let Some(before) = before else { return };
    let deadline = Instant::now() + Duration::from_secs(10);
    while os_threads().is_some_and(|n| n > before) && Instant::now() < deadline {
        std::thread::yield_now();
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_ivecs(data, "fuzz.ivecs") {
        assert_eq!(v.rows() * (v.dim + 1) * 4, data.len());
    }
    let Ok(v) = parse_fvecs(data, "fuzz.fvecs") else {
        return;
    };
    assert_eq!(v.rows() * (v.dim + 1) * 4, data.len());
    if v.dim > 64 || v.rows() > 64 {
        return;
    }
    let threads_before = os_threads();
    // Parsed vectors may hold NaN/inf/zero: the index must answer with errors, not panics.
    let mut cfg = HnswConfig::new(v.dim, Metric::Cosine);
    cfg.threads = 1;
    let Ok(mut idx) = HnswIndex::new(cfg) else {
        return;
    };
    let mut flat = FlatIndex::new(v.dim, Metric::L2).expect("dim >= 1");
    for i in 0..v.rows() {
        let _ = idx.insert(i as u64 % 7, v.row(i));
        let _ = flat.insert(i as u64, v.row(i));
    }
    let _ = idx.search(v.row(0), 3);
    let _ = flat.search(v.row(0), 3);
    let ids: Vec<u64> = (0..v.rows() as u64).collect();
    let _ = idx.insert_batch(&ids, &v.data);
    let _ = idx.delete(1);
    idx.repair();
    drop(idx);
    drop(flat);
    wait_for_thread_exit(threads_before);
});
