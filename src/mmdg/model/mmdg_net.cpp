#include "mmdg/model/mmdg_net.h"

#include <torch/torch.h>

#include <regex>

#include "mmdg/model/vit_weights.h"
#include "mmdg/util/error.h"

namespace mmdg::model {

const char* modality_name(int m) {
  static const char* names[] = {"rgb", "depth", "ir"};
  return (m >= 0 && m < 3) ? names[m] : "?";
}

MMDGNetImpl::MMDGNetImpl(const MMDGOptions& o) : options_(o) {
  o.validate();
  uncertainty_.estimator = parse_estimator(o.estimator);
  uncertainty_.samples = o.mc_samples;
  uncertainty_.drop_rate = o.mc_drop_rate;
  uncertainty_.rate = o.reliability_rate;
  const ViTOptions vit = o.vit();
  const auto C = o.hidden_dim, P = o.patch_size, L = vit.num_patches() + 1;
  const bool vit_baseline = o.method == "vit";
  if (vit_baseline) {
    fusion = register_module("fusion", torch::nn::Conv2d(torch::nn::Conv2dOptions(9, 3, 1)));
    torch::NoGradGuard no_grad;
    fusion->weight.zero_();
    for (int c = 0; c < 3; ++c)
      for (int m = 0; m < 3; ++m) fusion->weight[c][3 * m + c][0][0] = 1.0 / 3.0;  // mean of the modalities
    fusion->bias.zero_();
  }
  for (int m = 0; m < (vit_baseline ? 1 : kNumModalities); ++m) {
    const std::string k = std::to_string(m + 1);
    conv_proj[m] = register_module("conv_proj" + k, torch::nn::Conv2d(torch::nn::Conv2dOptions(3, C, P).stride(P)));
    class_token[m] = register_parameter("class_token" + k, torch::zeros({1, 1, C}));
    pos_embedding[m] = register_parameter("pos_embedding" + k, torch::empty({1, L, C}));
    torch::NoGradGuard no_grad;
    pos_embedding[m].normal_(0.0, 0.02);
  }
  auto encoder = register_module("ViT_Encoder", std::make_shared<torch::nn::Module>("Sequential"));
  encoder_dropout = torch::nn::Dropout(o.dropout);  // ViT_Encoder.0 in the released code (no parameters)
  register_module("encoder_dropout", encoder_dropout);
  for (std::int64_t i = 0; i < o.num_layers; ++i)
    blocks.push_back(encoder->register_module(std::to_string(i + 1), EncoderBlock(vit)));
  encoder_ln = encoder->register_module(std::to_string(o.num_layers + 1),
                                        torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(vit.layer_norm_eps())));
  const auto adapter_options = UAdapterOptions()
                                   .hidden_dim(C)
                                   .adapter_dim(o.adapter_dim)
                                   .heads(o.adapter_heads)
                                   .grid_size(vit.grid_size())
                                   .use_cdc(o.use_cdc)
                                   .theta(o.cdc_theta)
                                   .dropout(o.adapter_dropout);
  const auto make_adapters = [&](const std::string& name, std::vector<UAdapter>& list) {
    auto holder = register_module(name, std::make_shared<torch::nn::Module>("Sequential"));
    for (std::int64_t i = 0; i < o.num_layers; ++i)
      list.push_back(holder->register_module(std::to_string(i), UAdapter(adapter_options)));
  };
  if (!vit_baseline) {
    make_adapters("adapter_1_2_2", adapter_1_2);
    make_adapters("adapter_2_1_2", adapter_2_1);
    make_adapters("adapter_1_3_2", adapter_1_3);
    make_adapters("adapter_3_1_2", adapter_3_1);
  }
  const auto make_head = [&](const std::string& name, std::int64_t in) {
    auto seq = register_module(name, std::make_shared<torch::nn::Module>("Sequential"));
    return seq->register_module("0", torch::nn::Linear(in, o.num_classes));
  };
  if (vit_baseline) {
    fc_all = make_head("fc_all", C);
  } else if (o.head == "concat") {
    fc_all = make_head("fc_all", 3 * C);
  } else {
    for (int m = 0; m < kNumModalities; ++m) fc[m] = make_head("fc" + std::to_string(m + 1), C);
  }
  apply_freeze_policy();
}

void MMDGNetImpl::set_estimator(const std::string& estimator) {
  uncertainty_.estimator = parse_estimator(estimator);
  options_.estimator = estimator;
}

