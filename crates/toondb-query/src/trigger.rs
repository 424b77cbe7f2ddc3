//! Triggers as SQLite 3.40 has them: `CREATE TRIGGER` / `DROP TRIGGER`, the compiled form
//! the catalog keeps, and firing (row triggers only; BEFORE, AFTER, INSTEAD OF on views;
//! `WHEN`; `UPDATE OF`; `RAISE()`; recursive triggers off, cascades on, depth-guarded).
//!
//! sqlparser 0.64 parses SQLite's trigger grammar (`BEGIN stmt; ... END` body included) except
//! `IF NOT EXISTS`, which [`strip_if_not_exists`] removes from the text (token-aware, so
//! quotes and comments are respected) before parsing and reports per statement.
//!
//! A trigger program refers to the row being written as `NEW.col` / `OLD.col`. When the
//! catalog is loaded each such reference is replaced by a numbered parameter (a "slot"); when
//! the trigger fires, the slots are filled from the row, so the body statements run through
//! the ordinary INSERT/UPDATE/DELETE/SELECT paths, in the firing statement's transaction.

use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast::{self, Statement};

use crate::catalog::{self, Catalog, TriggerDef, TriggerEvent, TriggerTiming};
use crate::ctl::Ctl;
use crate::error::{name_err, unsupported, Error, RaiseKind, Result};
use crate::exec::Exec;
use crate::planner::object_name;
use crate::session::QueryResult;
use crate::value::Value;

/// SQLite's `SQLITE_MAX_TRIGGER_DEPTH`: how deeply trigger programs may nest.
pub const MAX_TRIGGER_DEPTH: usize = 1000;

/// A `NEW.col` or `OLD.col` reference of a trigger program, bound to a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    new: bool,
    column: String,
}

/// A trigger ready to fire: its stored definition and its program with `NEW.`/`OLD.`
/// references replaced by parameters.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// The stored definition.
    pub def: TriggerDef,
    /// `SELECT (<when>)`, if there is a WHEN clause.
    when: Option<Statement>,
    /// The body statements.
    body: Vec<Statement>,
    /// Parameter `?i+1` holds `slots[i]`.
    slots: Vec<Slot>,
}

fn extract(sql: &str) -> Result<ast::CreateTrigger> {
    match crate::parse::parse_one(sql)? {
        Statement::CreateTrigger(ct) => Ok(ct),
        _ => Err(Error::Internal(
            "stored trigger is not CREATE TRIGGER".into(),
        )),
    }
}

fn body_statements(ct: &ast::CreateTrigger) -> Result<&[Statement]> {
    match &ct.statements {
        Some(ast::ConditionalStatements::BeginEnd(b)) if !b.statements.is_empty() => {
            Ok(&b.statements)
        }
        _ => Err(Error::Syntax {
            message: "a trigger program must be BEGIN stmt; ... END".into(),
        }),
    }
}

impl Trigger {
    /// Parses a stored definition and binds its `NEW.`/`OLD.` references to parameters.
    pub fn compile(def: TriggerDef) -> Result<Trigger> {
        let ct = extract(&def.sql)?;
        let mut slots = Vec::new();
        let mut body = body_statements(&ct)?.to_vec();
        for s in &mut body {
            bind_row_refs(s, &mut slots);
        }
        let when = match ct.condition {
            None => None,
            Some(e) => {
                let mut q = crate::parse::parse_one("SELECT NULL")?;
                if let Statement::Query(query) = &mut q {
                    if let ast::SetExpr::Select(sel) = query.body.as_mut() {
                        sel.projection = vec![ast::SelectItem::UnnamedExpr(e)];
                    }
                }
                bind_row_refs(&mut q, &mut slots);
                Some(q)
            }
        };
        Ok(Trigger {
            def,
            when,
            body,
            slots,
        })
    }
}

