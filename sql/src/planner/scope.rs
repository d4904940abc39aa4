//! Name resolution: which column of which row a name refers to.

use crate::error::{Error, Result, SqlState};
use crate::value::DataType;

#[derive(Debug, Clone, PartialEq)]
pub struct ScopeColumn {
    /// The table name or alias the column is reachable through.
    pub table: Option<String>,
    pub name: String,
    pub data_type: Option<DataType>,
}

/// The columns of a row, in order, with the names they can be referred to by.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub columns: Vec<ScopeColumn>,
}

impl Scope {
    pub fn new(columns: Vec<ScopeColumn>) -> Self {
        Scope { columns }
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn concat(&self, other: &Scope) -> Scope {
        let mut columns = self.columns.clone();
        columns.extend(other.columns.iter().cloned());
        Scope { columns }
    }

    /// The position of `table.name` (or `name`), `None` if absent; ambiguity is an error.
    pub fn resolve(&self, table: Option<&str>, name: &str) -> Result<Option<usize>> {
        let mut found = None;
        for (i, c) in self.columns.iter().enumerate() {
            let table_ok = match table {
                Some(t) => c.table.as_deref() == Some(t),
                None => true,
            };
            if table_ok && c.name == name {
                if found.is_some() {
                    return Err(Error::new(
                        SqlState::AmbiguousColumn,
                        format!("column reference \"{name}\" is ambiguous"),
                    ));
                }
                found = Some(i);
            }
        }
        Ok(found)
    }

    /// Whether any column is reachable through `table`.
    pub fn has_table(&self, table: &str) -> bool {
        self.columns
            .iter()
            .any(|c| c.table.as_deref() == Some(table))
    }
}
