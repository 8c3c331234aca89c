// The network registry and the networks other than vit-uadapter (uadapter_vit_test.cpp).
#include <gtest/gtest.h>
#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "mmdg/io/safetensors.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/model/multi_branch_vit.h"
#include "mmdg/model/network.h"
#include "mmdg/model/uadapter_vit.h"
#include "mmdg/model/vit_concat.h"
#include "mmdg/model/mm_cdcn.h"
#include "mmdg/model/vit_ama.h"
#include "mmdg/model/vp_fas.h"
#include "mmdg/model/vitaf.h"
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
  EXPECT_EQ(network_names(), (std::vector<std::string>{"vit-concat", "vit", "vit-uadapter", "vit-single", "vitaf", "vit-ama",
                                                       "mm-cdcn", "vp-fas"}));
  EXPECT_MMDG_ERROR(find_network("vit-b16"),
                    "option network: unknown value 'vit-b16' (expected one of: vit-concat, vit, vit-uadapter, vit-single, vitaf, "
                    "vit-ama, mm-cdcn, vp-fas)");
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

// Whether CPU autocast is on for this thread (LibTorch 2.4 takes the device type; precision.cpp)
bool cpu_autocast_enabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
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
    EXPECT_FALSE(cpu_autocast_enabled()) << entry.name;
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
// ---- ViTAF --------------------------------------------------------------------------------------

// The forward of `vitaf` recomputed from its parts with the authors' equations (an independent
// implementation: each adapter from its Linear weights, the blocks' sub-layers, the stem by hand).
struct ViTAFReference {
  torch::Tensor features, cosine;
};
ViTAFReference vitaf_by_hand(ViTAFImpl& net, const torch::Tensor& r, const torch::Tensor& d, const torch::Tensor& i) {
  namespace F = torch::nn::functional;
  const auto adapter = [](const torch::nn::Module& m, const torch::Tensor& h) {
    const auto p = m.named_parameters();
    return h + F::linear(torch::gelu(F::linear(h, p["down.weight"], p["down.bias"])), p["up.weight"], p["up.bias"]);
  };
  const auto B = r.size(0);
  const auto image = net.fusion(torch::cat({r, d, i}, 1));
  const auto patches = net.conv_proj[0](image).flatten(2).transpose(1, 2);  // (B, N, C)
  auto h = torch::cat({net.class_token[0].expand({B, -1, -1}), patches}, 1) + net.pos_embedding[0];
  auto cosine = torch::zeros({});
  const auto K = net.adapter_attn.size();
  for (std::size_t b = 0; b < net.blocks.size(); ++b) {
    auto& block = net.blocks[b];
    for (int position = 0; position < 2; ++position) {
      const auto branch = position == 0 ? block->attention(h) : block->mlp->forward(block->ln_2(h));
      std::vector<torch::Tensor> outs;
      for (std::size_t k = 0; k < K; ++k)
        outs.push_back(adapter(*(position == 0 ? net.adapter_attn : net.adapter_mlp)[k][b], branch));
      auto sum = outs[0];
      for (std::size_t k = 1; k < K; ++k) sum = sum + outs[k];
      h = h + sum;
      if (K == 2) cosine = cosine + torch::cosine_similarity(outs[0], outs[1], -1).pow(2).mean();
    }
  }
  return {net.encoder_ln(h).select(1, 0), cosine / static_cast<double>(2 * net.blocks.size())};
}

TEST(ViTAF, BlocksFollowTheAuthorsEquations) {
  torch::manual_seed(4);
  auto net = std::dynamic_pointer_cast<ViTAFImpl>(pretrained("vitaf"));
  ASSERT_NE(net, nullptr);
  ASSERT_EQ(net->adapter_attn.size(), 2u);
  EXPECT_EQ(net->adapter_width(), 1);  // hidden_dim 16 / 12
  {
    torch::NoGradGuard no_grad;  // adapters far from the identity, so that their part shows
    for (auto& p : net->named_parameters())
      if (p.key().find(".up.") != std::string::npos || p.key().find(".down.") != std::string::npos) p.value().normal_(0, 0.5);
  }
  const auto x = [] { return torch::randn({2, 3, 32, 32}); };
  const auto r = x(), d = x(), i = x();
  torch::NoGradGuard no_grad;
  const auto out = net->forward(r, d, i);  // eval: no FWT
  const auto ref = vitaf_by_hand(*net, r, d, i);
  EXPECT_TRUE(torch::allclose(out.features[0], ref.features, 1e-4, 1e-5)) << (out.features[0] - ref.features).abs().max();
  EXPECT_NEAR(out.regularizer.item<double>(), ref.cosine.item<double>(), 1e-5);
  EXPECT_GT(ref.cosine.item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(net->forward(r, d, i).logits, out.logits));  // eval is deterministic
  net->train();
  EXPECT_FALSE(torch::equal(net->forward(r, d, i).logits, net->forward(r, d, i).logits));  // FWT draws
}