/// Replaces `NEW.col` / `OLD.col` in `stmt` by parameters numbered after `slots`.
fn bind_row_refs<V: ast::VisitMut>(stmt: &mut V, slots: &mut Vec<Slot>) {
    let _ = ast::visit_expressions_mut(stmt, |e| {
        if let ast::Expr::CompoundIdentifier(ids) = e {
            if let [q, c] = ids.as_slice() {
                let new = q.value.eq_ignore_ascii_case("new");
                if new || q.value.eq_ignore_ascii_case("old") {
                    let slot = Slot {
                        new,
                        column: c.value.clone(),
                    };
                    let i = match slots.iter().position(|s| *s == slot) {
                        Some(i) => i,
                        None => {
                            slots.push(slot);
                            slots.len() - 1
                        }
                    };
                    *e = ast::Expr::Value(
                        ast::Value::Placeholder(format!("?{}", i + 1)).with_empty_span(),
                    );
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Checks every `RAISE(...)` of a trigger program has SQLite's form: `RAISE(IGNORE)` or
/// `RAISE(ABORT|FAIL|ROLLBACK, 'message')` with a string literal.
fn check_raise<V: ast::Visit>(node: &V) -> Result<()> {
    let bad = ast::visit_expressions(node, |e| {
        let ast::Expr::Function(f) = e else {
            return ControlFlow::Continue(());
        };
        if !object_name(&f.name).eq_ignore_ascii_case("raise") {
            return ControlFlow::Continue(());
        }
        let ast::FunctionArguments::List(l) = &f.args else {
            return ControlFlow::Break(f.to_string());
        };
        let arg = |i: usize| match l.args.get(i) {
            Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))) => Some(x),
            _ => None,
        };
        let kind = match arg(0) {
            Some(ast::Expr::Identifier(id)) => id.value.to_ascii_lowercase(),
            _ => return ControlFlow::Break(f.to_string()),
        };
        let ok = match (kind.as_str(), l.args.len()) {
            ("ignore", 1) => true,
            ("abort" | "fail" | "rollback", 2) => matches!(
                arg(1),
                Some(ast::Expr::Value(v)) if matches!(v.value, ast::Value::SingleQuotedString(_))
            ),
            _ => false,
        };
        if ok && l.duplicate_treatment.is_none() && l.clauses.is_empty() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(f.to_string())
        }
    });
    match bad {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(text) => Err(Error::Syntax {
            message: format!(
                "{text}: RAISE takes IGNORE, or ABORT, FAIL or ROLLBACK and a string literal"
            ),
        }),
    }
}

fn uses_params<V: ast::Visit>(node: &V) -> bool {
    ast::visit_expressions(node, |e| match e {
        ast::Expr::Value(v) if matches!(v.value, ast::Value::Placeholder(_)) => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

// ---------------------------------------------------------------- IF NOT EXISTS

/// Removes `IF NOT EXISTS` from every `CREATE [TEMP] TRIGGER IF NOT EXISTS` of a script
/// (sqlparser does not accept it there) and returns the text with, for each `CREATE TRIGGER`
/// in order, whether it had the clause. Works on tokens, so string literals, quoted names
/// and comments are never touched; text that does not tokenize is returned unchanged.
pub fn strip_if_not_exists(sql: &str) -> (std::borrow::Cow<'_, str>, Vec<bool>) {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    if !sql
        .as_bytes()
        .windows(7)
        .any(|w| w.eq_ignore_ascii_case(b"trigger"))
    {
        return (sql.into(), Vec::new());
    }
    let dialect = sqlparser::dialect::GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return (sql.into(), Vec::new());
    };
    let words: Vec<&sqlparser::tokenizer::TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let kw = |i: usize| match words.get(i).map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    };
    let mut flags = Vec::new();
    let mut cuts = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if kw(i) == Some(Keyword::CREATE) {
            let mut j = i + 1;
            if matches!(kw(j), Some(Keyword::TEMP | Keyword::TEMPORARY)) {
                j += 1;
            }
            if kw(j) == Some(Keyword::TRIGGER) {
                let ine = kw(j + 1) == Some(Keyword::IF)
                    && kw(j + 2) == Some(Keyword::NOT)
                    && kw(j + 3) == Some(Keyword::EXISTS);
                if ine {
                    cuts.push((words[j + 1].span.start, words[j + 3].span.end));
                }
                flags.push(ine);
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    if cuts.is_empty() {
        return (sql.into(), flags);
    }
    // Locations are 1-based lines and character columns.
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(p, _)| p + 1))
        .collect();
    let offset = |l: sqlparser::tokenizer::Location| -> Option<usize> {
        let start = *line_starts.get(usize::try_from(l.line).ok()?.checked_sub(1)?)?;
        let col = usize::try_from(l.column).ok()?.checked_sub(1)?;
        let rest = sql.get(start..)?;
        Some(start + rest.char_indices().nth(col).map_or(rest.len(), |(b, _)| b))
    };
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (s, e) in cuts {
        let (Some(s), Some(e)) = (offset(s), offset(e)) else {
            return (sql.into(), Vec::new());
        };
        if s < at || e < s {
            return (sql.into(), Vec::new());
        }
        out.push_str(&sql[at..s]);
        at = e;
    }
    out.push_str(&sql[at..]);
    (out.into(), flags)
}

// ---------------------------------------------------------------- DDL

/// `CREATE TRIGGER`: checks the header and the program's statements, stores the trigger.
pub(crate) fn create_trigger(
    cat: &Catalog,
    txn: &mut dyn crate::kv::KvTxn,
    ct: &ast::CreateTrigger,
) -> Result<QueryResult> {
    if ct.temporary {
        // The session keeps TEMP triggers (`Session` handles them before this point).
        return Err(Error::Internal("TEMP trigger reached the catalog".into()));
    }
    let t = define(cat, ct, catalog::next_table_id(txn)?.into())?;
    catalog::put_trigger(txn, &t.def)?;
    Ok(QueryResult::default())
}

/// Checks a `CREATE TRIGGER` (header and program) against the catalog and compiles it;
/// `seq` orders it among the table's triggers.
pub(crate) fn define(cat: &Catalog, ct: &ast::CreateTrigger, seq: u64) -> Result<Trigger> {
    let name = object_name(&ct.name);
    crate::error::check_object_name(&name)?;
    if cat.trigger(&name).is_some() {
        return name_err(format!("trigger {name} already exists"));
    }
    if ct.or_alter || ct.or_replace || ct.is_constraint {
        return unsupported("CREATE OR REPLACE / OR ALTER / CONSTRAINT TRIGGER");
    }
    if ct.exec_body.is_some() || ct.statements_as {
        return unsupported("EXECUTE FUNCTION triggers (use BEGIN ... END)");
    }
    if ct.referenced_table_name.is_some()
        || !ct.referencing.is_empty()
        || ct.characteristics.is_some()
    {
        return unsupported("trigger FROM / REFERENCING / DEFERRABLE clauses");
    }
    if matches!(
        ct.trigger_object,
        Some(ast::TriggerObjectKind::For(ast::TriggerObject::Statement))
            | Some(ast::TriggerObjectKind::ForEach(
                ast::TriggerObject::Statement
            ))
    ) {
        return unsupported("FOR EACH STATEMENT triggers (SQLite has row triggers only)");
    }
    let timing = match ct.period {
        None | Some(ast::TriggerPeriod::Before) => TriggerTiming::Before,
        Some(ast::TriggerPeriod::After) => TriggerTiming::After,
        Some(ast::TriggerPeriod::InsteadOf) => TriggerTiming::InsteadOf,
        Some(ast::TriggerPeriod::For) => return unsupported("FOR triggers"),
    };
    let (event, columns) = match ct.events.as_slice() {
        [ast::TriggerEvent::Insert] => (TriggerEvent::Insert, Vec::new()),
        [ast::TriggerEvent::Delete] => (TriggerEvent::Delete, Vec::new()),
        [ast::TriggerEvent::Update(cols)] => (
            TriggerEvent::Update,
            cols.iter().map(|c| c.value.clone()).collect(),
        ),
        [ast::TriggerEvent::Truncate] => return unsupported("TRUNCATE triggers"),
        _ => return unsupported("a trigger on more than one event"),
    };
    let table = object_name(&ct.table_name);
    let table = if let Some(t) = cat.table(&table) {
        if timing == TriggerTiming::InsteadOf {
            return Err(Error::Semantic(format!(
                "cannot create INSTEAD OF trigger on table: {}",
                t.name
            )));
        }
        for c in &columns {
            if t.column_index(c).is_none() {
                return name_err(format!("no such column: {c}"));
            }
        }
        t.name.clone()
    } else if let Some(v) = cat.view(&table) {
        if timing != TriggerTiming::InsteadOf {
            let when = if timing == TriggerTiming::Before {
                "BEFORE"
            } else {
                "AFTER"
            };
            return Err(Error::Semantic(format!(
                "cannot create {when} trigger on view: {}",
                v.name
            )));
        }
        v.name.clone()
    } else {
        return name_err(format!("no such table: {table}"));
    };
    for s in body_statements(ct)? {
        match s {
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {}
            Statement::Query(_) => {}
            other => {
                let head: String = other.to_string().chars().take(30).collect();
                return Err(Error::Syntax {
                    message: format!(
                        "a trigger program holds only INSERT, UPDATE, DELETE and SELECT: {head}"
                    ),
                });
            }
        }
        if uses_params(s) {
            return Err(Error::Semantic("trigger cannot use variables".into()));
        }
        check_raise(s)?;
    }
    if let Some(w) = &ct.condition {
        check_raise(w)?;
    }
    if ct.condition.as_ref().is_some_and(uses_params) {
        return Err(Error::Semantic("trigger cannot use variables".into()));
    }
    let def = TriggerDef {
        name,
        table,
        timing,
        event,
        columns,
        seq,
        temporary: ct.temporary,
        sql: Statement::CreateTrigger(ct.clone()).to_string(),
    };
    // Compiled from the stored text, which must come back as the same trigger.
    Trigger::compile(def)
}

/// `DROP TRIGGER [IF EXISTS] name`.
pub(crate) fn drop_trigger(
    cat: &Catalog,
    txn: &mut dyn crate::kv::KvTxn,
    dt: &ast::DropTrigger,
) -> Result<QueryResult> {
    if dt.table_name.is_some() || dt.option.is_some() {
        return unsupported("DROP TRIGGER ... ON table / CASCADE / RESTRICT");
    }
    let name = object_name(&dt.trigger_name);
    match cat.trigger(&name) {
        Some(t) => catalog::delete_trigger(txn, &t.def.name)?,
        None if dt.if_exists => {}
        None => return name_err(format!("no such trigger: {name}")),
    }
    Ok(QueryResult::default())
}

/// Drops the triggers attached to a table or view being dropped.
pub(crate) fn drop_triggers_on(
    cat: &Catalog,
    txn: &mut dyn crate::kv::KvTxn,
    table: &str,
) -> Result<()> {
    for t in cat.triggers_on(table) {
        if !t.def.temporary {
            catalog::delete_trigger(txn, &t.def.name)?;
        }
    }
    Ok(())
}

/// Makes the triggers of a renamed table follow it: their `ON` table, the table's name where
/// the programs write to or read from it, and column references qualified with it.
pub(crate) fn rename_table_in_triggers(
    cat: &Catalog,
    txn: &mut dyn crate::kv::KvTxn,
    old: &str,
    new: &str,
) -> Result<()> {
    let rename = |n: &mut ast::ObjectName| {
        if object_name(n).eq_ignore_ascii_case(old) {
            *n = ast::ObjectName::from(vec![ast::Ident::new(new)]);
        }
    };
    for t in cat.triggers.values().filter(|t| !t.def.temporary) {
        let mut ct = extract(&t.def.sql)?;
        let mut def = t.def.clone();
        if def.table.eq_ignore_ascii_case(old) {
            def.table = new.to_string();
            ct.table_name = ast::ObjectName::from(vec![ast::Ident::new(new)]);
        }
        if let Some(ast::ConditionalStatements::BeginEnd(b)) = &mut ct.statements {
            for s in &mut b.statements {
                if let Statement::Insert(ins) = s {
                    if let ast::TableObject::TableName(n) = &mut ins.table {
                        rename(n);
                    }
                }
                let _ = ast::visit_relations_mut(s, |n| {
                    rename(n);
                    ControlFlow::<()>::Continue(())
                });
                // Column references qualified with the old name (`t.col`).
                let _ = ast::visit_expressions_mut(s, |e| {
                    if let ast::Expr::CompoundIdentifier(ids) = e {
                        if let [q, _] = ids.as_mut_slice() {
                            if q.value.eq_ignore_ascii_case(old) {
                                *q = ast::Ident::new(new);
                            }
                        }
                    }
                    ControlFlow::<()>::Continue(())
                });
            }
        }
        let sql = Statement::CreateTrigger(ct).to_string();
        if sql != def.sql || def.table != t.def.table {
            def.sql = sql;
            catalog::put_trigger(txn, &def)?;
        }
    }
    Ok(())
}

/// Makes the triggers of `table` follow a renamed column: their `UPDATE OF` list and their
/// `NEW.col` / `OLD.col` references. (Other references to the column in trigger programs are
/// not rewritten; they fail with "no such column" when the trigger fires.)
pub(crate) fn rename_column_in_triggers(
    cat: &Catalog,
    txn: &mut dyn crate::kv::KvTxn,
    table: &str,
    old: &str,
    new: &str,
) -> Result<()> {
    for t in cat.triggers_on(table) {
        if t.def.temporary {
            continue;
        }
        let mut ct = extract(&t.def.sql)?;
        if let [ast::TriggerEvent::Update(cols)] = ct.events.as_mut_slice() {
            for c in cols
                .iter_mut()
                .filter(|c| c.value.eq_ignore_ascii_case(old))
            {
                *c = ast::Ident::new(new);
            }
        }
        let rename = |e: &mut ast::Expr| {
            if let ast::Expr::CompoundIdentifier(ids) = e {
                if let [q, c] = ids.as_mut_slice() {
                    let row =
                        q.value.eq_ignore_ascii_case("new") || q.value.eq_ignore_ascii_case("old");
                    if row && c.value.eq_ignore_ascii_case(old) {
                        *c = ast::Ident::new(new);
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        };
        if let Some(w) = &mut ct.condition {
            let _ = ast::visit_expressions_mut(w, rename);
        }
        if let Some(ast::ConditionalStatements::BeginEnd(b)) = &mut ct.statements {
            let _ = ast::visit_expressions_mut(&mut b.statements, rename);
        }
        let mut def = t.def.clone();
        for c in def
            .columns
            .iter_mut()
            .filter(|c| c.eq_ignore_ascii_case(old))
        {
            *c = new.to_string();
        }
        def.sql = Statement::CreateTrigger(ct).to_string();
        if def.sql != t.def.sql {
            catalog::put_trigger(txn, &def)?;
        }
    }
    Ok(())
}

/// TEMP triggers (kept by the `Session`, not stored) take sequence numbers from here up, so
/// they fire before every stored trigger, as in SQLite (whose temp schema's triggers head
/// each table's list).
pub(crate) const TEMP_SEQ_FLOOR: u64 = 1 << 62;

// ---------------------------------------------------------------- firing

/// One trigger program on the stack of running programs.
pub(crate) struct Frame<'a> {
    name: &'a str,
    parent: Option<&'a Frame<'a>>,
    depth: usize,
}

impl Frame<'_> {
    fn running(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) || self.parent.is_some_and(|p| p.running(name))
    }
}

/// What the statement writing a row does after its triggers ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Go on with the row.
    Proceed,
    /// `RAISE(IGNORE)`: skip the row (its write and its remaining triggers).
    Ignore,
}

/// The triggers one DML statement fires on one table or view, by timing, newest first.
#[derive(Default)]
pub(crate) struct Fired {
    pub before: Vec<Arc<Trigger>>,
    pub after: Vec<Arc<Trigger>>,
    pub instead: Vec<Arc<Trigger>>,
}

impl Fired {
    /// The triggers of `table` for `event`; for UPDATE only those whose `UPDATE OF` list
    /// (if any) names one of the `set` columns.
    pub fn new(cat: &Catalog, table: &str, event: TriggerEvent, set: &[&str]) -> Fired {
        let mut f = Fired::default();
        if cat.triggers.is_empty() {
            return f;
        }
        let mut all = cat.triggers_on(table);
        all.reverse();
        for t in all {
            if t.def.event != event {
                continue;
            }
            if event == TriggerEvent::Update
                && !t.def.columns.is_empty()
                && !t
                    .def
                    .columns
                    .iter()
                    .any(|c| set.iter().any(|s| s.eq_ignore_ascii_case(c)))
            {
                continue;
            }
            match t.def.timing {
                TriggerTiming::Before => f.before.push(t.clone()),
                TriggerTiming::After => f.after.push(t.clone()),
                TriggerTiming::InsteadOf => f.instead.push(t.clone()),
            }
        }
        f
    }

    /// True when no trigger fires.
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty() && self.instead.is_empty()
    }
}

/// A row as a trigger sees it: column values (in `columns` order) and rowid.
#[derive(Clone, Copy)]
pub(crate) struct Image<'r> {
    pub row: &'r [Value],
    pub rowid: &'r Value,
}

