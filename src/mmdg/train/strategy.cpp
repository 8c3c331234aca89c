#include "mmdg/train/strategy.h"

#include <torch/torch.h>

#include "mmdg/train/ce_strategy.h"
#include "mmdg/train/regrad_strategy.h"
#include "mmdg/util/registry.h"

namespace mmdg::train {

void backward_replacing_grads(const torch::Tensor& loss, std::vector<torch::Tensor>& params) {
  for (auto& p : params)
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  loss.backward();
  for (auto& p : params)
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
}

// The registry: one line per strategy.
const std::vector<StrategyEntry>& strategy_registry() {
  static const std::vector<StrategyEntry> entries = {
      {"ce", "cross-entropy on the fused logits", {},
       [](const TrainOptions&, model::NetworkImpl& net, const StrategyContext&) -> std::unique_ptr<Strategy> {
         return std::make_unique<CEStrategy>(net);
       }},
      {"regrad", "CE + lambda * per-modality SSP losses, combined by ReGrad (the paper's Eq. 5-8)", {true, false, false},
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         return std::make_unique<ReGradStrategy>(o, net, c);
       }},
  };
  return entries;
}

std::vector<std::string> strategy_names() { return registry_names(strategy_registry()); }

const StrategyEntry& find_strategy(const std::string& name) { return registry_find(strategy_registry(), name, "strategy"); }

void check_compatible(const std::string& strategy, const std::string& network) {
  const auto& needs = find_strategy(strategy).needs;
  const auto& has = model::find_network(network).capabilities;
  std::vector<std::string> capable;
  for (const auto& e : model::network_registry())
    if (e.capabilities.covers(needs)) capable.push_back(e.name);
  const auto require = [&](bool ok, const std::string& what) {
    if (!ok)
      throw Error("option strategy: " + strategy + " needs " + what + ", which network " + network +
                  " does not have (networks with what it needs: " + join_names(capable) + ")");
  };
  require(!needs.modality_branches || has.modality_branches, "per-modality branches");
  require(!needs.uncertainty || has.uncertainty, "an uncertainty module");
  require(!needs.adapters || has.adapters, "cross-modal adapters");
}

std::unique_ptr<Strategy> make_strategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context) {
  check_compatible(options.strategy, net.options().network);
  return find_strategy(options.strategy).make(options, net, context);
}

const char* const kPaperMethod = "mmdg";
const char* const kViTBaselineMethod = "vit";

// The method presets: one line per named (network, strategy) pair.
const std::vector<MethodPreset>& method_presets() {
  static const std::vector<MethodPreset> presets = {
      {kPaperMethod, "vit-uadapter", "regrad", "the paper's method (U-Adapters, SSP loss, ReGrad)"},
      {kViTBaselineMethod, "vit-concat", "ce", "Table 1's ViT baseline: channel-concatenated inputs, one ViT, CE"},
  };
  return presets;
}

const MethodPreset& find_method(const std::string& name) {
  return registry_find(method_presets(), name, "method", "; or give --network and --strategy");
}

std::string method_name(const std::string& network, const std::string& strategy) {
  for (const auto& m : method_presets())
    if (m.network == network && m.strategy == strategy) return m.name;
  return network + "+" + strategy;
}

std::string strategy_of_legacy_method(const std::string& method) {
  for (const auto& m : method_presets())
    if (m.name == method) return m.strategy;
  return "regrad";
}

}  // namespace mmdg::train