TEST(ViTAF, OneIdentityAdapterPerPositionIsTheConcatenatedViT) {
  auto o = tiny("vitaf");
  o.vitaf_ensemble = 1;
  auto net = std::dynamic_pointer_cast<ViTAFImpl>(make_network(o));
  net->eval();
  net->load_pretrained_backbone(io::read_weights(test::golden("vit_tiny_torchvision.pth")), "vit_tiny");
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters())
      if (p.key().find(".up.") != std::string::npos) p.value().zero_();  // A(h) = h
  }
  const auto io = io::read_safetensors(test::golden("vit_tiny_io.safetensors"));
  const auto x = io["input"];
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(net->forward(x, x, x).features[0], io["tokens"].select(1, 0), 1e-5, 1e-5));
  EXPECT_EQ(net->forward(x, x, x).regularizer.item<double>(), 0.0);  // no pair in an ensemble of one
}

// g x + b with g = 1 + n_g softplus_100(theta_g), b = n_b softplus_100(theta_b), one draw (1, 1, C)
// shared by batch and tokens: over many draws each channel has mean 1 and variance s_g^2 + s_b^2.
TEST(ViTAF, FeatureWiseTransformationStatistics) {
  torch::manual_seed(7);
  const auto theta_g = torch::tensor({0.1f, 0.02f}), theta_b = torch::tensor({0.3f, 0.0f});
  const auto softplus_100 = [](double t) { return 100 * t > 20 ? t : std::log1p(std::exp(100 * t)) / 100; };
  const double expected_var[2] = {std::pow(softplus_100(0.1), 2) + std::pow(softplus_100(0.3), 2),
                                  std::pow(softplus_100(0.02), 2) + std::pow(softplus_100(0.0), 2)};
  const auto x = torch::ones({2, 3, 2});
  std::vector<torch::Tensor> draws;
  for (int n = 0; n < 4000; ++n) {
    const auto y = feature_wise_transform(x, theta_g, theta_b);  // (2, 3, 2)
    ASSERT_TRUE(torch::equal(y, y[0][0].expand_as(y)));         // one draw for every sample and token
    draws.push_back(y[0][0]);
  }
  const auto all = torch::stack(draws).to(torch::kDouble);  // (4000, 2)
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(all.select(1, c).mean().item<double>(), 1.0, 4 * std::sqrt(expected_var[c] / 4000)) << c;
    EXPECT_NEAR(all.select(1, c).var().item<double>(), expected_var[c], 0.1 * expected_var[c]) << c;
  }
}

// ---- ViT + AMA ----------------------------------------------------------------------------------

// The token sequence [CLS, R, D, I] by hand: the pretrained stem on each modality, the patches'
// position embeddings on each.
torch::Tensor ama_tokens_by_hand(ViTAMAImpl& net, const std::array<torch::Tensor, 3>& images) {
  const auto B = images[0].size(0);
  const auto pos = net.pos_embedding[0];
  std::vector<torch::Tensor> parts{net.class_token[0].expand({B, 1, -1}) + pos.narrow(1, 0, 1)};
  for (const auto& x : images) parts.push_back(net.conv_proj[0](x).flatten(2).transpose(1, 2) + pos.narrow(1, 1, pos.size(1) - 1));
  return torch::cat(parts, 1);
}

TEST(ViTAMA, FreshAdaptersLeaveTheFrozenViTOnTheModalitiesTokens) {
  torch::manual_seed(5);
  auto net = std::dynamic_pointer_cast<ViTAMAImpl>(pretrained("vit-ama"));
  ASSERT_NE(net, nullptr);
  const std::array<torch::Tensor, 3> x{torch::randn({2, 3, 32, 32}), torch::randn({2, 3, 32, 32}), torch::randn({2, 3, 32, 32})};
  torch::NoGradGuard no_grad;
  auto h = ama_tokens_by_hand(*net, x);
  EXPECT_EQ(h.size(1), 1 + 3 * net->options().vit().num_patches());  // a class token and three grids
  for (auto& block : net->blocks) h = block->forward(h);  // the plain blocks: W_up starts at zero
  const auto out = net->forward(x[0], x[1], x[2]);
  EXPECT_TRUE(torch::allclose(out.features[0], net->encoder_ln(h).select(1, 0), 1e-5, 1e-6));
  ForwardOptions fo;  // a missing modality is a zero image
  fo.missing = {false, false, true};
  EXPECT_TRUE(torch::equal(net->forward(x[0], x[1], x[2], fo).logits, net->forward(x[0], x[1], torch::zeros_like(x[2])).logits));
}

