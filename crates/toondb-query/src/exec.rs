//! Execute stage: evaluates bound expressions and runs plans over a [`KvTxn`].
//!
//! Operators are push-based: each one streams the rows of its input into a sink closure and
//! returns [`Flow::Stop`] when its consumer wants no more, so LIMIT, EXISTS and scalar
//! subqueries stop their inputs early. Only operators that must keep rows (sort, hash join
//! build side, nested-loop inner side, aggregation groups, DISTINCT, compound selects) do,
//! and they account for them in the statement's memory budget ([`Ctl`]). Every loop ticks
//! the statement control, so an interrupt or timeout stops the statement promptly.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound;

use crate::catalog::{IndexDef, TableDef};
use crate::codec::{
    decode_row, decode_rowid_suffix, encode_key, encode_key_value, encode_row, index_key,
    index_key_prefix, index_prefix, prefix_end, prefix_successor, row_key, table_rows_prefix,
};
use crate::ctl::{row_bytes, Ctl};
use crate::error::{rt, Error, Result};
use crate::expr::{
    and3, arith, bool_val, call_func, cast, cmp_op, compare, like_match, or3, unary, with_aff,
    AggCall, AggFunc, BinOp, Expr, Func,
};
use crate::kv::KvTxn;
use crate::plan::{Access, JoinKind, Plan, SetOpKind, SortKey};
use crate::value::{Affinity, Value};
use crate::window::WinCall;

/// A row of values.
pub type Row = Vec<Value>;

/// Whether a consumer wants more rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep producing.
    More,
    /// Stop: the consumer has what it needs.
    Stop,
}

/// A consumer of key-value pairs pushed by a range scan.
type PairSink<'s, 't> = dyn FnMut(&mut Exec<'t>, Vec<u8>, Vec<u8>) -> Result<Flow> + 's;

/// A consumer of rows pushed by an operator.
pub type RowSink<'s, 't> = dyn FnMut(&mut Exec<'t>, Row) -> Result<Flow> + 's;

struct HashJoinSpec<'p> {
    left: &'p Plan,
    right: &'p Plan,
    kind: JoinKind,
    left_keys: &'p [Expr],
    right_keys: &'p [Expr],
    residual: Option<&'p Expr>,
    build_left: bool,
    right_width: usize,
}

fn bound_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Emits right-side rows with `left_width` NULLs in front (RIGHT/FULL joins' unmatched rows).
fn emit_null_extended<'t>(
    x: &mut Exec<'t>,
    left_width: usize,
    rows: impl Iterator<Item = Row>,
    sink: &mut RowSink<'_, 't>,
) -> Result<Flow> {
    for r in rows {
        x.ctl.tick()?;
        let mut row = Vec::with_capacity(left_width + r.len());
        row.extend(std::iter::repeat_n(Value::Null, left_width));
        row.extend(r);
        if sink(x, row)? == Flow::Stop {
            return Ok(Flow::Stop);
        }
    }
    Ok(Flow::More)
}

fn emit_all<'t>(
    x: &mut Exec<'t>,
    rows: impl IntoIterator<Item = Row>,
    sink: &mut RowSink<'_, 't>,
) -> Result<Flow> {
    for r in rows {
        x.ctl.tick()?;
        if sink(x, r)? == Flow::Stop {
            return Ok(Flow::Stop);
        }
    }
    Ok(Flow::More)
}

fn set_op(op: SetOpKind, all: bool, l: Vec<Row>, r: Vec<Row>) -> Vec<Row> {
    if all {
        let mut l = l;
        l.extend(r);
        return l;
    }
    let mut lset: BTreeMap<Vec<u8>, Row> = BTreeMap::new();
    for row in l {
        lset.entry(encode_key(&row)).or_insert(row);
    }
    match op {
        SetOpKind::Union => {
            for row in r {
                lset.entry(encode_key(&row)).or_insert(row);
            }
            lset.into_values().collect()
        }
        SetOpKind::Intersect | SetOpKind::Except => {
            let keep = op == SetOpKind::Intersect;
            let rkeys: HashSet<Vec<u8>> = r.iter().map(|x| encode_key(x)).collect();
            lset.into_iter()
                .filter(|(k, _)| rkeys.contains(k) == keep)
                .map(|(_, v)| v)
                .collect()
        }
    }
}

enum Cached {
    Scalar(Value),
    Exists(bool),
    Set(Vec<Value>, bool),
}

/// What to do when a row violates a uniqueness constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Fail the statement.
    Abort,
    /// Delete the conflicting rows, then insert.
    Replace,
    /// Skip the new row.
    Ignore,
}

/// Execution context for one statement.
pub struct Exec<'t> {
    txn: Option<&'t mut dyn KvTxn>,
    params: &'t [Value],
    outer: Vec<Row>,
    cache: HashMap<usize, Cached>,
    next_rowid: HashMap<u32, i64>,
    /// Rowid of the last row inserted through [`Exec::write_row`].
    pub last_rowid: Option<i64>,
    ctl: Ctl,
    /// The current row of each running recursive CTE (by work-table id).
    work: HashMap<usize, Row>,
    /// Left rows of the running lateral joins (innermost last).
    lateral: Vec<Row>,
}

/// Evaluates an expression without data access (constant folding, defaults).
pub fn eval_const(e: &Expr) -> Result<Value> {
    let mut x = Exec {
        txn: None,
        params: &[],
        outer: Vec::new(),
        cache: HashMap::new(),
        next_rowid: HashMap::new(),
        last_rowid: None,
        ctl: Ctl::unlimited(),
        work: HashMap::new(),
        lateral: Vec::new(),
    };
    x.eval(e, &[])
}

