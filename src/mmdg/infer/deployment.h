// What a trained checkpoint records so that a new sample is scored as training scored it: the
// input pipeline (size, modality order, channel handling, value range, resize, normalization) and
// the operating point (the decision threshold with its provenance). Stored as JSON in the
// checkpoint's safetensors metadata under "mmdg_deployment"; the network options (estimator
// included) are stored beside it under "mmdg_options" (checkpoint.h).
#pragma once
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mmdg/data/image.h"

namespace mmdg::infer {

// Threshold used when a checkpoint records none (no validation set, or an older checkpoint).
inline constexpr double kDefaultThreshold = 0.5;

struct OperatingPoint {
  double threshold = kDefaultThreshold;  // live when the live probability >= threshold
  std::string source;                    // e.g. "source-val EER threshold of the best epoch"
  std::int64_t epoch = 0;                // the epoch whose validation scores gave it
  double val_hter = NAN, val_auc = NAN;  // that epoch's source-validation HTER / AUC
};

struct Deployment {
  data::Normalization normalization = data::Normalization::ImageNet;
  std::optional<OperatingPoint> operating_point;  // absent: trained without a validation set
  bool recorded = true;  // false: a checkpoint without the record (older, or a plain state dict)

  double threshold() const { return operating_point ? operating_point->threshold : kDefaultThreshold; }

  // The record, with the input description of a network of input size `image_size`.
  nlohmann::json to_json(std::int64_t image_size) const;
  // Parses a record; errors name `context`. Checks the modality order and that the recorded input
  // size is `image_size` (the network's).
  static Deployment from_json(const nlohmann::json& j, std::int64_t image_size, const std::string& context);
};

// The normalization and threshold to score with: the checkpoint's, unless a flag overrides them
// (then a warning says so); for a checkpoint without the record, the flags or the defaults (then a
// note says so). The warnings and notes go to the log (util/log.h) and to `notes`, one line each.
struct ScoringChoice {
  data::Normalization normalization = data::Normalization::ImageNet;
  double threshold = kDefaultThreshold;
  std::string threshold_source;  // what the threshold is, for the printed decision
};
ScoringChoice choose_scoring(const Deployment& stored, const std::optional<data::Normalization>& normalization_flag,
                             const std::optional<double>& threshold_flag, std::vector<std::string>& notes);

}  // namespace mmdg::infer
