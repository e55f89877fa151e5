// Data: IDX files (raw and gzipped), Fashion-MNIST loading, splits and subsets, batches and the loader.
#include "nn/data.h"

#include "tensor/errors.h"

#include "tests/temp_dir.h"

#include <doctest/doctest.h>

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

using nn::DataError;
using nn::Dataset;
using nn::Labels;
using tensor::Tensor;

namespace {

using Bytes = std::vector<uint8_t>;

// Each test case's files live in a directory of their own.
struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("data") {}
};

// Sets (or unsets, with nullopt) an environment variable, and puts the old value back at the end.
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void put_big_endian(Bytes& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// The bytes of an IDX file: magic, each dimension (big-endian), then the values as given.
Bytes idx_file(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& values) {
  Bytes out;
  put_big_endian(out, magic);
  for (uint32_t d : dims) put_big_endian(out, d);
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

// An IDX file of unsigned bytes (magic 0x0000080N) with the right header for its values.
Bytes ubyte_idx(const std::vector<uint32_t>& dims, const Bytes& values) {
  return idx_file(0x00000800u + static_cast<uint32_t>(dims.size()), dims, values);
}

void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  const int written = bytes.empty() ? 0 : gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  const int closed = gzclose(file);
  REQUIRE(written == static_cast<int>(bytes.size()));
  REQUIRE(closed == Z_OK);
}

Bytes read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Values 0, 7, 14, ... (mod 256): distinct enough that a shifted or reordered copy is noticed.
Bytes ramp(size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((7 * i) % 256);
  return out;
}

// An image file [N, H, W] and a label file [N], gzipped, as Fashion-MNIST ships them.
void write_image_set(const std::string& images, const std::string& labels, uint32_t n, uint32_t h, uint32_t w,
                     const Bytes& label_values) {
  write_gzip(images, ubyte_idx({n, h, w}, ramp(size_t{n} * h * w)));
  write_gzip(labels, ubyte_idx({static_cast<uint32_t>(label_values.size())}, label_values));
}

// 34 labels interleaved: per 17 examples 5 of class 0, 10 of class 1, 2 of class 2.
// In all: 10 of class 0, 20 of class 1, 4 of class 2.
Labels three_class_labels() {
  Labels labels;
  for (int64_t i = 0; i < 34; ++i) labels.push_back(i % 17 < 5 ? 0 : (i % 17 < 15 ? 1 : 2));
  return labels;
}

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(i);
  return out;
}

std::map<int64_t, int64_t> count_by_class(const Labels& labels, const std::vector<int64_t>& indices) {
  std::map<int64_t, int64_t> counts;
  for (int64_t i : indices) ++counts[labels[static_cast<size_t>(i)]];
  return counts;
}

// A dataset of `n` images of 1 x 1 pixel whose single byte is the example's index, label = index % 3.
Dataset one_pixel_dataset(int64_t n) {
  Dataset d;
  d.height = 1;
  d.width = 1;
  d.classes = 3;
  for (int64_t i = 0; i < n; ++i) {
    d.images.push_back(static_cast<uint8_t>(i));
    d.labels.push_back(i % 3);
  }
  return d;
}

// Every example index served in the current epoch, batch after batch.
std::vector<int64_t> served(const nn::DataLoader& loader) {
  std::vector<int64_t> out;
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    const nn::Batch batch = loader.batch(b);
    out.insert(out.end(), batch.indices.begin(), batch.indices.end());
  }
  return out;
}

std::vector<int64_t> order_of_epoch(nn::DataLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  return served(loader);
}

}  // namespace

