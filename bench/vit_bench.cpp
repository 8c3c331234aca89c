// Micro-benchmarks of the ViT backbone forward (no grad) for the named configs.
//   build/mmdg_bench --benchmark_filter=vit_b16
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "mmdg/model/vit.h"

namespace {

void BM_ViTForward(benchmark::State& state, const std::string& config) {
  const auto options = mmdg::model::vit_config(config).num_classes(0);
  mmdg::model::VisionTransformer vit(options);
  vit->eval();
  const auto batch = state.range(0);
  const auto x = torch::randn({batch, 3, options.image_size(), options.image_size()});
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(vit->forward(x));
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = torch::get_num_threads();
}

BENCHMARK_CAPTURE(BM_ViTForward, vit_tiny, std::string("vit_tiny"))->Arg(32)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ViTForward, vit_mini, std::string("vit_mini"))->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ViTForward, vit_b16, std::string("vit_b16"))->Arg(1)->Arg(2)->Arg(8)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
