#include "mmdg/train/pretrain.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <iostream>
#include <numeric>
#include <random>

#include "mmdg/data/image.h"
#include "mmdg/data/synth.h"
#include "mmdg/io/file_util.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/model/module_state.h"
#include "mmdg/model/vit.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/error.h"
#include "mmdg/util/progress.h"

namespace mmdg::train {

void PretrainOptions::validate() const {
  const auto require = [](bool ok, const char* name, const std::string& what) {
    if (!ok) throw UsageError(std::string("option ") + name + ": " + what);
  };
  require(batch_size > 0 && batch_size <= 4096, "batch_size", "must be in [1, 4096]");
  require(samples >= batch_size && samples <= 1000000, "samples", "must be in [batch_size, 1000000]");
  require(held_out > 0 && held_out <= 100000, "held_out", "must be in [1, 100000]");
  require(epochs > 0 && epochs <= 10000, "epochs", "must be in [1, 10000]");
  require(lr > 0 && lr < 1, "lr", "must be in (0, 1)");
  require(warmup >= 0 && warmup < 1, "warmup", "must be in [0, 1)");
  require(weight_decay >= 0 && weight_decay < 1, "weight_decay", "must be in [0, 1)");
}

namespace {

// The proxy images as one normalized tensor (N, 3, S, S), as the backbone will see faces later
// (sample i in modality i mod 3: RGB, depth, NIR; one-channel images replicated to three), and
// their labels (N).
std::pair<torch::Tensor, torch::Tensor> proxy_tensors(std::int64_t count, std::int64_t S, std::int64_t seed) {
  const auto proxy = data::generate_proxy_task(count, S, seed);
  std::vector<torch::Tensor> images;
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < proxy.size(); ++i) {
    const cv::Mat& mat = proxy[i].images[i % 3];
    const auto t = mat.channels() == 3 ? torch::from_blob(mat.data, {S, S, 3}, torch::kFloat).permute({2, 0, 1}).clone()
                                       : torch::from_blob(mat.data, {1, S, S}, torch::kFloat).expand({3, S, S}).clone();
    images.push_back(data::normalize(t, data::Normalization::ImageNet));
    labels.push_back(proxy[i].label);
  }
  return {torch::stack(images), torch::tensor(labels, torch::kLong)};
}

double accuracy(model::VisionTransformer& vit, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  vit->eval();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < x.size(0); i += 256) {
    const auto end = std::min<std::int64_t>(x.size(0), i + 256);
    correct += (vit(x.slice(0, i, end)).argmax(1) == y.slice(0, i, end)).sum().item<std::int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(x.size(0));
}

}  // namespace

PretrainResult pretrain_vit(const PretrainOptions& o, const std::string& out) {
  o.validate();
  const auto start = std::chrono::steady_clock::now();
  torch::manual_seed(static_cast<std::uint64_t>(o.seed));
  const auto vit_options = model::vit_config(o.config).num_classes(data::kProxyClasses);
  model::VisionTransformer vit(vit_options);
  const auto S = vit_options.image_size();
  const auto [x_all, y_all] = proxy_tensors(o.samples, S, o.seed);
  const auto [x_held, y_held] = proxy_tensors(o.held_out, S, o.seed + 1000003);  // other identities
  torch::optim::AdamW adamw(vit->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  std::mt19937_64 rng(static_cast<std::uint64_t>(o.seed));
  std::vector<std::int64_t> order(static_cast<std::size_t>(o.samples));
  std::iota(order.begin(), order.end(), 0);
  PretrainResult result;
  result.chance = 1.0 / data::kProxyClasses;
  nlohmann::json epochs = nlohmann::json::array();
  const std::int64_t steps = o.samples / o.batch_size, total = steps * o.epochs;
  const auto warmup_steps = static_cast<std::int64_t>(std::ceil(o.warmup * static_cast<double>(total)));
  const auto lr_at = [&](std::int64_t step) {  // linear warmup, then cosine decay to 0
    if (step < warmup_steps) return o.lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    const double t = static_cast<double>(step - warmup_steps) / static_cast<double>(std::max<std::int64_t>(1, total - warmup_steps));
    return o.lr * 0.5 * (1 + std::cos(3.14159265358979323846 * t));
  };
  for (std::int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    vit->train();
    double loss_sum = 0;
    std::int64_t correct = 0;
    Progress progress("pretrain " + o.config + " epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs), steps);
    for (std::int64_t step = 0; step < steps; ++step) {
      if (interrupt_requested()) {
        progress.finish("interrupted");
        throw Error("pretraining interrupted (SIGINT / SIGTERM) at epoch " + std::to_string(epoch + 1) +
                    "; nothing was written to " + out + " (pretraining is not resumable: run it again)");
      }
      for (auto& group : adamw.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr_at(epoch * steps + step));
      const auto idx = torch::tensor(std::vector<std::int64_t>(order.begin() + step * o.batch_size,
                                                               order.begin() + (step + 1) * o.batch_size), torch::kLong);
      const auto x = x_all.index_select(0, idx), y = y_all.index_select(0, idx);
      const auto logits = vit(x);
      const auto loss = torch::nn::functional::cross_entropy(logits, y);
      if (!std::isfinite(loss.item<double>()))
        throw Error("pretrain: the loss is not finite at epoch " + std::to_string(epoch + 1) + " step " + std::to_string(step + 1) +
                    "; lower --lr");
      adamw.zero_grad();
      loss.backward();
      adamw.step();
      loss_sum += loss.item<double>();
      correct += (logits.argmax(1) == y).sum().item<std::int64_t>();
      progress.update(step + 1, "loss " + std::to_string(loss_sum / static_cast<double>(step + 1)).substr(0, 6));
    }
    const double mean = loss_sum / static_cast<double>(steps);
    if (epoch == 0) result.first_epoch_loss = mean;
    result.last_epoch_loss = mean;
    result.train_accuracy = static_cast<double>(correct) / static_cast<double>(steps * o.batch_size);
    result.held_out_accuracy = accuracy(vit, x_held, y_held);
    result.held_out_curve.push_back(result.held_out_accuracy);
    char note[96];
    std::snprintf(note, sizeof note, "loss %.4f, held-out accuracy %.1f %% (chance %.1f %%)", mean, 100 * result.held_out_accuracy,
                  100 * result.chance);
    progress.finish(note);
    epochs.push_back({{"epoch", epoch + 1}, {"loss", mean}, {"train_accuracy", result.train_accuracy},
                      {"held_out_accuracy", result.held_out_accuracy}});
  }
  io::write_torch_checkpoint(out, model::module_state_dict(*vit));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json record = {{"weights", out},
                           {"task", "synthetic proxy: head yaw (3 bins) x pitch (2 bins) of live faces, RGB, depth and NIR images in turn"},
                           {"classes", data::kProxyClasses},
                           {"chance", result.chance},
                           {"held_out_accuracy", result.held_out_accuracy},
                           {"seconds", result.seconds},
                           {"epochs", epochs},
                           {"options", nlohmann::json::object()}};
  PretrainOptions copy = o;
  copy.visit([&](const char* name, const auto& value, const char*) { record["options"][name] = value; });
  io::write_file_atomically(out + ".json", [&](std::ostream& f) { f << record.dump(1) << "\n"; });
  return result;
}

}  // namespace mmdg::train
