#include "mmdg/model/uncertainty.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mmdg/util/error.h"
#include "mmdg/util/hash.h"

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

// The active KeyedDraws of this thread (innermost), or none.
thread_local KeyedDraws* active_draws = nullptr;

// A 32-bit integer hash (xor-shift-multiply rounds; multipliers below 2^31 so that products of
// 32-bit values stay inside int64), on the host and element-wise on int64 tensors in [0, 2^32).
constexpr std::uint64_t kMask32 = 0xffffffffULL;
constexpr std::int64_t kMul1 = 0x7feb352d, kMul2 = 0x2c1b3c6d, kGolden = 0x9e3779b1;

std::uint64_t mix32(std::uint64_t x) {
  x &= kMask32;
  x = ((x ^ (x >> 16)) * kMul1) & kMask32;
  x = ((x ^ (x >> 15)) * kMul2) & kMask32;
  return x ^ (x >> 16);
}

// In place on x; `scratch` is a tensor of x's shape it may overwrite. In place because x is as
// large as a block's activations: a new tensor per operation cost more than the hash itself
// (large allocations are fresh pages from the kernel each time).
void mix32_(at::Tensor& x, at::Tensor& scratch) {
  x.bitwise_xor_(at::bitwise_right_shift_out(scratch, x, 16)).mul_(kMul1).bitwise_and_(static_cast<std::int64_t>(kMask32));
  x.bitwise_xor_(at::bitwise_right_shift_out(scratch, x, 15)).mul_(kMul2).bitwise_and_(static_cast<std::int64_t>(kMask32));
  x.bitwise_xor_(at::bitwise_right_shift_out(scratch, x, 16));
}

std::uint64_t fold32(std::uint64_t x) { return (x ^ (x >> 32)) & kMask32; }

// Uniforms in (0, 1) shaped like x for the binomial sampler: from the thread's
// KeyedDraws when one is active, else LibTorch's generator.
at::Tensor uniforms(const at::Tensor& x) {
  return active_draws ? active_draws->uniform_like(x).to(x.scalar_type()) : torch::rand_like(x);
}

}  // namespace

KeyedDraws::KeyedDraws(std::uint64_t seed, const std::vector<std::uint64_t>& keys)
    : seed_(seed), keys_(keys), outer_(active_draws) {
  if (keys_.empty()) throw Error("keyed draws: no sample keys");
  active_draws = this;
}

KeyedDraws::~KeyedDraws() { active_draws = outer_; }

at::Tensor KeyedDraws::uniform_like(const at::Tensor& x) {
  const auto B = static_cast<std::int64_t>(keys_.size());
  if (x.dim() == 0 || x.size(0) % B != 0)
    throw Error("keyed draws: the input's first dimension (" + std::to_string(x.dim() ? x.size(0) : 0) +
                ") is not a multiple of the " + std::to_string(B) + " sample keys");
  const std::int64_t rows = x.size(0), per_row = x.numel() / std::max<std::int64_t>(rows, 1);
  const std::uint64_t draw = mix32(fold32(draw_++) + 0x632be5abULL);
  const std::uint64_t seed = mix32(fold32(seed_) ^ 0x85ebca6bULL);
  std::vector<std::int64_t> base(static_cast<std::size_t>(rows));  // per row: seed, key, stream, draw
  for (std::int64_t r = 0; r < rows; ++r)
    base[static_cast<std::size_t>(r)] = static_cast<std::int64_t>(
        mix32(mix32(mix32(seed ^ fold32(keys_[static_cast<std::size_t>(r % B)])) ^ mix32(static_cast<std::uint64_t>(r / B))) ^ draw));
  const auto on = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  const at::Tensor row = torch::tensor(base, torch::kLong).to(x.device()).unsqueeze(1);          // (R, 1)
  const at::Tensor element = torch::arange(per_row, on).mul_(kGolden).bitwise_and_(static_cast<std::int64_t>(kMask32));  // (P)
  at::Tensor h = element.unsqueeze(0).bitwise_xor(row);  // (R, P), then hashed in place to [0, 2^32)
  at::Tensor scratch = at::empty_like(h);
  mix32_(h, scratch);
  h.bitwise_xor_(row);
  mix32_(h, scratch);
  return h.to(torch::kDouble).add_(0.5).mul_(1.0 / 4294967296.0).view(x.sizes());
}

std::uint64_t draw_key(const std::string& id) { return fnv1a(id); }

std::uint64_t draw_key(const at::Tensor& content) {
  const at::Tensor bytes = content.detach().to(torch::kCPU).contiguous();
  return fnv1a(bytes.data_ptr(), bytes.nbytes());
}

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
        const at::Tensor s = active_draws ? x * active_draws->uniform_like(x).ge(p).to(x.scalar_type()) / (1.0 - p)
                                          : torch::dropout(x, p, /*train=*/true);
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
      const at::Tensor u = uniforms(x);
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
