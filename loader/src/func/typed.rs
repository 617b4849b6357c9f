//! Typed calls (`TypedFunc`) and host functions from typed closures
//! (`Func::wrap`).

use super::Caller;
use crate::store::{AsContextMut, StoreOpaque};
use crate::traphandlers::invoke;
use crate::vm::ValRaw;
use crate::{Error, Func, Val};
use kiln_abi::{FuncType, ValType};
use std::marker::PhantomData;

/// A Rust type that is a wasm value type.
pub trait WasmTy: Copy + Send + Sync + 'static {
    /// The wasm type.
    #[doc(hidden)]
    fn valtype() -> ValType;
    #[doc(hidden)]
    fn to_raw(self) -> ValRaw;
    #[doc(hidden)]
    fn from_raw(raw: ValRaw) -> Self;
    #[doc(hidden)]
    fn to_val(self) -> Val;
    #[doc(hidden)]
    fn from_val(val: &Val) -> Option<Self>;
}

macro_rules! wasm_ty {
    ($($rust:ty => $variant:ident, $to_bits:expr, $from_bits:expr, $to_raw:ident, $from_raw:ident;)*) => {$(
        impl WasmTy for $rust {
            fn valtype() -> ValType {
                ValType::$variant
            }
            fn to_raw(self) -> ValRaw {
                ValRaw::$to_raw(($to_bits)(self))
            }
            fn from_raw(raw: ValRaw) -> Self {
                ($from_bits)(raw.$from_raw())
            }
            fn to_val(self) -> Val {
                Val::$variant(($to_bits)(self))
            }
            fn from_val(val: &Val) -> Option<Self> {
                match *val {
                    Val::$variant(v) => Some(($from_bits)(v)),
                    _ => None,
                }
            }
        }
    )*};
}

wasm_ty! {
    i32 => I32, |v: i32| v, |v: i32| v, from_i32, i32;
    u32 => I32, |v: u32| v as i32, |v: i32| v as u32, from_i32, i32;
    i64 => I64, |v: i64| v, |v: i64| v, from_i64, i64;
    u64 => I64, |v: u64| v as i64, |v: i64| v as u64, from_i64, i64;
    f32 => F32, f32::to_bits, f32::from_bits, from_f32_bits, f32_bits;
    f64 => F64, f64::to_bits, f64::from_bits, from_f64_bits, f64_bits;
}

/// A list of wasm values as Rust types: `()`, a single [`WasmTy`], or a
/// tuple of up to 12.
pub trait WasmTyList: Sized + Send + 'static {
    #[doc(hidden)]
    const LEN: usize;
    #[doc(hidden)]
    fn types() -> Vec<ValType>;
    #[doc(hidden)]
    fn store_raw(self, out: &mut [ValRaw]);
    #[doc(hidden)]
    fn load_raw(values: &[ValRaw]) -> Self;
    #[doc(hidden)]
    fn store_vals(self, out: &mut [Val]);
}

/// Parameters of a typed function.
pub trait WasmParams: WasmTyList {}
impl<T: WasmTyList> WasmParams for T {}

/// Results of a typed function.
pub trait WasmResults: WasmTyList {}
impl<T: WasmTyList> WasmResults for T {}

impl<T: WasmTy> WasmTyList for T {
    const LEN: usize = 1;
    fn types() -> Vec<ValType> {
        vec![T::valtype()]
    }
    fn store_raw(self, out: &mut [ValRaw]) {
        out[0] = self.to_raw();
    }
    fn load_raw(values: &[ValRaw]) -> Self {
        T::from_raw(values[0])
    }
    fn store_vals(self, out: &mut [Val]) {
        out[0] = self.to_val();
    }
}

macro_rules! count {
    () => { 0 };
    ($head:ident $($tail:ident)*) => { 1 + count!($($tail)*) };
}

macro_rules! tuple_list {
    ($($t:ident $i:tt),*) => {
        impl<$($t: WasmTy),*> WasmTyList for ($($t,)*) {
            const LEN: usize = count!($($t)*);
            fn types() -> Vec<ValType> {
                vec![$($t::valtype()),*]
            }
            #[allow(unused_variables)]
            fn store_raw(self, out: &mut [ValRaw]) {
                $( out[$i] = self.$i.to_raw(); )*
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn load_raw(values: &[ValRaw]) -> Self {
                ($($t::from_raw(values[$i]),)*)
            }
            #[allow(unused_variables)]
            fn store_vals(self, out: &mut [Val]) {
                $( out[$i] = self.$i.to_val(); )*
            }
        }
    };
}

tuple_list!();
tuple_list!(A0 0);
tuple_list!(A0 0, A1 1);
tuple_list!(A0 0, A1 1, A2 2);
tuple_list!(A0 0, A1 1, A2 2, A3 3);
tuple_list!(A0 0, A1 1, A2 2, A3 3, A4 4);
tuple_list!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5);
tuple_list!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6);
tuple_list!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7);
tuple_list!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8);
tuple_list!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9);
tuple_list!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10);
tuple_list!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11);

