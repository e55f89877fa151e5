// What the chapter tests share: options for a --quick run on the real data, and a model's
// parameters as one vector (to compare two trainings bit for bit).
#pragma once

#include "chapters/common/options.h"
#include "nn/data.h"
#include "nn/layers.h"

#include <vector>

namespace testing {

inline book::Options quick_options() {
  book::Options o;
  o.chapter = "test";
  o.out = "unused";
  o.data = nn::default_fashion_mnist_dir();
  o.quick = true;
  return o;
}

inline std::vector<float> flat_parameters(const nn::Module& m) {
  std::vector<float> out;
  for (const auto& p : m.parameters()) {
    const std::vector<float> v = p.value().to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace testing
