#include "mmdg/infer/deployment.h"

#include <iomanip>
#include <sstream>

#include "mmdg/util/error.h"
#include "mmdg/util/json_text.h"
#include "mmdg/util/log.h"

namespace mmdg::infer {
namespace {
const std::vector<std::string> kModalities = {"rgb", "depth", "ir"};

// A JSON number, or null for NaN (JSON has no NaN).
nlohmann::json number_or_null(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }
double number_or_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : NAN; }

std::string number_text(double v) {
  std::ostringstream out;
  out << std::setprecision(4) << v;
  return out.str();
}

template <class T>
T field(const nlohmann::json& object, const char* key, const std::string& context, bool (nlohmann::json::*is)() const) {
  if (!object.contains(key) || !(object.at(key).*is)())
    throw Error(context + ": '" + key + "' is missing or has the wrong type");
  return object.at(key).get<T>();
}
}  // namespace

nlohmann::json Deployment::to_json(std::int64_t image_size) const {
  const auto stats = data::normalization_stats(normalization);
  nlohmann::json j;
  j["input"] = {
      {"image_size", image_size},
      {"modalities", kModalities},
      {"channels", "three channels in RGB order; a single-channel depth or IR image is replicated to three"},
      {"value_range", "8-bit values / 255, 16-bit values / 65535, to [0, 1]"},
      {"resize", "the whole crop to image_size x image_size: area averaging when shrinking, bilinear when enlarging"},
      {"normalization", enum_name(normalization)},
      {"mean", stats.mean},
      {"std", stats.std},
      {"missing_modality", "zeros (after normalization)"}};
  if (operating_point) {
    const auto& p = *operating_point;
    j["operating_point"] = {{"threshold", p.threshold}, {"source", p.source}, {"epoch", p.epoch},
                            {"val_hter", number_or_null(p.val_hter)}, {"val_auc", number_or_null(p.val_auc)},
                            {"decision", "live when the live probability >= threshold"}};
  } else {
    j["operating_point"] = nullptr;
  }
  return j;
}

Deployment Deployment::from_json(const nlohmann::json& j, std::int64_t image_size, const std::string& context) {
  if (!j.is_object() || !j.contains("input") || !j["input"].is_object())
    throw Error(context + ": the deployment record has no 'input' object");
  const auto& input = j["input"];
  Deployment d;
  d.normalization = parse_enum<data::Normalization>(
      field<std::string>(input, "normalization", context + " input", &nlohmann::json::is_string), context + " input.normalization");
  const auto size = field<std::int64_t>(input, "image_size", context + " input", &nlohmann::json::is_number_integer);
  if (size != image_size)
    throw Error(context + ": the deployment record's image_size " + std::to_string(size) + " is not the network's " +
                std::to_string(image_size));
  if (input.contains("modalities") && input["modalities"] != nlohmann::json(kModalities))
    throw Error(context + ": unsupported modality order " + json_excerpt(input["modalities"]) +
                " (this version reads rgb, depth, ir)");
  if (j.contains("operating_point") && !j["operating_point"].is_null()) {
    const auto& p = j["operating_point"];
    const std::string where = context + " operating_point";
    if (!p.is_object()) throw Error(where + ": expected an object");
    OperatingPoint op;
    op.threshold = field<double>(p, "threshold", where, &nlohmann::json::is_number);
    if (!(op.threshold >= 0 && op.threshold <= 1)) throw Error(where + ": threshold " + json_excerpt(p["threshold"]) + " is not in [0, 1]");
    if (p.contains("source")) op.source = field<std::string>(p, "source", where, &nlohmann::json::is_string);
    op.epoch = p.contains("epoch") && p["epoch"].is_number_integer() ? p["epoch"].get<std::int64_t>() : 0;
    op.val_hter = number_or_nan(p.value("val_hter", nlohmann::json()));
    op.val_auc = number_or_nan(p.value("val_auc", nlohmann::json()));
    d.operating_point = op;
  }
  return d;
}

ScoringChoice choose_scoring(const Deployment& stored, const std::optional<data::Normalization>& normalization_flag,
                             const std::optional<double>& threshold_flag, std::vector<std::string>& notes) {
  ScoringChoice c;
  // each goes to the log and to `notes` (for callers that show them their own way)
  const auto note = [&](const std::string& text) {
    log::info("note: " + text);
    notes.push_back("note: " + text);
  };
  const auto warn = [&](const std::string& text) {
    log::warning(text);
    notes.push_back("warning: " + text);
  };
  c.normalization = normalization_flag.value_or(stored.normalization);
  c.threshold = threshold_flag.value_or(stored.threshold());
  if (!stored.recorded) {
    note(std::string("the checkpoint records no input pipeline or threshold (an older or plain checkpoint): ") +
                    "normalization " + enum_name(c.normalization) + (normalization_flag ? " (given)" : " (default)") +
                    ", threshold " + number_text(c.threshold) + (threshold_flag ? " (given)" : " (default)"));
  } else {
    if (normalization_flag && *normalization_flag != stored.normalization)
      warn(std::string("--normalization ") + enum_name(*normalization_flag) + " overrides the checkpoint's " +
           enum_name(stored.normalization) + ": the network was trained on other inputs");
    if (threshold_flag && stored.operating_point && *threshold_flag != stored.threshold())
      warn("--threshold " + number_text(*threshold_flag) + " overrides the checkpoint's " + number_text(stored.threshold()) +
           " (" + stored.operating_point->source + ")");
    if (!stored.operating_point && !threshold_flag)
      note("the checkpoint records no threshold (trained without a validation set): 0.5 is used");
  }
  if (threshold_flag) c.threshold_source = "given";
  else if (stored.operating_point) c.threshold_source = stored.operating_point->source;
  else c.threshold_source = "default";
  return c;
}

}  // namespace mmdg::infer
