// Model facts from a GGUF file, for `policyctl eval/explain --model FILE.gguf`:
// the engine never reads model files (it must not include kernels/), so the
// facts are read here, through the kernels' GgufFile, and passed in.
//
// Thread-safety: pure function. Cost: reads the file's header and metadata.
#ifndef KPOLICY_TOOLS_POLICYCTL_MODEL_FACTS_H_
#define KPOLICY_TOOLS_POLICYCTL_MODEL_FACTS_H_

#include <string>

#include "kpolicy/device.h"
#include "kpolicy/expected.h"

namespace kpolicy::tools {

// general.architecture, general.name, general.size_label and the file type
// (general.file_type, as llama.cpp numbers it: 15 is Q4_K_M) as text.
// Errors (unreadable file, not GGUF) carry the file name.
Expected<ModelFacts> ReadGgufModelFacts(const std::string& path);

// The name of a GGUF general.file_type ("Q4_K_M"); "file type N" if unknown.
std::string GgufFileTypeName(uint64_t file_type);

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_POLICYCTL_MODEL_FACTS_H_
