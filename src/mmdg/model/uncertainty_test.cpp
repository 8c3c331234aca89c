#include "mmdg/model/uncertainty.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::model {
namespace {

UncertaintyOptions with(Estimator e, std::int64_t t = 20, double p = 0.3) {
  UncertaintyOptions o;
  o.estimator = e;
  o.samples = t;
  o.drop_rate = p;
  return o;
}

// The MC estimate can only take the t + 1 closed-form values |x|/(1-p) sqrt(k(t-k)/(t(t-1))).
TEST(Uncertainty, MonteCarloStdTakesOnlyClosedFormValues) {
  const std::int64_t t = 20;
  const double p = 0.3;
  const auto x = torch::linspace(-2, 2, 41).repeat({50});
  const auto std_mc = dropout_std(x, with(Estimator::MC, t, p));
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double xi = std::abs(x[i].item<double>()), s = std_mc[i].item<double>();
    double best = 1e9;
    for (int k = 0; k <= t; ++k)
      best = std::min(best, std::abs(s - xi / (1 - p) * std::sqrt(k * (t - k) / double(t * (t - 1)))));
    ASSERT_LT(best, 1e-5) << "x=" << xi << " std=" << s;
  }
}

// Same distribution: per-element mean and variance of U over many draws agree.
TEST(Uncertainty, BinomialMatchesMonteCarloInDistribution) {
  torch::manual_seed(3);
  const std::int64_t draws = 20000;
  const auto values = torch::linspace(-1.5, 1.5, 13).to(torch::kDouble);
  const auto x = values.repeat({draws, 1});  // (draws, 13)
  UncertaintyOptions mc = with(Estimator::MC), bin = with(Estimator::Binomial);
  const auto u_mc = reliability(x, mc), u_bin = reliability(x, bin);
  const auto mean_mc = u_mc.mean(0), mean_bin = u_bin.mean(0);
  const auto var_mc = u_mc.var(0), var_bin = u_bin.var(0);
  // Standard errors of the differences (two independent samples), from the pooled moments:
  // SE(mean) = sqrt(2 var / n), SE(var) = sqrt(2 (m4 - var^2) / n). Allow 5 of them.
  const auto centered = u_mc - mean_mc;
  const auto m4 = centered.pow(4).mean(0);
  const auto tol_mean = (2 * var_mc / draws).sqrt() * 5 + 1e-9;
  const auto tol_var = (2 * (m4 - var_mc * var_mc).clamp_min(0) / draws).sqrt() * 5 + 1e-9;
  EXPECT_TRUE(((mean_mc - mean_bin).abs() <= tol_mean).all().item<bool>())
      << "mc " << mean_mc << "\nbinomial " << mean_bin;
  EXPECT_TRUE(((var_mc - var_bin).abs() <= tol_var).all().item<bool>())
      << "mc " << var_mc << "\nbinomial " << var_bin << "\ntolerance " << tol_var;
  EXPECT_GT(var_mc.max().item<double>(), 1e-4);  // the estimate is really random
}

// large-t = |x| sqrt(p / (1 - p)), the large-t mean of both random estimators' std.
TEST(Uncertainty, LargeTMatchesLargeSampleMean) {
  torch::manual_seed(4);
  const double p = 0.3;
  const auto values = torch::tensor({-2.0, -0.5, 0.0, 0.25, 1.0, 3.0});
  const auto large_t = dropout_std(values, with(Estimator::LargeT, 20, p));
  EXPECT_TRUE(torch::allclose(large_t, values.abs() * std::sqrt(p / (1 - p))));
  const auto x = values.repeat({200, 1});
  const auto mc = dropout_std(x, with(Estimator::MC, 2000, p)).mean(0);
  const auto bin = dropout_std(values.repeat({20000, 1}), with(Estimator::Binomial, 2000, p)).mean(0);
  EXPECT_TRUE(torch::allclose(mc, large_t, 1e-2, 1e-4)) << mc << large_t;
  EXPECT_TRUE(torch::allclose(bin, large_t, 1e-2, 1e-4)) << bin << large_t;
}

