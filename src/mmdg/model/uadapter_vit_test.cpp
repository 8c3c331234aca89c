#include "mmdg/model/uadapter_vit.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/io/safetensors.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/util/error.h"
#include "mmdg/util/settings.h"
#include "mmdg/util/test_util.h"

namespace mmdg::model {
namespace {

NetworkOptions tiny(Estimator estimator = Estimator::LargeT) {
  auto o = NetworkOptions::preset("mmdg_tiny");
  o.estimator = estimator;
  return o;
}

std::shared_ptr<UAdapterViTImpl> make(const NetworkOptions& o) { return std::make_shared<UAdapterViTImpl>(o); }

// Gives every adapter a non-zero up-projection so that adapters really mix the streams.
void randomize_adapters(NetworkImpl& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.named_parameters())
    if (p.key().find("adapter_up") != std::string::npos) p.value().normal_(0.0, 0.5);
}

TEST(UAdapterViT, TrainableParameterCountOfTheReleasedConfig) {
  auto net = make(NetworkOptions::preset("mmdg_b16"));
  const auto counts = count_parameters(*net);
  EXPECT_EQ(counts.trainable, 8513666);
  std::map<std::string, std::int64_t> trainable;
  for (const auto& [group, total, train] : counts.groups) trainable[group] = train;
  EXPECT_EQ(trainable["backbone"], 7087872 + 1536);  // last block + final LayerNorm
  EXPECT_EQ(trainable["stems"], 3 * 768 + 3 * 197 * 768);
  EXPECT_EQ(trainable["adapters"], 48 * 20072);
  EXPECT_EQ(trainable["head"], 2304 * 2 + 2);
  auto o = NetworkOptions::preset("mmdg_b16");
  o.freeze = Freeze::AdaptersOnly;
  o.pos_embedding_init = PosEmbeddingInit::Pretrained;
  EXPECT_EQ(count_parameters(*make_network(o)).trainable, 48 * 20072 + 4610);
}

TEST(UAdapterViT, ReleasedParameterNames) {
  auto net = make(tiny());
  const auto sd = module_state_dict(*net);
  for (const char* key : {"conv_proj1.weight", "conv_proj3.bias", "class_token2", "pos_embedding3",
                          "ViT_Encoder.1.ln_1.weight", "ViT_Encoder.2.self_attention.in_proj_weight",
                          "ViT_Encoder.2.mlp.3.bias", "ViT_Encoder.3.weight", "fc_all.0.weight",
                          "adapter_1_2_2.0.adapter_down_1.weight", "adapter_3_1_2.1.cross_attention.q_linear.weight",
                          "adapter_2_1_2.1.cross_attention.proj.bias", "adapter_1_3_2.0.ln_before.weight",
                          "adapter_1_3_2.1.adapter_conv.conv.weight", "adapter_2_1_2.0.adapter_up.bias"})
    EXPECT_TRUE(sd.contains(key)) << key;
  EXPECT_FALSE(sd.contains("adapter_2_3_2.0.adapter_up.bias"));  // no D <-> I adapters
  // stems 3 x 4, blocks 2 x 12, final LN 2, head 2, adapters 4 x 2 blocks x 14 tensors
  EXPECT_EQ(sd.size(), 3u * 4 + 2 * 12 + 2 + 2 + 4 * 2 * 14u);
}

// With zero-initialized adapters and pretrained position embeddings, each branch is exactly the
// pretrained ViT: compare with torchvision's output on the golden input.
TEST(UAdapterViT, FreshAdaptersLeaveTheBackboneUnchangedAgainstTorchvision) {
  auto o = tiny();
  o.pos_embedding_init = PosEmbeddingInit::Pretrained;
  auto net = make(o);
  net->eval();
  net->load_pretrained_backbone(io::read_weights(test::golden("vit_tiny_torchvision.pth")), "vit_tiny");
  const auto io = io::read_safetensors(test::golden("vit_tiny_io.safetensors"));
  const auto x = io["input"];
  torch::NoGradGuard no_grad;
  const auto out = net->forward(x, x, x);
  const auto want = io["tokens"].select(1, 0);
  for (int m = 0; m < 3; ++m) EXPECT_TRUE(torch::allclose(out.features[m], want, 1e-5, 1e-5)) << modality_name(m);
  EXPECT_EQ(out.logits.sizes().vec(), (std::vector<std::int64_t>{2, 2}));
}

TEST(UAdapterViT, InfraredNeverReachesDepthWithinABlock) {
  torch::manual_seed(8);
  auto net = make(tiny());
  randomize_adapters(*net);
  net->eval();
  const std::int64_t B = 2, L = 17, C = 16;
  const auto h = torch::randn({3 * B, L, C});
  auto h_perturbed = h.clone();
  h_perturbed.slice(0, 2 * B, 3 * B) += torch::randn({B, L, C});  // the IR stream
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < 2; ++i) {
    const auto a = net->block_step(i, h).chunk(3, 0), b = net->block_step(i, h_perturbed).chunk(3, 0);
    EXPECT_TRUE(torch::equal(a[kDepth], b[kDepth])) << "block " << i;
    EXPECT_FALSE(torch::allclose(a[kRGB], b[kRGB])) << "R <- I adapter missing in block " << i;
    EXPECT_FALSE(torch::allclose(a[kIR], b[kIR]));
  }
  // and depth never reaches IR
  auto h_depth = h.clone();
  h_depth.slice(0, B, 2 * B) += torch::randn({B, L, C});
  EXPECT_TRUE(torch::equal(net->block_step(0, h).chunk(3, 0)[kIR], net->block_step(0, h_depth).chunk(3, 0)[kIR]));
}

