#include "mmdg/data/sample.h"

#include <filesystem>

#include <torch/torch.h>

#include "mmdg/util/error.h"

namespace mmdg::data {

std::string join_path(const std::string& root, const std::string& relative) {
  if (root.empty()) return relative;
  return (std::filesystem::path(root) / relative).string();
}

std::array<at::Tensor, 3> load_raw_images(const ListEntry& entry, const std::string& list_path,
                                          const std::string& data_root) {
  try {
    switch (entry.format) {
      case SampleFormat::PadisiNpz: return read_padisi_npz(join_path(data_root, entry.rgb));
      case SampleFormat::ThreeImages: break;
    }
    return {read_image(join_path(data_root, entry.rgb)), read_image(join_path(data_root, entry.depth)),
            read_image(join_path(data_root, entry.ir))};
  } catch (const Error& e) {
    throw Error(list_path + ":" + std::to_string(entry.line) + ": " + e.what());
  }
}

Sample load_sample(const ListEntry& entry, const std::string& list_path, const std::string& data_root,
                   std::int64_t size, Normalization normalization) {
  const auto images = load_raw_images(entry, list_path, data_root);
  Sample sample;
  sample.label = entry.label;
  for (int m = 0; m < 3; ++m) sample.inputs[m] = prepare(images[m], size, normalization);
  return sample;
}

}  // namespace mmdg::data
