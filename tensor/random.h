/// \file
/// \brief One seeded random generator, and the random tensors built on it.
///
/// Everything random in the library draws from a `Generator`, so a seed fixes a run.
/// The algorithms are written here (xoshiro256** seeded by splitmix64, Box-Muller in
/// double precision, bounded integers by rejection) rather than taken from
/// `<random>`, whose distributions differ between standard libraries: the same seed
/// gives the same numbers on every run and every machine.
#pragma once

#include "tensor/tensor.h"

#include <array>
#include <cstdint>
#include <vector>

namespace tensor {

/// \ingroup tensor
/// \brief A seeded pseudo-random generator (xoshiro256**), reproducible across machines.
class Generator {
 public:
  /// \brief A generator whose whole sequence is fixed by `seed`.
  explicit Generator(uint64_t seed);

  /// \brief 64 uniformly random bits.
  uint64_t next_u64();
  /// \brief A float uniform in \f$[0, 1)\f$, with 24 random bits.
  float uniform();
  /// \brief A standard normal draw, \f$ \mathcal{N}(0, 1) \f$ (Box-Muller, computed in double).
  float normal();
  /// \brief An integer uniform in \f$[0, n)\f$, without modulo bias (rejection sampling).
  /// \throws ValueError when `n <= 0`.
  int64_t below(int64_t n);

 private:
  std::array<uint64_t, 4> state_;
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

/// \ingroup tensor
/// \brief Values uniform in \f$[\text{low}, \text{high})\f$. \returns [shape]
/// \throws ValueError when `high < low`.
Tensor uniform(const Shape& shape, float low, float high, Generator& gen);

/// \ingroup tensor
/// \brief Values drawn from \f$ \mathcal{N}(\text{mean}, \text{std}^2) \f$. \returns [shape]
/// \throws ValueError when `std < 0`.
Tensor normal(const Shape& shape, float mean, float std, Generator& gen);

/// \ingroup tensor
/// \brief Each value 1 with probability `p`, else 0. \returns [shape]
/// \throws ValueError when `p` is outside [0, 1].
Tensor bernoulli(const Shape& shape, float p, Generator& gen);

/// \ingroup tensor
/// \brief A uniformly random ordering of 0..n-1 (Fisher-Yates).
/// \throws ValueError when `n < 0`.
std::vector<int64_t> permutation(int64_t n, Generator& gen);

}  // namespace tensor
