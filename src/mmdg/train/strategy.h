// A training method = a network (mmdg/model/network.h) + a training strategy, each chosen by name.
// A strategy owns its losses, its extra modules (heads, discriminators) and its gradient rule; the
// trainer (trainer.h) owns the loop, the optimizer, evaluation and checkpoints. Strategies ask the
// network's capabilities() for what they need (per-modality branches, uncertainty).
//
// Registered strategies (one file pair each):
//   ce      cross-entropy on the fused logits, one backward pass (ce_strategy.h)
//   regrad  the paper's: CE + lambda * per-modality SSP losses (Eq. 6-7) combined by ReGrad (Eq. 5)
//           (regrad_strategy.h)
// Method presets (`--method`): mmdg = vit-uadapter + regrad (the paper); vit = vit-concat + ce
// (Table 1's ViT baseline, `--method vit` of earlier versions).
#pragma once
#include <torch/types.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mmdg/model/network.h"
#include "mmdg/train/train_options.h"
#include "mmdg/util/error.h"

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace mmdg::data {
class MultiDomainDataset;
}

namespace mmdg::train {

// One training batch on the network's device. Letters: B batch, S image size.
struct TrainBatch {
  torch::Tensor rgb, depth, ir;  // (B, 3, S, S) each, normalized
  torch::Tensor labels;          // (B) int64, 1 = live
  torch::Tensor sources;         // (B) int64, source domain index (order of the training lists)
};

struct StepResult {
  double loss = 0;                             // the total loss, for the progress line
  nlohmann::json log = nlohmann::json::object();  // the strategy's numbers for the step's log line
};

// What a strategy may know about the run when it is built.
struct StrategyContext {
  std::int64_t num_sources = 0;  // source domains (training lists)
  torch::Device device = torch::kCPU;
  std::int64_t workers = 0;      // data-loading threads for passes over the training set
};

// A loss that is NaN or infinite: the trainer stops, keeping the last good checkpoint.
class NonFiniteLoss : public Error {
 public:
  using Error::Error;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // Trainable tensors of the strategy's own modules, for the optimizer (after the network's).
  virtual std::vector<torch::Tensor> parameters() { return {}; }
  // At an epoch's start, before its first step (also when a run resumes inside the epoch).
  virtual void begin_epoch(model::NetworkImpl&, const data::MultiDomainDataset&, std::int64_t /*epoch*/) {}
  // Forward, losses and every trainable tensor's .grad (replaced, not accumulated). Throws
  // NonFiniteLoss (naming the losses) before any state changes when a loss is not finite.
  virtual StepResult step(model::NetworkImpl& net, const TrainBatch& batch) = 0;
  // After the optimizer's step.
  virtual void after_step() {}
  // Fields for the epoch's log line (e.g. the per-modality mean SSP losses of Fig. 6); resets them.
  virtual nlohmann::json end_epoch() { return nlohmann::json::object(); }
  // State a resumed run needs (running losses, prototypes, extra modules).
  virtual void save(torch::serialize::OutputArchive&) const {}
  virtual void load(torch::serialize::InputArchive&) {}
};

// loss.backward() into `params`' .grad, replacing what was there; a tensor the loss does not reach
// gets a zero gradient, so Adam still applies its weight decay to it (one plain training step).
void backward_replacing_grads(const torch::Tensor& loss, std::vector<torch::Tensor>& params);

// ---- registry
struct StrategyEntry {
  std::string name, description;
  model::Capabilities needs;  // what the network must have (true = required)
  std::function<std::unique_ptr<Strategy>(const TrainOptions&, model::NetworkImpl&, const StrategyContext&)> make;
};
const std::vector<StrategyEntry>& strategy_registry();
const StrategyEntry& find_strategy(const std::string& name);  // throws, listing the known names
std::vector<std::string> strategy_names();
// Throws mmdg::Error when network `network` lacks a capability strategy `strategy` needs.
void check_compatible(const std::string& strategy, const std::string& network);
// Builds options.strategy for `net` (checked with check_compatible).
std::unique_ptr<Strategy> make_strategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);

// ---- methods: named (network, strategy) pairs
struct MethodPreset {
  std::string name, network, strategy, description;
};
const std::vector<MethodPreset>& method_presets();
// The presets other code names: the paper's method and Table 1's ViT baseline (the demo's pair).
extern const char* const kPaperMethod;
extern const char* const kViTBaselineMethod;
const MethodPreset& find_method(const std::string& name);  // throws, listing the known names
// The preset's name for (network, strategy), or "network+strategy" when no preset matches.
std::string method_name(const std::string& network, const std::string& strategy);
// The strategy of a run whose config predates `strategy` (it trained the network of `method`).
std::string strategy_of_legacy_method(const std::string& method);

}  // namespace mmdg::train
