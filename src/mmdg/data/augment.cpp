#include "mmdg/data/augment.h"

#include <torch/torch.h>

#include <cmath>
#include <random>

#include "mmdg/util/error.h"

namespace mmdg::data {

void AugmentOptions::validate() const {
  if (brightness < 0 || brightness >= 1) throw UsageError("option brightness: must be in [0, 1)");
  if (gamma < 0 || gamma > 2) throw UsageError("option gamma: must be in [0, 2]");
  if (cutout < 0 || cutout >= 1) throw UsageError("option cutout: must be in [0, 1)");
}

void augment(std::array<at::Tensor, 3>& images, const AugmentOptions& o, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const bool flip = o.hflip && unit(rng) < 0.5;
  const double factor = 1.0 + o.brightness * (2 * unit(rng) - 1);
  const double exponent = std::exp(o.gamma * (2 * unit(rng) - 1));
  const std::int64_t S = images[0].size(1), W = images[0].size(2);
  const std::int64_t side = static_cast<std::int64_t>(std::round(o.cutout * S));
  const std::int64_t y0 = side > 0 ? static_cast<std::int64_t>(unit(rng) * (S - side + 1)) : 0;
  const std::int64_t x0 = side > 0 ? static_cast<std::int64_t>(unit(rng) * (W - side + 1)) : 0;
  for (auto& x : images) {
    at::Tensor y = flip ? x.flip({2}) : x;
    if (factor != 1.0 || exponent != 1.0) y = (y * factor).clamp(0, 1).pow(exponent);
    if (side > 0) {
      y = y.clone();
      y.slice(1, y0, y0 + side).slice(2, x0, x0 + side).zero_();
    }
    x = y.contiguous();
  }
}

}  // namespace mmdg::data
