//! Prepared statements and portals: the plan cache.
//!
//! [`Session::prepare`] parses a statement once, infers the types of its `$n` parameters
//! (see `planner::params`) and, for a query, plans it once. [`Session::bind`] pairs a prepared
//! statement with parameter values in a portal, [`Session::execute_portal`] runs it, with an
//! optional row limit that suspends the portal (its executor kept in a [`Cursor`]) until the
//! next execute. SQL's `PREPARE`/`EXECUTE`/`DEALLOCATE` and the wire protocol's
//! Parse/Bind/Execute/Close use the same statements (one namespace, as in PostgreSQL).
//!
//! What is cached, and when it is thrown away:
//! - a query's plan, built with `Expr::Param` placeholders. Executing it substitutes the values
//!   as literals and re-picks each scan's key range from its (now constant) filter — a pure
//!   function of the scan's conjuncts; nothing is parsed, bound or looked up in the catalog;
//! - the plan is tagged with the catalog version it was built against (bumped by every DDL);
//!   an execution in a transaction that sees another version re-plans from the cached AST, and
//!   fails with 0A000 if the result columns changed, as PostgreSQL's "cached plan must not
//!   change result type". A plan built while the transaction has uncommitted DDL is never
//!   cached (that DDL may roll back, and a later committed DDL reuse its version number);
//! - INSERT, UPDATE and DELETE keep their parsed statement and bind the values as literals
//!   when they run (their planning is the per-row work they do anyway).
//!
//! Statements and portals are named by strings and parameters are values, so the API can be
//! forwarded to another node (a statement id and values, no closures).

use std::collections::HashMap;
use std::sync::Arc;

use chronos_kv::mvcc::Transaction;
use parking_lot::Mutex;
use sqlparser::ast::{self, Statement};

use crate::catalog;
use crate::cursor::{Cursor, Fetched, MAX_OPEN_CURSORS};
use crate::engine::{ColumnInfo, Session, StatementResult, StreamSink, Streamed};
use crate::error::{Error, Result};
use crate::expr::{Expr, cast};
use crate::plan::Plan;
use crate::planner::{ParamTypes, Planner, Scope, data_type, scan_access};
use crate::sql_error;
use crate::value::{DataType, Value};

/// What a prepared statement takes and gives, known without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementDescription {
    /// The type of each parameter, `$1` first.
    pub params: Vec<DataType>,
    /// The result columns, or `None` for a statement that returns no rows.
    pub columns: Option<Vec<ColumnInfo>>,
}

/// A parsed (and for a query, planned) statement.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// `None`: the empty statement.
    statement: Option<Statement>,
    description: StatementDescription,
    plan: Mutex<Option<CachedPlan>>,
}

#[derive(Debug, Clone)]
struct CachedPlan {
    catalog_version: u64,
    plan: Arc<Plan>,
}

/// A prepared statement bound to parameter values.
#[derive(Debug)]
struct Portal {
    statement: Arc<Prepared>,
    params: Vec<Value>,
    state: PortalState,
}

#[derive(Debug)]
enum PortalState {
    Ready,
    /// Suspended after a row limit; the rest comes from here.
    Open(Cursor),
    Done,
}

/// How executing a portal ended.
#[derive(Debug)]
pub enum PortalOutcome {
    /// The statement ran to its end (a query's rows went to the sink).
    Complete(StatementResult),
    /// The row limit was reached; executing the portal again continues.
    Suspended,
    /// The empty statement.
    Empty,
}

/// A session's prepared statements and portals.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    statements: HashMap<String, Arc<Prepared>>,
    portals: HashMap<String, Portal>,
}

#[cfg(test)]
impl Registry {
    pub(crate) fn statement(&self, name: &str) -> Option<Arc<Prepared>> {
        self.statements.get(name).cloned()
    }
}

#[cfg(test)]
impl Prepared {
    pub(crate) fn has_cached_plan(&self) -> bool {
        self.plan.lock().is_some()
    }

    /// EXPLAIN of the cached plan with these values.
    pub(crate) fn instantiated_explain(&self, params: &[Value]) -> Vec<String> {
        let plan = self.plan.lock().clone().map(|c| c.plan);
        plan.map(|p| instantiate(&p, params).explain())
            .unwrap_or_default()
    }
}

fn unknown_statement(name: &str) -> Error {
    sql_error!(
        InvalidSqlStatementName,
        "prepared statement \"{name}\" does not exist"
    )
}