void MMDGNetImpl::apply_freeze_policy() {
  const bool adapters_only = options_.freeze == "adapters-only";
  const std::string last_block = "ViT_Encoder." + std::to_string(options_.num_layers) + ".";
  const std::string final_ln = "ViT_Encoder." + std::to_string(options_.num_layers + 1) + ".";
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

MMDGOutput MMDGNetImpl::forward(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                const ForwardOptions& fo) {
  if (baseline()) return forward_baseline(rgb, depth, ir, fo);
  const std::array<const torch::Tensor*, 3> images{&rgb, &depth, &ir};
  const auto S = options_.image_size;
  const auto B = rgb.size(0);
  std::vector<torch::Tensor> streams;
  for (int m = 0; m < kNumModalities; ++m) {
    const auto& img = *images[m];
    if (img.dim() != 4 || img.size(0) != B || img.size(1) != 3 || img.size(2) != S || img.size(3) != S)
      throw Error(std::string("MMDG input '") + modality_name(m) + "': expected (" + std::to_string(B) + ", 3, " +
                  std::to_string(S) + ", " + std::to_string(S) + "), got " + c10::str(img.sizes()));
    const auto input = fo.missing[m] ? torch::zeros_like(img) : img;
    const auto patches = conv_proj[m](input).flatten(2).transpose(1, 2);                      // (B, N, C)
    const auto tokens = torch::cat({class_token[m].expand({B, 1, -1}), patches}, 1);         // (B, L, C)
    streams.push_back(tokens + pos_embedding[m]);
  }
  auto h = encoder_dropout(torch::cat(streams, 0));  // (3B, L, C): R, D, I stacked
  MMDGOutput out;
  torch::Tensor token_reliability;  // (3B, L)
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const bool keep = fo.attention_maps && i + 1 == blocks.size();
    h = block_step(i, h, &token_reliability, keep ? &out.attention : nullptr);
  }
  const auto cls = encoder_ln(h).select(1, 0).chunk(3, 0);                 // 3 x (B, C)
  const auto us = token_reliability.chunk(3, 0);
  for (int m = 0; m < kNumModalities; ++m) {
    out.features[m] = cls[m];
    out.reliability[m] = us[m];
    out.class_reliability[m] = us[m].select(1, 0).mean();
  }
  if (fc_all) {
    out.logits = fc_all(torch::cat({cls[0], cls[1], cls[2]}, 1));           // (B, num_classes)
  } else {
    for (int m = 0; m < kNumModalities; ++m) out.modality_logits[m] = fc[m](cls[m]);
    out.logits = (out.modality_logits[0] + out.modality_logits[1] + out.modality_logits[2]) / 3.0;
  }
  return out;
}

MMDGOutput MMDGNetImpl::forward_baseline(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                         const ForwardOptions& fo) {
  const auto S = options_.image_size;
  const std::array<const torch::Tensor*, 3> images{&rgb, &depth, &ir};
  std::vector<torch::Tensor> channels;
  for (int m = 0; m < kNumModalities; ++m) {
    const auto& img = *images[m];
    if (img.dim() != 4 || img.size(0) != rgb.size(0) || img.size(1) != 3 || img.size(2) != S || img.size(3) != S)
      throw Error(std::string("ViT baseline input '") + modality_name(m) + "': expected (B, 3, " + std::to_string(S) + ", " +
                  std::to_string(S) + "), got " + c10::str(img.sizes()));
    channels.push_back(fo.missing[m] ? torch::zeros_like(img) : img);  // missing modalities: zero channels
  }
  const auto x = fusion(torch::cat(channels, 1));                                    // (B, 3, S, S)
  const auto B = x.size(0);
  const auto patches = conv_proj[0](x).flatten(2).transpose(1, 2);                  // (B, N, C)
  auto h = encoder_dropout(torch::cat({class_token[0].expand({B, 1, -1}), patches}, 1) + pos_embedding[0]);
  for (auto& block : blocks) h = block(h);
  const auto cls = encoder_ln(h).select(1, 0);                                       // (B, C)
  MMDGOutput out;
  out.logits = fc_all(cls);
  for (int m = 0; m < kNumModalities; ++m) {
    out.features[m] = cls;
    out.class_reliability[m] = torch::ones({}, cls.options());
  }
  return out;
}

torch::Tensor MMDGNetImpl::block_step(std::size_t i, const torch::Tensor& h, torch::Tensor* token_reliability,
                                      std::vector<std::pair<std::string, torch::Tensor>>* attention) {
  auto& block = blocks.at(i);
  const auto attn = block->attention(h);                                  // (3B, L, C)
  const auto u_tokens = reliability(attn, uncertainty_).mean(-1);         // (3B, L), no grad
  if (token_reliability) *token_reliability = u_tokens;
  const auto x_a = h + attn;
  const auto y = block->ln_2(x_a);                                        // (3B, L, C)
  const auto mlp = block->mlp->forward(y);
  const auto ys = y.chunk(3, 0);
  const auto us = u_tokens.chunk(3, 0);                                   // (B, L) each
  const auto u = [&](int m) { return options_.adapter_uncertainty ? us[m] : torch::Tensor(); };
  std::array<torch::Tensor, 4> maps;
  const auto map = [&](int k) { return attention ? &maps[k] : nullptr; };
  const auto to_r = adapter_1_2[i](ys[kRGB], ys[kDepth], u(kDepth), map(0)) +
                    adapter_1_3[i](ys[kRGB], ys[kIR], u(kIR), map(1));     // R <- D, R <- I
  const auto to_d = adapter_2_1[i](ys[kDepth], ys[kRGB], u(kRGB), map(2));  // D <- R
  const auto to_i = adapter_3_1[i](ys[kIR], ys[kRGB], u(kRGB), map(3));     // I <- R
  if (attention) *attention = {{"1_2", maps[0]}, {"1_3", maps[1]}, {"2_1", maps[2]}, {"3_1", maps[3]}};
  return x_a + mlp + torch::cat({to_r, to_d, to_i}, 0);                    // (3B, L, C)
}

