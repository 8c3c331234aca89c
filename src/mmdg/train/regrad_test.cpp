#include "mmdg/train/regrad.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <torch/torch.h>

#include <limits>

#include "mmdg/model/uadapter_vit.h"
#include "mmdg/train/regrad_strategy.h"
#include "mmdg/train/ssp_loss.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

torch::Tensor v(std::initializer_list<double> x) { return torch::tensor(std::vector<double>(x), torch::kDouble); }
ReGradOptions full() { return ReGradOptions(); }

void expect_eq(const torch::Tensor& got, const torch::Tensor& want) {
  EXPECT_TRUE(torch::allclose(got, want, 1e-7, 1e-12)) << "got " << got << "\nwant " << want;  // eps 1e-8
}

TEST(ReGrad, SlowBranchKeepsProjectionOrOrthogonalPartScaledByReliability) {
  bool conflict = false;
  // g_j = (1, 1) agrees with g_i = (1, 0): its projection (1, 0) kept, scaled by 0.5
  expect_eq(regrad_slow(v({1, 0}), {{v({1, 1}), 0.5}}, full(), &conflict), v({1.5, 0}));
  EXPECT_FALSE(conflict);
  // g_k = (-1, 2) conflicts: its part orthogonal to g_i, (0, 2), kept, scaled by 0.8
  expect_eq(regrad_slow(v({1, 0}), {{v({1, 1}), 0.5}, {v({-1, 2}), 0.8}}, full(), &conflict), v({1.5, 1.6}));
  EXPECT_TRUE(conflict);
}

TEST(ReGrad, FastBranchIsSuppressedTowardsTheOthers) {
  bool conflict = true;
  // g_i = (2, 1), g_o = (1, 0): projection (2, 0) * 0.5 + g_o
  expect_eq(regrad_fast(v({2, 1}), v({1, 0}), 0.5, full(), &conflict), v({2, 0}));
  EXPECT_FALSE(conflict);
  // g_i = (-2, 1) conflicts with g_o: orthogonal part (0, 1) * 0.5 + g_o
  expect_eq(regrad_fast(v({-2, 1}), v({1, 0}), 0.5, full(), &conflict), v({1, 0.5}));
  EXPECT_TRUE(conflict);
}

TEST(ReGrad, ZeroGradientsAndEpsilon) {
  // projecting onto a zero vector gives zero (the epsilon), so the orthogonal part is the vector
  expect_eq(project(v({3, 4}), v({0, 0}), 1e-12), v({0, 0}));
  // slow branch with no gradient of its own: the others pass, scaled
  expect_eq(regrad_slow(v({0, 0}), {{v({1, 2}), 0.5}}, full()), v({0.5, 1}));
  // fast branch when the others have none: its own gradient, scaled (not zeroed)
  expect_eq(regrad_fast(v({1, 2}), v({0, 0}), 0.25, full()), v({0.25, 0.5}));
  // a tiny non-zero reference still projects correctly
  EXPECT_TRUE(torch::allclose(project(v({1, 1}), v({1e-3, 0}), 1e-12), v({1, 0}), 1e-5, 0));
}

TEST(ReGrad, VariantsAndUncertaintySwitch) {
  ReGradOptions o;
  // the released regrad.py's version 3: agreeing kept whole, conflicting loses its conflicting
  // component; the reliability scales both
  o.variant = ReGradVariant::ConflictedOnly;
  expect_eq(regrad_slow(v({1, 0}), {{v({1, 1}), 0.5}}, o), v({1.5, 0.5}));    // agreeing: 0.5 * (1, 1)
  expect_eq(regrad_slow(v({1, 0}), {{v({-1, 2}), 0.5}}, o), v({1, 1}));       // conflicting: 0.5 * (0, 2)
  expect_eq(regrad_fast(v({2, 1}), v({1, 0}), 0.5, o), v({2, 0.5}));          // agreeing: 0.5 * (2, 1) + g_o
  // version 2: agreeing keeps its projection, conflicting is dropped
  o.variant = ReGradVariant::UnconflictedOnly;
  expect_eq(regrad_slow(v({1, 0}), {{v({1, 1}), 0.5}}, o), v({1.5, 0}));      // agreeing: 0.5 * (1, 0)
  expect_eq(regrad_slow(v({1, 0}), {{v({-1, 2}), 0.5}}, o), v({1, 0}));       // conflicting: dropped
  expect_eq(regrad_fast(v({-2, 1}), v({1, 0}), 0.5, o), v({1, 0}));           // conflicting fast: only g_o
  // a factor that is not finite counts as 0 (the released code's NaN guard)
  expect_eq(project(v({std::numeric_limits<double>::quiet_NaN(), 1}), v({1, 0}), 1e-8), v({0, 0}));
  o.variant = ReGradVariant::None;
  expect_eq(regrad_fast(v({-2, 1}), v({1, 0}), 0.5, o), v({-1, 1}));
  o.variant = ReGradVariant::Full;
  o.uncertainty = false;
  expect_eq(regrad_fast(v({2, 1}), v({1, 0}), 0.5, o), v({3, 0}));
  EXPECT_MMDG_ERROR(parse_enum<ReGradVariant>("half", "regrad"), "option regrad: unknown value 'half' (expected one of: full, conflicted-only, unconflicted-only, none)");
}

