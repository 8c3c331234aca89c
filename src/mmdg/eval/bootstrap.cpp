#include "mmdg/eval/bootstrap.h"

#include <algorithm>
#include <map>
#include <cmath>
#include <random>
#include <string>

#include "mmdg/eval/metrics.h"
#include "mmdg/util/error.h"

namespace mmdg::eval {
namespace {

// The units of a test set: `rows` (the samples of each unit) and the units of each class.
void build_units(const std::vector<int>& labels, const std::vector<std::string>* videos,
                 std::vector<std::vector<std::size_t>>& rows, std::vector<std::size_t>& live, std::vector<std::size_t>& spoof) {
  std::vector<int> unit_label;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string key = videos ? (*videos)[i] : std::to_string(i);
    auto [it, fresh] = index.try_emplace(key, rows.size());
    if (fresh) {
      rows.emplace_back();
      unit_label.push_back(labels[i]);
    }
    rows[it->second].push_back(i);
  }
  for (std::size_t u = 0; u < rows.size(); ++u) (unit_label[u] == 1 ? live : spoof).push_back(u);
}

// One stratified draw: the rows of units drawn with replacement from each class.
void draw_rows(const std::vector<std::vector<std::size_t>>& units, const std::vector<std::size_t>& live,
               const std::vector<std::size_t>& spoof, std::mt19937_64& rng, std::vector<std::size_t>& rows) {
  rows.clear();
  for (const auto* group : {&live, &spoof}) {
    if (group->empty()) continue;
    std::uniform_int_distribution<std::size_t> pick_one(0, group->size() - 1);
    for (std::size_t i = 0; i < group->size(); ++i) {
      const auto& unit = units[(*group)[pick_one(rng)]];
      rows.insert(rows.end(), unit.begin(), unit.end());
    }
  }
}

Scores pick(const Scores& s, const std::vector<std::size_t>& rows) {
  Scores out;
  out.live_probability.reserve(rows.size());
  out.labels.reserve(rows.size());
  for (auto r : rows) {
    out.live_probability.push_back(s.live_probability[r]);
    out.labels.push_back(s.labels[r]);
  }
  return out;
}

double mean_difference(const std::vector<Scores>& a, const std::vector<Scores>& b, const std::vector<std::size_t>& rows) {
  double sum = 0;
  for (std::size_t k = 0; k < a.size(); ++k) sum += target_eer_hter(pick(a[k], rows)) - target_eer_hter(pick(b[k], rows));
  return sum / static_cast<double>(a.size());
}

}  // namespace

double target_eer_hter(const Scores& s) {
  const auto eer = equal_error_rate(s.live_probability, s.labels);
  return at_threshold(s.live_probability, s.labels, eer.threshold).hter;
}

namespace {

// One test set's paired scores, split into resampling units by class.
struct PairedSet {
  const std::vector<Scores>* a;
  const std::vector<Scores>* b;
  std::vector<std::vector<std::size_t>> units;  // the samples of each unit
  std::vector<std::size_t> live, spoof, all;     // units by class (a video's class: its first sample's), all samples
  bool by_video = false;
};

PairedSet paired_set(const std::vector<Scores>& a, const std::vector<Scores>& b) {
  if (a.empty() || a.size() != b.size()) throw Error("bootstrap: give both methods' scores for the same seeds");
  const auto& labels = a[0].labels;
  for (std::size_t k = 0; k < a.size(); ++k)
    for (const Scores* s : {&a[k], &b[k]}) {
      check_scores(s->live_probability, s->labels);
      if (s->labels != labels)
        throw Error("bootstrap: the scores are not of the same test samples (labels differ at seed " + std::to_string(k) + ")");
    }
  PairedSet set{&a, &b, {}, {}, {}, {}, !a[0].videos.empty()};
  // The resampled units: videos when every score set names them (the same ones), else samples.
  for (std::size_t k = 0; k < a.size(); ++k)
    for (const Scores* s : {&a[k], &b[k]}) set.by_video = set.by_video && s->videos == a[0].videos;
  build_units(labels, set.by_video ? &a[0].videos : nullptr, set.units, set.live, set.spoof);
  for (std::size_t i = 0; i < labels.size(); ++i) set.all.push_back(i);
  return set;
}

}  // namespace

