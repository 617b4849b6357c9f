//! `kiln run --invoke NAME ARGS...`: command-line text to wasm values and
//! back.

use anyhow::{Context, Result, anyhow, bail};
use kiln::runtime::{FuncType, Val, ValType};

/// The parameters for a call of `name` (of type `ty`), parsed from text by
/// parameter type.
pub(crate) fn parse_params(ty: &FuncType, name: &str, args: &[String]) -> Result<Vec<Val>> {
    if ty.params.len() != args.len() {
        let params: Vec<String> = ty.params.iter().map(|t| t.to_string()).collect();
        bail!("`{name}` takes {} argument(s) ({}), {} given", ty.params.len(), params.join(" "), args.len());
    }
    ty.params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (t, a))| parse_arg(*t, a).with_context(|| format!("argument {} of `{name}`", i + 1)))
        .collect()
}

fn parse_arg(ty: ValType, s: &str) -> Result<Val> {
    let int = |s: &str| -> Result<i128> {
        let (neg, digits) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
        let v = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
            Some(hex) => i128::from_str_radix(hex, 16),
            None => digits.parse::<i128>(),
        }
        .map_err(|_| anyhow!("`{s}` is not an integer"))?;
        Ok(if neg { -v } else { v })
    };
    Ok(match ty {
        ValType::I32 => {
            let v = int(s)?;
            if !(i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&v) {
                bail!("`{s}` does not fit in an i32");
            }
            Val::I32(v as u32 as i32)
        }
        ValType::I64 => {
            let v = int(s)?;
            if !(i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&v) {
                bail!("`{s}` does not fit in an i64");
            }
            Val::I64(v as u64 as i64)
        }
        ValType::F32 => Val::from_f32(s.parse().map_err(|_| anyhow!("`{s}` is not a number"))?),
        ValType::F64 => Val::from_f64(s.parse().map_err(|_| anyhow!("`{s}` is not a number"))?),
        other => bail!("parameters of type {other} cannot be given on the command line"),
    })
}

/// A result as `kiln run` prints it.
pub(crate) fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => format_float(f64::from(f32::from_bits(*b)), f32::from_bits(*b).is_nan(), u64::from(b & 0x7f_ffff), *b >> 31 == 1),
        Val::F64(b) => format_float(f64::from_bits(*b), f64::from_bits(*b).is_nan(), b & 0xf_ffff_ffff_ffff, *b >> 63 == 1),
        Val::V128(b) => format!("{b:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) => "null".into(),
        Val::FuncRef(Some(_)) => "funcref".into(),
        Val::ExternRef(Some(_)) => "externref".into(),
        Val::ExnRef(Some(_)) => "exnref".into(),
    }
}

fn format_float(v: f64, is_nan: bool, payload: u64, negative: bool) -> String {
    if is_nan {
        let sign = if negative { "-" } else { "" };
        return format!("{sign}nan:{payload:#x}");
    }
    v.to_string()
}
