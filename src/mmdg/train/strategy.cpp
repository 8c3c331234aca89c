#include "mmdg/train/strategy.h"

#include <torch/torch.h>

#include <cmath>

#include "mmdg/train/ama_strategy.h"
#include "mmdg/train/cdcn_strategy.h"
#include "mmdg/train/ce_strategy.h"
#include "mmdg/train/cmfl_strategy.h"
#include "mmdg/train/gradient_reducer.h"
#include "mmdg/train/iadg_strategy.h"
#include "mmdg/train/ogm_ge_strategy.h"
#include "mmdg/train/pmr_strategy.h"
#include "mmdg/train/regrad_strategy.h"
#include "mmdg/train/ssan_strategy.h"
#include "mmdg/train/ssdg_strategy.h"
#include "mmdg/train/vitaf_strategy.h"
#include "mmdg/train/vpfas_strategy.h"
#include "mmdg/util/registry.h"

namespace mmdg::train {

void backward_replacing_grads(const torch::Tensor& loss, std::vector<torch::Tensor>& params) {
  for (auto& p : params)
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  loss.backward();
  for (auto& p : params)
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
}

namespace {
// The step's backward pass: through the trainer's gradient reducer when one is open (several
// processes; the gradients and the loss become the means over the processes), else in place.
void backward_of_step(const torch::Tensor& total, std::vector<torch::Tensor>& params, StepResult& result) {
  if (auto* reducer = GradientReducer::active())
    result.loss = reducer->backward(total, result.loss, params);
  else
    backward_replacing_grads(total, params);
}
}  // namespace

torch::Tensor clip_gradient_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  if (norms.empty()) return {};
  const auto total = torch::stack(norms).norm(2);
  const auto scale = (max_norm / (total + 1e-6)).clamp_max(1.0);
  for (const auto& p : params)
    if (p.grad().defined()) p.grad().mul_(scale);
  return total;
}

std::vector<torch::Tensor> ModuleStrategy::parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& p : module_->parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}

void ModuleStrategy::save(torch::serialize::OutputArchive& archive) const {
  for (const auto& p : module_->named_parameters()) archive.write("strategy." + p.key(), p.value());
  for (const auto& b : module_->named_buffers()) archive.write("strategy." + b.key(), b.value(), /*is_buffer=*/true);
}

void ModuleStrategy::load(torch::serialize::InputArchive& archive) {
  torch::NoGradGuard no_grad;
  const auto copy_into = [&](const std::string& key, torch::Tensor& t) {
    torch::Tensor saved;
    archive.read("strategy." + key, saved);
    if (saved.sizes() != t.sizes())
      throw Error("strategy tensor " + key + ": saved shape " + c10::str(saved.sizes()) + ", expected " +
                  c10::str(t.sizes()));
    t.copy_(saved);
  };
  for (auto& p : module_->named_parameters()) copy_into(p.key(), p.value());
  for (auto& b : module_->named_buffers()) copy_into(b.key(), b.value());
}

bool in_first_fraction(std::int64_t epoch, double fraction, std::int64_t epochs) {
  return fraction > 0 && static_cast<double>(epoch) < std::max(1.0, std::ceil(fraction * static_cast<double>(epochs)));
}

