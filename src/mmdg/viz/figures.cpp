#include "mmdg/viz/figures.h"

#include <nlohmann/json.hpp>
#include <array>
#include <cstdio>
#include <sstream>

#include "mmdg/eval/metrics.h"
#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/json_text.h"

namespace mmdg::viz {

Figure roc_figure(const std::string& title, const std::vector<std::pair<std::string, eval::Scores>>& methods) {
  LinePanel panel;
  panel.title = title;
  panel.x_label = "false positive rate (APCER)";
  panel.y_label = "true positive rate (1 - BPCER)";
  panel.x_range = {0, 1};
  panel.y_range = {0, 1};
  panel.legend = LegendAt::bottom_right;
  for (const auto& [name, scores] : methods) {
    Series s;
    const double area = eval::auc(scores.live_probability, scores.labels);
    char label[96];
    std::snprintf(label, sizeof label, "%s (AUC %.1f)", name.c_str(), 100 * area);
    s.name = label;
    for (const auto& p : eval::roc(scores.live_probability, scores.labels)) {
      s.x.push_back(p.fpr);
      s.y.push_back(p.tpr);
    }
    panel.series.push_back(std::move(s));
  }
  Series chance{"chance", {0, 1}, {0, 1}};
  chance.colour = 7;  // grey
  chance.dashed = true;
  panel.series.push_back(chance);
  return Figure{{panel}};
}

Figure balance_figure(const std::string& log_path) {
  std::istringstream in(io::read_file(log_path));
  std::vector<double> epochs, variance;
  std::array<std::vector<double>, 3> ssp;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const nlohmann::json j = parse_json(line, log_path + ":" + std::to_string(line_no) + ": not JSON");
    if (j.value("type", "") != "epoch" || !j.contains("ssp_mean")) continue;
    epochs.push_back(j["epoch"].get<double>());
    for (int m = 0; m < 3; ++m) ssp[m].push_back(j["ssp_mean"][m].get<double>());
    variance.push_back(j["ssp_variance"].get<double>());
  }
  if (epochs.empty())
    throw Error(log_path + ": no epoch lines with SSP losses (has the run finished an epoch? only the regrad strategy "
                           "computes per-modality SSP losses)");
  const char* names[] = {"RGB", "depth", "IR"};
  LinePanel top;
  top.title = "modality balance: SSP loss per modality";
  top.x_label = "epoch";
  top.y_label = "SSP loss";
  for (int m = 0; m < 3; ++m) {
    Series s{names[m], epochs, ssp[m]};
    s.markers = true;
    top.series.push_back(std::move(s));
  }
  LinePanel bottom;
  bottom.title = "variance of the three SSP losses";
  bottom.x_label = "epoch";
  bottom.y_label = "variance";
  Series v{"variance", epochs, variance};
  v.colour = 3;
  v.markers = true;
  bottom.series.push_back(std::move(v));
  Figure figure{{top, bottom}};
  figure.panel_height = 360;
  return figure;
}

}  // namespace mmdg::viz
