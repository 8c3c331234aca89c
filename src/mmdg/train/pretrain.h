// `mmdg pretrain`: the embedded default's pretrained backbone. A small ViT is trained from scratch
// on a synthetic proxy task (data::generate_proxy_task: head yaw x light quadrant of live faces)
// and written in torchvision's layout, so it loads exactly like ImageNet weights. Deterministic
// from the seed.
#pragma once
#include <cstdint>
#include <string>

namespace mmdg::train {

struct PretrainOptions {
  std::string config = "vit_mini";
  std::int64_t samples = 1600;
  std::int64_t epochs = 3;
  std::int64_t batch_size = 32;
  double lr = 2e-4;
  double weight_decay = 0.01;
  std::int64_t seed = 1000;

  template <class V>
  void visit(V&& v) {
    v("config", config, "ViT config to pretrain (vit_mini, vit_tiny, ...)");
    v("samples", samples, "proxy-task images");
    v("epochs", epochs, "passes over them");
    v("batch_size", batch_size, "images per step");
    v("lr", lr, "AdamW-style learning rate (Adam with weight decay)");
    v("weight_decay", weight_decay, "weight decay");
    v("seed", seed, "seed of the proxy data and the initialization");
  }
};

struct PretrainResult {
  double first_epoch_loss = 0, last_epoch_loss = 0, train_accuracy = 0, seconds = 0;
};

// Trains and writes `out` (.pth, torchvision names, with the proxy head as heads.head).
PretrainResult pretrain_vit(const PretrainOptions& options, const std::string& out);

}  // namespace mmdg::train
