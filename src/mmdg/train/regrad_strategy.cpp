#include "mmdg/train/regrad_strategy.h"

#include <set>

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "mmdg/data/dataset.h"
#include "mmdg/util/process_group.h"

namespace mmdg::train {
namespace {

Prototypes make_prototypes(const TrainOptions& o, const model::NetworkImpl& net, const StrategyContext& c) {
  return Prototypes(1 + c.num_sources, net.feature_dim(), o.prototype_update, o.prototype_momentum, c.device);
}

// The three losses' mean and population variance (the modality balance of Fig. 6).
std::pair<double, double> mean_and_variance(const std::array<double, 3>& v) {
  const double mean = (v[0] + v[1] + v[2]) / 3;
  double variance = 0;
  for (double x : v) variance += (x - mean) * (x - mean) / 3;
  return {mean, variance};
}

}  // namespace

ReGradStrategy::ReGradStrategy(const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c)
    : options_(o),
      context_(c),
      uncertainty_(net.capabilities().uncertainty),
      prototypes_{make_prototypes(o, net, c), make_prototypes(o, net, c), make_prototypes(o, net, c)},
      tracker_(o.loss_momentum) {
  regrad_.variant = o.regrad;
  regrad_.uncertainty = o.regrad_uncertainty;
  auto trainable = trainable_tensors_by_branch(net);
  trainable_ = std::move(trainable.tensors);
  branches_ = std::move(trainable.branches);
  if (o.regrad_scope == ReGradScope::AsReleased) {
    const auto reached = released_regrad_reach(net);
    std::size_t t = 0;
    for (const auto& p : net.named_parameters()) {
      if (!p.value().requires_grad()) continue;
      if (!reached.count(p.key())) branches_[t] = kCEOnly;
      ++t;
    }
  }
}

std::set<std::string> released_regrad_reach(model::NetworkImpl& net) {
  // the released loop over named_parameters: its index advances only past a tensor some SSP loss
  // has a gradient for (trainable, and not a classification head "fc..."); the first other one
  // stalls it for good
  std::set<std::string> reached;
  for (const auto& p : net.named_parameters()) {
    if (!p.value().requires_grad() || p.key().rfind("fc", 0) == 0) break;
    reached.insert(p.key());
  }
  return reached;
}

void ReGradStrategy::begin_epoch(model::NetworkImpl& net, const data::MultiDomainDataset* train_set, std::int64_t epoch) {
  if (options_.prototype_update != PrototypeUpdate::Epoch || prototypes_epoch_ == epoch) return;
  if (!train_set)
    throw Error("strategy regrad: begin_epoch needs the training set (the SSP prototypes are recomputed from a pass over "
                "it at each epoch's start; or prototype_update ema)");
  compute_prototypes(net, *train_set, options_.eval_batch_size, context_.device, static_cast<int>(context_.workers),
                     prototypes_, context_.group);
  prototypes_epoch_ = epoch;
}

StepResult ReGradStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  const auto start = Clock::now();
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);  // L_ce of Eq. 8
  const auto domains = ssp_domain(batch.labels, batch.sources);
  std::array<torch::Tensor, 3> ssp, weighted_ssp;
  std::vector<torch::Tensor> scalars{ce.detach()};  // what the host needs: CE, 3 SSP, 3 reliabilities
  for (int m = 0; m < 3; ++m) {
    ssp[m] = ssp_loss(out.features[m], prototypes_[m].values(), prototypes_[m].valid(), domains);
    weighted_ssp[m] = ssp[m] * options_.ssp_weight;  // lambda * L_ssp_m of Eq. 8
    scalars.push_back(ssp[m].detach());
  }
  for (int m = 0; m < 3; ++m)  // u_m of Eq. 5
    scalars.push_back(uncertainty_ ? out.class_reliability[m].detach().reshape({}) : torch::ones({}, ce.options()));
  const auto forward_end = Clock::now();
  auto to_read = torch::stack(scalars).to(torch::kDouble);
  // several processes: ReGrad is not linear in the gradients, so each loss's gradient (and the
  // losses and reliabilities) is averaged over them first, then every process combines the same
  const auto average = [&](FlatGradients& g) {
    std::vector<torch::Tensor> parts{g.ce, to_read};
    for (const auto& s : g.ssp)
      if (s.defined()) parts.push_back(s);
    context_.group->average(parts);
  };
  const FlatGradients grads =
      regrad_gradients(trainable_, weighted_ssp, ce, regrad_, context_.group ? average : std::function<void(FlatGradients&)>());
  const auto backward_end = Clock::now();
  // The step's one device-to-host read: the losses, the reliabilities and ReGrad's Gram entries.
  if (grads.gram.defined()) to_read = torch::cat({to_read, grads.gram.to(torch::kDouble).reshape(-1)});
  const auto host = to_read.to(torch::kCPU);
  const auto* v = host.data_ptr<double>();
  const double ce_value = v[0];
  const std::array<double, 3> ssp_value{v[1], v[2], v[3]};
  std::array<double, 3> reliability{v[4], v[5], v[6]};
  if (!std::isfinite(ce_value) || !std::isfinite(ssp_value[0]) || !std::isfinite(ssp_value[1]) ||
      !std::isfinite(ssp_value[2]))
    throw NonFiniteLoss("the loss is not finite (ce " + std::to_string(ce_value) + ", ssp " + std::to_string(ssp_value[0]) +
                        " " + std::to_string(ssp_value[1]) + " " + std::to_string(ssp_value[2]) + ")");
  const int fast = tracker_.update(ssp_value);
  const auto gram_host = grads.gram.defined() ? host.slice(0, 7).view({-1, 6}) : torch::Tensor();
  const ReGradStats stats = combine_regrad(trainable_, grads, gram_host, branches_, fast, reliability, regrad_);
  for (int m = 0; m < 3; ++m) {
    last_features_[m] = out.features[m].detach();
    epoch_ssp_sum_[m] += ssp_value[m];
  }
  last_domains_ = domains;
  ++epoch_steps_;
  StepResult result;
  result.loss = ce_value + options_.ssp_weight * (ssp_value[0] + ssp_value[1] + ssp_value[2]);
  result.log = {{"loss_ce", ce_value},
                {"loss_ssp", ssp_value},
                {"running_ssp", tracker_.running()},
                {"ssp_variance", mean_and_variance(ssp_value).second},
                {"fast", fast < 0 ? "none" : model::modality_name(fast)},
                {"conflict_fraction", stats.conflict_fraction},
                {"modulated_tensors", stats.modulated},
                {"ce_only_tensors", stats.ce_only},
                {"reliability", reliability},
                // host times: on a GPU the forward and backward are only queued, and the read waits
                {"seconds_forward", seconds(start, forward_end)},
                {"seconds_backward", seconds(forward_end, backward_end)},
                {"seconds_regrad", seconds(backward_end, Clock::now())}};
  return result;
}