TEST_SUITE("nn/data") {

TEST_CASE("read_idx returns the dimensions and every byte of a raw file exactly") {
  TempDir dir;
  SUBCASE("images [2, 2, 3]") {
    const Bytes values = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
    write_raw(dir.file("images"), ubyte_idx({2, 2, 3}, values));
    const nn::IdxArray a = nn::read_idx(dir.file("images"));
    CHECK(a.dims == std::vector<int64_t>{2, 2, 3});
    CHECK(a.data == values);
  }
  SUBCASE("labels [5]") {
    const Bytes values = {9, 0, 3, 3, 7};
    write_raw(dir.file("labels"), ubyte_idx({5}, values));
    const nn::IdxArray a = nn::read_idx(dir.file("labels"));
    CHECK(a.dims == std::vector<int64_t>{5});
    CHECK(a.data == values);
  }
  SUBCASE("a zero after a non-zero dimension: [3, 0, 2] and no values") {
    write_raw(dir.file("empty"), ubyte_idx({3, 0, 2}, {}));
    const nn::IdxArray a = nn::read_idx(dir.file("empty"));
    CHECK(a.dims == std::vector<int64_t>{3, 0, 2});
    CHECK(a.data.empty());
  }
  SUBCASE("no images: [0, 28, 28] and no values") {
    write_raw(dir.file("empty"), ubyte_idx({0, 28, 28}, {}));
    const nn::IdxArray a = nn::read_idx(dir.file("empty"));
    CHECK(a.dims == std::vector<int64_t>{0, 28, 28});
    CHECK(a.data.empty());
  }
}

TEST_CASE("read_idx recognises a gzipped file by its contents, not by its name") {
  TempDir dir;
  const Bytes values = ramp(3 * 4 * 5);
  SUBCASE("gzipped contents under a plain name") {
    write_gzip(dir.file("images-idx3-ubyte"), ubyte_idx({3, 4, 5}, values));
    REQUIRE(read_raw(dir.file("images-idx3-ubyte"))[0] == 0x1f);  // really compressed
    const nn::IdxArray a = nn::read_idx(dir.file("images-idx3-ubyte"));
    CHECK(a.dims == std::vector<int64_t>{3, 4, 5});
    CHECK(a.data == values);
  }
  SUBCASE("raw contents under a .gz name") {
    write_raw(dir.file("images-idx3-ubyte.gz"), ubyte_idx({3, 4, 5}, values));
    const nn::IdxArray a = nn::read_idx(dir.file("images-idx3-ubyte.gz"));
    CHECK(a.dims == std::vector<int64_t>{3, 4, 5});
    CHECK(a.data == values);
  }
}

TEST_CASE("read_idx names the file and says why when it is missing or not an IDX file of bytes") {
  TempDir dir;
  const std::string path = dir.file("broken");
  SUBCASE("a missing file") {
    CHECK_THROWS_WITH_AS(nn::read_idx(path), (path + ": cannot open: No such file or directory").c_str(), DataError);
  }
  SUBCASE("an empty file") {
    write_raw(path, {});
    CHECK_THROWS_WITH_AS(nn::read_idx(path), (path + ": only 0 bytes, too short for an IDX header").c_str(),
                         DataError);
  }
  SUBCASE("a file shorter than the magic number") {
    write_raw(path, {0, 0, 8});
    CHECK_THROWS_WITH_AS(nn::read_idx(path), (path + ": only 3 bytes, too short for an IDX header").c_str(),
                         DataError);
  }
  SUBCASE("a bad magic number") {
    write_raw(path, idx_file(0x12345678u, {1}, {0}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path),
                         (path + ": bad magic number 0x12345678 (expected 0x0000080N: unsigned bytes, "
                                 "N = 1..4 dimensions)")
                             .c_str(),
                         DataError);
  }
  SUBCASE("an element type other than unsigned bytes (0x0d, float)") {
    write_raw(path, idx_file(0x00000d01u, {1}, {0, 0, 0, 0}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path),
                         (path + ": bad magic number 0x00000d01 (expected 0x0000080N: unsigned bytes, "
                                 "N = 1..4 dimensions)")
                             .c_str(),
                         DataError);
  }
  SUBCASE("zero dimensions") {
    write_raw(path, idx_file(0x00000800u, {}, {5}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path),
                         (path + ": bad magic number 0x00000800 (expected 0x0000080N: unsigned bytes, "
                                 "N = 1..4 dimensions)")
                             .c_str(),
                         DataError);
  }
  SUBCASE("five dimensions") {
    write_raw(path, idx_file(0x00000805u, {1, 1, 1, 1, 1}, {5}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path),
                         (path + ": bad magic number 0x00000805 (expected 0x0000080N: unsigned bytes, "
                                 "N = 1..4 dimensions)")
                             .c_str(),
                         DataError);
  }
  SUBCASE("a header cut off before its last dimension") {
    write_raw(path, idx_file(0x00000803u, {2, 2}, {}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path), (path + ": header of 3 dimensions is cut short").c_str(), DataError);
  }
}

TEST_CASE("read_idx refuses a header claiming 2^31 x 2^16 x 2^16 values in a tiny file without allocating them") {
  // 2^63 values would not fit in memory: the check must come before any allocation.
  TempDir dir;
  const std::string path = dir.file("huge");
  const Bytes header_and_four_values = ubyte_idx({0x80000000u, 0x10000u, 0x10000u}, {1, 2, 3, 4});
  SUBCASE("raw") { write_raw(path, header_and_four_values); }
  SUBCASE("gzipped") { write_gzip(path, header_and_four_values); }
  // 2^31 * 2^16 * 2^16 = 2^63 = 9223372036854775808.
  CHECK_THROWS_WITH_AS(nn::read_idx(path),
                       (path + ": header dimensions [2147483648, 65536, 65536] promise 9223372036854775808 values "
                               "but the file holds 4 bytes of data (truncated file?)").c_str(),
                       DataError);
}

TEST_CASE("read_idx refuses four dimensions whose product overflows 64 bits") {
  // (2^32 - 1)^4 > 2^64: a product computed without care would wrap around to a small number.
  TempDir dir;
  const std::string path = dir.file("overflow");
  write_raw(path, ubyte_idx({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {1}));
  CHECK_THROWS_WITH_AS(nn::read_idx(path),
                       (path + ": header dimensions [4294967295, 4294967295, 4294967295, 4294967295] promise more "
                               "than 2^64 values but the file holds 1 bytes of data (truncated file?)").c_str(),
                       DataError);
}

TEST_CASE("read_idx refuses data shorter or longer than the header promises") {
  TempDir dir;
  const std::string path = dir.file("images");
  SUBCASE("truncated data: 5 of 2 x 3 = 6 values") {
    write_raw(path, ubyte_idx({2, 3}, {1, 2, 3, 4, 5}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path),
                         (path + ": header dimensions [2, 3] promise 6 values but the file holds 5 bytes of data "
                                 "(truncated file?)").c_str(),
                         DataError);
  }
  SUBCASE("an extra trailing byte: 7 for 2 x 3 = 6 values") {
    write_raw(path, ubyte_idx({2, 3}, {1, 2, 3, 4, 5, 6, 7}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path),
                         (path + ": header dimensions [2, 3] promise 6 values but the file holds 7 bytes of data")
                             .c_str(),
                         DataError);
  }
  SUBCASE("truncated data inside a complete gzip stream") {
    write_gzip(path, ubyte_idx({2, 3}, {1, 2, 3, 4, 5}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path),
                         (path + ": header dimensions [2, 3] promise 6 values but the file holds 5 bytes of data "
                                 "(truncated file?)").c_str(),
                         DataError);
  }
  SUBCASE("truncated data: one byte of a [1000] label file") {
    write_raw(path, ubyte_idx({1000}, {7}));
    CHECK_THROWS_WITH_AS(nn::read_idx(path),
                         (path + ": header dimensions [1000] promise 1000 values but the file holds 1 bytes of data "
                                 "(truncated file?)").c_str(),
                         DataError);
  }
}

TEST_CASE("read_idx refuses a gzip file that is truncated or corrupt") {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  write_gzip(path, ubyte_idx({4, 16, 16}, ramp(4 * 16 * 16)));
  Bytes packed = read_raw(path);
  // gzopen writes a 10-byte header without a file name (flags byte 0), then the deflate stream,
  // then CRC-32 and length (4 bytes each).
  REQUIRE(packed.size() > 30);
  REQUIRE(packed[3] == 0);
  SUBCASE("cut to half its length") {
    packed.resize(packed.size() / 2);
    write_raw(path, packed);
    CHECK_THROWS_WITH_AS(nn::read_idx(path), (path + ": gzip data ends early (truncated file?)").c_str(), DataError);
  }
  SUBCASE("missing only the last byte of its trailer") {
    packed.pop_back();
    write_raw(path, packed);
    CHECK_THROWS_WITH_AS(nn::read_idx(path), (path + ": gzip data ends early (truncated file?)").c_str(), DataError);
  }
  SUBCASE("a deflate block of the reserved type 3") {
    // First deflate byte: bit 0 BFINAL, bits 1-2 BTYPE; 0x07 sets BTYPE = 11, which does not exist.
    packed[10] = 0x07;
    write_raw(path, packed);
    CHECK_THROWS_WITH_AS(nn::read_idx(path), (path + ": corrupt gzip data (zlib: invalid block type)").c_str(),
                         DataError);
  }
  SUBCASE("a wrong CRC-32 in the trailer") {
    packed[packed.size() - 8] ^= 0xff;
    write_raw(path, packed);
    CHECK_THROWS_WITH_AS(nn::read_idx(path), (path + ": corrupt gzip data (zlib: incorrect data check)").c_str(),
                         DataError);
  }
}

TEST_CASE("read_idx_dataset pairs an image file with a label file") {
  TempDir dir;
  const Bytes pixels = ramp(3 * 2 * 4);
  write_raw(dir.file("images"), ubyte_idx({3, 2, 4}, pixels));
  write_gzip(dir.file("labels.gz"), ubyte_idx({3}, {4, 0, 9}));
  const Dataset d = nn::read_idx_dataset(dir.file("images"), dir.file("labels.gz"), 10);
  CHECK(d.size() == 3);
  CHECK(d.height == 2);
  CHECK(d.width == 4);
  CHECK(d.classes == 10);
  CHECK(d.labels == Labels{4, 0, 9});
  CHECK(d.images == pixels);
}

TEST_CASE("read_idx_dataset refuses files that disagree or do not hold images and labels") {
  TempDir dir;
  const std::string images = dir.file("images");
  const std::string labels = dir.file("labels");
  SUBCASE("fewer labels than images") {
    write_raw(images, ubyte_idx({4, 2, 2}, ramp(16)));
    write_raw(labels, ubyte_idx({3}, {0, 1, 2}));
    CHECK_THROWS_WITH_AS(nn::read_idx_dataset(images, labels, 10), (labels + ": 3 labels but 4 images").c_str(),
                         DataError);
  }
  SUBCASE("more labels than images") {
    write_raw(images, ubyte_idx({2, 2, 2}, ramp(8)));
    write_raw(labels, ubyte_idx({3}, {0, 1, 2}));
    CHECK_THROWS_WITH_AS(nn::read_idx_dataset(images, labels, 10), (labels + ": 3 labels but 2 images").c_str(),
                         DataError);
  }
  SUBCASE("a label outside 0..C-1") {
    write_raw(images, ubyte_idx({4, 2, 2}, ramp(16)));
    write_raw(labels, ubyte_idx({4}, {0, 9, 11, 3}));
    CHECK_THROWS_WITH_AS(nn::read_idx_dataset(images, labels, 10),
                         (labels + ": label 11 of example 2 outside 0..9").c_str(), DataError);
  }
  SUBCASE("a label equal to C") {
    write_raw(images, ubyte_idx({2, 1, 1}, {0, 0}));
    write_raw(labels, ubyte_idx({2}, {2, 3}));
    CHECK_THROWS_WITH_AS(nn::read_idx_dataset(images, labels, 3),
                         (labels + ": label 3 of example 1 outside 0..2").c_str(), DataError);
  }
  SUBCASE("images of rank 2") {
    write_raw(images, ubyte_idx({4, 4}, ramp(16)));
    write_raw(labels, ubyte_idx({4}, {0, 1, 2, 3}));
    CHECK_THROWS_WITH_AS(nn::read_idx_dataset(images, labels, 10),
                         (images + ": expected images [N, H, W], got 2 dimensions").c_str(), DataError);
  }
  SUBCASE("labels of rank 2") {
    write_raw(images, ubyte_idx({4, 2, 2}, ramp(16)));
    write_raw(labels, ubyte_idx({4, 1}, {0, 1, 2, 3}));
    CHECK_THROWS_WITH_AS(nn::read_idx_dataset(images, labels, 10),
                         (labels + ": expected labels [N], got 2 dimensions").c_str(), DataError);
  }
  SUBCASE("a missing label file") {
    write_raw(images, ubyte_idx({4, 2, 2}, ramp(16)));
    CHECK_THROWS_WITH_AS(nn::read_idx_dataset(images, labels, 10),
                         (labels + ": cannot open: No such file or directory").c_str(), DataError);
  }
}

TEST_CASE("load_fashion_mnist reads the four gzipped files of a directory") {
  TempDir dir;
  write_image_set(dir.file("train-images-idx3-ubyte.gz"), dir.file("train-labels-idx1-ubyte.gz"), 3, 2, 3, {9, 0, 5});
  write_image_set(dir.file("t10k-images-idx3-ubyte.gz"), dir.file("t10k-labels-idx1-ubyte.gz"), 2, 2, 3, {1, 8});
  const nn::FashionMnist f = nn::load_fashion_mnist(dir.str());
  CHECK(f.train.size() == 3);
  CHECK(f.train.labels == Labels{9, 0, 5});
  CHECK(f.train.images == ramp(18));
  CHECK(f.test.size() == 2);
  CHECK(f.test.labels == Labels{1, 8});
  CHECK(f.test.images == ramp(12));
  for (const Dataset* d : {&f.train, &f.test}) {
    CHECK(d->height == 2);
    CHECK(d->width == 3);
    CHECK(d->classes == 10);
  }
}

TEST_CASE("load_fashion_mnist points to the Debian package when its files are missing or broken") {
  TempDir dir;
  const std::string package = " (Fashion-MNIST comes from the Debian package dataset-fashion-mnist; ./run installs it)";
  SUBCASE("a directory that does not exist") {
    const std::string missing = dir.file("no-such-dir");
    CHECK_THROWS_WITH_AS(
        nn::load_fashion_mnist(missing),
        (missing + "/train-images-idx3-ubyte.gz: cannot open: No such file or directory" + package).c_str(),
        DataError);
  }
  SUBCASE("test files missing beside good training files") {
    write_image_set(dir.file("train-images-idx3-ubyte.gz"), dir.file("train-labels-idx1-ubyte.gz"), 1, 2, 2, {0});
    CHECK_THROWS_WITH_AS(
        nn::load_fashion_mnist(dir.str()),
        (dir.file("t10k-images-idx3-ubyte.gz") + ": cannot open: No such file or directory" + package).c_str(),
        DataError);
  }
  SUBCASE("a label 10 among ten classes") {
    write_image_set(dir.file("train-images-idx3-ubyte.gz"), dir.file("train-labels-idx1-ubyte.gz"), 2, 2, 2, {3, 10});
    write_image_set(dir.file("t10k-images-idx3-ubyte.gz"), dir.file("t10k-labels-idx1-ubyte.gz"), 1, 2, 2, {0});
    CHECK_THROWS_WITH_AS(
        nn::load_fashion_mnist(dir.str()),
        (dir.file("train-labels-idx1-ubyte.gz") + ": label 10 of example 1 outside 0..9" + package).c_str(),
        DataError);
  }
  SUBCASE("test images of another size than the training images") {
    write_image_set(dir.file("train-images-idx3-ubyte.gz"), dir.file("train-labels-idx1-ubyte.gz"), 1, 2, 3, {0});
    write_image_set(dir.file("t10k-images-idx3-ubyte.gz"), dir.file("t10k-labels-idx1-ubyte.gz"), 1, 3, 2, {0});
    CHECK_THROWS_WITH_AS(nn::load_fashion_mnist(dir.str()),
                         (dir.str() + ": training images are 2x3 but test images 3x2" + package).c_str(), DataError);
  }
}

TEST_CASE("default_fashion_mnist_dir honours KD_FASHION_MNIST_DIR and falls back to the Debian path") {
  SUBCASE("set") {
    EnvGuard env("KD_FASHION_MNIST_DIR", std::string("/somewhere/else"));
    CHECK(nn::default_fashion_mnist_dir() == "/somewhere/else");
  }
  SUBCASE("unset") {
    EnvGuard env("KD_FASHION_MNIST_DIR", std::nullopt);
    CHECK(nn::default_fashion_mnist_dir() == "/usr/share/datasets/fashion-mnist");
  }
  SUBCASE("set but empty") {
    EnvGuard env("KD_FASHION_MNIST_DIR", std::string());
    CHECK(nn::default_fashion_mnist_dir() == "/usr/share/datasets/fashion-mnist");
  }
}

TEST_CASE("kFashionMnistClasses names the ten classes in label order") {
  REQUIRE(nn::kFashionMnistClasses.size() == 10);
  CHECK(nn::kFashionMnistClasses.front() == "T-shirt/top");
  CHECK(nn::kFashionMnistClasses[1] == "Trouser");
  CHECK(nn::kFashionMnistClasses[7] == "Sneaker");
  CHECK(nn::kFashionMnistClasses.back() == "Ankle boot");
}

TEST_CASE("validation_split holds out a stratified fraction of each class, disjoint from the rest") {
  const Labels labels = three_class_labels();
  const nn::Split s = nn::validation_split(labels, 0.25, 42);
  SUBCASE("the two parts are sorted, disjoint, and together everything") {
    CHECK(std::is_sorted(s.train.begin(), s.train.end()));
    CHECK(std::is_sorted(s.validation.begin(), s.validation.end()));
    std::vector<int64_t> both;
    std::set_intersection(s.train.begin(), s.train.end(), s.validation.begin(), s.validation.end(),
                          std::back_inserter(both));
    CHECK(both.empty());
    both.clear();
    std::set_union(s.train.begin(), s.train.end(), s.validation.begin(), s.validation.end(), std::back_inserter(both));
    CHECK(both == range(34));
  }
  SUBCASE("each class gives round(fraction x its size)") {
    // Classes of 10, 20 and 4 at 0.25: round(2.5) = 3 (half away from zero), 5, 1.
    const std::map<int64_t, int64_t> held = count_by_class(labels, s.validation);
    CHECK(held == std::map<int64_t, int64_t>{{0, 3}, {1, 5}, {2, 1}});
    const std::map<int64_t, int64_t> kept = count_by_class(labels, s.train);
    CHECK(kept == std::map<int64_t, int64_t>{{0, 7}, {1, 15}, {2, 3}});
  }
  SUBCASE("the same seed gives the same split, another seed another") {
    const nn::Split again = nn::validation_split(labels, 0.25, 42);
    CHECK(again.validation == s.validation);
    CHECK(again.train == s.train);
    const nn::Split other = nn::validation_split(labels, 0.25, 43);
    CHECK(other.validation != s.validation);
    CHECK(count_by_class(labels, other.validation) == count_by_class(labels, s.validation));
  }
}

TEST_CASE("validation_split refuses a fraction outside (0, 1)") {
  const Labels labels = three_class_labels();
  CHECK_THROWS_WITH_AS(nn::validation_split(labels, 0.0, 1), "validation_split: fraction must be in (0, 1), got 0",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::validation_split(labels, 1.0, 1), "validation_split: fraction must be in (0, 1), got 1",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::validation_split(labels, -0.5, 1), "validation_split: fraction must be in (0, 1), got -0.5",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::validation_split(labels, std::numeric_limits<double>::quiet_NaN(), 1),
                       "validation_split: fraction must be in (0, 1), got nan", tensor::ValueError);
}

TEST_CASE("stratified_subset keeps a seeded fraction of each class of the pool, at least one each, sorted") {
  const Labels labels = three_class_labels();
  SUBCASE("fraction 1 keeps the whole pool, sorted") {
    const std::vector<int64_t> pool = {33, 2, 17, 5, 16, 30, 0};
    std::vector<int64_t> sorted_pool = pool;
    std::sort(sorted_pool.begin(), sorted_pool.end());
    CHECK(nn::stratified_subset(labels, pool, 1.0, 7) == sorted_pool);
  }
  SUBCASE("per-class counts are round(fraction x class size)") {
    // Classes of 10, 20 and 4 at 0.5: 5, 10 and 2.
    const std::vector<int64_t> chosen = nn::stratified_subset(labels, range(34), 0.5, 7);
    CHECK(std::is_sorted(chosen.begin(), chosen.end()));
    CHECK(std::adjacent_find(chosen.begin(), chosen.end()) == chosen.end());
    CHECK(count_by_class(labels, chosen) == std::map<int64_t, int64_t>{{0, 5}, {1, 10}, {2, 2}});
  }
  SUBCASE("a tiny fraction still keeps one of each class") {
    // round(0.01 x 10) = round(0.01 x 20) = round(0.01 x 4) = 0, raised to 1.
    const std::vector<int64_t> chosen = nn::stratified_subset(labels, range(34), 0.01, 7);
    CHECK(count_by_class(labels, chosen) == std::map<int64_t, int64_t>{{0, 1}, {1, 1}, {2, 1}});
  }
  SUBCASE("only indices of the pool are chosen") {
    std::vector<int64_t> even;
    for (int64_t i = 0; i < 34; i += 2) even.push_back(i);
    const std::vector<int64_t> chosen = nn::stratified_subset(labels, even, 0.5, 7);
    for (int64_t i : chosen) CHECK(i % 2 == 0);
    // The even indices hold 5 of class 0, 10 of class 1 and 2 of class 2: round(2.5) = 3, 5, 1.
    CHECK(count_by_class(labels, chosen) == std::map<int64_t, int64_t>{{0, 3}, {1, 5}, {2, 1}});
  }
  SUBCASE("the same seed chooses the same examples, another seed others") {
    CHECK(nn::stratified_subset(labels, range(34), 0.5, 7) == nn::stratified_subset(labels, range(34), 0.5, 7));
    CHECK(nn::stratified_subset(labels, range(34), 0.5, 7) != nn::stratified_subset(labels, range(34), 0.5, 8));
  }
}

TEST_CASE("stratified_subset refuses a fraction outside (0, 1]") {
  const Labels labels = three_class_labels();
  CHECK_THROWS_WITH_AS(nn::stratified_subset(labels, range(34), 0.0, 1),
                       "stratified_subset: fraction must be in (0, 1], got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::stratified_subset(labels, range(34), 1.5, 1),
                       "stratified_subset: fraction must be in (0, 1], got 1.5", tensor::ValueError);
}

TEST_CASE("without_classes removes exactly the examples of the given classes, keeping the order") {
  const Labels labels = {0, 1, 2, 1, 0, 2, 2, 1};
  const std::vector<int64_t> pool = {7, 0, 3, 5, 1, 6};
  CHECK(nn::without_classes(labels, pool, {1}) == std::vector<int64_t>{0, 5, 6});
  CHECK(nn::without_classes(labels, pool, {0, 2}) == std::vector<int64_t>{7, 3, 1});
  CHECK(nn::without_classes(labels, pool, {}) == pool);
  CHECK(nn::without_classes(labels, pool, {0, 1, 2}).empty());
  CHECK(nn::without_classes(labels, pool, {9}) == pool);
}

TEST_CASE("pixel_statistics gives the mean and standard deviation of the chosen images on the [0, 1] scale") {
  Dataset d;
  d.height = 1;
  d.width = 2;
  d.classes = 2;
  d.images = {0, 255, 255, 255, 51, 102};
  d.labels = {0, 1, 0};
  SUBCASE("images 0 and 1") {
    // Pixels 0, 1, 1, 1: mean 3/4, variance 3/4 - (3/4)^2 = 3/16, std sqrt(3)/4 = 0.4330127.
    const nn::Normalization n = pixel_statistics(d, {0, 1});
    CHECK(n.mean == doctest::Approx(0.75).epsilon(1e-6));
    CHECK(n.std == doctest::Approx(0.4330127).epsilon(1e-6));
  }
  SUBCASE("image 2 alone") {
    // Pixels 51/255 = 0.2 and 102/255 = 0.4: mean 0.3, std 0.1.
    const nn::Normalization n = pixel_statistics(d, {2});
    CHECK(n.mean == doctest::Approx(0.3).epsilon(1e-5));
    CHECK(n.std == doctest::Approx(0.1).epsilon(1e-4));
  }
  SUBCASE("no images: the identity normalisation") {
    const nn::Normalization n = pixel_statistics(d, {});
    CHECK(n.mean == 0.0f);
    CHECK(n.std == 1.0f);
  }
}

TEST_CASE("make_batch normalises the chosen images into [B, 1, H, W] and carries labels and indices") {
  Dataset d;
  d.height = 2;
  d.width = 2;
  d.classes = 3;
  d.images = {0, 255, 51, 102,     // example 0
              10, 20, 30, 40,      // example 1
              255, 0, 102, 51};    // example 2
  d.labels = {2, 0, 1};
  SUBCASE("with a mean and a standard deviation") {
    const nn::Batch b = nn::make_batch(d, {2, 0}, {0.5f, 0.25f});
    CHECK(b.images.shape() == tensor::Shape{2, 1, 2, 2});
    // (b / 255 - 0.5) / 0.25: 255 -> 2, 0 -> -2, 102 -> (0.4 - 0.5) / 0.25 = -0.4, 51 -> (0.2 - 0.5) / 0.25 = -1.2.
    const std::vector<float> expected = {2.0f, -2.0f, -0.4f, -1.2f, -2.0f, 2.0f, -1.2f, -0.4f};
    const std::vector<float> got = b.images.to_vector();
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-5));
    CHECK(b.labels == Labels{1, 2});
    CHECK(b.indices == std::vector<int64_t>{2, 0});
  }
  SUBCASE("with the identity normalisation: bytes / 255") {
    const nn::Batch b = nn::make_batch(d, {1}, {});
    CHECK(b.images.shape() == tensor::Shape{1, 1, 2, 2});
    CHECK(b.images.at({0, 0, 0, 0}) == doctest::Approx(10.0 / 255.0));
    CHECK(b.images.at({0, 0, 1, 1}) == doctest::Approx(40.0 / 255.0));
    CHECK(b.labels == Labels{0});
  }
  SUBCASE("an example outside the dataset") {
    CHECK_THROWS_WITH_AS(nn::make_batch(d, {0, 3}, {}), "make_batch: example 3 outside a dataset of 3",
                         tensor::IndexError);
    CHECK_THROWS_WITH_AS(nn::make_batch(d, {-1}, {}), "make_batch: example -1 outside a dataset of 3",
                         tensor::IndexError);
  }
}

