//! A checkable workload: the writes of commit `id` are a pure function of `id`, so after a
//! crash the whole database can be checked against the set of acknowledged and attempted ids.
//!
//! Commit `id` writes, atomically (as a [`WriteBatch`] or, for every third id, a
//! snapshot-isolation [`toondb_storage::Transaction`]):
//! - a marker `c/<id>` (the commit is visible iff its marker is),
//! - 1..=8 data keys `d/<id>/<j>` with pseudo-random values (some 3 KiB, to force flushes),
//! - an overwrite of one of 16 slot keys `s/<id % 16>` with the value `id`,
//! - for `id >= 50`, a delete of `d/<id - 50>/00`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use toondb_storage::{Direction, Engine, Isolation, WriteBatch};

/// Ids of the commits whose key `d/<id>/00` is deleted by commit `id + DELETE_LAG`.
pub const DELETE_LAG: u64 = 50;
/// Number of slot keys overwritten round-robin.
pub const SLOTS: u64 = 16;

/// SplitMix64: a tiny deterministic generator (no dependency, stable across versions).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Marker key of commit `id`.
pub fn marker_key(id: u64) -> Vec<u8> {
    format!("c/{id:012}").into_bytes()
}

/// Data key `j` of commit `id`.
pub fn data_key(id: u64, j: u64) -> Vec<u8> {
    format!("d/{id:012}/{j:02}").into_bytes()
}

/// Slot key overwritten by commit `id`.
pub fn slot_key(id: u64) -> Vec<u8> {
    format!("s/{:02}", id % SLOTS).into_bytes()
}

/// Number of data keys commit `id` writes.
pub fn data_count(id: u64) -> u64 {
    1 + Rng::new(id ^ 0x5eed).below(8)
}

/// Value of data key `j` of commit `id`.
pub fn data_value(id: u64, j: u64) -> Vec<u8> {
    let mut r = Rng::new(id.wrapping_mul(1000).wrapping_add(j));
    let len = if r.below(50) == 0 {
        3000
    } else {
        8 + r.below(120) as usize
    };
    let mut v = id.to_be_bytes().to_vec();
    while v.len() < len {
        v.extend_from_slice(&r.next_u64().to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Whether commit `id` is written as a transaction (otherwise as a write batch).
pub fn is_txn(id: u64) -> bool {
    id.is_multiple_of(3)
}

/// Performs commit `id`. Returns the engine's error unchanged.
pub fn apply(db: &Engine, id: u64) -> toondb_storage::Result<()> {
    let marker = marker_key(id);
    let slot = slot_key(id);
    let slot_val = id.to_be_bytes();
    if is_txn(id) {
        let mut t = db.begin(Isolation::Snapshot)?;
        // A read inside the transaction, as real ones do.
        let _ = t.get(&slot)?;
        for j in 0..data_count(id) {
            t.put(&data_key(id, j), &data_value(id, j))?;
        }
        t.put(&slot, &slot_val)?;
        if id >= DELETE_LAG {
            t.delete(&data_key(id - DELETE_LAG, 0))?;
        }
        t.put(&marker, id.to_string().as_bytes())?;
        t.commit()
    } else {
        let mut b = WriteBatch::new();
        b.put(&marker, id.to_string().as_bytes());
        for j in 0..data_count(id) {
            b.put(&data_key(id, j), &data_value(id, j));
        }
        b.put(&slot, &slot_val);
        if id >= DELETE_LAG {
            b.delete(&data_key(id - DELETE_LAG, 0));
        }
        db.write(b)
    }
}

/// Reads the whole database.
pub fn dump(db: &Engine) -> toondb_storage::Result<BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut m = BTreeMap::new();
    for kv in db.scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)? {
        let (k, v) = kv?;
        m.insert(k, v);
    }
    Ok(m)
}

/// Outcome of [`check`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckResult {
    /// Commits visible in the database.
    pub visible: u64,
    /// Acknowledged commits that are not visible.
    pub lost: u64,
    /// Visible commits that were never started.
    pub phantom: u64,
    /// Commits partially visible (some of their writes present, others missing).
    pub partial: u64,
    /// Keys with a value no commit could have produced, or unknown keys.
    pub wrong: u64,
    /// First few problems, for the log.
    pub samples: Vec<String>,
}

impl CheckResult {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.lost == 0 && self.phantom == 0 && self.partial == 0 && self.wrong == 0
    }
    fn note(&mut self, s: String) {
        if self.samples.len() < 8 {
            self.samples.push(s);
        }
    }
}

