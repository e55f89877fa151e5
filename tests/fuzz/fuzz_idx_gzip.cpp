// libFuzzer target: nn::parse_idx on gzipped bytes (the input is made to start with the
// gzip magic, so every input goes through the inflater): corrupt, truncated or bomb-like
// streams must end in DataError.
#include "nn/data.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes = {0x1f, 0x8b};
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) bytes.clear();
  bytes.insert(bytes.end(), data, data + size);
  try {
    const nn::IdxArray a = nn::parse_idx(std::move(bytes), "fuzz.idx.gz");
    size_t count = 1;
    for (int64_t d : a.dims) count *= static_cast<size_t>(d);
    if (count != a.data.size()) std::abort();
  } catch (const nn::DataError&) {
  }
  return 0;
}
