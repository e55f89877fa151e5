#include "nn/data.h"

#include "tensor/parallel.h"
#include "tensor/random.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

namespace nn {

namespace {

// No IDX file of this project comes near this; a file claiming more is broken or hostile.
constexpr uint64_t kMaxDecompressedBytes = uint64_t{1} << 30;

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw DataError(path + ": " + what); }

std::vector<uint8_t> read_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof chunk, file.get())) > 0) {
    bytes.insert(bytes.end(), chunk, chunk + got);
    if (bytes.size() > kMaxDecompressedBytes) fail(path, "larger than 1 GiB, not an IDX file of this project");
  }
  if (std::ferror(file.get())) fail(path, std::string("read error: ") + std::strerror(errno));
  return bytes;
}

// Inflates a gzip stream, never beyond kMaxDecompressedBytes.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& packed, const std::string& path) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) fail(path, "zlib could not start");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, &inflateEnd);
  zs.next_in = const_cast<Bytef*>(packed.data());
  zs.avail_in = static_cast<uInt>(packed.size());
  std::vector<uint8_t> out;
  uint8_t chunk[1 << 16];
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    status = inflate(&zs, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      if (status == Z_BUF_ERROR && zs.avail_in == 0) fail(path, "gzip data ends early (truncated file?)");
      fail(path, std::string("corrupt gzip data (zlib: ") + (zs.msg ? zs.msg : "error " + std::to_string(status)) + ")");
    }
    out.insert(out.end(), chunk, chunk + (sizeof chunk - zs.avail_out));
    if (out.size() > kMaxDecompressedBytes) fail(path, "decompresses to more than 1 GiB, not an IDX file of this project");
  }
  return out;
}

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex(uint32_t v) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}

// A dataset built by hand must hold as many image bytes as its labels and size promise.
void require_consistent(const Dataset& data, const char* op) {
  const auto expected = static_cast<uint64_t>(data.size()) * static_cast<uint64_t>(std::max<int64_t>(data.height, 0)) *
                        static_cast<uint64_t>(std::max<int64_t>(data.width, 0));
  if (data.height < 1 || data.width < 1 || data.images.size() != expected) {
    throw tensor::ShapeError(std::string(op) + ": dataset of " + std::to_string(data.size()) + " images of " +
                             std::to_string(data.height) + "x" + std::to_string(data.width) + " holds " +
                             std::to_string(data.images.size()) + " bytes");
  }
}

void require_example(const Dataset& data, int64_t i, const char* op) {
  if (i < 0 || i >= data.size()) {
    throw tensor::IndexError(std::string(op) + ": example " + std::to_string(i) + " outside a dataset of " +
                             std::to_string(data.size()));
  }
}

// Index i must point at a label, and the label must be a class (>= 0).
void require_labelled(const Labels& labels, int64_t i, const char* op) {
  if (i < 0 || i >= static_cast<int64_t>(labels.size())) {
    throw tensor::IndexError(std::string(op) + ": index " + std::to_string(i) + " outside " +
                             std::to_string(labels.size()) + " labels");
  }
  if (labels[static_cast<size_t>(i)] < 0) {
    throw tensor::ValueError(std::string(op) + ": negative label " + std::to_string(labels[static_cast<size_t>(i)]) +
                             " at index " + std::to_string(i));
  }
}

}  // namespace

IdxArray read_idx(const std::string& path) { return parse_idx(read_file(path), path); }

