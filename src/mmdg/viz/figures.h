// The paper's figures from our outputs, as viz::Figure (write them with viz::write_figure): ROC
// curves (one per method) and the modality balance plot of Fig. 6 (each modality's SSP loss per
// epoch and their variance, from a run's log).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "mmdg/eval/evaluate.h"
#include "mmdg/viz/plot.h"

namespace mmdg::viz {

// One curve per method (its AUC in the legend) and the chance diagonal.
Figure roc_figure(const std::string& title, const std::vector<std::pair<std::string, eval::Scores>>& methods);

// Reads `log.jsonl` of a run (epoch lines with "ssp_mean") and plots SSP loss per modality per
// epoch (top) and the variance of the three (bottom). Errors name the file.
Figure balance_figure(const std::string& log_path);

}  // namespace mmdg::viz
