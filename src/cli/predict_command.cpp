// `mmdg predict`: live probability and reliability of one sample or of every line of a list.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
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
#include "mmdg/data/image.h"
#include "mmdg/data/sample.h"
#include "mmdg/eval/report.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/util/error.h"
#include "mmdg/util/progress.h"
#include "mmdg/viz/overlay.h"

namespace mmdg::cli {
namespace {

struct PredictArgs {
  std::string rgb, depth, ir, maps, list, out = "scores.csv";
  std::optional<double> threshold;
  bool json = false;
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

void predict_one(infer::Predictor& predictor, const PredictArgs& a, const infer::InferOptions& o) {
  const auto missing = o.missing_modalities();
  const auto norm = predictor.scoring().normalization;
  const auto size = predictor.options().backbone.image_size();
  std::array<torch::Tensor, 3> inputs;
  const std::array<const std::string*, 3> paths{&a.rgb, &a.depth, &a.ir};
  for (int m = 0; m < 3; ++m) {
    if (missing[m]) inputs[m] = torch::zeros({1, 3, size, size});
    else if (paths[m]->empty())
      throw Error(std::string("option --") + model::modality_name(m) + " is required (or list it in --missing)");
    else inputs[m] = data::prepare(data::read_image(*paths[m]), size, norm).unsqueeze(0);
  }
  const bool attention_maps = !a.maps.empty() && predictor.network().capabilities().adapters;
  const auto p = predictor.predict(inputs[0], inputs[1], inputs[2], missing, attention_maps);
  const double live = p.live_probability[0].item<double>();
  const bool decision = p.live[0];
  nlohmann::json reliability = nlohmann::json::object();
  for (int m = 0; m < 3; ++m) reliability[model::modality_name(m)] = p.mean_reliability[m][0].item<double>();
  if (!a.maps.empty() && !p.reliability_maps[0].defined())
    throw Error("option --maps: the " + predictor.options().network + " network has no uncertainty module, so no reliability maps");
  if (!a.maps.empty()) {
    std::filesystem::create_directories(a.maps);
    for (int m = 0; m < 3; ++m) {
      if (missing[m]) continue;
      const std::string path = (std::filesystem::path(a.maps) / (std::string(model::modality_name(m)) + "_reliability.png")).string();
      viz::write_map_overlay(path, data::denormalize(inputs[m][0], norm), p.reliability_maps[m][0]);
      if (!a.json) std::cout << "wrote " << path << "\n";
    }
    // Fig. 7's attention maps: for adapter a <- b (a's tokens query b's), the attention each of b's
    // patches receives (mean over heads and a's tokens), scaled to [0, 1] by its range, over b's image
    for (const auto& [key, weights] : p.attention) {  // key "a_b", weights (B, h, L, L)
      const int own = key[0] - '1', other = key[2] - '1';
      if (missing[other]) continue;
      const auto received = weights[0].mean(0).mean(0);  // (L)
      const auto patches = received.narrow(0, 1, received.size(0) - 1);
      const auto g = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(patches.size(0)))));
      const auto low = patches.min(), range = (patches.max() - low).clamp_min(1e-12);
      const auto map = ((patches - low) / range).view({g, g});  // min-max: the contrast between patches
      const std::string path = (std::filesystem::path(a.maps) / (std::string(model::modality_name(own)) + "_from_" +
                                                                 model::modality_name(other) + "_attention.png"))
                                   .string();
      // the overlay colours 1 - map (made for reliabilities): pass 1 - attention, so red = most attended
      viz::write_map_overlay(path, data::denormalize(inputs[other][0], norm), 1 - map);
      if (!a.json) std::cout << "wrote " << path << "\n";
    }
  }
  if (a.json) {
    std::cout << nlohmann::json{{"live_probability", live},
                                {"decision", decision ? "live" : "spoof"},
                                {"threshold", predictor.scoring().threshold},
                                {"threshold_source", predictor.scoring().threshold_source},
                                {"normalization", enum_name(norm)},
                                {"mean_reliability", reliability},
                                {"estimator", enum_name(predictor.options().estimator)}}
                     .dump(1)
              << "\n";
  } else {
    std::cout << "live probability: " << std::fixed << std::setprecision(4) << live << "\n";
    std::cout << "decision: " << decision_text(predictor, decision) << "\n";
    std::cout << "mean reliability: rgb " << reliability["rgb"].get<double>() << ", depth "
              << reliability["depth"].get<double>() << ", ir " << reliability["ir"].get<double>() << "\n";
  }
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
      for (int m = 0; m < 3; ++m) columns.numbers[m].values.push_back(p.mean_reliability[m][k].item<double>());
      columns.numbers[3].values.push_back(p.live[k] ? 1 : 0);
    }
    progress.update(static_cast<std::int64_t>(end));
  }
  progress.finish();
  eval::write_scores_csv(a.out, scores, columns);
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
  cmd->add_option("--out", a->out, "CSV to write with --list")->capture_default_str();
  cmd->add_option("--threshold", a->threshold,
                  "decide live when the live probability >= this (default: the checkpoint's, its source-val EER threshold)")
      ->check(unit_interval());
  cmd->add_flag("--json", a->json, "machine-readable output");
  auto infer = std::make_shared<SettingsOptions<infer::InferOptions>>(cmd, "Scoring");
  cmd->callback([a, infer] {
    infer::InferOptions o;
    infer->apply(o);
    if (o.checkpoint.empty()) throw Error("option --checkpoint is required");
    o.validate();
    std::optional<model::NetworkOptions> fallback;
    if (!o.config.empty()) fallback = load_model_config(o.config);
    infer::PredictorOptions po;
    po.device = o.torch_device();
    po.estimator = o.estimator_override();
    po.fallback = fallback;
    po.precision = o.precision;
    po.normalization = o.normalization_override();
    po.threshold = a->threshold;
    infer::Predictor predictor(o.checkpoint, po);
    for (const auto& note : predictor.notes()) std::cerr << note << "\n";
    if (!a->list.empty()) predict_list(predictor, *a, o);
    else predict_one(predictor, *a, o);
  });
}

}  // namespace mmdg::cli
