// Golden training trajectories: 20 steps over 2 epochs on the tiny network, compared step by step
// with the independent PyTorch references of tests/golden/make_golden.py (reference_trajectory:
// float64, stored as float32), for two strategies that carry state from step to step:
// - mmdg (regrad): the prototypes recomputed from a pass over the training set at each epoch's
//   start, the running SSP losses that pick the fast modality, Adam's moments;
// - pmr: its class prototypes recomputed each epoch and blended with the previous ones, the
//   rebalancing weights of each step, the entropy term of the first epoch, Adam's moments;
// - iadg: the style bank (one style per class: no random Dirichlet draw), the warm-up epoch of CE
//   only, the covariance variances accumulated over an epoch and the whitening masks selected from
//   them at the next epoch's start (compared entry by entry), the restyled second forward.
// Unlike the one-step golden test (train_step_golden_test.cpp) this runs the strategy itself, the
// way the Trainer does (begin_epoch, train mode, step, Adam, after_step, end_epoch), with the
// training set read from PNG files through the dataset. Compared after every step: every field of
// the step's log the reference has (losses, running losses, fast modality, reliabilities; PMR's
// scores and weights; IADG's losses) and every trainable tensor; after every epoch's start, the
// prototypes (IADG: the masks).
//
// TrajectoryGolden.PerturbedStateUpdatesAreCaught shows the comparison can fail: a perturbed
// update of each kind of state (a momentum 0.1 off, IADG's whitening weight 0.1 off, the first
// epoch's prototypes or masks kept, Adam's moments reset at the second epoch) moves the trajectory
// outside the tolerance.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mmdg/data/dataset.h"
#include "mmdg/data/list_file.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/model/network.h"
#include "mmdg/train/golden_network_test_util.h"
#include "mmdg/train/iadg_strategy.h"
#include "mmdg/train/pmr_strategy.h"
#include "mmdg/train/regrad_strategy.h"
#include "mmdg/train/strategy.h"
#include "mmdg/train/train_options.h"
#include "mmdg/util/settings.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

const char* const kModalities[] = {"rgb", "depth", "ir"};
// 20 float32 steps against float64; the script checks that its own float32 run uses under 1/4
constexpr double kAtol = 1e-4, kRtol = 1e-4;

struct Golden {
  io::StateDict tensors;
  io::Metadata meta;
  const torch::Tensor& operator[](const std::string& name) const { return tensors[name]; }
  double number(const std::string& key) const { return std::stod(meta.at(key)); }
  std::int64_t integer(const std::string& key) const { return std::stoll(meta.at(key)); }
};

const Golden& golden(const std::string& file) {
  static std::map<std::string, Golden> cache;
  auto it = cache.find(file);
  if (it == cache.end()) {
    Golden g;
    g.tensors = io::read_safetensors(test::golden(file), &g.meta);
    it = cache.emplace(file, std::move(g)).first;
  }
  return it->second;
}

// The 8-bit training set as the benchmark lists hold it: one PNG per modality and sample, one list
// per source ("rgb depth ir label" lines).
std::vector<std::string> write_training_set(const Golden& g, const test::TempDir& dir) {
  const auto rgb = g["data/rgb_u8"].contiguous(), depth = g["data/depth_u8"].contiguous(), ir = g["data/ir_u8"].contiguous();
  const auto labels = g["data/labels"], sources = g["data/sources"];
  const auto S = static_cast<int>(rgb.size(1));
  std::vector<std::vector<data::ListEntry>> entries(static_cast<std::size_t>(sources.max().item<std::int64_t>() + 1));
  for (std::int64_t i = 0; i < rgb.size(0); ++i) {
    const std::string n = std::to_string(i);
    cv::Mat bgr;
    cv::cvtColor(cv::Mat(S, S, CV_8UC3, rgb[i].data_ptr<std::uint8_t>()), bgr, cv::COLOR_RGB2BGR);
    cv::imwrite(dir.file(n + "_rgb.png"), bgr);
    cv::imwrite(dir.file(n + "_depth.png"), cv::Mat(S, S, CV_8UC1, depth[i].data_ptr<std::uint8_t>()));
    cv::imwrite(dir.file(n + "_ir.png"), cv::Mat(S, S, CV_8UC1, ir[i].data_ptr<std::uint8_t>()));
    entries[static_cast<std::size_t>(sources[i].item<std::int64_t>())].push_back(
        data::ListEntry::images(n + "_rgb.png", n + "_depth.png", n + "_ir.png", static_cast<int>(labels[i].item<std::int64_t>())));
  }
  std::vector<std::string> lists;
  for (std::size_t s = 0; s < entries.size(); ++s) {
    lists.push_back(dir.file("source" + std::to_string(s) + ".txt"));
    data::write_list(lists.back(), entries[s]);
  }
  return lists;
}

