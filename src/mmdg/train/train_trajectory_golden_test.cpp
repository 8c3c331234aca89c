// A golden training trajectory: 20 steps of MMDG training over 2 epochs on the tiny network,
// compared step by step with the independent PyTorch reference of tests/golden/make_golden.py
// (reference_trajectory: float64, stored as float32 in mmdg_tiny_trajectory.safetensors). Unlike
// the one-step golden test (train_step_golden_test.cpp), this one runs the regrad strategy itself,
// with all the state it carries across steps: the prototypes it recomputes from a pass over the
// training set at each epoch's start (read from PNG files through the dataset, as in training), the
// running SSP losses that pick the fast modality, and Adam's moments. Compared after every step:
// the CE and SSP losses, the running SSP losses, the fast modality, the reliabilities and every
// trainable tensor; after every epoch's start: the prototypes.
//
// TrajectoryGolden.PerturbedStateUpdatesAreCaught shows the comparison can fail: a perturbed
// update of each kind of state (the running losses' momentum, the prototypes left at their first
// epoch's values, Adam's moments reset each epoch) moves the trajectory outside the tolerance.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "mmdg/data/dataset.h"
#include "mmdg/data/list_file.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/model/module_state.h"
#include "mmdg/model/network.h"
#include "mmdg/train/regrad_strategy.h"
#include "mmdg/train/strategy.h"
#include "mmdg/train/train_options.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

const char* const kModalities[] = {"rgb", "depth", "ir"};
constexpr double kAtol = 1e-4, kRtol = 1e-4;  // 20 float32 steps against float64 (the script checks its own float32 run uses < 1/4)

struct Golden {
  io::StateDict tensors;
  io::Metadata meta;
  const torch::Tensor& operator[](const std::string& name) const { return tensors[name]; }
  double number(const char* key) const { return std::stod(meta.at(key)); }
  std::int64_t integer(const char* key) const { return std::stoll(meta.at(key)); }
};

const Golden& golden() {
  static const Golden g = [] {
    Golden g;
    g.tensors = io::read_safetensors(test::golden("mmdg_tiny_trajectory.safetensors"), &g.meta);
    return g;
  }();
  return g;
}

