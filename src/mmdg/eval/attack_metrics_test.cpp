#include "mmdg/eval/attack_metrics.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::eval {
namespace {

// A hand example: 4 live, print x3, replay x2.
TEST(AttackMetrics, HandExample) {
  const std::vector<double> s = {0.9, 0.8, 0.6, 0.3, /*print*/ 0.7, 0.2, 0.1, /*replay*/ 0.65, 0.5};
  const std::vector<int> l = {1, 1, 1, 1, 0, 0, 0, 0, 0};
  const std::vector<std::string> a = {"bonafide", "bonafide", "bonafide", "bonafide", "print", "print", "print", "replay", "replay"};
  const auto m = attack_metrics(s, l, a, 0.6);
  ASSERT_EQ(m.species.size(), 2u);
  EXPECT_EQ(m.species[0].species, "print");
  EXPECT_EQ(m.species[0].attacks, 3u);
  EXPECT_DOUBLE_EQ(m.species[0].apcer, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.species[1].apcer, 0.5);
  EXPECT_DOUBLE_EQ(m.apcer_pais, 0.5);
  EXPECT_EQ(m.worst, "replay");
  EXPECT_DOUBLE_EQ(m.bpcer, 0.25);  // 0.3 < 0.6
  EXPECT_DOUBLE_EQ(m.acer, 0.375);
  // APCER 0 for both species needs a threshold above 0.7: live 0.6 and 0.3 are rejected
  EXPECT_DOUBLE_EQ(bpcer_at_apcer(s, l, a, 0.0), 0.5);
  // 1/3 of print and 1/2 of replay may pass: above 0.2 (print's 2nd) and 0.5 (replay's 2nd)
  EXPECT_DOUBLE_EQ(bpcer_at_apcer(s, l, a, 0.5), 0.25);
  EXPECT_DOUBLE_EQ(bpcer_at_apcer(s, l, a, 1.0), 0.0);
  EXPECT_MMDG_ERROR(attack_metrics(s, l, {"x"}, 0.5), "9 scores, 9 labels and 1 attack types");
  EXPECT_MMDG_ERROR(attack_metrics({0.5}, {1}, {"bonafide"}, 0.5), "no attack sample");
}

// Against brute force: every candidate threshold (each score, just above it, and beyond), keep
// those where every species' APCER <= x, take the smallest BPCER (the lowest such threshold).
TEST(AttackMetrics, BpcerAtApcerMatchesBruteForce) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  const std::vector<std::string> species = {"a", "b", "c"};
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> s;
    std::vector<int> l;
    std::vector<std::string> a;
    const int n = 5 + trial % 30;
    for (int i = 0; i < n; ++i) {
      const bool live = i % 3 == 0;
      l.push_back(live);
      a.push_back(live ? "bonafide" : species[i % 2 + (trial % 2)]);
      s.push_back(std::round(u(rng) * 20) / 20 + (live ? 0.1 : 0));  // ties on purpose
    }
    std::set<double> candidates = {-1, 2};
    for (double v : s) {
      candidates.insert(v);
      candidates.insert(std::nextafter(v, 3.0));
    }
    for (double x : {0.0, 0.01, 0.05, 0.1, 0.34, 0.5}) {
      double best = 2;
      for (double t : candidates) {
        const auto m = attack_metrics(s, l, a, t);
        if (m.apcer_pais <= x + 1e-12) best = std::min(best, m.bpcer);
      }
      EXPECT_DOUBLE_EQ(bpcer_at_apcer(s, l, a, x), best) << "trial " << trial << " x " << x;
    }
  }
}

}  // namespace
}  // namespace mmdg::eval