IdxArray parse_idx(std::vector<uint8_t> bytes, const std::string& path) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) bytes = gunzip(bytes, path);
  if (bytes.size() < 4) fail(path, "only " + std::to_string(bytes.size()) + " bytes, too short for an IDX header");
  const uint32_t magic = big_endian_u32(bytes.data());
  const uint32_t rank = magic & 0xff;
  if ((magic >> 16) != 0 || ((magic >> 8) & 0xff) != 0x08 || rank < 1 || rank > 4) {
    fail(path, "bad magic number " + hex(magic) + " (expected 0x0000080N: unsigned bytes, N = 1..4 dimensions)");
  }
  const uint64_t header = 4 + 4 * uint64_t{rank};
  if (bytes.size() < header) fail(path, "header of " + std::to_string(rank) + " dimensions is cut short");
  IdxArray array;
  // The product of the dimensions, saturating instead of overflowing: (2^32 - 1)^4 does not
  // fit in 64 bits. Nothing of that size is allocated; it is only compared with the bytes present.
  const uint64_t available = bytes.size() - header;
  uint64_t count = 1;
  bool overflow = false;
  for (uint32_t d = 0; d < rank; ++d) {
    const uint32_t size = big_endian_u32(bytes.data() + 4 + 4 * d);
    array.dims.push_back(size);
    if (size != 0 && count > UINT64_MAX / size) {
      overflow = true;
    } else {
      count *= size;
    }
  }
  if (count == 0) overflow = false;  // a zero dimension makes the product 0 whatever the others
  if (overflow || count != available) {
    fail(path, "header dimensions " + tensor::to_string(array.dims) + " promise " +
                   (overflow ? std::string("more than 2^64") : std::to_string(count)) + " values but the file holds " +
                   std::to_string(available) + " bytes of data" +
                   (overflow || count > available ? " (truncated file?)" : ""));
  }
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return array;
}

Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path, int64_t classes) {
  IdxArray images = read_idx(images_path);
  if (images.dims.size() != 3) {
    fail(images_path, "expected images [N, H, W], got " + std::to_string(images.dims.size()) + " dimensions");
  }
  IdxArray labels = read_idx(labels_path);
  if (labels.dims.size() != 1) {
    fail(labels_path, "expected labels [N], got " + std::to_string(labels.dims.size()) + " dimensions");
  }
  if (labels.dims[0] != images.dims[0]) {
    fail(labels_path, std::to_string(labels.dims[0]) + " labels but " + std::to_string(images.dims[0]) + " images");
  }
  Dataset d;
  d.height = images.dims[1];
  d.width = images.dims[2];
  d.classes = classes;
  d.images = std::move(images.data);
  d.labels.reserve(labels.data.size());
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= classes) {
      fail(labels_path, "label " + std::to_string(labels.data[i]) + " of example " + std::to_string(i) +
                            " outside 0.." + std::to_string(classes - 1));
    }
    d.labels.push_back(labels.data[i]);
  }
  return d;
}

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("KD_FASHION_MNIST_DIR");
  return env != nullptr && *env != '\0' ? env : "/usr/share/datasets/fashion-mnist";
}

FashionMnist load_fashion_mnist(const std::string& dir) {
  const auto file = [&dir](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  try {
    FashionMnist f;
    f.train = read_idx_dataset(file("train-images-idx3-ubyte.gz"), file("train-labels-idx1-ubyte.gz"), 10);
    f.test = read_idx_dataset(file("t10k-images-idx3-ubyte.gz"), file("t10k-labels-idx1-ubyte.gz"), 10);
    if (f.train.height != f.test.height || f.train.width != f.test.width) {
      throw DataError(dir + ": training images are " + std::to_string(f.train.height) + "x" +
                      std::to_string(f.train.width) + " but test images " + std::to_string(f.test.height) + "x" +
                      std::to_string(f.test.width));
    }
    return f;
  } catch (const DataError& e) {
    throw DataError(std::string(e.what()) +
                    " (Fashion-MNIST comes from the Debian package dataset-fashion-mnist; ./run installs it)");
  }
}

Split validation_split(const Labels& labels, double fraction, uint64_t seed) {
  if (!(fraction > 0.0 && fraction < 1.0)) {
    throw tensor::ValueError("validation_split: fraction must be in (0, 1), got " + tensor::to_string(fraction));
  }
  std::vector<int64_t> all(labels.size());
  for (size_t i = 0; i < all.size(); ++i) {
    all[i] = static_cast<int64_t>(i);
    require_labelled(labels, all[i], "validation_split");
  }
  Split s;
  s.validation = stratified_subset(labels, all, fraction, seed);
  std::vector<bool> held(labels.size(), false);
  for (int64_t i : s.validation) held[static_cast<size_t>(i)] = true;
  for (int64_t i : all) {
    if (!held[static_cast<size_t>(i)]) s.train.push_back(i);
  }
  return s;
}

std::vector<int64_t> stratified_subset(const Labels& labels, const std::vector<int64_t>& indices, double fraction,
                                       uint64_t seed) {
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    throw tensor::ValueError("stratified_subset: fraction must be in (0, 1], got " + tensor::to_string(fraction));
  }
  int64_t classes = 0;
  for (int64_t i : indices) {
    require_labelled(labels, i, "stratified_subset");
    classes = std::max(classes, labels[static_cast<size_t>(i)] + 1);
  }
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
  for (int64_t i : indices) by_class[static_cast<size_t>(labels[static_cast<size_t>(i)])].push_back(i);
  tensor::Generator gen(seed);
  std::vector<int64_t> chosen;
  for (auto& members : by_class) {
    if (members.empty()) continue;
    const auto size = static_cast<int64_t>(members.size());
    // At least one of each class; and, for a strict subset, at least one left out.
    auto keep = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(size)));
    if (fraction < 1.0 && size > 1) keep = std::min(keep, size - 1);
    const std::vector<int64_t> order = tensor::permutation(static_cast<int64_t>(members.size()), gen);
    for (int64_t k = 0; k < keep; ++k) chosen.push_back(members[static_cast<size_t>(order[static_cast<size_t>(k)])]);
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::vector<int64_t> without_classes(const Labels& labels, const std::vector<int64_t>& indices,
                                     const std::vector<int64_t>& classes) {
  std::vector<int64_t> kept;
  for (int64_t i : indices) {
    require_labelled(labels, i, "without_classes");
    if (std::find(classes.begin(), classes.end(), labels[static_cast<size_t>(i)]) == classes.end()) kept.push_back(i);
  }
  return kept;
}

