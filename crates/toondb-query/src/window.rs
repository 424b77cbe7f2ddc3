//! Window functions as SQLite 3.40 defines them: the bound window calls and frames the planner
//! builds into [`crate::plan::Plan::Window`], and the evaluation of one partition's results.
//!
//! The executor sorts a Window node's input by its partition and ORDER BY keys, gathers one
//! partition at a time (charged to the statement memory budget) and calls [`evaluate`] for
//! each window call. Frames move forward only (SQLite refuses frames whose start could pass
//! their end), so aggregates slide: rows entering the frame are added, rows leaving it are
//! removed with the aggregate's inverse (count, sum, total, avg, group_concat and the JSON
//! group functions have one, as in SQLite). min/max have no inverse: they keep a monotonic
//! queue of candidates instead. Either way a partition costs O(n) steps. Frames with an
//! EXCLUDE clause are recomputed per row (O(n × frame)), as SQLite does.

use std::cmp::Ordering;

use crate::ctl::Ctl;
use crate::error::{rt, Result};
use crate::exec::{sort_cmp, AggState, Row};
use crate::expr::{arith, AggFunc, BinOp, Expr};
use crate::plan::SortKey;
use crate::value::{parse_numeric_exact, text_to_number, Value};

/// A window function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinFunc {
    /// row_number()
    RowNumber,
    /// rank()
    Rank,
    /// dense_rank()
    DenseRank,
    /// percent_rank()
    PercentRank,
    /// cume_dist()
    CumeDist,
    /// ntile(N)
    Ntile,
    /// lag(expr [, offset [, default]])
    Lag,
    /// lead(expr [, offset [, default]])
    Lead,
    /// first_value(expr)
    FirstValue,
    /// last_value(expr)
    LastValue,
    /// nth_value(expr, N)
    NthValue,
    /// An aggregate function used as a window function.
    Agg(AggFunc),
}

impl WinFunc {
    /// Looks up a built-in (non-aggregate) window function: the function and its allowed
    /// argument counts.
    pub fn lookup(name: &str) -> Option<(WinFunc, usize, usize)> {
        Some(match name {
            "row_number" => (WinFunc::RowNumber, 0, 0),
            "rank" => (WinFunc::Rank, 0, 0),
            "dense_rank" => (WinFunc::DenseRank, 0, 0),
            "percent_rank" => (WinFunc::PercentRank, 0, 0),
            "cume_dist" => (WinFunc::CumeDist, 0, 0),
            "ntile" => (WinFunc::Ntile, 1, 1),
            "lag" => (WinFunc::Lag, 1, 3),
            "lead" => (WinFunc::Lead, 1, 3),
            "first_value" => (WinFunc::FirstValue, 1, 1),
            "last_value" => (WinFunc::LastValue, 1, 1),
            "nth_value" => (WinFunc::NthValue, 2, 2),
            _ => return None,
        })
    }

    /// SQL name, for EXPLAIN.
    pub fn name(self) -> String {
        match self {
            WinFunc::RowNumber => "row_number".into(),
            WinFunc::Rank => "rank".into(),
            WinFunc::DenseRank => "dense_rank".into(),
            WinFunc::PercentRank => "percent_rank".into(),
            WinFunc::CumeDist => "cume_dist".into(),
            WinFunc::Ntile => "ntile".into(),
            WinFunc::Lag => "lag".into(),
            WinFunc::Lead => "lead".into(),
            WinFunc::FirstValue => "first_value".into(),
            WinFunc::LastValue => "last_value".into(),
            WinFunc::NthValue => "nth_value".into(),
            WinFunc::Agg(a) => format!("{a:?}").to_ascii_lowercase(),
        }
    }

    /// True when the result depends on the frame (aggregates and the value functions
    /// first_value, last_value, nth_value); the others look at the whole partition.
    pub fn uses_frame(self) -> bool {
        matches!(
            self,
            WinFunc::Agg(_) | WinFunc::FirstValue | WinFunc::LastValue | WinFunc::NthValue
        )
    }
}