std::vector<torch::Tensor> trainable_tensors(model::NetworkImpl& net, const std::vector<torch::Tensor>& extra) {
  std::vector<torch::Tensor> out;
  for (auto& p : net.parameters())
    if (p.requires_grad()) out.push_back(p);
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

namespace {
// "the loss is not finite (<the log's numeric parts>)", NaN and inf spelled out (JSON would print null).
std::string non_finite_message(const nlohmann::json& log) {
  std::string parts;
  for (const auto& item : log.items())
    if (item.value().is_number())
      parts += (parts.empty() ? "" : ", ") + item.key() + " " + std::to_string(item.value().get<double>());
  return "the loss is not finite (" + parts + ")";
}
}  // namespace

StepResult backward_step(const torch::Tensor& total, std::vector<torch::Tensor>& params, nlohmann::json log) {
  StepResult result;
  result.loss = total.item<double>();
  if (!std::isfinite(result.loss)) throw NonFiniteLoss(non_finite_message(log));
  backward_of_step(total, params, result);
  result.log = std::move(log);
  return result;
}

StepResult backward_step(const torch::Tensor& total, std::vector<torch::Tensor>& params, const LossParts& parts,
                         nlohmann::json extra) {
  std::vector<torch::Tensor> pieces{total.detach().reshape(-1)};
  for (const auto& part : parts) pieces.push_back(part.second.detach().reshape(-1).to(total.dtype()));
  const auto host = torch::cat(pieces).to(torch::kCPU, torch::kDouble);  // the one read
  const auto* v = host.data_ptr<double>();
  nlohmann::json log = nlohmann::json::object();
  std::int64_t at = 1;
  for (const auto& [name, tensor] : parts) {
    if (tensor.dim() == 0) {
      log[name] = v[at++];
    } else {
      std::vector<double> values(v + at, v + at + tensor.numel());
      at += tensor.numel();
      log[name] = values;
    }
  }
  log.update(extra);
  StepResult result;
  result.loss = v[0];
  if (!std::isfinite(result.loss)) throw NonFiniteLoss(non_finite_message(log));
  backward_of_step(total, params, result);
  result.log = std::move(log);
  return result;
}

BranchedTensors trainable_tensors_by_branch(model::NetworkImpl& net) {
  BranchedTensors out;
  for (auto& p : net.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    out.tensors.push_back(p.value());
    out.branches.push_back(net.branch_of(p.key()));
  }
  return out;
}

// The registry: one line per strategy.
const std::vector<StrategyEntry>& strategy_registry() {
  const model::Capabilities any{}, branches{true, false, false}, tokens{false, false, false, true};
  static const std::vector<StrategyEntry> entries = {
      {"ce", "none", "cross-entropy on the fused logits", any,
       [](const TrainOptions&, model::NetworkImpl& net, const StrategyContext&) -> std::unique_ptr<Strategy> {
         return std::make_unique<CEStrategy>(net);
       },
       nullptr, ""},
      {"regrad", "ReGrad", "CE + lambda * per-modality SSP losses, combined by ReGrad (the paper's Eq. 5-8)", branches,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         return std::make_unique<ReGradStrategy>(o, net, c);
       },
       nullptr, ""},
      {"ssdg", "SSDG", "single-side adversarial learning + asymmetric triplet loss, normalized head (Jia et al. 2020)", any,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         return std::make_unique<SSDGStrategy>(o, net, c);
       },
       [](model::NetworkOptions& n) { n.normalized_head = true; }, ""},
      {"ssan", "SSAN", "shuffled style assembly on tokens, contrastive + adversarial content losses (Wang et al. 2022)", tokens,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         return std::make_unique<SSANStrategy>(o, net, c);
       },
       nullptr, ""},
      {"iadg", "IADG", "categorical style assembly + asymmetric instance adaptive whitening on tokens (Zhou et al. 2023)",
       tokens,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         return std::make_unique<IADGStrategy>(o, net, c);
       },
       nullptr, ""},
      {"pmr", "PMR", "prototypical cross-entropy for slow modalities, entropy for fast ones (Fan et al. 2023)", branches,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         return std::make_unique<PMRStrategy>(o, net, c);
       },
       nullptr, ""},
      {"ogm-ge", "OGM-GE", "dominant modality's branch gradients scaled down, plus Gaussian noise (Peng et al. 2022)",
       branches,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         return std::make_unique<OGMGEStrategy>(o, net, c);
       },
       nullptr, ""},
      {"cmfl", "CMFL", "per-modality heads with the cross-modal focal loss + joint CE (George & Marcel 2021)", branches,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c) -> std::unique_ptr<Strategy> {
         return std::make_unique<CMFLStrategy>(o, net, c);
       },
       nullptr, ""},
      {"vitaf", "ViTAF", "CE + the ensemble adapters' diversity term, adapters and FWT trained (Huang et al. 2022; network vitaf)",
       any,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext&) -> std::unique_ptr<Strategy> {
         return std::make_unique<ViTAFStrategy>(o, net);
       },
       [](model::NetworkOptions& n) {
         n.freeze = model::Freeze::AdaptersOnly;
         n.normalized_head = true;
       },
       "vitaf"},
      {"ama", "AMA", "CE with each sample's depth and IR zeroed at random, ViT frozen (Yu et al. 2024's flexible-modal training)",
       any,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext&) -> std::unique_ptr<Strategy> {
         return std::make_unique<AMAStrategy>(o, net);
       },
       [](model::NetworkOptions& n) { n.freeze = model::Freeze::AdaptersOnly; }, "vit-ama"},
      {"cdcn", "CDCN", "pixel-wise binary map MSE + contrastive depth loss (Yu et al. 2020; network mm-cdcn)", any,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext&) -> std::unique_ptr<Strategy> {
         return std::make_unique<CDCNStrategy>(o, net);
       },
       nullptr, "mm-cdcn"},
      {"vpfas", "VP-FAS", "CE on the full and a missing-modality view + embedding consistency, ViT frozen (our reading of Yu et al. 2023)",
       any,
       [](const TrainOptions& o, model::NetworkImpl& net, const StrategyContext&) -> std::unique_ptr<Strategy> {
         return std::make_unique<VPFASStrategy>(o, net);
       },
       [](model::NetworkOptions& n) { n.freeze = model::Freeze::AdaptersOnly; }, "vp-fas"},
  };
  return entries;
}

std::vector<std::string> strategy_names() { return registry_names(strategy_registry()); }

const StrategyEntry& find_strategy(const std::string& name) { return registry_find(strategy_registry(), name, "strategy"); }

bool StrategyEntry::trains(const std::string& network) const {
  return model::find_network(network).capabilities.covers(needs) && (only_network.empty() || only_network == network);
}