// One AMA recomputed by hand: the modality grids gathered token by token, the modality weights as
// a matrix product on the channel means, the class token through the conv's centre taps.
TEST(ViTAMA, AdapterFollowsTheAuthorsEquations) {
  torch::manual_seed(6);
  const std::int64_t C = 6, d = 2, G = 2, N = G * G, B = 2;
  MultimodalAdapter ama(C, d, 0.0);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : ama->parameters()) p.normal_(0, 0.7);
  }
  ama->eval();
  const auto x = torch::randn({B, 1 + 3 * N, C});
  torch::Tensor w;
  torch::NoGradGuard no_grad;
  const auto out = ama->forward(x, &w);
  const auto quick_gelu = [](const torch::Tensor& t) { return t * torch::sigmoid(1.702 * t); };
  const auto z = quick_gelu(torch::matmul(x, ama->down->weight.t()) + ama->down->bias);  // (B, 1 + 3N, d)
  auto grids = torch::zeros({B, 3 * d, G, G});
  for (int m = 0; m < 3; ++m)
    for (int r = 0; r < G; ++r)
      for (int c = 0; c < G; ++c) grids.select(3, c).select(2, r).narrow(1, m * d, d).copy_(z.select(1, 1 + m * N + r * G + c));
  const auto gap = grids.mean({2, 3});                                                         // (B, 3d)
  const auto expected_w = torch::sigmoid(torch::matmul(gap, ama->weigh->weight.view({3, 3 * d}).t()));  // (B, 3)
  EXPECT_TRUE(torch::allclose(w, expected_w, 1e-5, 1e-6));
  const auto fused = torch::nn::functional::conv2d(grids, ama->fuse->weight, torch::nn::functional::Conv2dFuncOptions().padding(1));
  const auto centre = ama->fuse->weight.select(3, 1).select(2, 1);                            // (d, 3d)
  std::vector<torch::Tensor> rows{torch::matmul(z.select(1, 0).repeat({1, 3}), centre.t())};  // the class token
  for (int m = 0; m < 3; ++m)
    for (int r = 0; r < G; ++r)
      for (int c = 0; c < G; ++c) rows.push_back(expected_w.select(1, m).unsqueeze(1) * fused.select(3, c).select(2, r));
  const auto mixed = torch::stack(rows, 1);  // (B, 1 + 3N, d)
  const auto expected = torch::matmul(quick_gelu(mixed), ama->up->weight.t()) + ama->up->bias;
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-5)) << (out - expected).abs().max();
}

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

// In training the normalized head follows SSDG's source: the weight's columns are renormalized in
// place before use and the gradient bypasses the normalization, so dL/dW is the plain linear layer's
// upstream^T e (closed form), not its projection onto the unit sphere's tangent.
TEST(NetworkHead, NormalizedHeadTrainsAsSSDGsSourceDoes) {
  torch::manual_seed(7);
  auto o = tiny("vit");
  o.normalized_head = true;
  auto net = std::dynamic_pointer_cast<MultiBranchViTImpl>(make_network(o));
  net->train();
  {
    torch::NoGradGuard no_grad;
    net->fc_all->weight.mul_(3.0);  // columns far from unit norm
  }
  const auto x = torch::randn({4, 3, 32, 32});
  const auto out = net->forward(x, x.flip(3), x.flip(2));
  const auto& w = net->fc_all->weight;  // (K, D)
  EXPECT_TRUE(torch::allclose(w.norm(2, 0), torch::ones({w.size(1)}), 1e-5, 1e-5));  // renormalized in place
  const auto upstream = torch::randn_like(out.logits);
  (out.logits * upstream).sum().backward();
  const auto expected = torch::mm(upstream.t(), out.embedding.detach());  // (K, D)
  EXPECT_TRUE(torch::allclose(w.grad(), expected, 1e-5, 1e-6)) << (w.grad() - expected).abs().max();
  // evaluation normalizes by value and writes nothing
  {
    torch::NoGradGuard no_grad;
    net->fc_all->weight.mul_(2.0);
  }
  net->eval();
  const auto before = net->fc_all->weight.clone();
  torch::NoGradGuard no_grad;
  const auto eval_out = net->forward(x, x.flip(3), x.flip(2));
  EXPECT_TRUE(torch::equal(net->fc_all->weight, before));
  EXPECT_TRUE(torch::allclose(eval_out.logits, torch::mm(eval_out.embedding, (before / before.norm(2, 0, true)).t()) + net->fc_all->bias,
                              1e-5, 1e-6));
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
    if (!entry.capabilities.token_blocks) {  // a CNN (mm-cdcn): no tokens to show
      EXPECT_TRUE(seen.empty()) << entry.name;
      continue;
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(net->options().backbone.num_layers())) << entry.name;
    EXPECT_EQ(rows, entry.capabilities.modality_branches ? 6 : 2) << entry.name;
    fo.after_block = [](std::size_t i, const torch::Tensor& h) { return i == 0 ? h * 2 : h; };
    EXPECT_FALSE(torch::allclose(plain.logits, net->forward(x, x.flip(3), x.flip(2), fo).logits)) << entry.name;
  }
}

}  // namespace
}  // namespace mmdg::model
