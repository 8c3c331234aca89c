// A golden training step (in llm.c's spirit): one MMDG training step on the tiny network,
// compared tensor by tensor with the independent PyTorch reference of tests/golden/make_golden.py
// (reference_train_step, computed in float64 and stored as float32 in
// mmdg_tiny_train_step.safetensors): the forward in train mode (estimator "expected", adapter
// dropout 0: nothing random), the fused CE and per-modality SSP losses, every per-modality SSP
// gradient and the CE gradient of every trainable tensor, ReGrad's combination (variant full,
// uncertainty scaling, a fixed fast modality) and the weights after one Adam step.
//
// Only run_cpp_step below touches the training API; the comparison works on tensors by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mmdg/io/safetensors.h"
#include "mmdg/model/network.h"
#include "mmdg/train/golden_network_test_util.h"
#include "mmdg/train/regrad.h"
#include "mmdg/train/ssp_loss.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

const char* const kModalities[] = {"rgb", "depth", "ir"};

// The golden file: its tensors and the step's settings (from its metadata).
struct Golden {
  io::StateDict tensors;
  io::Metadata meta;
  double ssp_weight = 0, lr = 0, weight_decay = 0, adam_eps = 0, regrad_eps = 0;
  int fast = -1;
  const torch::Tensor& operator[](const std::string& name) const { return tensors[name]; }
};

Golden read_golden() {
  Golden g;
  g.tensors = io::read_safetensors(test::golden("mmdg_tiny_train_step.safetensors"), &g.meta);
  const auto number = [&](const char* key) { return std::stod(g.meta.at(key)); };
  g.ssp_weight = number("ssp_weight");
  g.lr = number("lr");
  g.weight_decay = number("weight_decay");
  g.adam_eps = number("adam_eps");
  g.regrad_eps = number("regrad_eps");
  g.fast = std::stoi(g.meta.at("fast"));
  return g;
}

// What one C++ step produced, under the golden file's names: logits, feat_M, domains, loss_ce,
// loss_ssp_M, reliability_M and, per trainable tensor NAME, grad_ssp_M/NAME, grad_ce/NAME,
// grad_regrad/NAME and updated/NAME (M = rgb, depth, ir).
using Results = std::map<std::string, torch::Tensor>;

// The only use of the training API (port this when the API changes): the regrad strategy's
// pieces with a fixed fast modality: losses (Eq. 6-8), the per-modality and CE gradients,
// regrad_backward (Eq. 5), one Adam step.
Results run_cpp_step(model::NetworkImpl& net, const Golden& g, int fast) {
  const auto C = net.feature_dim();
  std::array<Prototypes, 3> prototypes{Prototypes(3, C), Prototypes(3, C), Prototypes(3, C)};
  for (int m = 0; m < 3; ++m) prototypes[m].load(g[std::string("prototypes_") + kModalities[m]], g["prototypes_valid"]);
  net.train();
  const auto forward = net.forward(g["input_rgb"], g["input_depth"], g["input_ir"]);
  const auto ce = torch::nn::functional::cross_entropy(forward.logits, g["labels"]);
  const auto domains = ssp_domain(g["labels"], g["sources"]);
  Results out{{"logits", forward.logits.detach()}, {"loss_ce", ce.detach()}, {"domains", domains}};
  std::array<torch::Tensor, 3> weighted_ssp;
  std::array<double, 3> reliability{};
  for (int m = 0; m < 3; ++m) {
    const auto ssp = ssp_loss(forward.features[m], prototypes[m].values(), prototypes[m].valid(), domains);
    weighted_ssp[m] = ssp * g.ssp_weight;
    reliability[m] = forward.class_reliability[m].item<double>();
    out[std::string("feat_") + kModalities[m]] = forward.features[m].detach();
    out[std::string("loss_ssp_") + kModalities[m]] = ssp.detach();
    out[std::string("reliability_") + kModalities[m]] = torch::tensor(reliability[m], torch::kDouble);
  }
  std::vector<std::string> names;
  std::vector<torch::Tensor> params;
  std::vector<int> branches;
  for (const auto& p : net.named_parameters())
    if (p.value().requires_grad()) {
      names.push_back(p.key());
      params.push_back(p.value());
      branches.push_back(net.branch_of(p.key()));
    }
  // regrad_backward keeps the per-modality gradients to itself: take them here, keeping the graph
  const auto grads = [&](const torch::Tensor& loss) {
    return torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
  };
  for (int m = 0; m < 3; ++m) {
    const auto g_m = grads(weighted_ssp[m]);
    for (std::size_t k = 0; k < params.size(); ++k) out[std::string("grad_ssp_") + kModalities[m] + "/" + names[k]] = g_m[k];
  }
  const auto g_ce = grads(ce);
  for (std::size_t k = 0; k < params.size(); ++k) out["grad_ce/" + names[k]] = g_ce[k];
  ReGradOptions options;  // the default epsilon, checked against the file's
  options.variant = ReGradVariant::Full;
  options.uncertainty = true;
  regrad_backward(params, branches, weighted_ssp, ce, fast, reliability, options);
  for (std::size_t k = 0; k < params.size(); ++k) out["grad_regrad/" + names[k]] = params[k].grad().clone();
  torch::optim::Adam adam(params, torch::optim::AdamOptions(g.lr).weight_decay(g.weight_decay).eps(g.adam_eps));
  adam.step();
  for (std::size_t k = 0; k < params.size(); ++k) out["updated/" + names[k]] = params[k].detach().clone();
  return out;
}

