#include "mmdg/data/corruption.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

constexpr std::int64_t S = 48;

// A face-like depth image: a disc of readings in [0.3, 0.9] on no reading (0), three channels.
at::Tensor depth_image() {
  const auto yy = torch::arange(S).view({S, 1}).expand({S, S}).to(torch::kFloat);
  const auto xx = torch::arange(S).view({1, S}).expand({S, S}).to(torch::kFloat);
  const auto r2 = ((yy - S / 2.0) * (yy - S / 2.0) + (xx - S / 2.0) * (xx - S / 2.0)) / (S * S / 9.0);
  const auto d = torch::where(r2 < 1, 0.9 - 0.6 * r2, torch::zeros_like(r2));
  return d.unsqueeze(0).expand({3, S, S}).contiguous();
}
at::Tensor ir_image() { return torch::linspace(0, 1, S).view({1, 1, S}).expand({3, S, S}).contiguous(); }
at::Tensor rgb_image() {
  torch::manual_seed(3);
  return torch::rand({3, S, S}) * 0.6 + 0.2;
}
at::Tensor image_for(const CorruptionInfo& c) { return c.modality == 0 ? rgb_image() : c.modality == 1 ? depth_image() : ir_image(); }

TEST(Corruption, SeverityZeroIsTheIdentityAndDrawsAreSeeded) {
  for (const auto& c : corruptions()) {
    const auto image = image_for(c);
    EXPECT_TRUE(torch::equal(corrupt(c.name, image, 0.0, 1).image, image)) << c.name;
    const auto a = corrupt(c.name, image, 0.6, 7), b = corrupt(c.name, image, 0.6, 7);
    EXPECT_TRUE(torch::equal(a.image, b.image)) << c.name;
    EXPECT_FALSE(torch::equal(a.image, image)) << c.name;
    EXPECT_EQ(a.mask.defined(), c.local) << c.name;
    EXPECT_EQ(a.image.sizes(), image.sizes()) << c.name;
    if (c.modality != 0) {  // one channel, replicated
      EXPECT_TRUE(torch::equal(a.image[0], a.image[2])) << c.name;
    }
  }
  EXPECT_FALSE(torch::equal(corrupt("depth_noise", depth_image(), 0.6, 7).image, corrupt("depth_noise", depth_image(), 0.6, 8).image));
}

TEST(Corruption, DepthDropoutRemovesTheAskedFractionOfTheFace) {
  const auto image = depth_image();
  const auto valid = image[0] > 0;
  const double total = valid.sum().item<double>();
  for (double s : {0.25, 0.5, 1.0}) {
    const auto c = corrupt("depth_dropout", image, s, 11);
    const auto gone = valid & (c.image[0] == 0);
    EXPECT_TRUE(torch::equal(gone, c.mask)) << s;
    const double fraction = gone.sum().item<double>() / total;
    EXPECT_GE(fraction, s) << s;
    EXPECT_LT(fraction, s + 0.2) << s;  // one blob of radius <= S/8 overshoots at most by its area
    EXPECT_TRUE(torch::equal(c.image[0].masked_select(~gone), image[0].masked_select(~gone)));  // the rest untouched
  }
}

TEST(Corruption, DepthNoiseAndRangeHaveTheirStatistics) {
  const auto image = depth_image();
  const auto valid = image[0] > 0;
  const auto before = image[0].masked_select(valid);
  const auto noisy = corrupt("depth_noise", image, 0.4, 5);
  const auto diff = noisy.image[0].masked_select(valid) - before;
  EXPECT_NEAR(diff.std().item<double>(), 0.15 * 0.4, 0.15 * 0.4 * 0.12);  // clipping at [1/255, 1] trims a little
  EXPECT_TRUE(torch::equal(noisy.image[0].masked_select(~valid), image[0].masked_select(~valid)));
  EXPECT_TRUE(torch::equal(noisy.mask, valid));
  const auto squeezed = corrupt("depth_range", image, 0.5, 5).image[0].masked_select(valid);
  EXPECT_NEAR(squeezed.mean().item<double>(), before.mean().item<double>(), 1e-5);
  EXPECT_NEAR(squeezed.std().item<double>(), (1 - 0.9 * 0.5) * before.std().item<double>(), 1e-5);
}

TEST(Corruption, NirGainAndSaturationAreClosedForm) {
  const auto image = ir_image();
  const auto sat = corrupt("ir_saturation", image, 0.5, 0);
  EXPECT_TRUE(torch::allclose(sat.image, (image * 2.5).clamp_max(1)));
  EXPECT_TRUE(torch::equal(sat.mask, image[0] * 2.5 > 1));
  EXPECT_NEAR(sat.mask.to(torch::kFloat).mean().item<double>(), 1 - 1 / 2.5, 0.03);  // a ramp: the share above 1 / gain
  EXPECT_TRUE(torch::allclose(corrupt("ir_gain", image, 0.5, 0).image, image * 0.6));
}

TEST(Corruption, RgbLowLightBlurAndJpeg) {
  const auto image = rgb_image();
  const auto dark = corrupt("rgb_lowlight", image, 0.5, 2).image;
  const auto residual = dark - image * (1 - 0.85 * 0.5);
  EXPECT_NEAR(residual.mean().item<double>(), 0.0, 0.003);
  EXPECT_NEAR(residual.std().item<double>(), 0.05 * 0.5, 0.003);
  // blur: a constant image stays constant; the pixel variance of noise falls
  const auto flat = torch::full({3, S, S}, 0.4);
  EXPECT_TRUE(torch::allclose(corrupt("rgb_blur", flat, 1.0, 0).image, flat, 1e-5, 1e-6));
  EXPECT_LT(corrupt("rgb_blur", image, 0.5, 0).image.var().item<double>(), 0.2 * image.var().item<double>());
  const auto j = corrupt("rgb_jpeg", image, 1.0, 0).image;
  const double mse = (j - image).pow(2).mean().item<double>();
  EXPECT_GT(mse, 1e-5);
  EXPECT_GT(10 * std::log10(1 / mse), 12.0);  // a lossy copy, not another image
}

TEST(Corruption, ShiftsAndZeroing) {
  const auto image = ir_image();
  const auto dx = static_cast<std::int64_t>(std::lround(0.5 * S / 8.0));
  const auto moved = corrupt("ir_shift", image, 0.5, 0).image;
  EXPECT_TRUE(torch::equal(moved.narrow(2, dx, S - dx), image.narrow(2, 0, S - dx)));
  EXPECT_EQ(moved.narrow(2, 0, dx).abs().sum().item<double>(), 0.0);
  const auto normalized = torch::randn({3, S, S});
  EXPECT_EQ(corrupt("depth_zero", normalized, 1.0, 0).image.abs().sum().item<double>(), 0.0);  // Protocol 2's missing input
  EXPECT_TRUE(torch::allclose(corrupt("rgb_zero", normalized, 0.25, 0).image, normalized * 0.75));
}

TEST(Corruption, BadNamesAndSeveritiesAreNamed) {
  EXPECT_MMDG_ERROR(corruption("fog"), "unknown corruption 'fog' (known: depth_dropout, depth_noise");
  EXPECT_MMDG_ERROR(corrupt("ir_gain", ir_image(), 1.5, 0), "severity 1.5");
  EXPECT_MMDG_ERROR(corrupt("ir_gain", torch::zeros({S, S}), 0.5, 0), "expected a (3, S, S) image");
}

}  // namespace
}  // namespace mmdg::data
