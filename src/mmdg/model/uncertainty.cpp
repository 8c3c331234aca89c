#include "mmdg/model/uncertainty.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "mmdg/util/error.h"

namespace mmdg::model {

at::Tensor dropout_std(const at::Tensor& x_in, const UncertaintyOptions& o) {
  torch::NoGradGuard no_grad;
  // bfloat16 / half inputs (autocast) are sampled in float32 (the sampler's tables); others as given
  const at::Tensor x = x_in.element_size() < 4 ? x_in.detach().to(torch::kFloat) : x_in.detach();
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
      // k ~ Binomial(t, 1 - p) by inverse-CDF sampling of one uniform per element against the
      // t + 1 cumulative probabilities, then the closed-form std factor of k from a table.
      std::vector<double> cdf, factor;
      double log_q = std::log(1.0 - p), log_p = std::log(p), total = 0;
      for (std::int64_t k = 0; k <= o.samples; ++k) {
        const double log_pmf = std::lgamma(t + 1) - std::lgamma(k + 1.0) - std::lgamma(t - k + 1) +
                               k * log_q + (t - k) * log_p;
        total += std::exp(log_pmf);
        cdf.push_back(total);
        factor.push_back(std::sqrt(k * (t - k) / (t * (t - 1))) / (1.0 - p));
      }
      cdf.pop_back();  // P(k <= t) = 1: uniforms above every other boundary map to k = t
      const auto opts = x.options();
      const at::Tensor boundaries = torch::tensor(cdf, opts.dtype(torch::kDouble)).to(opts);
      const at::Tensor table = torch::tensor(factor, opts.dtype(torch::kDouble)).to(opts);
      const at::Tensor u = torch::rand_like(x);
      const at::Tensor kept = torch::searchsorted(boundaries, u.reshape({-1}), /*out_int32=*/false, /*right=*/true);
      return x.abs() * table.index_select(0, kept).view_as(x);
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
