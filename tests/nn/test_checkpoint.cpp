// Checkpoints: named tensors in one checked file, written atomically, loaded into modules.
#include "nn/checkpoint.h"

#include "nn/layers.h"
#include "tensor/errors.h"
#include "tensor/random.h"

#include "tests/temp_dir.h"

#include <doctest/doctest.h>

#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace fs = std::filesystem;

using nn::CheckpointError;
using nn::NamedTensors;
using tensor::Shape;
using tensor::Tensor;

namespace {

// Each test case's files live in a directory of their own.
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("checkpoint") {}
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Values compared bit for bit, so that -0, NaN and denormals count as well.
std::vector<uint32_t> bits(const Tensor& t) {
  std::vector<uint32_t> out;
  for (float v : t.to_vector()) out.push_back(std::bit_cast<uint32_t>(v));
  return out;
}

std::vector<uint32_t> bits(const std::vector<float>& values) {
  std::vector<uint32_t> out;
  for (float v : values) out.push_back(std::bit_cast<uint32_t>(v));
  return out;
}

template <class V>
void put(std::string& out, V value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// A file in the checkpoint layout around a hand-written payload, with a correct CRC-32,
// so that only the payload's own lies can be caught.
std::string with_header_and_crc(const std::string& payload, uint32_t version = 1) {
  std::string out("KDCKPT\0\0", 8);
  put(out, version);
  out += payload;
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(payload.data()),
                          static_cast<uInt>(payload.size()));
  put(out, static_cast<uint32_t>(crc));
  return out;
}

// The payload of one tensor `name` with the given shape and values (no metadata).
std::string one_tensor_payload(const std::string& name, const std::vector<int64_t>& shape,
                               const std::vector<float>& values) {
  std::string p;
  put(p, uint64_t{0});  // metadata length
  put(p, uint64_t{1});  // tensor count
  put(p, static_cast<uint64_t>(name.size()));
  p += name;
  put(p, static_cast<uint64_t>(shape.size()));
  for (int64_t d : shape) put(p, d);
  for (float v : values) put(p, v);
  return p;
}

// A 4-3-2 MLP: parameters 0.weight [3, 4], 0.bias [3], 2.weight [2, 3], 2.bias [2].
std::shared_ptr<nn::Sequential> mlp(int64_t in, int64_t hidden, int64_t out, uint64_t seed) {
  tensor::Generator gen(seed);
  auto m = std::make_shared<nn::Sequential>();
  m->emplace<nn::Linear>(in, hidden, gen);
  m->emplace<nn::ReLU>();
  m->emplace<nn::Linear>(hidden, out, gen);
  return m;
}

// Independent copies of every parameter's values, in order.
std::vector<std::vector<float>> snapshot(const nn::Module& m) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, p] : m.named_parameters()) out.push_back(p.value().to_vector());
  return out;
}

}  // namespace