/// Compares two sort-key tuples under ORDER BY `keys`.
pub(crate) fn sort_cmp(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for (i, k) in keys.iter().enumerate() {
        let (x, y) = (&a[i], &b[i]);
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = x.total_cmp(y);
                if k.desc {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The running state of one aggregate call (also used by window aggregates, which may remove
/// their oldest input again: see [`AggState::remove`]).
#[derive(Clone)]
pub(crate) struct AggState {
    count: i64,
    int_sum: i64,
    overflow: bool,
    real_sum: f64,
    any_real: bool,
    best: Value,
    text: Option<String>,
    seen: Option<BTreeSet<Vec<u8>>>,
    /// Window use: (separator bytes, total bytes) of each element appended to `text`, so the
    /// oldest can be cut off again.
    pieces: Option<std::collections::VecDeque<(usize, usize)>>,
}

impl AggState {
    pub(crate) fn new(distinct: bool) -> Self {
        AggState {
            count: 0,
            int_sum: 0,
            overflow: false,
            real_sum: 0.0,
            any_real: false,
            best: Value::Null,
            text: None,
            seen: if distinct {
                Some(BTreeSet::new())
            } else {
                None
            },
            pieces: None,
        }
    }

    /// A state whose oldest input [`AggState::remove`] can take out again.
    pub(crate) fn for_window() -> Self {
        AggState {
            pieces: Some(std::collections::VecDeque::new()),
            ..AggState::new(false)
        }
    }

    /// Appends `elem` to the text (after `sep` unless it is the first element), remembering
    /// the piece for [`AggState::remove`]; returns the bytes added.
    fn append(&mut self, sep: &str, elem: &str) -> usize {
        let (sep_len, added) = match &mut self.text {
            None => {
                self.text = Some(elem.to_string());
                (0, elem.len())
            }
            Some(t) => {
                t.push_str(sep);
                t.push_str(elem);
                (sep.len(), sep.len() + elem.len())
            }
        };
        if let Some(p) = &mut self.pieces {
            p.push_back((sep_len, added));
        }
        added
    }

    /// Cuts the oldest element (and the separator after it) off the text.
    fn remove_piece(&mut self) {
        let Some(p) = &mut self.pieces else { return };
        let Some((_, first)) = p.pop_front() else {
            return;
        };
        let cut = match p.front_mut() {
            Some(next) => {
                let c = first + next.0;
                next.1 -= next.0;
                next.0 = 0;
                c
            }
            None => first,
        };
        if p.is_empty() {
            self.text = None;
        } else if let Some(t) = &mut self.text {
            let cut = cut.min(t.len());
            if t.is_char_boundary(cut) {
                t.drain(..cut);
            }
        }
    }

    /// Inverse of [`AggState::step`] for the oldest input still in the state (window frames
    /// whose start moves). As in SQLite, a sum that has seen a REAL stays REAL. For count,
    /// sum, total, avg and the JSON group functions (not min/max, group_concat, DISTINCT).
    pub(crate) fn remove(&mut self, f: AggFunc, args: &[Value]) {
        match f {
            AggFunc::CountStar => self.count -= 1,
            AggFunc::JsonGroupArray(_) | AggFunc::JsonGroupObject(_) => {
                self.count -= 1;
                self.remove_piece();
            }
            _ => {
                let v = match args.first() {
                    Some(v) if !v.is_null() => v,
                    _ => return,
                };
                self.count -= 1;
                match f {
                    AggFunc::Sum | AggFunc::Avg | AggFunc::Total => match sum_input(v) {
                        Value::Integer(i) if !self.any_real && !self.overflow => {
                            self.real_sum -= i as f64;
                            self.int_sum = self.int_sum.wrapping_sub(i);
                        }
                        x => self.real_sum -= x.to_f64().unwrap_or(0.0),
                    },
                    // group_concat windows use window::ConcatWin (SQLite's byte cuts).
                    _ => {}
                }
            }
        }
    }

    /// Adds one input; returns the bytes of state it added (DISTINCT sets, group_concat).
    pub(crate) fn step(&mut self, f: AggFunc, args: &[Value]) -> usize {
        if f == AggFunc::CountStar {
            self.count += 1;
            return 0;
        }
        if let AggFunc::JsonGroupArray(_) | AggFunc::JsonGroupObject(_) = f {
            return self.json_step(f, args);
        }
        let v = match args.first() {
            Some(v) if !v.is_null() => v,
            _ => return 0,
        };
        let mut grew = 0;
        if let Some(seen) = &mut self.seen {
            let k = encode_key(std::slice::from_ref(v));
            let n = k.len() + 48;
            if !seen.insert(k) {
                return 0;
            }
            grew += n;
        }
        self.count += 1;
        match f {
            AggFunc::Sum | AggFunc::Avg | AggFunc::Total => match sum_input(v) {
                Value::Integer(i) => {
                    self.real_sum += i as f64;
                    match self.int_sum.checked_add(i) {
                        Some(s) => self.int_sum = s,
                        None => self.overflow = true,
                    }
                }
                x => {
                    self.real_sum += x.to_f64().unwrap_or(0.0);
                    self.any_real = true;
                }
            },
            AggFunc::Min => {
                if self.best.is_null() || v.total_cmp(&self.best) == Ordering::Less {
                    self.best = v.clone();
                }
            }
            AggFunc::Max => {
                if self.best.is_null() || v.total_cmp(&self.best) == Ordering::Greater {
                    self.best = v.clone();
                }
            }
            AggFunc::GroupConcat => {
                let sep = match args.get(1) {
                    Some(Value::Null) => String::new(),
                    Some(s) => s.to_text_lossy(),
                    None => ",".to_string(),
                };
                grew += self.append(&sep, &v.to_text_lossy());
            }
            AggFunc::Count
            | AggFunc::CountStar
            | AggFunc::JsonGroupArray(_)
            | AggFunc::JsonGroupObject(_) => {}
        }
        grew
    }

    /// json_group_array / json_group_object: appends one element (NULLs included) to the
    /// JSON text; errors (a BLOB, malformed embedded JSON) are kept for `finish`.
    fn json_step(&mut self, f: AggFunc, args: &[Value]) -> usize {
        let null = Value::Null;
        let elem = match f {
            AggFunc::JsonGroupArray(j) => {
                crate::json::to_json(args.first().unwrap_or(&null), j).map(|v| v.to_string())
            }
            AggFunc::JsonGroupObject(j) => {
                let k = args.first().unwrap_or(&null).to_text_lossy();
                crate::json::to_json(args.get(1).unwrap_or(&null), j)
                    .map(|v| format!("{}:{v}", serde_json::Value::String(k)))
            }
            _ => return 0,
        };
        let elem = match elem {
            Ok(e) => e,
            Err(_) => {
                self.overflow = true;
                return 0;
            }
        };
        self.count += 1;
        self.append(",", &elem)
    }

    pub(crate) fn finish(&self, f: AggFunc) -> Result<Value> {
        Ok(match f {
            AggFunc::CountStar | AggFunc::Count => Value::Integer(self.count),
            AggFunc::Sum => {
                if self.count == 0 {
                    Value::Null
                } else if self.any_real {
                    Value::real(self.real_sum)
                } else if self.overflow {
                    return rt("integer overflow");
                } else {
                    Value::Integer(self.int_sum)
                }
            }
            AggFunc::Total => Value::real(self.real_sum),
            AggFunc::Avg => {
                if self.count == 0 {
                    Value::Null
                } else {
                    Value::real(self.real_sum / self.count as f64)
                }
            }
            AggFunc::Min | AggFunc::Max => self.best.clone(),
            AggFunc::GroupConcat => self.text.clone().map_or(Value::Null, Value::Text),
            AggFunc::JsonGroupArray(_) | AggFunc::JsonGroupObject(_) => {
                if self.overflow {
                    return rt("JSON cannot hold BLOB values or malformed JSON");
                }
                let body = self.text.as_deref().unwrap_or("");
                Value::Text(match f {
                    AggFunc::JsonGroupArray(_) => format!("[{body}]"),
                    _ => format!("{{{body}}}"),
                })
            }
        })
    }
}

/// What sum/avg/total add for a value, as SQLite's numeric type of it: integers (and text
/// that reads as one) exactly, everything else as a REAL (text by its numeric prefix).
fn sum_input(v: &Value) -> Value {
    match v {
        Value::Integer(_) | Value::Real(_) => v.clone(),
        Value::Text(s) => match crate::value::parse_numeric_exact(s) {
            Some(n) => n,
            None => Value::Real(v.to_f64().unwrap_or(0.0)),
        },
        Value::Blob(_) => Value::Real(v.to_f64().unwrap_or(0.0)),
        Value::Null => Value::Null,
    }
}

fn in_sorted(set: &[Value], v: &Value) -> bool {
    set.binary_search_by(|x| x.total_cmp(v)).is_ok()
}

impl<'t> Exec<'t> {
    /// New context over a transaction with bound parameters.
    pub fn new(txn: &'t mut dyn KvTxn, params: &'t [Value]) -> Self {
        Self::with_ctl(txn, params, Ctl::unlimited())
    }

    /// New context with the statement's control state (interrupt, timeout, budget).
    pub fn with_ctl(txn: &'t mut dyn KvTxn, params: &'t [Value], ctl: Ctl) -> Self {
        Exec {
            txn: Some(txn),
            params,
            outer: Vec::new(),
            cache: HashMap::new(),
            next_rowid: HashMap::new(),
            last_rowid: None,
            ctl,
            work: HashMap::new(),
            lateral: Vec::new(),
        }
    }

    /// The statement's transaction, for trigger programs that run in the middle of it.
    pub(crate) fn txn_mut(&mut self) -> Result<&mut dyn KvTxn> {
        self.txn()
    }

    /// Forgets the next rowids cached for the statement (a trigger program may have written
    /// the same tables).
    pub(crate) fn forget_rowids(&mut self) {
        self.next_rowid.clear();
    }

    fn txn(&mut self) -> Result<&mut dyn KvTxn> {
        match self.txn.as_deref_mut() {
            Some(t) => Ok(t),
            None => rt("data access in a constant expression"),
        }
    }

    // ------------------------------------------------------------ expressions

    /// Evaluates `e` against `row`.
    pub fn eval(&mut self, e: &Expr, row: &[Value]) -> Result<Value> {
        use crate::planner::{STACK_GROW, STACK_RED_ZONE};
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROW, || self.eval_inner(e, row))
    }

    fn eval_inner(&mut self, e: &Expr, row: &[Value]) -> Result<Value> {
        Ok(match e {
            Expr::Lit(v) => v.clone(),
            Expr::Col(i) => row.get(*i).cloned().unwrap_or(Value::Null),
            Expr::Outer { depth, idx } => {
                let n = self.outer.len();
                if *depth == 0 || *depth > n {
                    return rt("internal: unresolved outer reference");
                }
                self.outer[n - depth]
                    .get(*idx)
                    .cloned()
                    .unwrap_or(Value::Null)
            }
            Expr::Param(i) => match self.params.get(*i) {
                Some(v) => v.clone(),
                None => return Err(Error::Param(format!("parameter ?{} is not bound", i + 1))),
            },
            Expr::Unary(op, x) => {
                let v = self.eval(x, row)?;
                unary(*op, &v)
            }
            Expr::Bin { op, l, r, aff } => match op {
                BinOp::And => {
                    let a = self.eval(l, row)?.truthy();
                    if a == Some(false) {
                        return Ok(Value::Integer(0));
                    }
                    let b = self.eval(r, row)?.truthy();
                    bool_val(and3(a, b))
                }
                BinOp::Or => {
                    let a = self.eval(l, row)?.truthy();
                    if a == Some(true) {
                        return Ok(Value::Integer(1));
                    }
                    let b = self.eval(r, row)?.truthy();
                    bool_val(or3(a, b))
                }
                op if op.is_cmp() => {
                    let a = with_aff(self.eval(l, row)?, aff.0);
                    let b = with_aff(self.eval(r, row)?, aff.1);
                    cmp_op(*op, &a, &b)
                }
                op => {
                    let a = self.eval(l, row)?;
                    let b = self.eval(r, row)?;
                    arith(*op, &a, &b)?
                }
            },
            Expr::IsNull(x, neg) => {
                let v = self.eval(x, row)?;
                Value::Integer(i64::from(v.is_null() != *neg))
            }
            Expr::Is(a, b, neg) => {
                let x = self.eval(a, row)?;
                let y = self.eval(b, row)?;
                let same = match (x.is_null(), y.is_null()) {
                    (true, true) => true,
                    (false, false) => x.total_cmp(&y) == Ordering::Equal,
                    _ => false,
                };
                Value::Integer(i64::from(same != *neg))
            }
            Expr::Between {
                e,
                lo,
                hi,
                neg,
                aff,
            } => {
                let v = self.eval(e, row)?;
                let l = with_aff(self.eval(lo, row)?, *aff);
                let h = with_aff(self.eval(hi, row)?, *aff);
                let ge = compare(&v, &l).map(|o| o != Ordering::Less);
                let le = compare(&v, &h).map(|o| o != Ordering::Greater);
                let r = and3(ge, le);
                bool_val(if *neg { r.map(|b| !b) } else { r })
            }
            Expr::InList { e, list, neg, aff } => {
                let v = self.eval(e, row)?;
                let mut res = Some(false);
                if v.is_null() {
                    res = if list.is_empty() { Some(false) } else { None };
                } else {
                    for item in list {
                        let x = with_aff(self.eval(item, row)?, *aff);
                        match compare(&v, &x) {
                            Some(Ordering::Equal) => {
                                res = Some(true);
                                break;
                            }
                            None => res = None,
                            _ => {}
                        }
                    }
                }
                bool_val(if *neg { res.map(|b| !b) } else { res })
            }
            Expr::InSub {
                e,
                plan,
                neg,
                correlated,
                id,
            } => {
                let v = self.eval(e, row)?;
                let (set, has_null) = match self.cache.get(id) {
                    Some(Cached::Set(s, n)) if !correlated => (s.clone(), *n),
                    _ => {
                        let rows = self.run_sub(plan, row)?;
                        let mut has_null = false;
                        let mut s: Vec<Value> = Vec::with_capacity(rows.len());
                        for r in rows {
                            match r.into_iter().next() {
                                Some(Value::Null) | None => has_null = true,
                                Some(x) => s.push(x),
                            }
                        }
                        s.sort_by(|a, b| a.total_cmp(b));
                        if !correlated {
                            self.cache.insert(*id, Cached::Set(s.clone(), has_null));
                        }
                        (s, has_null)
                    }
                };
                let res = if set.is_empty() && !has_null {
                    Some(false)
                } else if v.is_null() {
                    None
                } else if in_sorted(&set, &v) {
                    Some(true)
                } else if has_null {
                    None
                } else {
                    Some(false)
                };
                bool_val(if *neg { res.map(|b| !b) } else { res })
            }
            Expr::Exists {
                plan,
                neg,
                correlated,
                id,
            } => {
                let found = match self.cache.get(id) {
                    Some(Cached::Exists(b)) if !correlated => *b,
                    _ => {
                        let b = self.sub_first(plan, row)?.is_some();
                        if !correlated {
                            self.cache.insert(*id, Cached::Exists(b));
                        }
                        b
                    }
                };
                Value::Integer(i64::from(found != *neg))
            }
            Expr::Scalar {
                plan,
                correlated,
                id,
            } => match self.cache.get(id) {
                Some(Cached::Scalar(v)) if !correlated => v.clone(),
                _ => {
                    let v = self
                        .sub_first(plan, row)?
                        .and_then(|r| r.into_iter().next())
                        .unwrap_or(Value::Null);
                    if !correlated {
                        self.cache.insert(*id, Cached::Scalar(v.clone()));
                    }
                    v
                }
            },
            Expr::Like {
                e,
                pat,
                esc,
                neg,
                glob,
            } => {
                let v = self.eval(e, row)?;
                let p = self.eval(pat, row)?;
                let esc_c = match esc {
                    Some(x) => match self.eval(x, row)? {
                        Value::Null => return Ok(Value::Null),
                        x => {
                            let s = x.to_text_lossy();
                            let mut it = s.chars();
                            match (it.next(), it.next()) {
                                (Some(c), None) => Some(c),
                                _ => return rt("ESCAPE expression must be a single character"),
                            }
                        }
                    },
                    None => None,
                };
                if v.is_null() || p.is_null() {
                    Value::Null
                } else {
                    let m = like_match(&v.to_text_lossy(), &p.to_text_lossy(), esc_c, *glob);
                    Value::Integer(i64::from(m != *neg))
                }
            }
            Expr::Case {
                operand,
                whens,
                els,
            } => {
                let base = match operand {
                    Some(o) => Some(self.eval(o, row)?),
                    None => None,
                };
                for (w, t) in whens {
                    let c = self.eval(w, row)?;
                    let hit = match &base {
                        Some(b) => compare(b, &c) == Some(Ordering::Equal),
                        None => c.truthy() == Some(true),
                    };
                    if hit {
                        return self.eval(t, row);
                    }
                }
                match els {
                    Some(x) => self.eval(x, row)?,
                    None => Value::Null,
                }
            }
            Expr::Cast(x, ty) => {
                let v = self.eval(x, row)?;
                cast(v, *ty)
            }
            Expr::Aff(x, a) => {
                let v = self.eval(x, row)?;
                with_aff(v, Some(*a))
            }
            Expr::Func(f, args) => {
                match f {
                    // Lazy evaluation for short-circuit functions.
                    Func::Coalesce | Func::IfNull => {
                        for a in args {
                            let v = self.eval(a, row)?;
                            if !v.is_null() {
                                return Ok(v);
                            }
                        }
                        return Ok(Value::Null);
                    }
                    Func::Iif => {
                        let c = match args.first() {
                            Some(a) => self.eval(a, row)?,
                            None => Value::Null,
                        };
                        let pick = if c.truthy() == Some(true) { 1 } else { 2 };
                        return match args.get(pick) {
                            Some(a) => self.eval(a, row),
                            None => Ok(Value::Null),
                        };
                    }
                    _ => {}
                }
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, row)?);
                }
                call_func(*f, &vals)?
            }
            Expr::Udf(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, row)?);
                }
                f.call(&vals)?
            }
            Expr::Agg(_) => return rt("misuse of aggregate function"),
            Expr::Win(_) => return rt("misuse of window function"),
        })
    }

    fn truth(&mut self, e: &Expr, row: &[Value]) -> Result<bool> {
        Ok(self.eval(e, row)?.truthy() == Some(true))
    }

    fn run_sub(&mut self, plan: &Plan, row: &[Value]) -> Result<Vec<Row>> {
        self.with_outer(row, |x| x.run(plan))
    }

    /// The first row of a subquery (the rest is never computed).
    fn sub_first(&mut self, plan: &Plan, row: &[Value]) -> Result<Option<Row>> {
        self.with_outer(row, |x| {
            let mut first = None;
            x.stream(plan, &mut |_, r| {
                first = Some(r);
                Ok(Flow::Stop)
            })?;
            Ok(first)
        })
    }

    fn with_outer<T>(
        &mut self,
        row: &[Value],
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        if self.outer.len() > crate::planner::MAX_DEPTH {
            return Err(Error::TooBig("subquery nesting too deep".into()));
        }
        self.outer.push(row.to_vec());
        let r = f(self);
        self.outer.pop();
        r
    }

    // ------------------------------------------------------------ plans

    /// The statement's control state (interrupt, timeout, memory budget).
    pub fn ctl(&mut self) -> &mut Ctl {
        &mut self.ctl
    }

    /// Runs a plan to completion and returns its rows.
    pub fn run(&mut self, p: &Plan) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.stream(p, &mut |_, r| {
            out.push(r);
            Ok(Flow::More)
        })?;
        Ok(out)
    }

    /// Runs a plan whose rows an operator keeps, charging them to the memory budget.
    /// Returns the rows and the bytes charged (release them when the rows are dropped).
    fn collect_charged(&mut self, p: &Plan, operator: &'static str) -> Result<(Vec<Row>, usize)> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        self.stream(p, &mut |x, r| {
            let b = row_bytes(&r);
            x.ctl.charge(b, operator)?;
            bytes += b;
            out.push(r);
            Ok(Flow::More)
        })
        .inspect_err(|_| self.ctl.release(bytes))?;
        Ok((out, bytes))
    }

    /// Runs a plan, pushing each row into `sink` as soon as it is produced. Operators pull
    /// nothing they do not need: LIMIT stops its input, EXISTS and scalar subqueries stop
    /// after one row, aggregates keep only their state.
    pub fn stream(&mut self, p: &Plan, sink: &mut RowSink<'_, 't>) -> Result<Flow> {
        use crate::planner::{STACK_GROW, STACK_RED_ZONE};
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROW, || self.stream_inner(p, sink))
    }

    fn stream_inner(&mut self, p: &Plan, sink: &mut RowSink<'_, 't>) -> Result<Flow> {
        match p {
            Plan::Empty { .. } => Ok(Flow::More),
            Plan::Values { rows, .. } => {
                for r in rows {
                    self.ctl.tick()?;
                    let mut vals = Vec::with_capacity(r.len());
                    for e in r {
                        vals.push(self.eval(e, &[])?);
                    }
                    if sink(self, vals)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                Ok(Flow::More)
            }
            Plan::Scan {
                table,
                access,
                filter,
                reverse,
                ..
            } => self.scan_stream(table, access, filter.as_ref(), *reverse, &mut |x, _, r| {
                sink(x, r)
            }),
            Plan::Filter { input, pred } => self.stream(input, &mut |x, r| {
                if x.truth(pred, &r)? {
                    sink(x, r)
                } else {
                    Ok(Flow::More)
                }
            }),
            Plan::Project { input, exprs } => self.stream(input, &mut |x, r| {
                let mut o = Vec::with_capacity(exprs.len());
                for e in exprs {
                    o.push(x.eval(e, &r)?);
                }
                sink(x, o)
            }),
            Plan::NestedLoop {
                left,
                right,
                kind,
                on,
                right_width,
            } => {
                let (rrows, bytes) = self.collect_charged(right, "nested loop join")?;
                let mut rmatched = vec![false; if kind.keeps_right() { rrows.len() } else { 0 }];
                let r = self.stream(left, &mut |x, l| {
                    let mut matched = false;
                    for (ri, r) in rrows.iter().enumerate() {
                        x.ctl.tick()?;
                        let mut row = Vec::with_capacity(l.len() + r.len());
                        row.extend(l.iter().cloned());
                        row.extend(r.iter().cloned());
                        let ok = match on {
                            Some(c) => x.truth(c, &row)?,
                            None => true,
                        };
                        if ok {
                            matched = true;
                            if let Some(m) = rmatched.get_mut(ri) {
                                *m = true;
                            }
                            if sink(x, row)? == Flow::Stop {
                                return Ok(Flow::Stop);
                            }
                        }
                    }
                    if !matched && kind.keeps_left() {
                        let mut row = l;
                        row.extend(std::iter::repeat_n(Value::Null, *right_width));
                        return sink(x, row);
                    }
                    Ok(Flow::More)
                });
                let r = match r {
                    Ok(Flow::More) if kind.keeps_right() => {
                        let unmatched = rrows
                            .iter()
                            .zip(&rmatched)
                            .filter(|(_, m)| !**m)
                            .map(|(r, _)| r.clone());
                        emit_null_extended(self, left.width(), unmatched, sink)
                    }
                    r => r,
                };
                self.ctl.release(bytes);
                r
            }
            Plan::JsonTable {
                tree,
                args,
                lateral,
            } => {
                let ctx = if *lateral {
                    match self.lateral.last() {
                        Some(r) => r.clone(),
                        None => return rt("internal: lateral function outside its join"),
                    }
                } else {
                    Vec::new()
                };
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, &ctx)?);
                }
                let Some(doc) = vals.first() else {
                    return rt("internal: json_each without arguments");
                };
                // Rows stream to the consumer as the document is walked: nothing is kept.
                crate::json_each::each(doc, vals.get(1), *tree, &mut |r| {
                    self.ctl.tick()?;
                    sink(self, r)
                })
            }
            Plan::LateralJoin {
                left,
                right,
                kind,
                on,
                right_width,
            } => self.stream(left, &mut |x, l| {
                if x.lateral.len() > crate::planner::MAX_DEPTH {
                    return Err(Error::TooBig("lateral joins nested too deep".into()));
                }
                x.lateral.push(l.clone());
                let mut matched = false;
                let r = x.stream(right, &mut |x, r| {
                    let mut row = Vec::with_capacity(l.len() + r.len());
                    row.extend(l.iter().cloned());
                    row.extend(r);
                    if let Some(c) = on {
                        if !x.truth(c, &row)? {
                            return Ok(Flow::More);
                        }
                    }
                    matched = true;
                    sink(x, row)
                });
                x.lateral.pop();
                if r? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                if !matched && kind.keeps_left() {
                    let mut row = l;
                    row.extend(std::iter::repeat_n(Value::Null, *right_width));
                    return sink(x, row);
                }
                Ok(Flow::More)
            }),
            Plan::WorkTable { id, .. } => match self.work.get(id).cloned() {
                Some(row) => sink(self, row),
                None => rt("internal: recursive table read outside its recursion"),
            },
            Plan::RecursiveCte {
                id,
                anchor,
                step,
                distinct,
                ..
            } => self.recursive_cte(*id, anchor, step, *distinct, sink),
            Plan::IndexJoin {
                left,
                table,
                index,
                keys,
                filter,
                residual,
                kind,
                ..
            } => {
                let width = table.columns.len();
                let mut vals = Vec::with_capacity(keys.len());
                self.stream(left, &mut |x, l| {
                    vals.clear();
                    for k in keys {
                        vals.push(x.eval(k, &l)?);
                    }
                    let mut matched = false;
                    let flow = x.probe_rows(table, index.as_ref(), &vals, &mut |x, r| {
                        x.ctl.tick()?;
                        if let Some(f) = filter {
                            if !x.truth(f, &r)? {
                                return Ok(Flow::More);
                            }
                        }
                        let mut row = Vec::with_capacity(l.len() + r.len());
                        row.extend(l.iter().cloned());
                        row.extend(r);
                        if let Some(c) = residual {
                            if !x.truth(c, &row)? {
                                return Ok(Flow::More);
                            }
                        }
                        matched = true;
                        sink(x, row)
                    })?;
                    if flow == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                    if !matched && kind.keeps_left() {
                        let mut row = l;
                        row.extend(std::iter::repeat_n(Value::Null, width));
                        return sink(x, row);
                    }
                    Ok(Flow::More)
                })
            }
            Plan::HashJoin {
                left,
                right,
                kind,
                left_keys,
                right_keys,
                residual,
                build_left,
                right_width,
            } => self.hash_join(
                HashJoinSpec {
                    left,
                    right,
                    kind: *kind,
                    left_keys,
                    right_keys,
                    residual: residual.as_ref(),
                    build_left: *build_left,
                    right_width: *right_width,
                },
                sink,
            ),
            Plan::Aggregate {
                input,
                groups,
                aggs,
                input_width,
            } => self.aggregate(input, groups, aggs, *input_width, sink),
            Plan::Sort { input, keys } => self.sort_emit(input, keys, None, 0, sink),
            Plan::Window {
                input,
                partition,
                order,
                calls,
            } => self.window(input, partition, order, calls, sink),
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                let lim = match limit {
                    Some(e) => self.int_arg(e, "LIMIT")?,
                    None => -1,
                };
                let off = match offset {
                    Some(e) => self.int_arg(e, "OFFSET")?.max(0),
                    None => 0,
                };
                if lim == 0 {
                    return Ok(Flow::More);
                }
                let off = usize::try_from(off).unwrap_or(usize::MAX);
                let take = usize::try_from(lim).ok();
                if let (Plan::Sort { input: sin, keys }, Some(t)) = (input.as_ref(), take) {
                    // ORDER BY ... LIMIT k: a bounded top-k buffer instead of a full sort.
                    return self.sort_emit(sin, keys, Some(t.saturating_add(off)), off, sink);
                }
                let mut skipped = 0usize;
                let mut taken = 0usize;
                let mut parent_stopped = false;
                self.stream(input, &mut |x, r| {
                    if skipped < off {
                        skipped += 1;
                        return Ok(Flow::More);
                    }
                    taken += 1;
                    if sink(x, r)? == Flow::Stop {
                        parent_stopped = true;
                        return Ok(Flow::Stop);
                    }
                    if take.is_some_and(|t| taken >= t) {
                        return Ok(Flow::Stop);
                    }
                    Ok(Flow::More)
                })?;
                Ok(if parent_stopped {
                    Flow::Stop
                } else {
                    Flow::More
                })
            }
            Plan::Distinct { input, width } => {
                let mut seen = HashSet::new();
                let mut bytes = 0usize;
                let r = self.stream(input, &mut |x, r| {
                    let k = encode_key(&r[..(*width).min(r.len())]);
                    if seen.contains(&k) {
                        return Ok(Flow::More);
                    }
                    let b = k.len() + 32;
                    x.ctl.charge(b, "distinct")?;
                    bytes += b;
                    seen.insert(k);
                    sink(x, r)
                });
                self.ctl.release(bytes);
                r
            }
            Plan::SetOp {
                op,
                all,
                left,
                right,
            } => {
                let (l, lb) = self.collect_charged(left, "compound select")?;
                let (r, rb) = match self.collect_charged(right, "compound select") {
                    Ok(x) => x,
                    Err(e) => {
                        self.ctl.release(lb);
                        return Err(e);
                    }
                };
                self.ctl.release(lb + rb);
                let rows = set_op(*op, *all, l, r);
                emit_all(self, rows, sink)
            }
        }
    }

    /// `WITH RECURSIVE`: a queue seeded with the anchor's rows; each row taken from it is
    /// emitted, then the step runs with that row as the work table and its rows join the
    /// queue (SQLite's order). Queued rows and, for UNION, the keys already produced are
    /// charged to the statement's memory budget; a consumer that stops ends the recursion,
    /// and every round checks for interruption.
    fn recursive_cte(
        &mut self,
        id: usize,
        anchor: &Plan,
        step: &Plan,
        distinct: bool,
        sink: &mut RowSink<'_, 't>,
    ) -> Result<Flow> {
        /// Queues `row` unless UNION already produced it; charges what it keeps.
        fn admit(
            ctl: &mut Ctl,
            distinct: bool,
            row: Row,
            queue: &mut std::collections::VecDeque<Row>,
            seen: &mut HashSet<Vec<u8>>,
            bytes: &mut usize,
        ) -> Result<()> {
            if distinct {
                let k = encode_key(&row);
                if seen.contains(&k) {
                    return Ok(());
                }
                let b = k.len() + 32;
                ctl.charge(b, "recursive CTE")?;
                *bytes += b;
                seen.insert(k);
            }
            let b = row_bytes(&row);
            ctl.charge(b, "recursive CTE")?;
            *bytes += b;
            queue.push_back(row);
            Ok(())
        }
        let mut queue: std::collections::VecDeque<Row> = std::collections::VecDeque::new();
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut bytes = 0usize;
        let outer_work = self.work.remove(&id);
        let mut produced_rows = 0u64;
        let r = (|| -> Result<Flow> {
            let mut next = self.run(anchor)?;
            loop {
                for r in next {
                    admit(
                        &mut self.ctl,
                        distinct,
                        r,
                        &mut queue,
                        &mut seen,
                        &mut bytes,
                    )?;
                }
                let Some(row) = queue.pop_front() else {
                    return Ok(Flow::More);
                };
                self.ctl.tick()?;
                produced_rows += 1;
                if produced_rows > self.ctl.recursion_rows() {
                    return Err(Error::TooBig(format!(
                        "a recursive common table expression produced more than {} rows; \
                         add a condition that ends the recursion or a LIMIT \
                         (StatementLimits::recursion_rows)",
                        self.ctl.recursion_rows()
                    )));
                }
                let b = row_bytes(&row);
                self.ctl.release(b);
                bytes = bytes.saturating_sub(b);
                if sink(self, row.clone())? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                self.work.insert(id, row);
                next = self.run(step)?;
            }
        })();
        self.work.remove(&id);
        if let Some(w) = outer_work {
            self.work.insert(id, w);
        }
        self.ctl.release(bytes);
        r
    }

    /// Emits the rows of `input` ordered by `keys` (ties keep input order), skipping the
    /// first `skip`. With `limit`, only the first `limit` rows are kept, in a buffer of at most
    /// twice that size (top-k). Without, a sort that outgrows the memory budget spills sorted
    /// runs to the database directory and merges them.
    fn sort_emit(
        &mut self,
        input: &Plan,
        keys: &[SortKey],
        limit: Option<usize>,
        skip: usize,
        sink: &mut RowSink<'_, 't>,
    ) -> Result<Flow> {
        type Entry = (Row, u64, Row);
        let mut buf: Vec<Entry> = Vec::new();
        let mut seq = 0u64;
        let mut bytes = 0usize;
        let mut spill: Option<crate::spill::SortSpill> = None;
        let cmp = |a: &Entry, b: &Entry| sort_cmp(&a.0, &b.0, keys).then(a.1.cmp(&b.1));
        let entry_bytes = |k: &Row, r: &Row| row_bytes(k) + row_bytes(r) + 8;
        let res = self.stream(input, &mut |x, r| {
            let mut k = Vec::with_capacity(keys.len());
            for key in keys {
                k.push(x.eval(&key.expr, &r)?);
            }
            let b = entry_bytes(&k, &r);
            if limit.is_none() && x.ctl.would_exceed(b) && x.ctl.spill_dir().is_some() {
                // External sort: write the buffer as a sorted run and start a new one.
                buf.sort_by(cmp);
                if spill.is_none() {
                    spill = Some(crate::spill::SortSpill::new(x.ctl.spill_dir())?);
                }
                if let Some(s) = spill.as_mut() {
                    s.write_run(std::mem::take(&mut buf))?;
                }
                x.ctl.release(bytes);
                bytes = 0;
            }
            x.ctl.charge(b, "sort")?;
            bytes += b;
            buf.push((k, seq, r));
            seq += 1;
            if let Some(n) = limit {
                if buf.len() >= n.saturating_mul(2).max(1024) {
                    buf.select_nth_unstable_by(n, cmp);
                    buf.truncate(n);
                    let kept: usize = buf.iter().map(|(k, _, r)| entry_bytes(k, r)).sum();
                    x.ctl.release(bytes);
                    bytes = 0;
                    x.ctl.charge(kept, "sort")?;
                    bytes = kept;
                }
            }
            Ok(Flow::More)
        });
        if let Err(e) = res {
            self.ctl.release(bytes);
            return Err(e);
        }
        buf.sort_by(cmp);
        if let Some(n) = limit {
            buf.truncate(n);
        }
        match spill {
            None => {
                let r = emit_all(self, buf.into_iter().skip(skip).map(|(_, _, r)| r), sink);
                self.ctl.release(bytes);
                r
            }
            Some(mut s) => {
                let r = s.write_run(buf);
                self.ctl.release(bytes);
                r?;
                let mut m = s.into_merger(keys)?;
                let mut skipped = 0usize;
                while let Some(r) = m.next_row()? {
                    self.ctl.tick()?;
                    if skipped < skip {
                        skipped += 1;
                        continue;
                    }
                    if sink(self, r)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                Ok(Flow::More)
            }
        }
    }

    fn int_arg(&mut self, e: &Expr, what: &str) -> Result<i64> {
        match self.eval(e, &[])? {
            Value::Integer(i) => Ok(i),
            Value::Real(r) if r.fract() == 0.0 => Ok(crate::value::real_to_i64_saturating(r)),
            Value::Text(s) => match crate::value::parse_numeric_exact(&s) {
                Some(Value::Integer(i)) => Ok(i),
                _ => rt(format!("datatype mismatch in {what}")),
            },
            _ => rt(format!("datatype mismatch in {what}")),
        }
    }

    fn join_key(&mut self, keys: &[Expr], r: &[Value]) -> Result<Option<Vec<u8>>> {
        let mut vals = Vec::with_capacity(keys.len());
        for k in keys {
            let v = self.eval(k, r)?;
            if v.is_null() {
                return Ok(None);
            }
            vals.push(v);
        }
        Ok(Some(encode_key(&vals)))
    }

    fn hash_join(&mut self, j: HashJoinSpec<'_>, sink: &mut RowSink<'_, 't>) -> Result<Flow> {
        let (build, build_keys, probe, probe_keys) = if j.build_left {
            (j.left, j.left_keys, j.right, j.right_keys)
        } else {
            (j.right, j.right_keys, j.left, j.left_keys)
        };
        let (brows, mut bytes) = self.collect_charged(build, "hash join")?;
        let mut table: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for (i, b) in brows.iter().enumerate() {
            self.ctl.tick()?;
            if let Some(k) = self.join_key(build_keys, b)? {
                let n = k.len() + 48;
                if let Err(e) = self.ctl.charge(n, "hash join") {
                    self.ctl.release(bytes);
                    return Err(e);
                }
                bytes += n;
                table.entry(k).or_default().push(i);
            }
        }
        let residual = j.residual;
        // RIGHT/FULL build on the right (the planner's choice) and note which build rows met
        // a probe row; the others come out NULL-extended at the end.
        let track = j.kind.keeps_right() && !j.build_left;
        let mut bmatched = vec![false; if track { brows.len() } else { 0 }];
        let r = self.stream(probe, &mut |x, p| {
            let mut matched = false;
            if let Some(k) = x.join_key(probe_keys, &p)? {
                if let Some(hits) = table.get(&k) {
                    for &bi in hits {
                        x.ctl.tick()?;
                        let b = &brows[bi];
                        let mut row = Vec::with_capacity(b.len() + p.len());
                        if j.build_left {
                            row.extend(b.iter().cloned());
                            row.extend(p.iter().cloned());
                        } else {
                            row.extend(p.iter().cloned());
                            row.extend(b.iter().cloned());
                        }
                        if match residual {
                            Some(c) => x.truth(c, &row)?,
                            None => true,
                        } {
                            matched = true;
                            if let Some(m) = bmatched.get_mut(bi) {
                                *m = true;
                            }
                            if sink(x, row)? == Flow::Stop {
                                return Ok(Flow::Stop);
                            }
                        }
                    }
                }
            }
            if !matched && !j.build_left && j.kind.keeps_left() {
                let mut row = p;
                row.extend(std::iter::repeat_n(Value::Null, j.right_width));
                return sink(x, row);
            }
            Ok(Flow::More)
        });
        let r = match r {
            Ok(Flow::More) if track => {
                let unmatched = brows
                    .iter()
                    .zip(&bmatched)
                    .filter(|(_, m)| !**m)
                    .map(|(b, _)| b.clone());
                emit_null_extended(self, j.left.width(), unmatched, sink)
            }
            r => r,
        };
        self.ctl.release(bytes);
        r
    }

    fn aggregate(
        &mut self,
        input: &Plan,
        groups: &[Expr],
        aggs: &[AggCall],
        input_width: usize,
        sink: &mut RowSink<'_, 't>,
    ) -> Result<Flow> {
        struct Group {
            last: Row,
            keys: Row,
            states: Vec<AggState>,
        }
        let fresh = || {
            aggs.iter()
                .map(|a| AggState::new(a.distinct))
                .collect::<Vec<_>>()
        };
        let mut map: BTreeMap<Vec<u8>, Group> = BTreeMap::new();
        let mut bytes = 0usize;
        let mut argv: Vec<Vec<Value>> = vec![Vec::new(); aggs.len()];
        let mut kept: Vec<bool> = vec![true; aggs.len()];
        let res = self.stream(input, &mut |x, r| {
            let mut keys = Vec::with_capacity(groups.len());
            for g in groups {
                keys.push(x.eval(g, &r)?);
            }
            let k = encode_key(&keys);
            for ((a, v), keep) in aggs.iter().zip(argv.iter_mut()).zip(kept.iter_mut()) {
                v.clear();
                *keep = match &a.filter {
                    Some(f) => x.truth(f, &r)?,
                    None => true,
                };
                if *keep {
                    for e in &a.args {
                        v.push(x.eval(e, &r)?);
                    }
                }
            }
            let g = match map.get_mut(&k) {
                Some(g) => g,
                None => {
                    let b = k.len() + row_bytes(&keys) + row_bytes(&r) + 64 * (aggs.len() + 1);
                    x.ctl.charge(b, "hash aggregate")?;
                    bytes += b;
                    map.entry(k).or_insert(Group {
                        last: Vec::new(),
                        keys,
                        states: fresh(),
                    })
                }
            };
            for (((a, st), args), keep) in
                aggs.iter().zip(g.states.iter_mut()).zip(&argv).zip(&kept)
            {
                if !keep {
                    continue;
                }
                let grew = st.step(a.func, args);
                if grew > 0 {
                    x.ctl.charge(grew, "hash aggregate")?;
                    bytes += grew;
                }
            }
            g.last = r;
            Ok(Flow::More)
        });
        self.ctl.release(bytes);
        res?;
        if map.is_empty() && groups.is_empty() {
            map.insert(
                Vec::new(),
                Group {
                    last: vec![Value::Null; input_width],
                    keys: Vec::new(),
                    states: fresh(),
                },
            );
        }
        for (_, g) in map {
            self.ctl.tick()?;
            let mut row = g.last;
            row.resize(input_width, Value::Null);
            row.extend(g.keys);
            for (a, st) in aggs.iter().zip(&g.states) {
                row.push(st.finish(a.func)?);
            }
            if sink(self, row)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::More)
    }

    /// Window functions: gathers each partition of the (sorted) input, charged to the memory
    /// budget, and emits its rows with the calls' results appended.
    fn window(
        &mut self,
        input: &Plan,
        partition: &[Expr],
        order: &[SortKey],
        calls: &[WinCall],
        sink: &mut RowSink<'_, 't>,
    ) -> Result<Flow> {
        let mut rows: Vec<Row> = Vec::new();
        let mut current: Option<Row> = None;
        let mut bytes = 0usize;
        let mut stopped = false;
        let res = self.stream(input, &mut |x, r| {
            let mut key = Vec::with_capacity(partition.len());
            for e in partition {
                key.push(x.eval(e, &r)?);
            }
            let same = current.as_ref().is_none_or(|c| {
                c.iter()
                    .zip(&key)
                    .all(|(a, b)| (a.is_null() && b.is_null()) || a.total_cmp(b) == Ordering::Equal)
            });
            if !same {
                let done = std::mem::take(&mut rows);
                x.ctl.release(bytes);
                bytes = 0;
                if x.window_partition(done, order, calls, sink)? == Flow::Stop {
                    stopped = true;
                    return Ok(Flow::Stop);
                }
            }
            current = Some(key);
            let b = row_bytes(&r);
            x.ctl.charge(b, "window")?;
            bytes += b;
            rows.push(r);
            Ok(Flow::More)
        });
        if let Err(e) = res {
            self.ctl.release(bytes);
            return Err(e);
        }
        if stopped {
            self.ctl.release(bytes);
            return Ok(Flow::Stop);
        }
        let r = self.window_partition(rows, order, calls, sink);
        self.ctl.release(bytes);
        r
    }

    /// Computes the window calls over one partition and emits its rows.
    fn window_partition(
        &mut self,
        mut rows: Vec<Row>,
        order: &[SortKey],
        calls: &[WinCall],
        sink: &mut RowSink<'_, 't>,
    ) -> Result<Flow> {
        use crate::window::{check_offset, evaluate, Bound, CallInput, Peers, ResolvedFrame};
        if rows.is_empty() {
            return Ok(Flow::More);
        }
        let mut charged = 0usize;
        let r = (|| {
            let mut keys = Vec::with_capacity(rows.len());
            for r in &rows {
                self.ctl.tick()?;
                let mut k = Vec::with_capacity(order.len());
                for o in order {
                    k.push(self.eval(&o.expr, r)?);
                }
                let b = row_bytes(&k);
                self.ctl.charge(b, "window")?;
                charged += b;
                keys.push(k);
            }
            let peers = Peers::new(&keys, order);
            let mut results: Vec<Vec<Value>> = Vec::with_capacity(calls.len());
            for c in calls {
                let mut args = Vec::with_capacity(rows.len());
                let mut keep = Vec::with_capacity(rows.len());
                for r in &rows {
                    self.ctl.tick()?;
                    let k = match &c.filter {
                        Some(f) => self.truth(f, r)?,
                        None => true,
                    };
                    let mut a = Vec::with_capacity(c.args.len());
                    if k {
                        for e in &c.args {
                            a.push(self.eval(e, r)?);
                        }
                    }
                    let b = row_bytes(&a) + 1;
                    self.ctl.charge(b, "window")?;
                    charged += b;
                    args.push(a);
                    keep.push(k);
                }
                let mut bound = |b: &crate::window::FrameBound, starting: bool| -> Result<Bound> {
                    use crate::window::FrameBound as F;
                    Ok(match b {
                        F::UnboundedPreceding => Bound::UnboundedPreceding,
                        F::CurrentRow => Bound::CurrentRow,
                        F::UnboundedFollowing => Bound::UnboundedFollowing,
                        F::Preceding(e) => Bound::Preceding(check_offset(
                            self.eval(e, &[])?,
                            c.frame.units,
                            starting,
                        )?),
                        F::Following(e) => Bound::Following(check_offset(
                            self.eval(e, &[])?,
                            c.frame.units,
                            starting,
                        )?),
                    })
                };
                let frame = ResolvedFrame {
                    units: c.frame.units,
                    start: bound(&c.frame.start, true)?,
                    end: bound(&c.frame.end, false)?,
                    exclude: c.frame.exclude,
                };
                let input = CallInput {
                    func: c.func,
                    args: &args,
                    keep: &keep,
                    frame: &frame,
                };
                let out = evaluate(&input, &peers, &mut self.ctl)?;
                let b = row_bytes(&out);
                self.ctl.charge(b, "window")?;
                charged += b;
                results.push(out);
            }
            Ok(results)
        })();
        let results = match r {
            Ok(v) => v,
            Err(e) => {
                self.ctl.release(charged);
                return Err(e);
            }
        };
        let mut cols: Vec<std::vec::IntoIter<Value>> =
            results.into_iter().map(Vec::into_iter).collect();
        let mut flow = Ok(Flow::More);
        for mut row in rows.drain(..) {
            if let Err(e) = self.ctl.tick() {
                flow = Err(e);
                break;
            }
            for c in cols.iter_mut() {
                row.push(c.next().unwrap_or(Value::Null));
            }
            match sink(self, row) {
                Ok(Flow::More) => {}
                other => {
                    flow = other;
                    break;
                }
            }
        }
        self.ctl.release(charged);
        flow
    }

    // ------------------------------------------------------------ storage access

    fn read_row(&mut self, t: &TableDef, key: &[u8], bytes: &[u8]) -> Result<Row> {
        let mut r = decode_row(bytes).map_err(|e| match e {
            Error::Corruption { what, detail, .. } => Error::Corruption {
                what,
                key: key.to_vec(),
                detail,
            },
            e => e,
        })?;
        if r.len() < t.columns.len() {
            for c in &t.columns[r.len()..] {
                r.push(c.added_default.clone().unwrap_or(Value::Null));
            }
        }
        r.truncate(t.columns.len());
        Ok(r)
    }

    fn bound_key(
        &mut self,
        prefix: &[u8],
        b: &Option<(Expr, bool)>,
        lower: bool,
    ) -> Result<Option<Bound<Vec<u8>>>> {
        Ok(match b {
            None => Some(if lower {
                let mut k = prefix.to_vec();
                k.push(0x02); // skip NULLs
                Bound::Included(k)
            } else {
                prefix_end(prefix)
            }),
            Some((e, incl)) => {
                let v = self.eval(e, &[])?;
                if v.is_null() {
                    return Ok(None);
                }
                let mut k = prefix.to_vec();
                encode_key_value(&mut k, &v);
                Some(match (lower, incl) {
                    (true, true) => Bound::Included(k),
                    (true, false) => match prefix_successor(&k) {
                        Some(s) => Bound::Included(s),
                        None => return Ok(None),
                    },
                    (false, true) => prefix_end(&k),
                    (false, false) => Bound::Excluded(k),
                })
            }
        })
    }

    /// Calls `f` for every pair in the key range, reading it in chunks (so `f` may use the
    /// transaction between chunks: subqueries, index lookups, writes to other keys).
    fn range_stream(
        &mut self,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
        f: &mut PairSink<'_, 't>,
    ) -> Result<Flow> {
        self.range_stream_dir(lo, hi, false, f)
    }

    /// Streams the pairs in `[lo, hi]` ascending (or descending with `reverse`) in growing
    /// chunks, so a consumer that stops early (LIMIT) reads little.
    fn range_stream_dir(
        &mut self,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
        reverse: bool,
        f: &mut PairSink<'_, 't>,
    ) -> Result<Flow> {
        let (mut lo, mut hi) = (lo, hi);
        // Small first chunk: a consumer that stops early (LIMIT, EXISTS, top-k by index) reads
        // little; the chunk grows fast for scans that go on.
        let mut n = 16usize;
        loop {
            let chunk = self
                .txn()?
                .scan_chunk(bound_ref(&lo), bound_ref(&hi), n, reverse)?;
            let done = chunk.len() < n;
            let Some(last) = chunk.last().map(|(k, _)| k.clone()) else {
                return Ok(Flow::More);
            };
            for (k, v) in chunk {
                self.ctl.tick()?;
                if f(self, k, v)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            if done {
                return Ok(Flow::More);
            }
            if reverse {
                hi = Bound::Excluded(last);
            } else {
                lo = Bound::Excluded(last);
            }
            n = (n * 4).min(8192);
        }
    }

    fn scan_range(
        &mut self,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        self.range_stream(lo, hi, &mut |_, k, v| {
            out.push((k, v));
            Ok(Flow::More)
        })?;
        Ok(out)
    }

    /// Rows of `t` reached through `access`, filtered, with their rowids.
    pub fn scan_rows(
        &mut self,
        t: &TableDef,
        access: &Access,
        filter: Option<&Expr>,
    ) -> Result<Vec<(i64, Row)>> {
        let mut out = Vec::new();
        self.scan_stream(t, access, filter, false, &mut |_, id, r| {
            out.push((id, r));
            Ok(Flow::More)
        })?;
        Ok(out)
    }

    /// Streams the rows of `t` reached through `access` that pass `filter`, with rowids, in
    /// ascending key order (rowid, or the index's order) or, with `reverse`, descending.
    pub fn scan_stream(
        &mut self,
        t: &TableDef,
        access: &Access,
        filter: Option<&Expr>,
        reverse: bool,
        sink: &mut dyn FnMut(&mut Self, i64, Row) -> Result<Flow>,
    ) -> Result<Flow> {
        let mut emit = |x: &mut Self, id: i64, row: Row| -> Result<Flow> {
            if let Some(f) = filter {
                if !x.truth(f, &row)? {
                    return Ok(Flow::More);
                }
            }
            sink(x, id, row)
        };
        match access {
            Access::Full => {
                let prefix = table_rows_prefix(t.id);
                let hi = prefix_end(&prefix);
                self.range_stream_dir(Bound::Included(prefix), hi, reverse, &mut |x, k, v| {
                    let id = decode_rowid_suffix(&k)?;
                    let row = x.read_row(t, &k, &v)?;
                    emit(x, id, row)
                })
            }
            Access::RowidIn(keys) => {
                let mut ids = Vec::new();
                for k in keys {
                    if let Value::Integer(i) = with_aff(self.eval(k, &[])?, Some(Affinity::Integer))
                    {
                        ids.push(i);
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                if reverse {
                    ids.reverse();
                }
                for id in ids {
                    self.ctl.tick()?;
                    let key = row_key(t.id, id);
                    if let Some(v) = self.txn()?.get(&key)? {
                        let row = self.read_row(t, &key, &v)?;
                        if emit(self, id, row)? == Flow::Stop {
                            return Ok(Flow::Stop);
                        }
                    }
                }
                Ok(Flow::More)
            }
            Access::RowidRange { lo, hi } => {
                let prefix = table_rows_prefix(t.id);
                let (Some(l), Some(h)) = (
                    self.bound_key(&prefix, lo, true)?,
                    self.bound_key(&prefix, hi, false)?,
                ) else {
                    return Ok(Flow::More);
                };
                self.range_stream_dir(l, h, reverse, &mut |x, k, v| {
                    let id = decode_rowid_suffix(&k)?;
                    let row = x.read_row(t, &k, &v)?;
                    emit(x, id, row)
                })
            }
            Access::Index { index, eq, lo, hi } => {
                let mut seen = HashSet::new();
                // Several IN tuples are visited in list order; the ORDER BY rule only asks for
                // `reverse` (or relies on index order) with at most one tuple.
                let tuples: Box<dyn Iterator<Item = &Vec<Expr>>> = if reverse {
                    Box::new(eq.iter().rev())
                } else {
                    Box::new(eq.iter())
                };
                'tuples: for tuple in tuples {
                    let mut prefix = index_prefix(t.id, index.id);
                    for e in tuple {
                        let v = self.eval(e, &[])?;
                        if v.is_null() {
                            continue 'tuples;
                        }
                        encode_key_value(&mut prefix, &v);
                    }
                    let (l, h) = if lo.is_none() && hi.is_none() {
                        (Bound::Included(prefix.clone()), prefix_end(&prefix))
                    } else {
                        match (
                            self.bound_key(&prefix, lo, true)?,
                            self.bound_key(&prefix, hi, false)?,
                        ) {
                            (Some(l), Some(h)) => (l, h),
                            _ => continue,
                        }
                    };
                    let several = eq.len() > 1;
                    let flow = self.index_rows(t, index, l, h, reverse, &mut |x, id, row| {
                        if several && !seen.insert(id) {
                            return Ok(Flow::More);
                        }
                        emit(x, id, row)
                    })?;
                    if flow == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                Ok(Flow::More)
            }
        }
    }

    /// Streams the rows an index range `[l, h]` points to, in index order (or reversed).
    fn index_rows(
        &mut self,
        t: &TableDef,
        index: &IndexDef,
        l: Bound<Vec<u8>>,
        h: Bound<Vec<u8>>,
        reverse: bool,
        f: &mut dyn FnMut(&mut Self, i64, Row) -> Result<Flow>,
    ) -> Result<Flow> {
        self.range_stream_dir(l, h, reverse, &mut |x, _, v| {
            let id = decode_rowid_suffix(&v)?;
            let key = row_key(t.id, id);
            match x.txn()?.get(&key)? {
                Some(v) => {
                    let row = x.read_row(t, &key, &v)?;
                    f(x, id, row)
                }
                None => Err(Error::Corruption {
                    what: "index",
                    key,
                    detail: format!("index {} points to a missing row", index.name),
                }),
            }
        })
    }

    /// The rows of `t` whose rowid (`index: None`) or leading index columns equal `vals`
    /// (plain value equality: the planner only probes where no comparison affinity applies).
    fn probe_rows(
        &mut self,
        t: &TableDef,
        index: Option<&IndexDef>,
        vals: &[Value],
        f: &mut dyn FnMut(&mut Self, Row) -> Result<Flow>,
    ) -> Result<Flow> {
        if vals.iter().any(Value::is_null) {
            return Ok(Flow::More);
        }
        match index {
            None => {
                // Plain equality: only an integer, or a real with an exact integer value,
                // equals a rowid.
                let id = match vals.first().cloned().map(crate::value::integral) {
                    Some(Value::Integer(i)) => i,
                    _ => return Ok(Flow::More),
                };
                let key = row_key(t.id, id);
                match self.txn()?.get(&key)? {
                    Some(v) => {
                        let row = self.read_row(t, &key, &v)?;
                        f(self, row)
                    }
                    None => Ok(Flow::More),
                }
            }
            Some(ix) => {
                let prefix = index_key_prefix(t.id, ix.id, vals);
                let hi = prefix_end(&prefix);
                self.index_rows(
                    t,
                    ix,
                    Bound::Included(prefix),
                    hi,
                    false,
                    &mut |x, _, row| f(x, row),
                )
            }
        }
    }

    // ------------------------------------------------------------ DML

    fn index_vals(idx: &IndexDef, row: &[Value]) -> Vec<Value> {
        idx.columns
            .iter()
            .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
            .collect()
    }

    /// Next rowid to allocate for `t`, as SQLite does: one more than the largest rowid present
    /// (read from the end of the table: one key), or, for an AUTOINCREMENT table, one more than
    /// the largest ever used (a persistent counter under the catalog prefix), so its rowids are
    /// never reused. Cached for the rest of the statement.
    fn next_rowid_for(&mut self, t: &TableDef) -> Result<i64> {
        if let Some(n) = self.next_rowid.get(&t.id) {
            return Ok(*n);
        }
        let last = if t.autoincrement {
            let key = crate::catalog::rowid_counter_key(t.id);
            match self.txn()?.get(&key)? {
                None => 0,
                Some(v) if v.len() == 8 => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&v);
                    i64::from_be_bytes(a)
                }
                Some(_) => {
                    return Err(Error::Corruption {
                        what: "rowid counter",
                        key,
                        detail: "bad length".into(),
                    })
                }
            }
        } else {
            let prefix = table_rows_prefix(t.id);
            let hi = prefix_end(&prefix);
            let top = self.txn()?.scan_chunk(
                Bound::Included(prefix.as_slice()),
                bound_ref(&hi),
                1,
                true,
            )?;
            match top.first() {
                Some((k, _)) => decode_rowid_suffix(k)?,
                None => 0,
            }
        };
        let n = last.saturating_add(1).max(1);
        self.next_rowid.insert(t.id, n);
        Ok(n)
    }

    fn note_rowid(&mut self, t: &TableDef, rowid: i64) -> Result<()> {
        if !t.autoincrement {
            // The largest rowid is read from the table when one is next allocated (this row
            // included); only a value already cached for the statement needs the bump.
            if let Some(n) = self.next_rowid.get_mut(&t.id) {
                if rowid >= *n {
                    *n = rowid.saturating_add(1);
                }
            }
            return Ok(());
        }
        let next = self.next_rowid_for(t)?;
        if rowid >= next {
            self.next_rowid.insert(t.id, rowid.saturating_add(1));
            let key = crate::catalog::rowid_counter_key(t.id);
            self.txn()?.put(&key, &rowid.to_be_bytes())?;
        }
        Ok(())
    }

    fn alloc_rowid(&mut self, t: &TableDef) -> Result<i64> {
        let n = self.next_rowid_for(t)?;
        if n == i64::MAX {
            return rt("database or disk is full (rowid space exhausted)");
        }
        Ok(n)
    }

    fn unique_conflicts(
        &mut self,
        t: &TableDef,
        row: &[Value],
        rowid: i64,
    ) -> Result<Vec<(i64, String)>> {
        let mut out = Vec::new();
        for idx in t.indexes.iter().filter(|i| i.unique) {
            for other in self.unique_key_holders(t, idx, row)? {
                if other != rowid {
                    let cols: Vec<String> = idx
                        .columns
                        .iter()
                        .filter_map(|&c| t.columns.get(c).map(|c| format!("{}.{}", t.name, c.name)))
                        .collect();
                    out.push((other, cols.join(", ")));
                }
            }
        }
        Ok(out)
    }

    /// Rowids of the rows whose key in the unique index `idx` equals `row`'s; none when the
    /// key has a NULL (NULLs never conflict, as in SQLite).
    fn unique_key_holders(
        &mut self,
        t: &TableDef,
        idx: &IndexDef,
        row: &[Value],
    ) -> Result<Vec<i64>> {
        let vals = Self::index_vals(idx, row);
        if vals.iter().any(Value::is_null) {
            return Ok(Vec::new());
        }
        let prefix = index_key_prefix(t.id, idx.id, &vals);
        let hi = prefix_end(&prefix);
        self.scan_range(Bound::Included(prefix), hi)?
            .iter()
            .map(|(_, v)| decode_rowid_suffix(v))
            .collect()
    }

    fn write_indexes(
        &mut self,
        t: &TableDef,
        row: &[Value],
        rowid: i64,
        delete: bool,
    ) -> Result<()> {
        let rk = crate::codec::rowid_suffix(rowid);
        for idx in &t.indexes {
            let k = index_key(t.id, idx.id, &Self::index_vals(idx, row), rowid);
            if delete {
                self.txn()?.delete(&k)?;
            } else {
                self.txn()?.put(&k, &rk)?;
            }
        }
        Ok(())
    }

    /// Deletes one row and its index entries.
    pub fn delete_row(&mut self, t: &TableDef, rowid: i64, row: &[Value]) -> Result<()> {
        self.write_indexes(t, row, rowid, true)?;
        self.txn()?.delete(&row_key(t.id, rowid))
    }

    pub(crate) fn load_row(&mut self, t: &TableDef, rowid: i64) -> Result<Option<Row>> {
        let key = row_key(t.id, rowid);
        match self.txn()?.get(&key)? {
            Some(v) => Ok(Some(self.read_row(t, &key, &v)?)),
            None => Ok(None),
        }
    }

    /// Applies affinities and NOT NULL, assigns the rowid, enforces uniqueness and writes
    /// the row. `old_rowid` is set for UPDATE. Returns false if the row was ignored.
    pub fn write_row(
        &mut self,
        t: &TableDef,
        row: Row,
        old_rowid: Option<i64>,
        mode: OnConflict,
    ) -> Result<bool> {
        Ok(self.write_row_out(t, row, old_rowid, mode)?.is_some())
    }

    /// Like [`Exec::write_row`], returning the row as stored (affinities applied, rowid
    /// filled in) when it was written, for RETURNING.
    pub fn write_row_out(
        &mut self,
        t: &TableDef,
        mut row: Row,
        old_rowid: Option<i64>,
        mode: OnConflict,
    ) -> Result<Option<Row>> {
        for (i, c) in t.columns.iter().enumerate() {
            let v = std::mem::replace(&mut row[i], Value::Null);
            row[i] = c.affinity.apply(v);
        }
        let rowid = match t.rowid_column {
            Some(rc) => match &row[rc] {
                Value::Null => {
                    let id = self.alloc_rowid(t)?;
                    row[rc] = Value::Integer(id);
                    id
                }
                Value::Integer(i) => *i,
                _ => {
                    return Err(Error::Constraint(
                        "datatype mismatch: INTEGER PRIMARY KEY must be an integer".into(),
                    ))
                }
            },
            None => match old_rowid {
                Some(o) => o,
                None => self.alloc_rowid(t)?,
            },
        };
        for (i, c) in t.columns.iter().enumerate() {
            if c.not_null && row[i].is_null() {
                if mode == OnConflict::Ignore {
                    return Ok(None);
                }
                return Err(Error::Constraint(format!(
                    "NOT NULL constraint failed: {}.{}",
                    t.name, c.name
                )));
            }
        }
        // Rowid conflict (only possible for explicit INTEGER PRIMARY KEY values).
        if old_rowid != Some(rowid) {
            if let Some(existing) = self.load_row(t, rowid)? {
                match mode {
                    OnConflict::Ignore => return Ok(None),
                    OnConflict::Replace => self.delete_row(t, rowid, &existing)?,
                    OnConflict::Abort => {
                        let col = t
                            .rowid_column
                            .and_then(|c| t.columns.get(c))
                            .map_or("rowid", |c| c.name.as_str());
                        return Err(Error::Constraint(format!(
                            "UNIQUE constraint failed: {}.{}",
                            t.name, col
                        )));
                    }
                }
            }
        }
        let conflicts = self.unique_conflicts(t, &row, old_rowid.unwrap_or(rowid))?;
        for (other, cols) in conflicts {
            match mode {
                OnConflict::Ignore => return Ok(None),
                OnConflict::Abort => {
                    return Err(Error::Constraint(format!(
                        "UNIQUE constraint failed: {cols}"
                    )))
                }
                OnConflict::Replace => {
                    if let Some(existing) = self.load_row(t, other)? {
                        self.delete_row(t, other, &existing)?;
                    }
                }
            }
        }
        if let Some(old) = old_rowid {
            if let Some(existing) = self.load_row(t, old)? {
                self.delete_row(t, old, &existing)?;
            }
        }
        if old_rowid != Some(rowid) {
            self.note_rowid(t, rowid)?;
        }
        self.write_indexes(t, &row, rowid, false)?;
        let bytes = encode_row(&row);
        self.txn()?.put(&row_key(t.id, rowid), &bytes)?;
        if old_rowid.is_none() {
            self.last_rowid = Some(rowid);
        }
        Ok(Some(row))
    }

    /// The rowid of the existing row a new `row` (affinities applied) conflicts with on the
    /// UPSERT target: the listed columns' PRIMARY KEY or UNIQUE constraint, or any when
    /// `target` is `None`.
    pub fn upsert_conflict(
        &mut self,
        t: &TableDef,
        row: &[Value],
        target: Option<&[usize]>,
    ) -> Result<Option<i64>> {
        let same = |cols: &[usize]| {
            target.is_none_or(|tg| tg.len() == cols.len() && tg.iter().all(|c| cols.contains(c)))
        };
        if let Some(rc) = t.rowid_column {
            if let Some(Value::Integer(id)) = row.get(rc) {
                if same(&[rc]) && self.load_row(t, *id)?.is_some() {
                    return Ok(Some(*id));
                }
            }
        }
        for idx in t.indexes.iter().filter(|i| i.unique && same(&i.columns)) {
            if let Some(&id) = self.unique_key_holders(t, idx, row)?.first() {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Adds index entries for every existing row (CREATE INDEX), checking uniqueness.
    pub fn build_index(&mut self, t: &TableDef, idx: &IndexDef) -> Result<()> {
        let rows = self.scan_rows(t, &Access::Full, None)?;
        let mut seen = HashSet::new();
        let rk_of = crate::codec::rowid_suffix;
        for (id, row) in rows {
            let vals = Self::index_vals(idx, &row);
            if idx.unique && !vals.iter().any(Value::is_null) && !seen.insert(encode_key(&vals)) {
                let cols: Vec<String> = idx
                    .columns
                    .iter()
                    .filter_map(|&c| t.columns.get(c).map(|c| format!("{}.{}", t.name, c.name)))
                    .collect();
                return Err(Error::Constraint(format!(
                    "UNIQUE constraint failed: {}",
                    cols.join(", ")
                )));
            }
            let k = index_key(t.id, idx.id, &vals, id);
            self.txn()?.put(&k, &rk_of(id))?;
        }
        Ok(())
    }

    /// Rewrites every stored row of `t` through `f` (ALTER TABLE DROP COLUMN), reading the
    /// table in chunks so the rewrite holds no more than one chunk at a time.
    pub fn rewrite_rows(&mut self, t: &TableDef, f: &mut dyn FnMut(&mut Row)) -> Result<()> {
        let prefix = table_rows_prefix(t.id);
        let hi = prefix_end(&prefix);
        self.range_stream(Bound::Included(prefix), hi, &mut |x, k, v| {
            let mut row = x.read_row(t, &k, &v)?;
            f(&mut row);
            x.txn()?.put(&k, &crate::codec::encode_row(&row))?;
            Ok(Flow::More)
        })?;
        Ok(())
    }

    /// Deletes every key with the given prefix.
    pub fn delete_prefix(&mut self, prefix: &[u8]) -> Result<u64> {
        let hi = prefix_end(prefix);
        let keys: Vec<Vec<u8>> = self
            .scan_range(Bound::Included(prefix.to_vec()), hi)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let n = keys.len() as u64;
        for k in keys {
            self.txn()?.delete(&k)?;
        }
        Ok(n)
    }
}