TEST_CASE("a batch large enough to be split across threads and prefetched holds, image by image, a batch of one") {
  Dataset d;
  d.height = 28;
  d.width = 28;
  d.classes = 10;
  constexpr int64_t kExamples = 200, kPixels = 28 * 28;
  for (int64_t i = 0; i < kExamples; ++i) {
    for (int64_t p = 0; p < kPixels; ++p) d.images.push_back(static_cast<uint8_t>((i * 31 + p * 7) % 256));
    d.labels.push_back(i % 10);
  }
  std::vector<int64_t> shuffled;  // 150 distinct examples out of order: 73 and 200 are coprime
  for (int64_t k = 0; k < 150; ++k) shuffled.push_back(k * 73 % kExamples);
  const nn::Normalization norm{0.3f, 0.35f};
  const nn::Batch b = nn::make_batch(d, shuffled, norm);
  REQUIRE(b.images.shape() == tensor::Shape{150, 1, 28, 28});
  for (size_t k = 0; k < shuffled.size(); ++k) {
    const nn::Batch one = nn::make_batch(d, {shuffled[k]}, norm);
    const std::vector<float> alone = one.images.to_vector();
    const float* in_batch = b.images.data() + static_cast<int64_t>(k) * kPixels;
    CHECK(std::equal(alone.begin(), alone.end(), in_batch));
    CHECK(b.labels[k] == shuffled[k] % 10);
  }
}

