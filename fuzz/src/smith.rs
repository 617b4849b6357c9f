//! Generating modules with wasm-smith, inside what kiln compiles.
//!
//! [`kiln_config`] keeps wasm-smith within `kiln_llvm::KILN_FEATURES` less
//! what the reference interpreter lacks (typed function references, which
//! wasm-smith only generates together with GC): wasm 2.0 with SIMD,
//! extended constant expressions, wide arithmetic and up to
//! [`MAX_MEMORIES`] memories (multi-memory), no imports. Within that, a few
//! choices are left to the input (swarm testing: floats, SIMD, bulk memory,
//! reference types, which instruction families, how many memories) so that
//! a campaign also sees modules dense in one kind of instruction. Sizes are
//! kept small (a handful of functions of at most a few hundred
//! instructions, memories of at most [`MAX_MEMORY_PAGES`] pages with a
//! declared maximum): a campaign's
//! throughput is bounded by LLVM and the link step, not by execution.
//!
//! [`FuzzModule::generate`] also makes every call terminate: wasm-smith's
//! `ensure_termination` adds a fuel global decremented at each function
//! entry and loop header, trapping (`unreachable`) at zero. That global is
//! exported here as [`FUEL_EXPORT`] so the host can refill it before each
//! call, giving every call the same budget. Fuel also bounds the call depth
//! to [`FUEL_PER_CALL`] frames, which both engines' stacks hold with room to
//! spare, so stack exhaustion is deliberately out of the differential
//! target's reach: engines legitimately differ on where it happens.

use arbitrary::Unstructured;
use wasm_encoder::{ExportKind, ExportSection, RawSection};
use wasm_smith::{Config, InstructionKind, InstructionKinds};
use wasmparser::{ExternalKind, Parser, Payload};

/// Name of the exported fuel global.
pub const FUEL_EXPORT: &str = "kiln-fuzz:fuel";

/// Fuel each call starts with: function entries plus loop iterations.
pub const FUEL_PER_CALL: u32 = 1000;

/// Largest memory (initial and maximum) a generated module declares.
pub const MAX_MEMORY_PAGES: u64 = 4;

/// Most memories a generated module has: with more than one, every memory
/// instruction names its memory, and `memory.copy` may copy between two.
pub const MAX_MEMORIES: usize = 3;

/// A generated module, ready to run.
#[derive(Clone, Debug)]
pub struct FuzzModule {
    /// The binary module.
    pub wasm: Vec<u8>,
}

/// The wasm-smith configuration for kiln: `KILN_FEATURES` less typed
/// function references, small, NaNs canonicalized, everything exported,
/// nothing imported. A few feature and instruction choices come from `u`.
pub fn kiln_config(u: &mut Unstructured<'_>) -> arbitrary::Result<Config> {
    let mut kinds = vec![InstructionKind::Numeric, InstructionKind::Parametric, InstructionKind::Variable];
    // Control flow, memory and tables are where traps and their ordering
    // live; keep them in most modules.
    for kind in [InstructionKind::Control, InstructionKind::Memory, InstructionKind::Table] {
        if u.ratio(7u8, 8u8)? {
            kinds.push(kind);
        }
    }
    for kind in [InstructionKind::Vector, InstructionKind::Reference] {
        if u.ratio(1u8, 2u8)? {
            kinds.push(kind);
        }
    }
    Ok(Config {
        allowed_instructions: InstructionKinds::new(&kinds),
        allow_floats: u.ratio(3u8, 4u8)?,
        simd_enabled: u.ratio(1u8, 2u8)?,
        bulk_memory_enabled: u.ratio(3u8, 4u8)?,
        reference_types_enabled: u.ratio(3u8, 4u8)?,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        disallow_traps: u.ratio(1u8, 8u8)?,
        // Relaxed SIMD: kiln and the interpreter may each rightly pick
        // another of the results the spec allows (tests/relaxed_simd.rs
        // checks kiln's against the spec's sets instead). The rest:
        // outside KILN_FEATURES, or (GC, which brings typed function
        // references) outside the interpreter's.
        relaxed_simd_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        // 64-bit memories and tables (memory64, which wasmi 1.1
        // implements), in half the inputs.
        memory64_enabled: u.ratio(1u8, 2u8)?,
        tail_call_enabled: u.ratio(1u8, 2u8)?,
        extended_const_enabled: true,
        wide_arithmetic_enabled: true,
        // Memories of one-byte pages (custom page sizes, which wasmi
        // implements), in a quarter of the inputs.
        custom_page_sizes_enabled: u.ratio(1u8, 4u8)?,
        compact_imports_enabled: false,
        custom_descriptors_enabled: false,
        max_memories: if u.ratio(1u8, 2u8)? { MAX_MEMORIES } else { 1 },
        min_memories: u.int_in_range(0..=1)?,
        max_memory32_bytes: MAX_MEMORY_PAGES * 65536,
        max_memory64_bytes: u128::from(MAX_MEMORY_PAGES) * 65536,
        memory_max_size_required: true,
        max_tables: 2,
        max_table_elements: 64,
        table_max_size_required: true,
        max_imports: 0,
        min_types: 1,
        min_funcs: 2,
        max_funcs: 8,
        min_exports: 1,
        max_types: 12,
        max_globals: 8,
        max_data_segments: 6,
        max_element_segments: 6,
        max_elements: 16,
        max_instructions: 200,
        max_type_size: 40,
        canonicalize_nans: true,
        export_everything: true,
        allow_start_export: true,
        generate_custom_sections: false,
        ..Config::default()
    })
}