// The 8-bit training set as the benchmark lists hold it: one PNG per modality and sample, one list
// per source ("rgb depth ir label" lines).
std::vector<std::string> write_training_set(const Golden& g, const test::TempDir& dir) {
  const auto rgb = g["data/rgb_u8"].contiguous(), depth = g["data/depth_u8"].contiguous(), ir = g["data/ir_u8"].contiguous();
  const auto labels = g["data/labels"], sources = g["data/sources"];
  const auto S = static_cast<int>(rgb.size(1));
  const auto num_sources = sources.max().item<std::int64_t>() + 1;
  std::vector<std::vector<data::ListEntry>> entries(static_cast<std::size_t>(num_sources));
  for (std::int64_t i = 0; i < rgb.size(0); ++i) {
    const std::string n = std::to_string(i);
    cv::Mat color(S, S, CV_8UC3, rgb[i].data_ptr<std::uint8_t>()), bgr;
    cv::cvtColor(color, bgr, cv::COLOR_RGB2BGR);
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

// A perturbation of one piece of the training state, for the test that the comparison can fail.
struct Perturbation {
  double loss_momentum_offset = 0;     // added to loss_momentum
  bool keep_first_prototypes = false;  // no recomputation after the first epoch
  bool reset_adam_each_epoch = false;  // a fresh optimizer per epoch
};

// The largest share of the tolerance used by each kind of quantity, and how many fast-modality
// choices differ.
struct Deviation {
  double losses = 0, running = 0, reliability = 0, prototypes = 0, weights = 0;
  int fast_mismatches = 0;
  double worst() const { return std::max({losses, running, reliability, prototypes, weights}); }
};

double share_of_tolerance(const torch::Tensor& got, const torch::Tensor& want) {
  const auto w = want.to(torch::kDouble), d = (got.to(torch::kDouble).reshape(w.sizes()) - w).abs();
  return (d / (kAtol + kRtol * w.abs())).max().item<double>();
}

Deviation run_trajectory(const Perturbation& perturb = {}) {
  const Golden& g = golden();
  test::TempDir dir;
  const auto lists = write_training_set(g, dir);
  const auto S = g["data/rgb_u8"].size(1);
  const data::MultiDomainDataset train_set(lists, dir.file(""), S,
                                           parse_enum<data::Normalization>(g.meta.at("normalization"), "normalization"));
  // the dataset's sample order is the golden file's (list 0's samples, then list 1's): check the inputs
  for (std::size_t i = 0; i < train_set.size(); ++i) {
    const auto ex = train_set.get(i);
    for (int m = 0; m < 3; ++m)
      EXPECT_TRUE(torch::allclose(ex.inputs[m], g[std::string("data/input_") + kModalities[m]][static_cast<std::int64_t>(i)], 0, 1e-6))
          << "sample " << i << " " << kModalities[m];
    EXPECT_EQ(ex.label, g["data/labels"][static_cast<std::int64_t>(i)].item<std::int64_t>());
    EXPECT_EQ(ex.domain, g["data/sources"][static_cast<std::int64_t>(i)].item<std::int64_t>());
  }

  auto o = model::NetworkOptions::preset(g.meta.at("preset"));
  o.estimator = parse_enum<model::Estimator>(g.meta.at("estimator"), "estimator");
  o.adapter_dropout = std::stod(g.meta.at("adapter_dropout"));
  o.freeze = parse_enum<model::Freeze>(g.meta.at("freeze"), "freeze");
  o.head = parse_enum<model::Head>(g.meta.at("head"), "head");
  model::Network net = model::make_network(o);
  model::load_state_dict(*net, model::from_released_layout(io::read_torch_checkpoint(test::golden(g.meta.at("weights")))),
                         /*strict=*/true, g.meta.at("weights"));

  TrainOptions t;
  t.strategy = "regrad";
  t.regrad = parse_enum<ReGradVariant>(g.meta.at("regrad"), "regrad");
  t.regrad_uncertainty = g.meta.at("regrad_uncertainty") == "true";
  t.prototype_update = parse_enum<PrototypeUpdate>(g.meta.at("prototype_update"), "prototype_update");
  t.ssp_weight = g.number("ssp_weight");
  t.loss_momentum = g.number("loss_momentum") + perturb.loss_momentum_offset;
  t.lr = g.number("lr");
  t.weight_decay = g.number("weight_decay");
  t.epochs = g.integer("epochs");
  t.workers = 0;
  StrategyContext context;
  context.num_sources = static_cast<std::int64_t>(lists.size());
  const auto strategy = make_strategy(t, *net, context);
  const auto* regrad = dynamic_cast<const ReGradStrategy*>(strategy.get());
  if (!regrad) {
    ADD_FAILURE() << "make_strategy(regrad) is not a ReGradStrategy";
    return {};
  }
  // the Trainer's optimizer (trainer.cpp): Adam over the trainable tensors, constant lr
  const auto trainable = trainable_tensors(*net);
  std::vector<std::string> names;
  for (const auto& p : net->named_parameters())
    if (p.value().requires_grad()) names.push_back(p.key());
  const auto adam = [&] {
    return std::make_unique<torch::optim::Adam>(
        trainable, torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay).eps(g.number("adam_eps")));
  };
  auto optimizer = adam();

  Deviation dev;
  const auto batches = g["data/batches"];
  std::int64_t step = 0;
  for (std::int64_t epoch = 0; epoch < t.epochs; ++epoch) {
    // the Trainer's epoch: the strategy's begin_epoch (the prototypes' pass), train mode, the steps
    if (!(perturb.keep_first_prototypes && epoch > 0)) strategy->begin_epoch(*net, train_set, epoch);
    if (perturb.reset_adam_each_epoch && epoch > 0) optimizer = adam();
    for (int m = 0; m < 3; ++m)
      dev.prototypes = std::max(dev.prototypes, share_of_tolerance(regrad->prototypes()[static_cast<std::size_t>(m)].values(),
                                                                   g["epoch" + std::to_string(epoch) + "/prototypes_" + kModalities[m]]));
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
      char key[16];
      std::snprintf(key, sizeof key, "step%02lld/", static_cast<long long>(step + 1));
      const std::string k = key;
      const auto log_tensor = [&](const char* field) {
        return torch::tensor(result.log.at(field).get<std::vector<double>>(), torch::kDouble);
      };
      dev.losses = std::max({dev.losses, share_of_tolerance(torch::tensor(result.log.at("loss_ce").get<double>()), g[k + "loss_ce"]),
                             share_of_tolerance(log_tensor("loss_ssp"), g[k + "loss_ssp"])});
      dev.running = std::max(dev.running, share_of_tolerance(log_tensor("running_ssp"), g[k + "running_ssp"]));
      dev.reliability = std::max(dev.reliability, share_of_tolerance(log_tensor("reliability"), g[k + "reliability"]));
      const std::string fast = result.log.at("fast").get<std::string>();
      if (fast != model::modality_name(static_cast<int>(g[k + "fast"].item<std::int64_t>()))) ++dev.fast_mismatches;
      for (std::size_t p = 0; p < trainable.size(); ++p)
        dev.weights = std::max(dev.weights, share_of_tolerance(trainable[p], g[k + names[p]]));
    }
    strategy->end_epoch();
  }
  return dev;
}

TEST(TrajectoryGolden, TwentyStepsOfMMDGTrainingFollowTheReference) {
  const Deviation d = run_trajectory();
  std::printf("share of the tolerance used: losses %.3g, running SSP %.3g, reliabilities %.3g, prototypes %.3g, weights %.3g\n",
              d.losses, d.running, d.reliability, d.prototypes, d.weights);
  EXPECT_EQ(d.fast_mismatches, 0);
  EXPECT_LT(d.losses, 1.0);
  EXPECT_LT(d.running, 1.0);
  EXPECT_LT(d.reliability, 1.0);
  EXPECT_LT(d.prototypes, 1.0);
  EXPECT_LT(d.weights, 1.0);
}

TEST(TrajectoryGolden, PerturbedStateUpdatesAreCaught) {
  Perturbation momentum;
  momentum.loss_momentum_offset = 0.1;
  const Deviation a = run_trajectory(momentum);
  EXPECT_GT(a.running, 1.0) << "a loss momentum 0.1 off passed the running-loss comparison";
  Perturbation stale;
  stale.keep_first_prototypes = true;
  const Deviation b = run_trajectory(stale);
  EXPECT_GT(b.prototypes, 1.0) << "prototypes not recomputed at the second epoch passed";
  EXPECT_GT(b.weights, 1.0) << "prototypes not recomputed at the second epoch left the weights within the tolerance";
  Perturbation adam;
  adam.reset_adam_each_epoch = true;
  const Deviation c = run_trajectory(adam);
  EXPECT_GT(c.weights, 1.0) << "Adam's moments reset at the second epoch passed";
  std::printf("perturbed: momentum -> running %.3g (fast mismatches %d); stale prototypes -> prototypes %.3g, weights %.3g; "
              "Adam reset -> weights %.3g\n",
              a.running, a.fast_mismatches, b.prototypes, b.weights, c.weights);
}

}  // namespace
}  // namespace mmdg::train
