//! Binding and planning of window functions: `f(...) [FILTER (WHERE ...)] OVER (...)` calls
//! in a SELECT's result columns and ORDER BY, named windows (`WINDOW w AS (...)`), frames,
//! and the Sort + [`Plan::Window`] nodes (one per distinct PARTITION BY / ORDER BY) that
//! compute them after FROM, WHERE, GROUP BY and HAVING.

use sqlparser::ast;
use sqlparser::ast::{Expr as AE, FunctionArgExpr};

use super::{
    agg_func, agg_nargs_ok, func_args, is_agg_name, name_err, sort_key, with_json_flag, Planner,
};
use crate::error::{Error, Result};
use crate::expr::{AggFunc, Expr, Func};
use crate::plan::{Plan, SortKey};
use crate::window::{Exclude, FrameBound, FrameUnits, WinCall, WinFunc, WindowFrame};

/// Marker the parse stage puts in a window specification's name to carry its EXCLUDE clause
/// (sqlparser has no EXCLUDE): `"\u{1}<mode>\u{1}<base window name>"`.
pub(crate) const EXCLUDE_MARK: char = '\u{1}';

/// Window calls collected while binding one SELECT's result columns and ORDER BY.
#[derive(Default)]
pub(super) struct WinScope {
    /// Named windows of the SELECT's WINDOW clause, resolved.
    named: Vec<(String, ast::WindowSpec)>,
    /// Bound calls; `Expr::Win(i)` refers to `calls[i]`.
    pub(super) calls: Vec<PendingWin>,
}

/// One bound window call with its window's partitioning and order.
#[derive(Debug, Clone)]
pub(super) struct PendingWin {
    pub(super) partition: Vec<Expr>,
    pub(super) order: Vec<SortKey>,
    pub(super) call: WinCall,
}

impl PendingWin {
    /// Mutable access to every expression (for the post-aggregation rewrite).
    pub(super) fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        self.partition
            .iter_mut()
            .chain(self.order.iter_mut().map(|k| &mut k.expr))
            .chain(self.call.args.iter_mut())
            .chain(self.call.filter.iter_mut())
    }
}

fn misuse(name: &str) -> Error {
    Error::Semantic(format!("misuse of window function {name}()"))
}

/// Splits the parse stage's EXCLUDE marker off a window name: (base name, EXCLUDE mode).
fn split_exclude(name: &str) -> (Option<String>, Exclude) {
    let Some(rest) = name.strip_prefix(EXCLUDE_MARK) else {
        return (Some(name.to_string()), Exclude::NoOthers);
    };
    let (mode, base) = rest.split_once(EXCLUDE_MARK).unwrap_or((rest, ""));
    let exclude = match mode {
        "current row" => Exclude::CurrentRow,
        "group" => Exclude::Group,
        "ties" => Exclude::Ties,
        _ => Exclude::NoOthers,
    };
    ((!base.is_empty()).then(|| base.to_string()), exclude)
}

/// A window spec with its base window merged in, plus its EXCLUDE mode.
fn merge_spec(
    named: &[(String, ast::WindowSpec)],
    over: &ast::WindowSpec,
) -> Result<(ast::WindowSpec, Exclude)> {
    let (base_name, exclude) = match &over.window_name {
        Some(n) => split_exclude(&n.value),
        None => (None, Exclude::NoOthers),
    };
    let Some(base_name) = base_name else {
        let mut s = over.clone();
        s.window_name = None;
        return Ok((s, exclude));
    };
    let base = lookup(named, &base_name)?;
    if !over.partition_by.is_empty() {
        return Err(Error::Semantic(format!(
            "cannot override PARTITION BY clause of window: {base_name}"
        )));
    }
    if !base.order_by.is_empty() && !over.order_by.is_empty() {
        return Err(Error::Semantic(format!(
            "cannot override ORDER BY clause of window: {base_name}"
        )));
    }
    if base.window_frame.is_some() {
        return Err(Error::Semantic(format!(
            "cannot override frame specification of window: {base_name}"
        )));
    }
    let mut s = base.clone();
    if !over.order_by.is_empty() {
        s.order_by = over.order_by.clone();
    }
    s.window_frame = over.window_frame.clone();
    Ok((s, exclude))
}

fn lookup<'n>(named: &'n [(String, ast::WindowSpec)], name: &str) -> Result<&'n ast::WindowSpec> {
    named
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, s)| s)
        .ok_or_else(|| Error::Semantic(format!("no such window: {name}")))
}

