// Test helper: tiny synthetic data and one-step training options for protocol-level tests.
#pragma once
#include "mmdg/data/synth.h"
#include "mmdg/experiment/protocol.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/test_util.h"

namespace mmdg::experiment {

// Tiny synthetic data in dir/data and one-step training options writing to dir/out.
inline ProtocolArgs tiny_protocol(const test::TempDir& dir) {
  data::SynthOptions synth;
  synth.subjects = 3;
  synth.frames = 1;
  synth.image_size = 32;
  data::write_synthetic_benchmark(synth, dir.file("data"));
  ProtocolArgs a;
  a.lists_dir = a.data_root = dir.file("data");
  a.pretrained = test::golden("vit_tiny_torchvision.pth");
  a.out = dir.file("out");
  a.model = model::NetworkOptions::preset("mmdg_tiny");
  a.model.estimator = model::Estimator::Expected;
  a.train.epochs = 1;
  a.train.batch_size = 8;
  a.train.steps_per_epoch = 1;
  a.train.workers = 1;
  return a;
}

// Sets the network, strategy and output folder of a --method preset (e.g. "mmdg", "vit").
inline void use_method(ProtocolArgs& a, const std::string& method) {
  const auto preset = train::resolve_method(method);
  a.model.network = preset.network;
  a.train.strategy = preset.strategy;
  a.method_name = method;
}

}  // namespace mmdg::experiment
