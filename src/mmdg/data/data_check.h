// `mmdg data check`: before training, whether the files a set of benchmark lists names are there,
// decode, and have the shapes the loaders expect, list by list, with the first problems by line.
// An image must decode (JPEG / PNG, 8 or 16 bits, 1, 3 or 4 channels) to at least
// kMinImageSide pixels a side with every value finite; a PADISI .npz must hold "data" of shape
// (1, 22, H, W) with its used channels in [0, 1] (padisi_format.h: else it counts as unreadable)
// and at least kMinImageSide pixels a side.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mmdg::data {

inline constexpr std::int64_t kMinImageSide = 16;

struct DataCheckOptions {
  std::string lists_dir, data_root;
  std::string datasets = "CPSW";  // letters of the lists to check ({X}-{train,val,test}.txt)
  bool datasets_given = false;    // then every named dataset must have its three lists
  std::size_t every = 1;          // check every n-th line only (1: all)
  std::size_t max_problems = 5;   // per list
};

struct ListCheck {
  std::string list;  // path
  std::size_t lines = 0, checked = 0, live = 0, spoof = 0;
  std::size_t files = 0, present = 0, readable = 0, well_formed = 0;  // files of the checked lines
  std::size_t problem_count = 0;
  std::vector<std::string> problems;  // "LIST:LINE: ...", the first max_problems
  bool ok() const { return problem_count == 0; }
};

struct DataCheckReport {
  std::vector<ListCheck> lists;
  std::vector<std::string> missing_lists;  // named by --datasets but absent
  bool ok() const;
  std::string to_text() const;
  nlohmann::json to_json() const;
};

// Checks the lists found (or named); throws Error when the folder holds none of them.
DataCheckReport check_data(const DataCheckOptions& options);

}  // namespace mmdg::data
