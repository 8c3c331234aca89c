#include "mmdg/model/uncertainty.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mmdg/util/error.h"

namespace mmdg::model {
namespace {

// The number k of kept samples among t, k ~ Binomial(t, 1 - p): its probabilities and the std
// factor f(k) = sqrt(k (t - k) / (t (t - 1))) / (1 - p) of the samples x b_k / (1 - p).
struct KeptSamples {
  std::vector<double> pmf, factor;
};

KeptSamples kept_samples(const UncertaintyOptions& o) {
  KeptSamples s;
  const double p = o.drop_rate, t = static_cast<double>(o.samples);
  for (std::int64_t k = 0; k <= o.samples; ++k) {
    s.pmf.push_back(std::exp(std::lgamma(t + 1) - std::lgamma(k + 1.0) - std::lgamma(t - k + 1) +
                             k * std::log(1.0 - p) + (t - k) * std::log(p)));
    s.factor.push_back(std::sqrt(k * (t - k) / (t * (t - 1))) / (1.0 - p));
  }
  return s;
}

// The binomial sampler's tables on a device and dtype: the t cumulative probabilities that bound k
// and the std factor of each k. Built once per (p, t, device, dtype) and kept (a forward would
// otherwise build them on the CPU and copy them to the device in every block: 24 copies, each a
// device sync). Never freed: a device tensor destroyed at exit can outlive its CUDA context.
std::pair<at::Tensor, at::Tensor> binomial_tables(const UncertaintyOptions& o, const at::TensorOptions& opts) {
  using Key = std::tuple<double, std::int64_t, std::string, int>;
  static std::mutex mutex;
  static auto* cache = new std::map<Key, std::pair<at::Tensor, at::Tensor>>();
  const Key key{o.drop_rate, o.samples, opts.device().str(), static_cast<int>(c10::typeMetaToScalarType(opts.dtype()))};
  std::lock_guard<std::mutex> lock(mutex);
  if (const auto found = cache->find(key); found != cache->end()) return found->second;
  const KeptSamples kept = kept_samples(o);
  std::vector<double> cdf;
  double total = 0;
  for (double pk : kept.pmf) cdf.push_back(total += pk);
  cdf.pop_back();  // P(k <= t) = 1: uniforms above every other boundary map to k = t
  auto tables = std::make_pair(torch::tensor(cdf, torch::kDouble).to(opts), torch::tensor(kept.factor, torch::kDouble).to(opts));
  cache->emplace(key, tables);
  return tables;
}

// The estimators' input: detached; bfloat16 / half inputs (autocast) in float32 (the sampler's
// tables), others as given.
at::Tensor sampling_input(const at::Tensor& x) {
  return x.element_size() < 4 ? x.detach().to(torch::kFloat) : x.detach();
}

}  // namespace

at::Tensor dropout_std(const at::Tensor& x_in, const UncertaintyOptions& o) {
  torch::NoGradGuard no_grad;
  const at::Tensor x = sampling_input(x_in);
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
      // k by inverse-CDF sampling of one uniform per element against the t + 1 cumulative
      // probabilities, then the closed-form std factor of k from a table.
      const auto [boundaries, table] = binomial_tables(o, x.options());
      const at::Tensor u = torch::rand_like(x);
      const at::Tensor k = torch::searchsorted(boundaries, u.reshape({-1}), /*out_int32=*/false, /*right=*/true);
      return x.abs() * table.index_select(0, k).view_as(x);
    }
    case Estimator::Expected: {
      const KeptSamples kept = kept_samples(o);
      double mean_factor = 0;
      for (std::size_t k = 0; k < kept.pmf.size(); ++k) mean_factor += kept.pmf[k] * kept.factor[k];
      return x.abs() * mean_factor;
    }
    case Estimator::LargeT:
      return x.abs() * std::sqrt(p / (1.0 - p));
  }
  throw Error("unknown estimator");
}

at::Tensor reliability(const at::Tensor& x_in, const UncertaintyOptions& o) {
  if (o.estimator != Estimator::Expected) return torch::exp(dropout_std(x_in, o) * -o.rate);
  // E[exp(-r_e std)] = sum_k P(k) exp(-r_e |x| f(k)); terms of negligible probability are skipped
  torch::NoGradGuard no_grad;
  const at::Tensor x = sampling_input(x_in);
  const at::Tensor magnitude = x.abs() * -o.rate;
  const KeptSamples kept = kept_samples(o);
  at::Tensor u = torch::zeros_like(x);
  for (std::size_t k = 0; k < kept.pmf.size(); ++k)
    if (kept.pmf[k] > 1e-12) u.add_(torch::exp(magnitude * kept.factor[k]), kept.pmf[k]);
  return u;
}

}  // namespace mmdg::model
