// `mmdg pretrain`: the embedded default's pretrained backbone. A small ViT is trained from scratch
// on a synthetic proxy task (data::generate_proxy_task: head yaw x pitch of live faces seen in
// RGB, depth and NIR in turn, 6 classes, chance 16.7 %) with AdamW, linear warmup and a cosine learning-rate decay, and
// written in torchvision's layout, so it loads exactly like ImageNet weights. Accuracy on a
// held-out set (other synthetic identities) is measured after every epoch and written beside the
// weights (<out>.json). Deterministic from the seed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mmdg::train {

struct PretrainOptions {
  std::string config = "vit_mini";
  std::int64_t samples = 4096;
  std::int64_t held_out = 512;
  std::int64_t epochs = 8;
  std::int64_t batch_size = 64;
  double lr = 1e-3;
  double warmup = 0.1;
  double weight_decay = 0.05;
  std::int64_t seed = 1000;

  template <class V>
  void visit(V&& v) {
    v("config", config, "ViT config to pretrain (vit_mini, vit_tiny, ...)");
    v("samples", samples, "proxy-task training images");
    v("held_out", held_out, "proxy-task images of other identities, for the held-out accuracy");
    v("epochs", epochs, "passes over the training images");
    v("batch_size", batch_size, "images per step");
    v("lr", lr, "peak AdamW learning rate");
    v("warmup", warmup, "fraction of the steps with a linear warmup (then cosine decay to 0)");
    v("weight_decay", weight_decay, "AdamW (decoupled) weight decay");
    v("seed", seed, "seed of the proxy data and the initialization");
  }
  void validate() const;
};

struct PretrainResult {
  double first_epoch_loss = 0, last_epoch_loss = 0, train_accuracy = 0, seconds = 0;
  double held_out_accuracy = 0;       // after the last epoch
  std::vector<double> held_out_curve;  // after each epoch
  double chance = 0;                   // 1 / classes
};

// Trains and writes `out` (.pth, torchvision names, with the proxy head as heads.head) and
// `out`.json (options, per-epoch loss and accuracies, chance level, seconds).
PretrainResult pretrain_vit(const PretrainOptions& options, const std::string& out);

}  // namespace mmdg::train
