#include "mmdg/train/run_dir.h"

#include <filesystem>

#include "mmdg/io/file_util.h"
#include "mmdg/util/json_text.h"

namespace mmdg::train {
namespace fs = std::filesystem;

std::string RunDir::file(const std::string& name) const { return (fs::path(path_) / name).string(); }
bool RunDir::has_run() const { return fs::exists(config()); }
bool RunDir::is_done() const { return fs::exists(done()); }
nlohmann::json RunDir::done_record() const { return parse_json(io::read_file(done()), done() + ": not valid JSON"); }

}  // namespace mmdg::train
