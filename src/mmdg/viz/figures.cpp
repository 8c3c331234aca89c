#include "mmdg/viz/figures.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "mmdg/eval/metrics.h"
#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/json_text.h"
#include "mmdg/viz/plot.h"

namespace mmdg::viz {

cv::Mat roc_figure(const std::string& title, const std::vector<std::pair<std::string, eval::Scores>>& methods) {
  std::vector<Series> series;
  for (std::size_t i = 0; i < methods.size(); ++i) {
    const auto& [name, scores] = methods[i];
    Series s;
    const double area = eval::auc(scores.live_probability, scores.labels);
    char label[96];
    std::snprintf(label, sizeof label, "%s (AUC %.1f)", name.c_str(), 100 * area);
    s.name = label;
    s.colour = series_colour(i);
    for (const auto& p : eval::roc(scores.live_probability, scores.labels)) {
      s.x.push_back(p.fpr);
      s.y.push_back(p.tpr);
    }
    series.push_back(std::move(s));
  }
  Series chance{"chance", {0, 1}, {0, 1}, cv::Scalar(160, 160, 160), true};
  series.push_back(chance);
  PlotOptions o;
  o.title = title;
  o.x_label = "false positive rate (APCER)";
  o.y_label = "true positive rate (1 - BPCER)";
  return line_plot(series, o);
}

cv::Mat balance_figure(const std::string& log_path) {
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
  std::vector<Series> top;
  for (int m = 0; m < 3; ++m) top.push_back({names[m], epochs, ssp[m], series_colour(static_cast<std::size_t>(m))});
  PlotOptions o;
  o.auto_range = true;
  o.title = "modality balance: SSP loss per modality";
  o.x_label = "epoch";
  o.y_label = "SSP loss";
  o.height = 360;
  const cv::Mat a = line_plot(top, o);
  o.title = "variance of the three SSP losses";
  o.y_label = "variance";
  const cv::Mat b = line_plot({{"variance", epochs, variance, cv::Scalar(40, 39, 214)}}, o);
  cv::Mat both;
  cv::vconcat(a, b, both);
  return both;
}

}  // namespace mmdg::viz