// expected = the exact mean over the number of kept samples: of the reliability exp(-r_e std)
// and of std, at the paper's t = 20 (where exp of the expected std is visibly biased), against
// the mean of many mc draws.
TEST(Uncertainty, ExpectedIsTheMeanOfManyMonteCarloDraws) {
  torch::manual_seed(7);
  const auto values = torch::tensor({-2.0, -0.5, 0.0, 0.25, 1.0, 3.0});
  UncertaintyOptions o = with(Estimator::Expected, 20, 0.3);
  o.rate = 2.25;
  const auto expected_u = reliability(values, o), expected_std = dropout_std(values, o);
  UncertaintyOptions mc = o;
  mc.estimator = Estimator::MC;
  const auto draws = values.repeat({20000, 1});
  const auto mc_u = reliability(draws, mc).mean(0), mc_std = dropout_std(draws, mc).mean(0);
  EXPECT_TRUE(torch::allclose(expected_u, mc_u, 0, 2e-3)) << expected_u << mc_u;
  EXPECT_TRUE(torch::allclose(expected_std, mc_std, 0, 6e-3)) << expected_std << mc_std;
  // exp of the large-t std differs (Jensen, and E[std] < sqrt(p / (1 - p)) |x| at t = 20): by
  // more than the Monte Carlo tolerance above
  UncertaintyOptions large_t = o;
  large_t.estimator = Estimator::LargeT;
  EXPECT_GT((reliability(values, large_t) - expected_u).abs().max().item<double>(), 5e-3);
  EXPECT_FALSE(reliability(values.requires_grad_(), o).requires_grad());
}

TEST(Uncertainty, ReliabilityIsExpOfScaledStdAndHasNoGradient) {
  UncertaintyOptions o = with(Estimator::LargeT);
  o.rate = 2.25;
  const auto x = torch::randn({3, 4}, torch::requires_grad());
  const auto u = reliability(x, o);
  EXPECT_FALSE(u.requires_grad());
  EXPECT_TRUE(torch::allclose(u, torch::exp(-2.25 * x.detach().abs() * std::sqrt(0.3 / 0.7))));
  EXPECT_TRUE((u <= 1).all().item<bool>());
}

// Keyed draws: a sample's draws are a function of (seed, its key) only, not of the batch it is
// in, its position there or the other samples; the three stacked modality rows of one sample draw
// different streams.
TEST(Uncertainty, KeyedDrawsDependOnTheSampleAndSeedOnly) {
  torch::manual_seed(0);
  const std::int64_t B = 4;
  const auto x = torch::randn({3 * B, 5, 8});  // three modalities stacked, as the U-Adapter ViT calls it
  const std::vector<std::uint64_t> keys = {draw_key("a"), draw_key("b"), draw_key("c"), draw_key("d")};
  for (const auto e : {Estimator::MC, Estimator::Binomial}) {
    const auto o = with(e);
    at::Tensor full, again, sub, other_seed;
    {
      const KeyedDraws draws(7, keys);
      full = dropout_std(x, o);
      EXPECT_FALSE(torch::equal(full, dropout_std(x, o)));  // the next call draws anew
    }
    torch::manual_seed(123);  // LibTorch's generator plays no part
    {
      const KeyedDraws draws(7, keys);
      again = dropout_std(x, o);
    }
    EXPECT_TRUE(torch::equal(full, again));
    // samples c and a alone, in another order: their rows of the full batch exactly
    const auto rows = torch::tensor(std::vector<std::int64_t>{2, 0, B + 2, B, 2 * B + 2, 2 * B});
    {
      const KeyedDraws draws(7, {keys[2], keys[0]});
      sub = dropout_std(x.index_select(0, rows), o);
    }
    EXPECT_TRUE(torch::equal(sub, full.index_select(0, rows))) << enum_name(e);
    {
      const KeyedDraws draws(8, keys);
      other_seed = dropout_std(x, o);
    }
    EXPECT_FALSE(torch::equal(full, other_seed));
    // equal inputs in two modality rows of one sample still draw differently
    const auto same = x.narrow(0, 0, 1).expand({3 * B, 5, 8}).contiguous();
    const KeyedDraws draws(7, keys);
    const auto s = dropout_std(same, o);
    EXPECT_FALSE(torch::equal(s[0], s[B]));
    EXPECT_FALSE(torch::equal(s[0], s[1]));
  }
  const KeyedDraws draws(7, keys);
  EXPECT_MMDG_ERROR(dropout_std(torch::randn({5, 3}), with(Estimator::Binomial)), "not a multiple of the 4 sample keys");
}