TEST_SUITE("nn/checkpoint") {

TEST_CASE("load_tensors returns exactly the names, shapes, values and metadata save_tensors wrote") {
  TempDir dir;
  const std::string path = dir.file("tensors.kdck");
  const std::vector<float> specials = {0.1f, -0.0f, 1e30f, -3.5f, std::numeric_limits<float>::denorm_min(),
                                       std::numeric_limits<float>::infinity()};
  const Tensor matrix = Tensor::from_vector({2, 3}, specials);
  const Tensor scalar = Tensor::scalar(3.25f);
  const Tensor empty = Tensor::zeros({0, 4});
  const Tensor nan = Tensor::from_vector({1}, {std::numeric_limits<float>::quiet_NaN()});
  // [[1, 2, 3], [4, 5, 6]] transposed is [[1, 4], [2, 5], [3, 6]]: a strided view, not a copy.
  const Tensor transposed = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6}).t();
  REQUIRE_FALSE(transposed.is_contiguous());
  const std::string metadata("seed=7\nlr=0.1\0after a zero byte", 31);
  REQUIRE(metadata.size() == 31);

  const NamedTensors saved = {
      {"matrix", matrix}, {"scalar", scalar}, {"empty", empty}, {"nan", nan}, {"transposed", transposed}};
  nn::save_tensors(path, saved, metadata);
  const nn::Checkpoint ck = nn::load_tensors(path);

  CHECK(ck.metadata == metadata);
  REQUIRE(ck.tensors.size() == 5);
  CHECK(ck.tensors[0].first == "matrix");
  CHECK(ck.tensors[0].second.shape() == Shape{2, 3});
  CHECK(bits(ck.tensors[0].second) == bits(specials));
  CHECK(ck.tensors[1].first == "scalar");
  CHECK(ck.tensors[1].second.shape() == Shape{});
  CHECK(ck.tensors[1].second.item() == 3.25f);
  CHECK(ck.tensors[2].first == "empty");
  CHECK(ck.tensors[2].second.shape() == Shape{0, 4});
  CHECK(ck.tensors[3].first == "nan");
  CHECK(std::isnan(ck.tensors[3].second.item()));
  CHECK(ck.tensors[4].first == "transposed");
  CHECK(ck.tensors[4].second.shape() == Shape{3, 2});
  CHECK(ck.tensors[4].second.to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("a checkpoint of no tensors and no metadata round-trips too") {
  TempDir dir;
  const std::string path = dir.file("nothing.kdck");
  nn::save_tensors(path, {});
  const nn::Checkpoint ck = nn::load_tensors(path);
  CHECK(ck.tensors.empty());
  CHECK(ck.metadata.empty());
  // magic 8 + version 4 + metadata length 8 + tensor count 8 + CRC 4 = 32 bytes.
  CHECK(fs::file_size(path) == 32);
}

TEST_CASE("saving leaves only the finished file in the directory, and replaces an older one whole") {
  TempDir dir;
  const std::string path = dir.file("model.kdck");
  nn::save_tensors(path, {{"a", Tensor::full({2, 2}, 1.0f)}}, "first");
  CHECK(dir.entries() == std::vector<std::string>{"model.kdck"});
  nn::save_tensors(path, {{"b", Tensor::full({3}, 2.0f)}}, "second");
  CHECK(dir.entries() == std::vector<std::string>{"model.kdck"});
  const nn::Checkpoint ck = nn::load_tensors(path);
  CHECK(ck.metadata == "second");
  REQUIRE(ck.tensors.size() == 1);
  CHECK(ck.tensors[0].first == "b");
  CHECK(ck.tensors[0].second.to_vector() == std::vector<float>{2, 2, 2});
}

TEST_CASE("saving into a missing directory throws a CheckpointError and leaves nothing behind") {
  TempDir dir;
  const std::string path = dir.file("no-such-dir/model.kdck");
  CHECK_THROWS_WITH_AS(nn::save_tensors(path, {{"a", Tensor::ones({2})}}),
                       (path + ": cannot write: No such file or directory").c_str(), CheckpointError);
  CHECK_FALSE(fs::exists(dir.path() / "no-such-dir"));
  CHECK(dir.entries().empty());
}

TEST_CASE("a flipped byte anywhere after the version is caught by the checksum") {
  TempDir dir;
  const std::string path = dir.file("model.kdck");
  nn::save_tensors(path, {{"weight", Tensor::full({4, 4}, 0.5f)}}, "meta");
  std::string bytes = read_bytes(path);
  // Layout: magic 8, version 4, metadata length 8 + "meta" 4, count 8, name length 8 + "weight" 6,
  // rank 8, dims 16, 16 floats 64, CRC 4: 138 bytes.
  REQUIRE(bytes.size() == 138);
  SUBCASE("in the metadata") { bytes[20] ^= 0x01; }
  SUBCASE("in a value") { bytes[100] ^= 0x40; }
  SUBCASE("in the stored CRC itself") { bytes[bytes.size() - 1] ^= 0x80; }
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": checksum mismatch (file corrupt)").c_str(), CheckpointError);
}

TEST_CASE("a truncated checkpoint is refused") {
  TempDir dir;
  const std::string path = dir.file("model.kdck");
  nn::save_tensors(path, {{"weight", Tensor::full({4, 4}, 0.5f)}}, "meta");
  const std::string bytes = read_bytes(path);
  SUBCASE("missing its last byte: the checksum no longer matches") {
    write_bytes(path, bytes.substr(0, bytes.size() - 1));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": checksum mismatch (file corrupt)").c_str(),
                         CheckpointError);
  }
  SUBCASE("cut inside its header: too short to be a checkpoint") {
    write_bytes(path, bytes.substr(0, 10));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": not a checkpoint (bad magic)").c_str(), CheckpointError);
  }
  SUBCASE("empty") {
    write_bytes(path, "");
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": not a checkpoint (bad magic)").c_str(), CheckpointError);
  }
}

TEST_CASE("a file that is not a checkpoint, or is missing, or of another version, is refused by name") {
  TempDir dir;
  const std::string path = dir.file("model.kdck");
  SUBCASE("some other file") {
    write_bytes(path, "this is a text file, not a checkpoint at all");
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": not a checkpoint (bad magic)").c_str(), CheckpointError);
  }
  SUBCASE("a missing file") {
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": cannot open: No such file or directory").c_str(),
                         CheckpointError);
  }
  SUBCASE("format version 2") {
    write_bytes(path, with_header_and_crc(one_tensor_payload("x", {1}, {1.0f}), 2));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": format version 2, this program reads 1").c_str(),
                         CheckpointError);
  }
}