/// What a DML statement needs to run trigger programs.
#[derive(Clone, Copy)]
pub(crate) struct Firing<'a> {
    pub cat: &'a Catalog,
    pub ctl: &'a Ctl,
    pub frame: Option<&'a Frame<'a>>,
    /// The conflict policy an enclosing statement stated (`INSERT OR REPLACE ...`): as in
    /// SQLite it overrides the policy of the statements its triggers run.
    pub conflict: Option<crate::exec::OnConflict>,
}

impl<'a> Firing<'a> {
    /// True when the statement runs inside a trigger program.
    pub fn in_trigger(&self) -> bool {
        self.frame.is_some()
    }

    /// This context for a statement stating conflict policy `own` (an enclosing statement's
    /// policy wins).
    pub fn with_conflict(self, own: Option<crate::exec::OnConflict>) -> Self {
        Firing {
            conflict: self.conflict.or(own),
            ..self
        }
    }

    /// Runs `list` for one row, in the statement's transaction (through `ex`).
    pub fn fire(
        &self,
        ex: &mut Exec,
        list: &[Arc<Trigger>],
        columns: &[String],
        old: Option<Image<'_>>,
        new: Option<Image<'_>>,
    ) -> Result<Outcome> {
        if list.is_empty() {
            return Ok(Outcome::Proceed);
        }
        // Cascades nest statements inside statements: grow the stack in segments, as the
        // binder and executor do.
        use crate::planner::{STACK_GROW, STACK_RED_ZONE};
        let r = stacker::maybe_grow(STACK_RED_ZONE, STACK_GROW, || {
            self.fire_all(ex, list, columns, old, new)
        });
        // A program may have written the statement's own table.
        ex.forget_rowids();
        r
    }

