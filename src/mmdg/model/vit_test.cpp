#include "mmdg/model/vit.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/io/safetensors.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/model/vit_weights.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::model {
namespace {

using test::golden;

ViTOptions golden_options() {
  const auto& o = test::expected()["vit_tiny"];
  auto options = vit_config("vit_tiny").num_classes(o["num_classes"].get<std::int64_t>());
  EXPECT_EQ(options.image_size(), o["image_size"].get<std::int64_t>());
  EXPECT_EQ(options.patch_size(), o["patch_size"].get<std::int64_t>());
  EXPECT_EQ(options.num_layers(), o["num_layers"].get<std::int64_t>());
  EXPECT_EQ(options.num_heads(), o["num_heads"].get<std::int64_t>());
  EXPECT_EQ(options.hidden_dim(), o["hidden_dim"].get<std::int64_t>());
  EXPECT_EQ(options.mlp_dim(), o["mlp_dim"].get<std::int64_t>());
  return options;
}

// Loads `file` into a fresh tiny ViT and compares its outputs with torchvision's.
void expect_matches_torchvision(const std::string& file) {
  VisionTransformer vit(golden_options());
  vit->eval();
  const auto report = load_vit_weights(*vit, io::read_weights(golden(file)), /*strict=*/true, file);
  EXPECT_TRUE(report.complete());
  const auto io = io::read_safetensors(golden("vit_tiny_io.safetensors"));
  torch::NoGradGuard no_grad;
  const auto tokens = vit->forward_features(io["input"]);
  const auto logits = vit->forward(io["input"]);
  EXPECT_TRUE(torch::allclose(tokens, io["tokens"], 1e-5, 1e-5))
      << "max diff " << (tokens - io["tokens"]).abs().max().item<float>();
  EXPECT_TRUE(torch::allclose(logits, io["logits"], 1e-5, 1e-5))
      << "max diff " << (logits - io["logits"]).abs().max().item<float>();
}

TEST(ViT, MatchesTorchvisionFromTorchCheckpoint) { expect_matches_torchvision("vit_tiny_torchvision.pth"); }

TEST(ViT, MatchesTorchvisionFromTimmSafetensors) { expect_matches_torchvision("vit_tiny_timm.safetensors"); }

TEST(ViT, ParameterNamesAndShapesFollowTorchvision) {
  VisionTransformer vit(vit_config("vit_b16"));
  std::map<std::string, std::vector<std::int64_t>> shapes;
  for (const auto& p : vit->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  // as torchvision's vit_b_16: conv_proj 2 + class_token + pos_embedding + 12 per block
  // + encoder.ln 2 + heads.head 2 = 152 tensors
  EXPECT_EQ(shapes.size(), 152u);
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(shapes["conv_proj.weight"], (V{768, 3, 16, 16}));
  EXPECT_EQ(shapes["class_token"], (V{1, 1, 768}));
  EXPECT_EQ(shapes["encoder.pos_embedding"], (V{1, 197, 768}));
  EXPECT_EQ(shapes["encoder.layers.encoder_layer_11.self_attention.in_proj_weight"], (V{2304, 768}));
  EXPECT_EQ(shapes["encoder.layers.encoder_layer_11.self_attention.out_proj.weight"], (V{768, 768}));
  EXPECT_EQ(shapes["encoder.layers.encoder_layer_0.mlp.0.weight"], (V{3072, 768}));
  EXPECT_EQ(shapes["encoder.layers.encoder_layer_0.mlp.3.bias"], (V{768}));
  EXPECT_EQ(shapes["encoder.ln.weight"], (V{768}));
  EXPECT_EQ(shapes["heads.head.weight"], (V{1000, 768}));
  std::int64_t total = 0;
  for (const auto& p : vit->parameters()) total += p.numel();
  EXPECT_EQ(total, 86567656);  // torchvision vit_b_16
}

TEST(ViT, BlockPiecesComposeToTheFusedForward) {
  VisionTransformer vit(vit_config("vit_tiny").num_classes(0));
  vit->eval();
  auto& block = vit->encoder->blocks[1];
  const auto x = torch::randn({2, 17, 16});
  const auto x_a = x + block->attention(x);
  const auto manual = x_a + block->mlp->forward(block->ln_2(x_a));
  EXPECT_TRUE(torch::allclose(manual, block->forward(x)));
  EXPECT_EQ(vit->forward(torch::randn({3, 3, 32, 32})).sizes().vec(), (std::vector<std::int64_t>{3, 16}));
}

TEST(ViT, AttentionWeightsAreProbabilities) {
  SelfAttention attn(16, 4, 0.0);
  torch::Tensor weights;
  attn->forward(torch::randn({2, 5, 16}), &weights);
  EXPECT_EQ(weights.sizes().vec(), (std::vector<std::int64_t>{2, 4, 5, 5}));
  EXPECT_TRUE(torch::allclose(weights.sum(-1), torch::ones({2, 4, 5})));
}

TEST(ViT, BadOptionsAndInputsAreNamed) {
  EXPECT_MMDG_ERROR(VisionTransformer(vit_config("vit_tiny").image_size(30)), "image_size");
  EXPECT_MMDG_ERROR(VisionTransformer(vit_config("vit_tiny").num_heads(3)), "hidden_dim");
  EXPECT_MMDG_ERROR(vit_config("vit_huge"), "known: vit_b16");
  VisionTransformer vit(vit_config("vit_tiny"));
  EXPECT_MMDG_ERROR(vit->forward(torch::randn({1, 3, 64, 64})), "(B, 3, 32, 32)");
}

TEST(ViTWeights, NonStrictLoadReplacesTheHead) {
  // a 2-class model from the 5-class file: the head is reported, everything else loads
  VisionTransformer vit(vit_config("vit_tiny").num_classes(2));
  const auto sd = io::read_weights(golden("vit_tiny_torchvision.pth"));
  EXPECT_MMDG_ERROR(load_vit_weights(*vit, sd, true, "file.pth"), "heads.head.weight: file [5, 16] vs model [2, 16]");
  const auto report = load_vit_weights(*vit, sd, false, "file.pth");
  EXPECT_EQ(report.mismatched.size(), 2u);
  EXPECT_EQ(report.loaded, sd.size() - 2);
  EXPECT_TRUE(torch::equal(vit->class_token, sd["class_token"]));
  // features only (no head): the head tensors are unexpected
  VisionTransformer backbone(vit_config("vit_tiny").num_classes(0));
  const auto r2 = load_vit_weights(*backbone, sd, false, "file.pth");
  EXPECT_EQ(r2.unexpected, (std::vector<std::string>{"heads.head.weight", "heads.head.bias"}));
}

TEST(ViTWeights, RenamesTimmAndLegacyTorchvisionKeys) {
  io::StateDict sd;
  for (const char* key : {"patch_embed.proj.weight", "cls_token", "pos_embed", "blocks.3.norm1.bias",
                          "blocks.10.attn.qkv.weight", "blocks.10.attn.qkv.bias", "blocks.0.attn.proj.weight",
                          "blocks.2.norm2.weight", "blocks.2.mlp.fc1.bias", "blocks.2.mlp.fc2.weight",
                          "norm.bias", "head.weight", "encoder.layers.encoder_layer_4.mlp.linear_1.weight",
                          "encoder.layers.encoder_layer_4.mlp.linear_2.bias", "fc_norm.weight"})
    sd.insert(key, torch::zeros({1}));
  const auto renamed = to_torchvision_vit_names(sd);
  const std::vector<std::string> want = {
      "conv_proj.weight", "class_token", "encoder.pos_embedding", "encoder.layers.encoder_layer_3.ln_1.bias",
      "encoder.layers.encoder_layer_10.self_attention.in_proj_weight",
      "encoder.layers.encoder_layer_10.self_attention.in_proj_bias",
      "encoder.layers.encoder_layer_0.self_attention.out_proj.weight", "encoder.layers.encoder_layer_2.ln_2.weight",
      "encoder.layers.encoder_layer_2.mlp.0.bias", "encoder.layers.encoder_layer_2.mlp.3.weight", "encoder.ln.bias",
      "heads.head.weight", "encoder.layers.encoder_layer_4.mlp.0.weight", "encoder.layers.encoder_layer_4.mlp.3.bias",
      "fc_norm.weight"};
  EXPECT_EQ(renamed.keys(), want);
  io::StateDict clash;
  clash.insert("cls_token", torch::zeros({1}));
  clash.insert("class_token", torch::zeros({1}));
  EXPECT_MMDG_ERROR(to_torchvision_vit_names(clash), "two tensors for 'class_token'");
}

}  // namespace
}  // namespace mmdg::model