TEST_CASE("DataLoader counts its batches with and without drop_last") {
  const Dataset d = one_pixel_dataset(10);
  SUBCASE("10 examples in batches of 4: 3 batches keeping the short one, 2 dropping it") {
    const nn::DataLoader keep(d, range(10), 4, false, 1);
    CHECK(keep.num_batches() == 3);
    CHECK(keep.num_examples() == 10);
    CHECK(keep.batch(2).indices == std::vector<int64_t>{8, 9});
    const nn::DataLoader drop(d, range(10), 4, false, 1, {}, true);
    CHECK(drop.num_batches() == 2);
    CHECK(drop.num_examples() == 8);
  }
  SUBCASE("8 examples in batches of 4: 2 batches either way") {
    const nn::DataLoader keep(d, range(8), 4, false, 1);
    const nn::DataLoader drop(d, range(8), 4, false, 1, {}, true);
    CHECK(keep.num_batches() == 2);
    CHECK(drop.num_batches() == 2);
    CHECK(drop.num_examples() == 8);
  }
  SUBCASE("3 examples in batches of 4: one short batch, or none") {
    const nn::DataLoader keep(d, range(3), 4, false, 1);
    const nn::DataLoader drop(d, range(3), 4, false, 1, {}, true);
    CHECK(keep.num_batches() == 1);
    CHECK(drop.num_batches() == 0);
    CHECK(drop.num_examples() == 0);
  }
}

