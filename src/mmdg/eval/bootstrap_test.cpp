#include "mmdg/eval/bootstrap.h"

#include <gtest/gtest.h>

#include <random>

#include "mmdg/eval/report.h"
#include "mmdg/util/test_util.h"

namespace mmdg::eval {
namespace {

// n_live live and n_spoof spoof samples; live scores drawn around `live_mean`, spoof around 0.3.
Scores noisy(std::size_t n_live, std::size_t n_spoof, double live_mean, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.15);
  Scores s;
  for (std::size_t i = 0; i < n_live + n_spoof; ++i) {
    const bool live = i < n_live;
    s.labels.push_back(live ? 1 : 0);
    s.live_probability.push_back((live ? live_mean : 0.3) + noise(rng));
  }
  return s;
}

TEST(Bootstrap, PairedHTERDifference) {
  const std::vector<Scores> a{noisy(9, 45, 0.45, 1), noisy(9, 45, 0.45, 2), noisy(9, 45, 0.45, 3)};
  // identical methods: no difference in any resample
  const auto same = paired_hter_difference(a, a, 500, 7);
  EXPECT_EQ(same.difference, 0.0);
  EXPECT_EQ(same.low, 0.0);
  EXPECT_EQ(same.high, 0.0);
  // the observed difference is the mean over seeds of the reports' target-eer HTERs
  const std::vector<Scores> b{noisy(9, 45, 0.9, 4), noisy(9, 45, 0.9, 5), noisy(9, 45, 0.9, 6)};
  double want = 0;
  for (std::size_t k = 0; k < 3; ++k)
    want += (make_report(b[k], std::nullopt, 0.5).policies[0].metrics.hter - make_report(a[k], std::nullopt, 0.5).policies[0].metrics.hter) / 3;
  const auto better = paired_hter_difference(b, a, 1000, 7);
  EXPECT_NEAR(better.difference, want, 1e-12);
  EXPECT_LT(better.difference, 0);
  EXPECT_LE(better.low, better.difference);
  EXPECT_GE(better.high, better.difference);
  EXPECT_LT(better.high, 0);  // b clearly better: the interval excludes 0
  EXPECT_EQ(paired_hter_difference(b, a, 1000, 7).low, better.low);  // deterministic for a seed
  // two equally good methods: the interval straddles 0
  const std::vector<Scores> c{noisy(9, 45, 0.45, 11), noisy(9, 45, 0.45, 12), noisy(9, 45, 0.45, 13)};
  const auto tie = paired_hter_difference(a, c, 1000, 7);
  EXPECT_LT(tie.low, 0);
  EXPECT_GT(tie.high, 0);
  // one live sample: stratified resamples always keep both classes
  EXPECT_NO_THROW(paired_hter_difference({noisy(1, 5, 0.5, 1)}, {noisy(1, 5, 0.6, 2)}, 200, 1));
  Scores other = a[0];
  other.labels[0] = 0;
  EXPECT_MMDG_ERROR(paired_hter_difference({a[0]}, {other}, 10, 1), "not of the same test samples");
  EXPECT_MMDG_ERROR(paired_hter_difference(a, {a[0]}, 10, 1), "same seeds");
}

// Frames of a video are not independent: with every video's frames identical, resampling videos
// must give a wider interval than resampling frames as if they were independent (and the same
// interval as one frame per video).
TEST(Bootstrap, ResamplesVideosWhenTheScoresNameThem) {
  const auto frames_of = [](const Scores& one_per_video, int frames) {
    Scores s;
    for (std::size_t v = 0; v < one_per_video.labels.size(); ++v)
      for (int f = 0; f < frames; ++f) {
        s.live_probability.push_back(one_per_video.live_probability[v]);
        s.labels.push_back(one_per_video.labels[v]);
        s.videos.push_back("video" + std::to_string(v));
      }
    return s;
  };
  const Scores a1 = noisy(6, 12, 0.5, 21), b1 = noisy(6, 12, 0.6, 22);
  const Scores a5 = frames_of(a1, 5), b5 = frames_of(b1, 5);
  const auto by_video = paired_hter_difference({a5}, {b5}, 2000, 3);
  EXPECT_EQ(by_video.units, "videos");
  EXPECT_EQ(by_video.live_units, 6u);
  EXPECT_EQ(by_video.spoof_units, 12u);
  Scores a5_frames = a5, b5_frames = b5;
  a5_frames.videos.clear();
  b5_frames.videos.clear();
  const auto by_frame = paired_hter_difference({a5_frames}, {b5_frames}, 2000, 3);
  EXPECT_EQ(by_frame.units, "samples");
  EXPECT_GT(by_video.high - by_video.low, 1.5 * (by_frame.high - by_frame.low));
  const auto one_frame = paired_hter_difference({a1}, {b1}, 2000, 3);
  EXPECT_NEAR(by_video.high - by_video.low, one_frame.high - one_frame.low, 0.1);
}

// A table's average column: the difference averaged over test sets, each resampled on its own.
TEST(Bootstrap, AverageOverTestSets) {
  const std::vector<Scores> a1{noisy(30, 60, 0.5, 31), noisy(30, 60, 0.5, 32)}, b1{noisy(30, 60, 0.6, 33), noisy(30, 60, 0.6, 34)};
  const std::vector<Scores> a2{noisy(20, 80, 0.5, 41), noisy(20, 80, 0.5, 42)}, b2{noisy(20, 80, 0.7, 43), noisy(20, 80, 0.7, 44)};
  // one set: exactly the single-set interval (same draws)
  const auto single = paired_hter_difference(a1, b1, 800, 5), one = paired_hter_difference_over_sets({a1}, {b1}, 800, 5);
  EXPECT_EQ(single.difference, one.difference);
  EXPECT_EQ(single.low, one.low);
  EXPECT_EQ(single.high, one.high);
  // two sets: the observed difference is the mean of the sets' differences
  const auto d1 = paired_hter_difference(a1, b1, 800, 5), d2 = paired_hter_difference(a2, b2, 800, 5);
  const auto both = paired_hter_difference_over_sets({a1, a2}, {b1, b2}, 800, 5);
  EXPECT_NEAR(both.difference, (d1.difference + d2.difference) / 2, 1e-12);
  EXPECT_EQ(both.live_units, 50u);
  EXPECT_EQ(both.spoof_units, 140u);
  EXPECT_EQ(both.units, "samples");
  EXPECT_LE(both.low, both.difference);
  EXPECT_GE(both.high, both.difference);
  // independent sets: the average's spread is below the wider of the two (about 1/sqrt(2) of each)
  EXPECT_LT(both.high - both.low, std::max(d1.high - d1.low, d2.high - d2.low));
  EXPECT_MMDG_ERROR(paired_hter_difference_over_sets({a1, a2}, {b1}, 10, 1), "same test sets");
}

}  // namespace
}  // namespace mmdg::eval
