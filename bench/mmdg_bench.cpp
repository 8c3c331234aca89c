// Micro-benchmarks of the MMDG network forward (no grad) per uncertainty estimator.
//   build/mmdg_bench --benchmark_filter=MMDG
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "mmdg/model/mmdg_net.h"

namespace {

void BM_MMDGForward(benchmark::State& state, const std::string& preset, const std::string& estimator) {
  auto options = mmdg::model::MMDGOptions::preset(preset);
  options.estimator = estimator;
  mmdg::model::MMDGNet net(options);
  net->eval();
  const auto batch = state.range(0);
  const auto x = torch::randn({batch, 3, options.image_size, options.image_size});
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(net->forward(x, x, x).logits);
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["s/sample"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

BENCHMARK_CAPTURE(BM_MMDGForward, mini_mc, std::string("mmdg_mini"), std::string("mc"))->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MMDGForward, mini_binomial, std::string("mmdg_mini"), std::string("binomial"))->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MMDGForward, mini_expected, std::string("mmdg_mini"), std::string("expected"))->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MMDGForward, b16_mc, std::string("mmdg_b16"), std::string("mc"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(BM_MMDGForward, b16_binomial, std::string("mmdg_b16"), std::string("binomial"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(BM_MMDGForward, b16_expected, std::string("mmdg_b16"), std::string("expected"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

#include "mmdg/train/train_step.h"

namespace {

// One training step (forward, SSP + CE losses, ReGrad's four backward passes or one plain pass,
// Adam) at the released configuration.
void BM_MMDGTrainStep(benchmark::State& state, const std::string& preset, const std::string& estimator,
                      const std::string& variant) {
  auto options = mmdg::model::MMDGOptions::preset(preset);
  options.estimator = estimator;
  mmdg::model::MMDGNet net(options);
  net->train();
  const auto batch = state.range(0);
  const auto x = torch::randn({batch, 3, options.image_size, options.image_size});
  const auto labels = torch::arange(batch, torch::kLong) % 2, sources = torch::zeros({batch}, torch::kLong);
  std::array<mmdg::train::Prototypes, 3> protos{mmdg::train::Prototypes(2, options.hidden_dim),
                                                mmdg::train::Prototypes(2, options.hidden_dim),
                                                mmdg::train::Prototypes(2, options.hidden_dim)};
  for (auto& p : protos) p.set_from_sums(torch::randn({2, options.hidden_dim}), torch::ones({2}));
  std::vector<torch::Tensor> trainable;
  for (auto& p : net->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  torch::optim::Adam adam(trainable, torch::optim::AdamOptions(5e-5).weight_decay(1e-3));
  mmdg::train::ReGradOptions regrad;
  regrad.variant = mmdg::train::parse_regrad_variant(variant);
  for (auto _ : state) {
    const auto losses = mmdg::train::compute_losses(*net, x, x, x, labels, sources, protos);
    mmdg::train::backward(*net, losses, 0.3, 0, regrad);
    adam.step();
  }
  state.counters["s/sample"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

BENCHMARK_CAPTURE(BM_MMDGTrainStep, mini_binomial_full, std::string("mmdg_mini"), std::string("binomial"), std::string("full"))->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MMDGTrainStep, mini_binomial_none, std::string("mmdg_mini"), std::string("binomial"), std::string("none"))->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MMDGTrainStep, b16_mc_full, std::string("mmdg_b16"), std::string("mc"), std::string("full"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(BM_MMDGTrainStep, b16_binomial_full, std::string("mmdg_b16"), std::string("binomial"), std::string("full"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(BM_MMDGTrainStep, b16_binomial_none, std::string("mmdg_b16"), std::string("binomial"), std::string("none"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace
