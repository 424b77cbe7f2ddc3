//! A fixed pool of database threads for short, non-transactional point operations.
//!
//! `tokio::task::spawn_blocking` costs a mutex, a condvar wake-up of an idle pool thread and a
//! context switch per call, and its threads park again after every call: at 10 concurrent
//! clients about 45% of the server's CPU went to those hand-offs. This pool keeps a few
//! long-lived threads reading one queue: a sender only issues a wake-up system call when a
//! thread is asleep and no wake-up is already on its way, and a busy thread takes the next job
//! without sleeping, so under load one wake-up serves many calls. Threads do not spin while
//! waiting (an earlier version used `crossbeam-channel`, whose receive spins and yields before
//! sleeping: on two shared cores that spinning took 15% of the server's CPU from the network
//! threads).
//!
//! Point writes (`Put`/`Delete` outside a transaction) are grouped: a thread that takes a
//! write also takes the writes queued right behind it (up to [`MAX_GROUP`]) and commits them
//! as one engine write batch (one WAL append, one fsync with `SyncMode::Full`). Each caller
//! still gets its own result: if the group fails, every write of it is retried on its own, so
//! an error reaches exactly the requests it belongs to. Writes of one group are applied in
//! queue order, which is an order the concurrent requests could have had anyway.
//!
//! Jobs whose caller has already gone (deadline exceeded, client cancelled) are skipped.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::{oneshot, OwnedSemaphorePermit};
use tonic::Status;
use toondb::Database;

/// Writes committed together, at most.
pub(crate) const MAX_GROUP: usize = 128;
/// Key and value bytes of a group, at most (a write that alone exceeds it forms its own group).
const MAX_GROUP_BYTES: usize = 4 << 20;

/// Where a job's result goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, Status>>;

/// One unit of work for the pool.
pub(crate) enum Job {
    /// A put (`Some` value) or delete (`None`) outside any transaction.
    Write {
        key: Vec<u8>,
        value: Option<Vec<u8>>,
        reply: Reply<()>,
        permit: OwnedSemaphorePermit,
    },
    /// Any other call; the closure sends its own reply and owns its permit.
    Call(Box<dyn FnOnce(&Database) + Send>),
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    /// Threads waiting on `ready`.
    sleeping: usize,
    /// Wake-ups sent that no sleeping thread has consumed yet.
    waking: usize,
    /// No more jobs: threads exit once `jobs` is empty.
    closed: bool,
    /// Threads that have exited.
    exited: usize,
}

#[derive(Default)]
struct Shared {
    state: Mutex<QueueState>,
    ready: Condvar,
    exited: Condvar,
}

/// The pool: a queue and the threads serving it. Dropping it lets the threads finish the
/// queued jobs and exit.
pub(crate) struct DbPool {
    shared: Arc<Shared>,
    threads: usize,
}

impl std::fmt::Debug for DbPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbPool")
            .field("threads", &self.threads)
            .finish()
    }
}

fn panicked() -> Status {
    Status::internal("database worker panicked")
}

impl DbPool {
    /// Starts `threads` (at least 1) threads serving `db`.
    pub(crate) fn start(db: &Database, threads: usize) -> std::io::Result<DbPool> {
        let threads = threads.max(1);
        let shared = Arc::new(Shared::default());
        let mut pool = DbPool {
            shared: shared.clone(),
            threads: 0,
        };
        for i in 0..threads {
            let shared = shared.clone();
            let db = db.clone();
            // On failure `pool` is dropped, which stops the threads already started.
            std::thread::Builder::new()
                .name(format!("toondb-db-{i}"))
                .spawn(move || {
                    worker(&db, &shared);
                    shared.state.lock().exited += 1;
                    shared.exited.notify_all();
                })?;
            pool.threads += 1;
        }
        Ok(pool)
    }

    /// Queues a job; gives it back if the pool is stopping.
    ///
    /// A sleeping thread is woken only if no wake-up is already on its way, so while the
    /// threads are busy, queueing costs one uncontended lock and no system call.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        let mut st = self.shared.state.lock();
        if st.closed {
            return Err(job);
        }
        st.jobs.push_back(job);
        let wake = st.sleeping > st.waking;
        if wake {
            st.waking += 1;
        }
        drop(st);
        if wake {
            self.shared.ready.notify_one();
        }
        Ok(())
    }

    /// Lets the threads finish the jobs queued so far, then stop; waits at most `wait`.
    /// Returns whether all threads stopped in time.
    pub(crate) fn stop(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut st = self.shared.state.lock();
        st.closed = true;
        self.shared.ready.notify_all();
        while st.exited < self.threads {
            if self.shared.exited.wait_until(&mut st, deadline).timed_out() {
                return st.exited >= self.threads;
            }
        }
        true
    }
}

impl Drop for DbPool {
    fn drop(&mut self) {
        self.shared.state.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

/// Takes the next job, or a group of consecutive writes, into `batch`; false when the pool is
/// closed and drained.
fn next_jobs(shared: &Shared, batch: &mut Vec<Job>) -> bool {
    let mut st = shared.state.lock();
    loop {
        if let Some(first) = st.jobs.pop_front() {
            if let Job::Write { key, value, .. } = &first {
                let mut bytes = key.len() + value.as_ref().map_or(0, Vec::len);
                batch.push(first);
                while batch.len() < MAX_GROUP && bytes < MAX_GROUP_BYTES {
                    match st.jobs.front() {
                        Some(Job::Write { key, value, .. }) => {
                            bytes += key.len() + value.as_ref().map_or(0, Vec::len);
                        }
                        _ => break,
                    }
                    if let Some(j) = st.jobs.pop_front() {
                        batch.push(j);
                    }
                }
            } else {
                batch.push(first);
            }
            return true;
        }
        if st.closed {
            return false;
        }
        st.sleeping += 1;
        shared.ready.wait(&mut st);
        st.sleeping -= 1;
        st.waking = st.waking.saturating_sub(1);
    }
}

fn worker(db: &Database, shared: &Shared) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    let mut group: Vec<WriteJob> = Vec::with_capacity(MAX_GROUP);
    while next_jobs(shared, &mut batch) {
        for job in batch.drain(..) {
            match job {
                Job::Call(f) => {
                    // A panicking call drops its reply sender, which its caller reports.
                    let _ = catch_unwind(AssertUnwindSafe(|| f(db)));
                }
                Job::Write {
                    key,
                    value,
                    reply,
                    permit,
                } => group.push(WriteJob {
                    key,
                    value,
                    reply,
                    _permit: permit,
                }),
            }
        }
        commit_group(db, &mut group);
    }
}

struct WriteJob {
    key: Vec<u8>,
    value: Option<Vec<u8>>,
    reply: Reply<()>,
    _permit: OwnedSemaphorePermit,
}

fn write_one(db: &Database, w: &WriteJob) -> Result<(), Status> {
    catch_unwind(AssertUnwindSafe(|| match &w.value {
        Some(v) => db.put(&w.key, v),
        None => db.delete(&w.key),
    }))
    .map_err(|_| panicked())?
    .map_err(|e| crate::service::client_status(&e))
}

/// Commits `group` (emptying it) and answers every caller.
fn commit_group(db: &Database, group: &mut Vec<WriteJob>) {
    group.retain(|w| !w.reply.is_closed());
    match group.len() {
        0 => {}
        1 => {
            for w in group.drain(..) {
                let r = write_one(db, &w);
                let _ = w.reply.send(r);
            }
        }
        _ => {
            let batch = catch_unwind(AssertUnwindSafe(|| {
                db.write_batch(group.iter().map(|w| (&w.key, w.value.as_ref())))
            }));
            if let Ok(Ok(())) = batch {
                for w in group.drain(..) {
                    let _ = w.reply.send(Ok(()));
                }
            } else {
                // The batch was not applied: apply each write alone so every caller gets its
                // own outcome.
                for w in group.drain(..) {
                    let r = write_one(db, &w);
                    let _ = w.reply.send(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    fn permit(s: &Arc<Semaphore>) -> OwnedSemaphorePermit {
        s.clone().try_acquire_owned().unwrap()
    }

    #[test]
    fn grouped_writes_each_get_a_result_and_apply_in_order() {
        let db = Database::open_in_memory().unwrap();
        let pool = DbPool::start(&db, 1).unwrap();
        let sem = Arc::new(Semaphore::new(1000));
        // Block the only thread so the writes below queue up and form one group.
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        pool.submit(Job::Call(Box::new(move |_| {
            let _ = gate_rx.recv();
        })))
        .map_err(|_| "submit")
        .unwrap();
        let mut replies = Vec::new();
        for i in 0..300u32 {
            let (tx, rx) = oneshot::channel();
            let key = format!("k{}", i % 7).into_bytes();
            let value = (i % 5 != 4).then(|| i.to_string().into_bytes());
            pool.submit(Job::Write {
                key,
                value,
                reply: tx,
                permit: permit(&sem),
            })
            .map_err(|_| "submit")
            .unwrap();
            replies.push(rx);
        }
        // A caller that gave up: its write is skipped.
        let (tx, rx) = oneshot::channel();
        pool.submit(Job::Write {
            key: b"gone".to_vec(),
            value: Some(b"x".to_vec()),
            reply: tx,
            permit: permit(&sem),
        })
        .map_err(|_| "submit")
        .unwrap();
        drop(rx);
        gate_tx.send(()).unwrap();
        for rx in replies {
            assert!(rx.blocking_recv().unwrap().is_ok());
        }
        assert!(pool.stop(Duration::from_secs(10)));
        // Last write per key wins, as if applied one by one in queue order.
        for k in 0..7u32 {
            let last = (0..300u32).filter(|i| i % 7 == k).max().unwrap();
            let want = (last % 5 != 4).then(|| last.to_string().into_bytes());
            assert_eq!(db.get(format!("k{k}")).unwrap(), want, "key k{k}");
        }
        assert_eq!(db.get("gone").unwrap(), None);
        assert_eq!(sem.available_permits(), 1000);
    }

    #[test]
    fn failed_group_reports_per_write() {
        let db = Database::open_in_memory().unwrap();
        let pool = DbPool::start(&db, 1).unwrap();
        let sem = Arc::new(Semaphore::new(10));
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        pool.submit(Job::Call(Box::new(move |_| {
            let _ = gate_rx.recv();
        })))
        .map_err(|_| "submit")
        .unwrap();
        // A key over the engine's 64 KiB limit fails; the others must still succeed.
        let keys: Vec<Vec<u8>> = vec![b"a".to_vec(), vec![b'x'; 100 << 10], b"b".to_vec()];
        let mut replies = Vec::new();
        for k in keys {
            let (tx, rx) = oneshot::channel();
            pool.submit(Job::Write {
                key: k,
                value: Some(b"v".to_vec()),
                reply: tx,
                permit: permit(&sem),
            })
            .map_err(|_| "submit")
            .unwrap();
            replies.push(rx);
        }
        gate_tx.send(()).unwrap();
        let results: Vec<Result<(), Status>> = replies
            .into_iter()
            .map(|rx| rx.blocking_recv().unwrap())
            .collect();
        assert!(pool.stop(Duration::from_secs(10)));
        assert_eq!(db.get("a").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(db.get("b").unwrap().as_deref(), Some(&b"v"[..]));
        assert!(results[0].is_ok() && results[2].is_ok());
        let e = results[1].as_ref().unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    }
}