void ReGradStrategy::after_step() {
  if (options_.prototype_update != PrototypeUpdate::Ema) return;
  for (int m = 0; m < 3; ++m) prototypes_[m].update_from_batch(last_features_[m], last_domains_, context_.group);
}

nlohmann::json ReGradStrategy::end_epoch() {
  nlohmann::json fields = {{"running_ssp", tracker_.running()}};
  if (epoch_steps_ > 0) {  // each modality's mean SSP loss over the epoch and their variance (Fig. 6)
    std::array<double, 3> mean_ssp{};
    for (int m = 0; m < 3; ++m) mean_ssp[m] = epoch_ssp_sum_[m] / static_cast<double>(epoch_steps_);
    fields["ssp_mean"] = mean_ssp;
    fields["ssp_variance"] = mean_and_variance(mean_ssp).second;
  }
  epoch_ssp_sum_ = {0, 0, 0};
  epoch_steps_ = 0;
  return fields;
}

void ReGradStrategy::save(torch::serialize::OutputArchive& archive) const {
  const auto& r = tracker_.running();
  archive.write("regrad_running_ssp", torch::tensor({r[0], r[1], r[2]}, torch::kDouble));
  archive.write("regrad_prototypes_epoch", torch::tensor({prototypes_epoch_}, torch::kLong));
  for (int m = 0; m < 3; ++m) {
    archive.write("prototypes_" + std::to_string(m), prototypes_[m].values());
    archive.write("prototypes_valid_" + std::to_string(m), prototypes_[m].valid());
  }
}

void ReGradStrategy::load(torch::serialize::InputArchive& archive) {
  torch::Tensor running, epoch;
  if (archive.try_read("regrad_running_ssp", running)) {
    archive.read("regrad_prototypes_epoch", epoch);
    tracker_.set_running({running[0].item<double>(), running[1].item<double>(), running[2].item<double>()});
    prototypes_epoch_ = epoch[0].item<std::int64_t>();
  } else {  // resume.pt of earlier versions: floats = (best HTER, best AUC, running SSP x 3),
            // counters = (epoch, step, global step, best epoch, prototypes' epoch)
    torch::Tensor floats, counters;
    archive.read("floats", floats);
    archive.read("counters", counters);
    tracker_.set_running({floats[2].item<double>(), floats[3].item<double>(), floats[4].item<double>()});
    prototypes_epoch_ = counters[4].item<std::int64_t>();
  }
  for (int m = 0; m < 3; ++m) {
    torch::Tensor values, valid;
    archive.read("prototypes_" + std::to_string(m), values);
    archive.read("prototypes_valid_" + std::to_string(m), valid);
    prototypes_[m].load(values, valid);
  }
}

}  // namespace mmdg::train
