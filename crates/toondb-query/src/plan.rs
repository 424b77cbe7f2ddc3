//! Physical query plans and their EXPLAIN rendering.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::catalog::{IndexDef, TableDef};
use crate::expr::{AggCall, Expr};
use crate::window::{Exclude, FrameBound, FrameUnits, WinCall, WindowFrame};

/// How a table scan reaches its rows.
#[derive(Debug, Clone)]
pub enum Access {
    /// Every row, in rowid order.
    Full,
    /// Rows whose rowid equals one of the values.
    RowidIn(Vec<Expr>),
    /// Rowid range (bound expression, inclusive?).
    RowidRange {
        /// Lower bound.
        lo: Option<(Expr, bool)>,
        /// Upper bound.
        hi: Option<(Expr, bool)>,
    },
    /// Index lookup: equality on a prefix of the index columns (one tuple per IN value),
    /// optionally followed by a range on the next column.
    Index {
        /// The index.
        index: IndexDef,
        /// Equality tuples for the leading columns (several for IN lists).
        eq: Vec<Vec<Expr>>,
        /// Lower bound on the next column.
        lo: Option<(Expr, bool)>,
        /// Upper bound on the next column.
        hi: Option<(Expr, bool)>,
    },
}

/// Join flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// INNER / CROSS.
    Inner,
    /// LEFT OUTER.
    Left,
    /// RIGHT OUTER (right rows without a match come out with NULLs on the left).
    Right,
    /// FULL OUTER (LEFT and RIGHT).
    Full,
}

impl JoinKind {
    /// Left rows without a match come out, NULL-extended.
    pub fn keeps_left(self) -> bool {
        matches!(self, JoinKind::Left | JoinKind::Full)
    }

    /// Right rows without a match come out, NULL-extended.
    pub fn keeps_right(self) -> bool {
        matches!(self, JoinKind::Right | JoinKind::Full)
    }
}

/// ORDER BY key.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// Expression over the input row.
    pub expr: Expr,
    /// Descending.
    pub desc: bool,
    /// NULLs first (SQLite default: first when ascending, last when descending).
    pub nulls_first: bool,
}

/// Set operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOpKind {
    /// UNION
    Union,
    /// INTERSECT
    Intersect,
    /// EXCEPT
    Except,
}

