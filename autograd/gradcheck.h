/// \file
/// \brief `gradcheck`: every backward rule compared against central finite differences.
#pragma once

#include "autograd/variable.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace autograd {

/// \ingroup autograd
/// \brief Step and tolerances of `gradcheck`.
struct GradcheckOptions {
  double step = 1e-2;   ///< finite-difference step, relative: \f$ h = \text{step} \cdot \max(1, |x|) \f$
  double rtol = 1e-2;   ///< relative tolerance; a backward off by 10% must fail
  double atol = 1e-3;   ///< absolute tolerance, for gradients near zero
  uint64_t seed = 2024; ///< seed of the random projection of the output
};

/// \ingroup autograd
/// \brief The verdict of `gradcheck`: converts to `bool`, and says where it failed.
struct GradcheckResult {
  bool passed = true;         ///< every element within tolerance
  std::string report;         ///< the worst element: input, index, analytic vs numeric
  double max_abs_error = 0.0; ///< largest \f$ |g_\text{backward} - g_\text{numeric}| \f$
  int64_t checked = 0;        ///< number of input elements compared
  explicit operator bool() const { return passed; }  ///< `passed`
};

/// \ingroup autograd
/// \brief Checks the backward pass of `f` at `inputs` against central finite differences.
///
/// The output y of f is projected on a fixed random direction r, \f$ L = \sum_k r_k y_k \f$,
/// so one backward gives \f$ \partial L / \partial x_i \f$ for every input element, and
/// each is compared with
/// \f[ \frac{L(x + h e_i) - L(x - h e_i)}{2h}. \f]
/// Tensors are float32, so the trust comes from how the differences are taken: L is
/// accumulated in double, h is relative to \f$|x_i|\f$ and large enough (1e-2) that
/// float rounding of f stays far below the tolerance, and the denominator is the
/// difference of the two float inputs actually used. An element passes when
/// \f$ |g - \hat g| \le \text{atol} + \text{rtol} \cdot \max(|g|, |\hat g|) \f$.
///
/// Inputs must sit away from kinks (relu at 0, ties of max) by more than h.
/// \param f the function, called on leaves that require grad, one per input
/// \param inputs values at which to check, any shapes
/// \param options step and tolerances
/// \returns the verdict, with the worst element described
/// \see \ref ch01_autograd
GradcheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace autograd
