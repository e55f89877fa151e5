/// \file
/// \brief Shapes, strides and NumPy broadcasting rules.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tensor {

/// \ingroup tensor
/// \brief The size of each dimension, outermost first: `{N, C}` is N rows of C values.
using Shape = std::vector<int64_t>;

/// \ingroup tensor
/// \brief The distance, in elements, between neighbours along each dimension.
using Strides = std::vector<int64_t>;

/// \ingroup tensor
/// \brief Number of elements of a tensor of this shape (1 for rank 0).
int64_t numel(const Shape& shape);

/// \ingroup tensor
/// \brief Row-major (C-order) strides of a contiguous tensor of this shape.
Strides contiguous_strides(const Shape& shape);

/// \ingroup tensor
/// \brief Prints a shape as `[32, 10]` (a scalar as `[]`), the form every error message uses.
std::string to_string(const Shape& shape);

/// \ingroup tensor
/// \brief Prints a number for a message with up to 6 significant digits: `0.05`, `-1`, `10000`, `0.333333`.
std::string to_string(double value);

/// \ingroup tensor
/// \brief The shape two operands broadcast to, by NumPy's rules.
///
/// Shapes are aligned on their last dimension; a pair of sizes is compatible when
/// equal or when one of them is 1, and the result takes the larger.
/// \param a first shape \param b second shape
/// \param op the name of the calling operation, for the message.
/// \throws ShapeError `op: shapes [a] and [b] do not broadcast`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// \ingroup tensor
/// \brief Whether a tensor of shape `from` broadcasts to exactly `to` (as `copy_` and `add_`
/// need): each of its dimensions, aligned on the last, is 1 or equal, and it has no extra ones.
bool broadcasts_to(const Shape& from, const Shape& to);

/// \ingroup tensor
/// \brief Turns a possibly negative axis (-1 is the last) into 0..rank-1.
/// \param axis the axis as given \param shape the tensor's shape \param op the calling operation, for the message
/// \throws IndexError `op: axis 3 out of range for shape [2, 3]`.
int64_t normalize_axis(int64_t axis, const Shape& shape, const char* op);

}  // namespace tensor
