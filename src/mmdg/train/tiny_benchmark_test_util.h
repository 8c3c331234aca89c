// Test helper: the tiny two-domain synthetic benchmark the trainer-level tests train on.
#pragma once
#include <string>

#include "mmdg/data/synth.h"

namespace mmdg::train {

// Domains C and W (their train / val / test lists), 4 subjects, 2 frames per video, 32 x 32 images,
// written to `dir`.
inline void write_tiny_benchmark(const std::string& dir) {
  data::SynthOptions o;
  o.subjects = 4;
  o.frames = 2;
  o.image_size = 32;
  o.domains = "CW";
  data::write_synthetic_benchmark(o, dir);
}

}  // namespace mmdg::train
