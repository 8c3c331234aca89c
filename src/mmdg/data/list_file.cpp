#include "mmdg/data/list_file.h"

#include <algorithm>
#include <sstream>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"

namespace mmdg::data {

std::size_t BenchmarkList::count(int label) const {
  return static_cast<std::size_t>(
      std::count_if(entries.begin(), entries.end(), [&](const ListEntry& e) { return e.label == label; }));
}

BenchmarkList read_list(const std::string& path) { return parse_list(io::read_file(path), path); }

BenchmarkList parse_list(const std::string& text, const std::string& path) {
  BenchmarkList list;
  list.path = path;
  std::size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto where = path + ":" + std::to_string(line_no) + ": ";
    if (line.find_first_not_of(" \t") == std::string::npos) {
      if (start >= text.size()) break;  // a trailing newline
      throw Error(where + "empty line");
    }
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string f; in >> f;) fields.push_back(f);
    ListEntry e;
    e.line = line_no;
    std::string label;
    if (fields.size() == 4) {
      e.rgb = fields[0];
      e.depth = fields[1];
      e.ir = fields[2];
      label = fields[3];
    } else if (fields.size() == 2) {
      if (fields[0].size() < 4 || fields[0].compare(fields[0].size() - 4, 4, ".npz") != 0)
        throw Error(where + "a two-field line must name a .npz file, got '" + fields[0] + "'");
      e.rgb = fields[0];
      label = fields[1];
    } else {
      throw Error(where + "expected 'rgb depth ir label' or 'name.npz<TAB>label', got " +
                  std::to_string(fields.size()) + " fields");
    }
    if (label != "0" && label != "1") throw Error(where + "label must be 0 (spoof) or 1 (live), got '" + label + "'");
    e.label = label == "1" ? 1 : 0;
    list.entries.push_back(std::move(e));
  }
  if (list.entries.empty()) throw Error(path + ": the list is empty");
  return list;
}

}  // namespace mmdg::data
