// A training method = a network (mmdg/model/network.h) + a training strategy, each chosen by name.
// A strategy owns its losses, its extra modules (heads, discriminators) and its gradient rule; the
// trainer (trainer.h) owns the loop, the optimizer, evaluation and checkpoints. Strategies ask the
// network's capabilities() for what they need (per-modality branches, uncertainty).
//
// Registered strategies (one file pair each):
//   ce      cross-entropy on the fused logits, one backward pass (ce_strategy.h)
//   regrad  the paper's: CE + lambda * per-modality SSP losses (Eq. 6-7) combined by ReGrad (Eq. 5)
//           (regrad_strategy.h)
//   ssdg    SSDG (ssdg_strategy.h)          ssan    SSAN (ssan_strategy.h)
//   iadg    IADG (iadg_strategy.h)          pmr     PMR (pmr_strategy.h)
//   ogm-ge  OGM-GE (ogm_ge_strategy.h)      cmfl    CMFL (cmfl_strategy.h)
//   vitaf   ViTAF (vitaf_strategy.h)      ama     ViT + AMA's (ama_strategy.h)
//   cdcn    MM-CDCN's (cdcn_strategy.h)   vpfas   VP-FAS's (vpfas_strategy.h)
// Method presets (`--method`): mmdg = vit-uadapter + regrad (the paper); vit = vit-concat + ce
// (Table 1's ViT baseline, `--method vit` of earlier versions); ssdg, ssan, iadg = vit-concat + the
// strategy (Table 1's channel-concatenation re-implementation, Sec. 4.2); cmfl = vit + cmfl. Any
// other pair is named network+strategy.
#pragma once
#include <torch/types.h>

#include <array>
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
namespace mmdg::dist {
class ProcessGroup;
}

namespace mmdg::train {

// One training batch on the network's device. Letters: B batch, S image size.
struct TrainBatch {
  torch::Tensor rgb, depth, ir;  // (B, 3, S, S) each, normalized
  torch::Tensor labels;          // (B) int64, 1 = live
  torch::Tensor sources;         // (B) int64, source domain index (order of the training lists)
  std::int64_t epoch = 0;        // 0-based
  double progress = 0;           // fraction of the run's steps done before this one, in [0, 1)
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
  // The run's other processes (mmdg launch, torchrun), none when it runs alone. Each process's
  // batch is its slice of the global batch; passes over a data set (prototypes) are sharded
  // between the processes and their sums reduced, so every process holds the same state.
  const dist::ProcessGroup* group = nullptr;
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
  // `train_set`: the training set, for a strategy that makes state from a pass over it
  // (prototypes); null when the caller has none (a Python loop given no lists): such a strategy
  // then throws, naming what it needs.
  virtual void begin_epoch(model::NetworkImpl&, const data::MultiDomainDataset* /*train_set*/, std::int64_t /*epoch*/) {}
  // Forward, losses and every trainable tensor's .grad (replaced, not accumulated). Throws
  // NonFiniteLoss (naming the losses) before any state changes when a loss is not finite.
  virtual StepResult step(model::NetworkImpl& net, const TrainBatch& batch) = 0;
  // With several processes: true when step() itself makes every process's gradients (and the
  // returned loss) those of the global batch (ReGrad, which is not linear in the gradients, reduces
  // its per-loss gradients before combining them); false: the trainer averages the .grad of every
  // trainable tensor and the loss after step(), one all-reduce.
  virtual bool reduces_gradients() const { return false; }
  // True when step() changes the gradients after its backward pass with numbers of its own batch
  // slice (OGM-GE's coefficients): with several processes the gradients are then averaged after
  // step(), not during the backward pass (GradientReducer), which would average them before.
  virtual bool changes_gradients_after_backward() const { return false; }
  // After the optimizer's step.
  virtual void after_step() {}
  // Fields for the epoch's log line (e.g. the per-modality mean SSP losses of Fig. 6); resets them.
  virtual nlohmann::json end_epoch() { return nlohmann::json::object(); }
  // State a resumed run needs (running losses, prototypes, extra modules).
  virtual void save(torch::serialize::OutputArchive&) const {}
  virtual void load(torch::serialize::InputArchive&) {}
};

// A strategy whose own state is one module (a domain discriminator, extra heads): its trainable
// tensors join the optimizer after the network's, and resume.pt holds them under
// "strategy.<parameter name>". A subclass builds the module, then calls own(module).
class ModuleStrategy : public Strategy {
 public:
  std::vector<torch::Tensor> parameters() override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 protected:
  void own(std::shared_ptr<torch::nn::Module> module) { module_ = std::move(module); }