TEST_CASE("DataLoader serves every example exactly once per epoch") {
  const Dataset d = one_pixel_dataset(10);
  nn::DataLoader loader(d, range(10), 4, true, 5);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    loader.start_epoch(epoch);
    std::vector<int64_t> all;
    for (int64_t b = 0; b < loader.num_batches(); ++b) {
      const nn::Batch batch = loader.batch(b);
      CHECK(batch.images.shape() == tensor::Shape{b < 2 ? 4 : 2, 1, 1, 1});
      // Each image's one byte is its index, and each label is its index mod 3.
      for (size_t k = 0; k < batch.indices.size(); ++k) {
        const int64_t i = batch.indices[k];
        CHECK(batch.images.at({static_cast<int64_t>(k), 0, 0, 0}) == doctest::Approx(static_cast<double>(i) / 255.0));
        CHECK(batch.labels[k] == i % 3);
      }
      all.insert(all.end(), batch.indices.begin(), batch.indices.end());
    }
    std::sort(all.begin(), all.end());
    CHECK(all == range(10));
  }
}

TEST_CASE("DataLoader with drop_last serves distinct examples, a full batch's worth each time") {
  const Dataset d = one_pixel_dataset(10);
  nn::DataLoader loader(d, range(10), 4, true, 5, {}, true);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> all = order_of_epoch(loader, epoch);
    CHECK(all.size() == 8);
    std::sort(all.begin(), all.end());
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
    CHECK(all.back() <= 9);
  }
}

