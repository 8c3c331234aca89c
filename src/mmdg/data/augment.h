// Training augmentations, applied identically to the three modalities (one random draw per
// sample): horizontal flip, brightness / gamma jitter, cutout. Off at evaluation, and off by
// default: the paper and the released code train without augmentation; these are named extras.
#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>

namespace mmdg::data {

struct AugmentOptions {
  bool hflip = false;
  double brightness = 0.0;  // factor in [1 - b, 1 + b] (0: off)
  double gamma = 0.0;       // exponent exp(U(-g, g)) (0: off)
  double cutout = 0.0;      // side of a zeroed square, as a fraction of the image (0: off)

  template <class V>
  void visit(V&& v) {
    v("hflip", hflip, "random horizontal flips (training)");
    v("brightness", brightness, "brightness jitter b: factor in [1 - b, 1 + b] (training)");
    v("gamma", gamma, "gamma jitter g: exponent exp(U(-g, g)) (training)");
    v("cutout", cutout, "cutout square side as a fraction of the image, 0 = off (training)");
  }
  void validate() const;
};

// images: (3, S, S) each, values in [0, 1]; the same flip, jitter and cutout box for all three.
void augment(std::array<at::Tensor, 3>& images, const AugmentOptions& options, std::uint64_t seed);

}  // namespace mmdg::data