/// Frame units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameUnits {
    /// ROWS: offsets count rows.
    Rows,
    /// RANGE: offsets are differences of the (single) ORDER BY value; CURRENT ROW means peers.
    Range,
    /// GROUPS: offsets count peer groups.
    Groups,
}

/// One end of a frame.
#[derive(Debug, Clone)]
pub enum FrameBound {
    /// UNBOUNDED PRECEDING
    UnboundedPreceding,
    /// `expr` PRECEDING
    Preceding(Expr),
    /// CURRENT ROW
    CurrentRow,
    /// `expr` FOLLOWING
    Following(Expr),
    /// UNBOUNDED FOLLOWING
    UnboundedFollowing,
}

/// The EXCLUDE clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclude {
    /// EXCLUDE NO OTHERS (the default)
    NoOthers,
    /// EXCLUDE CURRENT ROW
    CurrentRow,
    /// EXCLUDE GROUP (the current row and its peers)
    Group,
    /// EXCLUDE TIES (the current row's peers, not the row itself)
    Ties,
}

/// A frame specification.
#[derive(Debug, Clone)]
pub struct WindowFrame {
    /// Units.
    pub units: FrameUnits,
    /// Start bound.
    pub start: FrameBound,
    /// End bound.
    pub end: FrameBound,
    /// Excluded rows.
    pub exclude: Exclude,
}

impl Default for WindowFrame {
    /// `RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW` (the whole partition when the
    /// window has no ORDER BY, since every row is then a peer of every other).
    fn default() -> Self {
        WindowFrame {
            units: FrameUnits::Range,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::CurrentRow,
            exclude: Exclude::NoOthers,
        }
    }
}

/// One window function call of a [`crate::plan::Plan::Window`] node.
#[derive(Debug, Clone)]
pub struct WinCall {
    /// The function.
    pub func: WinFunc,
    /// Arguments over the node's input row.
    pub args: Vec<Expr>,
    /// FILTER (WHERE ...) of an aggregate: rows failing it are not aggregated.
    pub filter: Option<Expr>,
    /// The frame.
    pub frame: WindowFrame,
}

/// A frame bound with its offset evaluated and checked.
#[derive(Debug, Clone)]
pub(crate) enum Bound {
    UnboundedPreceding,
    Preceding(Offset),
    CurrentRow,
    Following(Offset),
    UnboundedFollowing,
}

/// An evaluated frame offset: a row or group count (ROWS, GROUPS) or a value (RANGE).
#[derive(Debug, Clone)]
pub(crate) enum Offset {
    Count(usize),
    Value(Value),
}

/// Checks an evaluated frame offset as SQLite does: a non-negative integer for ROWS and
/// GROUPS, a non-negative number for RANGE.
pub(crate) fn check_offset(v: Value, units: FrameUnits, starting: bool) -> Result<Offset> {
    let which = if starting { "starting" } else { "ending" };
    let numeric = match v {
        Value::Text(s) => parse_numeric_exact(&s).unwrap_or(Value::Null),
        Value::Blob(_) => Value::Null,
        v => v,
    };
    if units == FrameUnits::Range {
        return match numeric {
            Value::Integer(i) if i >= 0 => Ok(Offset::Value(Value::Integer(i))),
            Value::Real(r) if r >= 0.0 => Ok(Offset::Value(Value::Real(r))),
            _ => rt(format!(
                "frame {which} offset must be a non-negative number"
            )),
        };
    }
    let count = match numeric {
        Value::Integer(i) if i >= 0 => Some(i),
        Value::Real(r) if r >= 0.0 && r.fract() == 0.0 => {
            Some(crate::value::real_to_i64_saturating(r))
        }
        _ => None,
    };
    match count {
        Some(c) => Ok(Offset::Count(usize::try_from(c).unwrap_or(usize::MAX))),
        None => rt(format!(
            "frame {which} offset must be a non-negative integer"
        )),
    }
}