TEST_CASE("DataLoader reshuffles each epoch, the order fixed by (seed, epoch)") {
  const Dataset d = one_pixel_dataset(20);
  nn::DataLoader loader(d, range(20), 6, true, 11);
  const std::vector<int64_t> epoch0 = order_of_epoch(loader, 0);
  const std::vector<int64_t> epoch1 = order_of_epoch(loader, 1);
  CHECK(epoch0 != range(20));
  CHECK(epoch0 != epoch1);
  SUBCASE("going back to an epoch repeats its order") { CHECK(order_of_epoch(loader, 0) == epoch0); }
  SUBCASE("another loader with the same seed gives the same orders") {
    nn::DataLoader twin(d, range(20), 6, true, 11);
    CHECK(order_of_epoch(twin, 1) == epoch1);
    CHECK(order_of_epoch(twin, 0) == epoch0);
  }
  SUBCASE("another seed gives another order") {
    nn::DataLoader other(d, range(20), 6, true, 12);
    CHECK(order_of_epoch(other, 0) != epoch0);
  }
}

TEST_CASE("DataLoader without shuffle serves the examples in the order given, every epoch") {
  const Dataset d = one_pixel_dataset(10);
  const std::vector<int64_t> pool = {7, 3, 9, 0, 5};
  nn::DataLoader loader(d, pool, 2, false, 11);
  CHECK(served(loader) == pool);  // before any start_epoch, too
  CHECK(order_of_epoch(loader, 0) == pool);
  CHECK(order_of_epoch(loader, 4) == pool);
}