 private:
  std::shared_ptr<torch::nn::Module> module_;
};

// Whether 0-based `epoch` lies in the first `fraction` of `epochs` (at least the first epoch when
// fraction > 0): the modulation windows of OGM-GE and PMR.
bool in_first_fraction(std::int64_t epoch, double fraction, std::int64_t epochs);

// The trainable tensors of the network, then those of the strategy's modules.
std::vector<torch::Tensor> trainable_tensors(model::NetworkImpl& net, const std::vector<torch::Tensor>& extra = {});
// The network's trainable tensors (in trainable_tensors' order) with the modality branch each feeds
// (NetworkImpl::branch_of, -1 shared): what ReGrad and OGM-GE modulate per branch.
struct BranchedTensors {
  std::vector<torch::Tensor> tensors;
  std::vector<int> branches;
};
BranchedTensors trainable_tensors_by_branch(model::NetworkImpl& net);

// The three-modality extensions of the two-modality methods (PMR, OGM-GE, CMFL) compare modality m
// with the mean of the other two (with two modalities: exactly the other one).
template <class T>
T mean_of_others(const std::array<T, 3>& values, int m) {
  return (values[(m + 1) % 3] + values[(m + 2) % 3]) / 2;
}

// A step's end for a strategy with one total loss: throws NonFiniteLoss (naming the logged parts)
// when `total` is not finite, else back-propagates it with backward_replacing_grads, or, when the
// trainer has opened a GradientReducer::Scope (several processes), through that reducer: the
// gradients and the returned loss are then the means over the processes. Returns the step's result
// with `log` (the loss parts) for the log line.
StepResult backward_step(const torch::Tensor& total, std::vector<torch::Tensor>& params, nlohmann::json log);

// The same with the loss parts as tensors (0-d: a number in the log; 1-d: a list), read to the host
// together with the total in one copy: the step's one device sync. `extra`: other log fields.
using LossParts = std::vector<std::pair<std::string, torch::Tensor>>;
StepResult backward_step(const torch::Tensor& total, std::vector<torch::Tensor>& params, const LossParts& parts,
                         nlohmann::json extra = nlohmann::json::object());

// loss.backward() into `params`' .grad, replacing what was there; a tensor the loss does not reach
// gets a zero gradient, so Adam still applies its weight decay to it (one plain training step).
void backward_replacing_grads(const torch::Tensor& loss, std::vector<torch::Tensor>& params);

// Scales every gradient by min(1, max_norm / (|g| + 1e-6)), |g| the global 2-norm of all of them,
// as torch.nn.utils.clip_grad_norm_, without reading the norm to the host (no device sync).
// Returns the norm as a 0-d tensor on the gradients' device (undefined when no tensor has one).
torch::Tensor clip_gradient_norm(const std::vector<torch::Tensor>& params, double max_norm);

// ---- registry
struct StrategyEntry {
  std::string name, title, description;  // title: the name the paper's tables print (e.g. "SSDG")
  model::Capabilities needs;  // what the network must have (true = required)
  std::function<std::unique_ptr<Strategy>(const TrainOptions&, model::NetworkImpl&, const StrategyContext&)> make;
  // Network settings the strategy's method prescribes (SSDG's normalized head), applied to a new
  // run's network options (and so saved with its checkpoints); none when empty.
  std::function<void(model::NetworkOptions&)> configure_network;
  // The one network the strategy trains (ViTAF's, whose diversity term it adds); "" = any network
  // with the capabilities it needs.
  std::string only_network;
  bool trains(const std::string& network) const;  // capabilities and only_network
};
const std::vector<StrategyEntry>& strategy_registry();
const StrategyEntry& find_strategy(const std::string& name);  // throws, listing the known names
std::vector<std::string> strategy_names();
// Throws mmdg::Error when network `network` lacks a capability strategy `strategy` needs.
void check_compatible(const std::string& strategy, const std::string& network);
// Throws mmdg::Error naming the option when a strategy option does not fit the network (a block
// index beyond its blocks); called before a run writes anything.
void check_options_for_network(const TrainOptions& options, const model::NetworkOptions& network);
// Builds options.strategy for `net` (checked with check_compatible).
std::unique_ptr<Strategy> make_strategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);

// ---- methods: named (network, strategy) pairs
struct MethodPreset {
  std::string name, network, strategy, title, description;  // title: as the paper's tables print it
};
const std::vector<MethodPreset>& method_presets();
// The presets other code names: the paper's method and Table 1's ViT baseline (the demo's pair).
extern const char* const kPaperMethod;
extern const char* const kViTBaselineMethod;
// A method by name: a preset, or "network+strategy" for any pair the strategy can train (e.g.
// vit-uadapter+ssdg). Throws listing the presets.
MethodPreset resolve_method(const std::string& name);
// The preset's name for (network, strategy), or "<network label>+strategy" when no preset matches
// (the label tells vit-single's modality: vit-single-depth+ssdg).
std::string method_name(const model::NetworkOptions& network, const std::string& strategy);
// The name a table prints: the preset's title, or "<network title> / <strategy title>" (e.g.
// "ViT + U-Adapter / SSDG", "ViT (depth) / SSDG").
std::string method_title(const model::NetworkOptions& network, const std::string& strategy);
// The strategy of a run whose config predates `strategy` (it trained the network of `method`).
std::string strategy_of_legacy_method(const std::string& method);

}  // namespace mmdg::train
