// The defining mechanism of each comparison strategy against an independent computation: the
// gradient reversal's sign and scale, SSDG's triplet loss (brute force over triplets) and classes,
// SSAN's contrastive loss and token AdaIN, IADG's covariance (brute force), whitening loss and
// Dirichlet weights, PMR's rebalancing weights, OGM-GE's coefficient, CMFL's cross-modal factor.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "mmdg/train/adversarial.h"
#include "mmdg/train/cmfl_strategy.h"
#include "mmdg/train/iadg_strategy.h"
#include "mmdg/train/ogm_ge_strategy.h"
#include "mmdg/train/pmr_strategy.h"
#include "mmdg/train/ssan_strategy.h"
#include "mmdg/train/ssdg_strategy.h"
#include "mmdg/train/token_style.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

TEST(GradientReversal, IdentityForwardNegatedScaledBackward) {
  const auto x = torch::randn({4, 3}, torch::requires_grad());
  const auto y = reverse_gradient(x, 0.25);
  EXPECT_TRUE(torch::equal(y, x));
  const auto upstream = torch::randn({4, 3});
  (y * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), -0.25 * upstream));
  EXPECT_DOUBLE_EQ(reversal_coefficient(0), 0.0);
  EXPECT_NEAR(reversal_coefficient(0.5), 2 / (1 + std::exp(-5.0)) - 1, 1e-12);
  EXPECT_NEAR(reversal_coefficient(1), 0.9999092, 1e-6);
}

// Independent batch-all triplet loss: explicit loops over (a, p, n).
double brute_force_triplet(const torch::Tensor& e, const std::vector<int>& cls, double margin) {
  const auto n = static_cast<int>(cls.size());
  const auto d = [&](int i, int j) { return (e[i] - e[j]).norm().item<double>(); };
  double sum = 0;
  int active = 0;
  for (int a = 0; a < n; ++a)
    for (int p = 0; p < n; ++p)
      for (int q = 0; q < n; ++q) {
        if (a == p || cls[a] != cls[p] || cls[a] == cls[q]) continue;
        const double l = std::max(0.0, d(a, p) - d(a, q) + margin);
        sum += l;
        active += l > 1e-16;
      }
  return active ? sum / active : 0.0;
}

TEST(SSDG, TripletLossMatchesTheTripletsOneByOne) {
  // hand example on a line: live at 0 and 1, spoof of source 0 at 1.05 -> the only active triplets
  // have the live pair (distance 1) against the spoof at 1.05 (0.05 from one of them)
  const auto line = torch::tensor({{0.0}, {1.0}, {1.05}});
  // (a=0,p=1,n=2): relu(1 - 1.05 + 0.1) = 0.05; (a=1,p=0,n=2): relu(1 - 0.05 + 0.1) = 1.05
  EXPECT_NEAR(batch_all_triplet_loss(line, torch::tensor({0, 0, 1}), 0.1).item<double>(), (0.05 + 1.05) / 2, 1e-6);
  torch::manual_seed(1);
  const auto e = torch::randn({9, 4});
  const std::vector<int> cls{0, 0, 0, 1, 1, 2, 2, 0, 3};
  const auto classes = torch::tensor(std::vector<std::int64_t>(cls.begin(), cls.end()));
  for (double margin : {0.1, 2.0})
    EXPECT_NEAR(batch_all_triplet_loss(e, classes, margin).item<double>(), brute_force_triplet(e, cls, margin), 1e-5);
  // no valid triplet (one class): 0
  EXPECT_EQ(batch_all_triplet_loss(e, torch::zeros({9}, torch::kLong), 0.1).item<double>(), 0.0);
  // live faces of every source are one class; spoofs one class per source
  const auto c = single_side_classes(torch::tensor({1, 1, 0, 0, 0}), torch::tensor({0, 2, 0, 1, 2}));
  EXPECT_TRUE(torch::equal(c, torch::tensor({0, 0, 1, 2, 3})));
}