    fn fire_all(
        &self,
        ex: &mut Exec,
        list: &[Arc<Trigger>],
        columns: &[String],
        old: Option<Image<'_>>,
        new: Option<Image<'_>>,
    ) -> Result<Outcome> {
        for t in list {
            // recursive_triggers is off: a running program does not fire itself again.
            if self.frame.is_some_and(|f| f.running(&t.def.name)) {
                continue;
            }
            let depth = self.frame.map_or(0, |f| f.depth) + 1;
            if depth > MAX_TRIGGER_DEPTH {
                return Err(Error::TooBig("too many levels of trigger recursion".into()));
            }
            ex.ctl().tick()?;
            let params = t
                .slots
                .iter()
                .map(|s| slot_value(s, columns, old, new))
                .collect::<Result<Vec<Value>>>()?;
            let frame = Frame {
                name: &t.def.name,
                parent: self.frame,
                depth,
            };
            let inner = Firing {
                frame: Some(&frame),
                ..*self
            };
            let txn = ex.txn_mut()?;
            let mut run = || -> Result<()> {
                if let Some(w) = &t.when {
                    if !crate::session::trigger_condition(inner, txn, w, &params)? {
                        return Ok(());
                    }
                }
                for s in &t.body {
                    crate::session::run_trigger_step(inner, txn, s, &params)?;
                }
                Ok(())
            };
            match run() {
                Ok(()) => {}
                Err(Error::Raise {
                    kind: RaiseKind::Ignore,
                    ..
                }) => return Ok(Outcome::Ignore),
                Err(e) => return Err(e),
            }
        }
        Ok(Outcome::Proceed)
    }
}

