// `mmdg data check | convert-wmca`: preparing a real dataset for the benchmark lists.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "mmdg/data/data_check.h"
#ifdef MMDG_HAVE_OPENCV
#include "mmdg/data/wmca_convert.h"
#endif
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"

namespace mmdg::cli {

void add_data_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "Prepare and check a dataset for the benchmark lists");
  cmd->require_subcommand(1);
  {
    auto* check = cmd->add_subcommand(
        "check", "Per list: how many files exist, decode and have the expected shape, and the first problems by line "
                 "(exit 1 on any problem)");
    auto o = std::make_shared<data::DataCheckOptions>();
    auto json = std::make_shared<bool>(false);
    check->add_option("--lists", o->lists_dir, "folder of {C,P,S,W}-{train,val,test}.txt")->required();
    check->add_option("--data-root", o->data_root, "root of the lists' relative paths");
    auto* datasets = check->add_option("--datasets", o->datasets,
                                       "the datasets' letters, e.g. CW (default: every list found of C, P, S, W; "
                                       "given: each must have its three lists)");
    check->add_option("--every", o->every, "check every n-th line only (1: every line)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    check->add_option("--max-problems", o->max_problems, "problems shown per list")->capture_default_str();
    check->add_flag("--json", *json, "machine-readable report");
    check->callback([=] {
      o->datasets_given = datasets->count() > 0;
      const auto report = data::check_data(*o);
      if (*json) std::cout << report.to_json().dump(1) << "\n";
      else std::cout << report.to_text();
      if (!report.ok()) throw Error("data check: problems found (listed above)");
    });
  }
#ifdef MMDG_HAVE_OPENCV
  {
    auto* wmca = cmd->add_subcommand(
        "convert-wmca",
        "WMCA's preprocessed HDF5 faces (preprocessed-face-station_RGB/ and _CDIT/) -> the JPEG files the W lists name");
    auto o = std::make_shared<data::WmcaConvertOptions>();
    wmca->add_option("--wmca-root", o->wmca_root,
                     "folder holding preprocessed-face-station_RGB/<date>/<video>.hdf5 and preprocessed-face-station_CDIT/...")
        ->required();
    wmca->add_option("--lists", o->lists_dir, "folder of W-train.txt, W-val.txt, W-test.txt (the frames to write)")->required();
    wmca->add_option("--data-root", o->data_root, "where to write WMCA-Image/R_CDIT/<video>/{color,depth,ir}/<frame>.jpg")
        ->required();
    wmca->add_option("--quality", o->quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
    wmca->add_flag("--overwrite", o->overwrite, "write frames whose files exist already (default: keep them)");
    wmca->add_option("--max-problems", o->max_problems, "problems shown")->capture_default_str();
    wmca->callback([=] {
      const auto r = data::convert_wmca(*o);
      std::cout << r.videos << " videos, " << r.frames << " frames named by " << r.lists.size() << " lists: " << r.written
                << " written, " << r.kept << " already there, " << r.problem_count << " problems\n";
      for (const auto& p : r.problems) std::cout << "  " << p << "\n";
      if (r.problem_count > 0) throw Error("convert-wmca: " + std::to_string(r.problem_count) + " frames could not be written");
    });
  }
#endif
}

}  // namespace mmdg::cli
