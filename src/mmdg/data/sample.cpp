#include "mmdg/data/sample.h"

#include <atomic>
#include <filesystem>

#include <torch/torch.h>

#include "mmdg/util/error.h"

namespace mmdg::data {

namespace {
std::atomic<bool> outside_root_allowed{false};
}  // namespace

void allow_paths_outside_data_root(bool allow) { outside_root_allowed = allow; }

std::string join_path(const std::string& root, const std::string& relative) {
  if (root.empty()) return relative;
  const std::filesystem::path path(relative);
  if (!outside_root_allowed) {
    const auto normal = path.lexically_normal();
    if (path.is_absolute() || (!normal.empty() && *normal.begin() == ".."))
      throw Error("'" + relative + "' leaves --data-root " + root + " (" +
                  (path.is_absolute() ? "an absolute path" : "'..' above the root") +
                  "). HINT: list paths are relative to --data-root; to read files outside it on purpose, give "
                  "--allow-outside-data-root");
  }
  return (std::filesystem::path(root) / path).string();
}

std::vector<std::string> missing_files(const std::vector<ListEntry>& entries, const std::string& list_path,
                                       const std::string& data_root, std::size_t max_reported) {
  std::vector<std::string> missing;
  std::size_t count = 0;
  for (const auto& e : entries) {
    const std::string where = list_path + ":" + std::to_string(e.line) + ": ";
    for (const std::string* p : {&e.rgb, &e.depth, &e.ir}) {
      if (p->empty()) continue;  // a .npz entry: one path
      std::string path;
      try {
        path = join_path(data_root, *p);
      } catch (const Error& err) {
        throw Error(where + err.what());
      }
      std::error_code ec;
      if (std::filesystem::is_regular_file(path, ec)) continue;
      if (++count <= max_reported) missing.push_back(where + path + ": file not found");
    }
  }
  if (count > max_reported) missing.push_back("... and " + std::to_string(count - max_reported) + " more");
  return missing;
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
