// Test helpers: the tiny benchmarks the trainer-level tests train on.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "mmdg/data/padisi_format.h"
#include "mmdg/train/train_options.h"
#ifdef MMDG_HAVE_OPENCV
#include "mmdg/data/synth.h"
#endif

namespace mmdg::train {

#ifdef MMDG_HAVE_OPENCV
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
#endif

// The trainer-level tests' budget on those benchmarks: 2 epochs of 3 steps of 8 samples, lr 1e-3,
// 2 loader workers, a log line per step, evaluation in batches of 16.
inline TrainOptions tiny_train_options() {
  TrainOptions t;
  t.epochs = 2;
  t.batch_size = 8;
  t.steps_per_epoch = 3;
  t.lr = 1e-3;
  t.workers = 2;
  t.log_every = 1;
  t.eval_batch_size = 16;
  return t;
}

// Without OpenCV: three domains of PADISI .npz samples, lists A-train.txt, B-train.txt and C-val.txt
// in `dir`, each 4 subjects x (live, spoof) x 2 frames of 32 x 32 noise, the live ones brighter in
// every modality by a domain-dependent amount (something to learn, with a domain shift).
inline void write_tiny_npz_benchmark(const std::string& dir) {
  torch::manual_seed(17);
  const std::pair<const char*, const char*> lists[] = {{"A", "train"}, {"B", "train"}, {"C", "val"}};
  int domain = 0;
  for (const auto& [name, split] : lists) {
    std::filesystem::create_directories(dir + "/" + name);
    std::ofstream list(dir + "/" + name + "-" + split + ".txt");
    for (int subject = 0; subject < 4; ++subject) {
      for (int label : {1, 0}) {
        for (int frame = 0; frame < 2; ++frame) {
          const double level = 0.3 + 0.1 * domain + (label ? 0.25 : 0.0);
          const auto image = [&](std::int64_t channels) { return (level + 0.15 * torch::randn({channels, 32, 32})).clamp(0, 1); };
          const std::string file = std::string(name) + "/s" + std::to_string(subject) + (label ? "_live" : "_print") + "_f" +
                                   std::to_string(frame) + ".npz";
          data::write_padisi_npz(dir + "/" + file, image(3), image(1), image(1));
          list << file << '\t' << label << '\n';
        }
      }
    }
    ++domain;
  }
}

}  // namespace mmdg::train
