//! The extended protocol's value formats: parameters arriving in text or binary format as our
//! values, and result values sent in the format each column asked for. Binary formats are
//! PostgreSQL's `send`/`recv` representations: big-endian integers of the type's width,
//! IEEE floats, one byte for bool, the UTF-8 bytes for text types.

use bytes::{BufMut, BytesMut};
use chronos_sql::{DataType, Error, SqlState, Value};
use pgwire::api::Type;
use pgwire::messages::data::DataRow;

use crate::types::{pg_type, text};

/// Format code 0: text; 1: binary.
pub(crate) const TEXT: i16 = 0;
pub(crate) const BINARY: i16 = 1;

/// Our type for a parameter type a client declared in Parse, or `None` when it left the type
/// to us (OID 0, or `unknown`). A type we cannot honour is refused rather than read as
/// something else.
pub(crate) fn declared_type(oid: u32) -> Result<Option<(DataType, Type)>, Error> {
    if oid == 0 || oid == Type::UNKNOWN.oid() {
        return Ok(None);
    }
    let ty = Type::from_oid(oid).ok_or_else(|| {
        Error::new(
            SqlState::UndefinedObject,
            format!("type with OID {oid} does not exist"),
        )
    })?;
    let ours = match ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 | Type::INT4 | Type::INT8 => DataType::Integer,
        Type::FLOAT4 | Type::FLOAT8 => DataType::Float,
        Type::TEXT | Type::VARCHAR | Type::NAME => DataType::Text,
        Type::BPCHAR => DataType::Char,
        Type::DATE => DataType::Date,
        Type::TIMESTAMP => DataType::Timestamp,
        Type::TIMESTAMPTZ => DataType::TimestampTz,
        other => {
            return Err(Error::unsupported(format!(
                "parameters of type {}",
                other.name()
            )));
        }
    };
    Ok(Some((ours, ty)))
}

/// The format of each of `n` items from a message's format codes: none (all text), one (all
/// alike) or one per item (08P01 otherwise, and for a code other than 0 or 1).
pub(crate) fn formats(codes: &[i16], n: usize, what: &str) -> Result<Vec<i16>, Error> {
    let out = match codes {
        [] => vec![TEXT; n],
        [one] => vec![*one; n],
        many if many.len() == n => many.to_vec(),
        many => {
            return Err(protocol(format!(
                "bind message has {} {what} formats but {n} {what}s",
                many.len()
            )));
        }
    };
    if let Some(bad) = out.iter().find(|f| **f != TEXT && **f != BINARY) {
        return Err(protocol(format!("unsupported format code: {bad}")));
    }
    Ok(out)
}

fn protocol(message: String) -> Error {
    Error::new(SqlState::ProtocolViolation, message)
}

/// Parameter `index` (0-based) of type `ty` as sent in `format`. Text is handed to the
/// engine as text, which converts it to the parameter's type with PostgreSQL's input rules.
pub(crate) fn decode_param(
    bytes: Option<&[u8]>,
    format: i16,
    ty: &Type,
    index: usize,
) -> Result<Value, Error> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    let utf8 = |b: &[u8]| {
        std::str::from_utf8(b).map(str::to_owned).map_err(|_| {
            Error::new(
                SqlState::CharacterNotInRepertoire,
                "invalid byte sequence for encoding \"UTF8\"",
            )
        })
    };
    if format == TEXT {
        return utf8(bytes).map(Value::Text);
    }
    let bad = || {
        Error::new(
            SqlState::InvalidBinaryRepresentation,
            format!(
                "incorrect binary data format in bind parameter {}",
                index + 1
            ),
        )
    };
    let fixed =
        |n: usize| -> Result<&[u8], Error> { (bytes.len() == n).then_some(bytes).ok_or_else(bad) };
    Ok(match *ty {
        Type::BOOL => Value::Boolean(fixed(1)?[0] != 0),
        Type::INT2 => Value::Integer(i64::from(i16::from_be_bytes(
            fixed(2)?.try_into().map_err(|_| bad())?,
        ))),
        Type::INT4 => Value::Integer(i64::from(i32::from_be_bytes(
            fixed(4)?.try_into().map_err(|_| bad())?,
        ))),
        Type::INT8 => Value::Integer(i64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?)),
        Type::FLOAT4 => Value::Float(f64::from(f32::from_be_bytes(
            fixed(4)?.try_into().map_err(|_| bad())?,
        ))),
        Type::FLOAT8 => Value::Float(f64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?)),
        // Text and blank-padded text: the engine applies the parameter type's rules.
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Value::Text(utf8(bytes)?),
        // PostgreSQL's binary date and timestamps count from 2000-01-01, as ours do.
        Type::DATE => Value::Date(i32::from_be_bytes(fixed(4)?.try_into().map_err(|_| bad())?)),
        Type::TIMESTAMP => {
            Value::Timestamp(i64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?))
        }
        Type::TIMESTAMPTZ => {
            Value::TimestampTz(i64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?))
        }
        ref other => {
            return Err(Error::unsupported(format!(
                "binary parameters of type {}",
                other.name()
            )));
        }
    })
}

