// Per-attack-type error rates as ISO/IEC 30107-3 reports them: the APCER of each PAI species
// (attack type, data/attack_type.h), the worst of them, APCER_PAIS, and the BPCER of the same
// threshold; ACER here is (APCER_PAIS + BPCER) / 2, the OULU-NPU convention for several species
// (metrics.h's pooled ACER averages the pooled APCER instead). Scores are live probabilities,
// accepted as live when score >= threshold.
#pragma once
#include <string>
#include <vector>

namespace mmdg::eval {

struct SpeciesError {
  std::string species;
  std::size_t attacks = 0;  // test samples of this species
  double apcer = 0;         // of them accepted as live
};

struct AttackMetrics {
  double threshold = 0.5;
  std::vector<SpeciesError> species;  // by name
  double apcer_pais = 0;              // max over the species
  std::string worst;                  // the species reaching it
  double bpcer = 0;
  double acer = 0;                    // (apcer_pais + bpcer) / 2
};

// `attacks[i]` is sample i's attack type (ignored for live samples). Throws Error when sizes
// differ or there is no attack.
AttackMetrics attack_metrics(const std::vector<double>& scores, const std::vector<int>& labels,
                             const std::vector<std::string>& attacks, double threshold);

// The BPCER at the lowest threshold at which every species' APCER is <= max_apcer (ISO/IEC
// 30107-3's "BPCER at APCER = x", with APCER_PAIS for the APCER): exact, from one sort per species.
double bpcer_at_apcer(const std::vector<double>& scores, const std::vector<int>& labels,
                      const std::vector<std::string>& attacks, double max_apcer);

}  // namespace mmdg::eval
