//! The extended query protocol on the session thread: Parse, Bind, Describe, Execute, Close
//! and Sync turned into calls of the session's prepared-statement API (`chronos_sql::prepared`)
//! and the backend messages they answer with.
//!
//! The session owns the statements and portals; this module keeps only what is the
//! protocol's: the parameter types each statement is described with (a type the client
//! declared, e.g. int4, is kept so its binary values are read at that width) and the result
//! format of each portal's columns. An error becomes [`Event::Failed`]; pgwire then answers
//! with ErrorResponse and discards messages until Sync, as PostgreSQL does.

use std::collections::HashMap;

use chronos_sql::{
    ColumnInfo, DataType, PortalOutcome, SqlState, StatementResult, Streamed, Value,
};
use pgwire::api::Type;
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, CloseComplete, ParseComplete, PortalSuspended,
};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse};

use crate::backend::{SessionBackend, TxState};
use crate::formats::{self, declared_type, decode_param, encode_row};
use crate::types::{command_tag, pg_type, row_description_with_formats};
use crate::worker::Event;

/// One extended-protocol message for the session thread.
#[derive(Debug)]
pub(crate) enum Request {
    Parse {
        name: String,
        sql: String,
        type_oids: Vec<u32>,
    },
    Bind(Bind),
    Describe {
        portal: bool,
        name: String,
    },
    Execute {
        portal: String,
        max_rows: u64,
    },
    Close {
        portal: bool,
        name: String,
    },
    Sync,
}

/// The protocol's own per-connection state.
#[derive(Debug, Default)]
pub(crate) struct Protocol {
    /// Parameter types of each statement prepared through Parse.
    param_types: HashMap<String, Vec<Type>>,
    /// Result format of each column of each bound portal.
    result_formats: HashMap<String, Vec<i16>>,
}

type Send<'a> = &'a mut dyn FnMut(Event) -> bool;

