#include "mmdg/eval/evaluate.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "mmdg/eval/metrics.h"
#include "mmdg/model/uncertainty.h"
#include "mmdg/util/process_group.h"

namespace mmdg::eval {

Scores score_dataset(model::NetworkImpl& net, const data::MultiDomainDataset& dataset, std::int64_t batch_size,
                     torch::Device device, int workers, const dist::ProcessGroup* group, std::uint64_t draw_seed) {
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  auto batches = data::ShuffledSampler(dataset.size(), static_cast<std::size_t>(batch_size), false).epoch(0);
  if (group) batches = group->share_of(batches);
  const auto N = static_cast<std::int64_t>(dataset.size());
  auto probability = torch::zeros({N}, torch::kDouble), label = torch::zeros({N}, torch::kDouble);  // (N) in dataset order
  std::vector<std::int64_t> positions;
  for (const auto& b : batches) positions.insert(positions.end(), b.begin(), b.end());
  data::DataLoader loader(dataset, std::move(batches), workers);
  std::size_t next = 0;
  while (auto batch = loader.next()) {
    model::ForwardOptions fo;
    fo.present = batch->present.to(device);  // Protocol 2's missing modalities, for networks that adapt to them
    std::vector<std::uint64_t> keys;
    for (const auto i : batch->indices) keys.push_back(sample_draw_key(dataset.entry(i)));
    const model::KeyedDraws draws(draw_seed, keys);
    const auto out = net.forward(batch->rgb.to(device), batch->depth.to(device), batch->ir.to(device), fo);
    const auto p = torch::softmax(out.logits, -1).select(1, 1).to(torch::kCPU, torch::kDouble);
    const auto where = torch::tensor(std::vector<std::int64_t>(positions.begin() + static_cast<std::ptrdiff_t>(next),
                                                               positions.begin() + static_cast<std::ptrdiff_t>(next) + p.numel()));
    probability.index_put_({where}, p);
    label.index_put_({where}, batch->label.to(torch::kCPU, torch::kDouble));
    next += static_cast<std::size_t>(p.numel());
  }
  net.train(was_training);
  if (group) group->sum({probability, label});
  Scores scores;
  const auto* pv = probability.data_ptr<double>();
  const auto* lv = label.data_ptr<double>();
  scores.live_probability.assign(pv, pv + N);
  for (std::int64_t i = 0; i < N; ++i) scores.labels.push_back(static_cast<int>(std::lround(lv[i])));
  return scores;
}

double cross_entropy(const Scores& scores) {
  double sum = 0;
  for (std::size_t i = 0; i < scores.labels.size(); ++i) {
    const double p = scores.labels[i] == 1 ? scores.live_probability[i] : 1 - scores.live_probability[i];
    sum -= std::log(std::max(p, 1e-12));
  }
  return scores.labels.empty() ? 0.0 : sum / static_cast<double>(scores.labels.size());
}

std::uint64_t sample_draw_key(const data::ListEntry& entry) {
  return model::draw_key(entry.rgb + '\n' + entry.depth + '\n' + entry.ir);
}

Summary summarize(const Scores& scores) {
  Summary s;
  s.auc = auc(scores.live_probability, scores.labels);
  const auto e = equal_error_rate(scores.live_probability, scores.labels);
  s.eer = e.eer;
  s.eer_threshold = e.threshold;
  s.hter = at_threshold(scores.live_probability, scores.labels, e.threshold).hter;
  return s;
}

}  // namespace mmdg::eval
