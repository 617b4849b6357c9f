// What LLVM 19 itself knows about a target's CPUs and features, for
// `target/subtarget.rs`. The LLVM C API can list neither, nor say which
// features a CPU implies, so this asks `MCSubtargetInfo` directly.
//
// Every function returns a string allocated with `malloc` (free it with
// `kiln_subtarget_free`), or null when LLVM does not know the triple.
// Names are comma-separated.

#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/AArch64TargetParser.h"
#include "llvm/TargetParser/Triple.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

std::unique_ptr<llvm::MCSubtargetInfo> subtarget(const char *triple) {
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  return std::unique_ptr<llvm::MCSubtargetInfo>(target->createMCSubtargetInfo(triple, "", ""));
}

char *to_c(const std::string &s) {
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  if (out)
    std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

void append(std::string &list, llvm::StringRef name) {
  if (!list.empty())
    list += ',';
  list += name;
}

bool is_aarch64(const char *triple) { return llvm::Triple(triple).isAArch64(); }

} // namespace

extern "C" {

// The CPU names LLVM accepts for `triple`. AArch64 also accepts aliases
// (`apple-m1` is `apple-a14`), which its subtarget resolves before looking
// the name up.
char *kiln_subtarget_cpus(const char *triple) {
  auto sti = subtarget(triple);
  if (!sti)
    return nullptr;
  std::string list;
  for (const llvm::SubtargetSubTypeKV &cpu : sti->getAllProcessorDescriptions())
    append(list, cpu.Key);
  if (is_aarch64(triple))
    for (const llvm::AArch64::Alias &alias : llvm::AArch64::CpuAliases)
      append(list, alias.AltName);
  return to_c(list);
}

// The feature names LLVM accepts for `triple`.
char *kiln_subtarget_feature_names(const char *triple) {
  auto sti = subtarget(triple);
  if (!sti)
    return nullptr;
  std::string list;
  for (const llvm::SubtargetFeatureKV &feature : sti->getAllProcessorFeatures())
    append(list, feature.Key);
  return to_c(list);
}

// The features enabled for `cpu` with the feature string `features`
// ("+a,-b"), as LLVM computes them: the CPU's features and everything they
// imply, then each flag in order with its implications. No tuning CPU is
// given, so tuning features appear only when `features` names them. Names
// must be ones LLVM knows (LLVM warns about others and ignores them).
char *kiln_subtarget_enabled(const char *triple, const char *cpu, const char *features) {
  auto sti = subtarget(triple);
  if (!sti)
    return nullptr;
  llvm::StringRef name = is_aarch64(triple) ? llvm::AArch64::resolveCPUAlias(cpu) : llvm::StringRef(cpu);
  sti->setDefaultFeatures(name, "", features);
  const llvm::FeatureBitset &bits = sti->getFeatureBits();
  std::string list;
  for (const llvm::SubtargetFeatureKV &feature : sti->getAllProcessorFeatures())
    if (bits.test(feature.Value))
      append(list, feature.Key);
  return to_c(list);
}

void kiln_subtarget_free(char *list) { std::free(list); }

} // extern "C"
