//! Binder + planner + optimizer: turns sqlparser ASTs into [`Plan`]s with resolved columns,
//! folded constants, pushed-down predicates, index access paths and hash joins.

use std::sync::Arc;

use sqlparser::ast;
use sqlparser::ast::{
    BinaryOperator as AB, Expr as AE, FunctionArg, FunctionArgExpr, FunctionArguments,
    JoinConstraint, JoinOperator, SelectItem, SetExpr, SetOperator, SetQuantifier, TableFactor,
    UnaryOperator as AU, Value as AV,
};

use crate::catalog::{Catalog, IndexDef, TableDef};
use crate::error::{name_err, unsupported, Error, Result};
use crate::exec::eval_const;
use crate::expr::{AggCall, AggFunc, BinOp, Expr, Func, UnOp};
use crate::json::JsonFunc;
use crate::plan::{Access, JoinKind, Plan, SetOpKind, SortKey};
use crate::value::{Affinity, DataType, Value};
use crate::window::WinFunc;

mod window;

/// Maximum expression / subquery nesting accepted by the binder (the parse stage already
/// bounds expression depth at [`crate::parse::MAX_EXPR_DEPTH`]; this is the backstop).
pub const MAX_DEPTH: usize = 2 * crate::parse::MAX_EXPR_DEPTH;
/// Remaining stack below which recursion switches to a fresh heap-allocated stack segment.
pub(crate) const STACK_RED_ZONE: usize = 256 * 1024;
/// Size of each additional stack segment.
pub(crate) const STACK_GROW: usize = 4 * 1024 * 1024;

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    /// Column name (alias, column name or expression text).
    pub name: String,
    /// Declared type for plain column references, else the type of the first non-NULL value.
    pub ty: DataType,
    /// Declared type text, as `sqlite3_column_decltype` reports it: `Some` only when the column is
    /// a direct reference to a table column with a non-empty declared type (also through views,
    /// subqueries, aliases and the left side of a compound SELECT); `None` for any expression.
    pub decl_type: Option<String>,
    /// Type known when planning, independent of the data: the mapped declared type of a column
    /// reference, the target of `CAST(.. AS T)`, `INTEGER` for `count(..)`, `REAL` for
    /// `total(..)`, a non-NULL literal's type. `None` when it depends on the data, in which
    /// case [`Column::ty`] is filled from the first non-NULL value of the result.
    pub static_ty: Option<DataType>,
}

impl Column {
    /// A column of plan-time type `ty` (`DataType::Null` = unknown) and declared type text.
    pub(crate) fn planned(name: String, ty: DataType, decl_type: Option<String>) -> Column {
        Column {
            name,
            ty,
            decl_type,
            static_ty: (ty != DataType::Null).then_some(ty),
        }
    }
}

/// Declared type text of a table column, `None` when empty.
fn decl_text(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

/// A recursive CTE while its recursive part is planned: references to `name` there read its
/// current row.
struct WorkTableScope {
    name: String,
    id: usize,
    cols: Vec<Column>,
    /// Scope depth of the recursive part's FROM (deeper means a subquery).
    frames: usize,
    used: bool,
}

#[derive(Debug, Clone)]
struct ScopeCol {
    table: String,
    name: String,
    ty: DataType,
    aff: Option<Affinity>,
    decl: Option<String>,
    /// Left out of `*` and NATURAL joins (json_each's `json` and `root`).
    hidden: bool,
    /// The right column of a USING / NATURAL join: left out of `*` and of unqualified names
    /// (which mean the left column).
    merged: bool,
    /// Right columns merged into this one by RIGHT / FULL joins: the unqualified name (and
    /// `*`) means `coalesce(this, those...)`.
    coalesce: Vec<usize>,
    /// A column whose value is this expression over the same frame (json_each's hidden
    /// `json` and `root`: the call's arguments).
    value: Option<Expr>,
}

#[derive(Debug, Default)]
struct Frame {
    cols: Vec<ScopeCol>,
    correlated: bool,
    /// Columns from this position on resolve only when qualified (UPSERT's `excluded`).
    qualified_only_from: Option<usize>,
}

/// Lower-cased last identifier of an object name.
pub fn object_name(n: &ast::ObjectName) -> String {
    n.0.last()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(i) => i.value.clone(),
            ast::ObjectNamePart::Function(f) => f.name.value.clone(),
        })
        .unwrap_or_default()
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Converts an AST literal.
pub fn literal(v: &AV) -> Result<Value> {
    Ok(match v {
        AV::Number(s, _) => {
            if let Ok(i) = s.parse::<i64>() {
                Value::Integer(i)
            } else if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                match u64::from_str_radix(h, 16) {
                    Ok(u) => Value::Integer(u as i64),
                    Err(_) => return Err(Error::Semantic(format!("hex literal too big: {s}"))),
                }
            } else {
                match s.parse::<f64>() {
                    Ok(f) => Value::real(f),
                    Err(_) => return Err(Error::Semantic(format!("malformed number: {s}"))),
                }
            }
        }
        AV::SingleQuotedString(s)
        | AV::DoubleQuotedString(s)
        | AV::TripleSingleQuotedString(s)
        | AV::TripleDoubleQuotedString(s)
        | AV::EscapedStringLiteral(s)
        | AV::NationalStringLiteral(s)
        | AV::UnicodeStringLiteral(s) => Value::Text(s.clone()),
        AV::DollarQuotedString(d) => Value::Text(d.value.clone()),
        AV::HexStringLiteral(h) => {
            if h.len() % 2 != 0 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::Semantic(format!("malformed blob literal: X'{h}'")));
            }
            let bytes = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap_or(0))
                .collect();
            Value::Blob(bytes)
        }
        AV::Boolean(b) => Value::Integer(i64::from(*b)),
        AV::Null => Value::Null,
        other => return unsupported(format!("literal {other}")),
    })
}

/// True for a call whose result carries SQLite's JSON subtype (embedded as JSON when nested).
fn is_json_expr(e: &Expr) -> bool {
    matches!(e, Expr::Func(Func::Json(j), _) if j.returns_json())
}

fn is_agg_name(name: &str, nargs: usize) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "avg"
            | "total"
            | "group_concat"
            | "string_agg"
            | "json_group_array"
            | "json_group_object"
    ) || (matches!(name, "min" | "max") && nargs == 1)
}

/// The aggregate behind an aggregate function name (`is_agg_name` holds); `star`: called
/// with `*` or no argument (only count cares).
fn agg_func(name: &str, star: bool) -> AggFunc {
    match name {
        "count" if star => AggFunc::CountStar,
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "total" => AggFunc::Total,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "json_group_array" => AggFunc::JsonGroupArray(false),
        "json_group_object" => AggFunc::JsonGroupObject(false),
        _ => AggFunc::GroupConcat,
    }
}

/// Whether an aggregate takes `n` arguments.
fn agg_nargs_ok(func: AggFunc, n: usize) -> bool {
    match func {
        AggFunc::CountStar => true,
        AggFunc::GroupConcat => (1..=2).contains(&n),
        AggFunc::JsonGroupObject(_) => n == 2,
        _ => n == 1,
    }
}

/// Sets the JSON-embedding flag of json_group_* from the bound arguments.
fn with_json_flag(func: AggFunc, bound: &[Expr]) -> AggFunc {
    match func {
        AggFunc::JsonGroupArray(_) => {
            AggFunc::JsonGroupArray(bound.first().is_some_and(is_json_expr))
        }
        AggFunc::JsonGroupObject(_) => {
            AggFunc::JsonGroupObject(bound.get(1).is_some_and(is_json_expr))
        }
        f => f,
    }
}

fn func_args(f: &ast::Function) -> Result<(Vec<&FunctionArgExpr>, bool)> {
    match &f.args {
        FunctionArguments::None => Ok((vec![], false)),
        FunctionArguments::Subquery(_) => unsupported("subquery as function argument list"),
        FunctionArguments::List(l) => {
            if !l.clauses.is_empty() {
                return unsupported(format!("clauses in arguments of {}", f.name));
            }
            let mut v = Vec::new();
            for a in &l.args {
                match a {
                    FunctionArg::Unnamed(x) => v.push(x),
                    _ => return unsupported("named function arguments"),
                }
            }
            Ok((
                v,
                matches!(
                    l.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                ),
            ))
        }
    }
}

/// True if the AST expression contains an aggregate call outside subqueries.
fn contains_agg(e: &AE, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let d = depth + 1;
    match e {
        AE::Function(f) => {
            let name = object_name(&f.name).to_ascii_lowercase();
            let args = func_args(f).map(|a| a.0).unwrap_or_default();
            if f.over.is_none() && is_agg_name(&name, args.len()) {
                return true;
            }
            let in_window = match &f.over {
                Some(ast::WindowType::WindowSpec(s)) => {
                    s.partition_by.iter().any(|x| contains_agg(x, d))
                        || s.order_by.iter().any(|o| contains_agg(&o.expr, d))
                }
                _ => false,
            };
            in_window
                || f.filter.as_deref().is_some_and(|x| contains_agg(x, d))
                || args.iter().any(|a| match a {
                    FunctionArgExpr::Expr(x) => contains_agg(x, d),
                    _ => false,
                })
        }
        AE::BinaryOp { left, right, .. } => contains_agg(left, d) || contains_agg(right, d),
        AE::UnaryOp { expr, .. }
        | AE::Nested(expr)
        | AE::IsNull(expr)
        | AE::IsNotNull(expr)
        | AE::IsTrue(expr)
        | AE::IsFalse(expr)
        | AE::IsNotTrue(expr)
        | AE::IsNotFalse(expr)
        | AE::Cast { expr, .. }
        | AE::Collate { expr, .. } => contains_agg(expr, d),
        AE::IsDistinctFrom(a, b) | AE::IsNotDistinctFrom(a, b) => {
            contains_agg(a, d) || contains_agg(b, d)
        }
        AE::Between {
            expr, low, high, ..
        } => contains_agg(expr, d) || contains_agg(low, d) || contains_agg(high, d),
        AE::In { expr, target, .. } => {
            contains_agg(expr, d)
                || match target {
                    ast::InTarget::List(l) => l.iter().any(|x| contains_agg(x, d)),
                    _ => false,
                }
        }
        AE::Like { expr, pattern, .. } | AE::ILike { expr, pattern, .. } => {
            contains_agg(expr, d) || contains_agg(pattern, d)
        }
        AE::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_some_and(|x| contains_agg(x, d))
                || conditions
                    .iter()
                    .any(|c| contains_agg(&c.condition, d) || contains_agg(&c.result, d))
                || else_result.as_deref().is_some_and(|x| contains_agg(x, d))
        }
        AE::Tuple(l) => l.iter().any(|x| contains_agg(x, d)),
        _ => false,
    }
}

fn is_cmp_op(op: &AB) -> bool {
    matches!(
        op,
        AB::Eq | AB::NotEq | AB::Lt | AB::LtEq | AB::Gt | AB::GtEq
    )
}

/// sqlparser gives all comparison operators one precedence level; SQLite binds `< <= > >=`
/// tighter than `= <> ==`. Re-associates an unparenthesised left-deep comparison chain.
fn regroup_comparisons(e: &AE) -> Option<AE> {
    let mut operands = Vec::new();
    let mut ops = Vec::new();
    let mut cur = e;
    while let AE::BinaryOp { left, op, right } = cur {
        if !is_cmp_op(op) {
            break;
        }
        operands.push(right.as_ref().clone());
        ops.push(op.clone());
        cur = left;
    }
    operands.push(cur.clone());
    operands.reverse();
    ops.reverse();
    let is_eq = |o: &AB| matches!(o, AB::Eq | AB::NotEq);
    if ops.iter().all(is_eq) || !ops.iter().any(is_eq) {
        return None;
    }
    let bin = |l: AE, op: AB, r: AE| AE::BinaryOp {
        left: Box::new(l),
        op,
        right: Box::new(r),
    };
    let mut it = operands.into_iter();
    let mut group = it.next()?;
    let mut acc: Option<(AE, AB)> = None;
    for (op, operand) in ops.into_iter().zip(it) {
        if is_eq(&op) {
            let done = match acc.take() {
                None => group,
                Some((l, eq)) => bin(l, eq, group),
            };
            acc = Some((done, op));
            group = operand;
        } else {
            group = bin(group, op, operand);
        }
    }
    Some(match acc {
        None => group,
        Some((l, eq)) => bin(l, eq, group),
    })
}

fn expr_key(e: &Expr) -> String {
    format!("{e:?}")
}

/// Static affinity of a bound expression for comparisons (None = no affinity).
fn static_aff(e: &Expr, cols: &dyn Fn(&Expr) -> Option<Affinity>) -> Option<Affinity> {
    match e {
        Expr::Col(_) | Expr::Outer { .. } => cols(e),
        Expr::Cast(_, t) => Some(match t {
            DataType::Integer | DataType::Boolean => Affinity::Integer,
            DataType::Real => Affinity::Real,
            DataType::Text => Affinity::Text,
            DataType::Blob => Affinity::Blob,
            DataType::Null => Affinity::Numeric,
        }),
        _ => None,
    }
}

