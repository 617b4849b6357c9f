//! The runtime's side of the VM ABI: `#[repr(C)]` structs generated code
//! reads and writes, the VM context allocation, the builtin table, linear
//! memories and table storage.

mod builtins;
mod memory;
pub(crate) mod parking;
mod raw_box;
mod table;
mod val_raw;
mod vmcontext;

pub(crate) use builtins::BUILTINS;
pub(crate) use memory::{LinearMemory, MemoryError};
pub(crate) use raw_box::RawBox;
pub(crate) use table::TableStorage;
pub use val_raw::ValRaw;
pub(crate) use vmcontext::{
    OwnedVMContext, VMContext, VMFuncRef, VMFunctionImport, VMGlobalDefinition, VMHostFuncContext, VMMemoryDefinition,
    VMStoreContext, VMTableDefinition, VmSafe, vmctx_field,
};
