#include "mmdg/data/sample.h"

#include <filesystem>

#include "mmdg/util/error.h"

namespace mmdg::data {

std::string join_path(const std::string& root, const std::string& relative) {
  if (root.empty()) return relative;
  return (std::filesystem::path(root) / relative).string();
}

Sample load_sample(const ListEntry& entry, const std::string& list_path, const std::string& data_root,
                   std::int64_t size, Normalization normalization) {
  const std::string where = list_path + ":" + std::to_string(entry.line) + ": ";
  if (entry.is_npz())
    throw Error(where + "PADISI .npz samples are not readable yet (" + entry.rgb + ")");
  Sample sample;
  sample.label = entry.label;
  const std::array<const std::string*, 3> paths{&entry.rgb, &entry.depth, &entry.ir};
  for (int m = 0; m < 3; ++m) {
    try {
      sample.inputs[m] = prepare(read_image(join_path(data_root, *paths[m])), size, normalization);
    } catch (const Error& e) {
      throw Error(where + e.what());
    }
  }
  return sample;
}

}  // namespace mmdg::data
