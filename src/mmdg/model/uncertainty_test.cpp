#include "mmdg/model/uncertainty.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

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

TEST(Uncertainty, UnknownEstimatorIsNamed) { EXPECT_MMDG_ERROR(parse_enum<Estimator>("gauss", "estimator"), "option estimator: unknown value 'gauss' (expected one of: mc, binomial, expected, large-t)"); }

}  // namespace
}  // namespace mmdg::model
