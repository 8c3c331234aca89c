#include "mmdg/train/pretrain.h"

#include <torch/torch.h>

#include <chrono>
#include <iostream>
#include <numeric>
#include <random>

#include "mmdg/data/image.h"
#include "mmdg/data/synth.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/model/module_state.h"
#include "mmdg/model/vit.h"
#include "mmdg/util/error.h"
#include "mmdg/util/progress.h"

namespace mmdg::train {

PretrainResult pretrain_vit(const PretrainOptions& o, const std::string& out) {
  if (o.samples < o.batch_size || o.epochs <= 0 || o.batch_size <= 0 || o.lr <= 0)
    throw Error("pretrain: samples >= batch_size > 0, epochs > 0 and lr > 0 are required");
  const auto start = std::chrono::steady_clock::now();
  torch::manual_seed(static_cast<std::uint64_t>(o.seed));
  const auto vit_options = model::vit_config(o.config).num_classes(data::kProxyClasses);
  model::VisionTransformer vit(vit_options);
  const auto S = vit_options.image_size();
  // the proxy images, normalized as the backbone will see faces later
  const auto proxy = data::generate_proxy_task(o.samples, S, o.seed);
  std::vector<torch::Tensor> images;
  std::vector<std::int64_t> labels;
  for (const auto& [mat, label] : proxy) {
    const auto t = torch::from_blob(mat.data, {S, S, 3}, torch::kFloat).permute({2, 0, 1}).clone();
    images.push_back(data::normalize(t, data::Normalization::ImageNet));
    labels.push_back(label);
  }
  const auto x_all = torch::stack(images), y_all = torch::tensor(labels, torch::kLong);
  torch::optim::Adam adam(vit->parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  std::mt19937_64 rng(static_cast<std::uint64_t>(o.seed));
  std::vector<std::int64_t> order(static_cast<std::size_t>(o.samples));
  std::iota(order.begin(), order.end(), 0);
  PretrainResult result;
  const std::int64_t steps = o.samples / o.batch_size;
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    vit->train();
    double loss_sum = 0;
    std::int64_t correct = 0;
    Progress progress("pretrain " + o.config + " epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs), steps);
    for (std::int64_t step = 0; step < steps; ++step) {
      const auto idx = torch::tensor(std::vector<std::int64_t>(order.begin() + step * o.batch_size,
                                                               order.begin() + (step + 1) * o.batch_size), torch::kLong);
      const auto x = x_all.index_select(0, idx), y = y_all.index_select(0, idx);
      const auto logits = vit(x);
      const auto loss = torch::nn::functional::cross_entropy(logits, y);
      adam.zero_grad();
      loss.backward();
      adam.step();
      loss_sum += loss.item<double>();
      correct += (logits.argmax(1) == y).sum().item<std::int64_t>();
      progress.update(step + 1, "loss " + std::to_string(loss_sum / static_cast<double>(step + 1)).substr(0, 6));
    }
    progress.finish();
    const double mean = loss_sum / static_cast<double>(steps);
    if (epoch == 0) result.first_epoch_loss = mean;
    result.last_epoch_loss = mean;
    result.train_accuracy = static_cast<double>(correct) / static_cast<double>(steps * o.batch_size);
  }
  io::write_torch_checkpoint(out, model::module_state_dict(*vit));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace mmdg::train
