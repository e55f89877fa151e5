/// \file
/// \brief The students: MLPs, and the plain hard-label training the later chapters compare against.
#pragma once

#include "chapters/common/book_data.h"
#include "nn/layers.h"

#include <memory>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief An MLP on flattened images: Flatten - Linear - ReLU - ... - Linear, with the given widths
/// (e.g. {784, 100, 10}).
std::shared_ptr<nn::Sequential> make_mlp(const std::vector<int64_t>& widths, tensor::Generator& gen);

/// \ingroup chapters
/// \brief Trains a model on hard labels: SGD with momentum 0.9, learning rate `lr`, batches of 128
/// from the training part of the split, `epochs` passes. Prints one progress line per epoch.
void train_on_labels(nn::Module& model, const BookData& data, int64_t epochs, float lr, uint64_t seed);

}  // namespace book
