// VP-FAS (vp_fas.h, our reconstruction) recomputed by hand: where the prompts enter the token
// sequence, which prompts a missing case selects, the residual contextual prompts, and what trains.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/io/weights_file.h"
#include "mmdg/model/vp_fas.h"
#include "mmdg/util/test_util.h"

namespace mmdg::model {
namespace {

std::shared_ptr<VPFASImpl> tiny_vpfas(std::int64_t prompted_blocks) {
  auto o = NetworkOptions::preset("mmdg_tiny");  // 2 blocks, C = 16, prompts of 2 tokens
  o.network = "vp-fas";
  o.freeze = Freeze::AdaptersOnly;
  o.vpfas_prompt_layers = prompted_blocks;
  auto net = std::dynamic_pointer_cast<VPFASImpl>(make_network(o));
  net->load_pretrained_backbone(io::read_weights(test::golden("vit_tiny_torchvision.pth")), "vit_tiny");
  net->eval();
  return net;
}

// The sequence by hand: [CLS + its position embedding, P prompt tokens, each modality's patches
// through the one stem with the patch position embeddings].
torch::Tensor sequence_by_hand(VPFASImpl& net, const std::array<torch::Tensor, 3>& x, const torch::Tensor& prompt) {
  const auto B = x[0].size(0);
  const auto pos = net.pos_embedding[0];
  std::vector<torch::Tensor> parts{net.class_token[0].expand({B, 1, -1}) + pos.narrow(1, 0, 1), prompt};
  for (const auto& image : x) parts.push_back(net.conv_proj[0](image).flatten(2).transpose(1, 2) + pos.narrow(1, 1, pos.size(1) - 1));
  return torch::cat(parts, 1);
}

TEST(VPFAS, EachMissingCaseGetsTheSharedPlusItsModalitiesPrompts) {
  torch::manual_seed(21);
  auto net = tiny_vpfas(1);
  const std::array<torch::Tensor, 3> x{torch::randn({2, 3, 32, 32}), torch::randn({2, 3, 32, 32}), torch::zeros({2, 3, 32, 32})};
  torch::NoGradGuard no_grad;
  // sample 0 complete, sample 1 without IR (its image is zero, as the dataset gives it)
  ForwardOptions fo;
  fo.present = torch::tensor({1, 1, 1, 1, 1, 0}, torch::kLong).view({2, 3}).to(torch::kBool);
  const auto out = net->forward(x[0], x[1], x[2], fo);
  const auto shared = net->prompt_shared[0], ir_missing = net->prompt_missing[0][2];  // (P, C)
  const auto prompt = torch::stack({shared, shared + ir_missing});                     // (B, P, C)
  auto h = sequence_by_hand(*net, x, prompt);
  EXPECT_EQ(h.size(1), 1 + 2 + 3 * 16);
  for (auto& block : net->blocks) h = block->forward(h);
  EXPECT_TRUE(torch::allclose(out.features[0], net->encoder_ln(h).select(1, 0), 1e-5, 1e-6));
  // the batch-wide `missing` flag selects the same prompts as the per-sample mask
  ForwardOptions all_missing_ir;
  all_missing_ir.missing = {false, false, true};
  ForwardOptions mask;
  mask.present = torch::tensor({1, 1, 0, 1, 1, 0}, torch::kLong).view({2, 3});
  EXPECT_TRUE(torch::allclose(net->forward(x[0], x[1], x[2], all_missing_ir).logits, net->forward(x[0], x[1], x[2], mask).logits,
                              1e-6, 1e-7));
  // and a different case, a different prompt: the output changes though the images do not
  EXPECT_FALSE(torch::allclose(net->forward(x[0], x[1], x[2]).logits, net->forward(x[0], x[1], x[2], all_missing_ir).logits));
  ForwardOptions wrong;
  wrong.present = torch::ones({3, 3});
  EXPECT_MMDG_ERROR(net->forward(x[0], x[1], x[2], wrong), "vp-fas: the presence mask must be (2, 3)");
}

TEST(VPFAS, LaterPromptedBlocksAddTheirPromptsToThePreviousPromptOutputs) {
  torch::manual_seed(22);
  auto net = tiny_vpfas(2);
  const std::array<torch::Tensor, 3> x{torch::randn({1, 3, 32, 32}), torch::randn({1, 3, 32, 32}), torch::randn({1, 3, 32, 32})};
  torch::NoGradGuard no_grad;
  ForwardOptions fo;
  fo.missing = {false, true, false};  // depth missing: shared + depth's prompts in both blocks
  const auto out = net->forward(x[0], torch::zeros_like(x[1]), x[2], fo);
  const auto prompt = [&](int i) { return (net->prompt_shared[i] + net->prompt_missing[i][1]).unsqueeze(0); };
  auto h = net->blocks[0]->forward(sequence_by_hand(*net, {x[0], torch::zeros_like(x[1]), x[2]}, prompt(0)));
  h = torch::cat({h.narrow(1, 0, 1), h.narrow(1, 1, 2) + prompt(1), h.narrow(1, 3, h.size(1) - 3)}, 1);
  h = net->blocks[1]->forward(h);
  EXPECT_TRUE(torch::allclose(out.features[0], net->encoder_ln(h).select(1, 0), 1e-5, 1e-6));
}

TEST(VPFAS, OnlyThePromptsAndTheHeadTrain) {
  auto o = NetworkOptions::preset("mmdg_b16");
  o.network = "vp-fas";
  o.freeze = Freeze::AdaptersOnly;
  const auto net = make_network(o);
  for (const auto& p : net->named_parameters())
    EXPECT_EQ(p.value().requires_grad(), p.key().rfind("prompt_", 0) == 0 || p.key().rfind("fc_all", 0) == 0) << p.key();
  const auto counts = count_parameters(*net);
  // 6 prompted blocks x (1 shared + 3 modal-relevant) x 16 tokens x 768, and the head 768 x 2 + 2
  EXPECT_EQ(counts.trainable, 6 * 4 * 16 * 768 + 768 * 2 + 2);
  EXPECT_LT(static_cast<double>(counts.trainable), 0.04 * static_cast<double>(counts.total));  // "less than 4 %"
  o.vpfas_prompt_layers = 13;
  EXPECT_MMDG_ERROR(o.validate(), "option vpfas_prompt_layers: must be at most the backbone's num_layers (12)");
}

}  // namespace
}  // namespace mmdg::model