Normalization pixel_statistics(const Dataset& data, const std::vector<int64_t>& indices) {
  require_consistent(data, "pixel_statistics");
  const int64_t pixels = data.height * data.width;
  double sum = 0.0, sum_sq = 0.0;
  for (int64_t i : indices) {
    require_example(data, i, "pixel_statistics");
    const uint8_t* image = data.images.data() + i * pixels;
    for (int64_t p = 0; p < pixels; ++p) {
      const double v = image[p] / 255.0;
      sum += v;
      sum_sq += v * v;
    }
  }
  const double n = static_cast<double>(indices.size()) * static_cast<double>(pixels);
  const double mean = n > 0 ? sum / n : 0.0;
  const double variance = n > 0 ? std::max(0.0, sum_sq / n - mean * mean) : 1.0;
  return {static_cast<float>(mean), static_cast<float>(std::sqrt(variance))};
}

Batch make_batch(const Dataset& data, const std::vector<int64_t>& indices, const Normalization& norm) {
  require_consistent(data, "make_batch");
  if (!(norm.std > 0.0f)) {
    throw tensor::ValueError("make_batch: normalisation std must be > 0, got " + tensor::to_string(norm.std) +
                             " (are all pixels equal?)");
  }
  const int64_t pixels = data.height * data.width;
  const auto count = static_cast<int64_t>(indices.size());
  for (const int64_t i : indices) require_example(data, i, "make_batch");  // all, before any is read
  Batch b{Tensor::empty({count, 1, data.height, data.width}), Labels(indices.size()), indices};
  const float scale = 1.0f / (255.0f * norm.std);
  const float shift = norm.mean / norm.std;
  const uint8_t* images = data.images.data();
  const int64_t* labels = data.labels.data();
  const int64_t* at = indices.data();
  float* out = b.images.data();
  int64_t* out_labels = b.labels.data();
  // A shuffled batch's images lie anywhere in the data set (47 MB for Fashion-MNIST's training
  // images), so the first read of each waits for memory: a batch of 128 took 72 us instead of
  // 22 in order. The reads of the image (and label) kPrefetchAhead places on start before
  // this one is converted (BM_MakeBatch).
  constexpr int64_t kPrefetchAhead = 8;
  constexpr int64_t kCacheLine = 64;
#pragma omp parallel for schedule(static) if (count * pixels >= tensor::kParallelMinElements)
  for (int64_t k = 0; k < count; ++k) {
    if (k + kPrefetchAhead < count) {
      const uint8_t* ahead = images + at[k + kPrefetchAhead] * pixels;
      for (int64_t offset = 0; offset < pixels; offset += kCacheLine) __builtin_prefetch(ahead + offset);
      __builtin_prefetch(labels + at[k + kPrefetchAhead]);
    }
    const uint8_t* __restrict image = images + at[k] * pixels;
    float* __restrict to = out + k * pixels;
    for (int64_t p = 0; p < pixels; ++p) to[p] = static_cast<float>(image[p]) * scale - shift;
    out_labels[k] = labels[at[k]];
  }
  return b;
}

void random_shift_(Tensor& images, int64_t max_shift, float fill, tensor::Generator& gen) {
  if (images.dim() != 4 || !images.is_contiguous()) {
    throw tensor::ShapeError("random_shift_: expects a contiguous [N, C, H, W] batch, got " +
                             tensor::to_string(images.shape()) + (images.is_contiguous() ? "" : " (strided)"));
  }
  if (max_shift < 0) throw tensor::ValueError("random_shift_: max_shift must be >= 0, got " + std::to_string(max_shift));
  const int64_t n = images.shape()[0], c = images.shape()[1], h = images.shape()[2], w = images.shape()[3];
  std::vector<float> moved(static_cast<size_t>(h * w));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t dy = gen.below(2 * max_shift + 1) - max_shift;
    const int64_t dx = gen.below(2 * max_shift + 1) - max_shift;
    for (int64_t ch = 0; ch < c; ++ch) {
      float* plane = images.data() + (i * c + ch) * h * w;
      for (int64_t r = 0; r < h; ++r) {
        for (int64_t col = 0; col < w; ++col) {
          const int64_t from_r = r - dy, from_c = col - dx;
          moved[static_cast<size_t>(r * w + col)] =
              (from_r >= 0 && from_r < h && from_c >= 0 && from_c < w) ? plane[from_r * w + from_c] : fill;
        }
      }
      std::copy(moved.begin(), moved.end(), plane);
    }
  }
}

