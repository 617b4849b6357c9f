//! Typed Rust bindings for one compiled module, written by
//! [`super::Build`] and `include!`d by the crate that uses the module.
//!
//! For a module built as `plugin` the file holds, using only the runtime
//! (`::kiln::runtime` unless told otherwise):
//!
//! * `MODULE`, a `StaticModule` over the archive's two prefixed symbols,
//!   and `load(&Engine)`, which calls `Module::from_static` (for a shared
//!   build: `LIBRARY`, the library's path, and `load` calls
//!   `Module::from_file`);
//! * `trait Imports`, one method per imported function (module order;
//!   `&mut self`, parameters `p0, p1, ...`), implemented by the host;
//! * `struct Plugin<I: Imports>`: `instantiate(&mut Store, &Module, I)`
//!   wires each import through a `Linker` with `Func::new`,
//!   `instantiate_with` takes a `Linker` that may already define the
//!   module's other imports (memories, tables, globals), `host()` gives the
//!   import implementation back, `instance()` the instance; then one method
//!   per exported function and one per exported memory.
//!
//! Types follow the wasm signature: `i32`, `i64`, `f32`, `f64`; `v128` is
//! `u128`; function references are `Option<Func>` and external references
//! `Option<ExternRef>`; no result is `()`, several are a tuple. Calls go
//! through the untyped `Func::call`, so every value type works.
//!
//! Names are Rust identifiers made from the wasm names: every character
//! that cannot appear in one becomes `_`, a leading digit gets a `_`
//! before it, a keyword gets a `_` after it (`type` → `type_`), and a name
//! already taken (by an earlier export or import, or by the methods above)
//! gets `_2`, `_3`, ... in declaration order, so the result is
//! deterministic. Include the file in a module of its own: it defines a few
//! private helpers.

use kiln_abi::metadata::{ExternKind, ImportKind, ModuleMetadata};
use kiln_abi::{FuncType, HeapType, RefType, ValType};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// How the generated code obtains the module.
#[derive(Clone, Debug)]
pub enum Link {
    /// Linked in from a static archive with these symbol facts.
    Static {
        /// The symbol prefix.
        prefix: String,
        /// Size of `PREFIX_kiln_metadata` in bytes.
        metadata_len: usize,
        /// Entries of `PREFIX_kiln_functions`, code range included.
        function_slots: usize,
    },
    /// Loaded at run time from this shared library.
    Shared {
        /// Its absolute path.
        library: PathBuf,
    },
}

/// What the bindings are generated from.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// The library name (also the struct's name, in CamelCase).
    pub name: &'a str,
    /// The wasm input, named in the header comment.
    pub source: &'a Path,
    /// The module's metadata.
    pub metadata: &'a ModuleMetadata,
    /// How the module is linked.
    pub link: Link,
    /// Path of the runtime crate, e.g. `::kiln::runtime`.
    pub runtime: &'a str,
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
    "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// A Rust identifier for the wasm name `name` (see the module docs).
pub fn identifier(name: &str) -> String {
    let mut id: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if id.chars().all(|c| c == '_') {
        id.push_str("unnamed");
    }
    if id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert(0, '_');
    }
    if KEYWORDS.contains(&id.as_str()) {
        id.push('_');
    }
    id
}

/// Hands out identifiers, unique among those already given.
struct Names(BTreeSet<String>);

impl Names {
    fn new(reserved: &[&str]) -> Names {
        Names(reserved.iter().map(|s| s.to_string()).collect())
    }

    fn unique(&mut self, wasm_name: &str) -> String {
        let base = identifier(wasm_name);
        let mut id = base.clone();
        let mut n = 2;
        while self.0.contains(&id) {
            id = format!("{base}_{n}");
            n += 1;
        }
        self.0.insert(id.clone());
        id
    }
}

/// `doThing-now` → `DoThingNow`.
fn camel_case(name: &str) -> String {
    let mut out = String::new();
    for part in identifier(name).split('_').filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'M');
    }
    out
}