impl FuzzModule {
    /// A module from the fuzz input `u`, terminating on every call.
    pub fn generate(u: &mut Unstructured<'_>) -> arbitrary::Result<FuzzModule> {
        let config = kiln_config(u)?;
        let mut module = wasm_smith::Module::new(config, u)?;
        // Only fails for modules with raw (unchecked) function bodies,
        // which this configuration never asks for.
        let fuel = module.ensure_termination(FUEL_PER_CALL).map_err(|_| arbitrary::Error::IncorrectFormat)?;
        Ok(FuzzModule { wasm: export_global(&module.to_bytes(), fuel, FUEL_EXPORT) })
    }
}

/// `wasm` with one more export: global `index` as `name`. The export
/// section is rebuilt (or added where the binary format puts it); every
/// other section is copied byte for byte.
pub fn export_global(wasm: &[u8], index: u32, name: &str) -> Vec<u8> {
    let mut out = wasm_encoder::Module::new();
    let mut exported = false;
    let add_export_section = |out: &mut wasm_encoder::Module, existing: Option<wasmparser::ExportSectionReader<'_>>| {
        let mut section = ExportSection::new();
        for export in existing.into_iter().flatten().flatten() {
            let kind = match export.kind {
                ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
                ExternalKind::Table => ExportKind::Table,
                ExternalKind::Memory => ExportKind::Memory,
                ExternalKind::Global => ExportKind::Global,
                ExternalKind::Tag => ExportKind::Tag,
            };
            section.export(export.name, kind, export.index);
        }
        section.export(name, ExportKind::Global, index);
        out.section(&section);
    };
    for payload in Parser::new(0).parse_all(wasm) {
        // The module was just encoded by wasm-smith: it parses.
        let Ok(payload) = payload else { return wasm.to_vec() };
        if let Payload::ExportSection(reader) = payload {
            add_export_section(&mut out, Some(reader));
            exported = true;
            continue;
        }
        let Some((id, range)) = payload.as_section() else { continue };
        // Sections that follow the export section in the binary format:
        // start, element, data count, code, data.
        if !exported && matches!(id, 8..=12) {
            add_export_section(&mut out, None);
            exported = true;
        }
        out.section(&RawSection { id, data: &wasm[range.start as usize..range.end as usize] });
    }
    if !exported {
        add_export_section(&mut out, None);
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_modules_are_valid_for_kiln_and_export_their_fuel() {
        let mut generated = 0;
        let mut several_memories = 0;
        for seed in 0..40u64 {
            let bytes = crate::seeds::bytes(seed, 4096);
            let mut u = Unstructured::new(&bytes);
            let Ok(module) = FuzzModule::generate(&mut u) else { continue };
            generated += 1;
            wasmparser::Validator::new_with_features(kiln_llvm::KILN_FEATURES)
                .validate_all(&module.wasm)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let exports: Vec<String> = Parser::new(0)
                .parse_all(&module.wasm)
                .filter_map(|p| match p {
                    Ok(Payload::ExportSection(r)) => {
                        Some(r.into_iter().map(|e| e.unwrap().name.to_string()).collect::<Vec<_>>())
                    }
                    _ => None,
                })
                .flatten()
                .collect();
            assert!(exports.iter().any(|e| e == FUEL_EXPORT), "seed {seed}: {exports:?}");
            let memories: u32 = Parser::new(0)
                .parse_all(&module.wasm)
                .map(|p| match p {
                    Ok(Payload::MemorySection(r)) => r.count(),
                    _ => 0,
                })
                .sum();
            assert!(memories as usize <= MAX_MEMORIES, "seed {seed}: {memories} memories");
            several_memories += usize::from(memories > 1);
        }
        assert!(generated >= 30, "only {generated} of 40 inputs made a module");
        assert!(several_memories > 0, "no input made a module with several memories");
    }

    #[test]
    fn export_section_is_added_when_missing() {
        let wasm = wat::parse_str("(module (global (mut i32) (i32.const 7)) (func))").unwrap();
        let out = export_global(&wasm, 0, "g");
        wasmparser::Validator::new().validate_all(&out).unwrap();
        let text = wasmprinter::print_bytes(&out).unwrap();
        assert!(text.contains("(export \"g\" (global 0))"), "{text}");
    }
}
