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
