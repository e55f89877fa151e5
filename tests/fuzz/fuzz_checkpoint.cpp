// libFuzzer target: nn::parse_tensors, as load_tensors parses a checkpoint file. Bad input
// must end in CheckpointError; what it accepts must hold tensors of the sizes it claims.
#include "nn/checkpoint.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nn::Checkpoint c = nn::parse_tensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz.ckpt");
    for (const auto& [name, t] : c.tensors) {
      int64_t numel = 1;
      for (int64_t d : t.shape()) numel *= d;
      if (numel != t.numel()) std::abort();
    }
  } catch (const nn::CheckpointError&) {
  }
  return 0;
}