// The run's options from the file's metadata: every entry named as a training option (the
// trainer's lr, weight decay, epochs; the strategy's), read as JSON (numbers, true / false) or else
// as text (enum names), through the options' own declaration.
TrainOptions options_of(const Golden& g) {
  const auto fields = settings::to_json(TrainOptions{});
  nlohmann::json given = nlohmann::json::object();
  for (const auto& [key, value] : g.meta) {
    if (!fields.contains(key)) continue;
    const auto parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    given[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  TrainOptions t;
  settings::from_json(t, given, "golden metadata");
  t.workers = 0;
  return t;
}

// A perturbation of one piece of the training state, for the test that the comparison can fail.
struct Perturbation {
  std::function<void(TrainOptions&)> options;  // e.g. a momentum changed
  bool keep_first_prototypes = false;          // no recomputation (prototypes, masks) after the first epoch
  bool reset_adam_each_epoch = false;          // a fresh optimizer per epoch
};

// The largest share of the tolerance used by the logged quantities, the prototypes and the
// weights, and how many logged strings (the fast modality) and mask entries (IADG) differ.
struct Deviation {
  double log = 0, prototypes = 0, weights = 0;
  int mismatches = 0;
  std::string worst_log;
};

double share_of_tolerance(const torch::Tensor& got, const torch::Tensor& want) {
  const auto w = want.to(torch::kDouble), d = (got.to(torch::kDouble).reshape(w.sizes()) - w).abs();
  return (d / (kAtol + kRtol * w.abs())).max().item<double>();
}

std::array<torch::Tensor, 3> prototypes_of(const Strategy& strategy) {
  if (const auto* r = dynamic_cast<const ReGradStrategy*>(&strategy)) {
    std::array<torch::Tensor, 3> out;
    for (std::size_t m = 0; m < 3; ++m) out[m] = r->prototypes()[m].values();
    return out;
  }
  return dynamic_cast<const PMRStrategy&>(strategy).prototypes();
}

// IADG's whitening masks of stream m (2, C, C) against the reference's: the entries that differ.
int mask_mismatches(const Strategy& strategy, const Golden& g, std::int64_t epoch) {
  const auto& masks = dynamic_cast<const IADGStrategy&>(strategy).masks();
  int differ = 0;
  for (std::int64_t m = 0; m < 3; ++m)
    differ += static_cast<int>(
        masks[m].ne(g["epoch" + std::to_string(epoch) + "/masks_" + kModalities[m]].to(torch::kBool)).sum().item<std::int64_t>());
  return differ;
}

Deviation run_trajectory(const std::string& file, const Perturbation& perturb = {}) {
  const Golden& g = golden(file);
  test::TempDir dir;
  const auto lists = write_training_set(g, dir);
  const data::MultiDomainDataset train_set(lists, dir.file(""), g["data/rgb_u8"].size(1),
                                           parse_enum<data::Normalization>(g.meta.at("normalization"), "normalization"));
  // the dataset's sample order is the file's (list 0's samples, then list 1's): check the inputs
  for (std::size_t i = 0; i < train_set.size(); ++i) {
    const auto ex = train_set.get(i);
    const auto row = static_cast<std::int64_t>(i);
    for (int m = 0; m < 3; ++m)
      EXPECT_TRUE(torch::allclose(ex.inputs[m], g[std::string("data/input_") + kModalities[m]][row], 0, 1e-6))
          << "sample " << i << " " << kModalities[m];
    EXPECT_EQ(ex.label, g["data/labels"][row].item<std::int64_t>());
    EXPECT_EQ(ex.domain, g["data/sources"][row].item<std::int64_t>());
  }

  model::Network net = golden_network(g.meta);
  TrainOptions t = options_of(g);
  if (perturb.options) perturb.options(t);
  StrategyContext context;
  context.num_sources = static_cast<std::int64_t>(lists.size());
  const auto strategy = make_strategy(t, *net, context);
  // the Trainer's optimizer (trainer.cpp): Adam over the trainable tensors, constant lr
  const auto trainable = trainable_tensors(*net);
  std::vector<std::string> names;
  for (const auto& p : net->named_parameters())
    if (p.value().requires_grad()) names.push_back(p.key());
  const auto adam = [&] {
    return std::make_unique<torch::optim::Adam>(trainable,
                                                torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay).eps(g.number("adam_eps")));
  };
  auto optimizer = adam();

  Deviation dev;
  const auto batches = g["data/batches"];
  std::int64_t step = 0;
  for (std::int64_t epoch = 0; epoch < t.epochs; ++epoch) {
    if (!(perturb.keep_first_prototypes && epoch > 0)) strategy->begin_epoch(*net, &train_set, epoch);
    if (perturb.reset_adam_each_epoch && epoch > 0) optimizer = adam();
    if (t.strategy == "iadg") {
      dev.mismatches += mask_mismatches(*strategy, g, epoch);
    } else {
      const auto prototypes = prototypes_of(*strategy);
      for (std::size_t m = 0; m < 3; ++m)
        dev.prototypes = std::max(dev.prototypes, share_of_tolerance(prototypes[m], g["epoch" + std::to_string(epoch) +
                                                                                        "/prototypes_" + kModalities[m]]));
    }
    net->train();
    for (std::int64_t s = 0; s < g.integer("steps_per_epoch"); ++s, ++step) {
      std::vector<torch::Tensor> images[3], labels, sources;
      for (std::int64_t k = 0; k < batches.size(1); ++k) {
        const auto ex = train_set.get(static_cast<std::size_t>(batches[step][k].item<std::int64_t>()));
        for (int m = 0; m < 3; ++m) images[m].push_back(ex.inputs[m]);
        labels.push_back(torch::tensor(static_cast<std::int64_t>(ex.label)));
        sources.push_back(torch::tensor(static_cast<std::int64_t>(ex.domain)));
      }
      TrainBatch b{torch::stack(images[0]), torch::stack(images[1]), torch::stack(images[2]), torch::stack(labels),
                   torch::stack(sources)};
      b.epoch = epoch;
      const StepResult result = strategy->step(*net, b);
      optimizer->step();
      strategy->after_step();
      const std::string key = (step + 1 < 10 ? "step0" : "step") + std::to_string(step + 1) + "/";  // "step07/"
      for (const auto& item : g.tensors) {  // every logged field the reference has for this step
        if (item.key().rfind(key + "log/", 0) != 0) continue;
        const std::string field = item.key().substr(key.size() + 4);
        const auto& logged = result.log.at(field);
        if (logged.is_string()) {  // the fast modality, by name
          if (logged.get<std::string>() != model::modality_name(static_cast<int>(item.value().item<std::int64_t>()))) ++dev.mismatches;
          continue;
        }
        const auto got = logged.is_array() ? torch::tensor(logged.get<std::vector<double>>(), torch::kDouble)
                                           : torch::tensor(logged.get<double>(), torch::kDouble);
        const double share = share_of_tolerance(got, item.value());
        if (share > dev.log) dev.log = share, dev.worst_log = item.key();
      }
      for (std::size_t p = 0; p < trainable.size(); ++p)
        dev.weights = std::max(dev.weights, share_of_tolerance(trainable[p], g[key + "weights/" + names[p]]));
    }
    strategy->end_epoch();
  }
  return dev;
}

const char* const kFiles[] = {"mmdg_tiny_trajectory.safetensors", "mmdg_tiny_pmr_trajectory.safetensors",
                              "mmdg_tiny_iadg_trajectory.safetensors"};

TEST(TrajectoryGolden, TwentyStepsOfTrainingFollowTheReference) {
  for (const char* file : kFiles) {
    const Deviation d = run_trajectory(file);
    std::printf("%s: share of the tolerance used: logged %.3g (%s), prototypes %.3g, weights %.3g\n", file, d.log,
                d.worst_log.c_str(), d.prototypes, d.weights);
    EXPECT_EQ(d.mismatches, 0) << file;
    EXPECT_LT(d.log, 1.0) << file << ": " << d.worst_log;
    EXPECT_LT(d.prototypes, 1.0) << file;
    EXPECT_LT(d.weights, 1.0) << file;
  }
}

TEST(TrajectoryGolden, PerturbedStateUpdatesAreCaught) {
  for (const char* file : kFiles) {
    const std::string strategy = golden(file).meta.at("strategy");
    const bool pmr = strategy == "pmr", iadg = strategy == "iadg";
    Perturbation knob;  // the running losses' (mmdg) or the prototypes' (pmr) momentum; iadg's whitening weight
    knob.options = [&](TrainOptions& t) {
      if (iadg) t.iadg.whitening_weight += 0.1;
      else (pmr ? t.pmr.prototype_momentum : t.loss_momentum) += 0.1;
    };
    const Deviation a = run_trajectory(file, knob);
    EXPECT_GT(pmr ? a.prototypes : iadg ? a.weights : a.log, 1.0) << file << ": a momentum or weight 0.1 off passed";
    Perturbation stale;
    stale.keep_first_prototypes = true;
    const Deviation b = run_trajectory(file, stale);
    if (iadg) {  // no masks selected for the second epoch: no whitening at all
      EXPECT_GT(b.mismatches, 0) << file << ": masks not selected at the second epoch passed";
      EXPECT_GT(b.log, 1.0) << file << ": masks not selected left the logged losses within the tolerance";
    } else {
      EXPECT_GT(b.prototypes, 1.0) << file << ": prototypes not recomputed at the second epoch passed";
    }
    EXPECT_GT(b.weights, 1.0) << file << ": prototypes or masks not recomputed left the weights within the tolerance";
    Perturbation adam;
    adam.reset_adam_each_epoch = true;
    const Deviation c = run_trajectory(file, adam);
    EXPECT_GT(c.weights, 1.0) << file << ": Adam's moments reset at the second epoch passed";
    std::printf("%s perturbed: knob -> logged %.3g, prototypes %.3g, weights %.3g (mismatches %d); stale prototypes / "
                "masks -> logged %.3g, prototypes %.3g, weights %.3g (mismatches %d); Adam reset -> weights %.3g\n",
                file, a.log, a.prototypes, a.weights, a.mismatches, b.log, b.prototypes, b.weights, b.mismatches, c.weights);
  }
}

}  // namespace
}  // namespace mmdg::train
