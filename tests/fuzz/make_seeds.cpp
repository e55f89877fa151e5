// make_seeds DIR: the fuzzers' starting corpora, made by the library itself: small valid
// IDX files (DIR/idx), the same raw and gzipped (DIR/idx_gzip), and checkpoints (DIR/checkpoint).
#include "nn/checkpoint.h"
#include "tensor/tensor.h"

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string idx(const std::vector<uint32_t>& dims) {
  std::string out = {0, 0, 8, static_cast<char>(dims.size())};
  size_t count = 1;
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xff);
    count *= d;
  }
  for (size_t i = 0; i < count; ++i) out += static_cast<char>(i * 37 % 251);
  return out;
}

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* sub : {"idx", "idx_gzip", "checkpoint"}) fs::create_directories(dir / sub);
  const std::vector<std::pair<std::string, std::vector<uint32_t>>> files = {
      {"labels", {10}}, {"images", {3, 4, 4}}, {"empty", {0}}, {"rank4", {2, 2, 2, 2}}};
  for (const auto& [name, dims] : files) {
    write(dir / "idx" / (name + ".idx"), idx(dims));
    write_gzip(dir / "idx_gzip" / (name + ".idx.gz"), idx(dims));  // fed as a stream when of odd length
    write(dir / "idx_gzip" / (name + ".idx"), idx(dims));           // gzipped by the harness (even lengths)
  }
  nn::save_tensors((dir / "checkpoint" / "two.ckpt").string(),
                   {{"weight", tensor::Tensor::full({3, 2}, 0.5f)}, {"bias", tensor::Tensor::zeros({3})}},
                   "{\"seed\": 1}");
  nn::save_tensors((dir / "checkpoint" / "empty.ckpt").string(), {});
  return 0;
}
