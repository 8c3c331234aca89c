#include "mmdg/eval/metrics.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::eval {
namespace {

// O(n^2) Mann-Whitney: P(live score > spoof score) + P(tie) / 2.
double auc_brute_force(const std::vector<double>& s, const std::vector<int>& l) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j)
      if (l[i] == 1 && l[j] == 0) {
        pairs += 1;
        wins += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
      }
  return wins / pairs;
}

// Every candidate threshold, by definition.
EqualErrorRate eer_brute_force(const std::vector<double>& s, const std::vector<int>& l) {
  std::set<double> thresholds(s.begin(), s.end());
  thresholds.insert(*thresholds.rbegin() + 1);
  EqualErrorRate best;
  double gap = 1e9;
  for (const double th : thresholds) {
    const auto m = at_threshold(s, l, th);
    if (std::abs(m.apcer - m.bpcer) < gap - 1e-15) {
      gap = std::abs(m.apcer - m.bpcer);
      best = {m.hter, th};
    }
  }
  return best;
}

TEST(Metrics, HandComputedExample) {
  // live: 0.9 0.8 0.4 ; spoof: 0.7 0.3 0.2 0.1
  const std::vector<double> s = {0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1};
  const std::vector<int> l = {1, 1, 1, 0, 0, 0, 0};
  // pairs won: 0.9 beats 4, 0.8 beats 4, 0.4 beats 3 -> 11 / 12
  EXPECT_DOUBLE_EQ(auc(s, l), 11.0 / 12.0);
  const auto m = at_threshold(s, l, 0.5);
  EXPECT_DOUBLE_EQ(m.apcer, 0.25);     // 0.7 accepted
  EXPECT_DOUBLE_EQ(m.bpcer, 1.0 / 3);  // 0.4 rejected
  EXPECT_DOUBLE_EQ(m.hter, (0.25 + 1.0 / 3) / 2);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(s, l, 0.0), 2.0 / 3);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(s, l, 0.25), 1.0);
}

TEST(Metrics, TiesCountOneHalf) {
  const std::vector<double> s = {0.5, 0.5, 0.5, 0.5};
  const std::vector<int> l = {1, 0, 1, 0};
  EXPECT_DOUBLE_EQ(auc(s, l), 0.5);
  EXPECT_DOUBLE_EQ(equal_error_rate(s, l).eer, 0.5);
}

TEST(Metrics, MatchBruteForceOnRandomScoresWithTies) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 30; ++trial) {
    const int n = 5 + static_cast<int>(rng() % 60);
    std::vector<double> s(n);
    std::vector<int> l(n);
    for (int i = 0; i < n; ++i) {
      l[i] = i < 2 ? i : static_cast<int>(rng() % 2);
      s[i] = std::round((0.3 * l[i] + std::uniform_real_distribution<double>(0, 1)(rng)) * 10) / 10;  // many ties
    }
    EXPECT_NEAR(auc(s, l), auc_brute_force(s, l), 1e-12);
    const auto fast = equal_error_rate(s, l), slow = eer_brute_force(s, l);
    EXPECT_NEAR(fast.eer, slow.eer, 1e-12);
    EXPECT_DOUBLE_EQ(at_threshold(s, l, fast.threshold).hter, fast.eer);
  }
}

TEST(Metrics, BadInputIsNamed) {
  EXPECT_MMDG_ERROR(auc({0.1, 0.2}, {1, 1}), "need both live");
  EXPECT_MMDG_ERROR(auc({0.1}, {1, 0}), "1 scores but 2 labels");
  EXPECT_MMDG_ERROR(auc({0.1, NAN}, {1, 0}), "not finite");
}

}  // namespace
}  // namespace mmdg::eval