/// Parses `sql` as at most one statement.
fn parse_one(sql: &str) -> Result<Option<Statement>> {
    let mut statements = crate::engine::parse_statements(sql)?;
    match statements.len() {
        0 => Ok(None),
        1 => Ok(statements.pop()),
        _ => Err(sql_error!(
            SyntaxError,
            "cannot insert multiple commands into a prepared statement"
        )),
    }
}

impl Session {
    /// Prepares `sql` as the statement `name` (`""`: the unnamed statement, replaced by each
    /// prepare). `declared` holds the types the client declared for `$1`, `$2`, … (`None`:
    /// infer). A named statement that exists already is an error (42P05).
    pub fn prepare(
        &mut self,
        name: &str,
        sql: &str,
        declared: &[Option<DataType>],
    ) -> Result<StatementDescription> {
        self.cancel_handle().reset();
        if sql.len() > crate::depth::MAX_STATEMENT_BYTES {
            return Err(crate::depth::too_long(sql.len()));
        }
        let statement = crate::depth::with_statement_stack(sql.len(), || parse_one(sql));
        let out = statement.and_then(|st| self.prepare_statement(name, st, declared));
        if out.is_err() {
            self.fail_transaction();
        }
        out
    }

    fn prepare_statement(
        &mut self,
        name: &str,
        statement: Option<Statement>,
        declared: &[Option<DataType>],
    ) -> Result<StatementDescription> {
        if !name.is_empty() && self.registry().statements.contains_key(name) {
            return Err(sql_error!(
                DuplicatePreparedStatement,
                "prepared statement \"{name}\" already exists"
            ));
        }
        let prepared = match statement {
            None => Prepared {
                statement: None,
                description: StatementDescription {
                    params: Vec::new(),
                    columns: None,
                },
                plan: Mutex::new(None),
            },
            Some(st) => self.analyse(st, declared)?,
        };
        let description = prepared.description.clone();
        self.registry_mut()
            .statements
            .insert(name.to_owned(), Arc::new(prepared));
        Ok(description)
    }

    /// Infers parameter types and result columns; plans a query.
    fn analyse(&mut self, st: Statement, declared: &[Option<DataType>]) -> Result<Prepared> {
        let params = ParamTypes::declared(declared);
        let needs_catalog = matches!(
            st,
            Statement::Query(_)
                | Statement::Insert(_)
                | Statement::Update(_)
                | Statement::Delete(_)
        );
        if !needs_catalog {
            let columns = utility_columns(&st);
            return Ok(Prepared {
                description: StatementDescription {
                    params: params.resolved(),
                    columns,
                },
                statement: Some(st),
                plan: Mutex::new(None),
            });
        }
        self.refuse_if_failed()?;
        let (columns, cached) = self.with_read_txn(|txn| match &st {
            Statement::Query(q) => {
                let mut planner = Planner::with_params(txn, params.clone());
                let (plan, scope) = planner.plan_query(q)?;
                let cached = catalog::committed_version(txn)?
                    .filter(|_| !planner.uses_transaction_time())
                    .map(|v| CachedPlan {
                        catalog_version: v,
                        plan: Arc::new(plan),
                    });
                Ok((Some(columns_of(scope)), cached))
            }
            other => {
                infer_dml_params(txn, other, &params)?;
                Ok((None, None))
            }
        })?;
        Ok(Prepared {
            description: StatementDescription {
                params: params.resolved(),
                columns,
            },
            statement: Some(st),
            plan: Mutex::new(cached),
        })
    }

    /// The parameter types and result columns of prepared statement `name`.
    pub fn describe_statement(&self, name: &str) -> Result<StatementDescription> {
        self.registry()
            .statements
            .get(name)
            .map(|p| p.description.clone())
            .ok_or_else(|| unknown_statement(name))
    }

    /// Forgets prepared statement `name` (portals bound to it keep working). Closing one that
    /// does not exist is not an error (the protocol's Close); DEALLOCATE checks first.
    pub fn close_statement(&mut self, name: &str) {
        self.registry_mut().statements.remove(name);
    }

    /// Binds prepared statement `statement` to `params` as portal `portal` (`""`: the unnamed
    /// portal, replaced by each bind). Each value is converted to its parameter's type (text
    /// from the wire parses as PostgreSQL's input functions do: 22P02 when it does not).
    pub fn bind(&mut self, portal: &str, statement: &str, params: Vec<Value>) -> Result<()> {
        self.cancel_handle().reset();
        let out = self.bind_here(portal, statement, params);
        if out.is_err() {
            self.fail_transaction();
        }
        out
    }