/// Comparison affinity conversions for (left, right), per SQLite's rules.
fn cmp_affinity(l: Option<Affinity>, r: Option<Affinity>) -> (Option<Affinity>, Option<Affinity>) {
    let numeric = |a: Option<Affinity>| a.is_some_and(Affinity::is_numeric);
    let texty = |a: Option<Affinity>| matches!(a, Some(Affinity::Text));
    let none = |a: Option<Affinity>| matches!(a, None | Some(Affinity::Blob));
    if numeric(l) && (texty(r) || none(r)) {
        (None, Some(Affinity::Numeric))
    } else if numeric(r) && (texty(l) || none(l)) {
        (Some(Affinity::Numeric), None)
    } else if texty(l) && none(r) {
        (None, Some(Affinity::Text))
    } else if texty(r) && none(l) {
        (Some(Affinity::Text), None)
    } else {
        (None, None)
    }
}

/// Result of planning a query: plan, result columns, and whether it references outer rows.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// Result columns.
    pub columns: Vec<Column>,
    /// References rows of an enclosing query.
    pub correlated: bool,
}

/// Join kind, ON condition and USING columns of one FROM item.
type JoinSpec<'q> = (JoinKind, Option<&'q AE>, Vec<String>);

struct FromItem {
    plan: Plan,
    /// Base table (for scans that can take pushed-down filters and index access).
    table: Option<Arc<TableDef>>,
    cols: Vec<ScopeCol>,
    /// A table-valued function whose arguments read earlier FROM items (joined with
    /// [`Plan::LateralJoin`]).
    lateral: bool,
}

/// Binder/planner state for one statement.
pub struct Planner<'a> {
    catalog: &'a Catalog,
    frames: Vec<Frame>,
    next_id: usize,
    /// Number of parameters referenced (max index + 1).
    pub nparams: usize,
    depth: usize,
    view_depth: usize,
    /// Common table expressions in scope: (name, column aliases, query, under WITH RECURSIVE).
    ctes: Vec<(String, Vec<String>, ast::Query, bool)>,
    /// Recursive CTEs whose recursive part is being planned (innermost last).
    work_tables: Vec<WorkTableScope>,
    /// The SELECT being planned has a LIMIT: reading a whole index in ORDER BY order (and
    /// stopping after LIMIT rows) beats a full scan plus a top-k buffer.
    limited: bool,
    /// Window calls of the SELECT whose result columns or ORDER BY are being bound (None
    /// where window functions are not allowed: WHERE, GROUP BY, HAVING, inside aggregates).
    win: Option<window::WinScope>,
    /// Planning a trigger program, where `RAISE()` is allowed.
    in_trigger: bool,
    /// A table-valued function's arguments in the FROM clause being bound read an enclosing
    /// query (the SELECT they belong to is correlated).
    from_correlated: bool,
}

impl<'a> Planner<'a> {
    /// Marks the statement as part of a trigger program (`RAISE()` allowed) or not.
    pub(crate) fn in_trigger(mut self, yes: bool) -> Self {
        self.in_trigger = yes;
        self
    }