fn parse_id(s: &[u8]) -> Option<u64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Checks database contents `db` against the acknowledged ids and the predicate
/// `attempted(id)` (whether commit `id` was ever started; acknowledged ids must be attempted).
pub fn check(
    db: &BTreeMap<Vec<u8>, Vec<u8>>,
    acked: &BTreeSet<u64>,
    attempted: &dyn Fn(u64) -> bool,
) -> CheckResult {
    let mut r = CheckResult::default();
    let mut visible = BTreeSet::new();
    for (k, v) in db.range(b"c/".to_vec()..b"c0".to_vec()) {
        match k.get(2..).and_then(parse_id) {
            Some(id) if v == id.to_string().as_bytes() => {
                visible.insert(id);
            }
            _ => {
                r.wrong += 1;
                r.note(format!("bad marker {:?}", String::from_utf8_lossy(k)));
            }
        }
    }
    r.visible = visible.len() as u64;
    for &id in acked {
        if !visible.contains(&id) {
            r.lost += 1;
            r.note(format!("acknowledged commit {id} lost"));
        }
    }
    let mut partial_ids = BTreeSet::new();
    for &id in &visible {
        if !attempted(id) {
            r.phantom += 1;
            r.note(format!("commit {id} visible but never started"));
        }
        for j in 0..data_count(id) {
            let deleted = j == 0 && visible.contains(&(id + DELETE_LAG));
            match db.get(&data_key(id, j)) {
                None if !deleted => {
                    partial_ids.insert(id);
                    r.note(format!("commit {id}: data key {j} missing"));
                }
                Some(_) if deleted => {
                    partial_ids.insert(id + DELETE_LAG);
                    r.note(format!("commit {}: delete not applied", id + DELETE_LAG));
                }
                Some(v) if *v != data_value(id, j) => {
                    r.wrong += 1;
                    r.note(format!("commit {id}: data key {j} has a wrong value"));
                }
                _ => {}
            }
        }
    }
    // Data keys of invisible commits, and keys no commit writes.
    for k in db.keys() {
        let s = String::from_utf8_lossy(k);
        if let Some(rest) = s.strip_prefix("d/") {
            let mut parts = rest.split('/');
            let id = parts.next().and_then(|p| p.parse::<u64>().ok());
            let j = parts.next().and_then(|p| p.parse::<u64>().ok());
            match (id, j) {
                (Some(id), Some(j)) if j < data_count(id) => {
                    if !visible.contains(&id) {
                        if attempted(id) {
                            partial_ids.insert(id);
                        } else {
                            r.phantom += 1;
                        }
                        r.note(format!("data of invisible commit {id}"));
                    }
                }
                _ => {
                    r.wrong += 1;
                    r.note(format!("unexpected key {s}"));
                }
            }
        } else if !s.starts_with("c/") && !s.starts_with("s/") {
            r.wrong += 1;
            r.note(format!("unexpected key {s}"));
        }
    }
    for slot in 0..SLOTS {
        let want = visible.iter().rev().find(|id| *id % SLOTS == slot).copied();
        let got = db.get(&slot_key(slot));
        let ok = match (want, got) {
            (None, None) => true,
            (Some(id), Some(v)) => v.as_slice() == id.to_be_bytes(),
            _ => false,
        };
        if !ok {
            match want {
                Some(id) => {
                    partial_ids.insert(id);
                }
                None => r.wrong += 1,
            }
            r.note(format!("slot {slot}: expected last writer {want:?}"));
        }
    }
    r.partial = partial_ids.len() as u64;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use toondb_storage::Options;

    fn run(ids: std::ops::Range<u64>) -> (Engine, BTreeSet<u64>) {
        let db = Engine::open_in_memory(Options::default()).unwrap();
        for id in ids.clone() {
            apply(&db, id).unwrap();
        }
        (db, ids.collect())
    }

    #[test]
    fn full_history_checks_clean() {
        let (db, acked) = run(0..120);
        let r = check(&dump(&db).unwrap(), &acked, &|id| id < 120);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(r.visible, 120);
    }

    #[test]
    fn detects_lost_phantom_partial_and_wrong() {
        let (db, acked) = run(0..80);
        let mut m = dump(&db).unwrap();
        // Lost: remove commit 5 entirely (marker and data), which also exposes its slot.
        m.retain(|k, _| !String::from_utf8_lossy(k).contains("000000000005"));
        let r = check(&m, &acked, &|id| id < 80);
        assert_eq!(r.lost, 1, "{r:?}");
        // Phantom: claim commit 79 was never started.
        let m2 = dump(&db).unwrap();
        let r = check(&m2, &acked, &|id| id < 79);
        assert_eq!(r.phantom, 1, "{r:?}");
        // Partial: drop one data key of commit 70.
        let mut m3 = dump(&db).unwrap();
        m3.remove(&data_key(70, 0));
        let r = check(&m3, &acked, &|id| id < 80);
        assert_eq!(r.partial, 1, "{r:?}");
        // Wrong value.
        let mut m4 = dump(&db).unwrap();
        m4.insert(data_key(71, 0), b"garbage".to_vec());
        let r = check(&m4, &acked, &|id| id < 80);
        assert_eq!(r.wrong, 1, "{r:?}");
    }
}