DifferenceInterval paired_hter_difference(const std::vector<Scores>& a, const std::vector<Scores>& b, int resamples,
                                          std::uint64_t seed, double level) {
  return paired_hter_difference_over_sets({a}, {b}, resamples, seed, level);
}

DifferenceInterval paired_hter_difference_over_sets(const std::vector<std::vector<Scores>>& a,
                                                    const std::vector<std::vector<Scores>>& b, int resamples,
                                                    std::uint64_t seed, double level) {
  if (a.empty() || a.size() != b.size()) throw Error("bootstrap: give both methods' scores for the same test sets");
  if (resamples < 1 || !(level > 0 && level < 1)) throw Error("bootstrap: resamples must be >= 1 and level in (0, 1)");
  std::vector<PairedSet> sets;
  for (std::size_t t = 0; t < a.size(); ++t) sets.push_back(paired_set(a[t], b[t]));
  const auto sets_count = static_cast<double>(sets.size());
  DifferenceInterval out;
  out.resamples = resamples;
  out.level = level;
  out.units = "videos";
  for (const auto& set : sets) {
    out.difference += mean_difference(*set.a, *set.b, set.all) / sets_count;
    out.live_units += set.live.size();
    out.spoof_units += set.spoof.size();
    if (!set.by_video) out.units = "samples";
  }
  std::mt19937_64 rng(seed);
  std::vector<double> draws;
  draws.reserve(static_cast<std::size_t>(resamples));
  std::vector<std::size_t> rows;
  for (int r = 0; r < resamples; ++r) {
    double draw = 0;
    for (const auto& set : sets) {
      draw_rows(set.units, set.live, set.spoof, rng, rows);
      draw += mean_difference(*set.a, *set.b, rows) / sets_count;
    }
    draws.push_back(draw);
  }
  const auto interval = percentile_interval(out.difference, std::move(draws), level);
  out.low = interval.low;
  out.high = interval.high;
  return out;
}

UnitBootstrap::UnitBootstrap(const Scores& reference) {
  check_scores(reference.live_probability, reference.labels);
  const bool by_video = !reference.videos.empty();
  if (by_video && reference.videos.size() != reference.labels.size())
    throw Error("bootstrap: " + std::to_string(reference.videos.size()) + " video names for " +
                std::to_string(reference.labels.size()) + " samples");
  build_units(reference.labels, by_video ? &reference.videos : nullptr, rows_, live_, spoof_);
  units_ = by_video ? "videos" : "samples";
}

std::vector<std::vector<std::size_t>> UnitBootstrap::draws(int resamples, std::uint64_t seed) const {
  if (resamples < 1) throw Error("bootstrap: resamples must be >= 1");
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::size_t>> out(static_cast<std::size_t>(resamples));
  for (auto& rows : out) draw_rows(rows_, live_, spoof_, rng, rows);
  return out;
}

Scores pick_rows(const Scores& s, const std::vector<std::size_t>& rows) {
  Scores out = pick(s, rows);
  if (!s.videos.empty())
    for (auto r : rows) out.videos.push_back(s.videos[r]);
  if (!s.attacks.empty())
    for (auto r : rows) out.attacks.push_back(s.attacks[r]);
  return out;
}

Interval percentile_interval(double observed, std::vector<double> replicates, double level) {
  if (replicates.empty() || !(level > 0 && level < 1)) throw Error("bootstrap: no replicates, or a level outside (0, 1)");
  std::sort(replicates.begin(), replicates.end());
  const auto at = [&](double q) {
    const double position = q * static_cast<double>(replicates.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(position));
    const auto hi = std::min(lo + 1, replicates.size() - 1);
    return replicates[lo] + (position - static_cast<double>(lo)) * (replicates[hi] - replicates[lo]);
  };
  return {observed, at((1 - level) / 2), at(1 - (1 - level) / 2)};
}

}  // namespace mmdg::eval