TEST_CASE("DataLoader refuses a batch index out of range and a batch size below 1") {
  const Dataset d = one_pixel_dataset(10);
  const nn::DataLoader loader(d, range(10), 4, false, 1);
  CHECK_THROWS_WITH_AS(loader.batch(3), "DataLoader::batch: batch 3 of 3", tensor::IndexError);
  CHECK_THROWS_WITH_AS(loader.batch(-1), "DataLoader::batch: batch -1 of 3", tensor::IndexError);
  CHECK_THROWS_WITH_AS(nn::DataLoader(d, range(10), 0, false, 1), "DataLoader: batch_size must be >= 1, got 0",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::DataLoader(d, range(10), -2, true, 1), "DataLoader: batch_size must be >= 1, got -2",
                       tensor::ValueError);
}

TEST_CASE("batches refuse a normalisation that would divide by zero, and subsets refuse unlabelled indices") {
  nn::Dataset flat;
  flat.height = 1;
  flat.width = 2;
  flat.classes = 2;
  flat.images = {7, 7, 7, 7};
  flat.labels = {0, 1};
  const nn::Normalization norm = nn::pixel_statistics(flat, {0, 1});
  CHECK(norm.std == 0.0f);  // every pixel is 7
  CHECK_THROWS_WITH_AS(nn::make_batch(flat, {0}, norm),
                       "make_batch: normalisation std must be > 0, got 0 (are all pixels equal?)", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::DataLoader(flat, {0, 1}, 1, false, 1, norm),
                       "DataLoader: normalisation std must be > 0, got 0 (are all pixels equal?)", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::stratified_subset(flat.labels, {0, 5}, 0.5, 1),
                       "stratified_subset: index 5 outside 2 labels", tensor::IndexError);
  CHECK_THROWS_WITH_AS(nn::without_classes({0, -1}, {0, 1}, {0}), "without_classes: negative label -1 at index 1",
                       tensor::ValueError);
}

TEST_CASE("pixel statistics refuse indices outside the data and datasets whose bytes do not add up") {
  nn::Dataset d;
  d.height = 1;
  d.width = 2;
  d.classes = 2;
  d.images = {0, 255};
  d.labels = {1};
  CHECK_THROWS_WITH_AS(nn::pixel_statistics(d, {3}), "pixel_statistics: example 3 outside a dataset of 1",
                       tensor::IndexError);
  d.labels = {1, 0};  // two labels, one image
  CHECK_THROWS_WITH_AS(nn::pixel_statistics(d, {0}), "pixel_statistics: dataset of 2 images of 1x2 holds 2 bytes",
                       tensor::ShapeError);
}

