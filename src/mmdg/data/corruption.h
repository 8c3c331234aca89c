// Test-time corruptions of one modality (`mmdg stress`): named, seeded, deterministic transforms of
// a decoded image with a severity s in [0, 1] (s = 0 is the identity), declared once in a table.
// They act on the network-size image in [0, 1] before normalization (the `*_zero` ones on the
// normalized input, so that s = 1 is exactly Protocol 2's missing modality), so they apply to any
// list and any network. Local corruptions also return the pixels they changed, for asking whether
// the uncertainty sees them.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mmdg::data {

struct CorruptionInfo {
  std::string name;
  int modality = 0;          // 0 rgb, 1 depth, 2 ir
  std::string severity;      // what s means
  bool local = false;        // changes part of the face (a mask of the changed pixels comes with it)
  bool normalized = false;   // acts on the normalized input (the *_zero corruptions)
};

// The table, in a fixed order.
const std::vector<CorruptionInfo>& corruptions();
// The entry of `name`; a UsageError naming the option and the known names otherwise.
const CorruptionInfo& corruption(const std::string& name);

struct Corrupted {
  at::Tensor image;  // (3, S, S), like the input
  at::Tensor mask;   // (S, S) bool: the changed pixels (local corruptions; undefined for global ones)
};

// Applies `name` at severity s to `image` ((3, S, S) float: in [0, 1], or normalized for the
// `normalized` ones; depth and NIR hold one channel replicated to three). Deterministic in
// (name, s, image, seed). Errors name the corruption and the bad value.
Corrupted corrupt(const std::string& name, const at::Tensor& image, double s, std::uint64_t seed);

}  // namespace mmdg::data
