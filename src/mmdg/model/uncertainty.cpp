#include "mmdg/model/uncertainty.h"

#include <torch/torch.h>

#include <cmath>

#include "mmdg/util/error.h"

namespace mmdg::model {

Estimator parse_estimator(const std::string& name) {
  if (name == "mc") return Estimator::MC;
  if (name == "binomial") return Estimator::Binomial;
  if (name == "expected") return Estimator::Expected;
  throw Error("option estimator: unknown value '" + name + "' (expected mc, binomial or expected)");
}

const char* estimator_name(Estimator estimator) {
  switch (estimator) {
    case Estimator::MC: return "mc";
    case Estimator::Binomial: return "binomial";
    case Estimator::Expected: return "expected";
  }
  return "?";
}

at::Tensor dropout_std(const at::Tensor& x_in, const UncertaintyOptions& o) {
  torch::NoGradGuard no_grad;
  const at::Tensor x = x_in.detach();
  const double p = o.drop_rate, t = static_cast<double>(o.samples);
  switch (o.estimator) {
    case Estimator::MC: {
      // t explicit samples, combined with Welford's update (numerically stable; memory of three
      // tensors instead of a (t, ...) stack).
      at::Tensor mean = torch::zeros_like(x), m2 = torch::zeros_like(x);
      for (std::int64_t k = 1; k <= o.samples; ++k) {
        const at::Tensor s = torch::dropout(x, p, /*train=*/true);
        const at::Tensor delta = s - mean;
        mean.add_(delta / static_cast<double>(k));
        m2.addcmul_(delta, s - mean);
      }
      return (m2 / (t - 1)).clamp_min_(0).sqrt_();  // unbiased
    }
    case Estimator::Binomial: {
      const at::Tensor kept = torch::binomial(torch::full_like(x, t), torch::full_like(x, 1.0 - p));
      const at::Tensor spread = (kept * (t - kept) / (t * (t - 1))).sqrt_();
      return x.abs() / (1.0 - p) * spread;
    }
    case Estimator::Expected:
      return x.abs() * std::sqrt(p / (1.0 - p));
  }
  throw Error("unknown estimator");
}

at::Tensor reliability(const at::Tensor& x, const UncertaintyOptions& o) {
  return torch::exp(dropout_std(x, o) * -o.rate);
}

}  // namespace mmdg::model