/// How one wasm value type appears in the generated code.
struct Ty {
    /// The Rust type.
    rust: String,
    /// The `Val` variant and how a Rust value becomes its payload.
    to_val: fn(&str, &str) -> String,
    /// A pattern on `Val` binding `v`, and the expression turning `v` into
    /// the Rust value.
    from_val: (String, &'static str),
    /// A `ValType` expression.
    val_type: String,
    /// A placeholder `Val` of this type, for result arrays.
    zero: String,
}

fn ty(t: ValType, r: &str) -> Result<Ty, String> {
    let simple = |rust: &str, variant: &str, to: fn(&str, &str) -> String, from: &'static str, zero: &str| Ty {
        rust: rust.to_string(),
        to_val: to,
        from_val: (format!("{r}::Val::{variant}(v)"), from),
        val_type: format!("{r}::ValType::{variant}"),
        zero: format!("{r}::Val::{variant}({zero})"),
    };
    Ok(match t {
        ValType::I32 => simple("i32", "I32", |r, x| format!("{r}::Val::I32({x})"), "v", "0"),
        ValType::I64 => simple("i64", "I64", |r, x| format!("{r}::Val::I64({x})"), "v", "0"),
        ValType::F32 => simple("f32", "F32", |r, x| format!("{r}::Val::F32({x}.to_bits())"), "f32::from_bits(v)", "0"),
        ValType::F64 => simple("f64", "F64", |r, x| format!("{r}::Val::F64({x}.to_bits())"), "f64::from_bits(v)", "0"),
        ValType::V128 => simple("u128", "V128", |r, x| format!("{r}::Val::V128({x})"), "v", "0"),
        ValType::Ref(RefType { nullable, heap }) => {
            let (rust, variant, heap_expr) = match heap {
                HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_) => ("Func", "FuncRef", "Func"),
                HeapType::Extern | HeapType::NoExtern => ("ExternRef", "ExternRef", "Extern"),
                other => return Err(format!("reference type {other:?} has no Rust binding")),
            };
            let val_type = match heap {
                HeapType::Concrete(_) => None,
                _ => Some(format!(
                    "{r}::ValType::Ref({r}::RefType {{ nullable: {nullable}, heap: {r}::HeapType::{} }})",
                    match heap {
                        HeapType::NoFunc => "NoFunc",
                        HeapType::NoExtern => "NoExtern",
                        _ => heap_expr,
                    }
                )),
            };
            Ty {
                rust: format!("::core::option::Option<{r}::{rust}>"),
                to_val: if variant == "FuncRef" {
                    |r, x| format!("{r}::Val::FuncRef({x})")
                } else {
                    |r, x| format!("{r}::Val::ExternRef({x})")
                },
                from_val: (format!("{r}::Val::{variant}(v)"), "v"),
                // A concrete type's id exists only at run time; such a type
                // is only refused where a `ValType` must be written.
                val_type: val_type.unwrap_or_default(),
                zero: format!("{r}::Val::{variant}(None)"),
            }
        }
    })
}

fn result_type(results: &[Ty]) -> String {
    match results {
        [] => "()".into(),
        [one] => one.rust.clone(),
        many => format!("({})", many.iter().map(|t| t.rust.as_str()).collect::<Vec<_>>().join(", ")),
    }
}

/// Statements converting `results` (a `[Val]`) into the Rust result value
/// `__out`.
fn convert_results(out: &mut String, indent: &str, tys: &[Ty], source: &str, error: &str) {
    let mut names = Vec::new();
    for (i, t) in tys.iter().enumerate() {
        let (pattern, expr) = &t.from_val;
        let _ = writeln!(
            out,
            "{indent}let r{i} = match {source}[{i}] {{ {pattern} => {expr}, ref other => return Err({error}(other)) }};"
        );
        names.push(format!("r{i}"));
    }
    let value = match names.len() {
        0 => "()".to_string(),
        1 => names.remove(0),
        _ => format!("({})", names.join(", ")),
    };
    let _ = writeln!(out, "{indent}let __out = {value};");
}

