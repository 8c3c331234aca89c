// Strategy `iadg`: Instance-Aware Domain Generalization (Zhou et al., CVPR 2023), adapted to a
// ViT's tokens; any network. Per modality stream (3 for networks with branches, else 1):
// - categorical style assembly (CSA): after block k (option iadg_block; default the second to last
//   block, the input of the trainable last block), a second "augmented" forward whose patch tokens
//   are re-styled (AdaIN, own statistics detached) with a style mixed from base styles of the
//   sample's own class (live or spoof): weights ~ Dirichlet(1/N) over the N styles of that class;
// - asymmetric instance adaptive whitening (AIAW) on the last block's patch tokens of both
//   forwards: each sample's channel covariance of its tokens, Sigma = X^T X / (N - 1) + eps I
//   (C x C; the tokens standing for the reference's spatial positions; neither centred nor
//   standardized, as the reference's get_covariance_matrix; iadg_covariance = standardized makes it
//   a correlation matrix instead), and the loss = mean |Sigma|
//   over the selected entries of its class, averaged over the samples of a class, then over the
//   classes present. Selected entries: the top iadg_live_selection (live) / iadg_spoof_selection
//   (spoof) fraction of the upper-triangle entries by their variance across the class's samples
//   (both forwards), accumulated over the previous epoch (the asymmetric 1 : 0.2 of the reference);
// - L = CE(original) + CE(augmented) + w (AIAW(original) + AIAW(augmented)); the first
//   iadg_warmup_epochs epochs train with CE only while base styles and variances are collected.
// Evaluation is the plain forward (the reference tests the original branch).
// Simplified from the reference: base styles are a per-class ring buffer of recent batch styles
// (the reference selects them by farthest point sampling over a pass on the training set); the
// mask statistics come from the training steps instead of an extra pass; the re-styling replaces
// the tokens instead of the reference's residual x + AdaIN(x) (which would double the scale of a
// ViT's residual stream); the dynamic kernel generator (a CNN layer of the reference backbone) and
// the depth-map head (no depth labels here) are left out.
#pragma once
#include <array>

#include "mmdg/train/strategy.h"

namespace mmdg::train {

// Per sample, the channel covariance of its patch tokens (the class token left out), h (B, L, C) ->
// (B, C, C): raw X^T X / (N - 1) + eps I, or that of the standardized tokens (eps inside the sqrt).
torch::Tensor token_covariance(const torch::Tensor& h, IADGCovariance kind, double eps = 1e-5);

// Mean over samples of the mean |Sigma_i| over the entries `mask` (C, C) bool selects: (B, C, C) -> scalar.
torch::Tensor whitening_loss(const torch::Tensor& covariance, const torch::Tensor& mask);

// Dirichlet(alpha) weights (B, K), sampled in log space (stable for the tiny alpha = 1/K).
torch::Tensor sample_dirichlet(std::int64_t batch, std::int64_t k, double alpha, const torch::TensorOptions& options);

class IADGStrategy : public Strategy {
 public:
  IADGStrategy(const TrainOptions& options, model::NetworkImpl& net, const StrategyContext& context);
  void begin_epoch(model::NetworkImpl& net, const data::MultiDomainDataset* train_set, std::int64_t epoch) override;
  StepResult step(model::NetworkImpl& net, const TrainBatch& batch) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  // The whitening masks (streams, 2 classes: spoof, live, C, C) bool, selected at the epoch's start.
  const torch::Tensor& masks() const { return masks_; }

 private:
  // Adds the batch's styles (streams, B, C) of each class to the class's ring buffer.
  void remember_styles(const torch::Tensor& mean, const torch::Tensor& std, const torch::Tensor& labels);
  using ClassRows = std::array<torch::Tensor, 2>;  // row indices of the spoof (0) and live (1) samples
  // Accumulates the variance across samples of each class of the upper-triangle covariance entries.
  void accumulate_variance(const std::vector<torch::Tensor>& covariances, const ClassRows& class_rows);
  // The tensors a resumed run needs, by their resume.pt names (handles sharing the members' storage).
  std::vector<std::pair<std::string, torch::Tensor>> state() const;

  IADGOptions options_;
  std::size_t block_, last_block_;
  std::int64_t streams_, width_;
  std::vector<torch::Tensor> trainable_;
  torch::Tensor bank_mean_, bank_std_;    // (streams, 2 classes, N, C)
  torch::Tensor bank_size_, bank_next_;   // (streams, 2) int64
  torch::Tensor variance_sum_;            // (streams, 2, C * C) float64
  torch::Tensor variance_count_;          // (streams, 2) int64
  torch::Tensor masks_;                   // (streams, 2, C, C) bool; none selected before the first statistics
  std::int64_t masks_epoch_ = -1;
};

}  // namespace mmdg::train