TEST(UAdapterViT, MissingModalitiesAreZeroInputs) {
  torch::manual_seed(9);
  auto net = make(tiny());
  randomize_adapters(*net);
  net->eval();
  const auto r = torch::randn({2, 3, 32, 32}), d = torch::randn({2, 3, 32, 32}), i = torch::randn({2, 3, 32, 32});
  const auto zero = torch::zeros_like(r);
  torch::NoGradGuard no_grad;
  for (const auto& [missing_d, missing_i] : std::vector<std::pair<bool, bool>>{{true, false}, {false, true}, {true, true}}) {
    ForwardOptions fo;
    fo.missing = {false, missing_d, missing_i};
    const auto out = net->forward(r, d, i, fo);
    const auto want = net->forward(r, missing_d ? zero : d, missing_i ? zero : i);
    EXPECT_TRUE(torch::allclose(out.logits, want.logits));
    EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
  }
}

TEST(UAdapterViT, OutputsOfEveryKind) {
  auto o = tiny(Estimator::MC);
  o.head = Head::PerModality;
  auto net = make(o);
  ForwardOptions fo;
  fo.attention_maps = true;
  const auto out = net->forward(torch::randn({3, 3, 32, 32}), torch::randn({3, 3, 32, 32}), torch::randn({3, 3, 32, 32}), fo);
  EXPECT_EQ(out.logits.sizes().vec(), (std::vector<std::int64_t>{3, 2}));
  for (int m = 0; m < 3; ++m) {
    EXPECT_EQ(out.modality_logits[m].sizes().vec(), (std::vector<std::int64_t>{3, 2}));
    EXPECT_EQ(out.reliability[m].sizes().vec(), (std::vector<std::int64_t>{3, 17}));
    EXPECT_TRUE((out.reliability[m] > 0).all().item<bool>() && (out.reliability[m] <= 1).all().item<bool>());
    EXPECT_EQ(out.class_reliability[m].dim(), 0);
  }
  ASSERT_EQ(out.attention.size(), 4u);
  EXPECT_EQ(out.attention[0].second.sizes().vec(), (std::vector<std::int64_t>{3, 2, 17, 17}));
  EXPECT_TRUE(torch::allclose(out.logits, (out.modality_logits[0] + out.modality_logits[1] + out.modality_logits[2]) / 3));
}

TEST(UAdapterViT, GradientsReachOnlyTrainableTensors) {
  auto net = make(tiny(Estimator::Binomial));
  randomize_adapters(*net);
  const auto out = net->forward(torch::randn({2, 3, 32, 32}), torch::randn({2, 3, 32, 32}), torch::randn({2, 3, 32, 32}));
  out.logits.sum().backward();
  for (const auto& p : net->named_parameters()) {
    if (p.value().requires_grad()) EXPECT_TRUE(p.value().grad().defined()) << p.key();
    else EXPECT_FALSE(p.value().grad().defined()) << p.key();
  }
  EXPECT_FALSE(net->conv_proj[0]->weight.requires_grad());
  EXPECT_FALSE(net->blocks[0]->ln_1->weight.requires_grad());
  EXPECT_TRUE(net->blocks[1]->ln_1->weight.requires_grad());
}

TEST(UAdapterViT, BranchesAndGroups) {
  auto net = make(tiny());
  const auto branch_of = [&](const std::string& name) { return net->branch_of(name); };
  EXPECT_EQ(branch_of("conv_proj2.weight"), 1);
  EXPECT_EQ(branch_of("class_token3"), 2);
  EXPECT_EQ(branch_of("pos_embedding1"), 0);
  EXPECT_EQ(branch_of("adapter_1_3_2.4.adapter_up.weight"), 0);
  EXPECT_EQ(branch_of("adapter_3_1_2.0.ln_before.bias"), 2);
  EXPECT_EQ(branch_of("fc2.0.weight"), 1);
  EXPECT_EQ(branch_of("ViT_Encoder.12.mlp.0.weight"), -1);
  EXPECT_EQ(branch_of("fc_all.0.weight"), -1);
  int per_branch[3] = {0, 0, 0}, shared = 0;
  for (const auto& p : net->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    const int b = branch_of(p.key());
    if (b < 0) ++shared;
    else ++per_branch[b];
  }
  // R: class token, pos embedding, 2 adapters x 2 blocks x 14 tensors; D, I: 1 adapter per block
  EXPECT_EQ(per_branch[0], 2 + 2 * 2 * 14);
  EXPECT_EQ(per_branch[1], 2 + 2 * 14);
  EXPECT_EQ(per_branch[2], 2 + 2 * 14);
  EXPECT_EQ(shared, 12 + 2 + 2);  // last block, final LN, head
}