/// A plan node; every node produces rows of a fixed width.
#[derive(Debug, Clone)]
pub enum Plan {
    /// No rows.
    Empty {
        /// Row width.
        width: usize,
    },
    /// Literal rows (VALUES, or one empty row for SELECT without FROM).
    Values {
        /// Row expressions.
        rows: Vec<Vec<Expr>>,
        /// Row width.
        width: usize,
    },
    /// Table scan.
    Scan {
        /// Table.
        table: Arc<TableDef>,
        /// Alias shown in EXPLAIN.
        alias: String,
        /// Access path.
        access: Access,
        /// Residual filter over the table row.
        filter: Option<Expr>,
        /// Emit rows in descending key order (rowid order, or the index's order for an
        /// index scan) instead of ascending. Set by the ORDER BY rule that removes a sort.
        reverse: bool,
    },
    /// Row filter.
    Filter {
        /// Input.
        input: Box<Plan>,
        /// Predicate.
        pred: Expr,
    },
    /// Projection.
    Project {
        /// Input.
        input: Box<Plan>,
        /// Output expressions.
        exprs: Vec<Expr>,
    },
    /// Nested-loop join; output row = left ++ right.
    NestedLoop {
        /// Outer side.
        left: Box<Plan>,
        /// Inner side.
        right: Box<Plan>,
        /// Join kind.
        kind: JoinKind,
        /// Join condition over left ++ right.
        on: Option<Expr>,
        /// Right width (for NULL padding).
        right_width: usize,
    },
    /// Hash join on equality keys; output row = left ++ right.
    HashJoin {
        /// Left side.
        left: Box<Plan>,
        /// Right side.
        right: Box<Plan>,
        /// Join kind.
        kind: JoinKind,
        /// Key expressions over the left row.
        left_keys: Vec<Expr>,
        /// Key expressions over the right row.
        right_keys: Vec<Expr>,
        /// Remaining condition over left ++ right.
        residual: Option<Expr>,
        /// Build the hash table on the left side (else the right).
        build_left: bool,
        /// Right width (for NULL padding).
        right_width: usize,
    },
    /// Index nested-loop join: for each left row, the matching rows of `table` are looked up
    /// through its rowid (`index: None`) or an index whose leading columns equal `keys`;
    /// output row = left ++ table row. Chosen when the left side is small next to a scan of
    /// the table (a hash join would read the whole table to build or probe).
    IndexJoin {
        /// Outer side.
        left: Box<Plan>,
        /// Inner table.
        table: Arc<TableDef>,
        /// Alias shown in EXPLAIN.
        alias: String,
        /// Index probed (None: the rowid).
        index: Option<IndexDef>,
        /// Probe values over the left row: the rowid, or the index's leading columns.
        keys: Vec<Expr>,
        /// Filter over the table row alone (its single-table conditions).
        filter: Option<Expr>,
        /// Remaining join condition over left ++ table row.
        residual: Option<Expr>,
        /// Join kind.
        kind: JoinKind,
    },
    /// A recursive common table expression (`WITH RECURSIVE`), evaluated like SQLite: the
    /// anchor's rows go into a queue; each row taken from the queue is emitted and the
    /// recursive step runs with [`Plan::WorkTable`] `id` holding just that row, its rows
    /// joining the queue. With `distinct` (UNION) rows already produced are dropped. A
    /// consumer that stops (LIMIT) ends the recursion.
    RecursiveCte {
        /// Work-table id the step reads.
        id: usize,
        /// The non-recursive part.
        anchor: Box<Plan>,
        /// The recursive part.
        step: Box<Plan>,
        /// UNION (drop duplicates) rather than UNION ALL.
        distinct: bool,
        /// Row width.
        width: usize,
    },
    /// The current row of a recursive CTE, inside its recursive step.
    WorkTable {
        /// Work-table id.
        id: usize,
        /// Row width.
        width: usize,
    },
    /// `json_each` / `json_tree` rows (see [`crate::json_each`]): the columns of
    /// [`crate::json_each::COLUMNS`]. `args` (document, optional path) are evaluated over no
    /// row, or, when `lateral`, over the left row of the enclosing [`Plan::LateralJoin`].
    JsonTable {
        /// json_tree (recursive) rather than json_each.
        tree: bool,
        /// The document and the optional root path.
        args: Vec<Expr>,
        /// The arguments read columns of earlier FROM items.
        lateral: bool,
    },
    /// Join whose right side reads the current left row (a table-valued function with
    /// arguments over earlier FROM items): the right plan runs once per left row; output row
    /// = left ++ right.
    LateralJoin {
        /// Outer side.
        left: Box<Plan>,
        /// Inner side (contains a lateral [`Plan::JsonTable`]).
        right: Box<Plan>,
        /// INNER or LEFT.
        kind: JoinKind,
        /// Join condition over left ++ right.
        on: Option<Expr>,
        /// Right width (for NULL padding).
        right_width: usize,
    },
    /// Grouping and aggregation; output = input columns of the last row of the group
    /// (SQLite "bare column" semantics), then group keys, then aggregate results.
    Aggregate {
        /// Input.
        input: Box<Plan>,
        /// GROUP BY expressions.
        groups: Vec<Expr>,
        /// Aggregate calls.
        aggs: Vec<AggCall>,
        /// Input width.
        input_width: usize,
    },
    /// Window functions over input sorted by `partition` then `order` (the planner puts a
    /// Sort below): each partition is gathered, every call computed over it, and each row
    /// comes out with one more column per call; output = input columns ++ call results.
    Window {
        /// Input (sorted by partition and order keys).
        input: Box<Plan>,
        /// PARTITION BY expressions over the input row.
        partition: Vec<Expr>,
        /// ORDER BY of the window (defines peers and RANGE/GROUPS frames).
        order: Vec<SortKey>,
        /// The window calls sharing this partitioning and order.
        calls: Vec<WinCall>,
    },
    /// Sort.
    Sort {
        /// Input.
        input: Box<Plan>,
        /// Keys.
        keys: Vec<SortKey>,
    },
    /// LIMIT / OFFSET.
    Limit {
        /// Input.
        input: Box<Plan>,
        /// Row limit (negative = none).
        limit: Option<Expr>,
        /// Rows to skip.
        offset: Option<Expr>,
    },
    /// Duplicate elimination on the first `width` columns (keeps first occurrence).
    Distinct {
        /// Input.
        input: Box<Plan>,
        /// Compared prefix.
        width: usize,
    },
    /// UNION / INTERSECT / EXCEPT.
    SetOp {
        /// Operator.
        op: SetOpKind,
        /// ALL (keep duplicates).
        all: bool,
        /// Left input.
        left: Box<Plan>,
        /// Right input.
        right: Box<Plan>,
    },
}

