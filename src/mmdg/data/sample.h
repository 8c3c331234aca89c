// One benchmark sample (a list entry) loaded into the model's three inputs.
#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <string>

#include "mmdg/data/image.h"
#include "mmdg/data/list_file.h"
#include "mmdg/data/padisi_format.h"

namespace mmdg::data {

struct Sample {
  std::array<at::Tensor, 3> inputs;  // rgb, depth, ir: (3, S, S), normalized
  int label = 0;
};

// The entry's three images as decoded, (3, H, W) in [0, 1]. Errors name the list file and line.
std::array<at::Tensor, 3> load_raw_images(const ListEntry& entry, const std::string& list_path, const std::string& data_root);

// Loads the entry's images relative to `data_root`. Errors name the list file and line.
Sample load_sample(const ListEntry& entry, const std::string& list_path, const std::string& data_root,
                   std::int64_t size, Normalization normalization);

// Joins a data root and a list path ("" root: the path as is).
std::string join_path(const std::string& root, const std::string& relative);

}  // namespace mmdg::data
