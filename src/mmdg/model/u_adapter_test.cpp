#include "mmdg/model/u_adapter.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace mmdg::model {
namespace {

// Brute-force 3x3 convolution with zero padding, from its definition.
torch::Tensor conv3x3_reference(const torch::Tensor& x, const torch::Tensor& w) {
  const auto H = x.size(2), W = x.size(3);
  const auto padded = torch::constant_pad_nd(x, {1, 1, 1, 1});
  auto out = torch::zeros({x.size(0), w.size(0), H, W});
  for (int k = 0; k < 3; ++k)
    for (int l = 0; l < 3; ++l)
      out += torch::einsum("oc,bchw->bohw", {w.select(2, k).select(2, l), padded.slice(2, k, k + H).slice(3, l, l + W)});
  return out;
}

TEST(CDC, MatchesItsDefiningFormula) {
  torch::manual_seed(5);
  Conv2dCD cdc(4, 0.7);
  const auto x = torch::randn({2, 4, 5, 6});
  const auto w = cdc->conv->weight.detach();
  // CDC(x)(p) = sum_n w(n) x(p + n) - theta * x(p) sum_n w(n)
  const auto want = conv3x3_reference(x, w) - 0.7 * torch::einsum("oc,bchw->bohw", {w.sum({2, 3}), x});
  EXPECT_TRUE(torch::allclose(cdc(x), want, 1e-5, 1e-5));
  Conv2dCD plain(4, 0.0);
  EXPECT_TRUE(torch::allclose(plain(x), conv3x3_reference(x, plain->conv->weight.detach()), 1e-5, 1e-5));
}

TEST(CDC, ClassTokenPathIsTheKernelCentreMinusThetaTimesTheSum) {
  Conv2dCD cdc(3, 0.5);
  const auto x = torch::randn({4, 3, 1, 1});
  const auto w = cdc->conv->weight.detach();
  const auto matrix = w.select(2, 1).select(2, 1) - 0.5 * w.sum({2, 3});  // (out, in)
  const auto want = torch::matmul(x.view({4, 3}), matrix.t()).view({4, 3, 1, 1});
  EXPECT_TRUE(torch::allclose(cdc(x), want, 1e-5, 1e-6));
}

UAdapterOptions tiny() { return UAdapterOptions().hidden_dim(16).adapter_dim(4).heads(2).grid_size(3).dropout(0.0); }

TEST(UAdapter, ZeroInitializedUpProjectionAddsExactlyZero) {
  UAdapter adapter(tiny());
  const auto out = adapter(torch::randn({2, 10, 16}), torch::randn({2, 10, 16}), torch::rand({2, 10}));
  EXPECT_EQ(out.abs().max().item<float>(), 0.0f);
  std::int64_t count = 0;
  for (const auto& p : adapter->parameters()) count += p.numel();
  // down 2 x (16*4+4), cross q/k/v 3 x 16 + proj 20, LN 8, conv 4*4*9, up 4*16+16
  EXPECT_EQ(count, 2 * 68 + 48 + 20 + 8 + 144 + 80);
}

TEST(UAdapter, ReliabilityScalesTheQueryRowsOfTheLogits) {
  torch::manual_seed(6);
  CrossAttention attn(4, 2);
  const auto q = torch::randn({1, 5, 4}), kv = torch::randn({1, 5, 4});
  torch::Tensor plain, ones, scaled;
  attn(q, kv, torch::Tensor(), &plain);
  attn(q, kv, torch::ones({1, 5}), &ones);
  EXPECT_TRUE(torch::allclose(plain, ones));
  // a query token with reliability 0 attends uniformly; one with reliability 1 is unchanged
  auto u = torch::ones({1, 5});
  u[0][2] = 0.0;
  attn(q, kv, u, &scaled);
  EXPECT_TRUE(torch::allclose(scaled.select(2, 2), torch::full({1, 2, 5}, 0.2)));
  EXPECT_TRUE(torch::allclose(scaled.select(2, 0), plain.select(2, 0)));
  // reliability r on row i equals logits * r: check against a hand computation
  const double r = 0.37;
  u[0][2] = r;
  attn(q, kv, u, &scaled);
  const auto qh = attn->q_linear(q).view({1, 5, 2, 2}).transpose(1, 2);
  const auto kh = attn->k_linear(kv).view({1, 5, 2, 2}).transpose(1, 2);
  const auto logits_row = torch::matmul(qh, kh.transpose(-2, -1)).select(2, 2) / std::sqrt(2.0);  // (1, 2, 5)
  EXPECT_TRUE(torch::allclose(scaled.select(2, 2), torch::softmax(logits_row * r, -1), 1e-5, 1e-6));
}

TEST(UAdapter, QueryComesFromTheOtherModality) {
  // with a non-zero up-projection, changing `other` changes the output through the queries
  torch::manual_seed(7);
  UAdapter adapter(tiny());
  {
    torch::NoGradGuard no_grad;
    adapter->adapter_up->weight.normal_();
  }
  adapter->eval();
  const auto own = torch::randn({1, 10, 16}), other = torch::randn({1, 10, 16});
  const auto a = adapter(own, other, torch::Tensor());
  const auto b = adapter(own, other + torch::randn({1, 10, 16}), torch::Tensor());
  EXPECT_FALSE(torch::allclose(a, b));
}

}  // namespace
}  // namespace mmdg::model
