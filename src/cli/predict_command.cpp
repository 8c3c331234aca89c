// `mmdg predict`: live probability and reliability of one sample or of every line of a list.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <opencv2/imgcodecs.hpp>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "cli/settings_cli.h"
#include "mmdg/data/face_crop.h"  // FaceCropper is built only with OpenCV's objdetect
#include "mmdg/data/frame_source.h"
#include "mmdg/data/corruption.h"
#include "mmdg/data/image.h"
#include "mmdg/data/sample.h"
#include "mmdg/eval/report.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/model/uncertainty.h"
#include "mmdg/util/error.h"
#include "mmdg/util/progress.h"
#include "mmdg/viz/overlay.h"
#include "mmdg/util/log.h"

namespace mmdg::cli {
namespace {

struct PredictArgs {
  std::string rgb, depth, ir, maps, list, out = "scores.csv";
  std::optional<double> threshold;
  bool json = false;
  bool detect_face = false;
  data::FaceCropOptions face;
  std::int64_t stride = 1;
  std::string corrupt;  // a stress corruption applied before scoring (one sample)
  double severity = 0.5;
};

// Face detection (--detect-face), when asked for: built once.
class Cropping {
 public:
  explicit Cropping(const PredictArgs& a) {
    if (!a.detect_face) return;
#ifdef MMDG_HAVE_OBJDETECT
    cropper_.emplace(a.face);
#else
    throw UsageError("option --detect-face: this build has no face detection (OpenCV's objdetect). HINT: install "
                "libopencv-objdetect-dev and opencv-data, and rebuild");
#endif
  }
  bool detects() const {
#ifdef MMDG_HAVE_OBJDETECT
    return cropper_.has_value();
#else
    return false;
#endif
  }
  // The frames as face crops (unchanged without --detect-face); nullopt when no face is found.
  // With a face, `face` is set to its box as JSON ({x, y, w, h, in}: in the frame it was found in).
  std::optional<std::array<cv::Mat, 3>> apply(const std::array<cv::Mat, 3>& frames, const std::string& what,
                                              nlohmann::ordered_json* face) const {
#ifdef MMDG_HAVE_OBJDETECT
    if (cropper_) {
      auto found = cropper_->try_crop(frames, what);
      if (!found) return std::nullopt;
      *face = data::face_json(*found);
      return found->crops;
    }
#else
    (void)what;
    (void)face;
#endif
    return frames;
  }
  // The same for one image: no face is the cropper's Error naming `what`.
  std::array<cv::Mat, 3> apply_one(const std::array<cv::Mat, 3>& frames, const std::string& what,
                                   nlohmann::ordered_json* face) const {
#ifdef MMDG_HAVE_OBJDETECT
    if (cropper_) {
      auto found = cropper_->crop(frames, what);
      *face = data::face_json(found);
      return found.crops;
    }
#else
    (void)what;
    (void)face;
#endif
    return frames;
  }

