/// \file
/// \brief Data: IDX files (raw or gzipped), Fashion-MNIST, splits and subsets, and a batch loader.
#pragma once

#include "nn/losses.h"
#include "tensor/errors.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nn {

/// \defgroup data data: IDX files, Fashion-MNIST, loaders
/// \ingroup nn
/// \brief Reading, splitting and batching the images.

/// \ingroup data
/// \brief A file that cannot be read or is not what it claims to be. The message starts
/// with the file's path and says what is wrong.
class DataError : public tensor::Error {
 public:
  using tensor::Error::Error;
};

/// \ingroup data
/// \brief The contents of an IDX file of unsigned bytes (type 0x08): dimensions and values.
struct IdxArray {
  std::vector<int64_t> dims;   ///< e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<uint8_t> data;   ///< the values, row-major
};

/// \ingroup data
/// \brief Reads an IDX file of unsigned bytes, gzipped (by its contents, not its name) or raw.
///
/// The header is never trusted: the magic number, the element type, and the product of
/// the dimensions are checked against the number of bytes actually present before any
/// array of that size is made.
/// \param path the file
/// \returns its dimensions and values
/// \throws DataError `PATH: bad magic number 0x00000000 (expected 0x0000080N)` and the like,
///         always starting with the path.
IdxArray read_idx(const std::string& path);

/// \ingroup data
/// \brief Parses the bytes of an IDX file, exactly as `read_idx` parses a file's (what the
/// fuzzer feeds it).
/// \param bytes the file's contents, gzipped or raw \param name what errors start with (the path)
/// \throws DataError as `read_idx`.
IdxArray parse_idx(std::vector<uint8_t> bytes, const std::string& name);

/// \ingroup data
/// \brief A labelled image set: images kept as bytes, normalised only when batched.
struct Dataset {
  std::vector<uint8_t> images;  ///< [size, height, width] bytes, row-major
  Labels labels;                ///< size class indices
  int64_t height = 0;           ///< rows of one image
  int64_t width = 0;            ///< columns of one image
  int64_t classes = 0;          ///< C: labels are in 0..C-1
  /// \brief Number of examples.
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

/// \ingroup data
/// \brief Reads an image IDX file and a label IDX file into a dataset, checking that they agree.
/// \param images_path [N, H, W] bytes \param labels_path [N] bytes \param classes C
/// \throws DataError `train-labels-idx1-ubyte.gz: 59999 labels but 60000 images`,
///         `...: label 11 of example 7 outside 0..9`, or any error of `read_idx`.
Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path, int64_t classes);

/// \ingroup data
/// \brief Fashion-MNIST: 60,000 training and 10,000 test images of 28 x 28, 10 classes.
struct FashionMnist {
  Dataset train;  ///< 60,000 examples
  Dataset test;   ///< 10,000 examples
};

/// \ingroup data
/// \brief Where Fashion-MNIST is looked for: `$KD_FASHION_MNIST_DIR` if set, else
/// `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist` package).
std::string default_fashion_mnist_dir();

/// \ingroup data
/// \brief Loads the four gzipped IDX files of Fashion-MNIST from `dir`.
/// \throws DataError naming the missing or broken file, and the Debian package that provides it.
/// \see \ref ch02_teacher
FashionMnist load_fashion_mnist(const std::string& dir = default_fashion_mnist_dir());

/// \ingroup data
/// \brief The ten class names of Fashion-MNIST, by label.
inline constexpr std::array<std::string_view, 10> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/// \ingroup data
/// \brief Two disjoint sets of example indices.
struct Split {
  std::vector<int64_t> train;       ///< indices kept for training
  std::vector<int64_t> validation;  ///< indices held out to choose hyper-parameters on
};

/// \ingroup data
/// \brief Holds out a seeded, stratified validation split: `fraction` of each class.
///
/// Hyper-parameters are chosen on the validation part, never on the test set.
/// Both lists come back sorted. Each class gives at least one example to validation and,
/// if it has two or more, keeps at least one for training (see `stratified_subset`).
/// \param labels the labels of the whole training set \param fraction in (0, 1) \param seed fixes the split
/// \throws tensor::ValueError when fraction is outside (0, 1).
/// \see \ref ch02_teacher
Split validation_split(const Labels& labels, double fraction, uint64_t seed);

/// \ingroup data
/// \brief A seeded subset holding `fraction` of each class's examples among `indices`, rounded,
/// at least one per class and, when fraction < 1, at most all but one of a class of two or more.
/// \param labels labels of the dataset the indices point into \param indices the pool
/// \param fraction in (0, 1] \param seed fixes the choice
/// \returns sorted indices
/// \throws tensor::ValueError when fraction is outside (0, 1] or a label is negative;
///         tensor::IndexError when an index has no label.
/// \see \ref ch06_low_data
std::vector<int64_t> stratified_subset(const Labels& labels, const std::vector<int64_t>& indices, double fraction,
                                       uint64_t seed);

/// \ingroup data
/// \brief The indices whose label is not among `classes` (to train without ever seeing them).
/// \throws tensor::IndexError when an index has no label; tensor::ValueError for a negative label.
/// \see \ref ch07_unseen_class
std::vector<int64_t> without_classes(const Labels& labels, const std::vector<int64_t>& indices,
                                     const std::vector<int64_t>& classes);

/// \ingroup data
/// \brief Per-pixel normalisation applied when a batch is made: \f$ x = (b / 255 - \mu) / \sigma \f$.
struct Normalization {
  float mean = 0.0f;  ///< \f$ \mu \f$, on the [0, 1] scale
  float std = 1.0f;   ///< \f$ \sigma \f$
};

