#include "tensor/random.h"

#include "tensor/errors.h"

#include <cmath>
#include <numbers>
#include <string>

namespace tensor {

namespace {

// splitmix64: spreads one 64-bit seed over the generator's 256 bits of state.
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Generator::Generator(uint64_t seed) {
  for (uint64_t& s : state_) s = splitmix64(seed);
}

uint64_t Generator::next_u64() {
  // xoshiro256** (Blackman and Vigna, 2018).
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

float Generator::uniform() {
  // The top 24 bits, scaled by 2^-24: every value is exact in float and below 1.
  return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f;
}

float Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return static_cast<float>(spare_normal_);
  }
  // Box-Muller on u1 in (0, 1] (never log(0)) and u2 in [0, 1), 53 bits each.
  const double u1 = (static_cast<double>(next_u64() >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_ = true;
  return static_cast<float>(radius * std::cos(angle));
}

int64_t Generator::below(int64_t n) {
  if (n <= 0) throw ValueError("below: need n > 0, got " + std::to_string(n));
  // Reject the top sliver of 64-bit values that would make the modulo favour small results.
  const auto bound = static_cast<uint64_t>(n);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x = next_u64();
  while (x >= limit) x = next_u64();
  return static_cast<int64_t>(x % bound);
}

Tensor uniform(const Shape& shape, float low, float high, Generator& gen) {
  if (!(high >= low)) {
    throw ValueError("uniform: need low <= high, got [" + tensor::to_string(low) + ", " + tensor::to_string(high) + ")");
  }
  Tensor t = Tensor::empty(shape);
  float* d = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) {
    // low + (high - low) u can round up to high itself: draw again, so the interval stays half-open.
    do {
      d[i] = low + (high - low) * gen.uniform();
    } while (d[i] >= high && high > low);
  }
  return t;
}

Tensor normal(const Shape& shape, float mean, float std, Generator& gen) {
  if (!(std >= 0.0f)) throw ValueError("normal: need std >= 0, got " + tensor::to_string(std));
  Tensor t = Tensor::empty(shape);
  float* d = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = mean + std * gen.normal();
  return t;
}

Tensor bernoulli(const Shape& shape, float p, Generator& gen) {
  if (!(p >= 0.0f && p <= 1.0f)) throw ValueError("bernoulli: need p in [0, 1], got " + tensor::to_string(p));
  Tensor t = Tensor::empty(shape);
  float* d = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = gen.uniform() < p ? 1.0f : 0.0f;
  return t;
}

std::vector<int64_t> permutation(int64_t n, Generator& gen) {
  if (n < 0) throw ValueError("permutation: need n >= 0, got " + std::to_string(n));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(gen.below(i + 1))]);
  return order;
}

}  // namespace tensor
