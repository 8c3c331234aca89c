#include "mmdg/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include "mmdg/util/error.h"

namespace mmdg::eval {
namespace {

struct Counts {
  std::int64_t live = 0, spoof = 0;
};

Counts count(const std::vector<int>& labels) {
  Counts c;
  for (int l : labels) (l == 1 ? c.live : c.spoof)++;
  return c;
}

}  // namespace

void check_scores(const std::vector<double>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size())
    throw Error("metrics: " + std::to_string(scores.size()) + " scores but " + std::to_string(labels.size()) + " labels");
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) throw Error("metrics: score " + std::to_string(i) + " is not finite");
    if (labels[i] != 0 && labels[i] != 1) throw Error("metrics: label " + std::to_string(i) + " is not 0 or 1");
  }
  const Counts c = count(labels);
  if (c.live == 0 || c.spoof == 0)
    throw Error("metrics: need both live (1) and spoof (0) samples, got " + std::to_string(c.live) + " live and " +
                std::to_string(c.spoof) + " spoof");
}

std::vector<RocPoint> roc(const std::vector<double>& scores, const std::vector<int>& labels) {
  check_scores(scores, labels);
  const Counts c = count(labels);
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  std::vector<RocPoint> points;
  points.push_back({std::nextafter(scores[order[0]], INFINITY), 0.0, 0.0});
  std::int64_t tp = 0, fp = 0;
  for (std::size_t k = 0; k < order.size();) {
    const double t = scores[order[k]];
    for (; k < order.size() && scores[order[k]] == t; ++k) (labels[order[k]] == 1 ? tp : fp)++;
    points.push_back({t, static_cast<double>(fp) / c.spoof, static_cast<double>(tp) / c.live});
  }
  return points;
}

std::string percent_text(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", 100 * fraction);
  return buf;
}

double auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto points = roc(scores, labels);
  double area = 0;  // trapezoids between consecutive points: a tie block contributes its diagonal (1/2)
  for (std::size_t k = 1; k < points.size(); ++k)
    area += (points[k].fpr - points[k - 1].fpr) * (points[k].tpr + points[k - 1].tpr) / 2;
  return area;
}

ThresholdMetrics at_threshold(const std::vector<double>& scores, const std::vector<int>& labels, double threshold) {
  check_scores(scores, labels);
  const Counts c = count(labels);
  std::int64_t accepted_spoof = 0, rejected_live = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const bool accept = scores[i] >= threshold;
    if (labels[i] == 0 && accept) ++accepted_spoof;
    if (labels[i] == 1 && !accept) ++rejected_live;
  }
  ThresholdMetrics m;
  m.threshold = threshold;
  m.apcer = static_cast<double>(accepted_spoof) / c.spoof;
  m.bpcer = static_cast<double>(rejected_live) / c.live;
  m.acer = m.hter = (m.apcer + m.bpcer) / 2;
  return m;
}

EqualErrorRate equal_error_rate(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto points = roc(scores, labels);
  EqualErrorRate best;
  double best_gap = INFINITY;
  for (const auto& p : points) {
    const double apcer = p.fpr, bpcer = 1 - p.tpr, gap = std::abs(apcer - bpcer);
    if (gap < best_gap) {
      best_gap = gap;
      best.eer = (apcer + bpcer) / 2;
      best.threshold = p.threshold;
    }
  }
  return best;
}

double tpr_at_fpr(const std::vector<double>& scores, const std::vector<int>& labels, double max_fpr) {
  double best = 0;
  for (const auto& p : roc(scores, labels))
    if (p.fpr <= max_fpr + 1e-12) best = std::max(best, p.tpr);
  return best;
}

}  // namespace mmdg::eval
