/// \file
/// \brief Fixed augmented views of the training images, and a teacher's logits on each: what
/// consistent teaching (chapter 10) needs without running the teacher on every batch.
#pragma once

#include "chapters/common/book_data.h"
#include "nn/data.h"
#include "nn/layers.h"

#include <cstdint>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief K fixed augmented views of every training image: view v of image i is `nn::Augmentation`
/// applied with a generator seeded by (seed, v, i) alone, so it is the same image whenever it is
/// made, in whatever batch, for the student as for the teacher.
///
/// A student shown view \f$ e \bmod K \f$ in epoch e sees K versions of each image; the teacher's
/// logits on all of them are computed once (`teacher_view_logits`) instead of on every batch.
/// \see \ref ch10_fidelity
class FixedViews {
 public:
  /// \param config what a view does (flips, shifts, the border's value) \param count K >= 1
  /// \param seed fixes every view
  /// \throws tensor::ValueError when count < 1, or from nn::Augmentation (max_shift < 0).
  FixedViews(nn::Augmentation::Config config, int64_t count, uint64_t seed);
  /// \brief Number of views of each image, K.
  int64_t count() const { return count_; }
  /// \brief Turns each image of a batch into its view `view`.
  /// \param images [B, C, H, W], contiguous, changed in place \param indices B indices into the
  /// training set: which image each row is \param view in [0, K)
  /// \throws tensor::ShapeError when images is not a contiguous NCHW batch of indices.size() images;
  /// tensor::IndexError when view is outside [0, K).
  void apply(tensor::Tensor& images, const std::vector<int64_t>& indices, int64_t view) const;
  /// \brief What a view does: "random horizontal flips and shifts of up to 2 pixels".
  std::string describe() const;

 private:
  nn::Augmentation::Config config_;
  int64_t count_;
  uint64_t seed_;
};

/// \ingroup chapters
/// \brief A teacher's logits on every view of the given training images, in evaluation mode.
/// \param teacher the network \param views the views \param data the book's data
/// \param indices training images to compute (e.g. a student's transfer set)
/// \returns [K, training set size, 10]: row i of view v is the teacher on view v of image i, for
/// every i in `indices`; the other rows are NaN, so that a student taught from an image whose
/// views were not computed stops with a non-finite loss instead of learning from zeros.
/// \throws tensor::IndexError for an index outside the training set; tensor::ShapeError when the
/// teacher does not give 10 logits per image.
tensor::Tensor teacher_view_logits(nn::Module& teacher, const FixedViews& views, const BookData& data,
                                   const std::vector<int64_t>& indices);

}  // namespace book
