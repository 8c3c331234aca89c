// Uncertainty estimation module (UEM): Monte Carlo dropout on a block's MHSA output gives, per
// element, the standard deviation of t dropout samples; the reliability is U = exp(-r_e * std).
// Interchangeable estimators:
//   mc        t explicit dropout samples, unbiased std (the released code's procedure, the reference)
//   binomial  the exact closed form: k ~ Binomial(t, 1 - p) kept samples per element give
//             std = |x| / (1 - p) * sqrt(k (t - k) / (t (t - 1))): same distribution, one draw
//   expected  deterministic: the exact expectation over k of the reliability, E[exp(-r_e std)]
//             = sum_k P(k) exp(-r_e |x| f(k)) (a (t + 1)-term sum; std: E[std] likewise), the
//             mean of what mc and binomial draw
//   large-t   deterministic |x| * sqrt(p / (1 - p)), the large-t std, then exp(-r_e std) (the
//             golden files' estimator; biased: exp of an expectation is not the expected exp)
// Active in training and inference; never tracks gradients (as in the released code).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>

#include "mmdg/util/enum_names.h"

namespace mmdg::model {

enum class Estimator { MC, Binomial, Expected, LargeT };

struct UncertaintyOptions {
  Estimator estimator = Estimator::MC;
  std::int64_t samples = 20;   // t
  double drop_rate = 0.3;      // p
  double rate = 2.25;          // r_e
};

// Element-wise standard deviation of t Monte Carlo dropout samples of x (expected: its expectation).
// Same shape as x.
at::Tensor dropout_std(const at::Tensor& x, const UncertaintyOptions& options);

// Element-wise reliability U = exp(-r_e * std) (expected: its expectation). Same shape as x.
at::Tensor reliability(const at::Tensor& x, const UncertaintyOptions& options);

}  // namespace mmdg::model

namespace mmdg {
template <>
struct EnumNames<model::Estimator> {
  static constexpr std::pair<model::Estimator, const char*> values[] = {
      {model::Estimator::MC, "mc"},
      {model::Estimator::Binomial, "binomial"},
      {model::Estimator::Expected, "expected"},
      {model::Estimator::LargeT, "large-t"}};
};
}  // namespace mmdg
