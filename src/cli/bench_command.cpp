// `mmdg bench`: speed and memory of a configuration on this machine (mmdg/experiment/benchmark.h).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "mmdg/experiment/benchmark.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/runtime.h"

namespace mmdg::cli {

void add_bench_command(CLI::App& app) {
  auto options = std::make_shared<experiment::BenchOptions>();
  auto threads = std::make_shared<int>(0);
  auto json = std::make_shared<bool>(false);
  auto no_train = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "bench",
      "Inference and training-step time per sample of a method (default: MMDG), peak memory and GFLOP/s against this "
      "machine's GEMM peak (--all: every estimator, strategy and ReGrad variant)");
  cmd->add_option("--batch", options->batch, "samples per batch")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--threads", *threads, "LibTorch intra-op threads (0: the global --threads)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeats", options->repeats, "timed repetitions")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--warmup", options->warmup, "untimed repetitions first")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--no-train", *no_train, "inference only");
  auto precision = std::make_shared<std::string>("fp32");
  cmd->add_option("--precision", *precision, "forward arithmetic: fp32 | bf16 (autocast)")->capture_default_str();
  auto device = std::make_shared<std::string>("cpu");
  cmd->add_option("--device", *device, "cpu, cuda or cuda:N (times then end with a device synchronization)")
      ->capture_default_str();
  cmd->add_flag("--json", *json, "machine-readable output");
  auto method = std::make_shared<std::string>(train::kPaperMethod);
  cmd->add_option("--method", *method,
                  "the method measured: a preset or network+strategy (mmdg model list); --network overrides its network")
      ->capture_default_str();
  cmd->add_flag("--all", options->all,
                "every uncertainty estimator, every strategy the network can train and every ReGrad variant "
                "(minutes at ViT-B/16), not only the configured ones");
  auto model = std::make_shared<ModelConfigOptions>(cmd, "mmdg_mini");
  cmd->callback([=] {
    if (*threads > 0) set_threads(*threads);
    const auto preset = train::resolve_method(*method);
    options->network = model->resolve([&](model::NetworkOptions& o) { o.network = preset.network; });
    options->strategy = preset.strategy;
    options->train = !*no_train;
    options->precision = parse_enum<model::Precision>(*precision, "precision");
    options->device = infer::parse_device(*device);
    const auto result = experiment::run_benchmark(*options);
    if (*json) std::cout << result.to_json().dump(1) << "\n";
    else std::cout << result.to_text();
  });
}

}  // namespace mmdg::cli