/// Resolves a SELECT's WINDOW clause (a definition may build on an earlier one).
pub(super) fn named_windows(sel: &ast::Select) -> Result<WinScope> {
    let mut named: Vec<(String, ast::WindowSpec)> = Vec::new();
    for ast::NamedWindowDefinition(name, def) in &sel.named_window {
        let spec = match def {
            ast::NamedWindowExpr::NamedWindow(other) => lookup(&named, &other.value)?.clone(),
            ast::NamedWindowExpr::WindowSpec(spec) => {
                let (mut s, exclude) = merge_spec(&named, spec)?;
                if exclude != Exclude::NoOthers {
                    // Keep the EXCLUDE mode with the named window.
                    let mode = match exclude {
                        Exclude::CurrentRow => "current row",
                        Exclude::Group => "group",
                        _ => "ties",
                    };
                    s.window_name = Some(ast::Ident::new(format!(
                        "{EXCLUDE_MARK}{mode}{EXCLUDE_MARK}"
                    )));
                }
                s
            }
        };
        named.push((name.value.clone(), spec));
    }
    Ok(WinScope {
        named,
        calls: Vec::new(),
    })
}

impl Planner<'_> {
    /// Binds a call with OVER: only where the SELECT allows window functions (its result
    /// columns and ORDER BY), never inside another window or aggregate call.
    pub(super) fn bind_window_call(
        &mut self,
        f: &ast::Function,
        name: &str,
        over: &ast::WindowType,
        aggs: &mut Option<&mut Vec<crate::expr::AggCall>>,
    ) -> Result<Expr> {
        let Some(mut scope) = self.win.take() else {
            return Err(misuse(name));
        };
        let r = self.bind_window_inner(f, name, over, aggs, &scope.named);
        let pending = match r {
            Ok(p) => p,
            Err(e) => {
                self.win = Some(scope);
                return Err(e);
            }
        };
        let key = format!("{pending:?}");
        let idx = match scope.calls.iter().position(|c| format!("{c:?}") == key) {
            Some(i) => i,
            None => {
                scope.calls.push(pending);
                scope.calls.len() - 1
            }
        };
        self.win = Some(scope);
        Ok(Expr::Win(idx))
    }

    fn bind_window_inner(
        &mut self,
        f: &ast::Function,
        name: &str,
        over: &ast::WindowType,
        aggs: &mut Option<&mut Vec<crate::expr::AggCall>>,
        named: &[(String, ast::WindowSpec)],
    ) -> Result<PendingWin> {
        let (args, distinct) = func_args(f)?;
        if distinct {
            return Err(Error::Semantic(
                "DISTINCT is not supported for window functions".into(),
            ));
        }
        let wrong_args =
            || Error::Semantic(format!("wrong number of arguments to function {name}()"));
        let star = args.len() == 1 && matches!(args[0], FunctionArgExpr::Wildcard);
        let func = if let Some((wf, min, max)) = WinFunc::lookup(name) {
            if args.len() < min || args.len() > max {
                return Err(wrong_args());
            }
            if f.filter.is_some() {
                return Err(Error::Semantic(
                    "FILTER clause may only be used with aggregate window functions".into(),
                ));
            }
            wf
        } else if is_agg_name(name, args.len()) {
            let a = agg_func(name, star || args.is_empty());
            if !agg_nargs_ok(a, args.len()) {
                return Err(wrong_args());
            }
            WinFunc::Agg(a)
        } else if Func::lookup(name).is_some() || self.catalog.functions.get(name).is_some() {
            return Err(Error::Semantic(format!(
                "{name}() may not be used as a window function"
            )));
        } else {
            return name_err(format!("no such function: {name}"));
        };
        let mut bound = Vec::new();
        if func != WinFunc::Agg(AggFunc::CountStar) {
            for a in &args {
                match a {
                    FunctionArgExpr::Expr(x) => bound.push(self.bind(x, aggs)?),
                    _ => return crate::error::unsupported(format!("wildcard argument to {name}")),
                }
            }
        }
        let func = match func {
            WinFunc::Agg(a) => WinFunc::Agg(with_json_flag(a, &bound)),
            f => f,
        };
        let filter = match &f.filter {
            Some(x) => Some(self.bind(x, aggs)?),
            None => None,
        };
        let (spec, exclude) = match over {
            ast::WindowType::NamedWindow(id) => {
                let s = lookup(named, &id.value)?;
                match &s.window_name {
                    Some(n) => (s.clone(), split_exclude(&n.value).1),
                    None => (s.clone(), Exclude::NoOthers),
                }
            }
            ast::WindowType::WindowSpec(s) => merge_spec(named, s)?,
        };
        let mut partition = Vec::new();
        for p in &spec.partition_by {
            partition.push(self.bind(p, aggs)?);
        }
        let mut order = Vec::new();
        for o in &spec.order_by {
            order.push(sort_key(self.bind(&o.expr, aggs)?, &o.options));
        }
        let frame = match &spec.window_frame {
            None => WindowFrame {
                exclude,
                ..WindowFrame::default()
            },
            Some(fr) => self.bind_frame(fr, exclude, order.len())?,
        };
        Ok(PendingWin {
            partition,
            order,
            call: WinCall {
                func,
                args: bound,
                filter,
                frame,
            },
        })
    }

    /// Binds a frame, refusing what SQLite refuses.
    fn bind_frame(
        &mut self,
        fr: &ast::WindowFrame,
        exclude: Exclude,
        order_keys: usize,
    ) -> Result<WindowFrame> {
        let units = match fr.units {
            ast::WindowFrameUnits::Rows => FrameUnits::Rows,
            ast::WindowFrameUnits::Range => FrameUnits::Range,
            ast::WindowFrameUnits::Groups => FrameUnits::Groups,
        };
        let bad = || Error::Semantic("unsupported frame specification".into());
        let start = self.bind_bound(&fr.start_bound)?;
        let end = match &fr.end_bound {
            Some(b) => self.bind_bound(b)?,
            None => FrameBound::CurrentRow,
        };
        // The start may not lie after the end whatever the offsets are.
        let rank = |b: &FrameBound| match b {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(_) => 1,
            FrameBound::CurrentRow => 2,
            FrameBound::Following(_) => 3,
            FrameBound::UnboundedFollowing => 4,
        };
        if matches!(start, FrameBound::UnboundedFollowing)
            || matches!(end, FrameBound::UnboundedPreceding)
            || (rank(&start) >= 2 && rank(&end) < rank(&start))
        {
            return Err(bad());
        }
        let offsets = matches!(start, FrameBound::Preceding(_) | FrameBound::Following(_))
            || matches!(end, FrameBound::Preceding(_) | FrameBound::Following(_));
        if units == FrameUnits::Range && offsets && order_keys != 1 {
            return Err(Error::Semantic(
                "RANGE with offset PRECEDING/FOLLOWING requires one ORDER BY expression".into(),
            ));
        }
        Ok(WindowFrame {
            units,
            start,
            end,
            exclude,
        })
    }

    fn bind_bound(&mut self, b: &ast::WindowFrameBound) -> Result<FrameBound> {
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => {
                FrameBound::Preceding(self.bind_offset(e)?)
            }
            ast::WindowFrameBound::Following(Some(e)) => {
                FrameBound::Following(self.bind_offset(e)?)
            }
        })
    }

    /// A frame offset: evaluated once per partition without a current row.
    fn bind_offset(&mut self, e: &AE) -> Result<Expr> {
        match e {
            // sqlparser reads `'5' PRECEDING` as an INTERVAL literal.
            AE::Interval(iv) if iv.leading_field.is_none() && iv.last_field.is_none() => {
                self.bind(&iv.value, &mut None)
            }
            e => self.bind(e, &mut None),
        }
    }
}

