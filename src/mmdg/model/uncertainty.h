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
//
// Draws: in training the random estimators draw from LibTorch's generator (the trainer seeds it;
// runs repeat). At inference a KeyedDraws on the calling thread makes every draw a counter-based
// hash of (seed, the sample's key, the draw's place in the forward, the element): a sample's score
// is then a function of its key and the seed alone, whatever batch it shares, the batch size, the
// thread and worker counts or the device.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mmdg/util/enum_names.h"

namespace mmdg::model {

enum class Estimator { MC, Binomial, Expected, LargeT };

struct UncertaintyOptions {
  Estimator estimator = Estimator::Binomial;
  std::int64_t samples = 20;   // t
  double drop_rate = 0.3;      // p
  double rate = 2.25;          // r_e
};

// Element-wise standard deviation of t Monte Carlo dropout samples of x (expected: its expectation).
// Same shape as x.
at::Tensor dropout_std(const at::Tensor& x, const UncertaintyOptions& options);

// Element-wise reliability U = exp(-r_e * std) (expected: its expectation). Same shape as x.
at::Tensor reliability(const at::Tensor& x, const UncertaintyOptions& options);

// Seeded, per-sample draws for the estimators while alive (one per thread at a time; the forward
// runs on the thread that made it). `keys` name the batch's B samples (draw_key of an identifier):
// an input whose first dimension is c * B (the three modalities stacked) gives row r the key
// keys[r % B] and the stream r / B. Each estimator call takes the next draw indices, so the
// forwards' calls must come in a fixed order (they do: block after block).
class KeyedDraws {
 public:
  KeyedDraws(std::uint64_t seed, const std::vector<std::uint64_t>& keys);
  ~KeyedDraws();
  KeyedDraws(const KeyedDraws&) = delete;
  KeyedDraws& operator=(const KeyedDraws&) = delete;

  // Uniforms in (0, 1), float64, shaped like x, for the next draw index (32-bit resolution: the
  // smallest is 2^-33).
  at::Tensor uniform_like(const at::Tensor& x);

 private:
  std::uint64_t seed_;
  std::vector<std::uint64_t> keys_;
  std::uint64_t draw_ = 0;
  KeyedDraws* outer_;
};

// The 64-bit key of a sample identifier (FNV-1a of the text), for KeyedDraws.
std::uint64_t draw_key(const std::string& id);
// The key of a sample's content (FNV-1a of a tensor's bytes, contiguous, on the CPU): for samples
// without a name (arrays handed to the Predictor).
std::uint64_t draw_key(const at::Tensor& content);

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
