#include "mmdg/model/multi_branch_vit.h"

#include <torch/torch.h>

#include <regex>

namespace mmdg::model {

MultiBranchViTImpl::MultiBranchViTImpl(const NetworkOptions& o, bool complete) : ViTNetworkImpl(o) {
  for (int m = 0; m < kNumModalities; ++m) add_stem(m);
  add_encoder();
  if (complete) {
    add_heads();
    apply_freeze_policy();
  }
}

void MultiBranchViTImpl::add_heads() {
  if (options_.head == Head::Concat) {
    fc_all = add_head("fc_all", kNumModalities * feature_dim());
  } else {
    for (int m = 0; m < kNumModalities; ++m) fc[m] = add_head("fc" + std::to_string(m + 1), feature_dim());
  }
}

int MultiBranchViTImpl::branch_of(const std::string& name) const {
  static const std::regex stem(R"((conv_proj|class_token|pos_embedding)([123])(\..*)?)");
  static const std::regex adapter(R"(adapter_([123])_[123]_2\..*)");
  static const std::regex head(R"(fc([123])\..*)");
  std::smatch m;
  if (std::regex_match(name, m, stem)) return std::stoi(m[2]) - 1;
  if (std::regex_match(name, m, adapter) || std::regex_match(name, m, head)) return std::stoi(m[1]) - 1;
  return -1;
}

torch::Tensor MultiBranchViTImpl::block_step(std::size_t i, const torch::Tensor& h, torch::Tensor*,
                                             std::vector<std::pair<std::string, torch::Tensor>>*) {
  return blocks.at(i)(h);
}

NetworkOutput MultiBranchViTImpl::forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                          const ForwardOptions& fo) {
  const auto inputs = checked_inputs(rgb, depth, ir, fo);
  std::vector<torch::Tensor> streams;
  for (int m = 0; m < kNumModalities; ++m) streams.push_back(embed(m, inputs[m]));  // (B, L, C)
  auto h = encoder_dropout(torch::cat(streams, 0));  // (3B, L, C): R, D, I stacked
  NetworkOutput out;
  torch::Tensor token_reliability;  // (3B, L), with an uncertainty module
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const bool keep = fo.attention_maps && i + 1 == blocks.size();
    h = block_step(i, h, &token_reliability, keep ? &out.attention : nullptr);
    if (fo.after_block) h = fo.after_block(i, h);
  }
  const auto cls = encoder_ln(h).select(1, 0).chunk(kNumModalities, 0);  // 3 x (B, C)
  for (int m = 0; m < kNumModalities; ++m) out.features[m] = cls[m];
  if (token_reliability.defined()) {
    const auto us = token_reliability.chunk(kNumModalities, 0);  // 3 x (B, L)
    for (int m = 0; m < kNumModalities; ++m) {
      out.reliability[m] = us[m];
      out.class_reliability[m] = us[m].select(1, 0).mean();
    }
  }
  if (fc_all) {
    auto head = classify(fc_all, {cls[0], cls[1], cls[2]});
    out.logits = head.logits;  // (B, K)
    out.embedding = head.embedding;
    for (int m = 0; m < kNumModalities; ++m) out.modality_logits[m] = head.shares[m];
  } else {
    std::vector<torch::Tensor> embeddings;
    for (int m = 0; m < kNumModalities; ++m) {
      auto head = classify(fc[m], {cls[m]});
      out.modality_logits[m] = head.logits;
      embeddings.push_back(head.embedding);
    }
    out.embedding = torch::cat(embeddings, 1);
    out.logits = (out.modality_logits[0] + out.modality_logits[1] + out.modality_logits[2]) / 3.0;
  }
  return out;
}

}  // namespace mmdg::model
