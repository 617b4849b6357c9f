//! `v128` memory accesses besides the plain `v128.load`/`v128.store`
//! (which are the scalar `load`/`store` of a 16-byte value): extending
//! loads, splatting loads, zero-extending loads and single-lane loads and
//! stores.
//!
//! Every access computes its address exactly as a scalar access of the
//! same width does (`FuncTranslator::heap_address`): the memarg offset is
//! added in 64 bits, and the bounds check covers the bytes actually
//! touched — 8 for `load8x8_s`, 2 for `load16_lane`. Accesses are byte-aligned, so LLVM folds them into the
//! vector instruction where it can (`pmovsxbw (mem)`, `movddup`,
//! `pinsrw`, `ld1 {v.h}[3]`, `ld1r`).

use super::super::FuncTranslator;
use super::super::conversion::Sign;
use super::{Shape, extend_cast};
use crate::error::Result;
use wasmparser::MemArg;

impl<'ctx> FuncTranslator<'_, 'ctx> {
    /// `v128.load8x8_s` … `v128.load32x2_u`: half as many lanes as `to`
    /// has, each half as wide, extended as `sign` says.
    pub(super) fn load_extend(&mut self, memarg: MemArg, to: Shape, sign: Sign) -> Result<()> {
        let from = to.narrower()?;
        let ty = self.vector_type(from, to.lanes())?;
        let narrow = self.heap_load(&memarg, ty.into())?.into_vector_value();
        let result = self.resize_lanes(narrow, to.lane_bits(), extend_cast(sign))?;
        self.push_lanes(result)
    }

    /// `v128.loadN_splat`: one lane of `shape` loaded into every lane.
    pub(super) fn load_splat(&mut self, memarg: MemArg, shape: Shape) -> Result<()> {
        let lane = self.heap_load(&memarg, self.lane_type(shape)?)?;
        let result = self.b.splat(lane, shape.lanes())?;
        self.push_lanes(result)
    }

    /// `v128.load32_zero` / `v128.load64_zero`: lane 0 loaded, the others
    /// zero.
    pub(super) fn load_zero(&mut self, memarg: MemArg, shape: Shape) -> Result<()> {
        let lane = self.heap_load(&memarg, self.lane_type(shape)?)?;
        let result = self.b.insert_lane(self.shape_type(shape)?.const_zero(), lane, 0)?;
        self.push_lanes(result)
    }

    /// `v128.loadN_lane`: lane `lane` of the vector operand replaced by a
    /// value loaded from memory.
    pub(super) fn load_lane(&mut self, memarg: MemArg, shape: Shape, lane: u8) -> Result<()> {
        let vector = self.pop_lanes(shape)?;
        let value = self.heap_load(&memarg, self.lane_type(shape)?)?;
        let result = self.b.insert_lane(vector, value, lane.into())?;
        self.push_lanes(result)
    }

    /// `v128.storeN_lane`: lane `lane` of the vector operand stored.
    pub(super) fn store_lane(&mut self, memarg: MemArg, shape: Shape, lane: u8) -> Result<()> {
        let vector = self.pop_lanes(shape)?;
        let value = self.b.extract_lane(vector, lane.into())?;
        self.heap_store(&memarg, value)
    }
}