LoadReport MMDGNetImpl::load_pretrained_backbone(const io::StateDict& vit_weights, const std::string& context) {
  const io::StateDict tv = to_torchvision_vit_names(vit_weights);
  io::StateDict mapped;
  const std::string final_ln = "ViT_Encoder." + std::to_string(options_.num_layers + 1) + ".";
  static const std::regex block_key(R"(encoder\.layers\.encoder_layer_(\d+)\.(.+))");
  std::vector<std::string> unused;
  for (const auto& item : tv) {
    const std::string& k = item.key();
    std::smatch match;
    const int stems = baseline() ? 1 : 3;
    if (k.rfind("conv_proj.", 0) == 0) {
      for (int m = 1; m <= stems; ++m) mapped.insert("conv_proj" + std::to_string(m) + k.substr(9), item.value());
    } else if (k == "class_token") {
      for (int m = 1; m <= stems; ++m) mapped.insert("class_token" + std::to_string(m), item.value());
    } else if (k == "encoder.pos_embedding") {
      if (options_.pos_embedding_init == "pretrained")
        for (int m = 1; m <= stems; ++m) mapped.insert("pos_embedding" + std::to_string(m), item.value());
    } else if (k.rfind("encoder.ln.", 0) == 0) {
      mapped.insert(final_ln + k.substr(11), item.value());
    } else if (std::regex_match(k, match, block_key)) {
      mapped.insert("ViT_Encoder." + std::to_string(std::stoll(match[1]) + 1) + "." + match[2].str(), item.value());
    } else if (k.rfind("heads.", 0) != 0) {
      unused.push_back(k);
    }
  }
  LoadReport report = load_state_dict(*this, mapped, /*strict=*/false, context);
  // Only the new parts may be missing: adapters, head, and fresh position embeddings.
  std::vector<std::string> missing_backbone;
  for (const auto& name : report.missing) {
    const std::string g = group_of(name);
    const bool fresh = g == "adapters" || g == "head" || name.rfind("fusion.", 0) == 0 ||
                       (name.rfind("pos_embedding", 0) == 0 && options_.pos_embedding_init == "normal");
    if (!fresh) missing_backbone.push_back(name);
  }
  report.unexpected.insert(report.unexpected.end(), unused.begin(), unused.end());
  if (!missing_backbone.empty() || !report.mismatched.empty() || !report.unexpected.empty()) {
    LoadReport problems;
    problems.missing = missing_backbone;
    problems.mismatched = report.mismatched;
    problems.unexpected = report.unexpected;
    throw Error(context + ": pretrained ViT weights do not fit the MMDG backbone:\n" + problems.describe() +
                "HINT: the backbone options (image_size, patch_size, num_layers, hidden_dim, ...) must match the file");
  }
  return report;
}

int branch_of(const std::string& name) {
  static const std::regex stem(R"((conv_proj|class_token|pos_embedding)([123])(\..*)?)");
  static const std::regex adapter(R"(adapter_([123])_[123]_2\..*)");
  static const std::regex head(R"(fc([123])\..*)");
  std::smatch m;
  if (std::regex_match(name, m, stem)) return std::stoi(m[2]) - 1;
  if (std::regex_match(name, m, adapter) || std::regex_match(name, m, head)) return std::stoi(m[1]) - 1;
  return -1;
}

std::string group_of(const std::string& name) {
  if (name.rfind("ViT_Encoder.", 0) == 0) return "backbone";
  if (name.rfind("adapter_", 0) == 0) return "adapters";
  if (name.rfind("fc", 0) == 0) return "head";
  return "stems";
}

ParameterCounts count_parameters(const MMDGNetImpl& net) {
  ParameterCounts counts;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> groups;
  for (const auto& p : net.named_parameters()) {
    const auto n = p.value().numel();
    auto& g = groups[group_of(p.key())];
    g.first += n;
    counts.total += n;
    if (p.value().requires_grad()) {
      g.second += n;
      counts.trainable += n;
    }
  }
  for (const char* name : {"backbone", "stems", "adapters", "head"})
    counts.groups.emplace_back(name, groups[name].first, groups[name].second);
  return counts;
}

io::StateDict from_released_layout(const io::StateDict& state) {
  static const std::regex legacy(R"((ViT_Encoder\.\d+\.mlp\.)linear_([12])\.(weight|bias))");
  io::StateDict out;
  for (const auto& item : state) {
    std::smatch m;
    std::string name = item.key();
    if (std::regex_match(name, m, legacy))
      name = m[1].str() + (m[2] == "1" ? "0." : "3.") + m[3].str();
    out.insert(name, item.value());
  }
  return out;
}

}  // namespace mmdg::model