/// A frame ready to be applied to a partition.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedFrame {
    pub units: FrameUnits,
    pub start: Bound,
    pub end: Bound,
    pub exclude: Exclude,
}

/// One call's inputs over a partition: argument values and FILTER outcome per row.
pub(crate) struct CallInput<'a> {
    pub func: WinFunc,
    pub args: &'a [Row],
    pub keep: &'a [bool],
    pub frame: &'a ResolvedFrame,
}

/// The ordering facts of one partition: each row's ORDER BY values and its peer group.
pub(crate) struct Peers<'a> {
    keys: &'a [Row],
    order: &'a [SortKey],
    /// Peer group index per row.
    gid: Vec<usize>,
    /// First row of each peer group, then the partition size.
    gstart: Vec<usize>,
}

impl<'a> Peers<'a> {
    /// Groups the rows (sorted by `order`, `keys` their ORDER BY values) into peer groups.
    pub fn new(keys: &'a [Row], order: &'a [SortKey]) -> Self {
        let n = keys.len();
        let mut gid = Vec::with_capacity(n);
        let mut gstart = Vec::new();
        for i in 0..n {
            if i == 0 || sort_cmp(&keys[i - 1], &keys[i], order) != Ordering::Equal {
                gstart.push(i);
            }
            gid.push(gstart.len() - 1);
        }
        gstart.push(n);
        Peers {
            keys,
            order,
            gid,
            gstart,
        }
    }

    fn len(&self) -> usize {
        self.gid.len()
    }

    fn groups(&self) -> usize {
        self.gstart.len() - 1
    }

    fn group_start(&self, i: usize) -> usize {
        self.gstart[self.gid[i]]
    }

    fn group_end(&self, i: usize) -> usize {
        self.gstart[self.gid[i] + 1]
    }

    /// The RANGE boundary value `offset` before (`preceding`) or after the row's ORDER BY
    /// value, in sort order: numbers move by the offset, other values (NULL, text, blobs)
    /// stay put, as in SQLite.
    fn range_bound(&self, i: usize, offset: &Value, preceding: bool) -> Result<Value> {
        let key = &self.keys[i][0];
        let desc = self.order.first().is_some_and(|k| k.desc);
        if !matches!(key, Value::Integer(_) | Value::Real(_)) {
            return Ok(key.clone());
        }
        let op = if preceding != desc {
            BinOp::Sub
        } else {
            BinOp::Add
        };
        arith(op, key, offset)
    }

    fn cmp_key(&self, j: usize, bound: &Value) -> Ordering {
        sort_cmp(
            &self.keys[j][..1],
            std::slice::from_ref(bound),
            &self.order[..1],
        )
    }

    /// First row of the frame of row `i`.
    fn start(&self, b: &Bound, units: FrameUnits, i: usize) -> Result<usize> {
        let n = self.len();
        let g = self.gid[i];
        Ok(match (b, units) {
            (Bound::UnboundedPreceding, _) => 0,
            (Bound::UnboundedFollowing, _) => n,
            (Bound::CurrentRow, FrameUnits::Rows) => i,
            (Bound::CurrentRow, _) => self.group_start(i),
            (Bound::Preceding(Offset::Count(k)), FrameUnits::Groups) => {
                self.gstart[g.saturating_sub(*k)]
            }
            (Bound::Following(Offset::Count(k)), FrameUnits::Groups) => {
                self.gstart[g.saturating_add(*k).min(self.groups())]
            }
            (Bound::Preceding(Offset::Count(k)), _) => i.saturating_sub(*k),
            (Bound::Following(Offset::Count(k)), _) => i.saturating_add(*k).min(n),
            (Bound::Preceding(Offset::Value(v)), _) | (Bound::Following(Offset::Value(v)), _) => {
                let bound = self.range_bound(i, v, matches!(b, Bound::Preceding(_)))?;
                partition_point(n, |j| self.cmp_key(j, &bound) == Ordering::Less)
            }
        })
    }

