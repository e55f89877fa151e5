#include "nn/checkpoint.h"

#include "nn/files.h"

#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

namespace nn {

namespace {

constexpr char kMagic[8] = {'K', 'D', 'C', 'K', 'P', 'T', '\0', '\0'};
constexpr uint32_t kVersion = 1;

// The format is little-endian, written and read as the host lays numbers out in memory.
static_assert(std::endian::native == std::endian::little, "checkpoints are little-endian: port put() and Reader");

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw CheckpointError(path + ": " + what); }

template <class V>
void put(std::string& out, V value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads the payload front to back, refusing to go past its end.
class Reader {
 public:
  Reader(const std::string& bytes, size_t begin, size_t end, const std::string& path)
      : bytes_(bytes), at_(begin), end_(end), path_(path) {}
  template <class V>
  V get(const char* what) {
    V value;
    need(sizeof value, what);
    std::memcpy(&value, bytes_.data() + at_, sizeof value);
    at_ += sizeof value;
    return value;
  }
  std::string text(uint64_t length, const char* what) {
    need(length, what);
    std::string s = bytes_.substr(at_, length);
    at_ += length;
    return s;
  }
  void floats(float* out, uint64_t count, const char* what) {
    if (count > (end_ - at_) / sizeof(float)) fail(path_, std::string("truncated in ") + what);
    std::memcpy(out, bytes_.data() + at_, count * sizeof(float));
    at_ += count * sizeof(float);
  }
  bool done() const { return at_ == end_; }

 private:
  void need(uint64_t n, const char* what) {
    if (n > end_ - at_) fail(path_, std::string("truncated in ") + what);
  }
  const std::string& bytes_;
  size_t at_, end_;
  const std::string& path_;
};

uint32_t crc_of(const std::string& bytes, size_t begin, size_t end) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib's crc32 takes lengths as uInt: feed it in chunks.
  for (size_t at = begin; at < end;) {
    const size_t n = std::min<size_t>(end - at, size_t{1} << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(n));
    at += n;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

void save_tensors(const std::string& path, const NamedTensors& tensors, const std::string& metadata) {
  std::string out(kMagic, sizeof kMagic);
  put(out, kVersion);
  const size_t payload = out.size();
  put(out, static_cast<uint64_t>(metadata.size()));
  out += metadata;
  put(out, static_cast<uint64_t>(tensors.size()));
  for (const auto& [name, t] : tensors) {
    put(out, static_cast<uint64_t>(name.size()));
    out += name;
    put(out, static_cast<uint64_t>(t.dim()));
    for (int64_t d : t.shape()) put(out, d);
    const Tensor c = t.contiguous();
    out.append(reinterpret_cast<const char*>(c.data()), static_cast<size_t>(c.numel()) * sizeof(float));
  }
  put(out, crc_of(out, payload, out.size()));

  // Readers see the old file or the new one; an interrupted save leaves no temporary file.
  const int error = write_atomically(path, out, true);
  if (error != 0) fail(path, std::string("cannot write: ") + std::strerror(error));
}

Checkpoint load_tensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  return parse_tensors(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), path);
}

Checkpoint parse_tensors(const std::string& bytes, const std::string& path) {
  const size_t header = sizeof kMagic + sizeof kVersion;
  if (bytes.size() < header + sizeof(uint32_t) || bytes.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0) {
    fail(path, "not a checkpoint (bad magic)");
  }
  uint32_t version;
  std::memcpy(&version, bytes.data() + sizeof kMagic, sizeof version);
  if (version != kVersion) {
    fail(path, "format version " + std::to_string(version) + ", this program reads " + std::to_string(kVersion));
  }
  const size_t end = bytes.size() - sizeof(uint32_t);
  uint32_t stored;
  std::memcpy(&stored, bytes.data() + end, sizeof stored);
  if (crc_of(bytes, header, end) != stored) fail(path, "checksum mismatch (file corrupt)");

  Reader r(bytes, header, end, path);
  Checkpoint ck;
  ck.metadata = r.text(r.get<uint64_t>("metadata length"), "metadata");
  const auto count = r.get<uint64_t>("tensor count");
  for (uint64_t k = 0; k < count; ++k) {
    std::string name = r.text(r.get<uint64_t>("name length"), "a name");
    const auto rank = r.get<uint64_t>("a rank");
    if (rank > 8) fail(path, "tensor " + name + " has rank " + std::to_string(rank));
    Shape shape;
    // elements: the product of the sizes; extent: the product of the non-zero ones, which the
    // strides reach even when a 0 makes the tensor empty. Both are bounded by the file length,
    // so neither (nor a stride) can overflow: [0, 600, 600, ...] is refused, not computed.
    uint64_t elements = 1, extent = 1;
    for (uint64_t d = 0; d < rank; ++d) {
      const auto size = r.get<int64_t>("a shape");
      if (size < 0 || static_cast<uint64_t>(size) > bytes.size() ||
          (size != 0 && extent > bytes.size() / static_cast<uint64_t>(size))) {
        fail(path, "tensor " + name + " has an impossible shape");
      }
      shape.push_back(size);
      elements *= static_cast<uint64_t>(size);
      if (size != 0) extent *= static_cast<uint64_t>(size);
    }
    if (elements > bytes.size() / sizeof(float)) fail(path, "tensor " + name + " is larger than the file");
    Tensor t = Tensor::empty(shape);
    r.floats(t.data(), elements, "tensor values");
    ck.tensors.emplace_back(std::move(name), std::move(t));
  }
  if (!r.done()) fail(path, "unexpected bytes after the last tensor");
  return ck;
}

namespace {

// What a checkpoint of a module holds: its parameters' values, then its buffers, by name.
struct StateTensor {
  std::string name;
  Tensor value;       // shares the module's storage
  const char* kind;   // "parameter" or "buffer", for error messages
};

std::vector<StateTensor> module_state(const Module& module) {
  std::vector<StateTensor> state;
  for (const auto& [name, p] : module.named_parameters()) state.push_back({name, p.value(), "parameter"});
  for (const auto& [name, b] : module.named_buffers()) state.push_back({name, b, "buffer"});
  return state;
}

}  // namespace

NamedTensors module_tensors(const Module& module) {
  NamedTensors tensors;
  for (const StateTensor& s : module_state(module)) tensors.emplace_back(s.name, s.value.clone());
  return tensors;
}

void save_checkpoint(const std::string& path, const Module& module, const std::string& metadata) {
  NamedTensors tensors;
  for (const StateTensor& s : module_state(module)) tensors.emplace_back(s.name, s.value);
  save_tensors(path, tensors, metadata);
}

std::string load_checkpoint(const std::string& path, Module& module) {
  Checkpoint ck = load_tensors(path);
  std::map<std::string, Tensor> found(ck.tensors.begin(), ck.tensors.end());
  std::vector<StateTensor> state = module_state(module);
  // Check everything first, so a mismatch leaves the module untouched.
  for (const StateTensor& s : state) {
    const auto it = found.find(s.name);
    if (it == found.end()) {
      fail(path, std::string(s.kind) + " " + s.name + " " + tensor::to_string(s.value.shape()) + " is missing");
    }
    if (it->second.shape() != s.value.shape()) {
      fail(path, std::string(s.kind) + " " + s.name + ": expected " + tensor::to_string(s.value.shape()) + ", found " +
                     tensor::to_string(it->second.shape()));
    }
  }
  if (found.size() != state.size()) {
    for (const auto& [name, t] : ck.tensors) {
      bool known = false;
      for (const StateTensor& s : state) known = known || s.name == name;
      if (!known) fail(path, "holds " + name + " " + tensor::to_string(t.shape()) + ", which the module does not have");
    }
  }
  for (StateTensor& s : state) s.value.copy_(found.at(s.name));
  return ck.metadata;
}

}  // namespace nn
