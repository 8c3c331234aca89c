// What a GPU run must reproduce of the CPU's: every network's inference, a training step of every
// network (and the paper's ReGrad step), and a whole training run interrupted, resumed, saved and
// scored with a missing modality. scripts/gpu_check.sh runs these on CUDA.
//
// The device is MMDG_TEST_DEVICE (default "cuda"; the tests skip when it is not there).
// MMDG_TEST_DEVICE=cpu runs the same comparisons CPU against CPU: it checks the tests themselves
// where there is no GPU (scripts/gpu_check.sh --dry-run), not the device.
//
// Tolerances (float32, TF32 off, tiny networks whose outputs are of order 1): inference 1e-4
// absolute; a gradient tensor within 1e-3 of its own largest element (plus 1e-6), the loss within
// 1e-4 relative. A GPU sums in another order than the CPU (atomics, other blockings), which moves
// float32 results by about 1e-6 relative at this size; a wrong kernel or a state left on the wrong
// device moves them by far more.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "mmdg/data/dataset.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/model/network.h"
#include "mmdg/model/network_options.h"
#include "mmdg/model/uncertainty.h"
#include "mmdg/train/step_test_util.h"
#include "mmdg/train/strategy.h"
#include "mmdg/train/tiny_benchmark_test_util.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/runtime.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

// The device under test, or nullopt (the test skips) when it is not there.
std::optional<torch::Device> test_device() {
  const char* name = std::getenv("MMDG_TEST_DEVICE");
  const torch::Device device(name && *name ? name : "cuda");
  if (device.is_cuda() && !torch::cuda::is_available()) return std::nullopt;
  return device;
}

#define MMDG_REQUIRE_TEST_DEVICE(var)                                                              \
  const auto var##_or = test_device();                                                             \
  if (!var##_or) GTEST_SKIP() << "no CUDA device (MMDG_TEST_DEVICE=cpu compares the CPU with itself)"; \
  const torch::Device var = *var##_or;                                                             \
  configure_numerics(var.is_cuda(), /*deterministic=*/false, /*tf32=*/false)

model::NetworkOptions tiny(const std::string& network, model::Estimator estimator) {
  auto o = model::NetworkOptions::preset("mmdg_tiny");
  o.network = network;
  o.estimator = estimator;
  return o;
}

// Largest absolute element difference of two tensors (either device), as a double.
double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.detach().to(torch::kCPU, torch::kDouble) - b.detach().to(torch::kCPU, torch::kDouble)).abs().max().item<double>();
}

// Every registered network in evaluation mode with its default (sampled, binomial) estimator: the
// draws are keyed by sample (KeyedDraws), so the device does not change them, and the logits,
// features and reliabilities agree.
TEST(DeviceParity, EveryNetworksInferenceMatchesTheCPU) {
  MMDG_REQUIRE_TEST_DEVICE(device);
  for (const auto& entry : model::network_registry()) {
    torch::manual_seed(11);
    auto net = model::make_network(tiny(entry.name, model::Estimator::Binomial));
    net->eval();
    const auto S = net->options().backbone.image_size();
    const auto rgb = torch::randn({3, 3, S, S}), depth = torch::randn({3, 3, S, S}), ir = torch::randn({3, 3, S, S});
    const std::vector<std::uint64_t> keys{model::draw_key("a"), model::draw_key("b"), model::draw_key("c")};
    const auto run = [&](torch::Device d) {
      torch::NoGradGuard no_grad;
      model::KeyedDraws draws(7, keys);
      return net->forward(rgb.to(d), depth.to(d), ir.to(d));
    };
    const auto on_cpu = run(torch::kCPU);
    net->to(device);
    const auto on_device = run(device);
    EXPECT_LT(max_diff(on_cpu.logits, on_device.logits), 1e-4) << entry.name;
    for (int m = 0; m < 3; ++m) {
      EXPECT_LT(max_diff(on_cpu.features[m], on_device.features[m]), 1e-4) << entry.name << " modality " << m;
      ASSERT_EQ(on_cpu.class_reliability[m].defined(), on_device.class_reliability[m].defined()) << entry.name;
      if (on_cpu.reliability[m].defined()) {
        EXPECT_LT(max_diff(on_cpu.reliability[m], on_device.reliability[m]), 1e-4) << entry.name << " modality " << m;
      }
    }
    EXPECT_EQ(on_device.logits.device(), device) << entry.name;
  }
}

// One network, its strategy and a batch of 8 (2 sources x live / spoof) on a device; the same
// seed makes the same weights and batch on every device.
struct Step {
  model::Network net{nullptr};
  std::unique_ptr<Strategy> strategy;
  TrainBatch batch;
  StepResult result;
  Step(const std::string& network, const std::string& strategy_name, torch::Device device) {
    torch::manual_seed(5);
    net = model::make_network(tiny(network, model::Estimator::Expected));  // deterministic; no dropout
    net->to(device);
    net->train();
    TrainOptions t;
    t.strategy = strategy_name;
    t.epochs = 2;
    StrategyContext context;
    context.num_sources = 2;
    context.device = device;
    strategy = make_strategy(t, *net, context);
    batch = tiny_batch(net->options().backbone.image_size(), device);
    result = strategy->step(*net, batch);
    strategy->after_step();
  }
};

