#include "mmdg/experiment/stress.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "mmdg/data/attack_type.h"
#include "mmdg/data/corruption.h"
#include "mmdg/data/dataset.h"
#include "mmdg/eval/attack_metrics.h"
#include "mmdg/eval/bootstrap.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/eval/metrics.h"
#include "mmdg/eval/report.h"
#include "mmdg/experiment/protocol.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/io/file_util.h"
#include "mmdg/model/uncertainty.h"
#include "mmdg/util/error.h"
#include "mmdg/util/enum_names.h"
#include "mmdg/util/hash.h"
#include "mmdg/util/json_text.h"
#include "mmdg/util/log.h"
#include "mmdg/util/progress.h"
#include "mmdg/train/run_dir.h"
#include "mmdg/train/trainer.h"
#include "mmdg/viz/plot.h"

namespace mmdg::experiment {
namespace fs = std::filesystem;

namespace {

// <out>/checkpoints.json: per checkpoint path, what stress needs of it besides its scores (written
// when it is scored), so that a checkpoint stressed before joins a later comparison without its
// weights (runs restored from scripts/reproduce_synthetic.sh's archive, which keeps no weights).
std::string records_path(const std::string& out) { return (fs::path(out) / "checkpoints.json").string(); }

nlohmann::json read_records(const std::string& out) {
  const auto path = records_path(out);
  if (!fs::exists(path)) return nlohmann::json::object();
  return parse_json(io::read_file(path), path + ": not valid JSON");
}

// The done.json of the run a checkpoint belongs to (<run>/best.safetensors), or null.
nlohmann::json run_done(const std::string& checkpoint) {
  const train::RunDir dir(fs::path(checkpoint).parent_path().string());
  return dir.is_done() ? dir.done_record() : nlohmann::json(nullptr);
}

// True when `records` hold the checkpoint of this finished run, as it is now (same done.json).
bool recorded(const nlohmann::json& records, const std::string& checkpoint) {
  return records.contains(checkpoint) && records[checkpoint].value("done", nlohmann::json()) == run_done(checkpoint);
}

}  // namespace

std::vector<std::pair<std::string, std::vector<std::string>>> stress_models(const StressArgs& a) {
  std::vector<std::pair<std::string, std::vector<std::string>>> models;
  const auto records = a.out.empty() ? nlohmann::json::object() : read_records(a.out);
  const auto add = [&](const std::string& name, const std::string& path) {
    if (!fs::exists(path) && !recorded(records, path))
      throw UsageError("option --checkpoint: " + path + " not found");
    for (auto& [title, paths] : models)
      if (title == name) return paths.push_back(path);
    models.push_back({name, {path}});
  };
  if (!a.protocol_dir.empty() && !a.checkpoints.empty())
    throw UsageError("options --checkpoint and --protocol-dir: give one of them");
  for (const auto& item : a.checkpoints) {
    const auto eq = item.find('=');
    if (eq != std::string::npos && eq > 0 && item.find('/') > eq) add(item.substr(0, eq), item.substr(eq + 1));
    else add(item, item);
  }
  if (!a.protocol_dir.empty()) {
    if (a.sub.empty()) throw UsageError("option --sub: give the sub-protocol folder with --protocol-dir, e.g. CPS-W");
    if (!fs::is_directory(a.protocol_dir)) throw UsageError("option --protocol-dir: " + a.protocol_dir + " is not a folder");
    std::vector<fs::path> methods;
    for (const auto& e : fs::directory_iterator(a.protocol_dir))
      if (e.is_directory()) methods.push_back(e.path());
    std::sort(methods.begin(), methods.end());
    // a finished run without its weights (results restored from an archive) joins when --out's
    // records hold it (it was stressed before, its stored scores are used); otherwise it would
    // silently leave the comparison: refused
    const auto weights = [&](const fs::path& run) {
      const train::RunDir dir(run.string());
      if (dir.is_done() && !fs::exists(dir.best())) {
        if (recorded(records, dir.best())) return true;
        throw UsageError("option --protocol-dir: " + run.string() + " is a finished run without its weights (" + dir.best() +
                         ") that " + (a.out.empty() ? std::string("--out") : a.out) +
                         " has not stressed before; train it again or leave it out");
      }
      return fs::exists(dir.best());
    };
    for (const auto& method : methods) {
      const std::string name = method.filename().string();
      if (weights(method / a.sub)) add(name, (method / a.sub / "best.safetensors").string());
      std::vector<std::pair<std::int64_t, fs::path>> seeds;
      for (const auto& e : fs::directory_iterator(method)) {
        const auto seed = seed_of_folder(e.path().filename().string());
        if (e.is_directory() && seed && weights(e.path() / a.sub)) seeds.emplace_back(*seed, e.path() / a.sub / "best.safetensors");
      }
      std::sort(seeds.begin(), seeds.end());
      for (const auto& [seed, path] : seeds) add(name, path.string());
    }
  }
  if (models.empty()) throw UsageError("option --checkpoint / --protocol-dir: no model found");
  return models;
}

namespace {

std::string severity_text(double s) {
  char text[16];
  std::snprintf(text, sizeof text, "%.2f", s);
  return text;
}

// One corruption at one severity for every checkpoint: the live probabilities (checkpoint-major),
// and for uncertainty networks with a local corruption the AUROC of 1 - U (value, low, high).
struct PointScores {
  std::vector<std::vector<double>> probability;  // [checkpoint][sample]
  std::vector<nlohmann::json> auroc;             // [checkpoint]: null, or {value, low, high}
};

// 1 - U of the corrupted modality's patches, labelled corrupted (1) or clean face (0), per sample.
struct PatchValues {
  std::vector<std::vector<double>> values;
  std::vector<std::vector<int>> corrupted;
};

nlohmann::json auroc_with_interval(const PatchValues& pv, const std::vector<int>& labels, std::int64_t resamples, std::uint64_t seed) {
  const auto gather = [&](const std::vector<std::size_t>& rows) {
    std::vector<double> v;
    std::vector<int> l;
    for (auto r : rows) {
      v.insert(v.end(), pv.values[r].begin(), pv.values[r].end());
      l.insert(l.end(), pv.corrupted[r].begin(), pv.corrupted[r].end());
    }
    return std::make_pair(v, l);
  };
  std::vector<std::size_t> all(labels.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto [v, l] = gather(all);
  const auto positives = std::count(l.begin(), l.end(), 1);
  if (positives == 0 || positives == static_cast<std::ptrdiff_t>(l.size())) return nullptr;
  eval::Scores ref;
  ref.labels = labels;
  ref.live_probability.assign(labels.size(), 0.5);
  std::vector<double> reps;
  for (const auto& rows : eval::UnitBootstrap(ref).draws(static_cast<int>(std::max<std::int64_t>(1, resamples / 5)), seed)) {
    const auto [rv, rl] = gather(rows);
    const auto p = std::count(rl.begin(), rl.end(), 1);
    if (p > 0 && p < static_cast<std::ptrdiff_t>(rl.size())) reps.push_back(eval::auc(rv, rl));
  }
  const auto interval = eval::percentile_interval(eval::auc(v, l), reps);
  return {{"value", interval.value}, {"low", interval.low}, {"high", interval.high}, {"patches", l.size()},
          {"corrupted_patches", positives}};
}

}  // namespace

nlohmann::json run_stress(const StressArgs& a) {
  if (a.list.empty()) throw UsageError("option --list: give the test list");
  if (a.out.empty()) throw UsageError("option --out: give an output folder");
  if (a.corruptions.empty()) throw UsageError("option --corruption: give at least one (see mmdg stress --list-corruptions)");
  if (a.severities.size() < 2) throw UsageError("option --severities: give at least two");
  for (double s : a.severities)
    if (!(s >= 0 && s <= 1)) throw UsageError("option --severities: " + std::to_string(s) + " is not in [0, 1]");
  if (!std::is_sorted(a.severities.begin(), a.severities.end()) ||
      std::adjacent_find(a.severities.begin(), a.severities.end()) != a.severities.end())
    throw UsageError("option --severities: give increasing values");
  if (a.resamples < 10) throw UsageError("option --resamples: at least 10");
  for (const auto& c : a.corruptions) data::corruption(c);
  const auto models = stress_models(a);
  fs::create_directories(a.out);

  // every checkpoint: loaded once where its weights are here, or else its record (it was
  // stressed before and its scores are stored); the records are kept for later comparisons
  infer::PredictorOptions po;
  po.device = infer::parse_device(a.device);
  po.draw_seed = static_cast<std::uint64_t>(a.seed);
  struct Member {
    std::string path;
    std::unique_ptr<infer::Predictor> predictor;  // null: no weights here
    // weights (FNV-1a of the file: the name of its stored scores), done (its run's done.json),
    // threshold, threshold_source, uncertainty, image_size, normalization
    nlohmann::json record;
  };
  auto records = read_records(a.out);
  std::vector<Member> members;
  std::vector<std::size_t> model_of;  // checkpoint -> model
  std::vector<std::string> paths;
  for (std::size_t m = 0; m < models.size(); ++m)
    for (const auto& path : models[m].second) {
      Member k{path, nullptr, nullptr};
      if (fs::exists(path)) {
        k.predictor = std::make_unique<infer::Predictor>(path, po);
        const auto& net = k.predictor->network();
        k.record = {{"weights", hex16(io::file_fnv1a(path))},
                    {"done", run_done(path)},
                    {"threshold", k.predictor->scoring().threshold},
                    {"threshold_source", k.predictor->scoring().threshold_source},
                    {"uncertainty", net.capabilities().uncertainty},
                    {"image_size", net.options().backbone.image_size()},
                    {"normalization", enum_name(k.predictor->scoring().normalization)}};
        records[path] = k.record;
      } else {
        k.record = records.at(path);  // stress_models checked that it is there
      }
      members.push_back(std::move(k));
      model_of.push_back(m);
      paths.push_back(path);
    }
  io::write_file_atomically(records_path(a.out), [&](std::ostream& o) { o << records.dump(1) << "\n"; });
  const auto K = members.size();
  const auto threshold = [&](std::size_t k) { return members[k].record["threshold"].get<double>(); };
  const auto S = members[0].record["image_size"].get<std::int64_t>();
  const auto normalization_name = members[0].record["normalization"].get<std::string>();
  for (std::size_t k = 1; k < K; ++k)
    if (members[k].record["image_size"].get<std::int64_t>() != S || members[k].record["normalization"] != normalization_name)
      throw UsageError("option --checkpoint: " + paths[k] + " takes another input size or normalization than " + paths[0] +
                       "; stress compares models on the same inputs");
  const auto normalization = parse_enum<data::Normalization>(normalization_name, records_path(a.out) + ": normalization");
  const data::MultiDomainDataset dataset({a.list}, a.data_root, S, normalization);
  const auto N = dataset.size();
  eval::Scores reference;  // labels, videos and attack types of the test samples
  for (std::size_t i = 0; i < N; ++i) {
    reference.labels.push_back(dataset.label(i));
    reference.live_probability.push_back(0.5);
    reference.videos.push_back(eval::video_key(dataset.entry(i).rgb));
    reference.attacks.push_back(data::attack_type(dataset.entry(i)));
  }
  std::vector<std::uint64_t> keys(N);
  for (std::size_t i = 0; i < N; ++i) keys[i] = eval::sample_draw_key(dataset.entry(i));

  // 1. scores: per corruption, severity and checkpoint (named by its weights' hash), resumable
  std::map<std::string, std::vector<PointScores>> points;  // corruption -> per severity
  const auto total = static_cast<std::int64_t>(a.corruptions.size() * a.severities.size() * N);
  Progress progress("stress", total);
  std::int64_t done = 0;
  for (const auto& name : a.corruptions) {
    const auto& info = data::corruption(name);
    for (std::size_t si = 0; si < a.severities.size(); ++si) {
      const double s = a.severities[si];
      const fs::path dir = fs::path(a.out) / "scores" / name / ("s" + severity_text(s));
      const auto file_of = [&](std::size_t k) { return dir / (members[k].record["weights"].get<std::string>() + ".json"); };
      PointScores p;
      p.probability.assign(K, std::vector<double>(N));
      p.auroc.assign(K, nullptr);
      std::vector<std::size_t> todo;  // the checkpoints to score at this point
      for (std::size_t k = 0; k < K; ++k) {
        const auto file = file_of(k);
        if (fs::exists(file)) {
          const auto j = parse_json(io::read_file(file.string()), file.string() + ": not valid JSON");
          if (j.value("list", std::string()) == a.list && j.value("seed", std::int64_t{-1}) == a.seed &&
              j.at("probability").size() == N) {
            p.probability[k] = j.at("probability").get<std::vector<double>>();
            p.auroc[k] = j.at("auroc");
            continue;
          }
          log::info(file.string() + ": scored on another list or seed; scoring again");
        }
        if (!members[k].predictor)
          throw Error(paths[k] + ": not here, and " + file.string() + " holds no scores of it on this list and seed");
        todo.push_back(k);
      }
      if (todo.empty()) {
        progress.update(done += static_cast<std::int64_t>(N));
        points[name].push_back(std::move(p));
        continue;
      }
      std::vector<PatchValues> patches(K, PatchValues{std::vector<std::vector<double>>(N), std::vector<std::vector<int>>(N)});
      std::vector<bool> has_uncertainty(K);
      for (std::size_t k = 0; k < K; ++k) has_uncertainty[k] = info.local && members[k].record["uncertainty"].get<bool>();
      torch::NoGradGuard no_grad;
      for (std::size_t start = 0; start < N; start += static_cast<std::size_t>(a.batch_size)) {
        if (train::interrupt_requested()) throw Error("stress: interrupted; the finished corruption levels are kept in " + a.out);
        const std::size_t end = std::min(N, start + static_cast<std::size_t>(a.batch_size));
        std::array<std::vector<torch::Tensor>, 3> inputs;
        std::vector<torch::Tensor> masks, valid;
        std::vector<std::uint64_t> batch_keys;
        for (std::size_t i = start; i < end; ++i) {
          auto ex = dataset.get(i);
          const int m = info.modality;
          // the corruption's own draw: the sample, the corruption and the severity (the same for every model)
          const std::uint64_t seed = model::draw_key(std::to_string(keys[i]) + "/" + name + "/" + severity_text(s) + "/" +
                                                     std::to_string(a.seed));
          const auto raw = info.normalized ? ex.inputs[m] : data::denormalize(ex.inputs[m], normalization);
          data::Corrupted c;
          if (s > 0) {  // s = 0: the clean input itself (no round trip through the normalization)
            c = data::corrupt(name, raw, s, seed);
            ex.inputs[m] = info.normalized ? c.image : data::normalize(c.image, normalization);
          }
          for (int q = 0; q < 3; ++q) inputs[q].push_back(ex.inputs[q]);
          masks.push_back(c.mask.defined() ? c.mask.to(torch::kFloat) : torch::zeros({S, S}));
          valid.push_back(m == 1 ? (raw[0] > 0.5 / 255).to(torch::kFloat) : torch::ones({S, S}));
          batch_keys.push_back(keys[i]);
        }
        const auto rgb = torch::stack(inputs[0]).to(po.device), depth = torch::stack(inputs[1]).to(po.device),
                   ir = torch::stack(inputs[2]).to(po.device);
        for (const auto k : todo) {
          const model::KeyedDraws draws(static_cast<std::uint64_t>(a.seed), batch_keys);
          auto& net = members[k].predictor->network();
          const auto out = net.forward(rgb, depth, ir, model::ForwardOptions());
          const auto prob = torch::softmax(out.logits, -1).select(1, 1).to(torch::kCPU, torch::kDouble).contiguous();
          std::copy_n(prob.data_ptr<double>(), end - start, p.probability[k].begin() + static_cast<std::ptrdiff_t>(start));
          if (!has_uncertainty[k] || !out.reliability[info.modality].defined()) continue;
          const auto u_tensor = out.reliability[info.modality].to(torch::kCPU, torch::kDouble);  // (B, 1 + g*g)
          const auto g = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(u_tensor.size(1) - 1))));
          const auto pool = [&](const std::vector<torch::Tensor>& maps) {  // (B, g*g): the share of each patch
            return torch::adaptive_avg_pool2d(torch::stack(maps).unsqueeze(1), {g, g}).view({-1, g * g}).to(torch::kDouble);
          };
          const auto corrupted_tensor = pool(masks), valid_tensor = pool(valid);
          const auto u = u_tensor.accessor<double, 2>();
          const auto corrupted_share = corrupted_tensor.accessor<double, 2>(), valid_share = valid_tensor.accessor<double, 2>();
          for (std::size_t i = start; i < end; ++i) {
            const auto b = static_cast<std::int64_t>(i - start);
            for (std::int64_t t = 0; t < g * g; ++t) {
              const double share = corrupted_share[b][t];
              const bool corrupted = share > 0.5, clean = share < 0.1 && valid_share[b][t] >= 0.5;
              if (!corrupted && !clean) continue;
              patches[k].values[i].push_back(1 - u[b][1 + t]);
              patches[k].corrupted[i].push_back(corrupted ? 1 : 0);
            }
          }
        }
        progress.update(done += static_cast<std::int64_t>(end - start));
      }
      fs::create_directories(dir);
      for (const auto k : todo) {
        if (has_uncertainty[k] && s > 0)
          p.auroc[k] = auroc_with_interval(patches[k], reference.labels, a.resamples, static_cast<std::uint64_t>(a.seed));
        const nlohmann::json j = {{"checkpoint", paths[k]}, {"list", a.list}, {"seed", a.seed},
                                  {"probability", p.probability[k]}, {"auroc", p.auroc[k]}};
        io::write_file_atomically(file_of(k).string(), [&](std::ostream& o) { o << j.dump() << "\n"; });
      }
      points[name].push_back(std::move(p));
    }
  }
  progress.finish();

  // 2. metrics with bootstrap intervals: the same video draws for every model, severity and corruption
  const eval::UnitBootstrap bootstrap(reference);
  const auto draws = bootstrap.draws(static_cast<int>(a.resamples), static_cast<std::uint64_t>(a.seed));
  // one curve's scores: [severity][checkpoint], the reference's labels, videos and attack types
  const auto scores_of = [&](const std::vector<PointScores>& curve) {
    std::vector<std::vector<eval::Scores>> scored(curve.size());
    for (std::size_t si = 0; si < curve.size(); ++si)
      for (const auto& probability : curve[si].probability) {
        scored[si].push_back(reference);
        scored[si].back().live_probability = probability;
      }
    return scored;
  };
  enum Metric { kDeployed, kEer, kAuc, kMetrics };
  const char* metric_names[kMetrics] = {"hter_deployed", "hter_target_eer", "auc"};
  // stat[model][severity][metric] on the rows of one draw (nullptr: every sample), the mean over
  // each model's checkpoints
  const auto statistics = [&](const std::vector<std::vector<eval::Scores>>& scored, const std::vector<std::size_t>* rows) {
    std::vector<std::vector<std::array<double, kMetrics>>> out(models.size(),
                                                               std::vector<std::array<double, kMetrics>>(a.severities.size()));
    std::vector<int> count(models.size(), 0);
    for (std::size_t k = 0; k < K; ++k) ++count[model_of[k]];
    for (std::size_t si = 0; si < scored.size(); ++si)
      for (std::size_t k = 0; k < K; ++k) {
        const auto s = rows ? eval::pick_rows(scored[si][k], *rows) : scored[si][k];
        auto& cell = out[model_of[k]][si];
        const double n = count[model_of[k]];
        cell[kDeployed] += eval::at_threshold(s.live_probability, s.labels, threshold(k)).hter / n;
        cell[kEer] += eval::target_eer_hter(s) / n;
        cell[kAuc] += eval::auc(s.live_probability, s.labels) / n;
      }
    return out;
  };
  const auto area = [&](const std::vector<std::array<double, kMetrics>>& curve, int metric) {
    double sum = 0;
    for (std::size_t si = 1; si < curve.size(); ++si)
      sum += (a.severities[si] - a.severities[si - 1]) * (curve[si][metric] + curve[si - 1][metric]) / 2;
    return sum / (a.severities.back() - a.severities.front());
  };
  // the degradation: the area of the curve's rise over its first (least severe) point
  const auto degradation = [&](const std::vector<std::array<double, kMetrics>>& curve, int metric) {
    return area(curve, metric) - curve.front()[metric];
  };
  nlohmann::json result = {{"list", a.list},
                           {"data_root", a.data_root},
                           {"test_samples", N},
                           {"live_units", bootstrap.live_units()},
                           {"spoof_units", bootstrap.spoof_units()},
                           {"units", bootstrap.units()},
                           {"resamples", a.resamples},
                           {"seed", a.seed},
                           {"severities", a.severities},
                           {"models", nlohmann::json::array()},
                           {"corruptions", nlohmann::json::object()}};
  for (std::size_t m = 0; m < models.size(); ++m) {
    nlohmann::json thresholds = nlohmann::json::array();
    for (std::size_t k = 0; k < K; ++k)
      if (model_of[k] == m)
        thresholds.push_back({{"checkpoint", paths[k]}, {"threshold", threshold(k)},
                              {"threshold_source", members[k].record["threshold_source"]}});
    result["models"].push_back({{"name", models[m].first}, {"checkpoints", thresholds}});
  }
  std::ostringstream md, csv;
  md << "# Stress test\n\nTest list `" << a.list << "`: " << N << " samples (" << bootstrap.live_units() << " live and "
     << bootstrap.spoof_units() << " attack " << bootstrap.units()
     << "). Each model's numbers are the mean over its checkpoints (seeds); [95 % CI]: percentile bootstrap over the test "
     << bootstrap.units() << " (" << a.resamples
     << " draws, stratified by class, the same draws for every model and severity). HTER at each model's deployed "
        "threshold (the one its checkpoint records); area: the mean of that HTER over the severities (trapezoids); "
        "degradation: the area minus the HTER at the least severity (how much the corruption adds).\n";
  csv << "corruption,severity,model,metric,value,low,high\n";
  for (const auto& name : a.corruptions) {
    const auto& info = data::corruption(name);
    const auto& curve = points[name];
    const auto scored = scores_of(curve);
    const auto observed = statistics(scored, nullptr);
    std::vector<std::vector<std::vector<std::array<double, kMetrics>>>> reps;
    reps.reserve(draws.size());
    for (const auto& rows : draws) reps.push_back(statistics(scored, &rows));
    nlohmann::json cj = {{"modality", model::modality_name(info.modality)}, {"severity", info.severity}, {"local", info.local},
                         {"models", nlohmann::json::object()}};
    md << "\n## " << name << " (" << model::modality_name(info.modality) << ")\n\ns: " << info.severity << ".\n\n| model |";
    for (double s : a.severities) md << " s = " << severity_text(s) << " |";
    md << " area | degradation |\n|---|";
    for (std::size_t i = 0; i <= a.severities.size() + 1; ++i) md << "---|";
    md << "\n";
    std::vector<viz::Series> series;
    for (std::size_t m = 0; m < models.size(); ++m) {
      nlohmann::json mj = nlohmann::json::object();
      viz::Series line(models[m].first, a.severities, {});
      line.markers = true;
      md << "| " << models[m].first << " |";
      for (int metric = 0; metric < kMetrics; ++metric) {
        nlohmann::json values = nlohmann::json::array();
        for (std::size_t si = 0; si < a.severities.size(); ++si) {
          std::vector<double> r;
          for (const auto& rep : reps) r.push_back(rep[m][si][metric]);
          const auto iv = eval::percentile_interval(observed[m][si][metric], r);
          values.push_back({{"value", iv.value}, {"low", iv.low}, {"high", iv.high}});
          csv << name << "," << severity_text(a.severities[si]) << "," << eval::csv_cell(models[m].first) << ","
              << metric_names[metric] << "," << iv.value << "," << iv.low << "," << iv.high << "\n";
          if (metric == kDeployed) {
            line.y.push_back(100 * iv.value);
            line.y_low.push_back(100 * iv.low);
            line.y_high.push_back(100 * iv.high);
            md << " " << eval::percent_text(iv.value) << " [" << eval::percent_text(iv.low) << ", " << eval::percent_text(iv.high) << "] |";
          }
        }
        mj[metric_names[metric]] = values;
        if (metric != kAuc) {
          std::vector<double> r;
          for (const auto& rep : reps) r.push_back(area(rep[m], metric));
          const auto iv = eval::percentile_interval(area(observed[m], metric), r);
          mj[std::string("area_") + metric_names[metric]] = {{"value", iv.value}, {"low", iv.low}, {"high", iv.high}};
          csv << name << ",area," << eval::csv_cell(models[m].first) << "," << metric_names[metric] << "," << iv.value << ","
              << iv.low << "," << iv.high << "\n";
          std::vector<double> rd;
          for (const auto& rep : reps) rd.push_back(degradation(rep[m], metric));
          const auto dv = eval::percentile_interval(degradation(observed[m], metric), rd);
          mj[std::string("degradation_") + metric_names[metric]] = {{"value", dv.value}, {"low", dv.low}, {"high", dv.high}};
          csv << name << ",degradation," << eval::csv_cell(models[m].first) << "," << metric_names[metric] << "," << dv.value
              << "," << dv.low << "," << dv.high << "\n";
          if (metric == kDeployed)
            md << " " << eval::percent_text(iv.value) << " [" << eval::percent_text(iv.low) << ", " << eval::percent_text(iv.high)
               << "] | " << eval::percent_text(dv.value) << " [" << eval::percent_text(dv.low) << ", "
               << eval::percent_text(dv.high) << "] |\n";
        }
      }
      // per-attack APCER at the deployed threshold (observed; mean over the checkpoints)
      nlohmann::json apcer = nlohmann::json::array();
      for (std::size_t si = 0; si < a.severities.size(); ++si) {
        std::map<std::string, double> species;
        int n = 0;
        for (std::size_t k = 0; k < K; ++k) {
          if (model_of[k] != m) continue;
          ++n;
          const auto& s = scored[si][k];
          for (const auto& e : eval::attack_metrics(s.live_probability, s.labels, s.attacks, threshold(k)).species)
            species[e.species] += e.apcer;
        }
        nlohmann::json row = nlohmann::json::object();
        for (const auto& [sp, sum] : species) row[sp] = sum / n;
        apcer.push_back(row);
      }
      mj["apcer_deployed"] = apcer;
      // the uncertainty's view of the corruption
      nlohmann::json au = nlohmann::json::array();
      for (std::size_t si = 0; si < a.severities.size(); ++si) {
        nlohmann::json per = nlohmann::json::array();
        for (std::size_t k = 0; k < K; ++k)
          if (model_of[k] == m) per.push_back(curve[si].auroc[k]);
        au.push_back(per);
      }
      mj["uncertainty_auroc"] = au;
      cj["models"][models[m].first] = mj;
      series.push_back(std::move(line));
    }
    // every pair: the differences of the areas and of the degradations (deployed-threshold HTER)
    nlohmann::json pairs = nlohmann::json::array();
    if (models.size() > 1)
      md << "\nDifferences between models (percentage points, deployed-threshold HTER; negative: the first is lower):\n\n";
    for (std::size_t x = 0; x < models.size(); ++x)
      for (std::size_t y = x + 1; y < models.size(); ++y) {
        nlohmann::json pair = {{"a", models[x].first}, {"b", models[y].first}};
        for (const char* what : {"area", "degradation"}) {
          const auto stat = [&](const std::vector<std::array<double, kMetrics>>& curve) {
            return std::string(what) == "area" ? area(curve, kDeployed) : degradation(curve, kDeployed);
          };
          std::vector<double> r;
          for (const auto& rep : reps) r.push_back(stat(rep[x]) - stat(rep[y]));
          const auto iv = eval::percentile_interval(stat(observed[x]) - stat(observed[y]), r);
          pair[what] = {{"value", iv.value}, {"low", iv.low}, {"high", iv.high}};
          md << "- " << what << ", " << models[x].first << " - " << models[y].first << ": " << eval::percent_text(iv.value)
             << " [" << eval::percent_text(iv.low) << ", " << eval::percent_text(iv.high) << "]"
             << (iv.low <= 0 && iv.high >= 0 ? " (inside the noise)" : "") << "\n";
          csv << name << "," << what << "_difference," << eval::csv_cell(models[x].first + " - " + models[y].first)
              << ",hter_deployed," << iv.value << "," << iv.low << "," << iv.high << "\n";
        }
        pairs.push_back(pair);
      }
    cj["differences"] = pairs;
    if (info.local) {
      md << "\nAUROC of 1 - U ranking the corrupted " << model::modality_name(info.modality)
         << " patches above its clean face patches (per checkpoint; [95 % CI] over samples):\n\n";
      for (std::size_t m = 0; m < models.size(); ++m)
        for (std::size_t si = 0; si < a.severities.size(); ++si)
          for (const auto& v : cj["models"][models[m].first]["uncertainty_auroc"][si])
            if (!v.is_null())
              md << "- " << models[m].first << ", s = " << severity_text(a.severities[si]) << ": " << eval::percent_text(v["value"].get<double>())
                 << " [" << eval::percent_text(v["low"].get<double>()) << ", " << eval::percent_text(v["high"].get<double>()) << "]\n";
    }
    result["corruptions"][name] = cj;
    viz::LinePanel panel;
    panel.title = name + " (" + model::modality_name(info.modality) + ")";
    panel.x_label = "severity";
    panel.y_label = "HTER (%) at the deployed threshold";
    panel.series = std::move(series);
    panel.legend = viz::LegendAt::top_left;
    viz::write_figure((fs::path(a.out) / ("stress_" + name + ".png")).string(), viz::Figure({panel}));
  }
  io::write_file_atomically((fs::path(a.out) / "stress.json").string(), [&](std::ostream& o) { o << result.dump(1) << "\n"; });
  io::write_file_atomically((fs::path(a.out) / "stress.csv").string(), [&](std::ostream& o) { o << csv.str(); });
  io::write_file_atomically((fs::path(a.out) / "stress.md").string(), [&](std::ostream& o) { o << md.str(); });
  return result;
}

}  // namespace mmdg::experiment