TEST_CASE("a file with a valid checksum whose contents lie about their sizes is refused") {
  TempDir dir;
  const std::string path = dir.file("crafted.kdck");
  SUBCASE("the hand-made layout is read back when it is honest") {
    // Guards the cases below: the same builder with true sizes makes a loadable file.
    write_bytes(path, with_header_and_crc(one_tensor_payload("x", {2}, {1.5f, -2.0f})));
    const nn::Checkpoint ck = nn::load_tensors(path);
    REQUIRE(ck.tensors.size() == 1);
    CHECK(ck.tensors[0].first == "x");
    CHECK(ck.tensors[0].second.to_vector() == std::vector<float>{1.5f, -2.0f});
  }
  SUBCASE("metadata longer than the file") {
    std::string p;
    put(p, uint64_t{1000});
    write_bytes(path, with_header_and_crc(p));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": truncated in metadata").c_str(), CheckpointError);
  }
  SUBCASE("no tensor count") {
    std::string p;
    put(p, uint64_t{0});
    write_bytes(path, with_header_and_crc(p));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": truncated in tensor count").c_str(), CheckpointError);
  }
  SUBCASE("fewer values than the shape holds") {
    write_bytes(path, with_header_and_crc(one_tensor_payload("x", {4}, {1.0f, 2.0f})));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": truncated in tensor values").c_str(), CheckpointError);
  }
  SUBCASE("a dimension larger than the file") {
    write_bytes(path, with_header_and_crc(one_tensor_payload("x", {1000000}, {1.0f})));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": tensor x has an impossible shape").c_str(),
                         CheckpointError);
  }
  SUBCASE("an empty tensor whose other dimensions multiply past 2^63 (its strides would overflow)") {
    // Found in review of the fuzzing work: a 0 kept the element count at 0, and the other sizes went unchecked.
    write_bytes(path, with_header_and_crc(one_tensor_payload("x", {0, 600, 600, 600, 600, 600, 600, 600}, {})));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": tensor x has an impossible shape").c_str(),
                         CheckpointError);
  }
  SUBCASE("a negative dimension") {
    write_bytes(path, with_header_and_crc(one_tensor_payload("x", {-1}, {1.0f})));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": tensor x has an impossible shape").c_str(),
                         CheckpointError);
  }
  SUBCASE("rank 9") {
    write_bytes(path, with_header_and_crc(one_tensor_payload("x", {1, 1, 1, 1, 1, 1, 1, 1, 1}, {1.0f})));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": tensor x has rank 9").c_str(), CheckpointError);
  }
  SUBCASE("bytes after the last tensor") {
    write_bytes(path, with_header_and_crc(one_tensor_payload("x", {1}, {1.0f}) + "!"));
    CHECK_THROWS_WITH_AS(nn::load_tensors(path), (path + ": unexpected bytes after the last tensor").c_str(),
                         CheckpointError);
  }
}

TEST_CASE("load_checkpoint restores a model's parameters into a model initialised differently") {
  TempDir dir;
  const std::string path = dir.file("mlp.kdck");
  auto source = mlp(4, 3, 2, 1);
  // Biases start at 0 in both models: give the source's non-zero ones so they must be restored too.
  source->named_parameters()[1].second.value().copy_(Tensor::from_vector({3}, {0.5f, -0.25f, 2.0f}));
  source->named_parameters()[3].second.value().copy_(Tensor::from_vector({2}, {-1.0f, 3.0f}));
  nn::save_checkpoint(path, *source, "epochs=3");

  auto target = mlp(4, 3, 2, 2);
  REQUIRE(snapshot(*target) != snapshot(*source));
  CHECK(nn::load_checkpoint(path, *target) == "epochs=3");
  CHECK(snapshot(*target) == snapshot(*source));

  // The same parameters give the same outputs.
  const autograd::Var x(Tensor::from_vector({2, 4}, {1, -2, 3, 0.5f, 0, 1, -1, 2}));
  CHECK((*target)(x).value().to_vector() == (*source)(x).value().to_vector());

  // The file holds the parameters under their dotted names, in the module's order.
  const nn::Checkpoint ck = nn::load_tensors(path);
  REQUIRE(ck.tensors.size() == 4);
  CHECK(ck.tensors[0].first == "0.weight");
  CHECK(ck.tensors[1].first == "0.bias");
  CHECK(ck.tensors[2].first == "2.weight");
  CHECK(ck.tensors[3].first == "2.bias");
}

