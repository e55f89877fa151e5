#include "tensor/tensor.h"

#include "tensor/errors.h"
#include "tensor/strided.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <numeric>
#include <string>
#include <unordered_map>

namespace tensor {

namespace {

// Blocks below this size come from the system allocator, which is fast for them.
constexpr std::size_t kCacheMinBytes = std::size_t{64} << 10;

void* allocate(std::size_t bytes) { return ::operator new(bytes, std::align_val_t{Storage::kAlignment}); }
void deallocate(void* p) { ::operator delete(p, std::align_val_t{Storage::kAlignment}); }

// Freed large blocks by size, for reuse. Thread-safe; never destroyed (tensors in static
// objects may be freed after it would have been).
class BlockCache {
 public:
  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache;
    return *cache;
  }
  // A kept block of exactly `bytes`, or nullptr.
  void* take(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = blocks_.find(bytes);
    if (it == blocks_.end()) return nullptr;
    void* p = it->second;
    blocks_.erase(it);
    cached_ -= bytes;
    return p;
  }
  // Keeps the block. When the budget would overflow, the kept blocks are of sizes no longer
  // asked for (the training loop would have taken them back): they are freed to make room.
  void give(void* p, std::size_t bytes) {
    if (bytes > kStorageCacheBytes) {
      deallocate(p);
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + bytes > kStorageCacheBytes) {
      for (auto& [size, block] : blocks_) deallocate(block);
      blocks_.clear();
      cached_ = 0;
    }
    blocks_.emplace(bytes, p);
    cached_ += bytes;
  }
  std::size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [bytes, p] : blocks_) deallocate(p);
    blocks_.clear();
    cached_ = 0;
  }

 private:
  std::mutex mutex_;
  std::unordered_multimap<std::size_t, void*> blocks_;
  std::size_t cached_ = 0;
};

// Large requests are rounded up to whole 64 KiB, so nearby sizes share blocks.
std::size_t rounded_bytes(int64_t size) {
  const std::size_t bytes = static_cast<std::size_t>(std::max<int64_t>(size, 1)) * sizeof(float);
  return bytes < kCacheMinBytes ? bytes : (bytes + kCacheMinBytes - 1) / kCacheMinBytes * kCacheMinBytes;
}

}  // namespace

std::size_t cached_storage_bytes() { return BlockCache::instance().cached(); }

void release_cached_storage() { BlockCache::instance().clear(); }

Storage::Storage(int64_t size) : data_(nullptr), size_(size), bytes_(rounded_bytes(size)) {
  void* p = bytes_ >= kCacheMinBytes ? BlockCache::instance().take(bytes_) : nullptr;
  data_ = static_cast<float*>(p != nullptr ? p : allocate(bytes_));
}

Storage::~Storage() {
  if (bytes_ >= kCacheMinBytes) {
    BlockCache::instance().give(data_, bytes_);
  } else {
    deallocate(data_);
  }
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset) {}

Tensor Tensor::empty(const Shape& shape) {
  // The element count must fit comfortably in 64 bits before anything is allocated.
  int64_t count = 1;
  for (int64_t s : shape) {
    if (s < 0) throw ShapeError("empty: negative size in shape " + to_string(shape));
    if (s != 0 && count > (int64_t{1} << 60) / s) {
      throw ShapeError("empty: shape " + to_string(shape) + " has too many elements");
    }
    count *= s;
  }
  return Tensor(std::make_shared<Storage>(tensor::numel(shape)), shape, contiguous_strides(shape), 0);
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }

Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(float value) { return full({}, value); }

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  Tensor t = empty(shape);
  if (static_cast<int64_t>(values.size()) != t.numel()) {
    throw ShapeError("from_vector: " + std::to_string(values.size()) + " values for shape " + to_string(shape));
  }
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::arange(int64_t n) {
  Tensor t = empty({n});
  for (int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<float>(i);
  return t;
}

int64_t Tensor::size(int64_t axis) const { return shape_[normalize_axis(axis, shape_, "size")]; }

bool Tensor::is_contiguous() const {
  int64_t step = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] != 1 && strides_[i] != step) return false;
    step *= shape_[i];
  }
  return true;
}

float Tensor::item() const {
  if (!defined()) throw ShapeError("item: the tensor is undefined (no storage), e.g. a gradient never computed");
  if (numel() != 1) {
    throw ShapeError("item: tensor of shape " + to_string(shape_) + " has " + std::to_string(numel()) +
                     " elements, not 1");
  }
  return *data();
}