    fn bind_here(&mut self, portal: &str, statement: &str, params: Vec<Value>) -> Result<()> {
        self.refuse_if_failed()?;
        let prepared = self
            .registry()
            .statements
            .get(statement)
            .cloned()
            .ok_or_else(|| unknown_statement(statement))?;
        let want = prepared.description.params.len();
        if params.len() != want {
            return Err(sql_error!(
                ProtocolViolation,
                "bind message supplies {} parameters, but prepared statement \"{statement}\" requires {want}",
                params.len()
            ));
        }
        let params = coerce_params(params, &prepared.description.params)?;
        if !portal.is_empty() && self.registry().portals.contains_key(portal) {
            return Err(sql_error!(
                DuplicateCursor,
                "cursor \"{portal}\" already exists"
            ));
        }
        self.registry_mut().portals.insert(
            portal.to_owned(),
            Portal {
                statement: prepared,
                params,
                state: PortalState::Ready,
            },
        );
        Ok(())
    }

    /// The result columns of portal `name` (`None`: it returns no rows).
    pub fn describe_portal(&self, name: &str) -> Result<Option<Vec<ColumnInfo>>> {
        self.registry()
            .portals
            .get(name)
            .map(|p| p.statement.description.columns.clone())
            .ok_or_else(|| unknown_portal(name))
    }

    /// Closes portal `name` (its cursor, if any, ends). Closing one that does not exist is not
    /// an error.
    pub fn close_portal(&mut self, name: &str) {
        self.registry_mut().portals.remove(name);
    }

    /// The end of an extended-protocol batch: outside a transaction block every portal is
    /// closed, as PostgreSQL closes them with the implicit transaction.
    pub fn sync(&mut self) {
        if !self.in_transaction() {
            self.registry_mut().portals.clear();
        }
    }

    /// Runs portal `name`: at most `max_rows` rows of a query (0: all) go to `sink` as
    /// [`Streamed::Row`]s (no `Columns` item: the caller described the portal), then the
    /// portal is either complete or suspended. Executing a completed portal again yields no
    /// more rows (a query) or fails (anything else, 55000 as PostgreSQL's "portal cannot be
    /// run").
    pub fn execute_portal(
        &mut self,
        name: &str,
        max_rows: u64,
        sink: StreamSink<'_>,
    ) -> Result<PortalOutcome> {
        self.cancel_handle().reset();
        let mut portal = self
            .registry_mut()
            .portals
            .remove(name)
            .ok_or_else(|| unknown_portal(name))?;
        let out = self.run_portal(&mut portal, max_rows, sink);
        // A failed statement's portal is finished; a closed-meanwhile name stays closed.
        if out.is_err() {
            portal.state = PortalState::Done;
        }
        self.registry_mut().portals.insert(name.to_owned(), portal);
        out
    }

    fn run_portal(
        &mut self,
        portal: &mut Portal,
        max_rows: u64,
        sink: StreamSink<'_>,
    ) -> Result<PortalOutcome> {
        let is_query = matches!(portal.statement.statement, Some(Statement::Query(_)));
        match &mut portal.state {
            PortalState::Done if is_query => {
                return Ok(PortalOutcome::Complete(empty_query(&portal.statement)));
            }
            PortalState::Done => {
                return Err(sql_error!(
                    ObjectNotInPrerequisiteState,
                    "portal has already been run to completion"
                ));
            }
            PortalState::Open(cursor) => {
                return fetch(cursor, max_rows, sink, &portal.statement).inspect(|o| {
                    if matches!(o, PortalOutcome::Complete(_)) {
                        portal.state = PortalState::Done;
                    }
                });
            }
            PortalState::Ready => {}
        }
        if max_rows > 0 && is_query {
            let open = self
                .registry()
                .portals
                .values()
                .filter(|p| matches!(p.state, PortalState::Open(_)))
                .count();
            if open >= MAX_OPEN_CURSORS {
                return Err(sql_error!(
                    ProgramLimitExceeded,
                    "too many suspended portals in this session (at most {MAX_OPEN_CURSORS})"
                ));
            }
            let mut cursor = self.open_cursor(&portal.statement, &portal.params)?;
            let out = fetch(&mut cursor, max_rows, sink, &portal.statement)?;
            portal.state = match out {
                PortalOutcome::Suspended => PortalState::Open(cursor),
                _ => PortalState::Done,
            };
            return Ok(out);
        }
        portal.state = PortalState::Done;
        let statement = portal.statement.clone();
        self.run_prepared(&statement, &portal.params, sink)
    }