TEST_CASE("module_tensors keeps a copy of the weights as they were, which loads like a checkpoint") {
  TempDir dir;
  nn::BatchNorm2d model(2);
  model.running_mean.copy_(Tensor::from_vector({2}, {0.5f, -2.0f}));
  const nn::NamedTensors kept = nn::module_tensors(model);
  REQUIRE(kept.size() == 4);
  CHECK(kept[2].first == "running_mean");
  // Training on changes the model, not the copy.
  model.running_mean.copy_(Tensor::from_vector({2}, {9.0f, 9.0f}));
  CHECK(kept[2].second.to_vector() == std::vector<float>{0.5f, -2.0f});
  const std::string path = dir.file("kept.kdck");
  nn::save_tensors(path, kept);
  nn::BatchNorm2d restored(2);
  nn::load_checkpoint(path, restored);
  CHECK(restored.running_mean.to_vector() == std::vector<float>{0.5f, -2.0f});
}

TEST_CASE("a checkpoint saves and restores buffers (BatchNorm's running statistics) with the parameters") {
  TempDir dir;
  const std::string path = dir.file("bn.kdck");
  nn::BatchNorm2d source(2), target(2);
  source.running_mean.copy_(Tensor::from_vector({2}, {0.5f, -2.0f}));
  source.running_var.copy_(Tensor::from_vector({2}, {3.0f, 0.25f}));
  nn::save_checkpoint(path, source);
  const nn::Checkpoint ck = nn::load_tensors(path);
  REQUIRE(ck.tensors.size() == 4);
  CHECK(ck.tensors[2].first == "running_mean");
  CHECK(ck.tensors[3].first == "running_var");
  nn::load_checkpoint(path, target);
  CHECK(target.running_mean.to_vector() == source.running_mean.to_vector());
  CHECK(target.running_var.to_vector() == source.running_var.to_vector());
  // A file without the buffers is refused by name, and the module is left as it was.
  const std::string parameters_only = dir.file("old.kdck");
  nn::save_tensors(parameters_only, {ck.tensors[0], ck.tensors[1]});
  nn::BatchNorm2d fresh(2);
  CHECK_THROWS_WITH_AS(nn::load_checkpoint(parameters_only, fresh),
                       (parameters_only + ": buffer running_mean [2] is missing").c_str(), nn::CheckpointError);
  CHECK(fresh.running_var.to_vector() == std::vector<float>{1.0f, 1.0f});
}

TEST_CASE("load_checkpoint into a model of another architecture names the parameter and changes nothing") {
  TempDir dir;
  const std::string path = dir.file("mlp.kdck");
  nn::save_checkpoint(path, *mlp(4, 3, 2, 1));
  SUBCASE("the first parameter has another shape") {
    auto target = mlp(5, 3, 2, 2);
    const auto before = snapshot(*target);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(path, *target),
                         (path + ": parameter 0.weight: expected [3, 5], found [3, 4]").c_str(), CheckpointError);
    CHECK(snapshot(*target) == before);
  }
  SUBCASE("a later parameter has another shape: the earlier ones are not half-loaded") {
    auto target = mlp(4, 3, 5, 2);
    const auto before = snapshot(*target);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(path, *target),
                         (path + ": parameter 2.weight: expected [5, 3], found [2, 3]").c_str(), CheckpointError);
    CHECK(snapshot(*target) == before);
  }
  SUBCASE("the model has a parameter the file lacks") {
    auto target = mlp(4, 3, 2, 2);
    tensor::Generator gen(3);
    target->emplace<nn::ReLU>();
    target->emplace<nn::Linear>(2, 2, gen);
    const auto before = snapshot(*target);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(path, *target), (path + ": parameter 4.weight [2, 2] is missing").c_str(),
                         CheckpointError);
    CHECK(snapshot(*target) == before);
  }
  SUBCASE("the file holds a parameter the model lacks") {
    tensor::Generator gen(3);
    nn::Sequential target;
    target.emplace<nn::Linear>(4, 3, gen);
    const auto before = snapshot(target);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(path, target),
                         (path + ": holds 2.weight [2, 3], which the module does not have").c_str(), CheckpointError);
    CHECK(snapshot(target) == before);
  }
}

TEST_CASE("load_checkpoint passes on the errors of a corrupt file") {
  TempDir dir;
  const std::string path = dir.file("mlp.kdck");
  auto model = mlp(4, 3, 2, 1);
  nn::save_checkpoint(path, *model);
  std::string bytes = read_bytes(path);
  bytes[bytes.size() / 2] ^= 0x10;
  write_bytes(path, bytes);
  const auto before = snapshot(*model);
  CHECK_THROWS_WITH_AS(nn::load_checkpoint(path, *model), (path + ": checksum mismatch (file corrupt)").c_str(),
                       CheckpointError);
  CHECK(snapshot(*model) == before);
}

}  // TEST_SUITE
