// The device syncs of a training step, counted on the CPU with HostSyncCounter (LibTorch's
// RecordFunction): each .item(), each blocking copy between devices and each operation whose
// output size depends on the data makes a GPU run wait for its queue to drain. The paper's method
// (regrad) reads the device once per step: the losses, reliabilities and ReGrad's Gram entries in
// one copy. Run on CUDA too when a GPU is present (the same counts, and a step per strategy).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>

#include "mmdg/model/network.h"
#include "mmdg/model/network_options.h"
#include "mmdg/train/step_test_util.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/host_sync_counter.h"

namespace mmdg::train {
namespace {

TEST(HostSyncCounter, CountsScalarReadsBlockingCopiesAndDataDependentShapes) {
  const auto x = torch::randn({6});
  HostSyncCounter counter;
  (void)x.sum().item<double>();                                         // a read
  (void)x.to(torch::kCPU);                                              // a blocking copy (direction unknown on a CPU run)
  (void)x.to(torch::kCPU, torch::kDouble);                              // a blocking copy
  (void)x.to(torch::TensorOptions().device(torch::kCPU), /*non_blocking=*/true);  // no wait
  (void)x.to(torch::kDouble);                                           // no device named: not a copy between devices
  (void)x.masked_select(x > 0);                                         // output size from the data
  (void)x.index({x > 0});                                               // a boolean index: nonzero inside
  const auto c = counter.counts();
  EXPECT_EQ(c.scalar_reads, 1);
  EXPECT_EQ(c.blocking_copies, 2);
  EXPECT_EQ(c.async_copies, 1);
  EXPECT_EQ(c.data_dependent, 2);
  EXPECT_EQ(c.syncs(), 5);
  {
    HostSyncCounter inner;  // the innermost counter of a thread counts; the outer one resumes after
    (void)x.sum().item<double>();
    EXPECT_EQ(inner.counts().scalar_reads, 1);
  }
  (void)x.max().item<float>();
  EXPECT_EQ(counter.counts().scalar_reads, 2);
  counter.reset();
  EXPECT_EQ(counter.counts().syncs(), 0);
}

// A tiny network fitting each registered strategy and a batch of 8 (2 sources x live / spoof).
struct StepSetup {
  model::Network net{nullptr};
  std::unique_ptr<Strategy> strategy;
  TrainBatch batch;
  StepSetup(const StrategyEntry& entry, torch::Device device) {
    torch::manual_seed(5);
    auto o = model::NetworkOptions::preset("mmdg_tiny");
    o.network = entry.needs.modality_branches ? (entry.name == "regrad" ? "vit-uadapter" : "vit") : "vit-concat";
    if (!entry.only_network.empty()) o.network = entry.only_network;
    o.estimator = model::Estimator::Binomial;  // the sampled estimator: its tables must not be rebuilt per forward
    if (entry.configure_network) entry.configure_network(o);
    net = model::make_network(o);
    net->to(device);
    net->train();
    TrainOptions t;
    t.strategy = entry.name;
    t.epochs = 2;
    StrategyContext context;
    context.num_sources = 2;
    context.device = device;
    strategy = make_strategy(t, *net, context);
    batch = tiny_batch(o.backbone.image_size(), device);
  }
  HostSyncCounts counted_step() {
    strategy->step(*net, batch);  // warm-up: caches (the estimator's tables) fill here
    strategy->after_step();
    HostSyncCounter counter;
    strategy->step(*net, batch);
    strategy->after_step();
    return counter.counts();
  }
};

void expect_step_syncs(torch::Device device) {
  for (const auto& entry : strategy_registry()) {
    StepSetup setup(entry, device);
    const auto c = setup.counted_step();
    std::cout << "[ syncs    ] " << device << " " << entry.name << ": " << c.syncs() << " (reads " << c.scalar_reads
              << ", blocking copies " << c.blocking_copies << ", data-dependent shapes " << c.data_dependent
              << "; non-blocking copies " << c.async_copies << ")\n";
    if (entry.name == "regrad") {  // the paper's method: one read of the losses, reliabilities and Gram entries
      EXPECT_EQ(c.scalar_reads, 0);
      EXPECT_EQ(c.blocking_copies, 1);
      EXPECT_EQ(c.data_dependent, 0);
    } else if (entry.name == "ce" || entry.name == "ssan" || entry.name == "cmfl" || entry.name == "ogm-ge" ||
               entry.name == "vitaf" || entry.name == "ama" || entry.name == "cdcn" || entry.name == "vpfas") {
      EXPECT_EQ(c.syncs(), 1) << entry.name;  // one read of the loss parts (OGM-GE: and its scores)
    } else if (entry.name == "ssdg") {
      EXPECT_EQ(c.syncs(), 2) << entry.name;  // and the selection of the live samples (a nonzero)
    } else {  // PMR's and IADG's prototype / style-bank bookkeeping runs on the host, per class and
              // sample; a bound that catches new reads
      EXPECT_LE(c.syncs(), 32) << entry.name;
    }
    for (const auto& p : setup.net->parameters()) {
      if (p.requires_grad()) {
        ASSERT_TRUE(p.grad().defined() && torch::isfinite(p.grad()).all().item<bool>()) << entry.name;
      }
    }
  }
}

TEST(HostSyncs, OneReadPerReGradStepOnTheCPU) { expect_step_syncs(torch::kCPU); }

TEST(HostSyncs, OneReadPerReGradStepOnCUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_step_syncs(torch::Device(torch::kCUDA, 0));
}

TEST(HostSyncs, ForwardWithTheSampledEstimatorReadsNothing) {
  auto o = model::NetworkOptions::preset("mmdg_tiny");
  o.estimator = model::Estimator::Binomial;
  auto net = model::make_network(o);
  net->train();
  const auto S = o.backbone.image_size();
  const auto x = torch::randn({2, 3, S, S});
  (void)net->forward(x, x, x);
  HostSyncCounter counter;
  (void)net->forward(x, x, x);
  EXPECT_EQ(counter.counts().syncs(), 0);
  EXPECT_EQ(counter.counts().blocking_copies, 0);  // the estimator's tables are built once, not copied per block
}

TEST(ClipGradientNorm, EqualsLibTorchsClipWithoutReadingTheNorm) {
  torch::manual_seed(3);
  for (double max_norm : {0.5, 1e6}) {  // clipped, and left alone
    std::vector<torch::Tensor> a, b;
    for (auto shape : {std::vector<std::int64_t>{4, 3}, {7}, {2, 2, 2}}) {
      a.push_back(torch::randn(shape, torch::requires_grad()));
      b.push_back(a.back().detach().clone().requires_grad_());
      a.back().mutable_grad() = torch::randn(shape);
      b.back().mutable_grad() = a.back().grad().clone();
    }
    a.push_back(torch::randn({3}, torch::requires_grad()));  // no gradient: skipped by both
    b.push_back(a.back().detach().clone().requires_grad_());
    const double expected_norm = torch::nn::utils::clip_grad_norm_(a, max_norm);
    HostSyncCounter counter;
    const auto norm = clip_gradient_norm(b, max_norm);
    EXPECT_EQ(counter.counts().syncs(), 0);
    EXPECT_NEAR(norm.item<double>(), expected_norm, 1e-6 * expected_norm);
    for (std::size_t k = 0; k + 1 < a.size(); ++k) EXPECT_TRUE(torch::equal(a[k].grad(), b[k].grad())) << max_norm << " " << k;
    EXPECT_FALSE(b.back().grad().defined());
  }
}

}  // namespace
}  // namespace mmdg::train