fn fmt_expr(e: &Expr) -> String {
    match e {
        Expr::Lit(v) => match v {
            crate::value::Value::Text(s) => format!("'{s}'"),
            v => v.to_string(),
        },
        Expr::Col(i) => format!("#{i}"),
        Expr::Outer { depth, idx } => format!("outer{depth}.#{idx}"),
        Expr::Param(i) => format!("?{}", i + 1),
        Expr::Bin { op, l, r, .. } => format!("({} {} {})", fmt_expr(l), op.sql(), fmt_expr(r)),
        Expr::Unary(op, e) => format!("{op:?}({})", fmt_expr(e)),
        Expr::IsNull(e, neg) => format!(
            "({} IS {}NULL)",
            fmt_expr(e),
            if *neg { "NOT " } else { "" }
        ),
        Expr::Func(f, args) => format!(
            "{f:?}({})",
            args.iter().map(fmt_expr).collect::<Vec<_>>().join(", ")
        ),
        Expr::Udf(f, args) => format!(
            "{}({})",
            f.name(),
            args.iter().map(fmt_expr).collect::<Vec<_>>().join(", ")
        ),
        Expr::InSub { .. } => "IN (subquery)".into(),
        Expr::Exists { .. } => "EXISTS (subquery)".into(),
        Expr::Scalar { .. } => "(subquery)".into(),
        Expr::InList { e, list, neg, .. } => format!(
            "({} {}IN ({}))",
            fmt_expr(e),
            if *neg { "NOT " } else { "" },
            list.iter().map(fmt_expr).collect::<Vec<_>>().join(", ")
        ),
        Expr::Between { e, lo, hi, neg, .. } => format!(
            "({} {}BETWEEN {} AND {})",
            fmt_expr(e),
            if *neg { "NOT " } else { "" },
            fmt_expr(lo),
            fmt_expr(hi)
        ),
        Expr::Cast(e, t) => format!("CAST({} AS {t})", fmt_expr(e)),
        Expr::Aff(e, _) => fmt_expr(e),
        Expr::Is(a, b, neg) => format!(
            "({} IS {}{})",
            fmt_expr(a),
            if *neg { "NOT " } else { "" },
            fmt_expr(b)
        ),
        Expr::Like {
            e, pat, neg, glob, ..
        } => format!(
            "({} {}{} {})",
            fmt_expr(e),
            if *neg { "NOT " } else { "" },
            if *glob { "GLOB" } else { "LIKE" },
            fmt_expr(pat)
        ),
        Expr::Case { .. } => "CASE ... END".into(),
        _ => "expr".into(),
    }
}