// apply_regrad (flattened buffers, segmented dot products, one host sync) against the plain
// per-tensor rule (regrad_slow / regrad_fast), for every variant, with and without uncertainty,
// undefined gradients and a zero-gradient tensor among random ones.
TEST(ReGrad, VectorizedEqualsThePerTensorRule) {
  torch::manual_seed(5);
  const std::vector<std::vector<std::int64_t>> shapes{{3, 4}, {7}, {2, 2, 2}, {5}, {1}, {6, 2}, {4}};
  const std::vector<int> branches{0, 1, 2, -1, 0, 1, 2};
  const std::array<double, 3> reliability{0.9, 0.4, 0.7};
  for (const auto variant : {ReGradVariant::Full, ReGradVariant::ConflictedOnly, ReGradVariant::UnconflictedOnly, ReGradVariant::None})
    for (const bool uncertainty : {true, false})
      for (int fast = -1; fast < 3; ++fast) {  // -1: no fast modality (a tie), every branch slow
        ReGradOptions o;
        o.variant = variant;
        o.uncertainty = uncertainty;
        std::vector<torch::Tensor> params, ce;
        std::array<std::vector<torch::Tensor>, 3> ssp;
        for (std::size_t p = 0; p < shapes.size(); ++p) {
          params.push_back(torch::zeros(shapes[p]));
          ce.push_back(p == 1 ? torch::Tensor() : torch::randn(shapes[p]));
          for (int m = 0; m < 3; ++m)
            ssp[m].push_back(p == 2 && m == 1 ? torch::Tensor() : p == 5 ? torch::zeros(shapes[p]) : torch::randn(shapes[p]));
        }
        const auto stats = apply_regrad(params, ssp, ce, branches, fast, reliability, o);
        std::int64_t conflicts = 0;
        for (std::size_t p = 0; p < shapes.size(); ++p) {
          std::array<torch::Tensor, 3> g;
          for (int m = 0; m < 3; ++m) g[m] = ssp[m][p].defined() ? ssp[m][p] : torch::zeros(shapes[p]);
          const int i = branches[p];
          torch::Tensor want;
          bool conflict = false;
          if (i < 0) {
            want = g[0] + g[1] + g[2];
          } else if (i == fast) {
            torch::Tensor g_o = torch::zeros(shapes[p]);
            for (int j = 0; j < 3; ++j)
              if (j != i) g_o = g_o + g[j];
            want = regrad_fast(g[i], g_o, reliability[i], o, &conflict);
          } else {
            std::vector<std::pair<torch::Tensor, double>> others;
            for (int j = 0; j < 3; ++j)
              if (j != i) others.emplace_back(g[j], reliability[j]);
            want = regrad_slow(g[i], others, o, &conflict);
          }
          if (ce[p].defined()) want = want + ce[p];
          conflicts += conflict ? 1 : 0;
          EXPECT_TRUE(torch::allclose(params[p].grad(), want, 1e-5, 1e-6))
              << enum_name(variant) << " uncertainty " << uncertainty << " fast " << fast << " tensor " << p << "\n"
              << params[p].grad() << "\n" << want;
          EXPECT_EQ(params[p].grad().sizes(), params[p].sizes());
        }
        EXPECT_EQ(stats.modulated, 6);
        EXPECT_EQ(stats.shared, 1);
        EXPECT_DOUBLE_EQ(stats.conflict_fraction, static_cast<double>(conflicts) / 6.0);
      }
}

