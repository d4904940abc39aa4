//! Object identifiers. PostgreSQL's fixed OIDs where a client may know them (types, the
//! `pg_catalog` namespace, the bootstrap superuser, access methods, collations); our own
//! objects' OIDs are derived from their ids so they stay the same for as long as the object
//! exists and never depend on the order a snapshot lists things in:
//!
//! ```text
//! table        FIRST_USER + table_id × STRIDE
//! index i      table + 1 + i                  (i < SLOT; index id 0 is the primary key)
//! constraint   table + 1 + SLOT + i           (the constraint an index enforces)
//! default of   table + 1 + 2 × SLOT + attnum  (attnum ≤ SLOT)
//!   column
//! ```

use crate::error::Result;
use crate::sql_error;

pub const PG_CATALOG_NAMESPACE: i64 = 11;
pub const PUBLIC_NAMESPACE: i64 = 2200;
/// PostgreSQL assigns this at initdb; any fixed value serves.
pub const INFORMATION_SCHEMA_NAMESPACE: i64 = 13_000;
/// PostgreSQL's bootstrap superuser.
pub const ROOT_ROLE: i64 = 10;
/// The database `chronos` (PostgreSQL's `postgres` database has 5).
pub const DATABASE: i64 = 5;
pub const HEAP_AM: i64 = 2;
pub const BTREE_AM: i64 = 403;
pub const DEFAULT_COLLATION: i64 = 100;
pub const C_COLLATION: i64 = 950;
pub const POSIX_COLLATION: i64 = 951;
pub const DEFAULT_TABLESPACE: i64 = 1663;

pub const BOOL: i64 = 16;
pub const CHAR: i64 = 18;
pub const NAME: i64 = 19;
pub const INT8: i64 = 20;
pub const INT2: i64 = 21;
pub const INT4: i64 = 23;
pub const TEXT: i64 = 25;
pub const OID: i64 = 26;
pub const FLOAT4: i64 = 700;
pub const FLOAT8: i64 = 701;
pub const BPCHAR: i64 = 1042;
pub const VARCHAR: i64 = 1043;
pub const DATE: i64 = 1082;
pub const TIMESTAMP: i64 = 1114;
pub const TIMESTAMPTZ: i64 = 1184;
pub const REGCLASS: i64 = 2205;
pub const REGTYPE: i64 = 2206;

/// System relations are numbered from here in [`super::all`]'s order.
pub const FIRST_SYSTEM_RELATION: i64 = 12_000;
/// PostgreSQL's first OID for user objects.
pub const FIRST_USER: i64 = 16_384;
const SLOT: i64 = 1_600;
const STRIDE: i64 = 1 + 3 * SLOT;

fn table_base(table_id: u64) -> Result<i64> {
    i64::try_from(table_id)
        .ok()
        .and_then(|id| id.checked_mul(STRIDE))
        .and_then(|x| x.checked_add(FIRST_USER))
        .ok_or_else(|| sql_error!(ProgramLimitExceeded, "table id {table_id} has no OID"))
}

fn slot(what: &str, n: u64) -> Result<i64> {
    i64::try_from(n).ok().filter(|n| *n < SLOT).ok_or_else(|| {
        sql_error!(
            ProgramLimitExceeded,
            "{what} {n} is beyond the {SLOT} a table's OIDs leave room for"
        )
    })
}

pub fn table(table_id: u64) -> Result<i64> {
    table_base(table_id)
}

pub fn index(table_id: u64, index_id: u64) -> Result<i64> {
    Ok(table_base(table_id)? + 1 + slot("index id", index_id)?)
}

pub fn constraint(table_id: u64, index_id: u64) -> Result<i64> {
    Ok(table_base(table_id)? + 1 + SLOT + slot("index id", index_id)?)
}

pub fn default(table_id: u64, attnum: u64) -> Result<i64> {
    Ok(table_base(table_id)? + 1 + 2 * SLOT + slot("column number", attnum)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_oids_are_distinct_and_stable() {
        let t1 = table(1).unwrap_or_default();
        let t2 = table(2).unwrap_or_default();
        assert_eq!(t1, FIRST_USER + STRIDE);
        let mut all = vec![t1, t2];
        for i in [0, 1, SLOT as u64 - 1] {
            all.push(index(1, i).unwrap_or_default());
            all.push(constraint(1, i).unwrap_or_default());
            all.push(default(1, i).unwrap_or_default());
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "two objects share an OID");
        assert!(all.iter().all(|o| *o >= t1 && *o < t2 + 1));
        assert!(index(1, SLOT as u64).is_err());
        assert!(table(u64::MAX).is_err());
    }
}