fn fmt_frame_bound(b: &FrameBound) -> String {
    match b {
        FrameBound::UnboundedPreceding => "UNBOUNDED PRECEDING".into(),
        FrameBound::Preceding(e) => format!("{} PRECEDING", fmt_expr(e)),
        FrameBound::CurrentRow => "CURRENT ROW".into(),
        FrameBound::Following(e) => format!("{} FOLLOWING", fmt_expr(e)),
        FrameBound::UnboundedFollowing => "UNBOUNDED FOLLOWING".into(),
    }
}

fn fmt_frame(f: &WindowFrame) -> String {
    let units = match f.units {
        FrameUnits::Rows => "ROWS",
        FrameUnits::Range => "RANGE",
        FrameUnits::Groups => "GROUPS",
    };
    let exclude = match f.exclude {
        Exclude::NoOthers => "",
        Exclude::CurrentRow => " EXCLUDE CURRENT ROW",
        Exclude::Group => " EXCLUDE GROUP",
        Exclude::Ties => " EXCLUDE TIES",
    };
    format!(
        "{units} BETWEEN {} AND {}{exclude}",
        fmt_frame_bound(&f.start),
        fmt_frame_bound(&f.end)
    )
}

fn fmt_win_call(c: &WinCall) -> String {
    let mut s = format!(
        "{}({})",
        c.func.name(),
        c.args.iter().map(fmt_expr).collect::<Vec<_>>().join(", ")
    );
    if let Some(f) = &c.filter {
        let _ = write!(s, " FILTER {}", fmt_expr(f));
    }
    if c.func.uses_frame() {
        let _ = write!(s, " {}", fmt_frame(&c.frame));
    }
    s
}

/// A table as EXPLAIN shows it: its name, with `AS alias` when aliased.
fn shown_name(table: &TableDef, alias: &str) -> String {
    if alias.eq_ignore_ascii_case(&table.name) {
        table.name.clone()
    } else {
        format!("{} AS {}", table.name, alias)
    }
}

fn fmt_bound(b: &Option<(Expr, bool)>, lower: bool) -> String {
    match b {
        None => String::new(),
        Some((e, incl)) => format!(
            "{}{}",
            match (lower, incl) {
                (true, true) => ">=",
                (true, false) => ">",
                (false, true) => "<=",
                (false, false) => "<",
            },
            fmt_expr(e)
        ),
    }
}

impl Plan {
    /// Estimated number of output rows (uses ANALYZE statistics where the catalog has them).
    pub fn estimated_rows(&self) -> f64 {
        estimate(self)
    }

    /// Number of columns produced.
    pub fn width(&self) -> usize {
        match self {
            Plan::Empty { width } | Plan::Values { width, .. } => *width,
            Plan::Scan { table, .. } => table.columns.len(),
            Plan::Filter { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Distinct { input, .. } => input.width(),
            Plan::Project { exprs, .. } => exprs.len(),
            Plan::NestedLoop {
                left, right_width, ..
            }
            | Plan::HashJoin {
                left, right_width, ..
            }
            | Plan::LateralJoin {
                left, right_width, ..
            } => left.width() + right_width,
            Plan::JsonTable { .. } => crate::json_each::COLUMNS.len(),
            Plan::Aggregate {
                groups,
                aggs,
                input_width,
                ..
            } => input_width + groups.len() + aggs.len(),
            Plan::SetOp { left, .. } => left.width(),
            Plan::Window { input, calls, .. } => input.width() + calls.len(),
            Plan::IndexJoin { left, table, .. } => left.width() + table.columns.len(),
            Plan::RecursiveCte { width, .. } | Plan::WorkTable { width, .. } => *width,
        }
    }

    /// Indented plan tree for EXPLAIN.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.explain_into(0, &mut out);
        out
    }

