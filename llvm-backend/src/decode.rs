//! Decoding: the binary format's rules, checked on their own.
//!
//! The specification separates two ways a module can be rejected. A
//! *malformed* module breaks the binary (or text) format: it cannot even
//! be decoded into a module. An *invalid* module decodes fine but breaks a
//! validation rule (types, indices, limits). wasmparser's validator checks
//! both in one pass, so when it rejects a module, [`decode`] answers which
//! of the two happened: it reads every section and every item in it
//! (types, imports, constant expressions, function bodies operator by
//! operator, segments) with wasmparser's readers and no validator, and adds
//! the one binary-format rule wasmparser leaves to its validator: a data
//! index in code (`memory.init`, `data.drop`) needs the data count section.
//! Section order, section sizes, the function/code and data count/data
//! agreements, LEB128 ranges and UTF-8 names are checked by the readers
//! themselves.
//!
//! Decoding depends on the features it is done with: multi-memory gives a
//! memory-argument flag bit a meaning, memory64 widens offsets and limits
//! to 64 bits. [`crate::validate`] decodes with the features of the newest
//! standard, whose binary format contains the older ones.

use crate::error::CompileError;
use wasmparser::{
    BinaryReaderError, ConstExpr, DataKind, ElementItems, ElementKind, FunctionBody, Operator, Parser, Payload,
    TableInit, WasmFeatures,
};

/// Decodes all of `wasm` with `features`, without validating it; the error
/// is [`CompileError::Malformed`].
pub(crate) fn decode(wasm: &[u8], features: WasmFeatures) -> Result<(), CompileError> {
    decode_payloads(wasm, features).map_err(|e| CompileError::Malformed { message: e.message, offset: e.offset })
}

/// Why decoding failed, and where.
struct Malformed {
    message: String,
    offset: usize,
}

impl From<BinaryReaderError> for Malformed {
    fn from(e: BinaryReaderError) -> Malformed {
        Malformed { message: e.message().to_string(), offset: e.offset() as usize }
    }
}

fn decode_payloads(wasm: &[u8], features: WasmFeatures) -> Result<(), Malformed> {
    let mut parser = Parser::new(0);
    parser.set_features(features);
    let mut data_count = false;
    for payload in parser.parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => drain(reader)?,
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    import?;
                }
            }
            Payload::FunctionSection(reader) => drain(reader)?,
            Payload::TableSection(reader) => {
                for table in reader {
                    if let TableInit::Expr(init) = table?.init {
                        const_expr(&init)?;
                    }
                }
            }
            Payload::MemorySection(reader) => drain(reader)?,
            Payload::TagSection(reader) => drain(reader)?,
            Payload::GlobalSection(reader) => {
                for global in reader {
                    const_expr(&global?.init_expr)?;
                }
            }
            Payload::ExportSection(reader) => drain(reader)?,
            Payload::ElementSection(reader) => {
                for element in reader {
                    let element = element?;
                    if let ElementKind::Active { offset_expr, .. } = &element.kind {
                        const_expr(offset_expr)?;
                    }
                    match element.items {
                        ElementItems::Functions(indices) => drain(indices)?,
                        ElementItems::Expressions(_, exprs) => {
                            for expr in exprs {
                                const_expr(&expr?)?;
                            }
                        }
                    }
                }
            }
            Payload::DataCountSection { .. } => data_count = true,
            Payload::DataSection(reader) => {
                for data in reader {
                    if let DataKind::Active { offset_expr, .. } = data?.kind {
                        const_expr(&offset_expr)?;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => function_body(&body, data_count)?,
            Payload::UnknownSection { id, range, .. } => {
                return Err(Malformed { message: format!("malformed section id: {id}"), offset: range.start as usize });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Reads every item of a section.
fn drain<T>(items: impl IntoIterator<Item = Result<T, BinaryReaderError>>) -> Result<(), Malformed> {
    for item in items {
        item?;
    }
    Ok(())
}

/// Reads a constant expression up to and including its `end`.
fn const_expr(expr: &ConstExpr<'_>) -> Result<(), Malformed> {
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        reader.read()?;
    }
    Ok(reader.finish()?)
}

/// Reads a function body's locals and operators.
fn function_body(body: &FunctionBody<'_>, data_count: bool) -> Result<(), Malformed> {
    let mut locals = body.get_locals_reader()?;
    for _ in 0..locals.get_count() {
        locals.read()?;
    }
    let mut operators = wasmparser::OperatorsReader::new(locals.get_binary_reader());
    while !operators.eof() {
        let (operator, offset) = operators.read_with_offset()?;
        if !data_count && matches!(operator, Operator::MemoryInit { .. } | Operator::DataDrop { .. }) {
            return Err(Malformed { message: "data count section required".into(), offset: offset as usize });
        }
    }
    Ok(operators.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> WasmFeatures {
        WasmFeatures::WASM3
    }

    fn malformed(wasm: &[u8]) -> String {
        match decode(wasm, standard()) {
            Err(CompileError::Malformed { message, .. }) => message,
            other => panic!("expected a decoding error, got {other:?}"),
        }
    }

    #[test]
    fn well_formed_but_invalid_modules_decode() {
        // A function whose body has a type error, and one calling a
        // function that does not exist: both are validation errors.
        let type_error = wat::parse_str("(module (func (result i32) (i64.const 1)))").unwrap();
        let unknown_callee = wat::parse_str("(module (func (call 7)))").unwrap();
        assert!(decode(&type_error, standard()).is_ok());
        assert!(decode(&unknown_callee, standard()).is_ok());
    }

    #[test]
    fn binary_format_errors_are_malformed() {
        assert!(malformed(b"\0asm\x02\0\0\0").contains("unknown binary version"));
        // A section id no version defines.
        assert!(malformed(b"\0asm\x01\0\0\0\x0e\x00").contains("malformed section id"));
        // A function body without its final `end`.
        let no_end = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x03\x02\x01\0\x0a\x04\x01\x02\0\x01";
        assert!(!malformed(no_end).is_empty());
        // `data.drop 0` with a data segment but no data count section.
        let data_drop = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x03\x02\x01\0\
                          \x0a\x07\x01\x05\0\xfc\x09\0\x0b\x0b\x03\x01\x01\0";
        assert_eq!(malformed(data_drop), "data count section required");
    }
}
