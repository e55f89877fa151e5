/// \file
/// \brief `Tensor`: a float32 n-d array, a view (shape, strides, offset) over shared storage.
#pragma once

#include "tensor/shape.h"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

namespace tensor {

/// \defgroup tensor tensor: storage, shapes, kernels, BLAS
/// \brief Float32 n-d tensors: views, broadcasting, reductions, matmul through OpenBLAS.
///
/// The bottom layer of the library. Nothing here knows about gradients.
/// \see \ref ch01_autograd, which builds the book's first graph on these tensors.

/// \ingroup tensor
/// \brief A block of float32 values, 64-byte aligned, shared by every view of it.
///
/// Blocks of 64 KiB and more are recycled: a freed block is kept (up to
/// `kStorageCacheBytes` in all, 128 MiB: more than a teacher training step's working set) and handed to the next request of the same rounded size.
/// A training step allocates the same sizes every time, and without the cache each of
/// them was a fresh `mmap` whose pages fault in again (9 ms of an 87 ms CNN step).
class Storage {
 public:
  /// \brief Allocates `size` floats, uninitialised.
  explicit Storage(int64_t size);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data() { return data_; }                  ///< the first element
  const float* data() const { return data_; }      ///< the first element
  int64_t size() const { return size_; }           ///< number of floats

  static constexpr std::size_t kAlignment = 64;    ///< bytes; a cache line, and AVX-512 friendly

 private:
  float* data_;
  int64_t size_;
  std::size_t bytes_;  // allocated, rounded up
};

/// \ingroup tensor
/// \brief At most this many bytes of freed storage are kept for reuse.
inline constexpr std::size_t kStorageCacheBytes = std::size_t{128} << 20;

/// \ingroup tensor
/// \brief Bytes of freed storage currently kept for reuse.
std::size_t cached_storage_bytes();

/// \ingroup tensor
/// \brief Returns every kept block to the system (e.g. after training, before a memory-hungry phase).
void release_cached_storage();

/// \ingroup tensor
/// \brief A float32 n-d array: a view (shape, strides, offset) over shared storage.
///
/// Copying a `Tensor` is cheap and shares the data, like PyTorch: `Tensor b = a;`
/// makes `b` a second handle on the same values. Use `clone()` for an independent copy.
/// Views (`reshape` of contiguous data, `transpose`, `permute`, `narrow`) never copy;
/// `contiguous()` copies only when the layout is not row-major already.
///
/// A default-constructed tensor is *undefined* (`defined()` is false): it has no
/// storage and is used for "no gradient yet".
class Tensor {
 public:
  /// \brief An undefined tensor (no storage).
  Tensor() = default;

  /// \name Factories
  ///@{

  /// \brief A new contiguous tensor of this shape, values uninitialised.
  /// \throws ShapeError on a negative size or more than \f$2^{60}\f$ elements.
  static Tensor empty(const Shape& shape);
  /// \brief A new contiguous tensor of zeros.
  static Tensor zeros(const Shape& shape);
  /// \brief A new contiguous tensor of ones.
  static Tensor ones(const Shape& shape);
  /// \brief A new contiguous tensor with every element equal to `value`.
  static Tensor full(const Shape& shape, float value);
  /// \brief A rank-0 tensor holding one value.
  static Tensor scalar(float value);
  /// \brief A tensor of this shape holding `values` in row-major order.
  /// \throws ShapeError `from_vector: 5 values for shape [2, 3]` when the counts differ.
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  /// \brief The values 0, 1, ..., n-1, shape [n].
  static Tensor arange(int64_t n);
  ///@}

  /// \name Layout
  ///@{

  bool defined() const { return storage_ != nullptr; }   ///< false for a default-constructed tensor
  const Shape& shape() const { return shape_; }          ///< size of each dimension
  const Strides& strides() const { return strides_; }    ///< elements between neighbours, per dimension
  int64_t offset() const { return offset_; }             ///< index of element [0, ..., 0] in the storage
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }  ///< the rank
  /// \brief Size of dimension `axis` (negative counts from the end).
  /// \throws IndexError when `axis` is out of range.
  int64_t size(int64_t axis) const;
  int64_t numel() const { return tensor::numel(shape_); }  ///< number of elements
  /// \brief True when the elements are laid out row-major with no gaps, starting at `data()`.
  bool is_contiguous() const;
  /// \brief True when both tensors view the same storage.
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }
  ///@}

  /// \name Element access
  ///@{

  /// \brief Pointer to element [0, ..., 0]; walk it with `strides()`.
  float* data() { return storage_->data() + offset_; }
  /// \brief Pointer to element [0, ..., 0]; walk it with `strides()`.
  const float* data() const { return storage_->data() + offset_; }
  /// \brief The value of a one-element tensor.
  /// \throws ShapeError `item: tensor of shape [2, 3] has 6 elements, not 1`, or on an undefined tensor.
  float item() const;
  /// \brief The element at a full index, e.g. `t.at({i, j})` (slow: for tests and printing).
  /// \throws IndexError when the index has the wrong length or is out of range.
  float at(std::initializer_list<int64_t> index) const;
  /// \brief Sets the element at a full index (slow: for tests and small examples).
  /// \throws IndexError when the index has the wrong length or is out of range.
  void set(std::initializer_list<int64_t> index, float value);
  /// \brief All elements in row-major order, as a new vector.
  std::vector<float> to_vector() const;
  ///@}

  /// \name Views and copies
  ///@{

  /// \brief The same elements in a new shape; a view when contiguous, else a copy.
  ///
  /// One dimension may be -1: it is inferred from the others.
  /// \throws ShapeError `reshape: cannot reshape [2, 3] (6 elements) to [4, 2]`.
  Tensor reshape(const Shape& shape) const;
  /// \brief Swaps two dimensions; always a view.
  /// \throws IndexError when an axis is out of range.
  Tensor transpose(int64_t axis0, int64_t axis1) const;
  /// \brief The transpose of a matrix: `transpose(0, 1)` of a rank-2 tensor; a view.
  /// \throws ShapeError when the tensor is not rank 2.
  Tensor t() const;
  /// \brief Reorders the dimensions: result dimension i is input dimension `order[i]`; a view.
  /// \throws ShapeError when `order` is not a permutation of 0..rank-1.
  Tensor permute(const std::vector<int64_t>& order) const;
  /// \brief Elements `start .. start+length-1` along `axis`; a view. A batch is `x.narrow(0, i, n)`.
  /// \throws IndexError when the range is outside the dimension.
  Tensor narrow(int64_t axis, int64_t start, int64_t length) const;
  /// \brief This tensor if already contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// \brief A contiguous copy that shares nothing with this tensor.
  Tensor clone() const;
  /// \brief Copies `src` into this tensor's elements (which may be a strided view).
  ///
  /// `src` is broadcast to this tensor's shape. It may share storage with this tensor
  /// (`x.copy_(x.t())`): it is then copied aside first.
  /// \throws ShapeError `copy_: cannot broadcast [3] to [2, 2]`.
  Tensor& copy_(const Tensor& src);
  /// \brief Sets every element to `value`.
  Tensor& fill_(float value);
  ///@}

 private:
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset);

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Strides strides_;
  int64_t offset_ = 0;
};

}  // namespace tensor