// The running SSP losses pick the fast modality (Eq. 5): the first step takes the losses, then
// running <- m * running + (1 - m) * loss.
TEST(ReGrad, FastModalityTracker) {
  FastModalityTracker t(0.5);
  EXPECT_EQ(t.update({1.0, 0.5, 2.0}), 1);
  EXPECT_EQ(t.running(), (std::array<double, 3>{1.0, 0.5, 2.0}));
  EXPECT_EQ(t.update({0.0, 1.5, 2.0}), 0);  // running {0.5, 1.0, 2.0}
  EXPECT_EQ(t.running(), (std::array<double, 3>{0.5, 1.0, 2.0}));
  EXPECT_EQ(t.update({0.5, 0.0, 0.0}), -1);  // running {0.5, 0.5, 1.0}: a tie, no fast modality
  EXPECT_EQ(t.running(), (std::array<double, 3>{0.5, 0.5, 1.0}));
  EXPECT_EQ(t.update({0.5, 0.0, 0.0}), 1);  // running {0.5, 0.25, 0.5}
}

// A tiny network, prototypes from random features, one balanced-looking batch.
struct TinyStep {
  std::shared_ptr<model::UAdapterViTImpl> net;
  std::array<Prototypes, 3> protos{Prototypes(3, 16), Prototypes(3, 16), Prototypes(3, 16)};
  torch::Tensor rgb, depth, ir, labels, sources;
  std::vector<torch::Tensor> params;  // trainable
  std::vector<int> branches;
  TinyStep() {
    torch::manual_seed(21);
    auto o = model::NetworkOptions::preset("mmdg_tiny");
    o.estimator = model::Estimator::Expected;
    o.adapter_dropout = 0.0;
    net = std::make_shared<model::UAdapterViTImpl>(o);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : net->named_parameters())
        if (p.key().find("adapter_up") != std::string::npos) p.value().normal_(0, 0.3);
    }
    for (auto& p : protos) p.set_from_sums(torch::randn({3, 16}), torch::ones({3}));
    rgb = torch::randn({4, 3, 32, 32});
    depth = torch::randn({4, 3, 32, 32});
    ir = torch::randn({4, 3, 32, 32});
    labels = torch::tensor({1, 0, 1, 0}, torch::kLong);
    sources = torch::tensor({0, 0, 1, 1}, torch::kLong);
    for (auto& p : net->named_parameters())
      if (p.value().requires_grad()) {
        params.push_back(p.value());
        branches.push_back(net->branch_of(p.key()));
      }
  }
  struct Losses {
    torch::Tensor ce;
    std::array<torch::Tensor, 3> weighted_ssp;  // 0.3 * L_ssp_m
    std::array<double, 3> reliability{};
  };
  Losses losses() {
    const auto out = net->forward(rgb, depth, ir);
    Losses l;
    l.ce = torch::nn::functional::cross_entropy(out.logits, labels);
    const auto domains = ssp_domain(labels, sources);
    for (int m = 0; m < 3; ++m) {
      l.weighted_ssp[m] = ssp_loss(out.features[m], protos[m].values(), protos[m].valid(), domains) * 0.3;
      l.reliability[m] = out.class_reliability[m].item<double>();
    }
    return l;
  }
  ReGradStats backward(int fast, const ReGradOptions& o) {
    const auto l = losses();
    return regrad_backward(params, branches, l.weighted_ssp, l.ce, fast, l.reliability, o);
  }
  std::vector<torch::Tensor> grads() {
    std::vector<torch::Tensor> g;
    for (auto& p : params) g.push_back(p.grad().clone());
    return g;
  }
};

TEST(ReGrad, NoneEqualsPlainBackpropOfTheSummedLoss) {
  TinyStep s;
  ReGradOptions none;
  none.variant = ReGradVariant::None;
  s.backward(1, none);
  const auto plain = s.grads();
  // the four-pass route with every modulation switched off gives the same gradients
  const auto l = s.losses();
  std::array<std::vector<torch::Tensor>, 3> ssp;
  for (int m = 0; m < 3; ++m) ssp[m] = torch::autograd::grad({l.weighted_ssp[m]}, s.params, {}, true, false, true);
  const auto ce = torch::autograd::grad({l.ce}, s.params, {}, false, false, true);
  apply_regrad(s.params, ssp, ce, s.branches, 1, l.reliability, none);
  const auto four_pass = s.grads();
  ASSERT_EQ(plain.size(), four_pass.size());
  for (std::size_t k = 0; k < plain.size(); ++k)
    EXPECT_TRUE(torch::allclose(plain[k], four_pass[k], 1e-5, 2e-6))
        << k << " max diff " << (plain[k] - four_pass[k]).abs().max().item<double>() << " of "
        << plain[k].abs().max().item<double>() << " / " << four_pass[k].abs().max().item<double>();
}