void check_compatible(const std::string& strategy, const std::string& network) {
  const auto& entry = find_strategy(strategy);
  const auto& needs = entry.needs;
  const auto& has = model::find_network(network).capabilities;
  std::vector<std::string> capable;
  for (const auto& e : model::network_registry())
    if (entry.trains(e.name)) capable.push_back(e.name);
  if (!entry.only_network.empty() && entry.only_network != network)
    throw UsageError("option strategy: " + strategy + " trains network " + entry.only_network + " only, not " + network);
  const auto require = [&](bool ok, const std::string& what) {
    if (!ok)
      throw UsageError("option strategy: " + strategy + " needs " + what + ", which network " + network +
                  " does not have (networks with what it needs: " + join_names(capable) + ")");
  };
  require(!needs.modality_branches || has.modality_branches, "per-modality branches");
  require(!needs.uncertainty || has.uncertainty, "an uncertainty module");
  require(!needs.adapters || has.adapters, "cross-modal adapters");
  require(!needs.token_blocks || has.token_blocks, "ViT blocks (its style assembly works on their tokens)");
}

void check_options_for_network(const TrainOptions& o, const model::NetworkOptions& network) {
  const auto blocks = network.backbone.num_layers();
  if (o.strategy == "ssan") assembly_block(o.ssan.block, blocks, "ssan_block");
  if (o.strategy == "iadg") assembly_block(o.iadg.block, blocks, "iadg_block");
}

std::unique_ptr<Strategy> make_strategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context) {
  check_compatible(options.strategy, net.options().network);
  return find_strategy(options.strategy).make(options, net, context);
}

const char* const kPaperMethod = "mmdg";
const char* const kViTBaselineMethod = "vit";

// The method presets: one line per named (network, strategy) pair, titled as the paper's tables.
const std::vector<MethodPreset>& method_presets() {
  static const std::vector<MethodPreset> presets = {
      {kPaperMethod, "vit-uadapter", "regrad", "MMDG", "the paper's method (U-Adapters, SSP loss, ReGrad)"},
      {kViTBaselineMethod, "vit-concat", "ce", "ViT", "Table 1's ViT baseline: channel-concatenated inputs, one ViT, CE"},
      {"ssdg", "vit-concat", "ssdg", "SSDG", "Table 1's SSDG: channel-concatenated inputs (Sec. 4.2), one ViT"},
      {"ssan", "vit-concat", "ssan", "SSAN", "Table 1's SSAN: channel-concatenated inputs (Sec. 4.2), one ViT"},
      {"iadg", "vit-concat", "iadg", "IADG", "Table 1's IADG: channel-concatenated inputs (Sec. 4.2), one ViT"},
      {"cmfl", "vit", "cmfl", "CMFL", "Table 1's CMFL: three ViT branches (its streams), joint + per-modality heads"},
      {"vitaf", "vitaf", "vitaf", "ViTAF", "Table 1's ViTAF: channel-concatenated inputs, ensemble adapters + FWT (zero-shot)"},
      {"vit-ama", "vit-ama", "ama", "ViT + AMA", "Table 1's ViT + AMA: the modalities' tokens through one frozen ViT with AMAs, modality dropout"},
      {"mm-cdcn", "mm-cdcn", "cdcn", "MM-CDCN", "Table 1's MM-CDCN: a CDCN per modality, fused, binary map supervision, from scratch"},
      {"vp-fas", "vp-fas", "vpfas", "VP-FAS", "Table 1's VP-FAS (reconstructed): one frozen ViT, missing-case-aware prompts, consistency regularization"},
  };
  return presets;
}

MethodPreset resolve_method(const std::string& name) {
  for (const auto& m : method_presets())
    if (m.name == name) return m;
  const auto plus = name.find('+');
  if (plus == std::string::npos)
    throw Error("unknown method '" + name + "' (known: " + join_names(registry_names(method_presets())) +
                ", or network+strategy, e.g. vit-uadapter+ssdg)");
  MethodPreset m;
  m.network = name.substr(0, plus);
  m.strategy = name.substr(plus + 1);
  model::find_network(m.network);
  find_strategy(m.strategy);
  check_compatible(m.strategy, m.network);
  m.name = name;
  return m;
}

std::string method_name(const model::NetworkOptions& network, const std::string& strategy) {
  for (const auto& m : method_presets())
    if (m.network == network.network && m.strategy == strategy) return m.name;
  return model::network_label(network) + "+" + strategy;
}

std::string method_title(const model::NetworkOptions& network, const std::string& strategy) {
  for (const auto& m : method_presets())
    if (m.network == network.network && m.strategy == strategy) return m.title;
  return model::network_title(network) + " / " + find_strategy(strategy).title;
}

std::string strategy_of_legacy_method(const std::string& method) {
  for (const auto& m : method_presets())
    if (m.name == method) return m.strategy;
  return "regrad";
}

}  // namespace mmdg::train
