// Strategy `ssan`: Shuffled Style Assembly Network (Wang et al., CVPR 2022), adapted to a ViT's
// tokens; any network.
// - content / style split at block k (option ssan_block; default the second to last block, the
//   input of the last block, which trains under the released freeze policy): a stream's style is
//   the per-channel mean and std of its patch tokens (token_style.h), its content the normalized
//   tokens; assembly = AdaIN(content_i, style_j) on the patch tokens, then the remaining blocks;
// - self assembly (j = i) is the identity, so the network needs no extra module and evaluation is
//   the plain forward (the reference's test path uses self assembly too);
// - shuffled assembly: j = pi(i), one random permutation of the batch shared by the modality
//   streams; L_con = mean_i -y_i cos(sg(e_ii), e_i,pi(i)), y_i = +1 when the live/spoof labels of i
//   and pi(i) agree and -1 otherwise, e the head's input embedding (the reference's contrastive loss);
// - adversarial learning on content: the class tokens after block k (all streams concatenated)
//   through a gradient reversal layer (SSDG's ramp) into a domain discriminator sized and
//   initialized as SSAN_R.py's (D -> 256 -> sources, PyTorch's default Linear init). The reversal
//   is a true one, as the paper describes: the released GRL is an nn.Module whose backward()
//   autograd never calls, so the released code trains the backbone to *minimize* the domain loss
//   (SSAN issue 18); we follow the paper;
// - L = CE(self) + w_con L_con + w_adv L_adv (weights 1, 1 as in the reference solver).
// Simplified from the reference: its style path is a learned multi-level CNN producing gamma, beta,
// and its content a separate conv; here both come from the ViT's own tokens (a learned style path
// would be a module the network lacks at inference). Costs two forward passes per step.
#pragma once
#include "mmdg/train/adversarial.h"
#include "mmdg/train/strategy.h"

namespace mmdg::train {

// The block after which the style-assembly strategies act: `option`, or with -1 the second to last
// of `num_blocks` (the last when there is one). Throws naming `option_name` when out of range.
std::size_t assembly_block(std::int64_t option, std::int64_t num_blocks, const std::string& option_name);

// SSAN's contrastive loss: mean_i -y_i cos(anchor_i.detach(), shuffled_i); anchor, shuffled (B, D),
// same (B) bool: the labels of i and pi(i) agree.
torch::Tensor shuffled_contrastive_loss(const torch::Tensor& anchor, const torch::Tensor& shuffled, const torch::Tensor& same);

class SSANStrategy : public ModuleStrategy {
 public:
  SSANStrategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;

 private:
  SSANOptions options_;
  std::size_t block_;
  std::vector<torch::Tensor> trainable_;
  DomainDiscriminator discriminator_{nullptr};
};

}  // namespace mmdg::train
