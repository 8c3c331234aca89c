#include "mmdg/train/run_dir.h"

#include <filesystem>

namespace mmdg::train {
namespace fs = std::filesystem;

std::string RunDir::file(const std::string& name) const { return (fs::path(path_) / name).string(); }
bool RunDir::has_run() const { return fs::exists(config()); }
bool RunDir::is_done() const { return fs::exists(done()); }

}  // namespace mmdg::train