 private:
#ifdef MMDG_HAVE_OBJDETECT
  std::optional<data::FaceCropper> cropper_;
#endif
};

// "live at 0.4123 (source-val EER threshold of the best epoch, epoch 3)"
std::string decision_text(const infer::Predictor& predictor, bool live) {
  std::ostringstream out;
  out << (live ? "live" : "spoof") << " at threshold " << std::setprecision(4) << predictor.scoring().threshold << " ("
      << predictor.scoring().threshold_source;
  if (predictor.stored().operating_point && predictor.scoring().threshold_source != "given")
    out << ", epoch " << predictor.stored().operating_point->epoch;
  out << ")";
  return out.str();
}

void predict_one(infer::Predictor& predictor, const PredictArgs& a, const infer::InferOptions& o,
                 std::array<std::optional<data::FrameSource>, 3>& sources) {
  const auto missing = o.missing_modalities();
  const auto norm = predictor.scoring().normalization;
  const auto size = predictor.options().backbone.image_size();
  std::array<cv::Mat, 3> frames;
  for (int m = 0; m < 3; ++m)
    if (!missing[m]) frames[m] = *sources[m]->next();
  nlohmann::ordered_json face;  // the detected face's box, with --detect-face
  frames = Cropping(a).apply_one(frames, a.rgb.empty() ? a.ir : a.rgb, &face);
  if (a.detect_face && !a.maps.empty()) {  // keep the crops beside the maps: what the network saw
    std::filesystem::create_directories(a.maps);
    for (int m = 0; m < 3; ++m) {
      if (frames[m].empty()) continue;
      const auto path = (std::filesystem::path(a.maps) / (std::string(model::modality_name(m)) + "_face.png")).string();
      if (!cv::imwrite(path, frames[m])) throw Error(path + ": cannot write the face crop");
      log::info("wrote " + path);
    }
  }
  std::array<torch::Tensor, 3> inputs;
  for (int m = 0; m < 3; ++m)
    inputs[m] = missing[m] ? torch::zeros({1, 3, size, size})
                           : predictor.prepare(data::image_from_mat(&frames[m], sources[m]->path())).unsqueeze(0);
  if (!a.corrupt.empty()) {  // what mmdg stress feeds, for a look at the maps of a corrupted input
    const auto& info = data::corruption(a.corrupt);
    auto& x = inputs[info.modality];
    const auto c = data::corrupt(a.corrupt, info.normalized ? x[0] : data::denormalize(x[0], norm), a.severity,
                                 model::draw_key(a.corrupt));
    x = (info.normalized ? c.image : data::normalize(c.image, norm)).unsqueeze(0);
  }
  const bool attention_maps = !a.maps.empty() && predictor.network().capabilities().adapters;
  const auto p = predictor.predict(inputs[0], inputs[1], inputs[2], missing, attention_maps);
  const auto result = infer::prediction_json(predictor, p, 0);
  const double live = result["live_probability"].get<double>();
  const bool decision = p.live[0];
  const auto& reliability = result["mean_reliability"];
  if (!a.maps.empty() && !p.reliability_maps[0].defined())
    throw UsageError("option --maps: the " + predictor.options().network + " network has no uncertainty module, so no reliability maps");
  if (!a.maps.empty()) {
    std::filesystem::create_directories(a.maps);
    std::array<torch::Tensor, 3> images;  // what the network saw, in [0, 1]
    for (int m = 0; m < 3; ++m)
      if (!missing[m]) images[m] = data::denormalize(inputs[m][0], norm);
    for (const auto& [name, picture] : viz::prediction_overlays(p, 0, images)) {
      const auto path = (std::filesystem::path(a.maps) / (name + ".png")).string();
      viz::write_png(path, picture);
      log::info("wrote " + path);
    }
  }
  if (a.json) {
    nlohmann::json out = result;
    if (!face.is_null()) out["face"] = face;  // with --detect-face: the box (x, y, w, h) in the frame it was found in
    std::cout << out.dump(1)
              << "\n";
  } else {
    std::cout << "live probability: " << std::fixed << std::setprecision(4) << live << "\n";
    std::cout << "decision: " << decision_text(predictor, decision) << "\n";
    std::cout << "mean reliability: rgb " << reliability["rgb"].get<double>() << ", depth "
              << reliability["depth"].get<double>() << ", ir " << reliability["ir"].get<double>() << "\n";
  }
}

// Frame folders or videos: every `stride`-th frame scored (face-cropped with --detect-face), one
// JSON line per frame on standard output, then one for the whole video (the mean of the frames'
// live probabilities, as `eval --per-video`), decided at the threshold.
void predict_frames(infer::Predictor& predictor, const PredictArgs& a, const infer::InferOptions& o,
                    std::array<std::optional<data::FrameSource>, 3>& sources) {
  const auto missing = o.missing_modalities();
  std::int64_t frames_total = -1;
  for (int m = 0; m < 3; ++m) {
    if (missing[m] || sources[m]->frame_count() < 0) continue;
    if (frames_total >= 0 && sources[m]->frame_count() != frames_total)
      throw Error("the modalities' frame counts differ (" + std::to_string(frames_total) + " vs " +
                  std::to_string(sources[m]->frame_count()) + " in " + sources[m]->path() +
                  "): predict reads registered, synchronized frames");
    frames_total = sources[m]->frame_count();
  }
  const Cropping cropping(a);
  Progress progress("predict", frames_total < 0 ? 0 : (frames_total + a.stride - 1) / a.stride);
  std::vector<std::array<torch::Tensor, 3>> batch;
  std::vector<std::int64_t> batch_frames;
  std::vector<nlohmann::ordered_json> batch_faces;
  double sum = 0;
  std::int64_t scored = 0, frame = 0, faceless = 0;
  const auto flush = [&] {
    if (batch.empty()) return;
    const auto p = predictor.predict_crops(batch, missing);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const double live = p.live_probability[static_cast<std::int64_t>(i)].item<double>();
      nlohmann::ordered_json line = {{"type", "frame"}, {"frame", batch_frames[i]}, {"live_probability", live},
                                     {"decision", p.live[i] ? "live" : "spoof"}};
      if (cropping.detects()) line["face"] = batch_faces[i];
      for (int m = 0; m < 3; ++m) line["reliability_" + std::string(model::modality_name(m))] = p.mean_reliability[m][static_cast<std::int64_t>(i)].item<double>();
      std::cout << line.dump() << "\n";
      sum += live;
      ++scored;
    }
    progress.update(scored + faceless);
    batch.clear();
    batch_frames.clear();
    batch_faces.clear();
  };
  for (;; ++frame) {
    std::array<cv::Mat, 3> frames;
    bool ended = false;
    for (int m = 0; m < 3; ++m) {
      if (missing[m]) continue;
      auto f = sources[m]->next();
      if (!f) ended = true;
      else frames[m] = std::move(*f);
    }
    if (ended) break;
    nlohmann::ordered_json face;
    if (const auto cropped = cropping.apply(frames, "frame " + std::to_string(frame), &face)) {
      std::array<torch::Tensor, 3> crops;
      for (int m = 0; m < 3; ++m)
        if (!missing[m]) crops[m] = data::image_from_mat(&(*cropped)[m], sources[m]->path() + " frame " + std::to_string(frame));
      batch.push_back(crops);
      batch_frames.push_back(frame);
      batch_faces.push_back(face);
      if (static_cast<std::int64_t>(batch.size()) >= o.batch_size) flush();
    } else {  // no face in this frame: said so, and the video goes on
      flush();  // the lines stay in frame order
      std::cout << nlohmann::ordered_json{{"type", "frame"}, {"frame", frame}, {"face", nullptr}}.dump() << "\n";
      ++faceless;
    }
    bool more = true;
    for (int m = 0; m < 3; ++m)
      if (!missing[m]) more = sources[m]->skip(a.stride - 1) && more;
    frame += a.stride - 1;
    if (!more) break;
  }
  flush();
  progress.finish();
  if (scored == 0)
    throw Error(faceless > 0 ? "no face found in any of the " + std::to_string(faceless) + " frames read" : "no frame to score");
  const double mean = sum / static_cast<double>(scored);
  nlohmann::ordered_json video{{"type", "video"}, {"frames", scored}};
  if (cropping.detects()) video["frames_without_face"] = faceless;  // read, not scored
  video["stride"] = a.stride;
  video["live_probability"] = mean;
  video["decision"] = mean >= predictor.scoring().threshold ? "live" : "spoof";
  video["threshold"] = predictor.scoring().threshold;
  video["threshold_source"] = predictor.scoring().threshold_source;
  std::cout << video.dump() << "\n";
}

void predict_list(infer::Predictor& predictor, const PredictArgs& a, const infer::InferOptions& o) {
  const auto missing = o.missing_modalities();
  const auto list = data::read_list(a.list);
  const auto size = predictor.options().backbone.image_size();
  const auto batch_size = static_cast<std::size_t>(o.batch_size);
  eval::Scores scores;
  eval::ScoresCsvColumns columns{{{"path", {}}}, {{"rel_rgb", {}}, {"rel_depth", {}}, {"rel_ir", {}}, {"live", {}}}};
  Progress progress("predict", static_cast<std::int64_t>(list.entries.size()));
  for (std::size_t start = 0; start < list.entries.size(); start += batch_size) {
    const std::size_t end = std::min(list.entries.size(), start + batch_size);
    std::array<std::vector<torch::Tensor>, 3> batch;
    for (std::size_t i = start; i < end; ++i) {
      auto sample = data::load_sample(list.entries[i], list.path, o.data_root, size, predictor.scoring().normalization);
      for (int m = 0; m < 3; ++m) batch[m].push_back(sample.inputs[m]);
    }
    const auto p = predictor.predict(torch::stack(batch[0]), torch::stack(batch[1]), torch::stack(batch[2]), missing);
    for (std::size_t i = start; i < end; ++i) {
      const auto k = static_cast<std::int64_t>(i - start);
      const auto& e = list.entries[i];
      columns.text[0].cells.push_back(e.rgb);
      scores.labels.push_back(e.label);
      scores.live_probability.push_back(p.live_probability[k].item<double>());
      if (!std::isfinite(scores.live_probability.back()))  // e.g. a sample holding NaN, inf or 1e30 values
        throw Error(list.path + ":" + std::to_string(e.line) + ": the score of '" + e.rgb +
                    "' is not finite (the sample holds non-finite or extreme values?); nothing was written");
      for (int m = 0; m < 3; ++m) columns.numbers[m].values.push_back(p.mean_reliability[m][k].item<double>());
      columns.numbers[3].values.push_back(p.live[k] ? 1 : 0);
    }
    progress.update(static_cast<std::int64_t>(end));
  }
  progress.finish();
  eval::write_scores_csv(a.out, scores, columns);
  if (a.out == "-") return;
  std::cout << "wrote " << a.out << " (" << list.entries.size() << " samples; live = 1 at threshold "
            << predictor.scoring().threshold << ", " << predictor.scoring().threshold_source << ")\n";
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Live probability and per-modality reliability of samples");
  cmd->add_option("--rgb", a->rgb, "RGB image");
  cmd->add_option("--depth", a->depth, "depth image (8- or 16-bit)");
  cmd->add_option("--ir", a->ir, "infrared image");
  cmd->add_option("--maps", a->maps,
                  "folder for overlays (PNG): each modality's reliability map and, with adapters, the last block's "
                  "adapter attention (Fig. 7)");
  cmd->add_option("--list", a->list, "score every line of a benchmark list into a CSV instead");
  cmd->add_option("--out", a->out, "CSV to write with --list (- for standard output)")->capture_default_str();
  cmd->add_option("--threshold", a->threshold,
                  "decide live when the live probability >= this (default: the checkpoint's, its source-val EER threshold)")
      ->check(unit_interval());
  cmd->add_flag("--json", a->json, "machine-readable output");
  cmd->add_flag("--detect-face", a->detect_face,
                "raw camera frames: find the face (OpenCV cascade, on RGB, or IR when RGB is dark) and crop all three");
  cmd->add_option("--face-cascade", a->face.cascade, "OpenCV cascade XML for --detect-face (default: opencv-data's frontal face)");
  cmd->add_option("--face-margin", a->face.margin, "margin added on each side of the detected face, as a fraction of its size")
      ->check(CLI::Range(0.0, 2.0))
      ->capture_default_str();
  cmd->add_option("--stride", a->stride, "with frame folders or videos: score every n-th frame")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--corrupt", a->corrupt,
                  "one sample: apply a stress corruption first (mmdg stress --list-corruptions), e.g. to see its reliability maps");
  cmd->add_option("--severity", a->severity, "with --corrupt: its severity in [0, 1]")->capture_default_str();
  auto infer = std::make_shared<SettingsOptions<infer::InferOptions>>(cmd, "Scoring");
  cmd->callback([a, infer] {
    infer::InferOptions o;
    infer->apply(o);
    if (o.checkpoint.empty()) throw UsageError("option --checkpoint is required");
    o.validate();
    infer::Predictor predictor = load_predictor(o, a->threshold);  // logs its notes
    if (!a->list.empty()) {
      if (!a->corrupt.empty()) throw UsageError("option --corrupt: one sample only (mmdg stress corrupts lists)");
      predict_list(predictor, *a, o);
      return;
    }
    const auto missing = o.missing_modalities();
    std::array<std::optional<data::FrameSource>, 3> sources;
    const std::array<const std::string*, 3> paths{&a->rgb, &a->depth, &a->ir};
    bool single = true;
    for (int m = 0; m < 3; ++m) {
      if (missing[m]) continue;
      if (paths[m]->empty())
        throw UsageError(std::string("option --") + model::modality_name(m) + " is required (or list it in --missing)");
      sources[m].emplace(*paths[m]);
      single = single && sources[m]->kind() == data::FrameSource::Kind::Image;
    }
    if (!a->corrupt.empty() && !single) throw UsageError("option --corrupt: one sample only (not with frame folders or videos)");
    if (single) {
      predict_one(predictor, *a, o, sources);
    } else {
      if (!a->maps.empty()) throw UsageError("option --maps: one sample only (not with frame folders or videos)");
      predict_frames(predictor, *a, o, sources);
    }
  });
}

}  // namespace mmdg::cli
