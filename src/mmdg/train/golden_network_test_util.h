// Test helper shared by the golden training tests (train_step_golden_test.cpp,
// train_trajectory_golden_test.cpp): the tiny network a golden file of tests/golden/make_golden.py
// was computed with, from the file's metadata.
#pragma once
#include <string>

#include "mmdg/io/safetensors.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/model/module_state.h"
#include "mmdg/model/network.h"
#include "mmdg/util/enum_names.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {

// The metadata's preset with its golden initial weights (released layout), deterministic in
// training: its estimator (no Monte Carlo sampling), adapter dropout (0: no dropout anywhere),
// freeze policy and head.
inline model::Network golden_network(const io::Metadata& meta) {
  auto o = model::NetworkOptions::preset(meta.at("preset"));
  o.estimator = parse_enum<model::Estimator>(meta.at("estimator"), "estimator");
  o.adapter_dropout = std::stod(meta.at("adapter_dropout"));
  o.freeze = parse_enum<model::Freeze>(meta.at("freeze"), "freeze");
  o.head = parse_enum<model::Head>(meta.at("head"), "head");
  model::Network net = model::make_network(o);
  const auto weights = model::from_released_layout(io::read_torch_checkpoint(test::golden(meta.at("weights"))));
  model::load_state_dict(*net, weights, /*strict=*/true, meta.at("weights"));
  return net;
}

}  // namespace mmdg::train