    fn explain_into(&self, depth: usize, out: &mut Vec<String>) {
        let pad = "  ".repeat(depth);
        let mut line = String::new();
        let children: Vec<&Plan> = match self {
            Plan::Empty { .. } => {
                line.push_str("Empty");
                vec![]
            }
            Plan::Values { rows, .. } => {
                let _ = write!(line, "Values rows={}", rows.len());
                vec![]
            }
            Plan::Scan {
                table,
                alias,
                access,
                filter,
                reverse,
            } => {
                let name = shown_name(table, alias);
                match access {
                    Access::Full => {
                        let _ = write!(line, "SeqScan {name}");
                    }
                    Access::RowidIn(keys) => {
                        let _ = write!(
                            line,
                            "RowidLookup {name} rowid IN ({})",
                            keys.iter().map(fmt_expr).collect::<Vec<_>>().join(", ")
                        );
                    }
                    Access::RowidRange { lo, hi } => {
                        let _ = write!(
                            line,
                            "RowidRangeScan {name} rowid {} {}",
                            fmt_bound(lo, true),
                            fmt_bound(hi, false)
                        );
                    }
                    Access::Index { index, eq, lo, hi } => {
                        let cols: Vec<&str> = index
                            .columns
                            .iter()
                            .filter_map(|&c| table.columns.get(c).map(|c| c.name.as_str()))
                            .collect();
                        let _ = write!(
                            line,
                            "IndexScan {name} USING INDEX {} ({})",
                            index.name,
                            cols.join(", ")
                        );
                        if !eq.is_empty() && !eq[0].is_empty() {
                            let tuples: Vec<String> = eq
                                .iter()
                                .map(|t| t.iter().map(fmt_expr).collect::<Vec<_>>().join(", "))
                                .collect();
                            let _ = write!(line, " eq=[{}]", tuples.join("; "));
                        }
                        if lo.is_some() || hi.is_some() {
                            let _ = write!(
                                line,
                                " range {} {}",
                                fmt_bound(lo, true),
                                fmt_bound(hi, false)
                            );
                        }
                    }
                }
                if *reverse {
                    line.push_str(" DESC");
                }
                if let Some(f) = filter {
                    let _ = write!(line, " filter={}", fmt_expr(f));
                }
                vec![]
            }
            Plan::Filter { input, pred } => {
                let _ = write!(line, "Filter {}", fmt_expr(pred));
                vec![input]
            }
            Plan::Project { input, exprs } => {
                let _ = write!(
                    line,
                    "Project {}",
                    exprs.iter().map(fmt_expr).collect::<Vec<_>>().join(", ")
                );
                vec![input]
            }
            Plan::NestedLoop {
                left,
                right,
                kind,
                on,
                ..
            } => {
                let _ = write!(line, "NestedLoopJoin {kind:?}");
                if let Some(on) = on {
                    let _ = write!(line, " on={}", fmt_expr(on));
                }
                vec![left, right]
            }
            Plan::RecursiveCte {
                id,
                anchor,
                step,
                distinct,
                ..
            } => {
                let _ = write!(
                    line,
                    "RecursiveCte #{id} {}",
                    if *distinct { "UNION" } else { "UNION ALL" }
                );
                vec![anchor, step]
            }
            Plan::WorkTable { id, .. } => {
                let _ = write!(line, "WorkTable #{id}");
                vec![]
            }
            Plan::JsonTable { tree, args, .. } => {
                let _ = write!(
                    line,
                    "{}({})",
                    if *tree { "JsonTree" } else { "JsonEach" },
                    args.iter().map(fmt_expr).collect::<Vec<_>>().join(", ")
                );
                vec![]
            }
            Plan::LateralJoin {
                left,
                right,
                kind,
                on,
                ..
            } => {
                let _ = write!(line, "LateralJoin {kind:?}");
                if let Some(on) = on {
                    let _ = write!(line, " on={}", fmt_expr(on));
                }
                vec![left, right]
            }
            Plan::IndexJoin {
                left,
                table,
                alias,
                index,
                keys,
                filter,
                residual,
                kind,
            } => {
                let name = shown_name(table, alias);
                let key_list = keys.iter().map(fmt_expr).collect::<Vec<_>>().join(", ");
                match index {
                    None => {
                        let _ = write!(line, "IndexJoin {kind:?} {name} rowid = {key_list}");
                    }
                    Some(ix) => {
                        let cols: Vec<&str> = ix
                            .columns
                            .iter()
                            .take(keys.len())
                            .filter_map(|&c| table.columns.get(c).map(|c| c.name.as_str()))
                            .collect();
                        let _ = write!(
                            line,
                            "IndexJoin {kind:?} {name} USING INDEX {} ({}) = [{key_list}]",
                            ix.name,
                            cols.join(", ")
                        );
                    }
                }
                if let Some(f) = filter {
                    let _ = write!(line, " filter={}", fmt_expr(f));
                }
                if let Some(r) = residual {
                    let _ = write!(line, " residual={}", fmt_expr(r));
                }
                vec![left]
            }
            Plan::HashJoin {
                left,
                right,
                kind,
                left_keys,
                right_keys,
                residual,
                build_left,
                ..
            } => {
                let _ = write!(
                    line,
                    "HashJoin {kind:?} build={} keys=[{}] = [{}]",
                    if *build_left { "left" } else { "right" },
                    left_keys
                        .iter()
                        .map(fmt_expr)
                        .collect::<Vec<_>>()
                        .join(", "),
                    right_keys
                        .iter()
                        .map(fmt_expr)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if let Some(r) = residual {
                    let _ = write!(line, " residual={}", fmt_expr(r));
                }
                vec![left, right]
            }
            Plan::Aggregate {
                input,
                groups,
                aggs,
                ..
            } => {
                let _ = write!(
                    line,
                    "Aggregate groups=[{}] aggs=[{}]",
                    groups.iter().map(fmt_expr).collect::<Vec<_>>().join(", "),
                    aggs.iter()
                        .map(|a| format!(
                            "{:?}({}{}){}",
                            a.func,
                            if a.distinct { "DISTINCT " } else { "" },
                            a.args.iter().map(fmt_expr).collect::<Vec<_>>().join(", "),
                            a.filter
                                .as_ref()
                                .map_or(String::new(), |f| format!(" FILTER {}", fmt_expr(f)))
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                vec![input]
            }
            Plan::Window {
                input,
                partition,
                order,
                calls,
            } => {
                let _ = write!(
                    line,
                    "Window partition=[{}] order=[{}] calls=[{}]",
                    partition
                        .iter()
                        .map(fmt_expr)
                        .collect::<Vec<_>>()
                        .join(", "),
                    order
                        .iter()
                        .map(|k| format!(
                            "{}{}",
                            fmt_expr(&k.expr),
                            if k.desc { " DESC" } else { "" }
                        ))
                        .collect::<Vec<_>>()
                        .join(", "),
                    calls
                        .iter()
                        .map(fmt_win_call)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                vec![input]
            }
            Plan::Sort { input, keys } => {
                let _ = write!(
                    line,
                    "Sort {}",
                    keys.iter()
                        .map(|k| format!(
                            "{}{}",
                            fmt_expr(&k.expr),
                            if k.desc { " DESC" } else { "" }
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                vec![input]
            }
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                let _ = write!(
                    line,
                    "Limit {} offset {}",
                    limit.as_ref().map_or("none".into(), fmt_expr),
                    offset.as_ref().map_or("0".into(), fmt_expr)
                );
                vec![input]
            }
            Plan::Distinct { input, .. } => {
                line.push_str("Distinct");
                vec![input]
            }
            Plan::SetOp {
                op,
                all,
                left,
                right,
            } => {
                let _ = write!(line, "{op:?}{}", if *all { " ALL" } else { "" });
                vec![left, right]
            }
        };
        let _ = write!(line, " (rows={:.0})", self.estimated_rows().max(0.0).ceil());
        out.push(format!("{pad}{line}"));
        for c in children {
            c.explain_into(depth + 1, out);
        }
    }
}

/// Rows per value of the columns `cols` (a key prefix) from ANALYZE statistics: row count
/// over the product of the columns' distinct counts (not clamped); None without statistics.
fn rows_per_key(table: &TableDef, cols: &[usize]) -> Option<f64> {
    let s = table.stats.as_ref()?;
    let mut per = s.rows as f64;
    for c in cols {
        per /= s.distinct.get(*c).copied().unwrap_or(1).max(1) as f64;
    }
    Some(per)
}

/// Estimated rows one probe of `table` finds through `index` (None: the rowid) with its first
/// `width` columns bound: 1 for the rowid and a fully bound unique index, else the statistics'
/// rows per key (at least 1), 10 without statistics.
pub(crate) fn rows_per_probe(table: &TableDef, index: Option<&IndexDef>, width: usize) -> f64 {
    match index {
        None => 1.0,
        Some(ix) if ix.unique && width == ix.columns.len() => 1.0,
        Some(ix) => {
            let cols = &ix.columns[..width.min(ix.columns.len())];
            rows_per_key(table, cols).map_or(10.0, |p| p.max(1.0))
        }
    }
}

fn estimate(p: &Plan) -> f64 {
    match p {
        Plan::Empty { .. } => 0.0,
        Plan::Values { rows, .. } => rows.len() as f64,
        Plan::Scan {
            table,
            access,
            filter,
            ..
        } => {
            // Row counts and distinct values from ANALYZE when present, else guesses.
            let stats = table.stats.as_ref();
            let rows = stats.map_or(1000.0, |s| s.rows as f64);
            let base = match access {
                Access::Full => rows,
                Access::RowidIn(k) => k.len() as f64,
                Access::RowidRange { .. } => stats.map_or(250.0, |_| rows * 0.25),
                Access::Index { index, eq, lo, hi } => {
                    let width = eq.first().map_or(0, Vec::len);
                    let full = width == index.columns.len();
                    if index.unique && full {
                        eq.len() as f64
                    } else if let Some(mut per) =
                        rows_per_key(table, &index.columns[..width.min(index.columns.len())])
                    {
                        if lo.is_some() || hi.is_some() {
                            per *= 0.25;
                        }
                        (per * eq.len().max(1) as f64).max(1.0)
                    } else if lo.is_some() || hi.is_some() {
                        100.0
                    } else {
                        10.0 * eq.len() as f64
                    }
                }
            };
            if filter.is_some() && matches!(access, Access::Full) {
                base * 0.3
            } else {
                base
            }
        }
        Plan::Filter { input, .. } => estimate(input) * 0.3,
        Plan::Project { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Distinct { input, .. }
        | Plan::Window { input, .. } => estimate(input),
        Plan::Limit { input, .. } => estimate(input).min(100.0),
        Plan::NestedLoop { left, right, .. } => estimate(left) * estimate(right),
        Plan::HashJoin { left, right, .. } => estimate(left).max(estimate(right)),
        Plan::IndexJoin {
            left,
            table,
            index,
            keys,
            filter,
            ..
        } => {
            let per = rows_per_probe(table, index.as_ref(), keys.len());
            let sel = if filter.is_some() { 0.3 } else { 1.0 };
            estimate(left) * per * sel
        }
        Plan::Aggregate { input, groups, .. } => {
            if groups.is_empty() {
                1.0
            } else {
                estimate(input) * 0.1
            }
        }
        Plan::SetOp { left, right, .. } => estimate(left) + estimate(right),
        Plan::RecursiveCte { anchor, .. } => estimate(anchor) * 10.0,
        Plan::WorkTable { .. } => 1.0,
        Plan::JsonTable { .. } => 10.0,
        Plan::LateralJoin { left, right, .. } => estimate(left) * estimate(right),
    }
}
