#include "mmdg/eval/attack_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "mmdg/util/error.h"

namespace mmdg::eval {
namespace {

// Attack scores grouped by species, by name.
std::map<std::string, std::vector<double>> by_species(const std::vector<double>& scores, const std::vector<int>& labels,
                                                      const std::vector<std::string>& attacks) {
  if (scores.size() != labels.size() || scores.size() != attacks.size())
    throw Error("per-attack metrics: " + std::to_string(scores.size()) + " scores, " + std::to_string(labels.size()) +
                " labels and " + std::to_string(attacks.size()) + " attack types");
  std::map<std::string, std::vector<double>> groups;
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (labels[i] == 0) groups[attacks[i]].push_back(scores[i]);
  if (groups.empty()) throw Error("per-attack metrics: no attack sample");
  return groups;
}

double bpcer_of(const std::vector<double>& scores, const std::vector<int>& labels, double threshold, bool strictly_above) {
  std::size_t live = 0, rejected = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] != 1) continue;
    ++live;
    rejected += strictly_above ? scores[i] <= threshold : scores[i] < threshold;
  }
  return live ? static_cast<double>(rejected) / static_cast<double>(live) : 0.0;
}

}  // namespace

AttackMetrics attack_metrics(const std::vector<double>& scores, const std::vector<int>& labels,
                             const std::vector<std::string>& attacks, double threshold) {
  AttackMetrics m;
  m.threshold = threshold;
  m.apcer_pais = -1;
  for (const auto& [name, group] : by_species(scores, labels, attacks)) {
    SpeciesError e{name, group.size(), 0};
    const auto accepted = std::count_if(group.begin(), group.end(), [&](double s) { return s >= threshold; });
    e.apcer = static_cast<double>(accepted) / static_cast<double>(group.size());
    if (e.apcer > m.apcer_pais) {
      m.apcer_pais = e.apcer;
      m.worst = name;
    }
    m.species.push_back(e);
  }
  m.bpcer = bpcer_of(scores, labels, threshold, false);
  m.acer = (m.apcer_pais + m.bpcer) / 2;
  return m;
}

double bpcer_at_apcer(const std::vector<double>& scores, const std::vector<int>& labels,
                      const std::vector<std::string>& attacks, double max_apcer) {
  // A species of n attacks allows k = floor(max_apcer * n) accepted: the threshold must lie above
  // its (k+1)-th highest score. The lowest threshold serving every species lies just above the
  // largest of those scores, so the live samples rejected are those scoring <= it.
  double bound = -std::numeric_limits<double>::infinity();
  for (auto& [name, group] : by_species(scores, labels, attacks)) {
    const auto k = static_cast<std::size_t>(std::floor(max_apcer * static_cast<double>(group.size()) + 1e-9));
    if (k >= group.size()) continue;  // the species allows every attack through
    std::nth_element(group.begin(), group.begin() + static_cast<std::ptrdiff_t>(k), group.end(), std::greater<double>());
    bound = std::max(bound, group[k]);
  }
  return bpcer_of(scores, labels, bound, true);
}

}  // namespace mmdg::eval