// The keyed uniforms are uniform and uncorrelated: moments, a chi-square over 64 bins, and the
// correlation of neighbouring elements, of neighbouring samples and of consecutive draws.
TEST(Uncertainty, KeyedUniformsAreUniformAndIndependent) {
  std::vector<std::uint64_t> keys;
  for (int i = 0; i < 64; ++i) keys.push_back(draw_key("sample" + std::to_string(i)));
  KeyedDraws draws(3, keys);
  const auto shape = torch::zeros({64, 4096});
  const auto u = draws.uniform_like(shape), v = draws.uniform_like(shape);
  ASSERT_EQ(u.scalar_type(), torch::kDouble);
  const double n = static_cast<double>(u.numel());
  EXPECT_GT(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(u.var().item<double>(), 1.0 / 12, 5 * std::sqrt(1.0 / 180 / n));
  const auto counts = torch::histc(u.to(torch::kFloat), 64, 0, 1).to(torch::kDouble);
  const double expected = n / 64, chi2 = ((counts - expected).pow(2) / expected).sum().item<double>();
  EXPECT_LT(chi2, 63 + 5 * std::sqrt(2.0 * 63)) << chi2;  // 63 degrees of freedom, about 5 sigma
  const auto corr = [&](const at::Tensor& a, const at::Tensor& b) {
    const auto ca = a - a.mean(), cb = b - b.mean();
    return ((ca * cb).mean() / (ca.std() * cb.std())).item<double>();
  };
  const double tol = 5 / std::sqrt(n / 2);
  EXPECT_NEAR(corr(u.narrow(1, 0, 4095), u.narrow(1, 1, 4095)), 0.0, tol);  // neighbouring elements
  EXPECT_NEAR(corr(u.narrow(0, 0, 63), u.narrow(0, 1, 63)), 0.0, tol);      // neighbouring samples
  EXPECT_NEAR(corr(u, v), 0.0, tol);                                         // consecutive draws
}

// Keyed mc and binomial draws have the closed-form mean of the std (the expected estimator's):
// one element repeated over 4000 samples, each with its own key.
TEST(Uncertainty, KeyedEstimatorsHaveTheClosedFormMean) {
  const std::int64_t n = 4000;
  std::vector<std::uint64_t> keys;
  for (std::int64_t i = 0; i < n; ++i) keys.push_back(draw_key("s" + std::to_string(i)));
  const auto x = torch::tensor({0.3, -1.2, 2.0}, torch::kDouble).expand({n, 3}).contiguous();
  const auto expected_std = dropout_std(x[0], with(Estimator::Expected));
  for (const auto e : {Estimator::MC, Estimator::Binomial}) {
    const KeyedDraws draws(11, keys);
    const auto s = dropout_std(x, with(e));
    const auto tol = s.std(0) / std::sqrt(static_cast<double>(n)) * 5;
    EXPECT_TRUE(((s.mean(0) - expected_std).abs() <= tol).all().item<bool>())
        << enum_name(e) << ": " << s.mean(0) << " vs " << expected_std;
  }
}

TEST(Uncertainty, UnknownEstimatorIsNamed) { EXPECT_MMDG_ERROR(parse_enum<Estimator>("gauss", "estimator"), "option estimator: unknown value 'gauss' (expected one of: mc, binomial, expected, large-t)"); }

}  // namespace
}  // namespace mmdg::model
