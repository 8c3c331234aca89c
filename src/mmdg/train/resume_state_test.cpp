// resume.pt: the optimizer's moments, the counters and the random generators of the run's device,
// loaded onto the run's device (a map location). On the CPU the CPU generator; with a GPU present
// also the CUDA generator and a state saved on the GPU resumed on the CPU.
#include "mmdg/train/resume_state.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>

#include "mmdg/train/strategy.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

struct NoStateStrategy : Strategy {
  StepResult step(model::NetworkImpl&, const TrainBatch&) override { return {}; }
};

// An Adam with moments: two steps on a 5-element tensor on `device`.
struct AdamWithMoments {
  torch::Tensor w;
  std::unique_ptr<torch::optim::Adam> adam;
  explicit AdamWithMoments(torch::Device device) {
    w = torch::arange(5, torch::TensorOptions(device).dtype(torch::kFloat)).requires_grad_(true);
    adam = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{w}, torch::optim::AdamOptions(0.1));
    for (int i = 0; i < 2; ++i) {
      adam->zero_grad();
      (w * w).sum().backward();
      adam->step();
    }
  }
  // exp_avg and exp_avg_sq of the one tensor (the optimizer's only state: its key is the tensor's
  // address as text in LibTorch 1.x, the address itself in 2.x)
  std::pair<torch::Tensor, torch::Tensor> moments() const {
    const auto& states = adam->state();
    if (states.size() != 1) throw std::logic_error("AdamWithMoments: expected the state of one tensor");
    auto& state = static_cast<torch::optim::AdamParamState&>(*states.begin()->second);
    return {state.exp_avg(), state.exp_avg_sq()};
  }
};

// Saves on `from`, draws, scrambles the generators, loads on `to`: the draws after the load repeat
// those after the save, the counters and moments come back, on `to`.
void round_trip(torch::Device from, torch::Device to) {
  test::TempDir dir;
  const std::string path = dir.file("resume.pt");
  torch::manual_seed(11);
  AdamWithMoments saved(from);
  NoStateStrategy strategy;
  ResumeState s;
  s.epoch = 3;
  s.step_in_epoch = 2;
  s.global_step = 17;
  s.best_epoch = 2;
  s.best_hter = 0.125;
  s.best_auc = 0.875;
  s.save(path, *saved.adam, strategy, from);
  const auto cpu_draw = torch::rand({6});
  const auto device_draw = torch::rand({6}, torch::TensorOptions(to));
  torch::manual_seed(99);  // every generator elsewhere
  (void)torch::rand({100});

  torch::manual_seed(12);
  AdamWithMoments resumed(to);  // other moments, overwritten by the load
  const auto loaded = ResumeState::load(path, *resumed.adam, strategy, to);
  EXPECT_EQ(loaded.epoch, 3);
  EXPECT_EQ(loaded.step_in_epoch, 2);
  EXPECT_EQ(loaded.global_step, 17);
  EXPECT_EQ(loaded.best_epoch, 2);
  EXPECT_EQ(loaded.best_hter, 0.125);
  EXPECT_EQ(loaded.best_auc, 0.875);
  EXPECT_TRUE(torch::equal(torch::rand({6}), cpu_draw));
  if (from.type() == to.type()) {
    EXPECT_TRUE(torch::equal(torch::rand({6}, torch::TensorOptions(to)), device_draw));
  }
  const auto [m, v] = resumed.moments();
  const auto [m0, v0] = saved.moments();
  EXPECT_EQ(m.device(), resumed.w.device());  // the map location
  EXPECT_EQ(v.device(), resumed.w.device());
  EXPECT_TRUE(torch::equal(m.cpu(), m0.cpu()));
  EXPECT_TRUE(torch::equal(v.cpu(), v0.cpu()));
}

TEST(ResumeState, RestoresCountersMomentsAndTheCpuGenerator) {
  const auto generators = generators_of(torch::kCPU);
  ASSERT_EQ(generators.size(), 1u);
  EXPECT_EQ(generators[0].first, "rng");
  round_trip(torch::kCPU, torch::kCPU);
}

TEST(ResumeState, RestoresTheCudaGeneratorAndMovesAGpuStateToAnotherDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu(torch::kCUDA, 0);
  const auto generators = generators_of(gpu);
  ASSERT_EQ(generators.size(), 2u);
  EXPECT_EQ(generators[1].first, "rng_cuda");
  round_trip(gpu, gpu);
  round_trip(gpu, torch::kCPU);  // a GPU run resumed on the CPU: its moments map to the CPU
  round_trip(torch::kCPU, gpu);  // and back: the CUDA generator is reported missing, not an error
}

TEST(ResumeState, AFileWithoutTheCpuGeneratorIsNamed) {
  test::TempDir dir;
  const std::string path = dir.file("resume.pt");
  AdamWithMoments saved(torch::kCPU);
  torch::serialize::OutputArchive archive;
  saved.adam->save(archive);
  archive.write("counters", torch::tensor({1, 0, 1, -1}, torch::kLong));
  archive.write("floats", torch::tensor({2.0, -1.0}, torch::kDouble));
  archive.save_to(path);
  NoStateStrategy strategy;
  EXPECT_MMDG_ERROR(ResumeState::load(path, *saved.adam, strategy, torch::kCPU), path + ": holds no state of the CPU generator");
}

}  // namespace
}  // namespace mmdg::train