    /// New planner over a catalog snapshot.
    pub fn new(catalog: &'a Catalog) -> Self {
        Planner {
            catalog,
            frames: Vec::new(),
            next_id: 0,
            nparams: 0,
            depth: 0,
            view_depth: 0,
            ctes: Vec::new(),
            work_tables: Vec::new(),
            limited: false,
            win: None,
            in_trigger: false,
            from_correlated: false,
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::TooBig(format!(
                "Expression tree is too large (maximum depth {MAX_DEPTH})"
            )));
        }
        Ok(())
    }

    // ------------------------------------------------------------ name resolution

    fn resolve(&mut self, table: Option<&str>, name: &str) -> Result<Option<Expr>> {
        let n = self.frames.len();
        for fi in (0..n).rev() {
            let frame = &self.frames[fi];
            let mut found: Option<usize> = None;
            for (i, c) in frame.cols.iter().enumerate() {
                if !c.name.eq_ignore_ascii_case(name) {
                    continue;
                }
                if table.is_none()
                    && (c.merged || frame.qualified_only_from.is_some_and(|q| i >= q))
                {
                    continue;
                }
                if let Some(t) = table {
                    if !c.table.eq_ignore_ascii_case(t) {
                        continue;
                    }
                }
                if found.is_some() {
                    return name_err(format!("ambiguous column name: {name}"));
                }
                found = Some(i);
            }
            if let Some(i) = found {
                let depth = n - 1 - fi;
                let at = |idx: usize| {
                    if depth == 0 {
                        Expr::Col(idx)
                    } else {
                        Expr::Outer { depth, idx }
                    }
                };
                if let Some(v) = &frame.cols[i].value {
                    if depth == 0 {
                        return Ok(Some(v.clone()));
                    }
                    if v.has_subquery() {
                        return unsupported(format!(
                            "column {name} of a table-valued function in a subquery"
                        ));
                    }
                    let mut v = v.clone();
                    to_outer(&mut v, depth);
                    for f in &mut self.frames[fi + 1..] {
                        f.correlated = true;
                    }
                    return Ok(Some(v));
                }
                let merged = &frame.cols[i].coalesce;
                let e = if table.is_none() && !merged.is_empty() {
                    let mut args = vec![at(i)];
                    args.extend(merged.iter().map(|&j| at(j)));
                    Expr::Func(Func::Coalesce, args)
                } else {
                    at(i)
                };
                if depth > 0 {
                    for f in &mut self.frames[fi + 1..] {
                        f.correlated = true;
                    }
                }
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    fn col_meta(&self, e: &Expr) -> Option<&ScopeCol> {
        let n = self.frames.len();
        match e {
            Expr::Col(i) => self.frames.last().and_then(|f| f.cols.get(*i)),
            Expr::Outer { depth, idx } if *depth < n => self
                .frames
                .get(n - 1 - depth)
                .and_then(|f| f.cols.get(*idx)),
            _ => None,
        }
    }

    fn aff_of(&self, e: &Expr) -> Option<Affinity> {
        static_aff(e, &|x| self.col_meta(x).and_then(|c| c.aff))
    }

    // ------------------------------------------------------------ expressions

    /// Binds an expression in the current frame. `aggs` collects aggregate calls when allowed.
    fn bind(&mut self, e: &AE, aggs: &mut Option<&mut Vec<AggCall>>) -> Result<Expr> {
        self.enter()?;
        let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_GROW, || self.bind_inner(e, aggs));
        self.depth -= 1;
        let bound = r?;
        Ok(fold(bound))
    }

    fn bind_inner(&mut self, e: &AE, aggs: &mut Option<&mut Vec<AggCall>>) -> Result<Expr> {
        Ok(match e {
            AE::Identifier(id) => {
                if let Some(x) = self.resolve(None, &id.value)? {
                    x
                } else if id.quote_style == Some('"') {
                    Expr::Lit(Value::Text(id.value.clone()))
                } else {
                    return name_err(format!("no such column: {}", id.value));
                }
            }
            AE::CompoundIdentifier(ids) => {
                let name = ids.last().map(|i| i.value.clone()).unwrap_or_default();
                let table = if ids.len() >= 2 {
                    Some(ids[ids.len() - 2].value.clone())
                } else {
                    None
                };
                match self.resolve(table.as_deref(), &name)? {
                    Some(x) => x,
                    None => {
                        let full: Vec<&str> = ids.iter().map(|i| i.value.as_str()).collect();
                        return name_err(format!("no such column: {}", full.join(".")));
                    }
                }
            }
            AE::Value(v) => match &v.value {
                AV::Placeholder(p) => self.param(p)?,
                other => Expr::Lit(literal(other)?),
            },
            AE::Nested(x) => self.bind(x, aggs)?,
            AE::UnaryOp {
                op: AU::Minus,
                expr,
            } if matches!(expr.as_ref(), AE::Value(v) if matches!(&v.value, AV::Number(n, _) if n.parse::<i64>().is_err() && format!("-{n}").parse::<i64>().is_ok())) =>
            {
                // -9223372036854775808 is an INTEGER, as in SQLite.
                Expr::Lit(Value::Integer(i64::MIN))
            }
            AE::UnaryOp { op, expr } => {
                let inner = self.bind(expr, aggs)?;
                let op = match op {
                    AU::Minus => UnOp::Neg,
                    AU::Plus => UnOp::Plus,
                    AU::Not => UnOp::Not,
                    AU::BitwiseNot | AU::BangNot => UnOp::BitNot,
                    other => return unsupported(format!("unary operator {other}")),
                };
                Expr::Unary(op, Box::new(inner))
            }
            AE::BinaryOp { left, op, right }
                if is_cmp_op(op)
                    && matches!(left.as_ref(), AE::BinaryOp { op: o, .. } if is_cmp_op(o)) =>
            {
                match regroup_comparisons(e) {
                    Some(fixed) if fixed != *e => self.bind_inner(&fixed, aggs)?,
                    Some(_) | None => self.bind_binary(left, op, right, aggs)?,
                }
            }
            AE::BinaryOp { left, op, right }
                if matches!(op, AB::Lt | AB::LtEq | AB::Gt | AB::GtEq)
                    && matches!(left.as_ref(), AE::Between { .. } | AE::Like { .. }) =>
            {
                // SQLite: `x BETWEEN a AND b < c` means `x BETWEEN a AND (b < c)` (relational
                // operators bind tighter than BETWEEN/LIKE); sqlparser groups it the other way.
                let mut fixed = left.as_ref().clone();
                let slot = match &mut fixed {
                    AE::Between { high, .. } => high,
                    AE::Like { pattern, .. } => pattern,
                    _ => return unsupported("comparison regrouping"),
                };
                let inner = std::mem::replace(slot.as_mut(), AE::Value(AV::Null.into()));
                **slot = AE::BinaryOp {
                    left: Box::new(inner),
                    op: op.clone(),
                    right: right.clone(),
                };
                self.bind_inner(&fixed, aggs)?
            }
            AE::BinaryOp { left, op, right } => self.bind_binary(left, op, right, aggs)?,
            AE::IsNull(x) => Expr::IsNull(Box::new(self.bind(x, aggs)?), false),
            AE::IsNotNull(x) => Expr::IsNull(Box::new(self.bind(x, aggs)?), true),
            AE::IsTrue(x) | AE::IsNotTrue(x) | AE::IsFalse(x) | AE::IsNotFalse(x) => {
                let inner = self.bind(x, aggs)?;
                let want = matches!(e, AE::IsTrue(_) | AE::IsNotTrue(_));
                let neg = matches!(e, AE::IsNotTrue(_) | AE::IsNotFalse(_));
                // x IS TRUE  ==  coalesce(x <> 0, 0) ; x IS FALSE == coalesce(x = 0, 0)
                let test = Expr::Bin {
                    op: if want { BinOp::Ne } else { BinOp::Eq },
                    l: Box::new(inner),
                    r: Box::new(Expr::lit(0)),
                    aff: (None, None),
                };
                let t = Expr::Func(Func::Coalesce, vec![test, Expr::lit(0)]);
                if neg {
                    Expr::Unary(UnOp::Not, Box::new(t))
                } else {
                    t
                }
            }
            AE::IsDistinctFrom(a, b) => Expr::Is(
                Box::new(self.bind(a, aggs)?),
                Box::new(self.bind(b, aggs)?),
                true,
            ),
            AE::IsNotDistinctFrom(a, b) => Expr::Is(
                Box::new(self.bind(a, aggs)?),
                Box::new(self.bind(b, aggs)?),
                false,
            ),
            AE::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind(expr, aggs)?;
                let lo = self.bind(low, aggs)?;
                let hi = self.bind(high, aggs)?;
                let aff = cmp_affinity(self.aff_of(&x), None).1;
                Expr::Between {
                    e: Box::new(x),
                    lo: Box::new(lo),
                    hi: Box::new(hi),
                    neg: *negated,
                    aff,
                }
            }
            AE::In {
                expr,
                target,
                negated,
                ..
            } => {
                let x = self.bind(expr, aggs)?;
                match target {
                    ast::InTarget::List(list) => {
                        let mut items = Vec::with_capacity(list.len());
                        for it in list {
                            items.push(self.bind(it, aggs)?);
                        }
                        let aff = cmp_affinity(self.aff_of(&x), None).1;
                        Expr::InList {
                            e: Box::new(x),
                            list: items,
                            neg: *negated,
                            aff,
                        }
                    }
                    ast::InTarget::Subquery(q) => {
                        let p = self.subquery(q)?;
                        if p.columns.len() != 1 {
                            return Err(Error::Semantic(format!(
                                "sub-select returns {} columns - expected 1",
                                p.columns.len()
                            )));
                        }
                        Expr::InSub {
                            e: Box::new(x),
                            plan: Box::new(p.plan),
                            neg: *negated,
                            correlated: p.correlated,
                            id: self.new_id(),
                        }
                    }
                    ast::InTarget::Table { name, .. } => {
                        let q = format!("SELECT * FROM {name}");
                        let stmt = crate::parse::parse_one(&q)?;
                        let ast::Statement::Query(q) = stmt else {
                            return unsupported("IN table");
                        };
                        let p = self.subquery(&q)?;
                        Expr::InSub {
                            e: Box::new(x),
                            plan: Box::new(p.plan),
                            neg: *negated,
                            correlated: p.correlated,
                            id: self.new_id(),
                        }
                    }
                    ast::InTarget::Unnest(_) => return unsupported("IN UNNEST"),
                }
            }
            AE::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            }
            | AE::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            } => {
                if *any {
                    return unsupported("LIKE ANY");
                }
                let esc = match escape_char {
                    Some(x) => Some(Box::new(self.bind(x, aggs)?)),
                    None => None,
                };
                Expr::Like {
                    e: Box::new(self.bind(expr, aggs)?),
                    pat: Box::new(self.bind(pattern, aggs)?),
                    esc,
                    neg: *negated,
                    glob: false,
                }
            }
            AE::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(Box::new(self.bind(o, aggs)?)),
                    None => None,
                };
                let mut whens = Vec::new();
                for c in conditions {
                    whens.push((self.bind(&c.condition, aggs)?, self.bind(&c.result, aggs)?));
                }
                let els = match else_result {
                    Some(x) => Some(Box::new(self.bind(x, aggs)?)),
                    None => None,
                };
                Expr::Case {
                    operand,
                    whens,
                    els,
                }
            }
            AE::Cast {
                expr, data_type, ..
            } => {
                let x = self.bind(expr, aggs)?;
                let tn = data_type.to_string();
                let ty = match Affinity::from_type_name(&tn) {
                    Affinity::Integer => DataType::Integer,
                    Affinity::Real => DataType::Real,
                    Affinity::Text => DataType::Text,
                    Affinity::Blob => DataType::Blob,
                    Affinity::Numeric => DataType::Null,
                };
                Expr::Cast(Box::new(x), ty)
            }
            AE::Collate { expr, .. } => self.bind(expr, aggs)?,
            AE::Exists { subquery, negated } => {
                let p = self.subquery(subquery)?;
                Expr::Exists {
                    plan: Box::new(p.plan),
                    neg: *negated,
                    correlated: p.correlated,
                    id: self.new_id(),
                }
            }
            AE::Subquery(q) => {
                let p = self.subquery(q)?;
                if p.columns.len() != 1 {
                    return Err(Error::Semantic(format!(
                        "sub-select returns {} columns - expected 1",
                        p.columns.len()
                    )));
                }
                Expr::Scalar {
                    plan: Box::new(p.plan),
                    correlated: p.correlated,
                    id: self.new_id(),
                }
            }
            AE::Function(f) => self.bind_function(f, aggs)?,
            AE::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind(expr, aggs)?];
                args.push(match substring_from {
                    Some(x) => self.bind(x, aggs)?,
                    None => Expr::lit(1),
                });
                if let Some(x) = substring_for {
                    args.push(self.bind(x, aggs)?);
                }
                Expr::Func(Func::Substr, args)
            }
            AE::Tuple(items) if items.len() == 1 => self.bind(&items[0], aggs)?,
            AE::TypedString(ts) => Expr::Lit(literal(&ts.value.value)?),
            // sqlparser parses ceil(x) / floor(x) as their own expressions; SQLite's math
            // functions take exactly one argument.
            AE::Ceil {
                expr,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            }
            | AE::Floor {
                expr,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => {
                let m = if matches!(e, AE::Ceil { .. }) {
                    crate::corefunc::Math::Ceil
                } else {
                    crate::corefunc::Math::Floor
                };
                let arg = self.bind(expr, aggs)?;
                Expr::Func(Func::Core(crate::corefunc::CoreFunc::Math(m)), vec![arg])
            }
            AE::Ceil { .. } | AE::Floor { .. } => {
                return Err(Error::Semantic(format!(
                    "wrong number of arguments to function {e}"
                )))
            }
            other => return unsupported(format!("expression {other}")),
        })
    }

    fn bind_binary(
        &mut self,
        left: &AE,
        op: &AB,
        right: &AE,
        aggs: &mut Option<&mut Vec<AggCall>>,
    ) -> Result<Expr> {
        let l = self.bind(left, aggs)?;
        let r = self.bind(right, aggs)?;
        let op = match op {
            AB::Plus => BinOp::Add,
            AB::Minus => BinOp::Sub,
            AB::Multiply => BinOp::Mul,
            AB::Divide => BinOp::Div,
            AB::Modulo => BinOp::Rem,
            AB::StringConcat => BinOp::Concat,
            AB::Eq => BinOp::Eq,
            AB::NotEq => BinOp::Ne,
            AB::Lt => BinOp::Lt,
            AB::LtEq => BinOp::Le,
            AB::Gt => BinOp::Gt,
            AB::GtEq => BinOp::Ge,
            AB::And => BinOp::And,
            AB::Or => BinOp::Or,
            AB::BitwiseAnd => BinOp::BitAnd,
            AB::BitwiseOr => BinOp::BitOr,
            AB::PGBitwiseShiftLeft => BinOp::Shl,
            AB::PGBitwiseShiftRight => BinOp::Shr,
            AB::Glob => {
                return Ok(Expr::Like {
                    e: Box::new(l),
                    pat: Box::new(r),
                    esc: None,
                    neg: false,
                    glob: true,
                })
            }
            // `a IS b` / `a IS NOT b` (the SQLite dialect's spelling of IS [NOT] DISTINCT FROM,
            // common in triggers: `WHEN new.x IS NOT old.x`).
            AB::Is => return Ok(Expr::Is(Box::new(l), Box::new(r), false)),
            AB::IsNot => return Ok(Expr::Is(Box::new(l), Box::new(r), true)),
            AB::Arrow => return Ok(Expr::Func(Func::Json(JsonFunc::Arrow), vec![l, r])),
            AB::LongArrow => return Ok(Expr::Func(Func::Json(JsonFunc::LongArrow), vec![l, r])),
            other => return unsupported(format!("operator {other}")),
        };
        let aff = if op.is_cmp() {
            cmp_affinity(self.aff_of(&l), self.aff_of(&r))
        } else {
            (None, None)
        };
        Ok(Expr::Bin {
            op,
            l: Box::new(l),
            r: Box::new(r),
            aff,
        })
    }

    fn param(&mut self, p: &str) -> Result<Expr> {
        let idx = if p == "?" {
            // Like SQLite: one more than the largest parameter number assigned so far.
            self.nparams
        } else {
            let digits = p.trim_start_matches(['?', '$', ':', '@']);
            match digits.parse::<usize>() {
                Ok(n) if (1..=32766).contains(&n) => n - 1,
                _ => return Err(Error::Param(format!("unsupported parameter {p}"))),
            }
        };
        self.nparams = self.nparams.max(idx + 1);
        Ok(Expr::Param(idx))
    }

    fn new_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    fn bind_function(
        &mut self,
        f: &ast::Function,
        aggs: &mut Option<&mut Vec<AggCall>>,
    ) -> Result<Expr> {
        let name = object_name(&f.name).to_ascii_lowercase();
        if let Some(over) = &f.over {
            return self.bind_window_call(f, &name, over, aggs);
        }
        let (args, distinct) = func_args(f)?;
        if WinFunc::lookup(&name).is_some() {
            return Err(Error::Semantic(format!(
                "misuse of window function {name}()"
            )));
        }
        if f.filter.is_some() && !is_agg_name(&name, args.len()) {
            return Err(Error::Semantic(format!(
                "FILTER may not be used with non-aggregate {name}()"
            )));
        }
        if name == "raise" {
            return self.bind_raise(&args);
        }
        if is_agg_name(&name, args.len()) {
            let Some(list) = aggs.as_deref_mut() else {
                return Err(Error::Semantic(format!(
                    "misuse of aggregate function {name}()"
                )));
            };
            let star = args.len() == 1 && matches!(args[0], FunctionArgExpr::Wildcard);
            let func = agg_func(&name, star || args.is_empty());
            let nargs_ok =
                agg_nargs_ok(func, args.len()) && !(func == AggFunc::CountStar && distinct);
            if !nargs_ok {
                return Err(Error::Semantic(format!(
                    "wrong number of arguments to function {name}()"
                )));
            }
            // Aggregate arguments and FILTER are bound without aggregate or window context
            // (no nesting).
            let saved_win = self.win.take();
            let bound_args = self.bind_agg_args(&name, func, &args, f.filter.as_deref());
            self.win = saved_win;
            let (bound, filter) = bound_args?;
            let func = with_json_flag(func, &bound);
            if distinct && bound.len() != 1 {
                return Err(Error::Semantic(
                    "DISTINCT aggregates must have exactly one argument".into(),
                ));
            }
            let call = AggCall {
                func,
                args: bound,
                distinct,
                filter,
            };
            let key = format!("{call:?}");
            let idx = match list.iter().position(|c| format!("{c:?}") == key) {
                Some(i) => i,
                None => {
                    list.push(call);
                    list.len() - 1
                }
            };
            return Ok(Expr::Agg(idx));
        }
        let Some((func, min, max)) = Func::lookup(&name) else {
            if let Some(udf) = self.catalog.functions.get(&name) {
                if distinct {
                    return unsupported(format!("DISTINCT in scalar function {name}"));
                }
                if let crate::func::Arity::Exact(n) = udf.arity() {
                    if args.len() != n {
                        return Err(Error::Semantic(format!(
                            "wrong number of arguments to function {name}()"
                        )));
                    }
                }
                let mut bound = Vec::new();
                for a in &args {
                    match a {
                        FunctionArgExpr::Expr(x) => bound.push(self.bind(x, aggs)?),
                        _ => return unsupported(format!("wildcard argument to {name}")),
                    }
                }
                return Ok(Expr::Udf(udf, bound));
            }
            return name_err(format!("no such function: {name}"));
        };
        if distinct {
            return unsupported(format!("DISTINCT in scalar function {name}"));
        }
        if args.len() < min || args.len() > max {
            return Err(Error::Semantic(format!(
                "wrong number of arguments to function {name}()"
            )));
        }
        let mut bound = Vec::new();
        for a in &args {
            match a {
                FunctionArgExpr::Expr(x) => bound.push(self.bind(x, aggs)?),
                _ => return unsupported(format!("wildcard argument to {name}")),
            }
        }
        let func = match func {
            Func::Json(j) => {
                let mask = bound
                    .iter()
                    .take(64)
                    .enumerate()
                    .filter(|(_, e)| is_json_expr(e))
                    .fold(0u64, |m, (i, _)| m | (1u64 << i));
                Func::Json(j.with_mask(mask))
            }
            f => f,
        };
        Ok(Expr::Func(func, bound))
    }

    /// Binds an aggregate's arguments and FILTER condition.
    fn bind_agg_args(
        &mut self,
        name: &str,
        func: AggFunc,
        args: &[&FunctionArgExpr],
        filter: Option<&AE>,
    ) -> Result<(Vec<Expr>, Option<Expr>)> {
        let mut bound = Vec::new();
        if func != AggFunc::CountStar {
            for a in args {
                match a {
                    FunctionArgExpr::Expr(x) => bound.push(self.bind(x, &mut None)?),
                    _ => return unsupported(format!("wildcard argument to {name}")),
                }
            }
        }
        let filter = match filter {
            Some(x) => Some(self.bind(x, &mut None)?),
            None => None,
        };
        Ok((bound, filter))
    }

    /// `RAISE(IGNORE)` / `RAISE(ABORT|FAIL|ROLLBACK, message)` (trigger programs only; the
    /// session refuses it elsewhere before planning).
    fn bind_raise(&mut self, args: &[&FunctionArgExpr]) -> Result<Expr> {
        use crate::error::RaiseKind;
        if !self.in_trigger {
            return Err(Error::Semantic(
                "RAISE() may only be used within a trigger-program".into(),
            ));
        }
        let kind = match args.first() {
            Some(FunctionArgExpr::Expr(AE::Identifier(id))) => {
                match id.value.to_ascii_lowercase().as_str() {
                    "ignore" => RaiseKind::Ignore,
                    "abort" => RaiseKind::Abort,
                    "fail" => RaiseKind::Fail,
                    "rollback" => RaiseKind::Rollback,
                    _ => return Err(raise_syntax(&id.value)),
                }
            }
            Some(other) => return Err(raise_syntax(&other.to_string())),
            None => return Err(raise_syntax(")")),
        };
        let msg = match (kind, args.get(1..).unwrap_or_default()) {
            (RaiseKind::Ignore, []) => Vec::new(),
            (RaiseKind::Ignore, [_, ..]) => return Err(raise_syntax(",")),
            (_, [FunctionArgExpr::Expr(m)]) => vec![self.bind(m, &mut None)?],
            (_, _) => {
                return Err(Error::Syntax {
                    message: "RAISE(ABORT|FAIL|ROLLBACK, ...) takes exactly one message".into(),
                })
            }
        };
        Ok(Expr::Func(Func::Raise(kind), msg))
    }

    // ------------------------------------------------------------ queries

    fn subquery(&mut self, q: &ast::Query) -> Result<Planned> {
        self.enter()?;
        let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_GROW, || self.plan_query(q));
        self.depth -= 1;
        r
    }

    /// Plans a full query (WITH is not supported).
    pub fn plan_query(&mut self, q: &ast::Query) -> Result<Planned> {
        let Some(with) = &q.with else {
            return self.plan_query_body(q);
        };
        let before = self.ctes.len();
        for cte in &with.cte_tables {
            let cols = cte
                .alias
                .columns
                .iter()
                .map(|c| c.name.value.clone())
                .collect();
            self.ctes.push((
                cte.alias.name.value.clone(),
                cols,
                (*cte.query).clone(),
                with.recursive,
            ));
        }
        let r = self.plan_query_body(q);
        self.ctes.truncate(before);
        r
    }

    fn plan_query_body(&mut self, q: &ast::Query) -> Result<Planned> {
        if q.fetch.is_some() || !q.locks.is_empty() {
            return unsupported("FETCH / FOR UPDATE");
        }
        let order: Vec<&ast::OrderByExpr> = match &q.order_by {
            None => vec![],
            Some(ob) => match &ob.kind {
                ast::OrderByKind::Expressions(v) => v.iter().collect(),
                ast::OrderByKind::All(_) => return unsupported("ORDER BY ALL"),
            },
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return unsupported("LIMIT BY");
                }
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit), Some(offset))
            }
        };
        let mut planned = match q.body.as_ref() {
            SetExpr::Select(sel) => {
                let outer = std::mem::replace(&mut self.limited, limit.is_some());
                let r = self.plan_select(sel, &order);
                self.limited = outer;
                r?
            }
            _ => {
                let mut p = self.plan_set_expr(&q.body)?;
                if !order.is_empty() {
                    let keys = self.compound_order(&order, &p.columns)?;
                    p.plan = Plan::Sort {
                        input: Box::new(p.plan),
                        keys,
                    };
                }
                p
            }
        };
        if limit.is_some() || offset.is_some() {
            let mut none = None;
            self.frames.push(Frame::default());
            let l = limit.map(|e| self.bind(e, &mut none)).transpose();
            let o = offset.map(|e| self.bind(e, &mut none)).transpose();
            let f = self.frames.pop();
            if f.is_some_and(|f| f.correlated) {
                planned.correlated = true;
            }
            planned.plan = Plan::Limit {
                input: Box::new(planned.plan),
                limit: l?,
                offset: o?,
            };
        }
        Ok(planned)
    }

    fn compound_order(
        &mut self,
        order: &[&ast::OrderByExpr],
        cols: &[Column],
    ) -> Result<Vec<SortKey>> {
        let mut keys = Vec::new();
        for (n, o) in order.iter().enumerate() {
            let idx = match &o.expr {
                AE::Value(v) => match literal(&v.value)? {
                    Value::Integer(k) if k >= 1 && (k as usize) <= cols.len() => {
                        Some(k as usize - 1)
                    }
                    Value::Integer(_) => {
                        return Err(Error::Semantic(format!(
                            "{} ORDER BY term out of range - should be between 1 and {}",
                            ordinal(n + 1),
                            cols.len()
                        )))
                    }
                    _ => None,
                },
                AE::Identifier(id) => cols
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&id.value)),
                AE::CompoundIdentifier(ids) => ids.last().and_then(|id| {
                    cols.iter()
                        .position(|c| c.name.eq_ignore_ascii_case(&id.value))
                }),
                other => {
                    let s = other.to_string();
                    cols.iter().position(|c| c.name.eq_ignore_ascii_case(&s))
                }
            };
            let Some(idx) = idx else {
                return Err(Error::Semantic(format!(
                    "{} ORDER BY term does not match any column in the result set",
                    ordinal(n + 1)
                )));
            };
            keys.push(sort_key(Expr::Col(idx), &o.options));
        }
        Ok(keys)
    }

    fn plan_set_expr(&mut self, s: &SetExpr) -> Result<Planned> {
        self.enter()?;
        let r = match s {
            SetExpr::Select(sel) => self.plan_select(sel, &[]),
            SetExpr::Query(q) => self.plan_query(q),
            SetExpr::Values(v) => self.plan_values(v),
            SetExpr::SetOperation {
                op,
                set_quantifier,
                left,
                right,
            } => {
                let l = self.plan_set_expr(left)?;
                let r = self.plan_set_expr(right)?;
                if l.columns.len() != r.columns.len() {
                    return Err(Error::Semantic(format!(
                        "SELECTs to the left and right of {op} do not have the same number of result columns"
                    )));
                }
                let all = match set_quantifier {
                    SetQuantifier::All => true,
                    SetQuantifier::Distinct | SetQuantifier::None => false,
                    other => return unsupported(format!("{op} {other}")),
                };
                let op = match op {
                    SetOperator::Union => SetOpKind::Union,
                    SetOperator::Intersect => SetOpKind::Intersect,
                    SetOperator::Except | SetOperator::Minus => SetOpKind::Except,
                };
                if all && op != SetOpKind::Union {
                    return unsupported("INTERSECT ALL / EXCEPT ALL");
                }
                Ok(Planned {
                    plan: Plan::SetOp {
                        op,
                        all,
                        left: Box::new(l.plan),
                        right: Box::new(r.plan),
                    },
                    columns: l.columns,
                    correlated: l.correlated || r.correlated,
                })
            }
            other => unsupported(format!("{other}")),
        };
        self.depth -= 1;
        r
    }

    /// Plans a VALUES list.
    pub fn plan_values(&mut self, v: &ast::Values) -> Result<Planned> {
        self.frames.push(Frame::default());
        let r = (|| {
            let mut rows = Vec::new();
            let mut width = None;
            for row in &v.rows {
                let mut out = Vec::new();
                for e in &row.content {
                    out.push(self.bind(e, &mut None)?);
                }
                if *width.get_or_insert(out.len()) != out.len() {
                    return Err(Error::Semantic(
                        "all VALUES must have the same number of terms".into(),
                    ));
                }
                rows.push(out);
            }
            let width = width.unwrap_or(0);
            let columns = (0..width)
                .map(|i| Column::planned(format!("column{}", i + 1), DataType::Null, None))
                .collect();
            Ok((Plan::Values { rows, width }, columns))
        })();
        let f = self.frames.pop();
        let (plan, columns) = r?;
        Ok(Planned {
            plan,
            columns,
            correlated: f.is_some_and(|f| f.correlated),
        })
    }

    /// A CTE under `WITH RECURSIVE`: `anchor UNION [ALL] step` where `step` names the CTE
    /// once in its FROM becomes a [`Plan::RecursiveCte`]; anything else plans as usual.
    fn plan_recursive_cte(
        &mut self,
        name: &str,
        aliases: &[String],
        q: &ast::Query,
    ) -> Result<Planned> {
        let SetExpr::SetOperation {
            op: SetOperator::Union,
            set_quantifier,
            left,
            right,
        } = q.body.as_ref()
        else {
            return self.plan_query(q);
        };
        if q.order_by.is_some() || q.limit_clause.is_some() {
            // SQLite orders the queue and limits the recursion with them: not built.
            return unsupported("ORDER BY or LIMIT in a recursive common table expression");
        }
        if q.with.is_some() {
            return self.plan_query(q);
        }
        let all = match set_quantifier {
            SetQuantifier::All => true,
            SetQuantifier::Distinct | SetQuantifier::None => false,
            other => return unsupported(format!("UNION {other}")),
        };
        let anchor = self.plan_set_expr(left)?;
        let mut cols = anchor.columns.clone();
        for (c, n) in cols.iter_mut().zip(aliases) {
            c.name = n.clone();
        }
        if !aliases.is_empty() && aliases.len() != cols.len() {
            return Err(Error::Semantic(format!(
                "table {name} has {} values for {} columns",
                cols.len(),
                aliases.len()
            )));
        }
        let id = self.new_id();
        self.work_tables.push(WorkTableScope {
            name: name.to_string(),
            id,
            cols: cols.clone(),
            frames: self.frames.len(),
            used: false,
        });
        let step = self.plan_set_expr(right);
        let used = self.work_tables.pop().is_some_and(|w| w.used);
        let step = step?;
        if step.columns.len() != anchor.columns.len() {
            return Err(Error::Semantic(
                "SELECTs to the left and right of UNION do not have the same number of result columns"
                    .into(),
            ));
        }
        let width = cols.len();
        let plan = if used {
            Plan::RecursiveCte {
                id,
                anchor: Box::new(anchor.plan),
                step: Box::new(step.plan),
                distinct: !all,
                width,
            }
        } else {
            // Not actually recursive: a plain UNION.
            Plan::SetOp {
                op: SetOpKind::Union,
                all,
                left: Box::new(anchor.plan),
                right: Box::new(step.plan),
            }
        };
        Ok(Planned {
            plan,
            columns: cols,
            correlated: false,
        })
    }

    fn table_factor(&mut self, tf: &TableFactor) -> Result<FromItem> {
        match tf {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    return unsupported("table-valued functions");
                }
                let tname = object_name(name);
                let alias_name = alias.as_ref().map(|a| a.name.value.clone());
                let depth = self.frames.len();
                if let Some(w) = self
                    .work_tables
                    .iter_mut()
                    .rev()
                    .find(|w| w.name.eq_ignore_ascii_case(&tname))
                {
                    // The recursive part of `tname`: it reads the current row.
                    if depth > w.frames {
                        return Err(Error::Semantic(format!(
                            "recursive reference in a subquery: {tname}"
                        )));
                    }
                    if w.used {
                        return Err(Error::Semantic(format!(
                            "multiple references to recursive table: {tname}"
                        )));
                    }
                    w.used = true;
                    let a = alias_name.unwrap_or_else(|| w.name.clone());
                    let cols = w
                        .cols
                        .iter()
                        .map(|c| ScopeCol {
                            table: a.clone(),
                            name: c.name.clone(),
                            ty: c.ty,
                            aff: None,
                            decl: c.decl_type.clone(),
                            hidden: false,
                            merged: false,
                            coalesce: Vec::new(),
                            value: None,
                        })
                        .collect();
                    return Ok(FromItem {
                        plan: Plan::WorkTable {
                            id: w.id,
                            width: w.cols.len(),
                        },
                        table: None,
                        cols,
                        lateral: false,
                    });
                }
                if let Some(pos) = self
                    .ctes
                    .iter()
                    .rposition(|(n, ..)| n.eq_ignore_ascii_case(&tname))
                {
                    if self.view_depth > 16 {
                        return Err(Error::Semantic(format!("{tname} is nested too deeply")));
                    }
                    let (cname, cols, query, recursive) = self.ctes[pos].clone();
                    // A CTE sees only the CTEs defined before it, and no enclosing query.
                    let saved_ctes = self.ctes.split_off(pos);
                    let saved_frames = std::mem::take(&mut self.frames);
                    self.view_depth += 1;
                    let r = if recursive {
                        self.plan_recursive_cte(&cname, &cols, &query)
                    } else {
                        self.plan_query(&query)
                    };
                    self.view_depth -= 1;
                    self.frames = saved_frames;
                    self.ctes.extend(saved_ctes);
                    let mut p = r?;
                    for (i, n) in cols.iter().enumerate() {
                        if let Some(c) = p.columns.get_mut(i) {
                            c.name = n.clone();
                        }
                    }
                    return Ok(derived(p, alias_name.unwrap_or(cname)));
                }
                if let Some(t) = self.catalog.table(&tname) {
                    let a = alias_name.unwrap_or_else(|| t.name.clone());
                    let cols = t
                        .columns
                        .iter()
                        .map(|c| ScopeCol {
                            table: a.clone(),
                            name: c.name.clone(),
                            ty: c.ty,
                            aff: Some(c.affinity),
                            decl: decl_text(&c.decl_type),
                            hidden: false,
                            merged: false,
                            coalesce: Vec::new(),
                            value: None,
                        })
                        .collect();
                    return Ok(FromItem {
                        plan: Plan::Scan {
                            table: t.clone(),
                            alias: a.clone(),
                            access: Access::Full,
                            filter: None,
                            reverse: false,
                        },
                        table: Some(t.clone()),
                        cols,
                        lateral: false,
                    });
                }
                if let Some(v) = self.catalog.view(&tname) {
                    if self.view_depth > 16 {
                        return Err(Error::Semantic(format!(
                            "view {tname} is nested too deeply"
                        )));
                    }
                    let v = v.clone();
                    let stmt = crate::parse::parse_one(&v.sql)?;
                    let ast::Statement::Query(q) = stmt else {
                        return Err(Error::Corruption {
                            what: "view",
                            key: tname.into_bytes(),
                            detail: "view SQL is not a query".into(),
                        });
                    };
                    self.view_depth += 1;
                    // Views cannot see the enclosing query's scopes.
                    let saved = std::mem::take(&mut self.frames);
                    let r = self.plan_query(&q);
                    self.frames = saved;
                    self.view_depth -= 1;
                    let mut p = r?;
                    for (i, n) in v.columns.iter().enumerate() {
                        if let Some(c) = p.columns.get_mut(i) {
                            c.name = n.clone();
                        }
                    }
                    let a = alias_name.unwrap_or_else(|| v.name.clone());
                    return Ok(derived(p, a));
                }
                if is_schema_table(&tname) {
                    return Ok(self.schema_table(alias_name.unwrap_or(tname)));
                }
                name_err(format!("no such table: {tname}"))
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let p = self.subquery(subquery)?;
                let a = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .unwrap_or_default();
                let mut item = derived(p, a);
                if let Some(al) = alias {
                    for (i, c) in al.columns.iter().enumerate() {
                        if let Some(sc) = item.cols.get_mut(i) {
                            sc.name = c.name.value.clone();
                        }
                    }
                }
                Ok(item)
            }
            TableFactor::NestedJoin { .. } => unsupported("parenthesized joins"),
            other => unsupported(format!("FROM item {other}")),
        }
    }

    /// SQLite's read-only `sqlite_schema` / `sqlite_master` table over the catalog snapshot
    /// (see [`crate::catalog::schema_rows`]).
    fn schema_table(&self, alias: String) -> FromItem {
        let rows: Vec<Vec<Expr>> = crate::catalog::schema_rows(self.catalog)
            .into_iter()
            .map(|r| r.into_iter().map(Expr::Lit).collect())
            .collect();
        let col = |name: &str, ty: DataType| Column {
            name: name.into(),
            ty,
            decl_type: Some(ty.to_string()),
            static_ty: Some(ty),
        };
        let columns = vec![
            col("type", DataType::Text),
            col("name", DataType::Text),
            col("tbl_name", DataType::Text),
            col("rootpage", DataType::Integer),
            col("sql", DataType::Text),
        ];
        let plan = if rows.is_empty() {
            Plan::Empty { width: 5 }
        } else {
            Plan::Values { rows, width: 5 }
        };
        derived(
            Planned {
                plan,
                columns,
                correlated: false,
            },
            alias,
        )
    }

    /// Appends a FROM element (a table and its joins) to the flat item list. Parenthesized
    /// inner joins (`FROM (a CROSS JOIN b)`) are flattened.
    fn add_from<'q>(
        &mut self,
        twj: &'q ast::TableWithJoins,
        first: JoinSpec<'q>,
        items: &mut Vec<FromItem>,
        joins: &mut Vec<JoinSpec<'q>>,
    ) -> Result<()> {
        self.add_factor(&twj.relation, first, items, joins)?;
        for j in &twj.joins {
            let (kind, c) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, c),
                JoinOperator::CrossJoin(c) => (JoinKind::Inner, c),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, c),
                JoinOperator::FullOuter(c) => (JoinKind::Full, c),
                other => {
                    return unsupported(
                        format!("join type {other:?}")
                            .chars()
                            .take(60)
                            .collect::<String>(),
                    )
                }
            };
            match c {
                JoinConstraint::On(e) => {
                    self.add_factor(&j.relation, (kind, Some(e), vec![]), items, joins)?
                }
                JoinConstraint::Using(cols) => {
                    let names = cols.iter().map(object_name).collect();
                    self.add_factor(&j.relation, (kind, None, names), items, joins)?;
                }
                JoinConstraint::None => {
                    self.add_factor(&j.relation, (kind, None, vec![]), items, joins)?
                }
                JoinConstraint::Natural => {
                    if matches!(j.relation, TableFactor::NestedJoin { .. }) {
                        return unsupported("NATURAL JOIN with a parenthesized join");
                    }
                    let item = self.table_factor_in(&j.relation, items)?;
                    items.push(item);
                    let (l, r) = items.split_at(items.len() - 1);
                    let names: Vec<String> = r[0]
                        .cols
                        .iter()
                        .filter(|c| {
                            !c.hidden
                                && l.iter().any(|it| {
                                    it.cols
                                        .iter()
                                        .any(|x| !x.hidden && x.name.eq_ignore_ascii_case(&c.name))
                                })
                        })
                        .map(|c| c.name.clone())
                        .collect();
                    joins.push((kind, None, names));
                }
                JoinConstraint::UsingAlias(..) => return unsupported("USING ... AS"),
            }
        }
        Ok(())
    }

    fn add_factor<'q>(
        &mut self,
        tf: &'q TableFactor,
        spec: JoinSpec<'q>,
        items: &mut Vec<FromItem>,
        joins: &mut Vec<JoinSpec<'q>>,
    ) -> Result<()> {
        if let TableFactor::NestedJoin {
            table_with_joins,
            alias: None,
        } = tf
        {
            let all_inner = table_with_joins.joins.iter().all(|j| {
                matches!(
                    j.join_operator,
                    JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_)
                )
            });
            if spec.0 == JoinKind::Inner && spec.2.is_empty() && all_inner {
                return self.add_from(table_with_joins, spec, items, joins);
            }
            return unsupported("parenthesized outer joins");
        }
        let item = self.table_factor_in(tf, items)?;
        items.push(item);
        joins.push(spec);
        Ok(())
    }

    /// A FROM item after `earlier` ones: a table-valued function (`json_each`, `json_tree`)
    /// binds its arguments with the earlier items' columns visible (a lateral reference);
    /// anything else is [`Planner::table_factor`].
    fn table_factor_in(&mut self, tf: &TableFactor, earlier: &[FromItem]) -> Result<FromItem> {
        let TableFactor::Table {
            name,
            alias,
            args: Some(targs),
            ..
        } = tf
        else {
            return self.table_factor(tf);
        };
        let fname = object_name(name).to_ascii_lowercase();
        let tree = match fname.as_str() {
            "json_each" => false,
            "json_tree" => true,
            _ => return unsupported(format!("table-valued function {fname}")),
        };
        if targs.settings.is_some() {
            return unsupported("SETTINGS in a table-valued function");
        }
        // No argument: no rows, as in SQLite (the document is NULL).
        if targs.args.len() > 2 {
            return Err(Error::Semantic(format!(
                "wrong number of arguments to function {fname}()"
            )));
        }
        let frame = Frame {
            cols: earlier
                .iter()
                .flat_map(|it| it.cols.iter().cloned())
                .collect(),
            ..Frame::default()
        };
        self.frames.push(frame);
        let bound: Result<Vec<Expr>> = targs
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => self.bind(e, &mut None),
                other => unsupported(format!("argument {other} of {fname}()")),
            })
            .collect();
        let f = self.frames.pop();
        self.from_correlated |= f.is_some_and(|f| f.correlated);
        let mut args = bound?;
        if args.is_empty() {
            args.push(Expr::Lit(Value::Null));
        }
        let mut cols = Vec::new();
        for a in &args {
            a.columns(&mut cols);
        }
        let lateral = !cols.is_empty();
        let a = alias
            .as_ref()
            .map_or_else(|| fname.clone(), |a| a.name.value.clone());
        let n = crate::json_each::COLUMNS.len();
        let cols = crate::json_each::COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| ScopeCol {
                table: a.clone(),
                name: (*c).to_string(),
                ty: DataType::Null,
                aff: None,
                decl: None,
                hidden: i >= n - crate::json_each::HIDDEN,
                merged: false,
                coalesce: Vec::new(),
                value: match i {
                    8 => args.first().cloned(),
                    9 => Some(
                        args.get(1)
                            .cloned()
                            .unwrap_or_else(|| Expr::Lit(Value::Text("$".into()))),
                    ),
                    _ => None,
                },
            })
            .collect();
        Ok(FromItem {
            plan: Plan::JsonTable {
                tree,
                args,
                lateral,
            },
            table: None,
            cols,
            lateral,
        })
    }

    fn plan_select(&mut self, sel: &ast::Select, order: &[&ast::OrderByExpr]) -> Result<Planned> {
        if sel.top.is_some()
            || sel.into.is_some()
            || !sel.lateral_views.is_empty()
            || sel.qualify.is_some()
        {
            return unsupported("TOP / INTO / LATERAL VIEW / QUALIFY");
        }
        // Window calls of an enclosing SELECT are not this SELECT's.
        let outer_win = self.win.take();
        // FROM items are bound before this SELECT's frame exists (they cannot see it).
        let mut items: Vec<FromItem> = Vec::new();
        let mut joins: Vec<(JoinKind, Option<&AE>, Vec<String>)> = Vec::new();
        let saved_correlated = std::mem::replace(&mut self.from_correlated, false);
        let added: Result<()> = sel.from.iter().try_for_each(|twj| {
            self.add_from(twj, (JoinKind::Inner, None, vec![]), &mut items, &mut joins)
        });
        let from_correlated = std::mem::replace(&mut self.from_correlated, saved_correlated);
        if let Err(e) = added {
            self.win = outer_win;
            return Err(e);
        }
        let mut frame = Frame {
            correlated: from_correlated,
            ..Frame::default()
        };
        let mut offsets = Vec::new();
        for it in &items {
            offsets.push(frame.cols.len());
            frame.cols.extend(it.cols.iter().cloned());
        }
        self.frames.push(frame);
        let r = self.plan_select_body(sel, order, items, joins, offsets);
        self.win = outer_win;
        let f = self.frames.pop();
        let mut p = r?;
        p.correlated = p.correlated || f.is_some_and(|f| f.correlated);
        Ok(p)
    }

    #[allow(clippy::too_many_lines)]
    fn plan_select_body(
        &mut self,
        sel: &ast::Select,
        order: &[&ast::OrderByExpr],
        items: Vec<FromItem>,
        joins: Vec<(JoinKind, Option<&AE>, Vec<String>)>,
        offsets: Vec<usize>,
    ) -> Result<Planned> {
        let from_width: usize = items.iter().map(|i| i.cols.len()).sum();
        // ---- ON / USING conditions
        let mut join_conds: Vec<Vec<Expr>> = Vec::new();
        let any_right = joins.iter().any(|j| j.0.keeps_right());
        for (i, (_, on, using)) in joins.iter().enumerate() {
            let mut conds = Vec::new();
            if let Some(on) = on {
                self.bind(on, &mut None)?.into_conjuncts(&mut conds);
            }
            for name in using {
                let right = items[i]
                    .cols
                    .iter()
                    .position(|c| !c.hidden && c.name.eq_ignore_ascii_case(name))
                    .map(|p| p + offsets[i]);
                // The left column is the leftmost visible one of that name (as in SQLite);
                // after RIGHT / FULL joins it stands for the coalesce of the merged columns.
                let Some(frame) = self.frames.last_mut() else {
                    return Err(Error::Internal("USING outside a SELECT".into()));
                };
                let left = (0..offsets[i]).find(|&p| {
                    let c = &frame.cols[p];
                    !c.hidden && !c.merged && c.name.eq_ignore_ascii_case(name)
                });
                // With RIGHT / FULL joins in the FROM clause SQLite merges every left column
                // of that name, and refuses one that no earlier USING merged.
                if any_right
                    && (0..offsets[i]).any(|p| {
                        let c = &frame.cols[p];
                        Some(p) != left
                            && !c.hidden
                            && !c.merged
                            && c.name.eq_ignore_ascii_case(name)
                    })
                {
                    return name_err(format!("ambiguous reference to {name} in USING()"));
                }
                match (left, right) {
                    (Some(l), Some(r)) => {
                        let lc = &mut frame.cols[l];
                        let le = if lc.coalesce.is_empty() {
                            Expr::Col(l)
                        } else {
                            let mut args = vec![Expr::Col(l)];
                            args.extend(lc.coalesce.iter().map(|&j| Expr::Col(j)));
                            Expr::Func(Func::Coalesce, args)
                        };
                        if joins[i].0.keeps_right() {
                            lc.coalesce.push(r);
                        }
                        frame.cols[r].merged = true;
                        conds.push(Expr::Bin {
                            op: BinOp::Eq,
                            l: Box::new(le),
                            r: Box::new(Expr::Col(r)),
                            aff: (None, None),
                        });
                    }
                    _ => {
                        return name_err(format!(
                            "cannot join using column {name} - column not present in both tables"
                        ))
                    }
                }
            }
            join_conds.push(conds);
        }
        // SQLite expands a column of `*` or `t.*` under its unqualified name (the merged
        // column) when its table lies left of a RIGHT / FULL join and a later USING / NATURAL
        // join names it (select.c, selectExpander and inAnyUsingClause).
        let mut star_merged = vec![false; from_width];
        for (t, it) in items.iter().enumerate() {
            let later = &joins[t + 1..];
            if !later.iter().any(|j| j.0.keeps_right()) {
                continue;
            }
            for (k, c) in it.cols.iter().enumerate() {
                if later
                    .iter()
                    .any(|j| j.2.iter().any(|u| u.eq_ignore_ascii_case(&c.name)))
                {
                    star_merged[offsets[t] + k] = true;
                }
            }
        }
        // ---- WHERE
        let mut where_conj = Vec::new();
        if let Some(w) = &sel.selection {
            self.bind(w, &mut None)?.into_conjuncts(&mut where_conj);
        }
        let mut from_plan = if items.is_empty() {
            Plan::Values {
                rows: vec![vec![]],
                width: 0,
            }
        } else {
            {
                let kinds: Vec<JoinKind> = joins.iter().map(|j| j.0).collect();
                self.build_joins(items, &offsets, join_conds, &kinds, &mut where_conj)?
            }
        };
        if let Some(pred) = Expr::conjoin(where_conj) {
            from_plan = filter(from_plan, pred);
        }

        // ---- projection list (AST), expanding wildcards
        enum Item<'e> {
            Ast(&'e AE, Option<String>),
            Col(usize),
            /// A column a RIGHT / FULL USING join merged (`coalesce` of the joined ones),
            /// named after column `.1`.
            Merged(Expr, usize),
        }

        let mut proj: Vec<Item> = Vec::new();
        let frame_cols = self
            .frames
            .last()
            .map(|f| f.cols.clone())
            .unwrap_or_default();
        for it in &sel.projection {
            match it {
                SelectItem::UnnamedExpr(e) => proj.push(Item::Ast(e, None)),
                SelectItem::ExprWithAlias { expr, alias } => {
                    proj.push(Item::Ast(expr, Some(alias.value.clone())))
                }
                SelectItem::Wildcard(_) => {
                    if frame_cols.is_empty() {
                        return Err(Error::Semantic("no tables specified".into()));
                    }
                    for i in 0..from_width {
                        let c = &frame_cols[i];
                        if c.hidden || c.merged {
                            continue;
                        }
                        // Like SQLite, a column merged by a later RIGHT / FULL join expands as
                        // its unqualified name (an error where that name is ambiguous).
                        let merged = if star_merged[i] {
                            self.resolve(None, &c.name)?
                        } else {
                            None
                        };
                        proj.push(match merged {
                            Some(e) => Item::Merged(e, i),
                            None => Item::Col(i),
                        });
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let t = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => object_name(n),
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    let before = proj.len();
                    proj.extend(
                        frame_cols
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| !c.hidden && c.table.eq_ignore_ascii_case(&t))
                            .map(|(i, _)| Item::Col(i)),
                    );
                    for p in &mut proj[before..] {
                        if let Item::Col(i) = *p {
                            if star_merged[i] {
                                if let Some(e) = self.resolve(None, &frame_cols[i].name)? {
                                    *p = Item::Merged(e, i);
                                }
                            }
                        }
                    }
                    if proj.len() == before {
                        return name_err(format!("no such table: {t}"));
                    }
                }
                other => return unsupported(format!("select item {other}")),
            }
        }

        let group_ast: Vec<&AE> = match &sel.group_by {
            ast::GroupByExpr::Expressions(v, mods) => {
                if !mods.is_empty() {
                    return unsupported("GROUP BY modifiers");
                }
                v.iter().collect()
            }
            ast::GroupByExpr::All(_) => return unsupported("GROUP BY ALL"),
        };
        let is_agg = !group_ast.is_empty()
            || sel.having.is_some()
            || proj
                .iter()
                .any(|p| matches!(p, Item::Ast(e, _) if contains_agg(e, 0)))
            || order.iter().any(|o| contains_agg(&o.expr, 0));

        let alias_ast = |name: &str| -> Option<&AE> {
            proj.iter().find_map(|p| match p {
                Item::Ast(e, Some(a)) if a.eq_ignore_ascii_case(name) => Some(*e),
                _ => None,
            })
        };

        let mut aggs: Vec<AggCall> = Vec::new();
        let mut groups: Vec<Expr> = Vec::new();
        for g in &group_ast {
            // GROUP BY <ordinal> / <alias> refer to result columns.
            let target: &AE = match g {
                AE::Value(v) => match literal(&v.value)? {
                    Value::Integer(k) => match proj.get((k as usize).wrapping_sub(1)) {
                        Some(Item::Ast(e, _)) => e,
                        Some(Item::Col(c)) => {
                            groups.push(Expr::Col(*c));
                            continue;
                        }
                        Some(Item::Merged(e, _)) => {
                            groups.push(e.clone());
                            continue;
                        }
                        None => {
                            return Err(Error::Semantic(format!(
                                "GROUP BY term out of range - should be between 1 and {}",
                                proj.len()
                            )))
                        }
                    },
                    _ => g,
                },
                AE::Identifier(id) if self.resolve(None, &id.value).ok().flatten().is_none() => {
                    alias_ast(&id.value).unwrap_or(g)
                }
                _ => g,
            };
            let b = self.bind(target, &mut None)?;
            groups.push(b);
        }

        // Window functions may appear in the result columns and ORDER BY only.
        self.win = Some(window::named_windows(sel)?);
        let mut out_exprs: Vec<Expr> = Vec::new();
        let mut columns: Vec<Column> = Vec::new();
        for p in &proj {
            match p {
                Item::Col(i) => {
                    out_exprs.push(Expr::Col(*i));
                    let c = &frame_cols[*i];
                    columns.push(Column::planned(c.name.clone(), c.ty, c.decl.clone()));
                }
                Item::Merged(e, i) => {
                    out_exprs.push(e.clone());
                    let c = &frame_cols[*i];
                    columns.push(Column::planned(c.name.clone(), c.ty, c.decl.clone()));
                }
                Item::Ast(e, alias) => {
                    let mut slot = Some(&mut aggs);
                    let b = if is_agg {
                        self.bind(e, &mut slot)?
                    } else {
                        self.bind(e, &mut None)?
                    };
                    let name = match (alias, e) {
                        (Some(a), _) => a.clone(),
                        (None, AE::Identifier(id)) => id.value.clone(),
                        (None, AE::CompoundIdentifier(ids)) => {
                            ids.last().map(|i| i.value.clone()).unwrap_or_default()
                        }
                        (None, e) => e.to_string(),
                    };
                    let (ty, decl) = match &b {
                        Expr::Col(i) => frame_cols
                            .get(*i)
                            .map_or((DataType::Null, None), |c| (c.ty, c.decl.clone())),
                        Expr::Cast(_, t) => (*t, None),
                        Expr::Lit(v) => (v.data_type(), None),
                        Expr::Agg(k) => match aggs.get(*k).map(|a| a.func) {
                            Some(AggFunc::CountStar | AggFunc::Count) => (DataType::Integer, None),
                            Some(AggFunc::Total) => (DataType::Real, None),
                            _ => (DataType::Null, None),
                        },
                        _ => (DataType::Null, None),
                    };
                    columns.push(Column::planned(name, ty, decl));
                    out_exprs.push(b);
                }
            }
        }
        let visible = out_exprs.len();

        let mut having = None;
        if let Some(h) = &sel.having {
            let scope = self.win.take();
            let mut slot = Some(&mut aggs);
            let bound = self.bind(h, &mut slot);
            self.win = scope;
            having = Some(bound?);
        }

        // ORDER BY: ordinals and aliases refer to result columns; else an expression.
        let mut sort_keys: Vec<SortKey> = Vec::new();
        let mut extra: Vec<Expr> = Vec::new();
        for (n, o) in order.iter().enumerate() {
            let mut target: Option<usize> = None;
            match &o.expr {
                AE::Value(v) => {
                    if let Value::Integer(k) = literal(&v.value)? {
                        if k < 1 || k as usize > visible {
                            return Err(Error::Semantic(format!(
                                "{} ORDER BY term out of range - should be between 1 and {}",
                                ordinal(n + 1),
                                visible
                            )));
                        }
                        target = Some(k as usize - 1);
                    }
                }
                AE::Identifier(id) => {
                    target = proj.iter().position(
                        |p| matches!(p, Item::Ast(_, Some(a)) if a.eq_ignore_ascii_case(&id.value)),
                    );
                }
                _ => {}
            }
            let col = match target {
                Some(t) => t,
                None => {
                    let mut slot = Some(&mut aggs);
                    let b = if is_agg {
                        self.bind(&o.expr, &mut slot)?
                    } else {
                        self.bind(&o.expr, &mut None)?
                    };
                    let key = expr_key(&b);
                    match out_exprs.iter().position(|x| expr_key(x) == key) {
                        Some(i) => i,
                        None => {
                            extra.push(b);
                            visible + extra.len() - 1
                        }
                    }
                }
            };
            sort_keys.push(sort_key(Expr::Col(col), &o.options));
        }

        let mut win_calls = self.win.take().map(|w| w.calls).unwrap_or_default();
        let mut plan = from_plan;
        let mut all_out: Vec<Expr> = out_exprs.into_iter().chain(extra).collect();
        if !is_agg
            && win_calls.is_empty()
            && !sort_keys.is_empty()
            && ordered_scan(&mut plan, &all_out, &sort_keys, self.limited)
        {
            // The scan already delivers rows in ORDER BY order: no sort (and LIMIT stops it).
            sort_keys.clear();
        }
        if is_agg {
            let ng = groups.len();
            let rewrite_all = |e: &mut Expr| rewrite_post_agg(e, &groups, from_width, ng);
            for e in all_out.iter_mut() {
                rewrite_all(e);
            }
            if let Some(h) = having.as_mut() {
                rewrite_all(h);
            }
            for c in win_calls.iter_mut() {
                for e in c.exprs_mut() {
                    rewrite_all(e);
                }
            }
            plan = Plan::Aggregate {
                input: Box::new(plan),
                groups,
                aggs,
                input_width: from_width,
            };
            if let Some(h) = having {
                plan = filter(plan, h);
            }
        }
        if !win_calls.is_empty() {
            let base = plan.width();
            let (p, cols) = window::plan_windows(plan, win_calls, base);
            plan = p;
            for e in all_out.iter_mut() {
                window::replace_win(e, &cols);
            }
        }
        let total = all_out.len();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs: all_out,
        };
        let distinct = match &sel.distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(_)) => return unsupported("DISTINCT ON"),
        };
        if !sort_keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys: sort_keys,
            };
        }
        if distinct {
            plan = Plan::Distinct {
                input: Box::new(plan),
                width: visible,
            };
        }
        if total > visible {
            plan = Plan::Project {
                input: Box::new(plan),
                exprs: (0..visible).map(Expr::Col).collect(),
            };
        }
        Ok(Planned {
            plan,
            columns,
            correlated: false,
        })
    }

    /// Builds the join tree in FROM order, pushing single-table predicates into scans
    /// (with index selection) and turning equi-join predicates into hash joins.
    fn build_joins(
        &mut self,
        items: Vec<FromItem>,
        offsets: &[usize],
        join_conds: Vec<Vec<Expr>>,
        kinds: &[JoinKind],
        where_conj: &mut Vec<Expr>,
    ) -> Result<Plan> {
        let n = items.len();
        if n < 3 || kinds.iter().any(|k| *k != JoinKind::Inner) || items.iter().any(|i| i.lateral) {
            return self.build_joins_in_order(items, offsets, join_conds, kinds, where_conj);
        }
        // Inner joins only: greedy join ordering. Start from the smallest (filtered) input,
        // then repeatedly add the smallest input connected by an equality to what is joined.
        let ranges: Vec<(usize, usize)> = items
            .iter()
            .zip(offsets)
            .map(|(it, &o)| (o, o + it.cols.len()))
            .collect();
        let table_of = |c: usize| ranges.iter().position(|&(s, e)| c >= s && c < e);
        let tables_of = |e: &Expr| -> Vec<usize> {
            let mut cols = Vec::new();
            e.columns(&mut cols);
            let mut t: Vec<usize> = cols.iter().filter_map(|&c| table_of(c)).collect();
            t.sort_unstable();
            t.dedup();
            t
        };
        let mut conds: Vec<Expr> = join_conds.into_iter().flatten().collect();
        let mut keep = Vec::new();
        for c in std::mem::take(where_conj) {
            if c.has_subquery() {
                keep.push(c);
            } else {
                conds.push(c);
            }
        }
        let est: Vec<f64> = items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let local: Vec<Expr> = conds
                    .iter()
                    .filter(|c| tables_of(c) == [i])
                    .cloned()
                    .collect();
                let probe = FromItem {
                    plan: it.plan.clone(),
                    table: it.table.clone(),
                    cols: Vec::new(),
                    lateral: false,
                };
                estimate(&self.attach_filter(probe, local, ranges[i].0))
            })
            .collect();
        let edges: Vec<(Vec<usize>, Vec<usize>)> = conds
            .iter()
            .filter_map(|c| match c {
                Expr::Bin {
                    op: BinOp::Eq,
                    l,
                    r,
                    ..
                } => {
                    let (a, b) = (tables_of(l), tables_of(r));
                    (!a.is_empty() && !b.is_empty()).then_some((a, b))
                }
                _ => None,
            })
            .collect();
        let mut order: Vec<usize> = Vec::with_capacity(n);
        let mut used = vec![false; n];
        while order.len() < n {
            let connected = |t: usize| {
                edges.iter().any(|(a, b)| {
                    (a.as_slice() == [t] && b.iter().all(|x| used[*x]))
                        || (b.as_slice() == [t] && a.iter().all(|x| used[*x]))
                })
            };
            let candidates: Vec<usize> = (0..n).filter(|&t| !used[t]).collect();
            let pool: Vec<usize> = if order.is_empty() {
                candidates.clone()
            } else {
                let c: Vec<usize> = candidates
                    .iter()
                    .copied()
                    .filter(|&t| connected(t))
                    .collect();
                if c.is_empty() {
                    candidates.clone()
                } else {
                    c
                }
            };
            let best = pool
                .iter()
                .copied()
                .min_by(|&a, &b| est[a].total_cmp(&est[b]).then(a.cmp(&b)))
                .unwrap_or(candidates[0]);
            used[best] = true;
            order.push(best);
        }
        if order.iter().enumerate().all(|(i, &t)| i == t) {
            *where_conj = conds;
            let r =
                self.build_joins_in_order(items, offsets, vec![Vec::new(); n], kinds, where_conj);
            where_conj.extend(keep);
            return r;
        }
        // Reorder the inputs, remap column positions, and restore the FROM layout on top.
        let mut map = vec![0usize; ranges.last().map_or(0, |r| r.1)];
        let mut new_offsets = Vec::with_capacity(n);
        let mut pos = 0;
        for &t in &order {
            new_offsets.push(pos);
            for slot in &mut map[ranges[t].0..ranges[t].1] {
                *slot = pos;
                pos += 1;
            }
        }
        let mut slots: Vec<Option<FromItem>> = items.into_iter().map(Some).collect();
        let new_items: Vec<FromItem> = order.iter().filter_map(|&t| slots[t].take()).collect();
        let mut remapped: Vec<Expr> = conds
            .into_iter()
            .map(|mut c| {
                remap_columns(&mut c, &map);
                c
            })
            .collect();
        let plan = self.build_joins_in_order(
            new_items,
            &new_offsets,
            vec![Vec::new(); n],
            &vec![JoinKind::Inner; n],
            &mut remapped,
        )?;
        // Residual multi-table conjuncts (if any) must be evaluated on the reordered layout.
        let plan = match Expr::conjoin(remapped) {
            Some(pred) => filter(plan, pred),
            None => plan,
        };
        *where_conj = keep;
        Ok(Plan::Project {
            input: Box::new(plan),
            exprs: map.iter().map(|&m| Expr::Col(m)).collect(),
        })
    }

    fn build_joins_in_order(
        &mut self,
        items: Vec<FromItem>,
        offsets: &[usize],
        join_conds: Vec<Vec<Expr>>,
        kinds: &[JoinKind],
        where_conj: &mut Vec<Expr>,
    ) -> Result<Plan> {
        let n = items.len();
        let ranges: Vec<(usize, usize)> = items
            .iter()
            .zip(offsets)
            .map(|(it, &o)| (o, o + it.cols.len()))
            .collect();
        let table_of = |c: usize| ranges.iter().position(|&(s, e)| c >= s && c < e);
        let tables_of = |e: &Expr| -> Vec<usize> {
            let mut cols = Vec::new();
            e.columns(&mut cols);
            let mut t: Vec<usize> = cols.iter().filter_map(|&c| table_of(c)).collect();
            t.sort_unstable();
            t.dedup();
            t
        };
        // A table is NULL-extended when it is the right side of a LEFT/FULL join or lies left
        // of a later RIGHT/FULL join: WHERE conditions on it must see the joined rows.
        let nullable: Vec<bool> = (0..n)
            .map(|t| kinds[t].keeps_left() || kinds[t + 1..].iter().any(|k| k.keeps_right()))
            .collect();
        // WHERE conditions over several tables may join early only when no later RIGHT/FULL
        // join can bring back rows they would have removed.
        let outer_after = |i: usize| kinds[i + 1..].iter().any(|k| k.keeps_right());
        // Assign WHERE conjuncts: single-table ones go to scans of inner-joined tables.
        let mut per_table: Vec<Vec<Expr>> = vec![Vec::new(); n];
        let mut remaining = Vec::new();
        for c in std::mem::take(where_conj) {
            let ts = tables_of(&c);
            if !c.has_subquery() && ts.len() == 1 && !nullable[ts[0]] {
                per_table[ts[0]].push(c);
            } else if !c.has_subquery() && ts.is_empty() && !c.is_constant() && !nullable[0] {
                per_table[0].push(c);
            } else {
                remaining.push(c);
            }
        }
        let mut join_conds = join_conds;
        // ON conditions of LEFT joins that only touch the right table filter the right side.
        for i in 1..n {
            if kinds[i] == JoinKind::Left {
                let conds = std::mem::take(&mut join_conds[i]);
                for c in conds {
                    let ts = tables_of(&c);
                    if !c.has_subquery() && ts == [i] {
                        per_table[i].push(c);
                    } else {
                        join_conds[i].push(c);
                    }
                }
            }
        }
        let lateral: Vec<bool> = items.iter().map(|it| it.lateral).collect();
        let mut plans: Vec<Plan> = Vec::new();
        for (i, it) in items.into_iter().enumerate() {
            let conds = std::mem::take(&mut per_table[i]);
            plans.push(self.attach_filter(it, conds, offsets[i]));
        }
        let mut iter = plans.into_iter().enumerate();
        let Some((_, mut acc)) = iter.next() else {
            return Ok(Plan::Empty { width: 0 });
        };
        for (i, right) in iter {
            let kind = kinds[i];
            let mut conds = std::mem::take(&mut join_conds[i]);
            if kind == JoinKind::Inner && !outer_after(i) {
                // WHERE conjuncts fully covered by tables 0..=i join here.
                let mut keep = Vec::new();
                for c in remaining.drain(..) {
                    let ts = tables_of(&c);
                    if !c.has_subquery() && ts.iter().all(|&t| t <= i) && !ts.is_empty() {
                        conds.push(c);
                    } else {
                        keep.push(c);
                    }
                }
                remaining = keep;
            }
            let (rs, re) = ranges[i];
            if lateral[i] {
                if !matches!(kind, JoinKind::Inner | JoinKind::Left) {
                    return unsupported(
                        "RIGHT or FULL JOIN of a table-valued function over earlier tables",
                    );
                }
                acc = Plan::LateralJoin {
                    left: Box::new(acc),
                    right: Box::new(right),
                    kind,
                    on: Expr::conjoin(conds),
                    right_width: re - rs,
                };
                continue;
            }
            // Split equi-join keys: left expr only over tables < i, right expr only over table i.
            let mut lkeys = Vec::new();
            let mut rkeys = Vec::new();
            let mut key_conds = Vec::new();
            let mut residual = Vec::new();
            for c in conds {
                if let Expr::Bin {
                    op: BinOp::Eq,
                    l,
                    r,
                    aff: (None, None),
                } = &c
                {
                    let lt = tables_of(l);
                    let rt = tables_of(r);
                    let left_only = |t: &Vec<usize>| !t.is_empty() && t.iter().all(|&x| x < i);
                    let right_only = |t: &Vec<usize>| t.as_slice() == [i];
                    if !c.has_subquery() && left_only(&lt) && right_only(&rt) {
                        let mut rk = (**r).clone();
                        rk.shift_columns(rs);
                        lkeys.push((**l).clone());
                        rkeys.push(rk);
                        key_conds.push(c);
                        continue;
                    }
                    if !c.has_subquery() && left_only(&rt) && right_only(&lt) {
                        let mut rk = (**l).clone();
                        rk.shift_columns(rs);
                        lkeys.push((**r).clone());
                        rkeys.push(rk);
                        key_conds.push(c);
                        continue;
                    }
                }
                residual.push(c);
            }
            let right_width = re - rs;
            let probe = if kind.keeps_right() {
                None
            } else {
                index_join_probe(&acc, &right, &rkeys)
            };
            if let Some((index, used)) = probe {
                let Plan::Scan {
                    table,
                    alias,
                    filter,
                    ..
                } = right
                else {
                    return Err(Error::Internal("index join over a non-scan".into()));
                };
                let keys = used.iter().map(|&j| lkeys[j].clone()).collect();
                residual.extend(
                    key_conds
                        .into_iter()
                        .enumerate()
                        .filter(|(j, _)| !used.contains(j))
                        .map(|(_, c)| c),
                );
                acc = Plan::IndexJoin {
                    left: Box::new(acc),
                    table,
                    alias,
                    index,
                    keys,
                    filter,
                    residual: Expr::conjoin(residual),
                    kind,
                };
                continue;
            }
            acc = if lkeys.is_empty() {
                Plan::NestedLoop {
                    left: Box::new(acc),
                    right: Box::new(right),
                    kind,
                    on: Expr::conjoin(residual),
                    right_width,
                }
            } else {
                let build_left = kind == JoinKind::Inner && estimate(&acc) < estimate(&right);
                Plan::HashJoin {
                    left: Box::new(acc),
                    right: Box::new(right),
                    kind,
                    left_keys: lkeys,
                    right_keys: rkeys,
                    residual: Expr::conjoin(residual),
                    build_left,
                    right_width,
                }
            };
        }
        *where_conj = remaining;
        Ok(acc)
    }

    fn attach_filter(&mut self, it: FromItem, conds: Vec<Expr>, offset: usize) -> Plan {
        if conds.is_empty() {
            return it.plan;
        }
        let mut local: Vec<Expr> = conds
            .into_iter()
            .map(|mut c| {
                c.shift_columns(offset);
                c
            })
            .collect();
        match (it.plan, it.table) {
            (Plan::Scan { table, alias, .. }, Some(_)) => {
                let access = choose_access(&table, &local);
                Plan::Scan {
                    table,
                    alias,
                    access,
                    filter: Expr::conjoin(std::mem::take(&mut local)),
                    reverse: false,
                }
            }
            (p, _) => match Expr::conjoin(local) {
                Some(pred) => filter(p, pred),
                None => p,
            },
        }
    }

    /// Binds an expression against a single table's columns (UPDATE/DELETE/CHECK/defaults).
    pub fn bind_in_table(&mut self, table: Option<&TableDef>, e: &AE) -> Result<Expr> {
        match table {
            Some(t) => self.bind_in_tables(&[(t.name.as_str(), t)], e),
            None => self.bind_in_tables(&[], e),
        }
    }

    /// Binds an expression against the columns of several tables laid side by side, each
    /// visible under the given name (UPSERT binds the target table and `excluded`). Only the
    /// first table's columns resolve without a qualifier.
    pub fn bind_in_tables(&mut self, tables: &[(&str, &TableDef)], e: &AE) -> Result<Expr> {
        let mut f = Frame {
            qualified_only_from: tables.first().map(|(_, t)| t.columns.len()),
            ..Frame::default()
        };
        for (name, t) in tables {
            f.cols.extend(t.columns.iter().map(|c| ScopeCol {
                table: (*name).to_string(),
                name: c.name.clone(),
                ty: c.ty,
                aff: Some(c.affinity),
                decl: decl_text(&c.decl_type),
                hidden: false,
                merged: false,
                coalesce: Vec::new(),
                value: None,
            }));
        }
        self.frames.push(f);
        let r = self.bind(e, &mut None);
        self.frames.pop();
        r
    }

    /// Binds a RETURNING list over one row of `table`: the expressions and the result
    /// columns, named as SELECT names them.
    pub fn bind_returning(
        &mut self,
        table: &TableDef,
        items: &[SelectItem],
    ) -> Result<(Vec<Expr>, Vec<Column>)> {
        let mut exprs = Vec::new();
        let mut columns = Vec::new();
        let whole_row = |exprs: &mut Vec<Expr>, columns: &mut Vec<Column>| {
            for (i, c) in table.columns.iter().enumerate() {
                exprs.push(Expr::Col(i));
                columns.push(Column::planned(
                    c.name.clone(),
                    c.ty,
                    decl_text(&c.decl_type),
                ));
            }
        };
        for it in items {
            let (e, alias) = match it {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
                SelectItem::Wildcard(_) => {
                    whole_row(&mut exprs, &mut columns);
                    continue;
                }
                SelectItem::QualifiedWildcard(
                    ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) if object_name(n).eq_ignore_ascii_case(&table.name) => {
                    whole_row(&mut exprs, &mut columns);
                    continue;
                }
                other => return unsupported(format!("RETURNING item {other}")),
            };
            if contains_agg(e, 0) {
                return Err(Error::Semantic(
                    "aggregate functions are not allowed in RETURNING".into(),
                ));
            }
            let b = self.bind_in_table(Some(table), e)?;
            let name = match (alias, e) {
                (Some(a), _) => a,
                (None, AE::Identifier(id)) => id.value.clone(),
                (None, AE::CompoundIdentifier(ids)) => {
                    ids.last().map(|i| i.value.clone()).unwrap_or_default()
                }
                (None, e) => e.to_string(),
            };
            let (ty, decl) = match &b {
                Expr::Col(i) => table
                    .columns
                    .get(*i)
                    .map_or((DataType::Null, None), |c| (c.ty, decl_text(&c.decl_type))),
                Expr::Cast(_, t) => (*t, None),
                Expr::Lit(v) => (v.data_type(), None),
                _ => (DataType::Null, None),
            };
            columns.push(Column::planned(name, ty, decl));
            exprs.push(b);
        }
        Ok((exprs, columns))
    }

    /// Chooses an access path for a DML statement's WHERE over `table`.
    pub fn dml_access(&mut self, table: &TableDef, pred: Option<&Expr>) -> Access {
        let mut conj = Vec::new();
        if let Some(p) = pred {
            p.clone().into_conjuncts(&mut conj);
        }
        choose_access(table, &conj)
    }
}