// ---- comparison (API-independent) ---------------------------------------------------------

constexpr double kAtol = 1e-5, kRtol = 1e-5;

std::string group_of_key(const std::string& key) {
  const auto slash = key.find('/');
  if (slash != std::string::npos) return key.substr(0, slash);
  if (key.rfind("loss_", 0) == 0) return "losses";
  return "forward";  // logits, features, reliabilities, domains
}

// Compares every expected tensor of the file (all but the step's inputs) with `got`; returns the
// largest absolute difference per group, and fails the test where it exceeds the tolerance.
std::map<std::string, std::pair<double, std::string>> compare(const Results& got, const io::StateDict& want) {
  static const std::set<std::string> inputs{"input_rgb", "input_depth", "input_ir", "labels", "sources",
                                            "prototypes_rgb", "prototypes_depth", "prototypes_ir", "prototypes_valid"};
  std::map<std::string, std::pair<double, std::string>> worst;
  for (const auto& item : want) {
    const std::string& key = item.key();
    if (inputs.count(key)) continue;
    const auto it = got.find(key);
    if (it == got.end()) {
      ADD_FAILURE() << key << ": expected by the golden file, not produced by the C++ step";
      continue;
    }
    const auto& w = item.value();
    // an undefined gradient (the tensor does not reach that loss) is zero
    const auto g = it->second.defined() ? it->second.detach().to(torch::kCPU) : torch::zeros_like(w);
    if (g.sizes() != w.sizes()) {
      ADD_FAILURE() << key << ": shape " << g.sizes() << " vs golden " << w.sizes();
      continue;
    }
    if (!w.is_floating_point()) {
      EXPECT_TRUE(torch::equal(g.to(w.dtype()), w)) << key << ": " << g << " vs golden " << w;
      continue;
    }
    const auto gd = g.to(torch::kDouble), wd = w.to(torch::kDouble);
    const auto diff = (gd - wd).abs();
    const double max_abs = diff.numel() ? diff.max().item<double>() : 0.0;
    auto& entry = worst[group_of_key(key)];
    if (max_abs >= entry.first) entry = {max_abs, key};
    const bool ok = (diff <= kAtol + kRtol * wd.abs()).all().item<bool>();
    EXPECT_TRUE(ok) << key << ": max abs difference " << max_abs;
  }
  for (const auto& [key, value] : got)
    if (!want.contains(key)) ADD_FAILURE() << key << ": produced by the C++ step, missing from the golden file";
  return worst;
}

TEST(TrainStepGolden, OneReGradAdamStepMatchesThePyTorchReference) {
  const auto g = read_golden();
  EXPECT_EQ(ReGradOptions().eps, g.regrad_eps) << "ReGrad's default epsilon changed: regenerate the golden file";
  EXPECT_EQ(g.meta.at("regrad"), "full");
  EXPECT_EQ(g.meta.at("optimizer"), "adam");
  auto net = golden_network(g.meta);
  const auto before = model::module_state_dict(*net);
  std::map<std::string, torch::Tensor> initial;
  for (const auto& item : before) initial[item.key()] = item.value().clone();

  const auto got = run_cpp_step(*net, g, g.fast);
  const auto worst = compare(got, g.tensors);

  // the trainable set is the reference's (every trainable tensor has an updated/NAME), and
  // the frozen tensors did not move
  std::size_t trainable = 0;
  for (const auto& p : net->named_parameters()) {
    const bool in_file = g.tensors.contains("updated/" + p.key());
    EXPECT_EQ(p.value().requires_grad(), in_file) << p.key();
    if (p.value().requires_grad()) ++trainable;
    else EXPECT_TRUE(torch::equal(p.value(), initial.at(p.key()))) << p.key() << " is frozen but changed";
  }
  EXPECT_EQ(trainable, 2u * 3 + 12 + 2 + 2 + 4 * 2 * 14);  // class tokens + pos embeddings, last block, final LN, head, adapters
  for (const auto& [group, value] : worst)
    std::cout << "[golden step] " << std::left << std::setw(16) << group << " max abs difference " << std::scientific
              << std::setprecision(2) << value.first << "  (" << value.second << ")\n";
}

// The comparison has teeth: another fast modality changes ReGrad's gradients and the updated
// weights (the forward, the losses and the plain gradients stay the same).
TEST(TrainStepGolden, AnotherFastModalityDoesNotMatch) {
  const auto g = read_golden();
  auto net = golden_network(g.meta);
  const auto got = run_cpp_step(*net, g, (g.fast + 1) % 3);
  std::size_t regrad_mismatch = 0, updated_mismatch = 0;
  for (const auto& [key, value] : got) {
    if (key.rfind("grad_regrad/", 0) != 0 && key.rfind("updated/", 0) != 0) continue;
    const auto& w = g[key];
    if (!torch::allclose(value.to(torch::kDouble), w.to(torch::kDouble), kRtol, kAtol))
      ++(key[0] == 'g' ? regrad_mismatch : updated_mismatch);
  }
  EXPECT_GT(regrad_mismatch, 10u);
  EXPECT_GT(updated_mismatch, 10u);
}

}  // namespace
}  // namespace mmdg::train