TEST(UAdapterViT, PretrainedWeightsOfAnotherShapeAreRefusedByName) {
  auto o = tiny();
  o.backbone.hidden_dim(32).num_heads(2);
  auto net = make(o);
  EXPECT_MMDG_ERROR(net->load_pretrained_backbone(io::read_weights(test::golden("vit_tiny_torchvision.pth")), "w.pth"),
                    "ViT_Encoder.1.ln_1.weight: file [16] vs model [32]");
}

TEST(NetworkOptions, ValidationAndJson) {
  NetworkOptions back;
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"estimator", "gauss"}}, "cfg.json"),
                    "option estimator: unknown value 'gauss' (expected one of: mc, binomial, expected, large-t)");
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"freeze", "all"}}, "cfg.json"),
                    "expected one of: last-block, adapters-only");
  auto o = tiny();
  o.freeze = Freeze::AdaptersOnly;
  EXPECT_MMDG_ERROR(o.validate(), "pos_embedding_init");
  o = tiny();
  o.adapter_heads = 3;
  EXPECT_MMDG_ERROR(o.validate(), "adapter_heads");
  // bounds: a hostile config is refused before anything is allocated or a count wraps
  o = tiny();
  o.mc_samples = 1000000000000;
  EXPECT_MMDG_ERROR(o.validate(), "option mc_samples: must be in [2, 1024]");
  o = tiny();
  o.backbone.image_size(std::int64_t{1} << 32).patch_size(1);
  EXPECT_MMDG_ERROR(o.validate(), "ViT option image_size: must be a multiple of patch_size (1) in [1, 8192]");
  o = tiny();
  o.backbone.image_size(4096).patch_size(1);
  EXPECT_MMDG_ERROR(o.validate(), "gives more than 65536 patches");
  o = tiny();
  o.backbone.num_layers(1000000000);
  EXPECT_MMDG_ERROR(o.validate(), "ViT option num_layers: must be in [1, 256]");
  o = tiny();
  o.backbone.num_layers(256).hidden_dim(65536).num_heads(1).mlp_dim(262144);
  EXPECT_MMDG_ERROR(o.validate(), "encoder parameters, more than 4e9");
  // numbers that are not finite, or out of the formula's range, are refused by name (they used to
  // pass and fail later as "the loss is not finite")
  o = tiny();
  o.reliability_rate = INFINITY;
  EXPECT_MMDG_ERROR(o.validate(), "option reliability_rate: must be a finite number, got inf");
  o = tiny();
  o.cdc_theta = 1e308;
  EXPECT_MMDG_ERROR(o.validate(), "option cdc_theta: must be in [0, 1]");
  o = tiny();
  o.vitaf_fwt_gamma = NAN;
  EXPECT_MMDG_ERROR(o.validate(), "option vitaf_fwt_gamma: must be a finite number");
  const auto j = settings::to_json(tiny());
  EXPECT_EQ(j["freeze"], "last-block");
  EXPECT_EQ(j["estimator"], "large-t");
  EXPECT_EQ(j["image_size"], 32);
  settings::from_json(back, j, "cfg.json");
  EXPECT_EQ(settings::to_json(back), j);
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"mc_sample", 3}}, "cfg.json"), "unknown option 'mc_sample'");
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"mc_samples", "3"}}, "cfg.json"), "wrong type");
  EXPECT_MMDG_ERROR(NetworkOptions::preset("mmdg_huge"), "mmdg_b16");
}

TEST(ReleasedLayout, LegacyMlpNamesAreRenamed) {
  io::StateDict sd;
  sd.insert("ViT_Encoder.3.mlp.linear_1.weight", torch::zeros({1}));
  sd.insert("ViT_Encoder.3.mlp.linear_2.bias", torch::zeros({1}));
  sd.insert("adapter_1_2_2.0.adapter_up.bias", torch::zeros({1}));
  EXPECT_EQ(from_released_layout(sd).keys(),
            (std::vector<std::string>{"ViT_Encoder.3.mlp.0.weight", "ViT_Encoder.3.mlp.3.bias", "adapter_1_2_2.0.adapter_up.bias"}));
}

}  // namespace
}  // namespace mmdg::model