/// Rebinds an expression over a frame `depth` levels further out (its columns become outer
/// references).
fn to_outer(e: &mut Expr, depth: usize) {
    match e {
        Expr::Col(i) => *e = Expr::Outer { depth, idx: *i },
        Expr::Outer { depth: d, .. } => *d += depth,
        _ => {
            for c in e.children_mut() {
                to_outer(c, depth);
            }
        }
    }
}

/// `sqlite_schema`, `sqlite_master` (also `main.`-qualified), the names SQLite gives its
/// schema table; a user table of that name takes precedence (it is looked up first).
fn is_schema_table(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.strip_prefix("main.").unwrap_or(&n);
    n == "sqlite_schema" || n == "sqlite_master"
}

fn derived(p: Planned, alias: String) -> FromItem {
    let cols = p
        .columns
        .iter()
        .map(|c| ScopeCol {
            table: alias.clone(),
            name: c.name.clone(),
            ty: c.ty,
            aff: None,
            decl: c.decl_type.clone(),
            hidden: false,
            merged: false,
            coalesce: Vec::new(),
            value: None,
        })
        .collect();
    FromItem {
        plan: p.plan,
        table: None,
        cols,
        lateral: false,
    }
}

fn filter(p: Plan, pred: Expr) -> Plan {
    match pred {
        Expr::Lit(ref v) if v.truthy() == Some(true) => p,
        Expr::Lit(_) => Plan::Empty { width: p.width() },
        pred => Plan::Filter {
            input: Box::new(p),
            pred,
        },
    }
}