TEST(SSAN, ContrastiveLossPullsSameLabelPushesOthersAndStopsTheAnchorGradient) {
  const auto anchor = torch::tensor({{1.0, 0.0}, {1.0, 0.0}, {0.0, 2.0}}, torch::requires_grad());
  const auto shuffled = torch::tensor({{0.0, 1.0}, {3.0, 0.0}, {0.0, 1.0}}, torch::requires_grad());
  const auto same = torch::tensor({true, false, true});
  // cosines 0, 1, 1 -> -(+1 * 0), -(-1 * 1), -(+1 * 1) -> mean (0 + 1 - 1) / 3
  const auto loss = shuffled_contrastive_loss(anchor, shuffled, same);
  EXPECT_NEAR(loss.item<double>(), 0.0, 1e-6);
  loss.backward();
  EXPECT_FALSE(anchor.grad().defined());
  EXPECT_TRUE(shuffled.grad().defined());
  EXPECT_EQ(assembly_block(-1, 12, "ssan_block"), 10u);
  EXPECT_EQ(assembly_block(-1, 1, "ssan_block"), 0u);
  EXPECT_MMDG_ERROR(assembly_block(12, 12, "ssan_block"), "option ssan_block: 12 is not a block");
}

TEST(TokenStyle, AdaINGivesThePatchTokensTheStyleAndLeavesTheClassToken) {
  torch::manual_seed(2);
  const auto h = torch::randn({2, 17, 5}) * 3 + 1;  // (B, L, C)
  const TokenStyle target{torch::randn({2, 5}), torch::rand({2, 5}) + 0.5};
  const auto styled = restyle_tokens(h, target);
  EXPECT_TRUE(torch::equal(styled.select(1, 0), h.select(1, 0)));
  const auto got = token_style(styled, 0.0);
  EXPECT_TRUE(torch::allclose(got.mean, target.mean, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(got.std, target.std, 1e-3, 1e-3));
  EXPECT_TRUE(torch::allclose(restyle_tokens(h, token_style(h)), h, 1e-4, 1e-4));  // its own style: unchanged
}

TEST(IADG, CovarianceWhiteningLossAndDirichletWeights) {
  torch::manual_seed(3);
  const auto h = torch::randn({2, 9, 4});  // 8 patch tokens
  const auto standardized = token_covariance(h, IADGCovariance::Standardized, 0.0);
  const auto cov = token_covariance(h, IADGCovariance::Raw, 0.5);
  for (std::int64_t b = 0; b < 2; ++b) {  // brute force over the 8 patch tokens
    const auto p = h[b].narrow(0, 1, 8);
    const auto mean = p.mean(0), std = p.var(0, false).sqrt();
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        double s = 0, raw = 0;
        for (int t = 0; t < 8; ++t) {
          s += ((p[t][i] - mean[i]) / std[i]).item<double>() * ((p[t][j] - mean[j]) / std[j]).item<double>();
          raw += (p[t][i] * p[t][j]).item<double>();  // the reference: neither centred nor scaled
        }
        EXPECT_NEAR(standardized[b][i][j].item<double>(), s / 7, 1e-5);
        EXPECT_NEAR(cov[b][i][j].item<double>(), raw / 7 + (i == j ? 0.5 : 0.0), 1e-5);
      }
  }
  auto mask = torch::zeros({4, 4}, torch::kBool);
  mask[0][1] = true;
  mask[2][3] = true;
  const double expected = ((cov[0][0][1].abs() + cov[0][2][3].abs()) / 2 + (cov[1][0][1].abs() + cov[1][2][3].abs()) / 2).item<double>() / 2;
  EXPECT_NEAR(whitening_loss(cov, mask).item<double>(), expected, 1e-6);
  EXPECT_EQ(whitening_loss(cov, torch::zeros({4, 4}, torch::kBool)).item<double>(), 0.0);
  const auto w = sample_dirichlet(4000, 8, 1.0 / 8, torch::TensorOptions());
  EXPECT_TRUE(torch::allclose(w.sum(1), torch::ones({4000}), 1e-5, 1e-5));
  EXPECT_GE(w.min().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(w.mean(0), torch::full({8}, 1.0 / 8), 0, 0.02));  // E[w_k] = 1 / K
  // Var[w_k] = a_k (a_0 - a_k) / (a_0^2 (a_0 + 1)) with a_k = 1/8, a_0 = 1: 7/128
  EXPECT_TRUE(torch::allclose(w.var(0), torch::full({8}, 7.0 / 128), 0, 0.006));
}

