#include "mmdg/train/ssp_loss.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

TEST(SSPLoss, HandComputedValue) {
  // c = (0, 0); p0 = (3, 4) at distance 5, p1 = (0, 1) at distance 1; true domain 0
  const auto c = torch::zeros({1, 2}, torch::kDouble);
  const auto p = torch::tensor({3.0, 4.0, 0.0, 1.0}, torch::kDouble).view({2, 2});
  const auto valid = torch::ones({2}, torch::kBool);
  const auto loss = ssp_loss(c, p, valid, torch::tensor({0}, torch::kLong));
  EXPECT_NEAR(loss.item<double>(), std::log(1 + std::exp(4.0)), 1e-9);  // -log(e^-5 / (e^-5 + e^-1))
  // a prototype without samples is left out of the softmax
  const auto p3 = torch::cat({p, torch::tensor({0.0, 0.0}, torch::kDouble).view({1, 2})});
  const auto valid3 = torch::tensor({true, true, false});
  EXPECT_NEAR(ssp_loss(c, p3, valid3, torch::tensor({0}, torch::kLong)).item<double>(), std::log(1 + std::exp(4.0)), 1e-9);
  // and a sample of such a domain out of the loss
  const auto two = torch::zeros({2, 2}, torch::kDouble);
  EXPECT_NEAR(ssp_loss(two, p3, valid3, torch::tensor({0, 2}, torch::kLong)).item<double>(), std::log(1 + std::exp(4.0)), 1e-9);
  EXPECT_EQ(ssp_loss(c, p3, valid3, torch::tensor({2}, torch::kLong)).item<double>(), 0.0);
}

TEST(SSPLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(2);
  const auto p = torch::randn({4, 5}, torch::kDouble);
  const auto valid = torch::tensor({true, true, false, true});
  const auto domains = torch::tensor({0, 3, 1, 0}, torch::kLong);
  auto c = torch::randn({4, 5}, torch::kDouble).requires_grad_(true);
  ssp_loss(c, p, valid, domains).backward();
  const auto analytic = c.grad().clone();
  const double h = 1e-6;
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    auto plus = c.detach().clone(), minus = c.detach().clone();
    plus.view(-1)[i] += h;
    minus.view(-1)[i] -= h;
    const double numeric = (ssp_loss(plus, p, valid, domains).item<double>() - ssp_loss(minus, p, valid, domains).item<double>()) / (2 * h);
    EXPECT_NEAR(analytic.view(-1)[i].item<double>(), numeric, 1e-6) << i;
  }
}

TEST(SSPLoss, DomainsAreLiveOrSpoofPerSource) {
  const auto d = ssp_domain(torch::tensor({1, 0, 0, 1}, torch::kLong), torch::tensor({2, 0, 2, 1}, torch::kLong));
  EXPECT_TRUE(torch::equal(d, torch::tensor({0, 1, 3, 0}, torch::kLong)));
}

TEST(Prototypes, EpochAndMovingAverageUpdates) {
  Prototypes p(3, 2);
  p.set_from_sums(torch::tensor({2.0f, 4.0f, 0.0f, 0.0f, 3.0f, 3.0f}).view({3, 2}), torch::tensor({2, 0, 3}));
  EXPECT_TRUE(torch::equal(p.valid(), torch::tensor({true, false, true})));
  EXPECT_TRUE(torch::allclose(p.values()[0], torch::tensor({1.0f, 2.0f})));
  Prototypes ema(3, 2, PrototypeUpdate::Ema, 0.5);
  ema.update_from_batch(torch::tensor({1.0f, 1.0f, 3.0f, 3.0f}).view({2, 2}), torch::tensor({0, 0}, torch::kLong));
  EXPECT_TRUE(torch::allclose(ema.values()[0], torch::tensor({2.0f, 2.0f})));  // first sight: the batch mean
  EXPECT_FALSE(ema.valid()[1].item<bool>());                                    // empty domain untouched
  ema.update_from_batch(torch::tensor({4.0f, 0.0f}).view({1, 2}), torch::tensor({0}, torch::kLong));
  EXPECT_TRUE(torch::allclose(ema.values()[0], torch::tensor({3.0f, 1.0f})));  // 0.5 old + 0.5 new
  EXPECT_MMDG_ERROR(Prototypes(3, 2, PrototypeUpdate::Ema, 1.0), "prototype_momentum");
  EXPECT_MMDG_ERROR(parse_enum<PrototypeUpdate>("median", "prototype_update"), "expected one of: epoch, ema");
}

}  // namespace
}  // namespace mmdg::train
