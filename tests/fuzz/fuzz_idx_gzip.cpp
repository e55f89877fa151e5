// libFuzzer target: nn::parse_idx on gzipped bytes. Inputs of even length are IDX contents
// that the harness gzips, so the fuzzer reaches the IDX parser behind the inflater (a mutated
// stream almost never passes gzip's own CRC); odd lengths are fed as a gzip stream as they
// are (the gzip magic put in front), for corrupt, truncated and bomb-like streams. Bad input
// must end in DataError.
#include "nn/data.h"

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

std::vector<uint8_t> gzip(const uint8_t* data, size_t size) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();  // 15 + 16: gzip
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(size)));
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes;
  if (size % 2 == 0) {
    bytes = gzip(data, size);
  } else {
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b) bytes = {0x1f, 0x8b};
    bytes.insert(bytes.end(), data, data + size);
  }
  try {
    const nn::IdxArray a = nn::parse_idx(std::move(bytes), "fuzz.idx.gz");
    size_t count = 1;
    for (int64_t d : a.dims) count *= static_cast<size_t>(d);
    if (count != a.data.size()) std::abort();
  } catch (const nn::DataError&) {
  }
  return 0;
}