TEST_CASE("validation_split keeps at least one example of each class for training") {
  // Classes of sizes 1, 2 and 3 with fraction 0.9: rounding would send whole classes to validation.
  const nn::Labels labels = {0, 1, 1, 2, 2, 2};
  const nn::Split s = nn::validation_split(labels, 0.9, 1);
  std::vector<int64_t> train_per_class(3, 0), validation_per_class(3, 0);
  for (int64_t i : s.train) ++train_per_class[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  for (int64_t i : s.validation) ++validation_per_class[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  CHECK(train_per_class == std::vector<int64_t>{0, 1, 1});  // a single example can only be in one part
  CHECK(validation_per_class == std::vector<int64_t>{1, 1, 2});
  CHECK_THROWS_WITH_AS(nn::validation_split({0, -1}, 0.5, 1), "validation_split: negative label -1 at index 1",
                       tensor::ValueError);
}

TEST_CASE("random_shift_ moves each image by at most max_shift pixels and fills the border") {
  // A single bright pixel in the middle of a 7x7 image: after the shift it is somewhere in
  // the 5x5 square around the centre, and every other pixel holds the fill value.
  tensor::Generator gen(3);
  for (int trial = 0; trial < 20; ++trial) {
    Tensor x = Tensor::full({1, 1, 7, 7}, -1.0f);
    x.set({0, 0, 3, 3}, 5.0f);
    nn::random_shift_(x, 2, -1.0f, gen);
    int bright = 0;
    for (int64_t r = 0; r < 7; ++r) {
      for (int64_t c = 0; c < 7; ++c) {
        if (x.at({0, 0, r, c}) == 5.0f) {
          ++bright;
          CHECK(std::abs(r - 3) <= 2);
          CHECK(std::abs(c - 3) <= 2);
        } else {
          CHECK(x.at({0, 0, r, c}) == -1.0f);
        }
      }
    }
    CHECK(bright == 1);
  }
  Tensor flat = Tensor::zeros({4, 4});
  CHECK_THROWS_WITH_AS(nn::random_shift_(flat, 1, 0.0f, gen), "random_shift_: expects a contiguous [N, C, H, W] batch, got [4, 4]",
                       tensor::ShapeError);
  Tensor images = Tensor::zeros({1, 1, 2, 2});
  CHECK_THROWS_WITH_AS(nn::random_shift_(images, -1, 0.0f, gen), "random_shift_: max_shift must be >= 0, got -1",
                       tensor::ValueError);
}

TEST_CASE("random_horizontal_flip_ mirrors about half the images left to right and leaves the rest") {
  // Each image's rows are 0, 1, 2: mirrored they read 2, 1, 0.
  const int64_t n = 400;
  Tensor x = Tensor::empty({n, 1, 2, 3});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t c = 0; c < 3; ++c) x.set({i, 0, r, c}, static_cast<float>(c));
  tensor::Generator gen(4);
  nn::random_horizontal_flip_(x, 0.5f, gen);
  int64_t flipped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool mirrored = x.at({i, 0, 0, 0}) == 2.0f;
    flipped += mirrored;
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t c = 0; c < 3; ++c) CHECK(x.at({i, 0, r, c}) == static_cast<float>(mirrored ? 2 - c : c));
  }
  // Binomial(400, 1/2): mean 200, std 10; 150..250 is five std either way.
  CHECK(flipped > 150);
  CHECK(flipped < 250);
  Tensor none = x.clone();
  nn::random_horizontal_flip_(none, 0.0f, gen);
  CHECK(none.to_vector() == x.to_vector());
  CHECK_THROWS_WITH_AS(nn::random_horizontal_flip_(none, 1.5f, gen), "random_horizontal_flip_: p must be in [0, 1], got 1.5",
                       tensor::ValueError);
  Tensor flat = Tensor::zeros({4, 4});
  CHECK_THROWS_WITH_AS(nn::random_horizontal_flip_(flat, 0.5f, gen),
                       "random_horizontal_flip_: expects a contiguous [N, C, H, W] batch, got [4, 4]", tensor::ShapeError);
}

TEST_CASE("an Augmentation with one seed augments the same batch the same way, and another seed differently") {
  tensor::Generator gen(5);
  const Tensor images = tensor::uniform({16, 1, 8, 8}, -1, 1, gen);
  const nn::Augmentation::Config config{.horizontal_flip = true, .max_shift = 2, .fill = -1.0f};
  Tensor a = images.clone(), b = images.clone(), c = images.clone();
  nn::Augmentation first(config, 7), again(config, 7), other(config, 8);
  first(a);
  again(b);
  other(c);
  CHECK(a.to_vector() == b.to_vector());
  CHECK(a.to_vector() != c.to_vector());
  CHECK(a.to_vector() != images.to_vector());
  CHECK(first.describe() == "random horizontal flips and shifts of up to 2 pixels");
  nn::Augmentation off({}, 7);
  CHECK_FALSE(off.enabled());
  Tensor d = images.clone();
  off(d);
  CHECK(d.to_vector() == images.to_vector());
  CHECK(off.describe() == "no augmentation");
  CHECK_THROWS_WITH_AS(nn::Augmentation({.max_shift = -1}, 1), "Augmentation: max_shift must be >= 0, got -1",
                       tensor::ValueError);
}

}  // TEST_SUITE
