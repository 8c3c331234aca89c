#include "mmdg/model/vit_network.h"

#include <torch/torch.h>

#include <regex>

#include "mmdg/model/vit_weights.h"
#include "mmdg/util/error.h"

namespace mmdg::model {

void ViTNetworkImpl::add_stem(int k) {
  const auto C = options_.backbone.hidden_dim(), P = options_.backbone.patch_size();
  const auto L = options_.vit().num_patches() + 1;
  const std::string n = std::to_string(k + 1);
  conv_proj[k] = register_module("conv_proj" + n, torch::nn::Conv2d(torch::nn::Conv2dOptions(3, C, P).stride(P)));
  class_token[k] = register_parameter("class_token" + n, torch::zeros({1, 1, C}));
  pos_embedding[k] = register_parameter("pos_embedding" + n, torch::empty({1, L, C}));
  torch::NoGradGuard no_grad;
  pos_embedding[k].normal_(0.0, 0.02);
  num_stems_ = std::max(num_stems_, k + 1);
}

void ViTNetworkImpl::add_encoder() {
  const ViTOptions vit = options_.vit();
  auto encoder = register_module("ViT_Encoder", std::make_shared<torch::nn::Module>("Sequential"));
  encoder_dropout = torch::nn::Dropout(vit.dropout());  // ViT_Encoder.0 in the released code (no parameters)
  register_module("encoder_dropout", encoder_dropout);
  for (std::int64_t i = 0; i < vit.num_layers(); ++i)
    blocks.push_back(encoder->register_module(std::to_string(i + 1), EncoderBlock(vit)));
  encoder_ln = encoder->register_module(
      std::to_string(vit.num_layers() + 1),
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({vit.hidden_dim()}).eps(vit.layer_norm_eps())));
}

torch::nn::Linear ViTNetworkImpl::add_head(const std::string& name, std::int64_t in) {
  auto seq = register_module(name, std::make_shared<torch::nn::Module>("Sequential"));
  return seq->register_module("0", torch::nn::Linear(in, options_.num_classes));
}

ViTNetworkImpl::HeadOutput ViTNetworkImpl::classify(const torch::nn::Linear& fc,
                                                    const std::vector<torch::Tensor>& parts) const {
  HeadOutput out;
  auto e = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);  // (B, D)
  auto w = fc->weight;                                             // (K, D)
  if (options_.normalized_head) {
    // SSDG's embedder and classifier with norm_flag: e / (|e|^0.5 * 2^0.5) in the graph; the weight's
    // columns set to unit norm as the source does it (`weight.data = l2_norm(weight)`): in training
    // the weight itself is renormalized in place outside the graph, so the gradient reaches it as
    // if there were no normalization; evaluation uses the unit columns without writing (straight
    // through, so the value is the same and a const model can be shared by threads).
    e = e / (e.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12).sqrt() * std::sqrt(2.0));
    torch::Tensor unit;
    {
      torch::NoGradGuard no_grad;
      unit = w / w.norm(2, 0, /*keepdim=*/true).clamp_min(1e-12);
      if (is_training()) w.variable_data().copy_(unit);  // .data: no version bump, as in the source
    }
    w = w + (unit - w).detach();  // value: the unit columns; gradient: straight to the weight
  }
  out.embedding = e;
  out.logits = torch::nn::functional::linear(e, w, fc->bias);  // (B, K)
  const auto n = static_cast<std::int64_t>(parts.size());
  if (n > 1) {
    const auto es = e.chunk(n, 1), ws = w.chunk(n, 1);
    for (std::int64_t m = 0; m < n; ++m)
      out.shares.push_back(torch::nn::functional::linear(es[m], ws[m]) + fc->bias / static_cast<double>(n));
  }
  return out;
}

NetworkOutput ViTNetworkImpl::encode_one_stream(torch::Tensor h, const torch::nn::Linear& fc, const ForwardOptions& fo) {
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    h = blocks[i](h);
    if (fo.after_block) h = fo.after_block(i, h);
  }
  return classify_one_stream(h, fc);
}

NetworkOutput ViTNetworkImpl::classify_one_stream(const torch::Tensor& h, const torch::nn::Linear& fc) {
  const auto cls = encoder_ln(h).select(1, 0);  // (B, C)
  NetworkOutput out;
  auto head = classify(fc, {cls});
  out.logits = head.logits;  // (B, K)
  out.embedding = head.embedding;
  out.features.fill(cls);
  return out;
}

torch::nn::Conv2d ViTNetworkImpl::add_mean_fusion() {
  auto fusion = register_module("fusion", torch::nn::Conv2d(torch::nn::Conv2dOptions(9, 3, 1)));
  torch::NoGradGuard no_grad;
  fusion->weight.zero_();
  for (int c = 0; c < 3; ++c)
    for (int m = 0; m < kNumModalities; ++m) fusion->weight[c][3 * m + c][0][0] = 1.0 / 3.0;  // mean of the modalities
  fusion->bias.zero_();
  return fusion;
}

torch::Tensor ViTNetworkImpl::concatenated_inputs(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                                  const ForwardOptions& fo) const {
  const auto inputs = checked_inputs(rgb, depth, ir, fo);
  return torch::cat({inputs[0], inputs[1], inputs[2]}, 1);  // (B, 9, S, S)
}

