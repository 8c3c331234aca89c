#include "mmdg/train/iadg_strategy.h"

#include <torch/torch.h>

#include <cmath>

#include "mmdg/train/ssan_strategy.h"
#include "mmdg/train/token_style.h"

namespace mmdg::train {

torch::Tensor token_covariance(const torch::Tensor& h, IADGCovariance kind, double eps) {
  const auto patches = h.narrow(1, 1, h.size(1) - 1);  // (B, N, C)
  const auto N = patches.size(1), C = patches.size(2);
  const auto scale = 1.0 / static_cast<double>(std::max<std::int64_t>(N - 1, 1));
  if (kind == IADGCovariance::Standardized) {
    const auto x = (patches - patches.mean(1, true)) / (patches.var(1, false, true) + eps).sqrt();
    return torch::bmm(x.transpose(1, 2), x) * scale;  // (B, C, C)
  }
  return torch::bmm(patches.transpose(1, 2), patches) * scale + eps * torch::eye(C, patches.options());  // (B, C, C)
}

torch::Tensor whitening_loss(const torch::Tensor& covariance, const torch::Tensor& mask) {
  const auto selected = mask.sum();
  if (selected.item<std::int64_t>() == 0 || covariance.size(0) == 0) return covariance.sum() * 0;
  const auto per_sample = (covariance.abs() * mask.unsqueeze(0)).sum({1, 2}) / selected;  // (B)
  return per_sample.mean();
}

torch::Tensor sample_dirichlet(std::int64_t batch, std::int64_t k, double alpha, const torch::TensorOptions& options) {
  // Gamma(alpha) = Gamma(alpha + 1) * U^(1 / alpha): log g = log Gamma(alpha + 1) + log(U) / alpha.
  const auto shape = torch::full({batch, k}, alpha + 1, options.dtype(torch::kDouble));
  const auto log_gamma = torch::_standard_gamma(shape).log() +
                         torch::rand({batch, k}, options.dtype(torch::kDouble)).clamp_min(1e-300).log() / alpha;
  return torch::softmax(log_gamma, 1).to(options.dtype());
}

IADGStrategy::IADGStrategy(const TrainOptions& o, model::NetworkImpl& net, const StrategyContext& c)
    : options_(o.iadg),
      block_(assembly_block(o.iadg.block, net.options().backbone.num_layers(), "iadg_block")),
      last_block_(static_cast<std::size_t>(net.options().backbone.num_layers() - 1)),
      streams_(net.num_streams()),
      width_(net.feature_dim()),
      trainable_(trainable_tensors(net)) {
  const auto f = torch::TensorOptions().device(c.device);
  bank_mean_ = torch::zeros({streams_, 2, options_.style_bank, width_}, f);
  bank_std_ = torch::ones({streams_, 2, options_.style_bank, width_}, f);
  bank_size_ = torch::zeros({streams_, 2}, torch::kLong);
  bank_next_ = torch::zeros({streams_, 2}, torch::kLong);
  variance_sum_ = torch::zeros({streams_, 2, width_ * width_}, f.dtype(torch::kDouble));
  variance_count_ = torch::zeros({streams_, 2}, torch::kLong);
  masks_ = torch::zeros({streams_, 2, width_, width_}, f.dtype(torch::kBool));
}

void IADGStrategy::begin_epoch(model::NetworkImpl&, const data::MultiDomainDataset*, std::int64_t epoch) {
  if (masks_epoch_ == epoch) return;
  const double fraction[2] = {options_.spoof_selection, options_.live_selection};  // class 0 spoof, 1 live
  for (std::int64_t s = 0; s < streams_; ++s)
    for (int k = 0; k < 2; ++k) {
      const auto n = variance_count_[s][k].item<std::int64_t>();
      if (n == 0) continue;  // no statistics yet: keep the masks
      const auto variance = (variance_sum_[s][k] / static_cast<double>(n)).view({width_, width_}).triu(1).flatten();
      const auto upper = width_ * (width_ - 1) / 2;
      const auto count = std::clamp<std::int64_t>(
          static_cast<std::int64_t>(fraction[k] * static_cast<double>(width_ * width_)), 1, std::max<std::int64_t>(upper, 1));
      auto mask = torch::zeros({width_ * width_}, masks_.options());
      mask.index_fill_(0, std::get<1>(variance.topk(count)), true);
      masks_[s][k].copy_(mask.view({width_, width_}));
    }
  variance_sum_.zero_();
  variance_count_.zero_();
  masks_epoch_ = epoch;
}

void IADGStrategy::remember_styles(const torch::Tensor& mean, const torch::Tensor& std, const torch::Tensor& labels) {
  const auto N = options_.style_bank;
  const auto labels_cpu = labels.to(torch::kCPU);
  for (std::int64_t i = 0; i < labels_cpu.size(0); ++i) {
    const auto k = labels_cpu[i].item<std::int64_t>();
    for (std::int64_t s = 0; s < streams_; ++s) {
      const auto slot = bank_next_[s][k].item<std::int64_t>();
      bank_mean_[s][k][slot].copy_(mean[s][i]);
      bank_std_[s][k][slot].copy_(std[s][i]);
      bank_next_[s][k] = (slot + 1) % N;
      bank_size_[s][k] = std::min(N, bank_size_[s][k].item<std::int64_t>() + 1);
    }
  }
}

void IADGStrategy::accumulate_variance(const std::vector<torch::Tensor>& covariances, const ClassRows& class_rows) {
  for (std::int64_t s = 0; s < streams_; ++s) {
    const auto cov = covariances[static_cast<std::size_t>(s)].detach().flatten(1).to(torch::kDouble);  // (rows, C*C)
    for (int k = 0; k < 2; ++k) {
      const auto& rows = class_rows[static_cast<std::size_t>(k)];
      if (rows.numel() < 2) continue;
      variance_sum_[s][k] += cov.index_select(0, rows).var(0, /*unbiased=*/false);
      variance_count_[s][k] += 1;
    }
  }
}

StepResult IADGStrategy::step(model::NetworkImpl& net, const TrainBatch& batch) {
  const auto B = batch.labels.size(0);
  const bool warm = batch.epoch >= options_.warmup_epochs;
  ClassRows class_rows;  // the batch rows of each class (0 spoof, 1 live)
  for (int k = 0; k < 2; ++k) class_rows[static_cast<std::size_t>(k)] = (batch.labels == k).nonzero().squeeze(1);
  // Original forward: remember the styles at block k, keep the last block's tokens.
  torch::Tensor style_mean, style_std, tokens;  // (streams, B, C) x 2; (nB, L, C)
  model::ForwardOptions original;
  original.after_block = [&](std::size_t i, const torch::Tensor& h) {
    if (i == block_) {
      const TokenStyle style = token_style(h.detach());
      style_mean = style.mean.view({streams_, B, width_});
      style_std = style.std.view({streams_, B, width_});
    }
    if (i == last_block_) tokens = h;
    return h;
  };
  const auto out = net.forward(batch.rgb, batch.depth, batch.ir, original);
  const auto ce = torch::nn::functional::cross_entropy(out.logits, batch.labels);
  auto total = ce;
  double ce_augmented_value = 0, whitening_value = 0;
  std::vector<torch::Tensor> covariances;  // per stream (B or 2B, C, C)
  ClassRows covariance_rows = class_rows;   // their rows of each class
  {
    const auto cov = token_covariance(tokens, options_.covariance).split(B, 0);
    covariances.assign(cov.begin(), cov.end());
  }
  if (warm && (bank_size_ > 0).all().item<bool>()) {
    // Augmented forward: categorical style assembly at block k.
    torch::Tensor augmented_tokens;
    model::ForwardOptions augmented;
    augmented.after_block = [&](std::size_t i, const torch::Tensor& h) {
      auto result = h;
      if (i == block_) {
        std::vector<torch::Tensor> streams;
        const auto chunks = h.split(B, 0);
        for (std::int64_t s = 0; s < streams_; ++s) {
          torch::Tensor mixed_mean = torch::zeros({B, width_}, h.options().dtype(torch::kFloat));
          torch::Tensor mixed_std = torch::zeros({B, width_}, h.options().dtype(torch::kFloat));
          for (int k = 0; k < 2; ++k) {
            const auto& rows = class_rows[static_cast<std::size_t>(k)];
            if (rows.numel() == 0) continue;
            const auto n = bank_size_[s][k].item<std::int64_t>();
            const auto w = sample_dirichlet(rows.numel(), n, 1.0 / static_cast<double>(options_.style_bank),
                                            h.options().dtype(torch::kFloat));                        // (rows, n)
            mixed_mean.index_copy_(0, rows, torch::mm(w, bank_mean_[s][k].narrow(0, 0, n)));
            mixed_std.index_copy_(0, rows, torch::mm(w, bank_std_[s][k].narrow(0, 0, n)));
          }
          streams.push_back(restyle_tokens(chunks[static_cast<std::size_t>(s)], {mixed_mean, mixed_std}));
        }
        result = torch::cat(streams, 0);
      }
      if (i == last_block_) augmented_tokens = result;
      return result;
    };
    const auto out_augmented = net.forward(batch.rgb, batch.depth, batch.ir, augmented);
    const auto ce_augmented = torch::nn::functional::cross_entropy(out_augmented.logits, batch.labels);
    const auto augmented_cov = token_covariance(augmented_tokens, options_.covariance).split(B, 0);
    torch::Tensor whitening = torch::zeros({}, ce.options());
    for (std::int64_t s = 0; s < streams_; ++s) {
      const auto& cov_original = covariances[static_cast<std::size_t>(s)];
      const auto& cov_augmented = augmented_cov[static_cast<std::size_t>(s)];
      torch::Tensor stream_loss = torch::zeros({}, ce.options());
      int classes = 0;
      for (int k = 0; k < 2; ++k) {
        const auto& rows = class_rows[static_cast<std::size_t>(k)];
        if (rows.numel() == 0) continue;
        stream_loss = stream_loss + whitening_loss(cov_original.index_select(0, rows), masks_[s][k]) +
                      whitening_loss(cov_augmented.index_select(0, rows), masks_[s][k]);
        ++classes;
      }
      if (classes > 0) whitening = whitening + stream_loss / static_cast<double>(classes);
    }
    whitening = whitening / static_cast<double>(streams_);
    total = total + ce_augmented + options_.whitening_weight * whitening;
    ce_augmented_value = ce_augmented.item<double>();
    whitening_value = whitening.item<double>();
    for (std::int64_t s = 0; s < streams_; ++s)
      covariances[static_cast<std::size_t>(s)] =
          torch::cat({covariances[static_cast<std::size_t>(s)], augmented_cov[static_cast<std::size_t>(s)]}, 0);
    for (auto& rows : covariance_rows) rows = torch::cat({rows, rows + B});  // the augmented rows follow
  }
  StepResult result = backward_step(total, trainable_,
                                    {{"loss_ce", ce.item<double>()}, {"loss_ce_augmented", ce_augmented_value},
                                     {"loss_whitening", whitening_value}, {"assembling", warm}});
  {
    torch::NoGradGuard no_grad;
    accumulate_variance(covariances, covariance_rows);
    remember_styles(style_mean, style_std, batch.labels);
  }
  return result;
}

std::vector<std::pair<std::string, torch::Tensor>> IADGStrategy::state() const {
  return {{"iadg_bank_mean", bank_mean_},       {"iadg_bank_std", bank_std_},
          {"iadg_bank_size", bank_size_},       {"iadg_bank_next", bank_next_},
          {"iadg_variance_sum", variance_sum_}, {"iadg_variance_count", variance_count_},
          {"iadg_masks", masks_}};
}

void IADGStrategy::save(torch::serialize::OutputArchive& archive) const {
  for (const auto& [key, tensor] : state()) archive.write(key, tensor);
  archive.write("iadg_masks_epoch", torch::tensor({masks_epoch_}, torch::kLong));
}

void IADGStrategy::load(torch::serialize::InputArchive& archive) {
  for (auto& [key, tensor] : state()) archive.read(key, tensor);  // read() refills the shared storage in place
  torch::Tensor epoch;
  archive.read("iadg_masks_epoch", epoch);
  masks_epoch_ = epoch[0].item<std::int64_t>();
}

}  // namespace mmdg::train