/// Whether joining `right` to `left` should look rows up through `right`'s rowid or an index
/// (index nested-loop join) instead of hashing: `right` must be a table scan, the equi-join
/// keys `rkeys` (over the right row) must cover its rowid or an index's leading columns, and
/// the estimated probes must cost less than reading the table. Returns the index (None: rowid)
/// and the positions in `rkeys` of the keys to probe with, in index column order.
fn index_join_probe(
    left: &Plan,
    right: &Plan,
    rkeys: &[Expr],
) -> Option<(Option<IndexDef>, Vec<usize>)> {
    let Plan::Scan { table, .. } = right else {
        return None;
    };
    let key_of = |col: usize, used: &[usize]| {
        rkeys
            .iter()
            .enumerate()
            .position(|(j, k)| matches!(k, Expr::Col(c) if *c == col) && !used.contains(&j))
    };
    let mut best: Option<(Option<IndexDef>, Vec<usize>)> = table
        .rowid_column
        .and_then(|rc| key_of(rc, &[]))
        .map(|j| (None, vec![j]));
    if best.is_none() {
        for ix in &table.indexes {
            let mut used = Vec::new();
            for &c in &ix.columns {
                match key_of(c, &used) {
                    Some(j) => used.push(j),
                    None => break,
                }
            }
            let full_unique = |ix: &IndexDef, n: usize| ix.unique && n == ix.columns.len();
            let better = match &best {
                _ if used.is_empty() => false,
                None => true,
                Some((Some(b), u)) => {
                    (full_unique(ix, used.len()), used.len()) > (full_unique(b, u.len()), u.len())
                }
                Some((None, _)) => false,
            };
            if better {
                best = Some((Some(ix.clone()), used));
            }
        }
    }
    let (index, used) = best?;
    // Cost: a hash join reads the whole table once; the index join does one probe (a point
    // read, several times a scan step) per left row plus a row read per match.
    let table_rows = table.stats.as_ref().map_or(1000.0, |s| s.rows as f64);
    let per_probe = crate::plan::rows_per_probe(table, index.as_ref(), used.len());
    let left_rows = estimate(left);
    (left_rows * (4.0 + 2.0 * per_probe) < table_rows).then_some((index, used))
}