torch::Tensor ViTNetworkImpl::modality_tokens(const std::array<torch::Tensor, 3>& images) {
  const auto B = images[0].size(0);
  const auto pos = pos_embedding[0];  // (1, 1 + N, C): the class token's, then the patches'
  std::vector<torch::Tensor> parts{class_token[0].expand({B, 1, -1}) + pos.slice(1, 0, 1)};
  for (const auto& image : images) parts.push_back(conv_proj[0](image).flatten(2).transpose(1, 2) + pos.slice(1, 1));  // (B, N, C)
  return torch::cat(parts, 1);  // (B, 1 + 3N, C)
}

torch::Tensor ViTNetworkImpl::embed(int k, const torch::Tensor& images) {
  const auto B = images.size(0);
  const auto patches = conv_proj[k](images).flatten(2).transpose(1, 2);                    // (B, N, C)
  return torch::cat({class_token[k].expand({B, 1, -1}), patches}, 1) + pos_embedding[k];  // (B, L, C)
}

std::string ViTNetworkImpl::group_of(const std::string& name) const {
  if (name.rfind("ViT_Encoder.", 0) == 0) return "backbone";
  if (name.rfind("adapter_", 0) == 0) return "adapters";
  if (name.rfind("fc", 0) == 0) return "head";
  return "stems";
}

void ViTNetworkImpl::apply_freeze_policy() {
  const bool adapters_only = options_.freeze == Freeze::AdaptersOnly;
  const auto n = options_.backbone.num_layers();
  const std::string last_block = "ViT_Encoder." + std::to_string(n) + ".";
  const std::string final_ln = "ViT_Encoder." + std::to_string(n + 1) + ".";
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    const std::string group = group_of(name);
    bool trainable = false;
    if (group == "adapters" || group == "head" || name.rfind("fusion.", 0) == 0) {
      trainable = true;
    } else if (!adapters_only) {
      if (group == "backbone") trainable = name.rfind(last_block, 0) == 0 || name.rfind(final_ln, 0) == 0;
      else trainable = name.rfind("conv_proj", 0) != 0;  // class tokens, position embeddings
    }
    p.value().set_requires_grad(trainable);
  }
}

LoadReport ViTNetworkImpl::load_pretrained_backbone(const io::StateDict& vit_weights, const std::string& context) {
  const io::StateDict tv = to_torchvision_vit_names(vit_weights);
  io::StateDict mapped;
  const bool pretrained_pos = options_.pretrained_position_embeddings();
  const std::string final_ln = "ViT_Encoder." + std::to_string(options_.backbone.num_layers() + 1) + ".";
  static const std::regex block_key(R"(encoder\.layers\.encoder_layer_(\d+)\.(.+))");
  std::vector<std::string> unused;
  for (const auto& item : tv) {
    const std::string& k = item.key();
    std::smatch match;
    if (k.rfind("conv_proj.", 0) == 0) {
      for (int m = 1; m <= num_stems_; ++m) mapped.insert("conv_proj" + std::to_string(m) + k.substr(9), item.value());
    } else if (k == "class_token") {
      for (int m = 1; m <= num_stems_; ++m) mapped.insert("class_token" + std::to_string(m), item.value());
    } else if (k == "encoder.pos_embedding") {
      if (pretrained_pos)
        for (int m = 1; m <= num_stems_; ++m) mapped.insert("pos_embedding" + std::to_string(m), item.value());
    } else if (k.rfind("encoder.ln.", 0) == 0) {
      mapped.insert(final_ln + k.substr(11), item.value());
    } else if (std::regex_match(k, match, block_key)) {
      mapped.insert("ViT_Encoder." + std::to_string(std::stoll(match[1]) + 1) + "." + match[2].str(), item.value());
    } else if (k.rfind("heads.", 0) != 0) {
      unused.push_back(k);
    }
  }
  LoadReport report = load_state_dict(*this, mapped, /*strict=*/false, context);
  // Only the new parts may be missing: adapters, heads, the input fusion, fresh position embeddings.
  std::vector<std::string> missing_backbone;
  for (const auto& name : report.missing) {
    const std::string g = group_of(name);
    const bool fresh = g == "adapters" || g == "head" || name.rfind("fusion.", 0) == 0 ||
                       (name.rfind("pos_embedding", 0) == 0 && !pretrained_pos);
    if (!fresh) missing_backbone.push_back(name);
  }
  report.unexpected.insert(report.unexpected.end(), unused.begin(), unused.end());
  if (!missing_backbone.empty() || !report.mismatched.empty() || !report.unexpected.empty()) {
    LoadReport problems;
    problems.missing = missing_backbone;
    problems.mismatched = report.mismatched;
    problems.unexpected = report.unexpected;
    throw Error(context + ": pretrained ViT weights do not fit the " + options_.network + " backbone:\n" +
                problems.describe() +
                "HINT: the backbone options (image_size, patch_size, num_layers, hidden_dim, ...) must match the file");
  }
  return report;
}

}  // namespace mmdg::model