    /// One past the last row of the frame of row `i`.
    fn end(&self, b: &Bound, units: FrameUnits, i: usize) -> Result<usize> {
        let n = self.len();
        let g = self.gid[i];
        Ok(match (b, units) {
            (Bound::UnboundedPreceding, _) => 0,
            (Bound::UnboundedFollowing, _) => n,
            (Bound::CurrentRow, FrameUnits::Rows) => i + 1,
            (Bound::CurrentRow, _) => self.group_end(i),
            (Bound::Preceding(Offset::Count(k)), FrameUnits::Groups) => {
                if *k > g {
                    0
                } else {
                    self.gstart[g - k + 1]
                }
            }
            (Bound::Following(Offset::Count(k)), FrameUnits::Groups) => {
                self.gstart[g.saturating_add(*k).saturating_add(1).min(self.groups())]
            }
            (Bound::Preceding(Offset::Count(k)), _) => (i + 1).saturating_sub(*k),
            (Bound::Following(Offset::Count(k)), _) => {
                i.saturating_add(*k).saturating_add(1).min(n)
            }
            (Bound::Preceding(Offset::Value(v)), _) | (Bound::Following(Offset::Value(v)), _) => {
                let bound = self.range_bound(i, v, matches!(b, Bound::Preceding(_)))?;
                partition_point(n, |j| self.cmp_key(j, &bound) != Ordering::Greater)
            }
        })
    }

    /// The frame of row `i` as `[lo, hi)` (never `hi < lo`).
    fn frame(&self, f: &ResolvedFrame, i: usize) -> Result<(usize, usize)> {
        let lo = self.start(&f.start, f.units, i)?;
        let hi = self.end(&f.end, f.units, i)?;
        Ok((lo, hi.max(lo)))
    }

    /// The frame of row `i` minus its EXCLUDE rows, as up to three `[lo, hi)` ranges in order.
    fn frame_ranges(&self, f: &ResolvedFrame, i: usize) -> Result<Vec<(usize, usize)>> {
        let (lo, hi) = self.frame(f, i)?;
        let holes: Vec<(usize, usize)> = match f.exclude {
            Exclude::NoOthers => vec![],
            Exclude::CurrentRow => vec![(i, i + 1)],
            Exclude::Group => vec![(self.group_start(i), self.group_end(i))],
            Exclude::Ties => vec![(self.group_start(i), i), (i + 1, self.group_end(i))],
        };
        let mut out = Vec::with_capacity(3);
        let mut at = lo;
        for (a, b) in holes {
            let (a, b) = (a.clamp(lo, hi), b.clamp(lo, hi));
            if a > at {
                out.push((at, a));
            }
            at = at.max(b);
        }
        if hi > at {
            out.push((at, hi));
        }
        Ok(out)
    }
}