namespace {

// The storage offset of a full index, checked against the shape.
int64_t element_offset(const Shape& shape, const Strides& strides, std::initializer_list<int64_t> index,
                       const char* op) {
  if (index.size() != shape.size()) {
    throw IndexError(std::string(op) + ": index of length " + std::to_string(index.size()) +
                     " for a tensor of shape " + to_string(shape));
  }
  int64_t off = 0;
  size_t d = 0;
  for (int64_t i : index) {
    if (i < 0 || i >= shape[d]) {
      throw IndexError(std::string(op) + ": index " + std::to_string(i) + " out of range for dimension " +
                       std::to_string(d) + " of shape " + to_string(shape));
    }
    off += i * strides[d++];
  }
  return off;
}

}  // namespace

float Tensor::at(std::initializer_list<int64_t> index) const {
  return data()[element_offset(shape_, strides_, index, "at")];
}

void Tensor::set(std::initializer_list<int64_t> index, float value) {
  data()[element_offset(shape_, strides_, index, "set")] = value;
}

std::vector<float> Tensor::to_vector() const {
  const Tensor c = contiguous();
  return std::vector<float>(c.data(), c.data() + c.numel());
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape target = shape;
  int64_t known = 1;
  int64_t infer = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1 && infer < 0) {
      infer = static_cast<int64_t>(i);
    } else if (target[i] < 0) {
      throw ShapeError("reshape: invalid target shape " + to_string(shape) + " for " + to_string(shape_));
    } else {
      known *= target[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel() % known != 0) {
      throw ShapeError("reshape: cannot infer -1 reshaping " + to_string(shape_) + " to " + to_string(shape));
    }
    target[infer] = numel() / known;
  }
  if (tensor::numel(target) != numel()) {
    throw ShapeError("reshape: cannot reshape " + to_string(shape_) + " (" + std::to_string(numel()) +
                     " elements) to " + to_string(shape));
  }
  const Tensor c = contiguous();
  return Tensor(c.storage_, target, contiguous_strides(target), c.offset_);
}

Tensor Tensor::transpose(int64_t axis0, int64_t axis1) const {
  const int64_t a = normalize_axis(axis0, shape_, "transpose");
  const int64_t b = normalize_axis(axis1, shape_, "transpose");
  Shape shape = shape_;
  Strides strides = strides_;
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return Tensor(storage_, shape, strides, offset_);
}

Tensor Tensor::t() const {
  if (dim() != 2) throw ShapeError("t: expects a matrix, got shape " + to_string(shape_));
  return transpose(0, 1);
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(shape_.size());
  std::iota(identity.begin(), identity.end(), 0);
  if (sorted != identity) {
    throw ShapeError("permute: order " + to_string(order) + " is not a permutation of the axes of " +
                     to_string(shape_));
  }
  Shape shape(order.size());
  Strides strides(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    shape[i] = shape_[order[i]];
    strides[i] = strides_[order[i]];
  }
  return Tensor(storage_, shape, strides, offset_);
}

Tensor Tensor::narrow(int64_t axis, int64_t start, int64_t length) const {
  const int64_t a = normalize_axis(axis, shape_, "narrow");
  if (start < 0 || length < 0 || start + length > shape_[a]) {
    throw IndexError("narrow: range [" + std::to_string(start) + ", " + std::to_string(start + length) +
                     ") outside dimension " + std::to_string(a) + " of shape " + to_string(shape_));
  }
  Shape shape = shape_;
  shape[a] = length;
  return Tensor(storage_, shape, strides_, offset_ + start * strides_[a]);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_);
  out.copy_(*this);
  return out;
}

Tensor& Tensor::copy_(const Tensor& src) {
  if (!broadcasts_to(src.shape_, shape_)) {
    throw ShapeError("copy_: cannot broadcast " + to_string(src.shape_) + " to " + to_string(shape_));
  }
  // Reading and writing the same storage (x.copy_(x.t())) would read values already overwritten.
  if (src.shares_storage_with(*this)) return copy_(src.clone());
  float* dst = data();
  const float* from = src.data();
  detail::for_each_run<2>(shape_, {strides_, detail::broadcast_strides(src, shape_)},
                          [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& step) {
                            float* d = dst + off[0];
                            const float* s = from + off[1];
                            if (step[0] == 1 && step[1] == 1) {
                              std::memcpy(d, s, static_cast<std::size_t>(n) * sizeof(float));
                            } else {
                              for (int64_t i = 0; i < n; ++i) d[i * step[0]] = s[i * step[1]];
                            }
                          });
  return *this;
}

Tensor& Tensor::fill_(float value) {
  float* dst = data();
  detail::for_each_run<1>(shape_, {strides_},
                          [&](const std::array<int64_t, 1>& off, int64_t n, const std::array<int64_t, 1>& step) {
                            float* d = dst + off[0];
                            if (step[0] == 1) {
                              std::fill_n(d, n, value);  // memset for zeros
                              return;
                            }
                            for (int64_t i = 0; i < n; ++i) d[i * step[0]] = value;
                          });
  return *this;
}

}  // namespace tensor