/// A DataRow of `row`, each value in its column's format; `types` are the columns' described
/// types.
pub(crate) fn encode_row(
    row: &[Value],
    types: &[Option<DataType>],
    formats: &[i16],
) -> Result<DataRow, Error> {
    let mut data = BytesMut::new();
    for (i, value) in row.iter().enumerate() {
        let binary = formats.get(i) == Some(&BINARY);
        let ty = types.get(i).copied().flatten();
        let field = if binary {
            binary_value(value, ty)?
        } else {
            text(value).map(String::into_bytes)
        };
        match field {
            None => data.put_i32(-1),
            Some(bytes) => {
                // The engine's statement and memory limits keep a value far below 2 GiB.
                data.put_i32(i32::try_from(bytes.len()).unwrap_or(i32::MAX));
                data.put_slice(&bytes);
            }
        }
    }
    let field_count = i16::try_from(row.len()).unwrap_or(i16::MAX);
    Ok(DataRow::new(data, field_count))
}

/// The binary representation of `value` in a column described as `ty`; `None` for NULL.
fn binary_value(value: &Value, ty: Option<DataType>) -> Result<Option<Vec<u8>>, Error> {
    let mismatch = || {
        Error::new(
            SqlState::DatatypeMismatch,
            format!(
                "cannot send {value} in binary format as type {}",
                pg_type(ty).name()
            ),
        )
    };
    Ok(Some(match (value, pg_type(ty)) {
        (Value::Null, _) => return Ok(None),
        (Value::Boolean(b), Type::BOOL) => vec![u8::from(*b)],
        (Value::Integer(i), Type::INT8) => i.to_be_bytes().to_vec(),
        (Value::Float(f), Type::FLOAT8) => f.to_be_bytes().to_vec(),
        // A column typed float may hold integers (e.g. a CASE mixing both).
        (Value::Integer(i), Type::FLOAT8) => (*i as f64).to_be_bytes().to_vec(),
        (v, Type::TEXT) => text(v).unwrap_or_default().into_bytes(),
        (v @ Value::Char(_), Type::BPCHAR) => text(v).unwrap_or_default().into_bytes(),
        (Value::Date(d), Type::DATE) => d.to_be_bytes().to_vec(),
        (Value::Timestamp(t), Type::TIMESTAMP) | (Value::TimestampTz(t), Type::TIMESTAMPTZ) => {
            t.to_be_bytes().to_vec()
        }
        _ => return Err(mismatch()),
    }))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn binary_parameters_decode_by_their_type() {
        let int4 = 7i32.to_be_bytes();
        assert_eq!(
            decode_param(Some(&int4), BINARY, &Type::INT4, 0).unwrap(),
            Value::Integer(7)
        );
        let f = 2.5f64.to_be_bytes();
        assert_eq!(
            decode_param(Some(&f), BINARY, &Type::FLOAT8, 0).unwrap(),
            Value::Float(2.5)
        );
        assert_eq!(
            decode_param(Some(&[1]), BINARY, &Type::BOOL, 0).unwrap(),
            Value::Boolean(true)
        );
        assert_eq!(
            decode_param(None, BINARY, &Type::INT8, 0).unwrap(),
            Value::Null
        );
        let e = decode_param(Some(&[0, 1]), BINARY, &Type::INT8, 2).unwrap_err();
        assert_eq!(e.state.code(), "22P03");
        assert_eq!(
            e.message,
            "incorrect binary data format in bind parameter 3"
        );
        let e = decode_param(Some(&[0xff]), TEXT, &Type::TEXT, 0).unwrap_err();
        assert_eq!(e.state.code(), "22021");
    }

    #[test]
    fn format_codes_expand_as_the_protocol_says() {
        assert_eq!(formats(&[], 2, "parameter").unwrap(), [TEXT, TEXT]);
        assert_eq!(formats(&[1], 3, "parameter").unwrap(), [1, 1, 1]);
        assert_eq!(formats(&[0, 1], 2, "parameter").unwrap(), [0, 1]);
        assert_eq!(
            formats(&[0, 1], 3, "parameter").unwrap_err().state.code(),
            "08P01"
        );
        assert_eq!(
            formats(&[2], 1, "result").unwrap_err().state.code(),
            "08P01"
        );
    }

    #[test]
    fn results_encode_per_column_format() {
        let row = encode_row(
            &[Value::Integer(1), Value::Integer(2), Value::Null],
            &[Some(DataType::Integer), Some(DataType::Integer), None],
            &[BINARY, TEXT, BINARY],
        )
        .unwrap();
        assert_eq!(
            &row.data[..],
            &[
                0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, b'2', 255, 255, 255, 255
            ]
        );
        assert!(
            encode_row(
                &[Value::Text("x".into())],
                &[Some(DataType::Integer)],
                &[BINARY]
            )
            .is_err()
        );
    }

    #[test]
    fn declared_types_map_or_are_refused() {
        assert_eq!(declared_type(0).unwrap(), None);
        assert_eq!(
            declared_type(Type::INT4.oid()).unwrap(),
            Some((DataType::Integer, Type::INT4))
        );
        assert_eq!(
            declared_type(Type::BYTEA.oid()).unwrap_err().state.code(),
            "0A000"
        );
    }
}
