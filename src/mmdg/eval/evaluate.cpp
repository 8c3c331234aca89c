#include "mmdg/eval/evaluate.h"

#include <torch/torch.h>

#include "mmdg/eval/metrics.h"

namespace mmdg::eval {

Scores score_dataset(model::NetworkImpl& net, const data::MultiDomainDataset& dataset, std::int64_t batch_size,
                     torch::Device device, int workers) {
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  Scores scores;
  data::DataLoader loader(dataset, data::ShuffledSampler(dataset.size(), static_cast<std::size_t>(batch_size), false).epoch(0),
                          workers);
  while (auto batch = loader.next()) {
    model::ForwardOptions fo;
    fo.present = batch->present.to(device);  // Protocol 2's missing modalities, for networks that adapt to them
    const auto out = net.forward(batch->rgb.to(device), batch->depth.to(device), batch->ir.to(device), fo);
    const auto p = torch::softmax(out.logits, -1).select(1, 1).to(torch::kCPU, torch::kDouble).contiguous();
    scores.live_probability.insert(scores.live_probability.end(), p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
    const auto l = batch->label.to(torch::kCPU).contiguous();
    for (std::int64_t i = 0; i < l.numel(); ++i) scores.labels.push_back(static_cast<int>(l[i].item<std::int64_t>()));
  }
  net.train(was_training);
  return scores;
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
