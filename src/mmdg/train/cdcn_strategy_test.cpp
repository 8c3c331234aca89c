// MM-CDCN's losses (cdcn_strategy.h) on hand examples.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/train/cdcn_strategy.h"

namespace mmdg::train {
namespace {

TEST(CDCNLoss, ContrastiveDepthOnAHandExample) {
  const auto m = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 10.f}).view({1, 3, 3});
  const auto c = contrast_depth(m);  // (1, 8, 1, 1): each neighbour minus the centre 5
  EXPECT_TRUE(torch::equal(c.flatten(), torch::tensor({-4.f, -3.f, -2.f, -1.f, 1.f, 2.f, 3.f, 5.f})));
  const auto zeros = torch::zeros({1, 3, 3});
  // against a flat target: mean of the squared differences (16 + 9 + 4 + 1 + 1 + 4 + 9 + 25) / 8
  EXPECT_NEAR(contrast_depth_loss(m, zeros).item<double>(), 69.0 / 8, 1e-6);
  const auto target = binary_target_maps(torch::tensor({1, 0}, torch::kLong), 4, torch::kFloat);
  EXPECT_TRUE(torch::equal(target[0], torch::ones({4, 4})));
  EXPECT_TRUE(torch::equal(target[1], torch::zeros({4, 4})));
  EXPECT_EQ(contrast_depth_loss(target, target).item<float>(), 0.f);
}

}  // namespace
}  // namespace mmdg::train
