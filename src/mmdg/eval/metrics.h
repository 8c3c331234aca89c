// Face anti-spoofing metrics. Scores are live probabilities (higher = more live); label 1 = live
// (bona fide, the positive class), 0 = spoof (attack). A sample is accepted as live when its
// score >= threshold.
//   APCER = attacks accepted as live / attacks        (false acceptance, FAR)
//   BPCER = live rejected / live                      (false rejection, FRR)
//   ACER = HTER = (APCER + BPCER) / 2
// Everything is computed from one sort of the scores: O(n log n).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mmdg::eval {

struct RocPoint {
  double threshold;  // accept when score >= threshold
  double fpr;        // APCER
  double tpr;        // 1 - BPCER
};

struct ThresholdMetrics {
  double threshold = 0.5;
  double apcer = 0, bpcer = 0, acer = 0, hter = 0;
};

struct EqualErrorRate {
  double eer = 0;        // (APCER + BPCER) / 2 at the threshold where they are closest
  double threshold = 0;  // that threshold (a score value)
};

// Throws mmdg::Error when sizes differ, a class is absent, or a score is not finite.
void check_scores(const std::vector<double>& scores, const std::vector<int>& labels);

// A fraction as tables and logs print it: 0.1222 -> "12.22".
std::string percent_text(double fraction);

// Area under the ROC curve; ties between a live and a spoof score count one half (exact
// Mann-Whitney statistic).
double auc(const std::vector<double>& scores, const std::vector<int>& labels);

// The ROC at every distinct score (plus the accept-nothing point), by decreasing threshold.
std::vector<RocPoint> roc(const std::vector<double>& scores, const std::vector<int>& labels);

ThresholdMetrics at_threshold(const std::vector<double>& scores, const std::vector<int>& labels, double threshold);

// The EER over all distinct-score thresholds (the SSDG-style DG-FAS convention).
EqualErrorRate equal_error_rate(const std::vector<double>& scores, const std::vector<int>& labels);

// The largest TPR with FPR <= max_fpr.
double tpr_at_fpr(const std::vector<double>& scores, const std::vector<int>& labels, double max_fpr);

}  // namespace mmdg::eval
