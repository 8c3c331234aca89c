// One benchmark sample (a list entry) loaded into the model's three inputs.
#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

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

// Joins a data root and a list path ("" root: the path as is). A path that would leave a non-empty
// root (absolute, or starting with ".." once normalized) is an Error unless allowed below: a list
// from elsewhere must not read files outside the data the user pointed at.
std::string join_path(const std::string& root, const std::string& relative);

// Allows list paths outside --data-root for this process (the CLI's --allow-outside-data-root).
void allow_paths_outside_data_root(bool allow);

// Every path of `entries` that does not name an existing file (joined with `data_root`), as
// "LIST:LINE: PATH: file not found", in list order (at most `max_reported`, then a count line).
// Also throws the first path that leaves the root (above). Cheap (file-system metadata only): run
// before training so that a mistyped --data-root or a missing file fails in seconds, not epochs.
std::vector<std::string> missing_files(const std::vector<ListEntry>& entries, const std::string& list_path,
                                       const std::string& data_root, std::size_t max_reported = 10);

}  // namespace mmdg::data
