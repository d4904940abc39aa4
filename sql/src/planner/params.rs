//! Parameters (`$1`, `$2`, …) of a statement being prepared, and their types inferred from
//! where they appear, as PostgreSQL infers them: the other operand of a comparison or of
//! arithmetic (`id = $1` takes `id`'s type, `$1 + 1` is an integer), the target of a cast
//! (`$1::float8`), text for `||` and LIKE, boolean under AND/OR/NOT. A type the client declared
//! wins over inference; a parameter still unknown once the statement is bound is text.
//!
//! The state is shared by a planner and the planners of its subqueries (one statement, one
//! numbering), hence the shared pointer; a mutex rather than a `RefCell` only because a
//! session (which keeps the values of the statement it runs) moves between threads.

use std::sync::Arc;

use parking_lot::Mutex;

use super::scope::Scope;
use super::{Planner, type_of};
use crate::error::Result;
use crate::expr::{BinOp, Expr};
use crate::sql_error;
use crate::value::{DataType, Value};

/// Highest parameter number a statement may use (PostgreSQL's limit: the Bind message counts
/// parameters in 16 bits).
pub const MAX_PARAMS: usize = u16::MAX as usize;

#[derive(Debug, Default)]
struct State {
    /// Whether `$n` may appear at all (only in a statement being prepared or run prepared).
    allowed: bool,
    /// The values, when the statement runs: `$n` then binds to a literal.
    values: Option<Vec<Value>>,
    /// Known type of each parameter so far; the length is the highest `$n` seen or declared.
    types: Vec<Option<DataType>>,
}

/// The parameters of the statement a planner binds.
#[derive(Debug, Clone, Default)]
pub struct ParamTypes(Arc<Mutex<State>>);

impl ParamTypes {
    /// Parameters allowed, with the types the client declared (`None`: infer it).
    pub fn declared(types: &[Option<DataType>]) -> ParamTypes {
        ParamTypes(Arc::new(Mutex::new(State {
            allowed: true,
            types: types.to_vec(),
            values: None,
        })))
    }

    /// Parameters of these types bound to these values (of those types).
    pub fn values(types: &[DataType], values: Vec<Value>) -> ParamTypes {
        ParamTypes(Arc::new(Mutex::new(State {
            allowed: true,
            types: types.iter().copied().map(Some).collect(),
            values: Some(values),
        })))
    }

    /// The type of each parameter, unknown ones resolved to text.
    pub fn resolved(&self) -> Vec<DataType> {
        self.0
            .lock()
            .types
            .iter()
            .map(|t| t.unwrap_or(DataType::Text))
            .collect()
    }

    /// Binds the placeholder `text` (`$n`) to `Param(n - 1)`.
    pub(super) fn bind(&self, text: &str) -> Result<Expr> {
        let n = text
            .strip_prefix('$')
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|n| (1..=MAX_PARAMS).contains(n))
            .ok_or_else(|| sql_error!(SyntaxError, "syntax error at or near \"{text}\""))?;
        let mut st = self.0.lock();
        if !st.allowed {
            return Err(sql_error!(UndefinedParameter, "there is no parameter ${n}"));
        }
        if let Some(values) = &st.values {
            return values
                .get(n - 1)
                .map(|v| Expr::Literal(v.clone()))
                .ok_or_else(|| sql_error!(UndefinedParameter, "there is no parameter ${n}"));
        }
        if st.types.len() < n {
            st.types.resize(n, None);
        }
        Ok(Expr::Param(n - 1))
    }

    /// The type of parameter `i` if known.
    fn get(&self, i: usize) -> Option<DataType> {
        self.0.lock().types.get(i).copied().flatten()
    }

    /// If `e` is a parameter of still unknown type, it becomes `ty`.
    pub(crate) fn infer(&self, e: &Expr, ty: Option<DataType>) {
        let (Expr::Param(i), Some(ty)) = (e, ty) else {
            return;
        };
        let mut st = self.0.lock();
        if let Some(slot @ None) = st.types.get_mut(*i) {
            *slot = Some(ty);
        }
    }
}

impl Planner<'_> {
    /// `type_of`, knowing the parameters' types so far.
    pub(super) fn param_aware_type(&self, e: &Expr, scope: &Scope) -> Option<DataType> {
        match e {
            Expr::Param(i) => self.params.get(*i),
            e => type_of(e, scope),
        }
    }

    /// Infers the types of parameters among the operands of `first op₁ e₁ op₂ e₂ …`. Only
    /// the first operator's left operand can be a bare parameter: after it, the left operand
    /// is the chain so far, of which only the type matters.
    pub(super) fn infer_chain(&self, first: &Expr, rest: &[(BinOp, Expr)], scope: &Scope) {
        let mut left = Some(first);
        let mut left_type = self.param_aware_type(first, scope);
        for (op, right) in rest {
            let operand = match op {
                BinOp::And | BinOp::Or => Some(DataType::Boolean),
                BinOp::Concat => Some(DataType::Text),
                _ => None,
            };
            if let Some(ty) = operand {
                left.into_iter()
                    .for_each(|l| self.params.infer(l, Some(ty)));
                self.params.infer(right, Some(ty));
            } else {
                let right_type = self.param_aware_type(right, scope);
                left.into_iter()
                    .for_each(|l| self.params.infer(l, right_type));
                self.params.infer(right, left_type);
                // `$1 + $2`: both unknown; PostgreSQL cannot choose, we take integer for
                // arithmetic, the commonest reading.
                if !op.is_comparison() && left_type.is_none() && right_type.is_none() {
                    left.into_iter()
                        .for_each(|l| self.params.infer(l, Some(DataType::Integer)));
                    self.params.infer(right, Some(DataType::Integer));
                }
            }
            let l = match left {
                Some(l) => self.param_aware_type(l, scope),
                None => left_type,
            };
            left_type = super::binary_type(*op, l, self.param_aware_type(right, scope));
            left = None;
        }
    }
}
