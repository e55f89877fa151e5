// libFuzzer target: nn::parse_idx on raw bytes, as read_idx parses an IDX file. Bad input
// must end in DataError, never in a crash, a hang, a huge allocation or another exception.
#include "nn/data.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nn::IdxArray a = nn::parse_idx(std::vector<uint8_t>(data, data + size), "fuzz.idx");
    size_t count = 1;
    for (int64_t d : a.dims) count *= static_cast<size_t>(d);
    if (count != a.data.size()) std::abort();  // what parse_idx promises of a file it accepts
  } catch (const nn::DataError&) {
  }
  return 0;
}