TEST(ReGrad, EveryTrainableTensorIsModulatedOrShared) {
  TinyStep s;
  const auto stats = s.backward(0, ReGradOptions());
  // tiny: R branch 2 + 2 blocks x 2 adapters x 14 tensors, D and I 2 + 2 x 14 each; shared:
  // last block 12 + final LayerNorm 2 + head 2 (the released code modulated 6 of its 694)
  EXPECT_EQ(stats.modulated, 58 + 30 + 30);
  EXPECT_EQ(stats.shared, 16);
  std::int64_t with_grad = 0, trainable = 0;
  for (auto& p : s.net->parameters()) {
    if (!p.requires_grad()) continue;
    ++trainable;
    with_grad += p.grad().defined() ? 1 : 0;
  }
  EXPECT_EQ(with_grad, trainable);
  EXPECT_EQ(stats.modulated + stats.shared, trainable);
  EXPECT_GE(stats.conflict_fraction, 0.0);
  EXPECT_LE(stats.conflict_fraction, 1.0);
  // the fused head receives only the cross-entropy gradient, as with plain backprop
  TinyStep t;
  ReGradOptions none;
  none.variant = ReGradVariant::None;
  t.backward(0, none);
  EXPECT_TRUE(torch::allclose(s.net->fc_all->weight.grad(), t.net->fc_all->weight.grad(), 1e-5, 1e-7));
}

// "ReGrad as released": the tensors the released loop reaches, derived by brute force (which
// tensors each SSP loss has a gradient for, then the released loop replayed over every named
// parameter), are the class tokens and position embeddings; they get exactly full ReGrad's
// gradient, and every other trainable tensor the cross-entropy gradient alone.
TEST(ReGrad, AsReleasedModulatesWhatTheReleasedLoopReaches) {
  TinyStep s;
  const auto l = s.losses();
  std::map<std::string, bool> has_ssp;  // over every named parameter, frozen ones included
  {
    std::vector<std::string> names;
    std::vector<torch::Tensor> trainable;
    for (auto& p : s.net->named_parameters())
      if (p.value().requires_grad()) names.push_back(p.key()), trainable.push_back(p.value());
    for (int m = 0; m < 3; ++m) {
      const auto g = torch::autograd::grad({l.weighted_ssp[m]}, trainable, {}, true, false, true);
      for (std::size_t k = 0; k < g.size(); ++k) has_ssp[names[k]] = has_ssp[names[k]] || (g[k].defined() && g[k].abs().sum().item<double>() > 0);
    }
  }
  std::vector<std::string> all;
  for (auto& p : s.net->named_parameters()) all.push_back(p.key());
  std::set<std::string> replayed;  // regrad.py: i advances only past an entry some SSP gradient fills
  std::size_t i = 0;
  for (std::size_t p = 0; p < all.size(); ++p) {
    if (!has_ssp[all[i]]) continue;
    replayed.insert(all[i]);
    ++i;
  }
  EXPECT_EQ(released_regrad_reach(*s.net), replayed);
  EXPECT_EQ(replayed, (std::set<std::string>{"class_token1", "class_token2", "class_token3", "pos_embedding1",
                                               "pos_embedding2", "pos_embedding3"}));
  // the gradients
  std::vector<int> as_released = s.branches;
  std::size_t t = 0;
  for (auto& p : s.net->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    if (!replayed.count(p.key())) as_released[t] = kCEOnly;
    ++t;
  }
  s.backward(1, ReGradOptions());
  const auto full = s.grads();
  const auto l2 = s.losses();
  const auto stats = regrad_backward(s.params, as_released, l2.weighted_ssp, l2.ce, 1, l2.reliability, ReGradOptions());
  const auto released = s.grads();
  const auto ce = torch::autograd::grad({s.losses().ce}, s.params, {}, false, false, true);
  EXPECT_EQ(stats.modulated, 6);
  EXPECT_EQ(stats.ce_only, static_cast<std::int64_t>(s.params.size()) - 6);
  for (std::size_t k = 0; k < s.params.size(); ++k) {
    if (as_released[k] == kCEOnly) {
      EXPECT_TRUE(torch::allclose(released[k], ce[k].defined() ? ce[k] : torch::zeros_like(released[k]), 1e-5, 1e-7)) << k;
    } else {
      EXPECT_TRUE(torch::allclose(released[k], full[k], 1e-5, 1e-7)) << k;
      EXPECT_FALSE(torch::allclose(released[k], ce[k], 1e-5, 1e-9)) << k;  // the SSP gradients are there
    }
  }
}

}  // namespace
}  // namespace mmdg::train