/// The most values a typed call passes or returns.
const MAX_TYPED_VALUES: usize = 12;

/// What a typed host closure may return: values, or `Result` of values.
pub trait WasmRet: Send + 'static {
    #[doc(hidden)]
    type Values: WasmTyList;
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Values, Error>;
}

impl<T: WasmTyList> WasmRet for T {
    type Values = T;
    fn into_result(self) -> Result<T, Error> {
        Ok(self)
    }
}

impl<T: WasmTyList> WasmRet for Result<T, Error> {
    type Values = T;
    fn into_result(self) -> Result<T, Error> {
        self
    }
}

/// Closures that can become host functions with [`Func::wrap`]:
/// `Fn(A1, .., An) -> R` or `Fn(Caller<'_>, A1, .., An) -> R` for
/// [`WasmTy`] arguments (up to 12) and a [`WasmRet`] result.
pub trait IntoFunc<Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_func(self, store: &mut StoreOpaque) -> Func;
}

fn bad_argument() -> Error {
    Error::Internal("host function received an argument of the wrong type".into())
}

macro_rules! into_func {
    ($($a:ident),*) => {
        #[allow(non_snake_case)]
        impl<F, R, $($a: WasmTy),*> IntoFunc<($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_func(self, store: &mut StoreOpaque) -> Func {
                let ty = FuncType::new(vec![$($a::valtype()),*], <R::Values as WasmTyList>::types());
                Func::new(store, ty, move |_caller, params, results| {
                    #[allow(unused_mut, unused_variables)]
                    let mut params = params.iter();
                    $( let $a = params.next().and_then($a::from_val).ok_or_else(bad_argument)?; )*
                    self($($a),*).into_result()?.store_vals(results);
                    Ok(())
                })
            }
        }

        #[allow(non_snake_case)]
        impl<'c, F, R, $($a: WasmTy),*> IntoFunc<(Caller<'c>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_>, $($a),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_func(self, store: &mut StoreOpaque) -> Func {
                let ty = FuncType::new(vec![$($a::valtype()),*], <R::Values as WasmTyList>::types());
                Func::new(store, ty, move |caller, params, results| {
                    #[allow(unused_mut, unused_variables)]
                    let mut params = params.iter();
                    $( let $a = params.next().and_then($a::from_val).ok_or_else(bad_argument)?; )*
                    self(caller, $($a),*).into_result()?.store_vals(results);
                    Ok(())
                })
            }
        }
    };
}

into_func!();
into_func!(A0);
into_func!(A0, A1);
into_func!(A0, A1, A2);
into_func!(A0, A1, A2, A3);
into_func!(A0, A1, A2, A3, A4);
into_func!(A0, A1, A2, A3, A4, A5);
into_func!(A0, A1, A2, A3, A4, A5, A6);
into_func!(A0, A1, A2, A3, A4, A5, A6, A7);
into_func!(A0, A1, A2, A3, A4, A5, A6, A7, A8);
into_func!(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9);
into_func!(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
into_func!(A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);

/// A function whose type was checked once against `P -> R`; calls skip
/// per-value type checks and `Val` conversions.
pub struct TypedFunc<P, R> {
    func: Func,
    _signature: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for TypedFunc<P, R> {}

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedFunc").field("func", &self.func).finish()
    }
}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    pub(crate) fn new(func: Func, store: &StoreOpaque) -> Result<Self, Error> {
        let actual = func.ty(store)?;
        let wanted = FuncType::new(P::types(), R::types());
        if actual != wanted {
            return Err(Error::TypeMismatch(format!("the function has type {actual}, not {wanted}")));
        }
        Ok(TypedFunc { func, _signature: PhantomData })
    }

    /// The underlying function.
    pub fn func(&self) -> Func {
        self.func
    }

    /// Calls the function.
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R, Error> {
        const { assert!(P::LEN <= MAX_TYPED_VALUES && R::LEN <= MAX_TYPED_VALUES) };
        let mut values = [ValRaw::ZERO; MAX_TYPED_VALUES];
        params.store_raw(&mut values);
        let store_ptr = {
            let s = store.as_context_mut();
            s.check(self.func.store, "function")?;
            s.self_ptr
        };
        let len = P::LEN.max(R::LEN);
        // SAFETY: the function belongs to this store and has type `P -> R`
        // (checked in `new`); the borrow above has ended.
        unsafe { invoke(store_ptr, self.func.vm_func_ref(), &mut values[..len]) }?;
        Ok(R::load_raw(&values))
    }
}
