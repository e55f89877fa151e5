// libFuzzer target: nn::parse_tensors, as load_tensors parses a checkpoint file. Bad input
// must end in CheckpointError; what it accepts must hold tensors of the sizes it claims.
// Inputs of even length get a correct CRC-32 written into their last 4 bytes, so the fuzzer
// reaches the parser behind the checksum too (otherwise almost every mutation dies there);
// odd lengths keep theirs, for the checksum's own error path.
#include "nn/checkpoint.h"

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  constexpr size_t kHeader = 12;  // magic (8) and version (4); the CRC covers what follows, up to itself
  if (size >= kHeader + 4 && size % 2 == 0) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data() + kHeader),
              static_cast<uInt>(size - kHeader - 4)));
    std::memcpy(bytes.data() + size - 4, &crc, 4);
  }
  try {
    const nn::Checkpoint c = nn::parse_tensors(bytes, "fuzz.ckpt");
    for (const auto& [name, t] : c.tensors) {
      int64_t numel = 1;
      for (int64_t d : t.shape()) numel *= d;
      if (numel != t.numel()) std::abort();
    }
  } catch (const nn::CheckpointError&) {
  }
  return 0;
}