/// Puts the Sort and Window nodes for `calls` over `plan` (whose rows are `base` wide) and
/// returns the new plan with, per call, the column holding its result.
pub(super) fn plan_windows(
    mut plan: Plan,
    calls: Vec<PendingWin>,
    base: usize,
) -> (Plan, Vec<usize>) {
    let mut col = vec![0usize; calls.len()];
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        let key = format!("{:?}|{:?}", c.partition, c.order);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut calls: Vec<Option<PendingWin>> = calls.into_iter().map(Some).collect();
    let mut width = base;
    for (_, members) in groups {
        let mut partition = Vec::new();
        let mut order = Vec::new();
        let mut node_calls = Vec::new();
        for &m in &members {
            if let Some(p) = calls[m].take() {
                partition = p.partition;
                order = p.order;
                node_calls.push(p.call);
                col[m] = width;
                width += 1;
            }
        }
        let mut keys: Vec<SortKey> = partition
            .iter()
            .map(|e| SortKey {
                expr: e.clone(),
                desc: false,
                nulls_first: true,
            })
            .collect();
        keys.extend(order.iter().cloned());
        if !keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        plan = Plan::Window {
            input: Box::new(plan),
            partition,
            order,
            calls: node_calls,
        };
    }
    (plan, col)
}

/// Replaces window placeholders by the columns holding their results.
pub(super) fn replace_win(e: &mut Expr, col: &[usize]) {
    if let Expr::Win(k) = e {
        if let Some(c) = col.get(*k) {
            *e = Expr::Col(*c);
        }
        return;
    }
    for c in e.children_mut() {
        replace_win(c, col);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_marker_round_trips() {
        let (base, ex) = split_exclude("\u{1}ties\u{1}w");
        assert_eq!(base.as_deref(), Some("w"));
        assert_eq!(ex, Exclude::Ties);
        let (base, ex) = split_exclude("\u{1}current row\u{1}");
        assert_eq!(base, None);
        assert_eq!(ex, Exclude::CurrentRow);
        assert_eq!(split_exclude("w").1, Exclude::NoOthers);
    }
}