void random_horizontal_flip_(Tensor& images, float p, tensor::Generator& gen) {
  if (images.dim() != 4 || !images.is_contiguous()) {
    throw tensor::ShapeError("random_horizontal_flip_: expects a contiguous [N, C, H, W] batch, got " +
                             tensor::to_string(images.shape()) + (images.is_contiguous() ? "" : " (strided)"));
  }
  if (!(p >= 0.0f && p <= 1.0f)) {
    throw tensor::ValueError("random_horizontal_flip_: p must be in [0, 1], got " + tensor::to_string(p));
  }
  const int64_t n = images.shape()[0], rows = images.shape()[1] * images.shape()[2], w = images.shape()[3];
  for (int64_t i = 0; i < n; ++i) {
    if (!(gen.uniform() < p)) continue;
    float* image = images.data() + i * rows * w;
    for (int64_t r = 0; r < rows; ++r) std::reverse(image + r * w, image + (r + 1) * w);
  }
}

Augmentation::Augmentation(Config config, uint64_t seed) : config_(config), gen_(seed) {
  if (config.max_shift < 0) {
    throw tensor::ValueError("Augmentation: max_shift must be >= 0, got " + std::to_string(config.max_shift));
  }
}

void Augmentation::operator()(Tensor& images) {
  if (config_.horizontal_flip) random_horizontal_flip_(images, 0.5f, gen_);
  if (config_.max_shift > 0) random_shift_(images, config_.max_shift, config_.fill, gen_);
}

std::string Augmentation::describe() const {
  const std::string shift = "shifts of up to " + std::to_string(config_.max_shift) + " pixels";
  if (config_.horizontal_flip && config_.max_shift > 0) return "random horizontal flips and " + shift;
  if (config_.horizontal_flip) return "random horizontal flips";
  if (config_.max_shift > 0) return "random " + shift;
  return "no augmentation";
}

DataLoader::DataLoader(const Dataset& data, std::vector<int64_t> indices, int64_t batch_size, bool shuffle,
                       uint64_t seed, Normalization norm, bool drop_last)
    : data_(&data),
      indices_(std::move(indices)),
      order_(indices_),
      batch_size_(batch_size),
      shuffle_(shuffle),
      seed_(seed),
      norm_(norm),
      drop_last_(drop_last) {
  if (!(norm.std > 0.0f)) {
    throw tensor::ValueError("DataLoader: normalisation std must be > 0, got " + tensor::to_string(norm.std) +
                             " (are all pixels equal?)");
  }
  if (batch_size < 1) throw tensor::ValueError("DataLoader: batch_size must be >= 1, got " + std::to_string(batch_size));
}

void DataLoader::start_epoch(int64_t epoch) {
  order_ = indices_;
  if (!shuffle_) return;
  // A generator of its own per epoch: epoch e's order depends on (seed, e) only.
  tensor::Generator gen(seed_ ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(epoch + 1)));
  const std::vector<int64_t> perm = tensor::permutation(static_cast<int64_t>(indices_.size()), gen);
  for (size_t k = 0; k < perm.size(); ++k) order_[k] = indices_[static_cast<size_t>(perm[k])];
}

int64_t DataLoader::num_batches() const {
  const auto n = static_cast<int64_t>(indices_.size());
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

int64_t DataLoader::num_examples() const {
  return drop_last_ ? num_batches() * batch_size_ : static_cast<int64_t>(indices_.size());
}

Batch DataLoader::batch(int64_t i) const {
  if (i < 0 || i >= num_batches()) {
    throw tensor::IndexError("DataLoader::batch: batch " + std::to_string(i) + " of " + std::to_string(num_batches()));
  }
  const int64_t begin = i * batch_size_;
  const int64_t end = std::min<int64_t>(begin + batch_size_, static_cast<int64_t>(order_.size()));
  return make_batch(*data_, std::vector<int64_t>(order_.begin() + begin, order_.begin() + end), norm_);
}

}  // namespace nn
