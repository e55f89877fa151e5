/// \file
/// \brief The data every chapter uses: Fashion-MNIST, the book's validation split, the normalisation.
#pragma once

#include "chapters/common/options.h"
#include "nn/data.h"
#include "nn/module.h"

#include <cstdint>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief Fashion-MNIST's classes: the width of every logit vector, teacher's and student's.
inline constexpr int64_t kClasses = 10;

/// \ingroup chapters
/// \brief The seed of the validation split, the same in every chapter: the teacher and the
/// students are tuned on the same held-out images, and never on the test set.
inline constexpr uint64_t kSplitSeed = 2024;

/// \ingroup chapters
/// \brief Training images held out for validation: 5,000 of 60,000 (1/12 of each class).
inline constexpr double kValidationFraction = 1.0 / 12.0;

/// \ingroup chapters
/// \brief Fashion-MNIST as the book uses it.
struct BookData {
  nn::FashionMnist data;               ///< train and test sets (in --quick runs, small stratified subsets)
  nn::Split split;                     ///< indices into data.train: training part and validation part
  nn::Normalization norm;              ///< pixel mean and std of the training part
  std::vector<int64_t> test_indices;   ///< 0 .. test size - 1
};

/// \ingroup chapters
/// \brief Loads the data from `options.data`. With --quick, keeps 4% of the training set
/// and 10% of the test set (stratified), so a run takes seconds.
///
/// A missing or broken data set ends the program with one line naming the file and the
/// Debian package that provides it (exit code 1).
BookData load_book_data(const Options& options);

/// \ingroup chapters
/// \brief The images a student learns from: `fraction` of each class of the training split,
/// drawn by `seed` (`nn::stratified_subset`), or the whole split when fraction is 1.
/// \param data the book's data \param fraction in (0, 1] \param seed fixes the draw
/// \returns sorted indices into the training set
/// \throws tensor::ValueError when fraction is outside (0, 1].
/// \see \ref ch06_low_data, \ref ch08_temperature_capacity
std::vector<int64_t> transfer_set(const BookData& data, double fraction, uint64_t seed);

/// \ingroup chapters
/// \brief The labels of the given examples, in order.
nn::Labels labels_of(const nn::Dataset& data, const std::vector<int64_t>& indices);

/// \ingroup chapters
/// \brief A model's logits for the given examples, computed in evaluation mode, in batches.
/// \param model the network \param data the dataset \param indices the examples
/// \param norm the normalisation \param batch_size images per forward pass
/// \returns [indices.size(), C]
tensor::Tensor predict_logits(nn::Module& model, const nn::Dataset& data, const std::vector<int64_t>& indices,
                              const nn::Normalization& norm, int64_t batch_size = 256);

}  // namespace book