/// The Rust source of the bindings.
pub fn generate(input: &Input<'_>) -> Result<String, String> {
    let r = input.runtime;
    let meta = input.metadata;
    let struct_name = camel_case(input.name);
    let signature = |type_index: u32| -> Result<&FuncType, String> {
        meta.types.get(type_index as usize).map(|t| &t.ty).ok_or_else(|| format!("type index {type_index} out of range"))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Bindings of the wasm module `{}`, generated by kiln::build from `{}`. Do not edit.\n",
        input.name,
        input.source.display()
    );

    match &input.link {
        Link::Static { prefix, metadata_len, function_slots } => {
            let _ = writeln!(
                out,
                "unsafe extern \"C\" {{\n    \
                 #[link_name = \"{meta_sym}\"]\n    \
                 static __KILN_METADATA: [u8; {metadata_len}];\n    \
                 #[link_name = \"{funcs_sym}\"]\n    \
                 static __KILN_FUNCTIONS: [*const ::core::ffi::c_void; {function_slots}];\n}}\n\n\
                 /// The module, linked into this program from `lib{name}.a`.\n\
                 #[allow(dead_code)]\n\
                 pub static MODULE: {r}::StaticModule = unsafe {{\n    \
                 // SAFETY: the two symbols of kiln's archive for this module, with\n    \
                 // the sizes the archive records.\n    \
                 {r}::StaticModule::new(\n        \"{name}\",\n        \
                 &raw const __KILN_METADATA as *const u8,\n        {metadata_len},\n        \
                 &raw const __KILN_FUNCTIONS as *const *const ::core::ffi::c_void,\n        {function_slots},\n    )\n}};\n\n\
                 /// Loads the statically linked module (`Module::from_static`).\n\
                 #[allow(dead_code)]\n\
                 pub fn load(engine: &{r}::Engine) -> ::core::result::Result<{r}::Module, {r}::LoadError> {{\n    \
                 {r}::Module::from_static(engine, &MODULE)\n}}\n",
                meta_sym = kiln_abi::symbols::metadata_symbol(Some(prefix)),
                funcs_sym = kiln_abi::symbols::functions_symbol(Some(prefix)),
                name = input.name,
            );
        }
        Link::Shared { library } => {
            let _ = writeln!(
                out,
                "/// The shared library the build script compiled.\n\
                 #[allow(dead_code)]\n\
                 pub const LIBRARY: &str = {library:?};\n\n\
                 /// Loads the module from [`LIBRARY`] (`Module::from_file`).\n\
                 #[allow(dead_code)]\n\
                 pub fn load(engine: &{r}::Engine) -> ::core::result::Result<{r}::Module, {r}::LoadError> {{\n    \
                 {r}::Module::from_file(engine, LIBRARY)\n}}\n",
                library = library.display().to_string(),
            );
        }
    }

    // Imports.
    let mut import_names = Names::new(&[]);
    let mut trait_body = String::new();
    let mut wiring = String::new();
    let mut other_imports = Vec::new();
    for import in &meta.imports {
        let ImportKind::Func(type_index) = import.kind else {
            other_imports.push(format!("`{}.{}`", import.module, import.name));
            continue;
        };
        let sig = signature(type_index)?;
        let method = import_names.unique(&import.name);
        let params = sig.params.iter().map(|&t| ty(t, r)).collect::<Result<Vec<_>, _>>()?;
        let results = sig.results.iter().map(|&t| ty(t, r)).collect::<Result<Vec<_>, _>>()?;
        if params.iter().chain(&results).any(|t| t.val_type.is_empty()) {
            return Err(format!(
                "import `{}.{}` has a concrete reference type `(ref $t)`, which typed bindings cannot name; \
                 define it in the Linker given to `instantiate_with` instead",
                import.module, import.name
            ));
        }
        let args: Vec<String> = params.iter().enumerate().map(|(i, t)| format!("p{i}: {}", t.rust)).collect();
        let ret = result_type(&results);
        let _ = writeln!(trait_body, "    /// The import `{}.{}`: `{sig}`.", import.module, import.name);
        let _ = writeln!(
            trait_body,
            "    fn {method}(&mut self{}{}){};",
            if args.is_empty() { "" } else { ", " },
            args.join(", "),
            if results.is_empty() { String::new() } else { format!(" -> {ret}") }
        );
        let _ = writeln!(wiring, "        {{\n            let host = host.clone();");
        let _ = writeln!(
            wiring,
            "            let ty = {r}::FuncType::new(::std::vec::Vec::<{r}::ValType>::from([{}]), ::std::vec::Vec::<{r}::ValType>::from([{}]));",
            params.iter().map(|t| t.val_type.as_str()).collect::<Vec<_>>().join(", "),
            results.iter().map(|t| t.val_type.as_str()).collect::<Vec<_>>().join(", ")
        );
        let _ = writeln!(
            wiring,
            "            let func = {r}::Func::new(&mut *store, ty, move |_caller, params, _results| {{"
        );
        for (i, t) in params.iter().enumerate() {
            let (pattern, expr) = &t.from_val;
            let _ = writeln!(
                wiring,
                "                let p{i} = match params[{i}] {{ {pattern} => {expr}, ref other => return Err(__mismatch(other)) }};"
            );
        }
        let call_args: Vec<String> = (0..params.len()).map(|i| format!("p{i}")).collect();
        let call = format!("__lock(&host).{method}({})", call_args.join(", "));
        match results.len() {
            0 => {
                let _ = writeln!(wiring, "                {call};");
            }
            1 => {
                let _ = writeln!(wiring, "                let __out = {call};");
                let _ = writeln!(wiring, "                _results[0] = {};", (results[0].to_val)(r, "__out"));
            }
            _ => {
                let _ = writeln!(wiring, "                let __out = {call};");
                for (i, t) in results.iter().enumerate() {
                    let _ = writeln!(wiring, "                _results[{i}] = {};", (t.to_val)(r, &format!("__out.{i}")));
                }
            }
        }
        let _ = writeln!(wiring, "                Ok(())\n            }});");
        let _ = writeln!(
            wiring,
            "            linker.define({:?}, {:?}, func);\n        }}",
            import.module, import.name
        );
    }
    let _ = writeln!(out, "/// The host functions the module imports, one method per function.");
    if !other_imports.is_empty() {
        let _ = writeln!(
            out,
            "///\n/// The module also imports {}: define them in the `Linker` given to\n/// `{struct_name}::instantiate_with`.",
            other_imports.join(", ")
        );
    }
    let _ = writeln!(out, "#[allow(non_snake_case, dead_code)]\npub trait Imports: ::core::marker::Send + 'static {{\n{trait_body}}}\n");
    if meta.imports.iter().all(|i| !matches!(i.kind, ImportKind::Func(_))) {
        let _ = writeln!(out, "/// The module imports no functions.\nimpl Imports for () {{}}\n");
    }

    // Exports.
    let mut names = Names::new(&["instantiate", "instantiate_with", "instance", "host", "new"]);
    let mut fields = String::new();
    let mut lookups = String::new();
    let mut inits = Vec::new();
    let mut methods = String::new();
    for export in &meta.exports {
        match export.kind {
            ExternKind::Func => {
                let type_index = meta
                    .functions
                    .get(export.index as usize)
                    .map(|f| f.type_index)
                    .ok_or_else(|| format!("export `{}` names function {} out of range", export.name, export.index))?;
                let sig = signature(type_index)?;
                let method = names.unique(&export.name);
                let field = format!("__{method}");
                let params = sig.params.iter().map(|&t| ty(t, r)).collect::<Result<Vec<_>, _>>()?;
                let results = sig.results.iter().map(|&t| ty(t, r)).collect::<Result<Vec<_>, _>>()?;
                let _ = writeln!(fields, "    {field}: {r}::Func,");
                let _ = writeln!(
                    lookups,
                    "        let {field} = instance.get_func(&*store, {:?}).ok_or_else(|| {r}::Error::ExportNotFound({:?}.into()))?;",
                    export.name, export.name
                );
                inits.push(field.clone());
                let args: Vec<String> = params.iter().enumerate().map(|(i, t)| format!(", p{i}: {}", t.rust)).collect();
                let _ = writeln!(methods, "    /// Calls the export `{}`: `{sig}`.", export.name);
                let _ = writeln!(
                    methods,
                    "    pub fn {method}(&self, store: &mut {r}::Store{}) -> ::core::result::Result<{}, {r}::Error> {{",
                    args.concat(),
                    result_type(&results)
                );
                let _ = writeln!(
                    methods,
                    "        let params = [{}];",
                    params.iter().enumerate().map(|(i, t)| (t.to_val)(r, &format!("p{i}"))).collect::<Vec<_>>().join(", ")
                );
                let _ = writeln!(
                    methods,
                    "        let mut results = [{}];",
                    results.iter().map(|t| t.zero.as_str()).collect::<Vec<_>>().join(", ")
                );
                let _ = writeln!(methods, "        self.{field}.call(&mut *store, &params, &mut results)?;");
                convert_results(&mut methods, "        ", &results, "results", "__mismatch");
                let _ = writeln!(methods, "        Ok(__out)\n    }}\n");
            }
            ExternKind::Memory => {
                let method = names.unique(&export.name);
                let field = format!("__{method}");
                let _ = writeln!(fields, "    {field}: {r}::Memory,");
                let _ = writeln!(
                    lookups,
                    "        let {field} = instance.get_memory(&*store, {:?}).ok_or_else(|| {r}::Error::ExportNotFound({:?}.into()))?;",
                    export.name, export.name
                );
                inits.push(field.clone());
                let _ = writeln!(
                    methods,
                    "    /// The exported memory `{}`.\n    pub fn {method}(&self) -> {r}::Memory {{\n        self.{field}\n    }}\n",
                    export.name
                );
            }
            ExternKind::Table | ExternKind::Global | ExternKind::Tag => {}
        }
    }

    let _ = writeln!(
        out,
        "/// An instance of the module with typed access to its exports.\n\
         #[allow(non_snake_case, dead_code)]\n\
         pub struct {struct_name}<I: Imports> {{\n    \
         instance: {r}::Instance,\n    \
         host: ::std::sync::Arc<::std::sync::Mutex<I>>,\n{fields}}}\n"
    );
    let _ = writeln!(
        out,
        "#[allow(non_snake_case, dead_code, clippy::too_many_arguments, clippy::type_complexity)]\n\
         impl<I: Imports> {struct_name}<I> {{\n    \
         /// Instantiates `module` in `store`, with `imports` as its host functions.\n    \
         pub fn instantiate(store: &mut {r}::Store, module: &{r}::Module, imports: I) -> ::core::result::Result<Self, {r}::Error> {{\n        \
         let mut linker = {r}::Linker::new(module.engine());\n        \
         Self::instantiate_with(store, &mut linker, module, imports)\n    }}\n\n    \
         /// [`Self::instantiate`] with a `linker` that may define the module's\n    \
         /// other imports; the host functions are added to it.\n    \
         pub fn instantiate_with(\n        store: &mut {r}::Store,\n        linker: &mut {r}::Linker,\n        module: &{r}::Module,\n        imports: I,\n    ) -> ::core::result::Result<Self, {r}::Error> {{\n        \
         let host = ::std::sync::Arc::new(::std::sync::Mutex::new(imports));\n\
         {wiring}        \
         let instance = linker.instantiate(&mut *store, module)?;\n\
         {lookups}        \
         Ok(Self {{ instance, host{} }})\n    }}\n\n    \
         /// The instance.\n    \
         pub fn instance(&self) -> {r}::Instance {{\n        self.instance\n    }}\n\n    \
         /// The host functions' implementation.\n    \
         pub fn host(&self) -> ::std::sync::MutexGuard<'_, I> {{\n        __lock(&self.host)\n    }}\n\n\
         {methods}}}\n",
        inits.iter().map(|f| format!(", {f}")).collect::<String>()
    );
    let _ = writeln!(
        out,
        "#[allow(dead_code)]\nfn __lock<I>(host: &::std::sync::Mutex<I>) -> ::std::sync::MutexGuard<'_, I> {{\n    \
         // A host function that panicked poisoned the lock; the data is still usable.\n    \
         host.lock().unwrap_or_else(|e| e.into_inner())\n}}\n\n\
         #[allow(dead_code)]\nfn __mismatch(value: &{r}::Val) -> {r}::Error {{\n    \
         {r}::Error::TypeMismatch(::std::format!(\"unexpected value {{value:?}}\"))\n}}"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_valid_and_deterministic() {
        assert_eq!(identifier("do-thing"), "do_thing");
        assert_eq!(identifier("type"), "type_");
        assert_eq!(identifier("self"), "self_");
        assert_eq!(identifier("1st"), "_1st");
        assert_eq!(identifier("-"), "_unnamed");
        assert_eq!(identifier("héllo"), "h_llo");
        let mut names = Names::new(&["instance"]);
        assert_eq!(names.unique("a-b"), "a_b");
        assert_eq!(names.unique("a.b"), "a_b_2");
        assert_eq!(names.unique("a_b"), "a_b_3");
        assert_eq!(names.unique("instance"), "instance_2");
        assert_eq!(camel_case("my_plugin"), "MyPlugin");
        assert_eq!(camel_case("3d"), "M3d");
    }
}