/// \ingroup data
/// \brief Mean and standard deviation of the pixels of the given examples, on the [0, 1] scale.
/// \throws tensor::IndexError for an index outside the data; tensor::ShapeError for an inconsistent dataset.
Normalization pixel_statistics(const Dataset& data, const std::vector<int64_t>& indices);

/// \ingroup data
/// \brief One mini-batch.
struct Batch {
  Tensor images;                 ///< [B, 1, H, W], normalised
  Labels labels;                 ///< B labels
  std::vector<int64_t> indices;  ///< B indices into the dataset (to look up cached teacher logits)
};

/// \ingroup data
/// \brief Makes the batch of the given examples.
/// \param data the dataset \param indices the examples, in order \param norm normalisation
/// \throws tensor::ValueError when norm.std is not positive; tensor::IndexError for an index outside the data.
Batch make_batch(const Dataset& data, const std::vector<int64_t>& indices, const Normalization& norm);

/// \ingroup data
/// \brief Data augmentation: moves each image by a random whole-pixel shift of up to
/// `max_shift` in each direction, filling the uncovered border with `fill`.
///
/// \f[ x'[n, c, i, j] = x[n, c, i - d_n, j - e_n], \qquad d_n, e_n \sim U\{-s, \dots, s\} \f]
/// Use the normalised value of a black pixel as `fill` (\f$ -\mu / \sigma \f$).
/// \param images [N, C, H, W], contiguous, changed in place \param max_shift s >= 0
/// \param fill the border value \param gen draws the shifts
/// \throws tensor::ShapeError when images is not a contiguous NCHW batch; tensor::ValueError when s < 0.
void random_shift_(Tensor& images, int64_t max_shift, float fill, tensor::Generator& gen);

/// \ingroup data
/// \brief Data augmentation: mirrors each image left to right with probability p.
///
/// \f[ x'[n, c, i, j] = x[n, c, i, W - 1 - j] \ \text{with probability } p, \text{ else } x[n, c, i, j] \f]
/// Natural for clothes: a mirrored shirt is still a shirt (not for digits: a mirrored 3 is no 3).
/// \param images [N, C, H, W], contiguous, changed in place \param p in [0, 1] \param gen draws the coin flips
/// \throws tensor::ShapeError when images is not a contiguous NCHW batch; tensor::ValueError when p is outside [0, 1].
void random_horizontal_flip_(Tensor& images, float p, tensor::Generator& gen);

/// \ingroup data
/// \brief A seeded augmentation for training batches: a random horizontal flip (probability 1/2),
/// then a random shift of up to `max_shift` pixels (see `random_horizontal_flip_`, `random_shift_`).
///
/// Its draws come from its own generator, so the same seed gives the same augmented batches
/// whatever else the program draws. Evaluation and cached teacher logits use the images as they are.
/// \see \ref ch02_teacher
class Augmentation {
 public:
  /// \brief What to do to each image.
  struct Config {
    bool horizontal_flip = false;  ///< mirror left-right with probability 1/2
    int64_t max_shift = 0;         ///< shift by up to this many pixels each way (0: none)
    float fill = 0.0f;             ///< the value of the uncovered border (a black pixel, normalised)
    /// \brief Configurations compare member by member, exactly (a student's key holds one).
    auto operator<=>(const Config&) const = default;
  };
  /// \throws tensor::ValueError when max_shift < 0.
  Augmentation(Config config, uint64_t seed);
  /// \brief Augments a batch in place. \param images [N, C, H, W], contiguous
  /// \throws tensor::ShapeError when images is not a contiguous NCHW batch.
  void operator()(Tensor& images);
  /// \brief True when it changes anything.
  bool enabled() const { return config_.horizontal_flip || config_.max_shift > 0; }
  /// \brief "random horizontal flips and shifts of up to 2 pixels", or "no augmentation".
  std::string describe() const;

 private:
  Config config_;
  tensor::Generator gen_;
};

/// \ingroup data
/// \brief Mini-batches over a list of examples, reshuffled each epoch with a seeded generator.
///
/// Epoch e's order depends only on (seed, e), so a run can be repeated exactly.
/// \see \ref ch02_teacher, \ref ch05_student
class DataLoader {
 public:
  /// \param data the dataset (must outlive the loader) \param indices the examples to serve
  /// \param batch_size B > 0 \param shuffle reshuffle every epoch \param seed fixes the orders
  /// \param norm normalisation \param drop_last skip a final batch smaller than B
  /// \throws tensor::ValueError when batch_size < 1 or norm.std is not positive.
  DataLoader(const Dataset& data, std::vector<int64_t> indices, int64_t batch_size, bool shuffle, uint64_t seed,
             Normalization norm = {}, bool drop_last = false);
  /// \brief Orders the examples for epoch `epoch` (call before reading its batches).
  void start_epoch(int64_t epoch);
  /// \brief Number of batches per epoch.
  int64_t num_batches() const;
  /// \brief Number of examples served per epoch (all of them unless drop_last).
  int64_t num_examples() const;
  /// \brief Batch i of the current epoch. \throws tensor::IndexError when out of range.
  Batch batch(int64_t i) const;

 private:
  const Dataset* data_;
  std::vector<int64_t> indices_;
  std::vector<int64_t> order_;
  int64_t batch_size_;
  bool shuffle_;
  uint64_t seed_;
  Normalization norm_;
  bool drop_last_;
};

}  // namespace nn