TEST(PMR, RebalancingWeightsReduceToThePapersTwoModalityRule) {
  // rho = s_0 / s_1 = 2 with the two others equal: beta_0 = clip(1/rho - 1) = 0, gamma_0 = clip(rho - 1) = 1
  auto w = pmr_weights({2.0, 1.0, 1.0});
  EXPECT_DOUBLE_EQ(w.beta[0], 0.0);
  EXPECT_DOUBLE_EQ(w.gamma[0], 1.0);
  EXPECT_DOUBLE_EQ(w.beta[1], 0.5);  // others' mean 1.5 against 1
  EXPECT_DOUBLE_EQ(w.gamma[1], 0.0);
  w = pmr_weights({1.0, 1.25, 1.25});  // rho = 0.8: beta_0 = 1/0.8 - 1 = 0.25
  EXPECT_NEAR(w.beta[0], 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(w.gamma[0], 0.0);
  w = pmr_weights({3.0, 3.0, 3.0});  // balanced: nothing
  for (int m = 0; m < 3; ++m) EXPECT_EQ(w.beta[m] + w.gamma[m], 0.0);
  // scores from known prototypes: a feature at a class center has p = softmax(-(0, |c1 - c0|))
  const auto centers = torch::tensor({{0.0, 0.0}, {3.0, 4.0}});  // spoof, live: 5 apart
  const auto p = torch::softmax(-torch::cdist(torch::tensor({{3.0, 4.0}}), centers), 1);
  EXPECT_NEAR(p[0][1].item<double>(), 1 / (1 + std::exp(-5.0)), 1e-6);
}

TEST(OGMGE, CoefficientOnKnownLogits) {
  // modality shares of the fused logits for labels (1, 0): scores s_m = sum_i softmax(out_m)_i[y_i]
  const std::array<torch::Tensor, 3> out{torch::tensor({{0.0, 3.0}, {2.0, 0.0}}), torch::tensor({{0.0, 0.5}, {0.0, 0.0}}),
                                         torch::tensor({{0.0, 0.0}, {0.5, 0.0}})};
  const auto labels = torch::tensor({1, 0});
  std::array<double, 3> s{};
  for (int m = 0; m < 3; ++m) s[m] = torch::softmax(out[m], 1).gather(1, labels.unsqueeze(1)).sum().item<double>();
  const double sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); }(0.5);
  EXPECT_NEAR(s[1], sigmoid + 0.5, 1e-6);
  EXPECT_NEAR(s[2], 0.5 + sigmoid, 1e-6);
  const auto c = ogm_coefficients(s, 0.1, OGMCoefficient::Paper);
  const double rho = s[0] / ((s[1] + s[2]) / 2);  // the two-modality s_a / s_v when the others tie
  EXPECT_NEAR(c.ratio[0], rho, 1e-12);
  EXPECT_NEAR(c.coefficient[0], 1 - std::tanh(0.1 * rho), 1e-12);
  EXPECT_EQ(c.coefficient[1], 1.0);
  EXPECT_EQ(c.coefficient[2], 1.0);
  const auto shifted = ogm_coefficients(s, 0.1, OGMCoefficient::Shifted);
  EXPECT_NEAR(shifted.coefficient[0], 1 - std::tanh(0.1 * (rho - 1)), 1e-12);
  EXPECT_EQ(ogm_coefficients({1, 1, 1}, 0.5, OGMCoefficient::Shifted).coefficient[0], 1.0);
}

TEST(CMFL, CrossModalFactorAndTheTwoStreamReduction) {
  const std::array<double, 3> p{0.9, 0.5, 0.7};
  std::array<torch::Tensor, 3> ce;
  for (int m = 0; m < 3; ++m) ce[m] = torch::tensor({-std::log(p[m])}, torch::kDouble);
  const auto terms = cross_modal_focal_terms(ce, 3.0, false);
  for (int m = 0; m < 3; ++m) {
    const double q = (p[(m + 1) % 3] + p[(m + 2) % 3]) / 2;
    const double w = q * 2 * p[m] * q / (p[m] + q);
    EXPECT_NEAR(terms[m].item<double>(), std::pow(1 - w, 3) * -std::log(p[m]), 1e-8) << m;
  }
  // two streams (the reference): the other two equal q -> w(p, q) = q * harmonic mean(p, q)
  std::array<torch::Tensor, 3> two{torch::tensor({-std::log(0.8)}, torch::kDouble), torch::tensor({-std::log(0.6)}, torch::kDouble),
                                   torch::tensor({-std::log(0.6)}, torch::kDouble)};
  const double w = 0.6 * (2 * 0.8 * 0.6 / (0.8 + 0.6));
  EXPECT_NEAR(cross_modal_focal_terms(two, 2.0, true)[0].item<double>(), std::pow(1 - w, 2) * -std::log(0.8), 1e-8);
  // a confident other modality lowers a confident modality's loss below its CE; a wrong one does not
  EXPECT_LT(terms[0].item<double>(), ce[0].item<double>());
}

}  // namespace
}  // namespace mmdg::train
