//! The basic test module: arithmetic, memory, table, globals, host calls.

use super::*;
use kiln_abi::metadata::{DataSegment, ElementItems, ElementSegment, ExternKind, GlobalInfo, ImportKind, TableInfo};
use kiln_abi::types::{ConstExpr, ConstOp, GlobalType};

pub const TRAMPOLINES: &str = include_str!("../fixtures/trampolines.c");
pub const CODE: &str = include_str!("../fixtures/basic.c");

/// Types: 0 (i32 i32)->i32, 1 (i32)->i32, 2 ()->(), 3 ()->i32, 4 (i32)->(),
/// 5 (i64 f64)->(f64 i64).
pub fn types(m: &mut ModuleBuilder) {
    m.ty(&[I32, I32], &[I32], "ii_i");
    m.ty(&[I32], &[I32], "i_i");
    m.ty(&[], &[], "v_v");
    m.ty(&[], &[I32], "v_i");
    m.ty(&[I32], &[], "i_v");
    m.ty(&[I64, F64], &[F64, I64], "pair");
}

pub fn builder() -> ModuleBuilder {
    let mut m = ModuleBuilder::new();
    types(&mut m);
    m.import("host", "add", ImportKind::Func(0));
    m.import("host", "reenter", ImportKind::Func(1));
    m.import("host", "fail", ImportKind::Func(2));
    m.func(0, "add", true);
    m.func(0, "div_s", true);
    m.func(1, "load", true);
    m.func(0, "store", true);
    m.func(1, "grow", true);
    m.func(1, "recurse", true);
    m.func(0, "call_add", true);
    m.func(1, "call_reenter", true);
    m.func(2, "call_fail", true);
    m.func(2, "unreachable", true);
    m.func(1, "call_indirect", true);
    let const42 = m.func(3, "const42", true);
    let const7 = m.func(3, "const7", true);
    m.func(3, "get_g", true);
    m.func(4, "set_g", true);
    m.func(5, "swap", true);
    m.func(1, "init_data", true);
    m.func(1, "init_elem", true);
    m.func(1, "grow_table", true);
    m.func(1, "peek", true);

    m.meta.memories.push(memory(1, Some(4)));
    m.export("memory", ExternKind::Memory, 0);
    m.meta.data.push(DataSegment { mode: active(0, 8), bytes: b"hello".to_vec() });
    m.meta.data.push(DataSegment { mode: SegmentMode::Passive, bytes: b"passive!".to_vec() });

    m.meta.tables.push(TableInfo { ty: table(4, Some(10)), init: None });
    m.export("table", ExternKind::Table, 0);
    m.meta.elements.push(ElementSegment {
        mode: active(0, 1),
        element_type: RefType::FUNCREF,
        items: ElementItems::Functions(vec![const42, const7]),
    });
    m.meta.elements.push(ElementSegment {
        mode: SegmentMode::Passive,
        element_type: RefType::FUNCREF,
        items: ElementItems::Expressions(vec![ConstExpr::single(ConstOp::RefFunc(const7))]),
    });

    m.meta.globals.push(GlobalInfo { ty: GlobalType { content: I32, mutable: true }, init: i32_const(100) });
    let g64 = ConstExpr { ops: vec![ConstOp::I64Const(2), ConstOp::I64Const(3), ConstOp::I64Mul] };
    m.meta.globals.push(GlobalInfo { ty: GlobalType { content: I64, mutable: false }, init: g64 });
    m.export("g", ExternKind::Global, 0);
    m.export("g64", ExternKind::Global, 1);
    m
}

pub fn build() -> Library {
    builder().build(&format!("{TRAMPOLINES}\n{CODE}"))
}
