#include "mmdg/train/strategy.h"

#include "mmdg/train/ce_strategy.h"
#include "mmdg/train/regrad_strategy.h"

namespace mmdg::train {
namespace {

void require_branches(const model::NetworkImpl& net, const std::string& strategy) {
  if (!net.capabilities().modality_branches)
    throw Error("option strategy: " + strategy + " needs per-modality branches, which network " + net.options().network +
                " does not have (networks with them: vit, vit-uadapter)");
}

}  // namespace

// The registry: one line per strategy.
const std::vector<StrategyEntry>& strategy_registry() {
  static const std::vector<StrategyEntry> entries = {
      {"ce", "cross-entropy on the fused logits",
       [](const TrainOptions&, model::NetworkImpl& net, const StrategyContext&) -> std::unique_ptr<Strategy> {
         return std::make_unique<CEStrategy>(net);
       }},
      {"regrad", "CE + lambda * per-modality SSP losses, combined by ReGrad (the paper's Eq. 5-8)",
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         require_branches(net, "regrad");
         return std::make_unique<ReGradStrategy>(o, net, c);
       }},
  };
  return entries;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const auto& e : strategy_registry()) names.push_back(e.name);
  return names;
}

const StrategyEntry& find_strategy(const std::string& name) {
  for (const auto& e : strategy_registry())
    if (e.name == name) return e;
  throw Error("option strategy: unknown value '" + name + "' (expected one of: " + join_names(strategy_names()) + ")");
}

std::unique_ptr<Strategy> make_strategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context) {
  return find_strategy(options.strategy).make(options, net, context);
}

// The method presets: one line per named (network, strategy) pair.
const std::vector<MethodPreset>& method_presets() {
  static const std::vector<MethodPreset> presets = {
      {"mmdg", "vit-uadapter", "regrad", "the paper's method (U-Adapters, SSP loss, ReGrad)"},
      {"vit", "vit-concat", "ce", "Table 1's ViT baseline: channel-concatenated inputs, one ViT, CE"},
  };
  return presets;
}

const MethodPreset& find_method(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& m : method_presets()) {
    if (m.name == name) return m;
    names.push_back(m.name);
  }
  throw Error("option method: unknown value '" + name + "' (expected one of: " + join_names(names) +
              "; or give --network and --strategy)");
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
