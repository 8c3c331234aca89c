#include "mmdg/data/sample.h"

#include <filesystem>

#include <torch/torch.h>

#include "mmdg/io/npy.h"
#include "mmdg/util/error.h"

namespace mmdg::data {

std::string join_path(const std::string& root, const std::string& relative) {
  if (root.empty()) return relative;
  return (std::filesystem::path(root) / relative).string();
}

std::array<at::Tensor, 3> read_padisi_npz(const std::string& path) {
  const auto arrays = io::read_npz(path);
  if (!arrays.contains("data")) throw Error(path + ": PADISI sample without a 'data' array");
  const at::Tensor data = arrays["data"];
  if (data.dim() != 4 || data.size(0) != 1 || data.size(1) < 5)
    throw Error(path + ": PADISI 'data' must have shape (1, 22, H, W) (at least 5 channels), got " + c10::str(data.sizes()));
  if (!data.is_floating_point()) throw Error(path + ": PADISI 'data' must hold floats in [0, 1]");
  const at::Tensor x = data[0].to(torch::kFloat);                          // (C, H, W)
  const at::Tensor rgb = x.index_select(0, torch::tensor({2, 1, 0}));     // channels 0-2 are BGR
  return {rgb, x.slice(0, 4, 5).expand({3, -1, -1}).contiguous(),          // depth: channel 4
          x.slice(0, 3, 4).expand({3, -1, -1}).contiguous()};              // NIR: channel 3
}

std::array<at::Tensor, 3> load_raw_images(const ListEntry& entry, const std::string& list_path,
                                          const std::string& data_root) {
  try {
    if (entry.is_npz()) return read_padisi_npz(join_path(data_root, entry.rgb));
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