/// The ORDER BY rule: when a single-table scan can deliver its rows in the order of
/// `sort_keys` (over `out`, the projection of the scan row), sets the scan's direction (and,
/// with `limited`, switches a full scan to a full scan of an index whose leading columns are
/// the sort keys) and returns true, so the caller drops the sort. Rowid order serves keys that
/// start with the INTEGER PRIMARY KEY column; index order (columns, then rowid) serves keys that
/// follow the index columns after its equality-bound prefix. All keys must share one direction
/// with SQLite's default NULL placement (first ascending, last descending), which is where NULL
/// sorts in the key encoding. Collations are binary everywhere, as in the key encoding.
fn ordered_scan(plan: &mut Plan, out: &[Expr], sort_keys: &[SortKey], limited: bool) -> bool {
    let scan = match plan {
        Plan::Filter { input, .. } => input.as_mut(),
        p => p,
    };
    let Plan::Scan {
        table,
        access,
        reverse,
        ..
    } = scan
    else {
        return false;
    };
    let desc = sort_keys[0].desc;
    let mut cols = Vec::with_capacity(sort_keys.len());
    for k in sort_keys {
        if k.desc != desc || k.nulls_first == desc {
            return false;
        }
        let Expr::Col(i) = k.expr else { return false };
        match out.get(i) {
            Some(Expr::Col(c)) if *c < table.columns.len() => cols.push(*c),
            _ => return false,
        }
    }
    let rowid = table.rowid_column;
    // Rowid order.
    if rowid.is_some() && cols.first().copied() == rowid {
        if matches!(
            access,
            Access::Full | Access::RowidRange { .. } | Access::RowidIn(_)
        ) {
            *reverse = desc;
            return true;
        }
        return false;
    }
    // Does index order (`index` with `bound` leading columns fixed by equality) serve `cols`?
    let serves = |index: &IndexDef, bound: usize| -> bool {
        let fixed = &index.columns[..bound.min(index.columns.len())];
        let mut order = index.columns[fixed.len()..].iter().copied().chain(rowid);
        for c in cols.iter().filter(|c| !fixed.contains(c)) {
            match order.next() {
                Some(o) if o == *c => {
                    if Some(o) == rowid {
                        return true;
                    }
                }
                _ => return false,
            }
        }
        true
    };
    match access {
        Access::Index { index, eq, .. } if eq.len() <= 1 => {
            if serves(index, eq.first().map_or(0, Vec::len)) {
                *reverse = desc;
                return true;
            }
            false
        }
        Access::Full if limited => {
            let Some(index) = table
                .indexes
                .iter()
                .find(|ix| ix.columns.first() == cols.first() && serves(ix, 0))
                .cloned()
            else {
                return false;
            };
            *access = Access::Index {
                index,
                eq: vec![vec![]],
                lo: None,
                hi: None,
            };
            *reverse = desc;
            true
        }
        _ => false,
    }
}

fn sort_key(expr: Expr, o: &ast::OrderByOptions) -> SortKey {
    let desc = matches!(o.sort, Some(ast::OrderBySort::Desc));
    SortKey {
        expr,
        desc,
        nulls_first: o.nulls_first.unwrap_or(!desc),
    }
}

fn remap_columns(e: &mut Expr, map: &[usize]) {
    if let Expr::Col(i) = e {
        if let Some(m) = map.get(*i) {
            *i = *m;
        }
    }
    for c in e.children_mut() {
        remap_columns(c, map);
    }
}

fn rewrite_post_agg(e: &mut Expr, groups: &[Expr], from_width: usize, ng: usize) {
    if let Some(i) = groups.iter().position(|g| expr_key(g) == expr_key(e)) {
        if !matches!(e, Expr::Lit(_)) {
            *e = Expr::Col(from_width + i);
            return;
        }
    }
    if let Expr::Agg(k) = e {
        *e = Expr::Col(from_width + ng + *k);
        return;
    }
    for c in e.children_mut() {
        rewrite_post_agg(c, groups, from_width, ng);
    }
}

/// Estimated output rows of a plan (see [`Plan::estimated_rows`]).
pub fn estimate(p: &Plan) -> f64 {
    p.estimated_rows()
}

// ---------------------------------------------------------------- access path selection

