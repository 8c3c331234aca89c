#include "mmdg/data/data_check.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mmdg/data/list_file.h"
#include "mmdg/data/sample.h"
#include "mmdg/util/error.h"
#include "mmdg/util/progress.h"

namespace mmdg::data {
namespace fs = std::filesystem;
namespace {

// One file's verdict: the stage it failed at, and why.
struct FileResult {
  enum Stage { missing, unreadable, malformed, good } stage = good;
  std::string message;
};

std::string shape_problem(const at::Tensor& image) {
  if (image.dim() != 3 || image.size(1) < kMinImageSide || image.size(2) < kMinImageSide)
    return "image of " + c10::str(image.sizes()) + ": expected at least " + std::to_string(kMinImageSide) + " x " +
           std::to_string(kMinImageSide) + " pixels";
  if (!torch::isfinite(image).all().item<bool>()) return "values that are not finite";
  return "";
}

// The files of one list line, checked in order: exists, decodes, has the expected shape.
std::vector<FileResult> check_entry(const ListEntry& e, const std::string& data_root) {
  std::vector<FileResult> out;
  std::vector<std::string> paths;
  for (const std::string* p : {&e.rgb, &e.depth, &e.ir})
    if (!p->empty()) paths.push_back(*p);
  for (const auto& relative : paths) {
    FileResult r;
    std::string path;
    try {
      path = join_path(data_root, relative);
    } catch (const Error& err) {
      out.push_back({FileResult::missing, err.what()});
      continue;
    }
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      out.push_back({FileResult::missing, relative + ": file not found (" + path + ")"});
      continue;
    }
    try {
      if (e.is_npz()) {
        const auto images = read_padisi_npz(path);
        for (const auto& image : images) {  // the reader checked the array's shape, values and range
          const std::string bad = shape_problem(image);
          if (!bad.empty()) {
            r = {FileResult::malformed, relative + ": " + bad};
            break;
          }
        }
      } else {
        const std::string bad = shape_problem(read_image(path));
        if (!bad.empty()) r = {FileResult::malformed, relative + ": " + bad};
      }
    } catch (const Error& err) {  // does not decode (for an .npz: also no (1, 22, H, W) "data" array)
      r = {FileResult::unreadable, err.what()};
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace

bool DataCheckReport::ok() const {
  if (!missing_lists.empty()) return false;
  for (const auto& l : lists)
    if (!l.ok()) return false;
  return true;
}

std::string DataCheckReport::to_text() const {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %7s %7s %6s %6s %7s %8s %9s %7s %8s\n", "list", "lines", "checked", "live", "spoof",
                "files", "present", "readable", "shape", "problems");
  out << line;
  for (const auto& l : lists) {
    std::snprintf(line, sizeof line, "%-14s %7zu %7zu %6zu %6zu %7zu %8zu %9zu %7zu %8zu\n",
                  fs::path(l.list).filename().string().c_str(), l.lines, l.checked, l.live, l.spoof, l.files, l.present,
                  l.readable, l.well_formed, l.problem_count);
    out << line;
  }
  for (const auto& m : missing_lists) out << m << ": list not found\n";
  for (const auto& l : lists) {
    if (l.ok()) continue;
    out << "\n" << l.list << ": " << l.problem_count << " problem" << (l.problem_count == 1 ? "" : "s")
        << (l.problems.size() < l.problem_count ? ", the first " + std::to_string(l.problems.size()) : std::string()) << ":\n";
    for (const auto& p : l.problems) out << "  " << p << "\n";
  }
  out << (ok() ? "\nall files present, readable and of the expected shape\n" : "\nproblems found\n");
  return out.str();
}

nlohmann::json DataCheckReport::to_json() const {
  nlohmann::json j;
  j["ok"] = ok();
  j["missing_lists"] = missing_lists;
  j["lists"] = nlohmann::json::array();
  for (const auto& l : lists)
    j["lists"].push_back({{"list", l.list}, {"lines", l.lines}, {"checked", l.checked}, {"live", l.live}, {"spoof", l.spoof},
                          {"files", l.files}, {"present", l.present}, {"readable", l.readable},
                          {"well_formed", l.well_formed}, {"problem_count", l.problem_count}, {"problems", l.problems}});
  return j;
}

DataCheckReport check_data(const DataCheckOptions& o) {
  if (o.every < 1) throw Error("--every must be at least 1");
  for (char c : o.datasets)
    if (std::string("CPSW").find(c) == std::string::npos)
      throw Error(std::string("--datasets: unknown dataset '") + c + "' (C, P, S or W)");
  DataCheckReport report;
  std::vector<std::string> paths;
  for (char dataset : o.datasets)
    for (const char* split : {"train", "val", "test"}) {
      const fs::path list = fs::path(o.lists_dir) / (std::string(1, dataset) + "-" + split + ".txt");
      std::error_code ec;
      if (fs::is_regular_file(list, ec)) paths.push_back(list.string());
      else if (o.datasets_given) report.missing_lists.push_back(list.string());
    }
  if (paths.empty())
    throw Error(o.lists_dir + ": none of the lists {" + o.datasets + "}-{train,val,test}.txt. HINT: --lists is the folder of the benchmark lists");
  for (const auto& path : paths) {
    ListCheck c;
    c.list = path;
    BenchmarkList list;
    try {
      list = read_list(path);
    } catch (const Error& e) {  // a malformed list: its first bad line is the problem
      c.problem_count = 1;
      c.problems.push_back(e.what());
      report.lists.push_back(c);
      continue;
    }
    c.lines = list.entries.size();
    std::vector<const ListEntry*> chosen;
    for (std::size_t i = 0; i < list.entries.size(); i += o.every) chosen.push_back(&list.entries[i]);
    c.checked = chosen.size();
    std::vector<std::vector<FileResult>> results(chosen.size());
    Progress progress("check " + fs::path(path).filename().string(), static_cast<std::int64_t>(chosen.size()));
    const std::int64_t chunk = 64;
    for (std::int64_t start = 0; start < static_cast<std::int64_t>(chosen.size()); start += chunk) {
      const std::int64_t end = std::min<std::int64_t>(start + chunk, static_cast<std::int64_t>(chosen.size()));
      at::parallel_for(start, end, 1, [&](std::int64_t a, std::int64_t b) {
        for (std::int64_t i = a; i < b; ++i) results[i] = check_entry(*chosen[i], o.data_root);
      });
      progress.update(end);
    }
    progress.finish();
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      (chosen[i]->label == 1 ? c.live : c.spoof) += 1;
      for (const auto& r : results[i]) {
        ++c.files;
        c.present += r.stage != FileResult::missing;
        c.readable += r.stage == FileResult::malformed || r.stage == FileResult::good;
        c.well_formed += r.stage == FileResult::good;
        if (r.stage == FileResult::good) continue;
        ++c.problem_count;
        if (c.problems.size() < o.max_problems) c.problems.push_back(path + ":" + std::to_string(chosen[i]->line) + ": " + r.message);
      }
    }
    report.lists.push_back(c);
  }
  return report;
}

}  // namespace mmdg::data
