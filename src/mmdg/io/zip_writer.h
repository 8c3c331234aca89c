// Writing zip archives (libzip), atomically: a temporary file next to the target, then rename.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace mmdg::io {

// (entry name, bytes) in order; `compress`: deflate, else stored.
void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries, bool compress);

}  // namespace mmdg::io
