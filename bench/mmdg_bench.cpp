// Micro-benchmarks of the MMDG network forward (no grad) per uncertainty estimator.
//   build/mmdg_bench --benchmark_filter=MMDG
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "mmdg/model/network.h"

namespace {

void BM_MMDGForward(benchmark::State& state, const std::string& preset, const std::string& estimator) {
  auto options = mmdg::model::NetworkOptions::preset(preset);
  options.estimator = mmdg::parse_enum<mmdg::model::Estimator>(estimator, "estimator");
  auto net = mmdg::model::make_network(options);
  net->eval();
  const auto batch = state.range(0);
  const auto S = options.backbone.image_size();
  const auto x = torch::randn({batch, 3, S, S});
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

#include "mmdg/train/strategy.h"

namespace {

// One training step of the regrad strategy (forward, SSP + CE losses, ReGrad's four backward
// passes or one plain pass for `none`) and Adam, at the released configuration. Prototypes are
// updated per batch (ema) so that they exist from the second step on.
void BM_MMDGTrainStep(benchmark::State& state, const std::string& preset, const std::string& estimator,
                      const std::string& variant) {
  auto options = mmdg::model::NetworkOptions::preset(preset);
  options.estimator = mmdg::parse_enum<mmdg::model::Estimator>(estimator, "estimator");
  auto net = mmdg::model::make_network(options);
  net->train();
  const auto batch = state.range(0);
  const auto S = options.backbone.image_size();
  const auto x = torch::randn({batch, 3, S, S});
  const mmdg::train::TrainBatch data{x, x, x, torch::arange(batch, torch::kLong) % 2, torch::zeros({batch}, torch::kLong)};
  mmdg::train::TrainOptions train;
  train.regrad = mmdg::parse_enum<mmdg::train::ReGradVariant>(variant, "regrad");
  train.prototype_update = mmdg::train::PrototypeUpdate::Ema;
  mmdg::train::StrategyContext context;
  context.num_sources = 1;
  auto strategy = mmdg::train::make_strategy(train, *net, context);
  std::vector<torch::Tensor> trainable;
  for (auto& p : net->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  torch::optim::Adam adam(trainable, torch::optim::AdamOptions(5e-5).weight_decay(1e-3));
  const auto step = [&] {
    strategy->step(*net, data);
    adam.step();
    strategy->after_step();
  };
  step();  // warm-up: the prototypes exist from here on
  for (auto _ : state) step();
  state.counters["s/sample"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

BENCHMARK_CAPTURE(BM_MMDGTrainStep, mini_binomial_full, std::string("mmdg_mini"), std::string("binomial"), std::string("full"))->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MMDGTrainStep, mini_binomial_none, std::string("mmdg_mini"), std::string("binomial"), std::string("none"))->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MMDGTrainStep, b16_mc_full, std::string("mmdg_b16"), std::string("mc"), std::string("full"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(BM_MMDGTrainStep, b16_binomial_full, std::string("mmdg_b16"), std::string("binomial"), std::string("full"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(BM_MMDGTrainStep, b16_binomial_none, std::string("mmdg_b16"), std::string("binomial"), std::string("none"))->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace
