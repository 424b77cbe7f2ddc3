//! Bound (resolved) expressions and the pure parts of their evaluation: arithmetic,
//! comparison with affinity, LIKE/GLOB, CAST and scalar functions.

use std::cmp::Ordering;

use crate::datetime::DateFunc;
use crate::error::{rt, Result};
use crate::plan::Plan;
use crate::value::{real_to_i64_saturating, Affinity, DataType, Value};

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `||`
    Concat,
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

impl BinOp {
    /// True for comparison operators.
    pub fn is_cmp(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
    /// The operator with operands swapped (`a < b` == `b > a`).
    pub fn flip(self) -> BinOp {
        match self {
            BinOp::Lt => BinOp::Gt,
            BinOp::Le => BinOp::Ge,
            BinOp::Gt => BinOp::Lt,
            BinOp::Ge => BinOp::Le,
            o => o,
        }
    }
    /// SQL spelling.
    pub fn sql(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Concat => "||",
            BinOp::Eq => "=",
            BinOp::Ne => "<>",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `+x` (no-op)
    Plus,
    /// `NOT x`
    Not,
    /// `~x`
    BitNot,
}

/// Scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// abs(x)
    Abs,
    /// coalesce(x, y, ...)
    Coalesce,
    /// ifnull(x, y)
    IfNull,
    /// nullif(x, y)
    NullIf,
    /// length(x)
    Length,
    /// lower(x)
    Lower,
    /// upper(x)
    Upper,
    /// substr(x, start [, len])
    Substr,
    /// round(x [, digits])
    Round,
    /// typeof(x)
    TypeOf,
    /// min(a, b, ...) scalar
    Min,
    /// max(a, b, ...) scalar
    Max,
    /// instr(haystack, needle)
    Instr,
    /// replace(x, from, to)
    Replace,
    /// trim(x [, chars])
    Trim,
    /// ltrim(x [, chars])
    LTrim,
    /// rtrim(x [, chars])
    RTrim,
    /// hex(x)
    Hex,
    /// iif(c, a, b)
    Iif,
    /// sign(x)
    Sign,
    /// random()
    Random,
    /// quote(x)
    Quote,
    /// date/time/datetime/julianday/unixepoch/strftime (see [`crate::datetime`])
    Date(crate::datetime::DateFunc),
    /// JSON functions and the `->` / `->>` operators (see [`crate::json`])
    Json(crate::json::JsonFunc),
    /// `RAISE(kind [, message])`, only in trigger programs: always an error
    /// ([`Error::Raise`]) when evaluated.
    Raise(crate::error::RaiseKind),
    /// char, unicode, printf, math functions, ... (see [`crate::corefunc`])
    Core(crate::corefunc::CoreFunc),
}

impl Func {
    /// Looks a scalar function up by (lower-case) name; returns allowed arg counts.
    pub fn lookup(name: &str) -> Option<(Func, usize, usize)> {
        Some(match name {
            "abs" => (Func::Abs, 1, 1),
            "coalesce" => (Func::Coalesce, 2, usize::MAX),
            "ifnull" => (Func::IfNull, 2, 2),
            "nullif" => (Func::NullIf, 2, 2),
            "length" => (Func::Length, 1, 1),
            "lower" => (Func::Lower, 1, 1),
            "upper" => (Func::Upper, 1, 1),
            "substr" | "substring" => (Func::Substr, 2, 3),
            "round" => (Func::Round, 1, 2),
            "typeof" => (Func::TypeOf, 1, 1),
            "min" => (Func::Min, 2, usize::MAX),
            "max" => (Func::Max, 2, usize::MAX),
            "instr" => (Func::Instr, 2, 2),
            "replace" => (Func::Replace, 3, 3),
            "trim" => (Func::Trim, 1, 2),
            "ltrim" => (Func::LTrim, 1, 2),
            "rtrim" => (Func::RTrim, 1, 2),
            "hex" => (Func::Hex, 1, 1),
            "iif" => (Func::Iif, 3, 3),
            "sign" => (Func::Sign, 1, 1),
            "random" => (Func::Random, 0, 0),
            "quote" => (Func::Quote, 1, 1),
            "date" => (Func::Date(DateFunc::Date), 0, usize::MAX),
            "time" => (Func::Date(DateFunc::Time), 0, usize::MAX),
            "datetime" => (Func::Date(DateFunc::DateTime), 0, usize::MAX),
            "julianday" => (Func::Date(DateFunc::JulianDay), 0, usize::MAX),
            "unixepoch" => (Func::Date(DateFunc::UnixEpoch), 0, usize::MAX),
            "strftime" => (Func::Date(DateFunc::StrFTime), 1, usize::MAX),
            _ => {
                if let Some((c, min, max)) = crate::corefunc::CoreFunc::lookup(name) {
                    return Some((Func::Core(c), min, max));
                }
                let (j, min, max) = crate::json::JsonFunc::lookup(name)?;
                (Func::Json(j), min, max)
            }
        })
    }
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// count(*)
    CountStar,
    /// count(x)
    Count,
    /// sum(x)
    Sum,
    /// total(x)
    Total,
    /// avg(x)
    Avg,
    /// min(x)
    Min,
    /// max(x)
    Max,
    /// group_concat(x [, sep])
    GroupConcat,
    /// json_group_array(x); `true` when x is JSON to embed (not a string)
    JsonGroupArray(bool),
    /// json_group_object(label, x); `true` when x is JSON to embed
    JsonGroupObject(bool),
}

/// One aggregate call in an aggregation node.
#[derive(Debug, Clone)]
pub struct AggCall {
    /// The function.
    pub func: AggFunc,
    /// Arguments (bound against the aggregation input).
    pub args: Vec<Expr>,
    /// DISTINCT modifier.
    pub distinct: bool,
    /// FILTER (WHERE ...): only rows for which it is true are aggregated.
    pub filter: Option<Expr>,
}

/// A bound expression. Column references are positions in the input row.
#[derive(Debug, Clone)]
pub enum Expr {
    /// Constant.
    Lit(Value),
    /// Column of the current row.
    Col(usize),
    /// Column of an enclosing query's current row (`depth` 1 = directly enclosing).
    Outer {
        /// How many query levels up.
        depth: usize,
        /// Column position in that row.
        idx: usize,
    },
    /// Statement parameter (0-based).
    Param(usize),
    /// Unary operator.
    Unary(UnOp, Box<Expr>),
    /// Binary operator; for comparisons, `aff` holds the affinities applied to each side.
    Bin {
        /// Operator.
        op: BinOp,
        /// Left operand.
        l: Box<Expr>,
        /// Right operand.
        r: Box<Expr>,
        /// Affinity conversions applied to (left, right) before comparing.
        aff: (Option<Affinity>, Option<Affinity>),
    },
    /// `x IS [NOT] NULL`
    IsNull(Box<Expr>, bool),
    /// `x IS [NOT] y` (NULL-safe equality).
    Is(Box<Expr>, Box<Expr>, bool),
    /// `x [NOT] BETWEEN lo AND hi`
    Between {
        /// Tested value.
        e: Box<Expr>,
        /// Lower bound.
        lo: Box<Expr>,
        /// Upper bound.
        hi: Box<Expr>,
        /// NOT BETWEEN.
        neg: bool,
        /// Affinity applied to the bounds.
        aff: Option<Affinity>,
    },
    /// `x [NOT] IN (list)`
    InList {
        /// Tested value.
        e: Box<Expr>,
        /// Candidates.
        list: Vec<Expr>,
        /// NOT IN.
        neg: bool,
        /// Affinity applied to the candidates.
        aff: Option<Affinity>,
    },
    /// `x [NOT] IN (SELECT ...)`
    InSub {
        /// Tested value.
        e: Box<Expr>,
        /// Subquery plan (one column).
        plan: Box<Plan>,
        /// NOT IN.
        neg: bool,
        /// References enclosing rows (no caching).
        correlated: bool,
        /// Cache slot.
        id: usize,
    },
    /// `[NOT] EXISTS (SELECT ...)`
    Exists {
        /// Subquery plan.
        plan: Box<Plan>,
        /// NOT EXISTS.
        neg: bool,
        /// References enclosing rows.
        correlated: bool,
        /// Cache slot.
        id: usize,
    },
    /// `(SELECT ...)` scalar subquery.
    Scalar {
        /// Subquery plan.
        plan: Box<Plan>,
        /// References enclosing rows.
        correlated: bool,
        /// Cache slot.
        id: usize,
    },
    /// `x [NOT] LIKE/GLOB pattern [ESCAPE e]`
    Like {
        /// Tested value.
        e: Box<Expr>,
        /// Pattern.
        pat: Box<Expr>,
        /// Escape character.
        esc: Option<Box<Expr>>,
        /// NOT LIKE.
        neg: bool,
        /// GLOB (case-sensitive, `*`/`?`) instead of LIKE.
        glob: bool,
    },
    /// CASE expression.
    Case {
        /// `CASE operand WHEN ...` form.
        operand: Option<Box<Expr>>,
        /// WHEN / THEN pairs.
        whens: Vec<(Expr, Expr)>,
        /// ELSE.
        els: Option<Box<Expr>>,
    },
    /// `CAST(x AS type)`
    Cast(Box<Expr>, DataType),
    /// Scalar function call.
    Func(Func, Vec<Expr>),
    /// A user-defined scalar function call.
    Udf(std::sync::Arc<crate::func::ScalarFunction>, Vec<Expr>),
    /// Aggregate placeholder (only during binding).
    Agg(usize),
    /// Window function placeholder (only during binding).
    Win(usize),
    /// Applies a comparison affinity to the value (used for index probe keys).
    Aff(Box<Expr>, Affinity),
}

impl Expr {
    /// Literal shorthand.
    pub fn lit(v: impl Into<Value>) -> Expr {
        Expr::Lit(v.into())
    }

    /// Visits direct children.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Lit(_)
            | Expr::Col(_)
            | Expr::Outer { .. }
            | Expr::Param(_)
            | Expr::Agg(_)
            | Expr::Win(_) => {
                vec![]
            }
            Expr::Unary(_, e) | Expr::IsNull(e, _) | Expr::Cast(e, _) | Expr::Aff(e, _) => vec![e],
            Expr::Bin { l, r, .. } | Expr::Is(l, r, _) => vec![l, r],
            Expr::Between { e, lo, hi, .. } => vec![e, lo, hi],
            Expr::InList { e, list, .. } => {
                let mut v = vec![e.as_ref()];
                v.extend(list.iter());
                v
            }
            Expr::InSub { e, .. } => vec![e],
            Expr::Exists { .. } | Expr::Scalar { .. } => vec![],
            Expr::Like { e, pat, esc, .. } => {
                let mut v = vec![e.as_ref(), pat.as_ref()];
                if let Some(x) = esc {
                    v.push(x);
                }
                v
            }
            Expr::Case {
                operand,
                whens,
                els,
            } => {
                let mut v = Vec::new();
                if let Some(o) = operand {
                    v.push(o.as_ref());
                }
                for (a, b) in whens {
                    v.push(a);
                    v.push(b);
                }
                if let Some(e) = els {
                    v.push(e);
                }
                v
            }
            Expr::Func(_, args) | Expr::Udf(_, args) => args.iter().collect(),
        }
    }

    /// Mutable version of [`Expr::children`].
    pub fn children_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Expr::Lit(_)
            | Expr::Col(_)
            | Expr::Outer { .. }
            | Expr::Param(_)
            | Expr::Agg(_)
            | Expr::Win(_) => {
                vec![]
            }
            Expr::Unary(_, e) | Expr::IsNull(e, _) | Expr::Cast(e, _) | Expr::Aff(e, _) => vec![e],
            Expr::Bin { l, r, .. } | Expr::Is(l, r, _) => vec![l, r],
            Expr::Between { e, lo, hi, .. } => vec![e, lo, hi],
            Expr::InList { e, list, .. } => {
                let mut v = vec![e.as_mut()];
                v.extend(list.iter_mut());
                v
            }
            Expr::InSub { e, .. } => vec![e],
            Expr::Exists { .. } | Expr::Scalar { .. } => vec![],
            Expr::Like { e, pat, esc, .. } => {
                let mut v = vec![e.as_mut(), pat.as_mut()];
                if let Some(x) = esc {
                    v.push(x);
                }
                v
            }
            Expr::Case {
                operand,
                whens,
                els,
            } => {
                let mut v = Vec::new();
                if let Some(o) = operand {
                    v.push(o.as_mut());
                }
                for (a, b) in whens {
                    v.push(a);
                    v.push(b);
                }
                if let Some(e) = els {
                    v.push(e);
                }
                v
            }
            Expr::Func(_, args) | Expr::Udf(_, args) => args.iter_mut().collect(),
        }
    }

    /// Collects the current-row columns referenced (not looking into subqueries).
    pub fn columns(&self, out: &mut Vec<usize>) {
        if let Expr::Col(i) = self {
            out.push(*i);
        }
        for c in self.children() {
            c.columns(out);
        }
    }

    /// True if the expression contains a subquery anywhere.
    pub fn has_subquery(&self) -> bool {
        matches!(
            self,
            Expr::InSub { .. } | Expr::Exists { .. } | Expr::Scalar { .. }
        ) || self.children().iter().any(|c| c.has_subquery())
    }

    /// True if the value does not depend on the current row (may depend on params / outer rows).
    pub fn is_row_independent(&self) -> bool {
        match self {
            Expr::Col(_) | Expr::Agg(_) | Expr::Win(_) => false,
            Expr::InSub { .. } | Expr::Exists { .. } | Expr::Scalar { .. } => false,
            Expr::Func(Func::Random | Func::Raise(_), _) => false,
            Expr::Func(Func::Core(c), _) if !c.is_deterministic() => false,
            Expr::Udf(f, _) if !f.is_deterministic() => false,
            _ => self.children().iter().all(|c| c.is_row_independent()),
        }
    }

    /// True for a literal or a tree of pure operators over literals.
    pub fn is_constant(&self) -> bool {
        match self {
            Expr::Lit(_) => true,
            Expr::Col(_) | Expr::Outer { .. } | Expr::Param(_) | Expr::Agg(_) | Expr::Win(_) => {
                false
            }
            Expr::InSub { .. } | Expr::Exists { .. } | Expr::Scalar { .. } => false,
            Expr::Func(Func::Random | Func::Raise(_), _) => false,
            Expr::Func(Func::Core(c), _) if !c.is_deterministic() => false,
            // 'now' changes between executions of a cached plan: never fold.
            Expr::Func(Func::Date(_), _) => false,
            // Kept as calls so an enclosing JSON function still sees they produce JSON.
            Expr::Func(Func::Json(j), _) if j.returns_json() => false,
            Expr::Udf(f, _) if !f.is_deterministic() => false,
            _ => self.children().iter().all(|c| c.is_constant()),
        }
    }

    /// Shifts every current-row column by `-by` (used when pushing predicates into scans).
    pub fn shift_columns(&mut self, by: usize) {
        if let Expr::Col(i) = self {
            *i -= by;
        }
        for c in self.children_mut() {
            c.shift_columns(by);
        }
    }

    /// Splits an AND tree into conjuncts.
    pub fn into_conjuncts(self, out: &mut Vec<Expr>) {
        match self {
            Expr::Bin {
                op: BinOp::And,
                l,
                r,
                ..
            } => {
                l.into_conjuncts(out);
                r.into_conjuncts(out);
            }
            e => out.push(e),
        }
    }

    /// ANDs a list of conjuncts (None when empty).
    pub fn conjoin(mut list: Vec<Expr>) -> Option<Expr> {
        let first = if list.is_empty() {
            return None;
        } else {
            list.remove(0)
        };
        Some(list.into_iter().fold(first, |acc, e| Expr::Bin {
            op: BinOp::And,
            l: Box::new(acc),
            r: Box::new(e),
            aff: (None, None),
        }))
    }
}

// ---------------------------------------------------------------- pure evaluation helpers

/// Three-valued AND.
pub fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// Three-valued OR.
pub fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// Boolean to SQL value.
pub fn bool_val(b: Option<bool>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => Value::Integer(i64::from(b)),
    }
}

/// Applies an optional affinity to a value (for comparisons).
pub fn with_aff(v: Value, aff: Option<Affinity>) -> Value {
    match aff {
        Some(a) => match (a, &v) {
            // Comparison affinity never turns numbers into text for numeric affinities.
            (Affinity::Blob, _) => v,
            _ => a.apply(v),
        },
        None => v,
    }
}

/// SQL comparison: None if either side is NULL.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        None
    } else {
        Some(a.total_cmp(b))
    }
}

/// Evaluates a comparison operator.
pub fn cmp_op(op: BinOp, a: &Value, b: &Value) -> Value {
    match compare(a, b) {
        None => Value::Null,
        Some(o) => Value::Integer(i64::from(match op {
            BinOp::Eq => o == Ordering::Equal,
            BinOp::Ne => o != Ordering::Equal,
            BinOp::Lt => o == Ordering::Less,
            BinOp::Le => o != Ordering::Greater,
            BinOp::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        })),
    }
}

/// Arithmetic and bit operators with SQLite semantics (overflow -> REAL, x/0 -> NULL).
pub fn arith(op: BinOp, a: &Value, b: &Value) -> Result<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    if op == BinOp::Concat {
        return Ok(Value::Text(a.to_text_lossy() + &b.to_text_lossy()));
    }
    let (x, y) = (a.to_numeric(), b.to_numeric());
    if matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::Shl | BinOp::Shr) {
        let (Some(i), Some(j)) = (x.to_i64(), y.to_i64()) else {
            return Ok(Value::Null);
        };
        return Ok(Value::Integer(match op {
            BinOp::BitAnd => i & j,
            BinOp::BitOr => i | j,
            BinOp::Shl => shift_left(i, j),
            _ => shift_left(i, j.checked_neg().unwrap_or(i64::MAX)),
        }));
    }
    match (x, y) {
        (Value::Integer(i), Value::Integer(j)) => Ok(match op {
            BinOp::Add => i
                .checked_add(j)
                .map_or_else(|| Value::real(i as f64 + j as f64), Value::Integer),
            BinOp::Sub => i
                .checked_sub(j)
                .map_or_else(|| Value::real(i as f64 - j as f64), Value::Integer),
            BinOp::Mul => i
                .checked_mul(j)
                .map_or_else(|| Value::real(i as f64 * j as f64), Value::Integer),
            BinOp::Div => {
                if j == 0 {
                    Value::Null
                } else {
                    i.checked_div(j)
                        .map_or_else(|| Value::real(i as f64 / j as f64), Value::Integer)
                }
            }
            BinOp::Rem => {
                if j == 0 {
                    Value::Null
                } else {
                    Value::Integer(i.checked_rem(j).unwrap_or(0))
                }
            }
            _ => return rt(format!("operator {} is not arithmetic", op.sql())),
        }),
        (x, y) => {
            let (Some(f), Some(g)) = (x.to_f64(), y.to_f64()) else {
                return Ok(Value::Null);
            };
            Ok(match op {
                BinOp::Add => Value::real(f + g),
                BinOp::Sub => Value::real(f - g),
                BinOp::Mul => Value::real(f * g),
                BinOp::Div => {
                    if g == 0.0 {
                        Value::Null
                    } else {
                        Value::real(f / g)
                    }
                }
                BinOp::Rem => {
                    let (fi, gi) = (real_to_i64_saturating(f), real_to_i64_saturating(g));
                    if gi == 0 {
                        Value::Null
                    } else {
                        Value::real(fi.checked_rem(gi).unwrap_or(0) as f64)
                    }
                }
                _ => return rt(format!("operator {} is not arithmetic", op.sql())),
            })
        }
    }
}

fn shift_left(i: i64, j: i64) -> i64 {
    if j >= 64 {
        0
    } else if j >= 0 {
        ((i as u64) << j) as i64
    } else if j <= -64 {
        if i < 0 {
            -1
        } else {
            0
        }
    } else {
        i >> (-j)
    }
}

/// Unary operators.
pub fn unary(op: UnOp, v: &Value) -> Value {
    match op {
        UnOp::Plus => v.clone(),
        UnOp::Not => bool_val(v.truthy().map(|b| !b)),
        UnOp::Neg => match v.to_numeric() {
            Value::Integer(i) => i
                .checked_neg()
                .map_or_else(|| Value::real(-(i as f64)), Value::Integer),
            Value::Real(r) => Value::Real(-r),
            _ => Value::Null,
        },
        UnOp::BitNot => match v.to_i64() {
            Some(i) if !v.is_null() => Value::Integer(!i),
            _ => Value::Null,
        },
    }
}

/// CAST semantics.
pub fn cast(v: Value, ty: DataType) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match ty {
        DataType::Integer | DataType::Boolean => match v {
            Value::Blob(_) | Value::Text(_) => match v.to_numeric() {
                Value::Integer(i) => Value::Integer(i),
                Value::Real(r) => Value::Integer(real_to_i64_saturating(r)),
                _ => Value::Integer(0),
            },
            Value::Real(r) => Value::Integer(real_to_i64_saturating(r)),
            o => o,
        },
        DataType::Real => Value::real(v.to_f64().unwrap_or(0.0)),
        DataType::Text => Value::Text(v.to_text_lossy()),
        DataType::Blob => match v {
            Value::Blob(b) => Value::Blob(b),
            o => Value::Blob(o.to_text_lossy().into_bytes()),
        },
        DataType::Null => match v {
            // NUMERIC
            Value::Text(ref s) => {
                crate::value::parse_numeric_exact(s).unwrap_or_else(|| v.to_numeric())
            }
            Value::Blob(_) => v.to_numeric(),
            o => o,
        },
    }
}

/// LIKE (case-insensitive for ASCII, `%` and `_`) or GLOB (`*`, `?`, `[...]`) matching.
pub fn like_match(text: &str, pat: &str, esc: Option<char>, glob: bool) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pat.chars().collect();
    // Iterative matcher with backtracking on the last wildcard (linear-ish, no recursion).
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let any_many = if glob { '*' } else { '%' };
    let any_one = if glob { '?' } else { '_' };
    while ti < t.len() {
        if pi < p.len() {
            let c = p[pi];
            if !glob && Some(c) == esc && pi + 1 < p.len() {
                if eq_char(p[pi + 1], t[ti], glob) {
                    pi += 2;
                    ti += 1;
                    continue;
                }
            } else if c == any_many {
                star = Some((pi, ti));
                pi += 1;
                continue;
            } else if c == any_one {
                pi += 1;
                ti += 1;
                continue;
            } else if glob && c == '[' {
                if let Some((matched, next)) = glob_class(&p, pi, t[ti]) {
                    if matched {
                        pi = next;
                        ti += 1;
                        continue;
                    }
                }
            } else if eq_char(c, t[ti], glob) {
                pi += 1;
                ti += 1;
                continue;
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == any_many {
        pi += 1;
    }
    pi == p.len()
}

fn eq_char(a: char, b: char, case_sensitive: bool) -> bool {
    if case_sensitive {
        a == b
    } else {
        a.eq_ignore_ascii_case(&b)
    }
}

fn glob_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = p.get(i) == Some(&'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
        first = false;
    }
    None
}

fn trim_chars(s: &str, chars: Option<&str>, left: bool, right: bool) -> String {
    let set: Vec<char> = chars.map_or_else(|| vec![' '], |c| c.chars().collect());
    let mut r: &str = s;
    if left {
        r = r.trim_start_matches(|c| set.contains(&c));
    }
    if right {
        r = r.trim_end_matches(|c| set.contains(&c));
    }
    r.to_string()
}

/// Evaluates a scalar function over already-evaluated arguments.
pub fn call_func(f: Func, args: &[Value]) -> Result<Value> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    Ok(match f {
        Func::Abs => match arg(0).to_numeric() {
            Value::Integer(i) => match i.checked_abs() {
                Some(a) => Value::Integer(a),
                None => return rt("integer overflow"),
            },
            Value::Real(r) => Value::Real(r.abs()),
            _ => Value::Null,
        },
        Func::Coalesce | Func::IfNull => args
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
        Func::NullIf => {
            if compare(&arg(0), &arg(1)) == Some(Ordering::Equal) {
                Value::Null
            } else {
                arg(0)
            }
        }
        Func::Length => match arg(0) {
            Value::Null => Value::Null,
            Value::Blob(b) => Value::Integer(b.len() as i64),
            v => Value::Integer(v.to_text_lossy().chars().count() as i64),
        },
        Func::Lower => match arg(0) {
            Value::Null => Value::Null,
            v => Value::Text(v.to_text_lossy().to_lowercase()),
        },
        Func::Upper => match arg(0) {
            Value::Null => Value::Null,
            v => Value::Text(v.to_text_lossy().to_uppercase()),
        },
        Func::Substr => substr(&arg(0), &arg(1), args.get(2)),
        Func::Round => {
            let v = arg(0);
            if v.is_null() || (args.len() > 1 && arg(1).is_null()) {
                return Ok(Value::Null);
            }
            let digits = if args.len() > 1 {
                arg(1).to_i64().unwrap_or(0).clamp(0, 30)
            } else {
                0
            };
            let x = v.to_f64().unwrap_or(0.0);
            let m = 10f64.powi(digits as i32);
            let r = (x * m).round() / m;
            Value::real(if r.is_finite() { r } else { x })
        }
        Func::TypeOf => Value::Text(arg(0).type_name().to_string()),
        Func::Min | Func::Max => {
            if args.iter().any(Value::is_null) {
                return Ok(Value::Null);
            }
            let mut best = arg(0);
            for v in &args[1..] {
                let o = v.total_cmp(&best);
                if (f == Func::Min && o == Ordering::Less)
                    || (f == Func::Max && o == Ordering::Greater)
                {
                    best = v.clone();
                }
            }
            best
        }
        Func::Instr => {
            let (h, n) = (arg(0), arg(1));
            if h.is_null() || n.is_null() {
                Value::Null
            } else {
                let (h, n) = (h.to_text_lossy(), n.to_text_lossy());
                match h.find(&n) {
                    Some(pos) => Value::Integer(h[..pos].chars().count() as i64 + 1),
                    None => Value::Integer(0),
                }
            }
        }
        Func::Replace => {
            if args.iter().any(Value::is_null) {
                Value::Null
            } else {
                let from = arg(1).to_text_lossy();
                let s = arg(0).to_text_lossy();
                if from.is_empty() {
                    Value::Text(s)
                } else {
                    Value::Text(s.replace(&from, &arg(2).to_text_lossy()))
                }
            }
        }
        Func::Trim | Func::LTrim | Func::RTrim => {
            if arg(0).is_null() || (args.len() > 1 && arg(1).is_null()) {
                Value::Null
            } else {
                let chars = if args.len() > 1 {
                    Some(arg(1).to_text_lossy())
                } else {
                    None
                };
                Value::Text(trim_chars(
                    &arg(0).to_text_lossy(),
                    chars.as_deref(),
                    f != Func::RTrim,
                    f != Func::LTrim,
                ))
            }
        }
        Func::Hex => {
            let bytes = match arg(0) {
                Value::Blob(b) => b,
                Value::Null => Vec::new(),
                v => v.to_text_lossy().into_bytes(),
            };
            Value::Text(bytes.iter().map(|b| format!("{b:02X}")).collect())
        }
        Func::Iif => {
            if arg(0).truthy() == Some(true) {
                arg(1)
            } else {
                arg(2)
            }
        }
        Func::Sign => match arg(0).to_numeric() {
            Value::Integer(i) => Value::Integer(i.signum()),
            Value::Real(r) => Value::Integer(if r > 0.0 {
                1
            } else if r < 0.0 {
                -1
            } else {
                0
            }),
            _ => Value::Null,
        },
        Func::Random => {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u8(0);
            Value::Integer(h.finish() as i64)
        }
        Func::Date(d) => crate::datetime::call(d, args),
        Func::Json(j) => crate::json::call(j, args)?,
        Func::Raise(kind) => {
            let message = match arg(0) {
                Value::Null => String::new(),
                v => v.to_text_lossy(),
            };
            return Err(crate::error::Error::Raise { kind, message });
        }
        Func::Core(c) => crate::corefunc::call(c, args)?,
        Func::Quote => match arg(0) {
            Value::Null => Value::Text("NULL".into()),
            Value::Text(s) => Value::Text(format!("'{}'", s.replace('\'', "''"))),
            Value::Blob(b) => Value::Text(format!(
                "X'{}'",
                b.iter().map(|b| format!("{b:02X}")).collect::<String>()
            )),
            v => Value::Text(v.to_text_lossy()),
        },
    })
}

fn substr(s: &Value, start: &Value, len: Option<&Value>) -> Value {
    if s.is_null() || start.is_null() || len.is_some_and(Value::is_null) {
        return Value::Null;
    }
    let is_blob = matches!(s, Value::Blob(_));
    let chars: Vec<char> = if is_blob {
        Vec::new()
    } else {
        s.to_text_lossy().chars().collect()
    };
    let bytes: Vec<u8> = match s {
        Value::Blob(b) => b.clone(),
        _ => Vec::new(),
    };
    let n = if is_blob { bytes.len() } else { chars.len() } as i64;
    let mut p1 = start.to_i64().unwrap_or(0);
    let mut p2 = match len {
        Some(l) => l.to_i64().unwrap_or(0),
        None => n.saturating_add(1),
    };
    // SQLite's algorithm (func.c substrFunc).
    let neg_p2 = p2 < 0;
    if neg_p2 {
        p2 = p2.saturating_neg();
    }
    if p1 < 0 {
        p1 = p1.saturating_add(n);
        if p1 < 0 {
            p2 = p2.saturating_add(p1).max(0);
            p1 = 0;
        }
    } else if p1 > 0 {
        p1 -= 1;
    } else if p2 > 0 {
        p2 -= 1;
    }
    if neg_p2 {
        p1 = p1.saturating_sub(p2);
        if p1 < 0 {
            p2 = p2.saturating_add(p1);
            p1 = 0;
        }
    }
    let from = p1.clamp(0, n) as usize;
    let to = p1.saturating_add(p2).clamp(0, n) as usize;
    if from >= to {
        return if is_blob {
            Value::Blob(Vec::new())
        } else {
            Value::Text(String::new())
        };
    }
    if is_blob {
        Value::Blob(bytes[from..to].to_vec())
    } else {
        Value::Text(chars[from..to].iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_edge_cases() {
        assert_eq!(
            arith(BinOp::Div, &Value::Integer(7), &Value::Integer(2)).unwrap(),
            Value::Integer(3)
        );
        assert_eq!(
            arith(BinOp::Div, &Value::Integer(7), &Value::Integer(0)).unwrap(),
            Value::Null
        );
        assert_eq!(
            arith(BinOp::Rem, &Value::Integer(7), &Value::Integer(0)).unwrap(),
            Value::Null
        );
        assert_eq!(
            arith(BinOp::Add, &Value::Integer(i64::MAX), &Value::Integer(1)).unwrap(),
            Value::Real(i64::MAX as f64 + 1.0)
        );
        assert_eq!(
            arith(BinOp::Div, &Value::Integer(i64::MIN), &Value::Integer(-1)).unwrap(),
            Value::Real(crate::value::TWO_POW_63)
        );
        assert_eq!(
            arith(BinOp::Add, &Value::from("3x"), &Value::Integer(1)).unwrap(),
            Value::Integer(4)
        );
        assert_eq!(
            arith(BinOp::Mul, &Value::Null, &Value::Integer(1)).unwrap(),
            Value::Null
        );
        assert_eq!(
            unary(UnOp::Neg, &Value::Integer(i64::MIN)),
            Value::Real(crate::value::TWO_POW_63)
        );
    }

    #[test]
    fn three_valued_logic() {
        assert_eq!(and3(None, Some(false)), Some(false));
        assert_eq!(and3(None, Some(true)), None);
        assert_eq!(or3(None, Some(true)), Some(true));
        assert_eq!(or3(None, Some(false)), None);
        assert_eq!(cmp_op(BinOp::Eq, &Value::Null, &Value::Null), Value::Null);
    }

    #[test]
    fn like_and_glob() {
        assert!(like_match("Hello", "h%o", None, false));
        assert!(like_match("Hello", "_ELLO", None, false));
        assert!(!like_match("Hello", "h%x", None, false));
        assert!(like_match("50%", "50!%", Some('!'), false));
        assert!(!like_match("500", "50!%", Some('!'), false));
        assert!(like_match("abc", "a*", None, true));
        assert!(!like_match("Abc", "a*", None, true));
        assert!(like_match("b", "[a-c]", None, true));
        assert!(like_match(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "%a%a%a%a%b",
            None,
            false
        ));
    }

    #[test]
    fn substr_like_sqlite() {
        let s = Value::from("hello");
        let f = |a: i64, b: Option<i64>| {
            substr(&s, &Value::Integer(a), b.map(Value::Integer).as_ref()).to_text_lossy()
        };
        assert_eq!(f(2, Some(3)), "ell");
        assert_eq!(f(0, Some(2)), "h");
        assert_eq!(f(-3, None), "llo");
        assert_eq!(f(-3, Some(2)), "ll");
        assert_eq!(f(3, Some(-2)), "he");
        assert_eq!(f(10, None), "");
    }

    #[test]
    fn functions() {
        assert_eq!(
            call_func(Func::Abs, &[Value::Integer(-3)]).unwrap(),
            Value::Integer(3)
        );
        assert!(call_func(Func::Abs, &[Value::Integer(i64::MIN)]).is_err());
        assert_eq!(
            call_func(Func::Round, &[Value::Real(2.5)]).unwrap(),
            Value::Real(3.0)
        );
        assert_eq!(
            call_func(Func::NullIf, &[Value::Integer(1), Value::Integer(1)]).unwrap(),
            Value::Null
        );
        assert_eq!(
            call_func(Func::Max, &[Value::Integer(1), Value::Real(2.5)]).unwrap(),
            Value::Real(2.5)
        );
        assert_eq!(
            cast(Value::from("12.7abc"), DataType::Integer),
            Value::Integer(12)
        );
        assert_eq!(cast(Value::Integer(3), DataType::Text), Value::from("3"));
    }
}
