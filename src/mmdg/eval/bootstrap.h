// Confidence intervals for a difference between two methods tested on the same samples: a paired,
// stratified bootstrap of the target-EER HTER (the paper's tables' policy) over test samples.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "mmdg/eval/evaluate.h"

namespace mmdg::eval {

struct DifferenceInterval {
  double difference = 0;  // the observed mean over seeds of HTER(a) - HTER(b)
  double low = 0, high = 0;
  int resamples = 0;
  double level = 0.95;
  std::string units;                          // "videos" or "samples": what was resampled
  std::size_t live_units = 0, spoof_units = 0;
};

// The HTER at the EER threshold of the scores themselves (report.h's target-eer policy).
double target_eer_hter(const Scores& scores);

// a[k], b[k]: the two methods' scores of seed k on the same test samples in the same order (the
// labels must agree). The units resampled are the videos when every score set names the same ones
// (Scores::videos: frames of a video are not independent), else the samples. Each resample draws
// the live and the spoof units with replacement (stratified: both classes keep their counts of
// units), the same draw for both methods and every seed,
// and takes the mean over seeds of HTER(a) - HTER(b); the interval is the resamples' central
// `level` percentile range. Deterministic for a given `seed`. Throws mmdg::Error on mismatched
// inputs.
DifferenceInterval paired_hter_difference(const std::vector<Scores>& a, const std::vector<Scores>& b, int resamples = 2000,
                                          std::uint64_t seed = 0, double level = 0.95);

// The same for an average over several test sets (the sub-protocols of a table's average column):
// a[t][k], b[t][k] are the scores of test set t, seed k. The difference is the mean over test sets
// of the per-set mean over seeds; each resample draws every test set's units independently (the
// sets hold different samples). The unit counts reported are summed over the sets; `units` is
// "videos" only when every set is resampled by video.
DifferenceInterval paired_hter_difference_over_sets(const std::vector<std::vector<Scores>>& a,
                                                    const std::vector<std::vector<Scores>>& b, int resamples = 2000,
                                                    std::uint64_t seed = 0, double level = 0.95);

// The resampling units of one test set, for intervals of any statistic of it: its videos when the
// scores name them (all frames of a drawn video are taken), else its samples; live and spoof units
// are drawn separately (stratified: each class keeps its number of units).
class UnitBootstrap {
 public:
  explicit UnitBootstrap(const Scores& reference);
  // `resamples` draws, each the sample rows of the drawn units; deterministic in `seed`.
  std::vector<std::vector<std::size_t>> draws(int resamples, std::uint64_t seed) const;
  const std::string& units() const { return units_; }  // "videos" or "samples"
  std::size_t live_units() const { return live_.size(); }
  std::size_t spoof_units() const { return spoof_.size(); }

 private:
  std::vector<std::vector<std::size_t>> rows_;  // the samples of each unit
  std::vector<std::size_t> live_, spoof_;        // units by class (a video's: its first sample's)
  std::string units_;
};

// The rows `rows` of a score set (scores, labels and, when present, videos and attacks).
Scores pick_rows(const Scores& scores, const std::vector<std::size_t>& rows);

struct Interval {
  double value = 0, low = 0, high = 0;  // observed, and the replicates' central `level` percentile range
};
// `replicates`: the statistic on each resample (sorted here).
Interval percentile_interval(double observed, std::vector<double> replicates, double level = 0.95);

}  // namespace mmdg::eval