    /// Runs a prepared statement with `params` (already of the parameters' types) to its end.
    fn run_prepared(
        &mut self,
        prepared: &Prepared,
        params: &[Value],
        sink: StreamSink<'_>,
    ) -> Result<PortalOutcome> {
        let Some(st) = &prepared.statement else {
            return Ok(PortalOutcome::Empty);
        };
        if let Statement::Query(_) = st {
            self.refuse_if_failed()?;
            let limits = self.statement_limits();
            let result = self.with_txn(false, |_, txn| {
                let plan = plan_for(prepared, txn)?;
                let plan = instantiate(&plan, params);
                let exec = crate::exec::Executor::new(txn, &limits);
                for row in exec.rows(&plan)? {
                    if !sink(Streamed::Row(row?)) {
                        return Err(Error::internal("the result receiver went away"));
                    }
                }
                Ok(empty_query(prepared))
            });
            return result.map(PortalOutcome::Complete);
        }
        let values = ParamTypes::values(&prepared.description.params, params.to_vec());
        self.execute_with_params(st, values, sink)
            .map(PortalOutcome::Complete)
    }

    /// A cursor over a prepared query: a read-only copy of the explicit transaction, or a new
    /// read-only transaction outside one.
    fn open_cursor(&mut self, prepared: &Prepared, params: &[Value]) -> Result<Cursor> {
        self.refuse_if_failed()?;
        let txn = match self.transaction() {
            Some(txn) => txn.read_only_copy()?,
            None => self.begin_read_only()?,
        };
        let plan = plan_for(prepared, &txn)?;
        let plan = Arc::new(instantiate(&plan, params).into_owned());
        Cursor::open(plan, txn, self.statement_limits())
    }

    /// SQL `PREPARE name [(types)] AS statement`.
    pub(crate) fn sql_prepare(
        &mut self,
        name: &ast::Ident,
        data_types: &[ast::DataType],
        statement: &Statement,
    ) -> Result<StatementResult> {
        let declared = data_types
            .iter()
            .map(|t| data_type(t).map(Some))
            .collect::<Result<Vec<_>>>()?;
        let name = crate::planner::ident(name);
        self.prepare_statement(&name, Some(statement.clone()), &declared)?;
        Ok(StatementResult::Command {
            tag: "PREPARE".into(),
        })
    }

