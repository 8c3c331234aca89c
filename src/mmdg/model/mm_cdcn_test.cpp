// MM-CDCN (mm_cdcn.h) recomputed layer by layer from its weights with plain functional calls, the
// map's shape and score, and the parameter counts at the paper's size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/model/cdc.h"
#include "mmdg/model/mm_cdcn.h"
#include "mmdg/util/test_util.h"

namespace mmdg::model {
namespace {

namespace F = torch::nn::functional;

NetworkOptions tiny_cdcn() {
  auto o = NetworkOptions::preset("mmdg_tiny");  // S = 32, c = 4: maps 4 x 4
  o.network = "mm-cdcn";
  return o;
}

// CDC by its definition (Yu et al. 2020, Eq. 2 with theta): theta * sum_n w_n (x(p0 + p_n) - x(p0))
// + (1 - theta) * sum_n w_n x(p0 + p_n), padding 1 (zero outside).
torch::Tensor cdc_by_definition(const torch::Tensor& x, const torch::Tensor& w, double theta) {
  const auto xp = F::pad(x, F::PadFuncOptions({1, 1, 1, 1}));
  const auto H = x.size(2), W = x.size(3);
  auto out = torch::zeros({x.size(0), w.size(0), H, W});
  for (int dy = 0; dy < 3; ++dy)
    for (int dx = 0; dx < 3; ++dx) {
      const auto shifted = xp.narrow(2, dy, H).narrow(3, dx, W);                          // x(p0 + p_n)
      const auto tap = w.select(3, dx).select(2, dy);                                      // (out, in)
      const auto plain = torch::einsum("oi,bihw->bohw", {tap, shifted});
      const auto diff = torch::einsum("oi,bihw->bohw", {tap, shifted - x});
      out += theta * diff + (1 - theta) * plain;
    }
  return out;
}

// One conv / BN / ReLU triple of a Sequential starting at index i (BN in eval: running statistics).
torch::Tensor triple(torch::nn::Sequential seq, std::size_t i, const torch::Tensor& x, double theta) {
  const auto conv = seq[i]->as<Conv2dCDImpl>();
  const auto bn = seq[i + 1]->as<torch::nn::BatchNorm2dImpl>();
  const auto y = cdc_by_definition(x, conv->conv->weight, theta);
  const auto scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
  const auto shift = bn->bias - bn->running_mean * scale;
  return torch::relu(y * scale.view({1, -1, 1, 1}) + shift.view({1, -1, 1, 1}));
}

torch::Tensor block_by_hand(torch::nn::Sequential seq, const torch::Tensor& x, double theta) {
  auto y = triple(seq, 6, triple(seq, 3, triple(seq, 0, x, theta), theta), theta);
  return F::max_pool2d(y, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
}

TEST(MMCDCN, MapFollowsTheAuthorsLayersAndScoresItsMean) {
  torch::manual_seed(11);
  auto net = std::dynamic_pointer_cast<MultiModalCDCNImpl>(make_network(tiny_cdcn()));
  ASSERT_NE(net, nullptr);
  {
    torch::NoGradGuard no_grad;  // non-trivial BN statistics
    for (auto& b : net->named_buffers())
      if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
      else if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
    for (auto& p : net->named_parameters())
      if (p.key().find(".conv.") == std::string::npos) p.value().uniform_(0.5, 1.5);  // BN affine
  }
  net->eval();
  const double theta = 0.7;
  const std::array<torch::Tensor, 3> x{torch::randn({2, 3, 32, 32}), torch::randn({2, 3, 32, 32}), torch::randn({2, 3, 32, 32})};
  torch::NoGradGuard no_grad;
  const auto out = net->forward(x[0], x[1], x[2]);
  ASSERT_EQ(out.map.sizes().vec(), (std::vector<std::int64_t>{2, 4, 4}));  // S / 8
  const auto resize = [](const torch::Tensor& t) {
    return F::interpolate(t, F::InterpolateFuncOptions().size(std::vector<std::int64_t>{4, 4}).mode(torch::kBilinear).align_corners(false));
  };
  std::vector<torch::Tensor> branches;
  for (int k = 0; k < 3; ++k) {  // each branch its own blocks (the authors' Depth branch reuses RGB's Block2 resize)
    const auto stem = triple(net->conv1[k], 0, x[k], theta);
    const auto b1 = block_by_hand(net->block1[k], stem, theta);  // (B, 8, 16, 16)
    const auto b2 = block_by_hand(net->block2[k], b1, theta);    // (B, 8, 8, 8)
    const auto b3 = block_by_hand(net->block3[k], b2, theta);    // (B, 8, 4, 4)
    EXPECT_EQ(b1.size(1), 8);
    EXPECT_EQ(net->block1[k][3]->as<Conv2dCDImpl>()->conv->weight.size(0), 12);  // 196 c / 64 at c = 4
    branches.push_back(triple(net->lastconv1[k], 0, torch::cat({resize(b1), resize(b2), b3}, 1), theta));
  }
  const auto fused = triple(net->lastconv2, 0, torch::cat(branches, 1), theta);
  const auto map = torch::relu(cdc_by_definition(fused, net->lastconv3[0]->as<Conv2dCDImpl>()->conv->weight, theta)).squeeze(1);
  EXPECT_TRUE(torch::allclose(out.map, map, 1e-4, 1e-5)) << (out.map - map).abs().max();
  const auto p = map.mean({1, 2}).clamp(1e-6, 1 - 1e-6);
  EXPECT_TRUE(torch::allclose(torch::softmax(out.logits, 1).select(1, 1), p, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(out.embedding, fused.mean({2, 3}), 1e-4, 1e-5));
  EXPECT_EQ(net->feature_dim(), 8);
}

TEST(MMCDCN, ParametersAtThePapersSizeAndErrors) {
  auto o = NetworkOptions::preset("mmdg_b16");
  o.network = "mm-cdcn";
  o.backbone.image_size(256);
  const auto counts = count_parameters(*make_network(o));
  // per branch: CDC weights 3*64*9 + (64*128 + 128*196 + 196*128 + 2 * (128*128 + 128*196 + 196*128)) * 9
  // + 384*128*9, BN 2 * (64 + 3 * 452 + 128); fusion 384*128*9 + 2 * 128 and 128*9
  const std::int64_t branch = 3 * 64 * 9 + (64 * 128 + 128 * 196 + 196 * 128 + 2 * (128 * 128 + 2 * 128 * 196)) * 9 +
                              384 * 128 * 9 + 2 * (64 + 3 * 452 + 128);
  EXPECT_EQ(counts.total, 3 * branch + 384 * 128 * 9 + 256 + 128 * 9);
  EXPECT_EQ(counts.trainable, counts.total);  // from scratch, nothing frozen
  o.backbone.patch_size(4).image_size(36);  // a ViT could read it, the CDCN's three poolings cannot
  EXPECT_MMDG_ERROR(o.validate(), "option image_size: mm-cdcn needs a multiple of 8");
  auto net = make_network(tiny_cdcn());
  EXPECT_MMDG_ERROR(net->forward(torch::zeros({1, 3, 32, 32}), torch::zeros({1, 3, 16, 16}), torch::zeros({1, 3, 32, 32})),
                    "mm-cdcn input 'depth': expected (1, 3, 32, 32)");
}

}  // namespace
}  // namespace mmdg::model