fn slot_value(
    s: &Slot,
    columns: &[String],
    old: Option<Image<'_>>,
    new: Option<Image<'_>>,
) -> Result<Value> {
    let side = if s.new { "NEW" } else { "OLD" };
    let Some(img) = (if s.new { new } else { old }) else {
        return name_err(format!("no such column: {side}.{}", s.column));
    };
    if let Some(i) = columns
        .iter()
        .position(|c| c.eq_ignore_ascii_case(&s.column))
    {
        return Ok(img.row.get(i).cloned().unwrap_or(Value::Null));
    }
    if ["rowid", "_rowid_", "oid"]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&s.column))
    {
        return Ok(img.rowid.clone());
    }
    name_err(format!("no such column: {side}.{}", s.column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_not_exists_is_cut_from_trigger_headers_only() {
        let sql = "CREATE TABLE IF NOT EXISTS t(a); CREATE TEMP TRIGGER IF NOT EXISTS tr \
                   AFTER INSERT ON t BEGIN SELECT 'IF NOT EXISTS'; END; \
                   CREATE TRIGGER tr2 DELETE ON t BEGIN SELECT 1; END";
        let (out, flags) = strip_if_not_exists(sql);
        assert_eq!(flags, vec![true, false]);
        assert!(out.contains("CREATE TABLE IF NOT EXISTS t(a)"));
        assert!(out.contains("CREATE TEMP TRIGGER  tr"));
        assert!(out.contains("'IF NOT EXISTS'"));
        let (same, none) = strip_if_not_exists("SELECT 'trigger'");
        assert_eq!(same, "SELECT 'trigger'");
        assert!(none.is_empty());
    }

    #[test]
    fn multibyte_text_before_the_clause_keeps_offsets_right() {
        let sql =
            "SELECT 'é✓';\nCREATE TRIGGER IF NOT EXISTS \"ü\" INSERT ON t BEGIN SELECT 1; END";
        let (out, flags) = strip_if_not_exists(sql);
        assert_eq!(flags, vec![true]);
        assert_eq!(
            out,
            "SELECT 'é✓';\nCREATE TRIGGER  \"ü\" INSERT ON t BEGIN SELECT 1; END"
        );
    }

    #[test]
    fn nesting_deeper_than_sqlite_allows_is_a_clear_error() {
        use crate::kv::{KvBackend, MemBackend};
        let def = TriggerDef {
            name: "deep".into(),
            table: "t".into(),
            timing: TriggerTiming::After,
            event: TriggerEvent::Insert,
            columns: Vec::new(),
            seq: 1,
            temporary: false,
            sql: "CREATE TRIGGER deep AFTER INSERT ON t BEGIN SELECT 1; END".into(),
        };
        let list = vec![Arc::new(Trigger::compile(def).unwrap())];
        let cat = Catalog::default();
        let ctl = Ctl::unlimited();
        let b = MemBackend::new();
        let mut txn = b.begin().unwrap();
        let mut ex = Exec::new(txn.as_mut(), &[]);
        let row = [Value::Integer(1)];
        let new = Image {
            row: &row,
            rowid: &Value::Integer(1),
        };
        let columns = ["a".to_string()];
        let at = |depth| Frame {
            name: "other",
            parent: None,
            depth,
        };
        let ok = at(MAX_TRIGGER_DEPTH - 1);
        let fire = Firing {
            cat: &cat,
            ctl: &ctl,
            frame: Some(&ok),
            conflict: None,
        };
        assert_eq!(
            fire.fire(&mut ex, &list, &columns, None, Some(new))
                .unwrap(),
            Outcome::Proceed
        );
        let deep = at(MAX_TRIGGER_DEPTH);
        let fire = Firing {
            frame: Some(&deep),
            ..fire
        };
        let e = fire
            .fire(&mut ex, &list, &columns, None, Some(new))
            .unwrap_err();
        assert!(
            matches!(e, Error::TooBig(ref m) if m.contains("trigger recursion")),
            "{e:?}"
        );
        // A trigger already running does not fire again (recursive_triggers off), at any depth.
        let running = Frame {
            name: "DEEP",
            parent: Some(&deep),
            depth: MAX_TRIGGER_DEPTH + 1,
        };
        let fire = Firing {
            frame: Some(&running),
            ..fire
        };
        assert_eq!(
            fire.fire(&mut ex, &list, &columns, None, Some(new))
                .unwrap(),
            Outcome::Proceed
        );
    }

    #[test]
    fn row_references_become_parameters() {
        let def = TriggerDef {
            name: "tr".into(),
            table: "t".into(),
            timing: TriggerTiming::After,
            event: TriggerEvent::Update,
            columns: Vec::new(),
            seq: 1,
            temporary: false,
            sql: "CREATE TRIGGER tr AFTER UPDATE ON t WHEN new.a > OLD.a BEGIN \
                  INSERT INTO log VALUES (new.a, old.a, NEW.a); END"
                .into(),
        };
        let t = Trigger::compile(def).unwrap();
        assert_eq!(t.slots.len(), 2);
        assert!(t.slots[0].new && !t.slots[1].new);
        assert_eq!(t.body[0].to_string(), "INSERT INTO log VALUES (?1, ?2, ?1)");
        assert!(t.when.is_some());
    }
}