    /// SQL `EXECUTE name [(args)]`: the arguments are constant expressions, converted to the
    /// parameters' types.
    pub(crate) fn sql_execute(
        &mut self,
        name: &ast::ObjectName,
        args: &[ast::Expr],
        sink: Option<StreamSink<'_>>,
    ) -> Result<StatementResult> {
        let name = crate::planner::object_name(name)?;
        let prepared = self
            .registry()
            .statements
            .get(&name)
            .cloned()
            .ok_or_else(|| unknown_statement(&name))?;
        let types = &prepared.description.params;
        if args.len() != types.len() {
            return Err(sql_error!(
                SyntaxError,
                "wrong number of parameters for prepared statement \"{name}\""
            )
            .with_detail(format!(
                "Expected {} parameters but got {}.",
                types.len(),
                args.len()
            )));
        }
        let values = self.with_read_txn(|txn| {
            let mut planner = Planner::new(txn);
            let none = crate::expr::NoSubqueries;
            args.iter()
                .map(|a| {
                    planner
                        .bind_expr(a, &Scope::default())?
                        .eval(&Vec::new(), &none)
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let values = coerce_params(values, types)?;
        let mut collected = Vec::new();
        let mut collect = |item: Streamed| {
            if let Streamed::Row(r) = item {
                collected.push(r);
            }
            true
        };
        // Rows stream to the caller's sink when there is one, preceded by their columns.
        let streaming = sink.is_some();
        let sink: StreamSink<'_> = match sink {
            Some(s) => {
                if let Some(columns) = &prepared.description.columns
                    && !s(Streamed::Columns(columns.clone()))
                {
                    return Err(Error::internal("the result receiver went away"));
                }
                s
            }
            None => &mut collect,
        };
        match self.run_prepared(&prepared, &values, sink)? {
            PortalOutcome::Complete(StatementResult::Query { columns, rows }) if !streaming => {
                let mut rows = rows;
                rows.extend(collected);
                Ok(StatementResult::Query { columns, rows })
            }
            PortalOutcome::Complete(r) => Ok(r),
            PortalOutcome::Empty | PortalOutcome::Suspended => Ok(StatementResult::Command {
                tag: "EXECUTE".into(),
            }),
        }
    }

    /// SQL `DEALLOCATE [PREPARE] name | ALL`.
    pub(crate) fn sql_deallocate(&mut self, name: &ast::Ident) -> Result<StatementResult> {
        // sqlparser reads `DEALLOCATE ALL` as a statement named "ALL" (unquoted).
        if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
            self.registry_mut().statements.clear();
        } else {
            let name = crate::planner::ident(name);
            if self.registry_mut().statements.remove(&name).is_none() {
                return Err(unknown_statement(&name));
            }
        }
        Ok(StatementResult::Command {
            tag: "DEALLOCATE".into(),
        })
    }
}

fn unknown_portal(name: &str) -> Error {
    sql_error!(InvalidCursorName, "portal \"{name}\" does not exist")
}

fn empty_query(prepared: &Prepared) -> StatementResult {
    StatementResult::Query {
        columns: prepared.description.columns.clone().unwrap_or_default(),
        rows: Vec::new(),
    }
}

fn fetch(
    cursor: &mut Cursor,
    max_rows: u64,
    sink: StreamSink<'_>,
    prepared: &Prepared,
) -> Result<PortalOutcome> {
    match cursor.fetch(max_rows, &mut |row| sink(Streamed::Row(row)))? {
        Fetched::Suspended => Ok(PortalOutcome::Suspended),
        Fetched::Done => Ok(PortalOutcome::Complete(empty_query(prepared))),
    }
}

fn columns_of(scope: Scope) -> Vec<ColumnInfo> {
    scope
        .columns
        .into_iter()
        .map(|c| ColumnInfo {
            name: c.name,
            data_type: c.data_type,
        })
        .collect()
}

/// Result columns of statements other than queries and DML that return rows.
fn utility_columns(st: &Statement) -> Option<Vec<ColumnInfo>> {
    let text = |name: &str| {
        Some(vec![ColumnInfo {
            name: name.to_owned(),
            data_type: Some(DataType::Text),
        }])
    };
    match st {
        Statement::Explain { .. } => text("QUERY PLAN"),
        Statement::ShowTables { .. } => text("name"),
        Statement::ShowVariable { variable } => text(
            &variable
                .iter()
                .map(crate::planner::ident)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

/// Converts each value to its parameter's type.
fn coerce_params(values: Vec<Value>, types: &[DataType]) -> Result<Vec<Value>> {
    values
        .into_iter()
        .zip(types)
        .map(|(v, t)| match (&v, t) {
            (Value::Null, _) => Ok(Value::Null),
            (v, t) if v.data_type() == Some(*t) => Ok(v.clone()),
            _ => cast(v, *t),
        })
        .collect()
}

/// The cached plan of a prepared query if it was built against the catalog version `txn`
/// sees; otherwise a new one (cached when that version is committed).
fn plan_for(prepared: &Prepared, txn: &Transaction) -> Result<Arc<Plan>> {
    let version = catalog::committed_version(txn)?;
    if let Some(v) = version
        && let Some(c) = prepared.plan.lock().as_ref()
        && c.catalog_version == v
    {
        return Ok(c.plan.clone());
    }
    let Some(Statement::Query(q)) = &prepared.statement else {
        return Err(Error::internal("only a query has a plan to cache"));
    };
    let declared: Vec<Option<DataType>> = prepared
        .description
        .params
        .iter()
        .copied()
        .map(Some)
        .collect();
    let params = ParamTypes::declared(&declared);
    let mut planner = Planner::with_params(txn, params.clone());
    let (plan, scope) = planner.plan_query(q)?;
    if Some(columns_of(scope)) != prepared.description.columns
        || params.resolved() != prepared.description.params
    {
        return Err(sql_error!(
            FeatureNotSupported,
            "cached plan must not change result type"
        ));
    }
    let plan = Arc::new(plan);
    if let Some(v) = version
        && !planner.uses_transaction_time()
    {
        *prepared.plan.lock() = Some(CachedPlan {
            catalog_version: v,
            plan: plan.clone(),
        });
    }
    Ok(plan)
}

/// `plan` with its parameters replaced by `params` and each scan's access path chosen from
/// the values. Without parameters the cached plan runs as it is.
fn instantiate<'p>(plan: &'p Plan, params: &[Value]) -> std::borrow::Cow<'p, Plan> {
    if params.is_empty() {
        return std::borrow::Cow::Borrowed(plan);
    }
    let mut plan = substitute(plan.clone(), params);
    rechoose_access(&mut plan);
    std::borrow::Cow::Owned(plan)
}

fn substitute(plan: Plan, params: &[Value]) -> Plan {
    plan.map_exprs(&mut |e| {
        e.transform(&mut |x| match x {
            Expr::Param(i) => Expr::Literal(params.get(i).cloned().unwrap_or(Value::Null)),
            Expr::Subquery {
                plan,
                kind,
                negated,
            } => {
                let mut plan = substitute(*plan, params);
                rechoose_access(&mut plan);
                Expr::Subquery {
                    plan: Box::new(plan),
                    kind,
                    negated,
                }
            }
            x => x,
        })
        .fold()
    })
}

/// Picks every scan's access path again from its filter (which now holds the values).
fn rechoose_access(plan: &mut Plan) {
    crate::depth::guard(|| match plan {
        Plan::Scan {
            table,
            access,
            filter,
            ..
        } => {
            if let Some(f) = filter {
                *access = scan_access(table, f);
            }
        }
        Plan::Values { .. } => {}
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::Aggregate { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Limit { input, .. }
        | Plan::Distinct { input } => rechoose_access(input),
        Plan::NestedLoopJoin { left, right, .. }
        | Plan::HashJoin { left, right, .. }
        | Plan::SetOp { left, right, .. } => {
            rechoose_access(left);
            rechoose_access(right);
        }
    })
}

/// Infers the parameter types of INSERT, UPDATE and DELETE by binding their expressions
/// where they will be bound when the statement runs; a bare `$n` assigned to a column takes
/// the column's type.
fn infer_dml_params(txn: &Transaction, st: &Statement, params: &ParamTypes) -> Result<()> {
    let mut planner = Planner::with_params(txn, params.clone());
    match st {
        Statement::Insert(ins) => {
            let ast::TableObject::TableName(n) = &ins.table else {
                return Ok(());
            };
            let table = catalog::get_table(
                txn,
                &crate::declared::table_name(n, crate::declared::NameUse::Lookup)?,
            )?;
            let targets: Vec<Option<usize>> = if ins.columns.is_empty() {
                (0..table.columns.len()).map(Some).collect()
            } else {
                ins.columns
                    .iter()
                    .map(|c| {
                        crate::planner::object_name(c)
                            .ok()
                            .and_then(|c| table.column_index(&c))
                    })
                    .collect()
            };
            let Some(source) = &ins.source else {
                return Ok(());
            };
            match source.body.as_ref() {
                ast::SetExpr::Values(values) => {
                    for row in &values.rows {
                        for (j, e) in row.iter().enumerate() {
                            if matches!(e, ast::Expr::Identifier(id) if id.value.eq_ignore_ascii_case("default"))
                            {
                                continue;
                            }
                            let bound = planner.bind_expr(e, &Scope::default())?;
                            let ty = targets
                                .get(j)
                                .copied()
                                .flatten()
                                .map(|c| table.columns[c].data_type);
                            params.infer(&bound, ty);
                        }
                    }
                }
                _ => {
                    planner.plan_query(source)?;
                }
            }
        }
        Statement::Update(up) => {
            let (table, alias) = crate::dml::target_table(txn, &up.table)?;
            let (_, _, scope) = planner.plan_table_filter(&table, &alias, up.selection.as_ref())?;
            for a in &up.assignments {
                let bound = planner.bind_expr(&a.value, &scope)?;
                let column = match &a.target {
                    ast::AssignmentTarget::ColumnName(n) => crate::planner::object_name(n)
                        .ok()
                        .and_then(|c| table.column_index(&c)),
                    ast::AssignmentTarget::Tuple(_) => None,
                };
                params.infer(&bound, column.map(|c| table.columns[c].data_type));
            }
        }
        Statement::Delete(del) => {
            let (table, alias) = crate::dml::delete_target(txn, del)?;
            planner.plan_table_filter(&table, &alias, del.selection.as_ref())?;
        }
        _ => {}
    }
    Ok(())
}
