// MMDG-Benchmark list files, read exactly as they are:
//   CeFA / SURF / WMCA: "rgb_path depth_path ir_path label" per line, CRLF ends, no final newline
//   PADISI:             "name.npz<TAB>label" per line (the three modalities inside one .npz)
// Paths are relative to a data root. Label 1 = live (bona fide), 0 = spoof. A malformed line is
// an mmdg::Error "FILE:LINE: reason".
#pragma once
#include <string>
#include <vector>

namespace mmdg::data {

struct ListEntry {
  std::string rgb, depth, ir;  // image paths (relative), or rgb = the .npz and depth/ir empty
  int label = 0;               // 1 live, 0 spoof
  int line = 0;                // 1-based line in the list file
  bool is_npz() const { return depth.empty() && ir.empty(); }
};

struct BenchmarkList {
  std::string path;
  std::vector<ListEntry> entries;
  std::size_t count(int label) const;
};

BenchmarkList read_list(const std::string& path);

// Parses list text; `path` names the source in error messages.
BenchmarkList parse_list(const std::string& text, const std::string& path);

}  // namespace mmdg::data
