#include "mmdg/model/network.h"

#include <torch/torch.h>

#include <map>
#include <regex>

#include "mmdg/model/mm_cdcn.h"
#include "mmdg/model/multi_branch_vit.h"
#include "mmdg/model/uadapter_vit.h"
#include "mmdg/model/vit_ama.h"
#include "mmdg/model/vit_concat.h"
#include "mmdg/model/vit_single.h"
#include "mmdg/model/vp_fas.h"
#include "mmdg/model/vitaf.h"
#include "mmdg/util/error.h"
#include "mmdg/util/registry.h"

namespace mmdg::model {

const char* modality_name(int m) {
  static const char* names[] = {"rgb", "depth", "ir"};
  return (m >= 0 && m < 3) ? names[m] : "?";
}

// The registry: one entry per network (capabilities: modality branches, uncertainty, adapters).
const std::vector<NetworkEntry>& network_registry() {
  static const std::vector<NetworkEntry> entries = {
      {"vit-concat", "ViT (concat)", "channel-concatenated inputs, 1x1 conv 9->3, one ViT (Table 1's single-modal recipe)",
       {false, false, false, true}, [](const NetworkOptions& o) -> Network { return std::make_shared<ViTConcatImpl>(o); }},
      {"vit", "ViT", "three ViT branches sharing the blocks, no adapters, concatenated class tokens (Table 4's ViT)",
       {true, false, false, true}, [](const NetworkOptions& o) -> Network { return std::make_shared<MultiBranchViTImpl>(o); }},
      {"vit-uadapter", "ViT + U-Adapter", "the MMDG network: three ViT branches with U-Adapters and the uncertainty module",
       {true, true, true, true}, [](const NetworkOptions& o) -> Network { return std::make_shared<UAdapterViTImpl>(o); }},
      {"vit-single", "ViT (one modality)", "one ViT on one modality (option modality), the others ignored (Fig. 1(c)'s unimodal setting)",
       {false, false, false, true}, [](const NetworkOptions& o) -> Network { return std::make_shared<ViTSingleImpl>(o); }},
      {"vitaf", "ViTAF", "ViTAF (Huang et al. 2022): channel-concatenated inputs, one ViT with ensemble adapters and feature-wise transformation",
       {false, false, false, true}, [](const NetworkOptions& o) -> Network { return std::make_shared<ViTAFImpl>(o); }},
      {"vit-ama", "ViT + AMA", "ViT + AMA (Yu et al. 2024): one frozen ViT on the three modalities' tokens, adaptive multimodal adapters",
       {false, false, false, true}, [](const NetworkOptions& o) -> Network { return std::make_shared<ViTAMAImpl>(o); }},
      {"mm-cdcn", "MM-CDCN", "MM-CDCN (Yu et al. 2020): a CNN of central difference convolutions per modality, fused, a pixel-wise map; from scratch",
       {false, false, false, false}, [](const NetworkOptions& o) -> Network { return std::make_shared<MultiModalCDCNImpl>(o); }},
      {"vp-fas", "VP-FAS", "VP-FAS (Yu et al. 2023, reconstructed): one frozen ViT on the modalities' tokens, missing-case-aware prompts",
       {false, false, false, true}, [](const NetworkOptions& o) -> Network { return std::make_shared<VPFASImpl>(o); }},
  };
  return entries;
}

NetworkOutput NetworkImpl::forward(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                   const ForwardOptions& fo) {
  NetworkOutput out;
  {
    PrecisionGuard guard(precision_);
    out = forward_impl(rgb, depth, ir, fo);
  }
  if (precision_ == Precision::Float32) return out;
  const auto to_float = [](torch::Tensor& t) {
    if (t.defined() && t.scalar_type() != torch::kFloat) t = t.to(torch::kFloat);
  };
  to_float(out.logits);
  to_float(out.embedding);
  to_float(out.regularizer);
  to_float(out.map);
  for (int m = 0; m < kNumModalities; ++m) {
    to_float(out.features[m]);
    to_float(out.modality_logits[m]);
    to_float(out.reliability[m]);
    to_float(out.class_reliability[m]);
  }
  for (auto& item : out.attention) to_float(item.second);
  return out;
}

std::array<torch::Tensor, 3> NetworkImpl::checked_inputs(const torch::Tensor& rgb, const torch::Tensor& depth,
                                                           const torch::Tensor& ir, const ForwardOptions& fo) const {
  const std::array<const torch::Tensor*, 3> images{&rgb, &depth, &ir};
  std::array<torch::Tensor, 3> inputs;
  for (int m = 0; m < kNumModalities; ++m) {
    check_input(*images[m], rgb.size(0), m);
    inputs[m] = fo.missing[m] ? torch::zeros_like(*images[m]) : *images[m];  // (B, 3, S, S)
  }
  return inputs;
}

void NetworkImpl::check_input(const torch::Tensor& img, std::int64_t B, int m) const {
  const auto S = options_.backbone.image_size();
  if (img.dim() != 4 || img.size(0) != B || img.size(1) != 3 || img.size(2) != S || img.size(3) != S)
    throw Error(options_.network + " input '" + modality_name(m) + "': expected (" + std::to_string(B) + ", 3, " +
                std::to_string(S) + ", " + std::to_string(S) + "), got " + c10::str(img.sizes()));
}

Capabilities NetworkImpl::capabilities() const { return find_network(options_.network).capabilities; }

std::vector<std::string> network_names() { return registry_names(network_registry()); }

const NetworkEntry& find_network(const std::string& name) { return registry_find(network_registry(), name, "network"); }

std::string network_label(const NetworkOptions& o) {
  if (o.network == "vit-single") return o.network + "-" + enum_name(o.modality);
  return o.network;
}

std::string network_title(const NetworkOptions& o) {
  if (o.network == "vit-single") return std::string("ViT (") + enum_name(o.modality) + ")";
  return find_network(o.network).title;
}

Network make_network(const NetworkOptions& options) {
  options.validate();
  return find_network(options.network).make(options);
}

std::string network_of_legacy_method(const std::string& method, const std::string& context) {
  if (method == "mmdg") return "vit-uadapter";
  if (method == "vit") return "vit-concat";  // the Table 1 baseline was `--method vit`
  throw Error(context + ": option method: unknown value '" + method + "' (expected mmdg or vit)");
}

ParameterCounts count_parameters(const NetworkImpl& net) {
  ParameterCounts counts;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> groups;
  for (const auto& p : net.named_parameters()) {
    const auto n = p.value().numel();
    auto& g = groups[net.group_of(p.key())];
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
    if (std::regex_match(name, m, legacy)) name = m[1].str() + (m[2] == "1" ? "0." : "3.") + m[3].str();
    out.insert(name, item.value());
  }
  return out;
}

}  // namespace mmdg::model