// A training step (the loss and the gradient of every trainable tensor) of every network with
// cross-entropy, and of the paper's method (ReGrad on ViT + U-Adapter), on the device and on the CPU.
TEST(DeviceParity, ATrainingStepOfEveryNetworkMatchesTheCPU) {
  MMDG_REQUIRE_TEST_DEVICE(device);
  std::vector<std::pair<std::string, std::string>> cases;
  for (const auto& entry : model::network_registry()) cases.emplace_back(entry.name, "ce");
  cases.emplace_back("vit-uadapter", "regrad");
  for (const auto& [network, strategy] : cases) {
    const auto what = network + "+" + strategy;
    const Step on_cpu(network, strategy, torch::kCPU), on_device(network, strategy, device);
    ASSERT_TRUE(std::isfinite(on_cpu.result.loss)) << what;
    EXPECT_NEAR(on_device.result.loss, on_cpu.result.loss, 1e-4 * std::max(1.0, std::abs(on_cpu.result.loss))) << what;
    const auto a = on_cpu.net->named_parameters(), b = on_device.net->named_parameters();
    int compared = 0;
    for (const auto& item : a) {
      const auto& g = item.value().grad();
      const auto& h = b[item.key()].grad();
      ASSERT_EQ(g.defined(), h.defined()) << what << " " << item.key();
      if (!g.defined()) continue;
      EXPECT_EQ(h.device(), device) << what << " " << item.key();
      const double scale = g.abs().max().item<double>();
      EXPECT_LE(max_diff(g, h), 1e-3 * scale + 1e-6) << what << " " << item.key() << " (largest element " << scale << ")";
      ++compared;
    }
    EXPECT_GT(compared, 0) << what;
  }
}

class DeviceTrainer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    write_tiny_npz_benchmark(dir_->file("data"));
  }
  static void TearDownTestSuite() { delete dir_; }
  static TrainData data() {
    TrainData d;
    d.train_lists = {dir_->file("data/A-train.txt"), dir_->file("data/B-train.txt")};
    d.val_lists = {dir_->file("data/C-val.txt")};
    d.data_root = dir_->file("data");
    d.pretrained = test::golden("vit_tiny_torchvision.pth");
    return d;
  }
  static model::NetworkOptions model() { return tiny("vit-uadapter", model::Estimator::Binomial); }
  static TrainOptions options(torch::Device device) {
    auto t = tiny_train_options();
    t.device = device.str();
    t.deterministic = device.is_cuda();
    return t;
  }
  static test::TempDir* dir_;
};
test::TempDir* DeviceTrainer::dir_ = nullptr;

// The whole training path on the device: a deterministic run interrupted and resumed ends with the
// uninterrupted run's weights bit for bit (the device generator's state and the map-located
// optimizer moments in resume.pt); the checkpoint loads back and scores the validation set with a
// missing modality (Protocol 2) on the device as on the CPU. Its data are PADISI .npz files, so
// that it builds without OpenCV (the GPU check's build).
TEST_F(DeviceTrainer, TrainResumeCheckpointAndMissingModality) {
  MMDG_REQUIRE_TEST_DEVICE(device);
  test::TempDir runs;
  const auto o = options(device);
  const auto full = Trainer(model(), o, data(), runs.file("full")).run();
  ASSERT_TRUE(full.completed);
  auto cut = o;
  cut.interrupt_after_steps = 4;  // in the middle of epoch 2
  EXPECT_FALSE(Trainer(model(), cut, data(), runs.file("cut")).run().completed);
  const auto resumed = Trainer::resume(runs.file("cut")).run();
  ASSERT_TRUE(resumed.completed);
  const auto a = io::read_safetensors(runs.file("full/last.safetensors"));
  const auto b = io::read_safetensors(runs.file("cut/last.safetensors"));
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  EXPECT_EQ(full.best_hter, resumed.best_hter);

  auto net = infer::load_checkpoint(runs.file("full/last.safetensors"));
  const data::MultiDomainDataset val({dir_->file("data/C-val.txt")}, dir_->file("data"), model().backbone.image_size(),
                                     data::Normalization::ImageNet, false, {false, true, false});  // depth missing
  const auto on_device = eval::score_dataset(*net, val, 16, device, 0);
  net->to(torch::kCPU);
  const auto on_cpu = eval::score_dataset(*net, val, 16, torch::kCPU, 0);
  ASSERT_EQ(on_device.live_probability.size(), val.size());
  for (std::size_t i = 0; i < val.size(); ++i) EXPECT_NEAR(on_device.live_probability[i], on_cpu.live_probability[i], 1e-3) << i;
}

}  // namespace
}  // namespace mmdg::train
