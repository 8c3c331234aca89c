// The network registry and the networks other than vit-uadapter (uadapter_vit_test.cpp).
#include <gtest/gtest.h>
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include "mmdg/io/safetensors.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/model/multi_branch_vit.h"
#include "mmdg/model/network.h"
#include "mmdg/model/uadapter_vit.h"
#include "mmdg/model/vit_concat.h"
#include "mmdg/util/test_util.h"

namespace mmdg::model {
namespace {

NetworkOptions tiny(const std::string& network) {
  auto o = NetworkOptions::preset("mmdg_tiny");
  o.network = network;
  o.estimator = Estimator::Expected;
  o.pos_embedding_init = PosEmbeddingInit::Pretrained;
  return o;
}

Network pretrained(const std::string& network) {
  auto net = make_network(tiny(network));
  net->eval();
  net->load_pretrained_backbone(io::read_weights(test::golden("vit_tiny_torchvision.pth")), "vit_tiny");
  return net;
}

TEST(NetworkRegistry, NamesCapabilitiesAndErrors) {
  EXPECT_EQ(network_names(), (std::vector<std::string>{"vit-concat", "vit", "vit-uadapter", "vit-single"}));
  EXPECT_MMDG_ERROR(find_network("vit-b16"),
                    "option network: unknown value 'vit-b16' (expected one of: vit-concat, vit, vit-uadapter, vit-single)");
  auto o = tiny("resnet");
  EXPECT_MMDG_ERROR(o.validate(), "unknown value 'resnet'");
  const auto concat = make_network(tiny("vit-concat"))->capabilities();
  const auto vit = make_network(tiny("vit"))->capabilities();
  const auto uadapter = make_network(tiny("vit-uadapter"))->capabilities();
  EXPECT_FALSE(concat.modality_branches || concat.uncertainty || concat.adapters);
  EXPECT_TRUE(vit.modality_branches);
  EXPECT_FALSE(vit.uncertainty || vit.adapters);
  EXPECT_TRUE(uadapter.modality_branches && uadapter.uncertainty && uadapter.adapters);
  EXPECT_NE(std::dynamic_pointer_cast<UAdapterViTImpl>(make_network(tiny("vit-uadapter"))), nullptr);
  EXPECT_NE(std::dynamic_pointer_cast<ViTConcatImpl>(make_network(tiny("vit-concat"))), nullptr);
}

// What each registered network declares is what its forward delivers.
TEST(NetworkRegistry, DeclaredCapabilitiesMatchTheOutputs) {
  torch::manual_seed(3);
  const auto x = [] { return torch::randn({2, 3, 32, 32}); };
  for (const auto& entry : network_registry()) {
    auto net = make_network(tiny(entry.name));
    net->eval();
    ForwardOptions fo;
    fo.attention_maps = true;
    torch::NoGradGuard no_grad;
    const auto out = net->forward(x(), x(), x(), fo);
    const auto c = net->capabilities();
    EXPECT_EQ(out.logits.sizes().vec(), (std::vector<std::int64_t>{2, 2})) << entry.name;
    EXPECT_EQ(!torch::equal(out.features[0], out.features[1]), c.modality_branches) << entry.name;
    for (int m = 0; m < 3; ++m) EXPECT_EQ(out.class_reliability[m].defined(), c.uncertainty) << entry.name;
    EXPECT_EQ(!out.attention.empty(), c.adapters) << entry.name;
    bool any_branch = false;
    for (const auto& p : net->named_parameters()) any_branch = any_branch || net->branch_of(p.key()) >= 0;
    EXPECT_EQ(any_branch, c.modality_branches) << entry.name;
  }
}

// bf16 runs the matrix products in bfloat16 (autocast): the outputs are float32, close to the
// float32 forward but not equal to it, and the autocast state is restored afterwards.
TEST(Precision, BFloat16ForwardIsCloseToFloat32) {
  const auto io = io::read_safetensors(test::golden("vit_tiny_io.safetensors"));
  const auto x = io["input"];
  for (const auto& entry : network_registry()) {
    auto net = pretrained(entry.name);
    torch::NoGradGuard no_grad;
    const auto fp32 = net->forward(x, x.flip(3), x.flip(2));
    net->set_precision(Precision::BFloat16);
    const auto bf16 = net->forward(x, x.flip(3), x.flip(2));
    EXPECT_FALSE(at::autocast::is_cpu_enabled()) << entry.name;
    EXPECT_EQ(bf16.logits.scalar_type(), torch::kFloat) << entry.name;
    EXPECT_EQ(bf16.features[0].scalar_type(), torch::kFloat) << entry.name;
    const double diff = (bf16.features[0] - fp32.features[0]).abs().max().item<double>();
    const double scale = fp32.features[0].abs().max().item<double>();
    EXPECT_GT(diff, 0.0) << entry.name << ": bf16 changed nothing";
    EXPECT_LT(diff, 0.05 * scale) << entry.name;  // bfloat16 has an 8-bit mantissa
    if (net->capabilities().uncertainty) {
      EXPECT_EQ(bf16.reliability[0].scalar_type(), torch::kFloat);
      EXPECT_LT((bf16.reliability[0] - fp32.reliability[0]).abs().max().item<double>(), 0.05);
    }
  }
}

// Files of earlier versions name the network by `method`: mmdg -> vit-uadapter, vit -> vit-concat.
TEST(NetworkRegistry, LegacyMethodKey) {
  EXPECT_EQ(NetworkOptions::from_json(nlohmann::json{{"method", "mmdg"}, {"mc_samples", 7}}, "old.json").network, "vit-uadapter");
  const auto o = NetworkOptions::from_json(nlohmann::json{{"method", "vit"}, {"freeze", "last-block"}}, "old.json");
  EXPECT_EQ(o.network, "vit-concat");
  EXPECT_MMDG_ERROR(NetworkOptions::from_json(nlohmann::json{{"method", "cnn"}}, "old.json"), "old.json: option method");
  EXPECT_EQ(NetworkOptions::from_json(nlohmann::json{{"network", "vit"}}, "new.json").network, "vit");
}

// Options from a file are validated as read, and every error names the file (found by fuzzing:
// range and enum errors did not).
TEST(NetworkOptions, FileValuesAreValidatedNamingTheFile) {
  EXPECT_MMDG_ERROR(NetworkOptions::from_json(nlohmann::json{{"mc_samples", 1000000000000LL}}, "cfg.json"),
                    "cfg.json: option mc_samples: must be in [2, 1024]");
  EXPECT_MMDG_ERROR(NetworkOptions::from_json(nlohmann::json{{"head", "concab"}}, "cfg.json"),
                    "cfg.json: option head: unknown value 'concab'");
  EXPECT_MMDG_ERROR(NetworkOptions::from_json(nlohmann::json{{"image_size", 4294967296LL}, {"patch_size", 1}}, "cfg.json"),
                    "cfg.json: ViT option image_size: must be a multiple of patch_size (1) in [1, 8192]");
}

TEST(ViTConcat, ChannelFusionThenThePretrainedViT) {
  auto net = pretrained("vit-concat");
  const auto sd = module_state_dict(*net);
  EXPECT_TRUE(sd.contains("fusion.weight"));
  EXPECT_FALSE(sd.contains("conv_proj2.weight"));
  EXPECT_FALSE(sd.contains("adapter_1_2_2.0.adapter_up.weight"));
  EXPECT_EQ(sd["fc_all.0.weight"].sizes().vec(), (std::vector<std::int64_t>{2, 16}));
  // the fusion starts as the mean of the modalities: three equal inputs give torchvision's features
  const auto io = io::read_safetensors(test::golden("vit_tiny_io.safetensors"));
  const auto x = io["input"];
  torch::NoGradGuard no_grad;
  const auto out = net->forward(x, x, x);
  EXPECT_TRUE(torch::allclose(out.features[0], io["tokens"].select(1, 0), 1e-5, 1e-5));
  EXPECT_FALSE(out.class_reliability[0].defined());
  // missing modalities are zero channels
  ForwardOptions fo;
  fo.missing = {false, true, true};
  EXPECT_TRUE(torch::allclose(net->forward(x, x, x, fo).logits, net->forward(x, torch::zeros_like(x), torch::zeros_like(x)).logits));
  // trainable: fusion, class token, position embedding, last block, final LayerNorm, head
  const auto counts = count_parameters(*net);
  EXPECT_EQ(counts.trainable, (9 * 3 + 3) + 16 + 17 * 16 + (2 * 16 + 16 * 48 + 48 + 16 * 16 + 16 + 2 * 16 + 32 * 16 + 32 + 16 * 32 + 16) + 32 + (16 * 2 + 2));
  for (const auto& p : net->named_parameters()) EXPECT_EQ(net->branch_of(p.key()), -1) << p.key();  // one fused stream
}

// `vit`: each branch is the pretrained ViT on its own input (torchvision's output on the golden
// input), the head sees the three class tokens; the U-Adapter network with fresh (zero) adapters
// computes exactly the same function from the same weights.
TEST(MultiBranchViT, BranchesAreThePretrainedViTAndEqualFreshUAdapters) {
  auto vit = pretrained("vit");
  const auto io = io::read_safetensors(test::golden("vit_tiny_io.safetensors"));
  const auto x = io["input"];
  torch::NoGradGuard no_grad;
  const auto out = vit->forward(x, torch::zeros_like(x), x);
  EXPECT_TRUE(torch::allclose(out.features[kRGB], io["tokens"].select(1, 0), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(out.features[kIR], io["tokens"].select(1, 0), 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(out.features[kDepth], out.features[kRGB]));
  EXPECT_FALSE(out.reliability[0].defined());
  const auto vit_sd = module_state_dict(*vit);
  for (const auto& key : vit_sd.keys()) EXPECT_EQ(key.find("adapter_"), std::string::npos) << key;
  auto uadapter = make_network(tiny("vit-uadapter"));
  uadapter->eval();
  load_state_dict(*uadapter, vit_sd, /*strict=*/false, "vit weights");  // all but the adapters
  const auto want = uadapter->forward(x, torch::zeros_like(x), x);
  EXPECT_TRUE(torch::allclose(out.logits, want.logits, 1e-6, 1e-6));
  // every state-dict key of `vit` is a key of vit-uadapter: `vit` checkpoints are its adapter-free subset
  const auto full = module_state_dict(*uadapter);
  for (const auto& key : vit_sd.keys()) EXPECT_TRUE(full.contains(key)) << key;
  EXPECT_EQ(vit->branch_of("class_token2"), 1);
  EXPECT_EQ(vit->branch_of("ViT_Encoder.2.mlp.0.weight"), -1);
}

}  // namespace
}  // namespace mmdg::model

namespace mmdg::model {
namespace {

// `vit-single`: the pretrained ViT on the chosen modality (torchvision's output on the golden
// input); the other inputs do not matter.
TEST(ViTSingle, ThePretrainedViTOnOneModality) {
  auto o = tiny("vit-single");
  o.modality = SingleModality::Depth;
  auto net = make_network(o);
  net->eval();
  net->load_pretrained_backbone(io::read_weights(test::golden("vit_tiny_torchvision.pth")), "vit_tiny");
  const auto io = io::read_safetensors(test::golden("vit_tiny_io.safetensors"));
  const auto x = io["input"];
  torch::NoGradGuard no_grad;
  const auto out = net->forward(torch::randn_like(x), x, torch::randn_like(x));
  EXPECT_TRUE(torch::allclose(out.features[0], io["tokens"].select(1, 0), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(out.logits, net->forward(torch::zeros_like(x), x, torch::zeros_like(x)).logits));
  EXPECT_FALSE(module_state_dict(*net).contains("conv_proj2.weight"));
  EXPECT_EQ(network_label(o), "vit-single-depth");
  EXPECT_EQ(network_title(o), "ViT (depth)");
  ForwardOptions fo;
  fo.missing = {false, true, false};  // its own modality missing: zero input
  EXPECT_TRUE(torch::allclose(net->forward(x, x, x, fo).logits, net->forward(x, torch::zeros_like(x), x).logits));
}

// The head's parts: each modality's share W_m e_m + b / 3 sums to the fused logits; SSDG's
// normalized head computes W' e' + b with e' = e / sqrt(2 |e|) and unit-norm columns of W.
TEST(NetworkHead, SharesSumToTheLogitsAndTheNormalizedHeadIsSSDGs) {
  torch::manual_seed(5);
  const auto x = [] { return torch::randn({3, 3, 32, 32}); };
  const auto a = x(), b = x(), c = x();
  for (bool normalized : {false, true}) {
    auto o = tiny("vit");
    o.normalized_head = normalized;
    auto net = std::dynamic_pointer_cast<MultiBranchViTImpl>(make_network(o));
    net->eval();
    torch::NoGradGuard no_grad;
    const auto out = net->forward(a, b, c);
    EXPECT_TRUE(torch::allclose(out.modality_logits[0] + out.modality_logits[1] + out.modality_logits[2], out.logits, 1e-5, 1e-6));
    auto e = torch::cat({out.features[0], out.features[1], out.features[2]}, 1);  // (B, 3C)
    auto w = net->fc_all->weight.clone();                                          // (K, 3C)
    if (normalized) {
      for (std::int64_t i = 0; i < e.size(0); ++i) e[i] /= std::sqrt(2 * e[i].norm().item<double>());
      for (std::int64_t j = 0; j < w.size(1); ++j) w.select(1, j) /= w.select(1, j).norm();
    }
    EXPECT_TRUE(torch::allclose(out.embedding, e, 1e-5, 1e-6)) << normalized;
    EXPECT_TRUE(torch::allclose(out.logits, torch::mm(e, w.t()) + net->fc_all->bias, 1e-5, 1e-6)) << normalized;
  }
}

// The strategies' hook sees every block's tokens ((3B, L, C) for branch networks, (B, L, C)
// otherwise); returning them unchanged changes nothing, changing them changes the output.
TEST(NetworkHook, AfterBlockSeesEveryBlockAndCanReplaceTheTokens) {
  torch::manual_seed(6);
  const auto x = torch::randn({2, 3, 32, 32});
  for (const auto& entry : network_registry()) {
    auto net = make_network(tiny(entry.name));
    net->eval();
    torch::NoGradGuard no_grad;
    const auto plain = net->forward(x, x.flip(3), x.flip(2));
    std::vector<std::size_t> seen;
    std::int64_t rows = 0;
    ForwardOptions fo;
    fo.after_block = [&](std::size_t i, const torch::Tensor& h) {
      seen.push_back(i);
      rows = h.size(0);
      return h;
    };
    const auto hooked = net->forward(x, x.flip(3), x.flip(2), fo);
    EXPECT_TRUE(torch::equal(plain.logits, hooked.logits)) << entry.name;
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(net->options().backbone.num_layers())) << entry.name;
    EXPECT_EQ(rows, entry.capabilities.modality_branches ? 6 : 2) << entry.name;
    fo.after_block = [](std::size_t i, const torch::Tensor& h) { return i == 0 ? h * 2 : h; };
    EXPECT_FALSE(torch::allclose(plain.logits, net->forward(x, x.flip(3), x.flip(2), fo).logits)) << entry.name;
  }
}

}  // namespace
}  // namespace mmdg::model