/// First index in `0..n` where `pred` turns false (`pred` true on a prefix).
fn partition_point(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// `sqlite3_value_int64`: integers as they are, reals truncated, text by its numeric prefix.
fn value_int64(v: &Value) -> i64 {
    match v.to_numeric() {
        Value::Integer(i) => i,
        Value::Real(r) => crate::value::real_to_i64_saturating(r),
        _ => 0,
    }
}

/// The row `offset` rows away for lag/lead (None: no such row, use the default). A NULL or
/// non-integral offset finds no row; a negative one looks the other way, as in SQLite.
fn shifted(i: usize, n: usize, offset: &Value, forward: bool) -> Option<usize> {
    let k = match offset {
        Value::Null => return None,
        Value::Integer(k) => *k,
        Value::Real(r) if r.fract() == 0.0 => crate::value::real_to_i64_saturating(*r),
        Value::Real(_) => return None,
        Value::Text(s) => match text_to_number(s) {
            Value::Integer(k) => k,
            Value::Real(r) if r.fract() == 0.0 => crate::value::real_to_i64_saturating(r),
            _ => return None,
        },
        Value::Blob(_) => 0,
    };
    let k = if forward { k } else { k.checked_neg()? };
    let j = i64::try_from(i).ok()?.checked_add(k)?;
    usize::try_from(j).ok().filter(|&j| j < n)
}

/// nth_value's N: a positive integer (text and reals with an integer value count).
fn nth_arg(v: &Value) -> Result<usize> {
    let numeric = match v {
        Value::Text(s) => parse_numeric_exact(s).unwrap_or(Value::Null),
        v => v.clone(),
    };
    let n = match numeric {
        Value::Integer(i) => i,
        Value::Real(r) if r.fract() == 0.0 => crate::value::real_to_i64_saturating(r),
        _ => 0,
    };
    match usize::try_from(n) {
        Ok(n) if n > 0 => Ok(n),
        _ => rt("second argument to nth_value must be a positive integer"),
    }
}

/// Computes one window call's result for every row of a partition. Loops tick `ctl`.
pub(crate) fn evaluate(c: &CallInput<'_>, peers: &Peers<'_>, ctl: &mut Ctl) -> Result<Vec<Value>> {
    let n = peers.len();
    let mut out = Vec::with_capacity(n);
    let arg = |j: usize, k: usize| c.args[j].get(k).cloned().unwrap_or(Value::Null);
    match c.func {
        WinFunc::RowNumber => out.extend((1..=n).map(|i| Value::Integer(i as i64))),
        WinFunc::Rank => {
            out.extend((0..n).map(|i| Value::Integer(peers.group_start(i) as i64 + 1)))
        }
        WinFunc::DenseRank => out.extend((0..n).map(|i| Value::Integer(peers.gid[i] as i64 + 1))),
        WinFunc::PercentRank => out.extend((0..n).map(|i| {
            if n <= 1 {
                Value::Real(0.0)
            } else {
                Value::Real(peers.group_start(i) as f64 / (n - 1) as f64)
            }
        })),
        WinFunc::CumeDist => {
            out.extend((0..n).map(|i| Value::Real(peers.group_end(i) as f64 / n as f64)))
        }
        WinFunc::Ntile => {
            if n > 0 {
                let buckets = value_int64(&arg(0, 0));
                if buckets <= 0 {
                    return rt("argument of ntile must be a positive integer");
                }
                let total = n as i64;
                for row in 0..total {
                    out.push(Value::Integer(ntile(row, total, buckets)));
                }
            }
        }
        WinFunc::Lag | WinFunc::Lead => {
            for i in 0..n {
                ctl.tick()?;
                let offset = if c.args[i].len() > 1 {
                    arg(i, 1)
                } else {
                    Value::Integer(1)
                };
                out.push(match shifted(i, n, &offset, c.func == WinFunc::Lead) {
                    Some(j) => arg(j, 0),
                    None => arg(i, 2),
                });
            }
        }
        WinFunc::FirstValue | WinFunc::LastValue | WinFunc::NthValue => {
            for i in 0..n {
                ctl.tick()?;
                let ranges = peers.frame_ranges(c.frame, i)?;
                let pick = match c.func {
                    WinFunc::FirstValue => ranges.first().map(|r| r.0),
                    WinFunc::LastValue => ranges.last().map(|r| r.1 - 1),
                    _ => {
                        let mut k = nth_arg(&arg(i, 1))? - 1;
                        let mut found = None;
                        for (a, b) in ranges {
                            if k < b - a {
                                found = Some(a + k);
                                break;
                            }
                            k -= b - a;
                        }
                        found
                    }
                };
                out.push(pick.map_or(Value::Null, |j| arg(j, 0)));
            }
        }
        WinFunc::Agg(f) => {
            if c.frame.exclude == Exclude::NoOthers {
                slide(c, f, peers, ctl, &mut out)?;
            } else {
                for i in 0..n {
                    let mut st = WinAgg::new(f);
                    for (a, b) in peers.frame_ranges(c.frame, i)? {
                        for j in a..b {
                            ctl.tick()?;
                            if c.keep[j] {
                                st.step(f, &c.args[j]);
                            }
                        }
                    }
                    out.push(st.value(f, true)?);
                }
            }
        }
    }
    Ok(out)
}

/// SQLite's ntile(): bucket of row `row` (0-based) of `total` rows in `buckets` buckets, the
/// larger buckets first.
fn ntile(row: i64, total: i64, buckets: i64) -> i64 {
    let size = total / buckets;
    if size == 0 {
        return row + 1;
    }
    let large = total - buckets * size;
    let small_from = large * (size + 1);
    if row < small_from {
        1 + row / (size + 1)
    } else {
        1 + large + (row - small_from) / size
    }
}

/// Aggregates over moving frames: rows entering are stepped in, rows leaving are removed
/// with the aggregate's inverse; without one (min, max) a moved start recomputes.
fn slide(
    c: &CallInput<'_>,
    f: AggFunc,
    peers: &Peers<'_>,
    ctl: &mut Ctl,
    out: &mut Vec<Value>,
) -> Result<()> {
    if let AggFunc::Min | AggFunc::Max = f {
        return slide_extreme(c, f == AggFunc::Max, peers, ctl, out);
    }
    let mut st = WinAgg::new(f);
    let (mut clo, mut chi) = (0usize, 0usize);
    for i in 0..peers.len() {
        ctl.tick()?;
        let (lo, hi) = peers.frame(c.frame, i)?;
        // Rows leaving go out before rows entering come in (SQLite's order, which shows in
        // group_concat's separators once the text runs empty).
        while clo < lo.min(chi) {
            ctl.tick()?;
            if c.keep[clo] {
                st.remove(f, &c.args[clo]);
            }
            clo += 1;
        }
        clo = clo.max(lo);
        chi = chi.max(lo);
        while chi < hi {
            ctl.tick()?;
            if c.keep[chi] {
                st.step(f, &c.args[chi]);
            }
            chi += 1;
        }
        out.push(st.value(f, false)?);
    }
    Ok(())
}

/// min/max over moving frames: a monotonic queue of candidate rows (each better than every
/// later row kept after it), so each row enters and leaves once: O(n) per partition. Among
/// equal values the earliest wins, as in SQLite's min()/max().
fn slide_extreme(
    c: &CallInput<'_>,
    max: bool,
    peers: &Peers<'_>,
    ctl: &mut Ctl,
    out: &mut Vec<Value>,
) -> Result<()> {
    let value = |j: usize| c.args[j].first().filter(|v| !v.is_null());
    let worse = |a: &Value, b: &Value| {
        let o = a.total_cmp(b);
        if max {
            o == Ordering::Less
        } else {
            o == Ordering::Greater
        }
    };
    let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut chi = 0usize;
    for i in 0..peers.len() {
        ctl.tick()?;
        let (lo, hi) = peers.frame(c.frame, i)?;
        chi = chi.max(lo);
        while chi < hi {
            ctl.tick()?;
            if let Some(v) = value(chi).filter(|_| c.keep[chi]) {
                while queue
                    .back()
                    .and_then(|&b| value(b))
                    .is_some_and(|b| worse(b, v))
                {
                    queue.pop_back();
                }
                queue.push_back(chi);
            }
            chi += 1;
        }
        while queue.front().is_some_and(|&f| f < lo) {
            queue.pop_front();
        }
        out.push(
            queue
                .front()
                .and_then(|&f| value(f))
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    Ok(())
}

/// A window aggregate's state: group_concat keeps SQLite's window implementation (byte
/// counts of values and separators, so removing the oldest value cuts exactly what SQLite
/// cuts, and an empty result is NULL); the others use the plain aggregate state.
enum WinAgg {
    Concat(ConcatWin),
    Std(AggState),
}

impl WinAgg {
    fn new(f: AggFunc) -> Self {
        match f {
            AggFunc::GroupConcat => WinAgg::Concat(ConcatWin::default()),
            _ => WinAgg::Std(AggState::for_window()),
        }
    }

    fn step(&mut self, f: AggFunc, args: &[Value]) {
        match self {
            WinAgg::Concat(c) => c.step(args),
            WinAgg::Std(s) => {
                s.step(f, args);
            }
        }
    }

    fn remove(&mut self, f: AggFunc, args: &[Value]) {
        match self {
            WinAgg::Concat(c) => c.remove(args),
            WinAgg::Std(s) => s.remove(f, args),
        }
    }

    /// The current result; `fresh`: the state was built for this row alone (SQLite then
    /// finalizes it, and an empty concatenation of '' values is '', not NULL).
    fn value(&self, f: AggFunc, fresh: bool) -> Result<Value> {
        match self {
            WinAgg::Concat(c) => Ok(c.value(fresh)),
            WinAgg::Std(s) => s.finish(f),
        }
    }
}

/// group_concat as SQLite 3.40 runs it in a window (`GroupConcatCtx` in its func.c).
#[derive(Default)]
struct ConcatWin {
    text: Vec<u8>,
    /// Something was appended since the text was last emptied (SQLite: `mxAlloc != 0`).
    started: bool,
    /// Values currently concatenated, as SQLite counts them.
    n_accum: i64,
    /// Separator length while all separators have the same length.
    first_sep: usize,
    /// Lengths of the separators in the text, once they differ.
    seps: Option<std::collections::VecDeque<usize>>,
}

fn text_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Blob(b) => b.clone(),
        v => v.to_text_lossy().into_bytes(),
    }
}

impl ConcatWin {
    fn step(&mut self, args: &[Value]) {
        let Some(v) = args.first().filter(|v| !v.is_null()) else {
            return;
        };
        let first = !self.started;
        self.started = true;
        if args.len() < 2 {
            if first {
                self.first_sep = 1;
            } else {
                self.text.push(b',');
            }
        } else {
            let sep = match &args[1] {
                Value::Null => Vec::new(),
                s => text_bytes(s),
            };
            if first {
                self.first_sep = sep.len();
            } else {
                self.text.extend_from_slice(&sep);
                if sep.len() != self.first_sep || self.seps.is_some() {
                    let accum = usize::try_from(self.n_accum).unwrap_or(0);
                    let seps = self.seps.get_or_insert_with(|| {
                        std::iter::repeat_n(self.first_sep, accum.saturating_sub(1)).collect()
                    });
                    seps.resize(accum.max(1), 0);
                    if let Some(last) = seps.back_mut() {
                        *last = sep.len();
                    }
                }
            }
        }
        self.n_accum += 1;
        self.text.extend_from_slice(&text_bytes(v));
    }

    fn remove(&mut self, args: &[Value]) {
        let Some(v) = args.first().filter(|v| !v.is_null()) else {
            return;
        };
        let mut cut = text_bytes(v).len();
        self.n_accum -= 1;
        match &mut self.seps {
            Some(seps) => {
                if self.n_accum > 0 {
                    cut += seps.pop_front().unwrap_or(0);
                }
            }
            None => cut += self.first_sep,
        }
        if cut >= self.text.len() {
            self.text.clear();
        } else {
            self.text.drain(..cut);
        }
        if self.text.is_empty() {
            self.started = false;
            self.seps = None;
        }
    }

    fn value(&self, fresh: bool) -> Value {
        if (fresh && !self.started) || (!fresh && self.text.is_empty()) {
            Value::Null
        } else {
            Value::Text(String::from_utf8_lossy(&self.text).into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[i64]) -> Vec<Row> {
        v.iter().map(|&x| vec![Value::Integer(x)]).collect()
    }

    fn asc() -> Vec<SortKey> {
        vec![SortKey {
            expr: Expr::Col(0),
            desc: false,
            nulls_first: true,
        }]
    }

    #[test]
    fn ntile_puts_larger_buckets_first() {
        let got: Vec<i64> = (0..7).map(|r| ntile(r, 7, 3)).collect();
        assert_eq!(got, vec![1, 1, 1, 2, 2, 3, 3]);
        let got: Vec<i64> = (0..2).map(|r| ntile(r, 2, 5)).collect();
        assert_eq!(got, vec![1, 2]);
    }

    #[test]
    fn groups_and_range_frames_follow_peers() {
        let k = keys(&[1, 1, 2, 4, 4, 5]);
        let order = asc();
        let p = Peers::new(&k, &order);
        let groups = ResolvedFrame {
            units: FrameUnits::Groups,
            start: Bound::Preceding(Offset::Count(1)),
            end: Bound::CurrentRow,
            exclude: Exclude::NoOthers,
        };
        assert_eq!(p.frame(&groups, 3).unwrap_or_default(), (2, 5));
        assert_eq!(p.frame(&groups, 0).unwrap_or_default(), (0, 2));
        let range = ResolvedFrame {
            units: FrameUnits::Range,
            start: Bound::Preceding(Offset::Value(Value::Integer(1))),
            end: Bound::Following(Offset::Value(Value::Integer(1))),
            exclude: Exclude::NoOthers,
        };
        // 4 -> values in [3, 5]
        assert_eq!(p.frame(&range, 3).unwrap_or_default(), (3, 6));
        // 2 -> values in [1, 3]
        assert_eq!(p.frame(&range, 2).unwrap_or_default(), (0, 3));
    }

    #[test]
    fn exclude_ties_keeps_the_current_row() {
        let k = keys(&[1, 2, 2, 2, 3]);
        let order = asc();
        let p = Peers::new(&k, &order);
        let f = ResolvedFrame {
            units: FrameUnits::Rows,
            start: Bound::UnboundedPreceding,
            end: Bound::UnboundedFollowing,
            exclude: Exclude::Ties,
        };
        assert_eq!(
            p.frame_ranges(&f, 2).unwrap_or_default(),
            vec![(0, 1), (2, 3), (4, 5)]
        );
        let g = ResolvedFrame {
            exclude: Exclude::Group,
            ..f
        };
        assert_eq!(
            p.frame_ranges(&g, 2).unwrap_or_default(),
            vec![(0, 1), (4, 5)]
        );
    }

    #[test]
    fn bad_offsets_are_errors() {
        assert!(check_offset(Value::Integer(-1), FrameUnits::Rows, true).is_err());
        assert!(check_offset(Value::Real(1.5), FrameUnits::Rows, false).is_err());
        assert!(check_offset(Value::Real(1.5), FrameUnits::Range, true).is_ok());
        assert!(check_offset(Value::Null, FrameUnits::Range, true).is_err());
        assert!(nth_arg(&Value::Integer(0)).is_err());
        assert!(nth_arg(&Value::Real(2.5)).is_err());
        assert_eq!(nth_arg(&Value::Text("2".into())).unwrap_or(0), 2);
    }

    #[test]
    fn lag_offsets_like_sqlite() {
        assert_eq!(shifted(2, 5, &Value::Integer(1), false), Some(1));
        assert_eq!(shifted(2, 5, &Value::Integer(-1), false), Some(3));
        assert_eq!(shifted(2, 5, &Value::Real(1.5), false), None);
        assert_eq!(shifted(2, 5, &Value::Null, true), None);
        assert_eq!(shifted(2, 5, &Value::Text("x".into()), true), Some(2));
        assert_eq!(shifted(4, 5, &Value::Integer(i64::MAX), true), None);
    }
}