#[derive(Default, Clone)]
struct ColPreds {
    eq: Option<Vec<Expr>>, // one or several (IN) candidate values
    lo: Option<(Expr, bool)>,
    hi: Option<(Expr, bool)>,
}

fn collect_col_preds(table: &TableDef, conj: &[Expr]) -> Vec<ColPreds> {
    let mut preds = vec![ColPreds::default(); table.columns.len()];
    let col_ok = |col_aff: Option<Affinity>, c: usize| match col_aff {
        None => true,
        Some(a) => table.columns.get(c).is_some_and(|cd| cd.affinity == a),
    };
    for e in conj {
        match e {
            Expr::Bin { op, l, r, aff } if op.is_cmp() && *op != BinOp::Ne => {
                let (c, other, op, caff, oaff) = match (l.as_ref(), r.as_ref()) {
                    (Expr::Col(c), o) if o.is_row_independent() => (*c, o, *op, aff.0, aff.1),
                    (o, Expr::Col(c)) if o.is_row_independent() => (*c, o, op.flip(), aff.1, aff.0),
                    _ => continue,
                };
                if c >= preds.len() || !col_ok(caff, c) {
                    continue;
                }
                let v = apply_aff_expr(other, oaff);
                let p = &mut preds[c];
                match op {
                    BinOp::Eq if p.eq.is_none() => p.eq = Some(vec![v]),
                    BinOp::Gt => p.lo = Some((v, false)),
                    BinOp::Ge => p.lo = Some((v, true)),
                    BinOp::Lt => p.hi = Some((v, false)),
                    BinOp::Le => p.hi = Some((v, true)),
                    _ => {}
                }
            }
            Expr::Between {
                e,
                lo,
                hi,
                neg: false,
                aff,
            } => {
                if let Expr::Col(c) = e.as_ref() {
                    if *c < preds.len() && lo.is_row_independent() && hi.is_row_independent() {
                        preds[*c].lo = Some((apply_aff_expr(lo, *aff), true));
                        preds[*c].hi = Some((apply_aff_expr(hi, *aff), true));
                    }
                }
            }
            Expr::InList {
                e,
                list,
                neg: false,
                aff,
            } => {
                if let Expr::Col(c) = e.as_ref() {
                    if *c < preds.len()
                        && preds[*c].eq.is_none()
                        && !list.is_empty()
                        && list.len() <= 1000
                        && list.iter().all(Expr::is_row_independent)
                    {
                        preds[*c].eq = Some(list.iter().map(|x| apply_aff_expr(x, *aff)).collect());
                    }
                }
            }
            _ => {}
        }
    }
    preds
}

/// Wraps `e` so that evaluating it applies comparison affinity `aff`.
fn apply_aff_expr(e: &Expr, aff: Option<Affinity>) -> Expr {
    match aff {
        None | Some(Affinity::Blob) => e.clone(),
        Some(a) => Expr::Aff(Box::new(e.clone()), a),
    }
}

fn choose_access(table: &TableDef, conj: &[Expr]) -> Access {
    let preds = collect_col_preds(table, conj);
    if let Some(rc) = table.rowid_column {
        if let Some(eq) = &preds[rc].eq {
            return Access::RowidIn(eq.clone());
        }
    }
    let mut best: Option<(usize, Access)> = None;
    for idx in &table.indexes {
        let mut eq_cols = 0;
        let mut tuples: Vec<Vec<Expr>> = vec![vec![]];
        for &c in &idx.columns {
            match preds.get(c).and_then(|p| p.eq.as_ref()) {
                Some(vals) if vals.len() == 1 => {
                    for t in &mut tuples {
                        t.push(vals[0].clone());
                    }
                    eq_cols += 1;
                }
                Some(vals) if eq_cols == 0 => {
                    tuples = vals.iter().map(|v| vec![v.clone()]).collect();
                    eq_cols += 1;
                }
                _ => break,
            }
        }
        let next = idx.columns.get(eq_cols).and_then(|&c| preds.get(c));
        let (lo, hi) = match next {
            Some(p) if p.eq.is_none() => (p.lo.clone(), p.hi.clone()),
            _ => (None, None),
        };
        if eq_cols == 0 && lo.is_none() && hi.is_none() {
            continue;
        }
        let full_unique = idx.unique && eq_cols == idx.columns.len();
        let score = eq_cols * 10
            + usize::from(lo.is_some()) * 3
            + usize::from(hi.is_some()) * 3
            + usize::from(full_unique) * 100;
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((
                score,
                Access::Index {
                    index: idx.clone(),
                    eq: tuples,
                    lo,
                    hi,
                },
            ));
        }
    }
    if let Some(rc) = table.rowid_column {
        let p = &preds[rc];
        if (p.lo.is_some() || p.hi.is_some()) && best.as_ref().is_none_or(|(s, _)| *s < 10) {
            return Access::RowidRange {
                lo: p.lo.clone(),
                hi: p.hi.clone(),
            };
        }
    }
    best.map_or(Access::Full, |(_, a)| a)
}

fn raise_syntax(near: &str) -> Error {
    Error::Syntax {
        message: format!(
            "near \"{near}\": RAISE takes IGNORE, or ABORT, FAIL or ROLLBACK and a message"
        ),
    }
}

/// Constant folding: evaluates constant subtrees (errors are left for run time).
pub fn fold(e: Expr) -> Expr {
    if matches!(e, Expr::Lit(_)) || !e.is_constant() {
        return e;
    }
    match eval_const(&e) {
        Ok(v) => Expr::Lit(v),
        Err(_) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_expr(s: &str) -> AE {
        sqlparser::parser::Parser::new(&sqlparser::dialect::GenericDialect {})
            .try_with_sql(s)
            .and_then(|mut p| p.parse_expr())
            .unwrap()
    }

    #[test]
    fn comparison_chains_follow_sqlite_precedence() {
        let e = parse_expr("a <> b >= c");
        let fixed = regroup_comparisons(&e).unwrap();
        assert_eq!(fixed, parse_expr("a <> (b >= c)").pipe_unnest());
        let e = parse_expr("a = b < c = d");
        assert_eq!(
            regroup_comparisons(&e).unwrap(),
            parse_expr("(a = (b < c)) = d").pipe_unnest()
        );
        assert!(regroup_comparisons(&parse_expr("a < b < c")).is_none());
        assert!(regroup_comparisons(&parse_expr("a = b = c")).is_none());
    }

    trait Unnest {
        fn pipe_unnest(self) -> AE;
    }
    impl Unnest for AE {
        /// Removes explicit parentheses so shapes can be compared.
        fn pipe_unnest(self) -> AE {
            match self {
                AE::Nested(x) => x.pipe_unnest(),
                AE::BinaryOp { left, op, right } => AE::BinaryOp {
                    left: Box::new(left.pipe_unnest()),
                    op,
                    right: Box::new(right.pipe_unnest()),
                },
                other => other,
            }
        }
    }

    #[test]
    fn comparison_affinity_rules() {
        assert_eq!(
            cmp_affinity(Some(Affinity::Integer), None),
            (None, Some(Affinity::Numeric))
        );
        assert_eq!(
            cmp_affinity(Some(Affinity::Text), Some(Affinity::Blob)),
            (None, Some(Affinity::Text))
        );
        assert_eq!(
            cmp_affinity(Some(Affinity::Integer), Some(Affinity::Real)),
            (None, None)
        );
        assert_eq!(cmp_affinity(None, None), (None, None));
    }

    #[test]
    fn constant_folding_keeps_errors_for_run_time() {
        let folded = fold(Expr::Bin {
            op: BinOp::Add,
            l: Box::new(Expr::lit(1)),
            r: Box::new(Expr::lit(2)),
            aff: (None, None),
        });
        assert!(matches!(folded, Expr::Lit(Value::Integer(3))));
        let overflow = Expr::Func(Func::Abs, vec![Expr::lit(i64::MIN)]);
        assert!(matches!(fold(overflow), Expr::Func(Func::Abs, _)));
    }
}
