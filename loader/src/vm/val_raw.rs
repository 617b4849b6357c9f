//! The untyped value slot shared with generated code.

/// One untyped wasm value as array-call and wasm-to-host trampolines pass
/// them: [`kiln_abi::VAL_RAW_SIZE`] bytes, the value stored little-endian
/// from the start. References are pointers (null for a null reference).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValRaw([u8; 16]);

impl ValRaw {
    /// All zero bits.
    pub const ZERO: ValRaw = ValRaw([0; 16]);

    /// From an `i32`.
    pub fn from_i32(v: i32) -> ValRaw {
        ValRaw::from_u128(v as u32 as u128)
    }
    /// From an `i64`.
    pub fn from_i64(v: i64) -> ValRaw {
        ValRaw::from_u128(v as u64 as u128)
    }
    /// From the bits of an `f32`.
    pub fn from_f32_bits(v: u32) -> ValRaw {
        ValRaw::from_u128(v.into())
    }
    /// From the bits of an `f64`.
    pub fn from_f64_bits(v: u64) -> ValRaw {
        ValRaw::from_u128(v.into())
    }
    /// From a `v128`.
    pub fn from_u128(v: u128) -> ValRaw {
        ValRaw(v.to_le_bytes())
    }
    /// From a reference (pointer-sized).
    pub fn from_ref(p: usize) -> ValRaw {
        ValRaw::from_u128(p as u128)
    }

    /// As an `i32`.
    pub fn i32(&self) -> i32 {
        i32::from_le_bytes(self.0[..4].try_into().unwrap())
    }
    /// As an `i64`.
    pub fn i64(&self) -> i64 {
        i64::from_le_bytes(self.0[..8].try_into().unwrap())
    }
    /// As the bits of an `f32`.
    pub fn f32_bits(&self) -> u32 {
        self.i32() as u32
    }
    /// As the bits of an `f64`.
    pub fn f64_bits(&self) -> u64 {
        self.i64() as u64
    }
    /// As a `v128`.
    pub fn u128(&self) -> u128 {
        u128::from_le_bytes(self.0)
    }
    /// As a reference (pointer-sized).
    pub fn reference(&self) -> usize {
        const P: usize = std::mem::size_of::<usize>();
        usize::from_le_bytes(self.0[..P].try_into().unwrap())
    }
}
