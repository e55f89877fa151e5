/// \file
/// \brief Internal: one plane's 2 x 2, stride-2 max pooling and its gradient, the kernels of
/// `max_pool2d` and `max_pool2d_backward`, for a fused op that pools a plane it has just
/// computed (`batch_norm_pool_relu2d`).
///
/// Not part of the public API.
#pragma once

#include <cstdint>

namespace tensor::detail {

/// Pools an h x w plane (h and w even) into its (h / 2) x (w / 2) maxima `out`, and each
/// maximum's position in its window (0-3, row-major, the first maximum) into `where`: the
/// same comparisons, so the same values and positions, as `max_pool2d`.
void max_pool_plane_2x2(const float* image, int64_t h, int64_t w, float* out, uint8_t* where);

/// Writes the gradient of `max_pool_plane_2x2` over the whole h x w plane: each window gets its
/// output's gradient `dy` at its maximum and 0 elsewhere, as `max_pool2d_backward`.
void max_pool_plane_2x2_backward(const float* dy, const uint8_t* where, int64_t h, int64_t w, float* image);

/// Writes, for each 2 x 2 window of an h x w plane, the plane's value at the window's recorded
/// position `where` (as `max_pool_plane_2x2` records them) into `out`: a second plane's values at
/// the first one's maxima.
void gather_at_maxima_2x2(const float* image, const uint8_t* where, int64_t h, int64_t w, float* out);

}  // namespace tensor::detail