impl Protocol {
    /// Handles `request`, sending its answer through `send`; `Err` is the error to report.
    pub(crate) fn handle(
        &mut self,
        session: &mut dyn SessionBackend,
        request: Request,
        send: Send<'_>,
    ) -> Result<(), chronos_sql::Error> {
        let message = |send: Send<'_>, m: PgWireBackendMessage| {
            if send(Event::Message(m)) {
                Ok(())
            } else {
                Err(chronos_sql::Error::internal("the connection went away"))
            }
        };
        match request {
            Request::Parse {
                name,
                sql,
                type_oids,
            } => {
                let declared = type_oids
                    .iter()
                    .map(|oid| declared_type(*oid))
                    .collect::<Result<Vec<_>, _>>()?;
                let ours: Vec<Option<DataType>> = declared
                    .iter()
                    .map(|d| d.as_ref().map(|(t, _)| *t))
                    .collect();
                let description = session.prepare(&name, &sql, &ours)?;
                let types = description
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, t)| match declared.get(i) {
                        Some(Some((_, wire))) => wire.clone(),
                        _ => pg_type(Some(*t)),
                    })
                    .collect();
                self.param_types.insert(name, types);
                message(
                    send,
                    PgWireBackendMessage::ParseComplete(ParseComplete::new()),
                )
            }
            Request::Bind(bind) => {
                self.bind(session, bind)?;
                message(
                    send,
                    PgWireBackendMessage::BindComplete(BindComplete::new()),
                )
            }
            Request::Describe {
                portal: false,
                name,
            } => {
                let description = session.describe_statement(&name)?;
                let types = self.param_types_of(&name, &description.params);
                message(
                    send,
                    PgWireBackendMessage::ParameterDescription(ParameterDescription::new(
                        types.iter().map(Type::oid).collect(),
                    )),
                )?;
                message(send, describe_rows(description.columns.as_deref(), &[]))
            }
            Request::Describe { portal: true, name } => {
                let columns = session.describe_portal(&name)?;
                let formats = self.result_formats.get(&name).cloned().unwrap_or_default();
                message(send, describe_rows(columns.as_deref(), &formats))
            }
            Request::Execute { portal, max_rows } => self.execute(session, &portal, max_rows, send),
            Request::Close {
                portal: false,
                name,
            } => {
                session.close_statement(&name);
                self.param_types.remove(&name);
                message(
                    send,
                    PgWireBackendMessage::CloseComplete(CloseComplete::new()),
                )
            }
            Request::Close { portal: true, name } => {
                session.close_portal(&name);
                self.result_formats.remove(&name);
                message(
                    send,
                    PgWireBackendMessage::CloseComplete(CloseComplete::new()),
                )
            }
            Request::Sync => {
                session.sync();
                if session.transaction_state() == TxState::Idle {
                    self.result_formats.clear();
                }
                Ok(())
            }
        }
    }

    /// The wire types of a statement's parameters: as Parse recorded them, or (a statement
    /// prepared by SQL PREPARE) ours.
    fn param_types_of(&self, name: &str, ours: &[DataType]) -> Vec<Type> {
        match self.param_types.get(name) {
            Some(types) if types.len() == ours.len() => types.clone(),
            _ => ours.iter().map(|t| pg_type(Some(*t))).collect(),
        }
    }

    fn bind(
        &mut self,
        session: &mut dyn SessionBackend,
        bind: Bind,
    ) -> Result<(), chronos_sql::Error> {
        let statement = bind.statement_name.unwrap_or_default();
        let portal = bind.portal_name.unwrap_or_default();
        let description = session.describe_statement(&statement)?;
        let types = self.param_types_of(&statement, &description.params);
        if bind.parameters.len() != types.len() {
            return Err(chronos_sql::Error::new(
                SqlState::ProtocolViolation,
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{statement}\" requires {}",
                    bind.parameters.len(),
                    types.len()
                ),
            ));
        }
        let param_formats = formats::formats(
            &bind.parameter_format_codes,
            bind.parameters.len(),
            "parameter",
        )?;
        let values = bind
            .parameters
            .iter()
            .zip(&types)
            .zip(&param_formats)
            .enumerate()
            .map(|(i, ((bytes, ty), format))| decode_param(bytes.as_deref(), *format, ty, i))
            .collect::<Result<Vec<Value>, _>>()?;
        let columns = description.columns.as_ref().map_or(0, Vec::len);
        let result_formats = formats::formats(&bind.result_column_format_codes, columns, "result")?;
        session.bind(&portal, &statement, values)?;
        self.result_formats.insert(portal, result_formats);
        Ok(())
    }

    fn execute(
        &mut self,
        session: &mut dyn SessionBackend,
        portal: &str,
        max_rows: u64,
        send: Send<'_>,
    ) -> Result<(), chronos_sql::Error> {
        let columns = session.describe_portal(portal)?.unwrap_or_default();
        let types: Vec<Option<DataType>> = columns.iter().map(|c| c.data_type).collect();
        let formats = self.result_formats.get(portal).cloned().unwrap_or_default();
        let mut rows = 0u64;
        let mut failed = None;
        let outcome = session.execute_portal(portal, max_rows, &mut |item| match item {
            Streamed::Row(row) => match encode_row(&row, &types, &formats) {
                Ok(data) => {
                    rows += 1;
                    send(Event::Message(PgWireBackendMessage::DataRow(data)))
                }
                Err(e) => {
                    failed = Some(e);
                    false
                }
            },
            // The client described the portal; EXECUTE of a SQL-prepared query repeats it.
            Streamed::Columns(_) | Streamed::Done(_) => true,
            Streamed::Message(m) => send(Event::Message(crate::handler::session_message(m))),
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let mut message = |m| {
            if send(Event::Message(m)) {
                Ok(())
            } else {
                Err(chronos_sql::Error::internal("the connection went away"))
            }
        };
        match outcome? {
            PortalOutcome::Suspended => {
                message(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
            }
            PortalOutcome::Empty => message(PgWireBackendMessage::EmptyQueryResponse(
                EmptyQueryResponse::new(),
            )),
            PortalOutcome::Complete(result) => {
                // SHOW and EXPLAIN carry their rows in the result.
                let carried: Vec<Vec<Value>> = match &result {
                    StatementResult::Query { rows, .. } => rows.clone(),
                    StatementResult::Explain { lines } => {
                        lines.iter().map(|l| vec![Value::Text(l.clone())]).collect()
                    }
                    StatementResult::Modified { .. } | StatementResult::Command { .. } => {
                        Vec::new()
                    }
                };
                for row in &carried {
                    let data = encode_row(row, &types, &formats)?;
                    message(PgWireBackendMessage::DataRow(data))?;
                }
                let tag = command_tag(&result, rows);
                message(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                    tag,
                )))
            }
        }
    }
}

/// RowDescription of `columns` in `formats` (none given: text), or NoData.
fn describe_rows(columns: Option<&[ColumnInfo]>, formats: &[i16]) -> PgWireBackendMessage {
    match columns {
        None => PgWireBackendMessage::NoData(NoData::new()),
        Some(columns) => PgWireBackendMessage::RowDescription(row_description_with_formats(
            columns.iter().map(|c| (c.name.as_str(), c.data_type)),
            formats,
        )),
    }
}
