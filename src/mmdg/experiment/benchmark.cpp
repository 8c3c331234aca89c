#include "mmdg/experiment/benchmark.h"

#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>

#include "mmdg/model/network.h"
#include "mmdg/model/vit.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/runtime.h"

namespace mmdg::experiment {
namespace {

// Waits for the device's queue (CUDA); nothing on the CPU.
void wait_for(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// Median, min and max seconds of `repeats` calls after `warmup` untimed ones; each call ends when
// `device` has finished its work.
Timing time_it(const std::string& name, std::int64_t warmup, std::int64_t repeats, const torch::Device& device,
               const std::function<void()>& fn) {
  for (std::int64_t i = 0; i < warmup; ++i) fn();
  wait_for(device);
  std::vector<double> seconds;
  for (std::int64_t i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    wait_for(device);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  Timing t;
  t.name = name;
  t.min_s = seconds.front();
  t.max_s = seconds.back();
  const auto n = seconds.size();
  t.median_s = n % 2 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
  return t;
}

// The best of several 2048^3 matrix products at `precision`: the machine's practical peak.
double gemm_peak_gflops(model::Precision precision, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  model::PrecisionGuard guard(precision);
  const std::int64_t n = 2048;
  const auto a = torch::randn({n, n}, torch::TensorOptions(device)), b = torch::randn({n, n}, torch::TensorOptions(device));
  const auto t = time_it("gemm", 1, 7, device, [&] { torch::mm(a, b); });
  return 2.0 * n * n * n / t.min_s / 1e9;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

}  // namespace

// MM-CDCN's convolutions (model/mm_cdcn.h), each 3 x 3 plus CDC's 1 x 1 difference term.
double cdcn_forward_flops(const model::NetworkOptions& o) {
  const double S = static_cast<double>(o.backbone.image_size()), c = static_cast<double>(o.cdcn_width);
  const double w = static_cast<double>(std::max<std::int64_t>(1, 196 * o.cdcn_width / 64)), M = S / 8;
  const double per_tap = o.cdcn_theta > 0 ? 10 : 9;  // 9 taps + the 1 x 1 difference
  const auto conv = [&](double side, double in, double out) { return 2 * side * side * per_tap * in * out; };
  double branch = conv(S, 3, c);
  for (int j = 0; j < 3; ++j) {
    const double side = S / (1 << j), in = j == 0 ? c : 2 * c;
    branch += conv(side, in, 2 * c) + conv(side, 2 * c, w) + conv(side, w, 2 * c);
  }
  branch += conv(M, 6 * c, 2 * c);
  return 3 * branch + conv(M, 6 * c, 2 * c) + conv(M, 2 * c, 1);
}

double forward_flops(const model::NetworkOptions& o) {
  if (o.network == "mm-cdcn") return cdcn_forward_flops(o);
  const auto vit = o.vit();
  const double C = static_cast<double>(vit.hidden_dim()), M = static_cast<double>(vit.mlp_dim());
  const double N = static_cast<double>(vit.num_patches()), P = static_cast<double>(vit.patch_size());
  // tokens per stream: the single-sequence multimodal networks read all three modalities' patches
  const bool one_sequence = o.network == "vit-ama" || o.network == "vp-fas";
  const double L = one_sequence ? 3 * N + 1 + (o.network == "vp-fas" ? static_cast<double>(o.vpfas_prompt_length) : 0) : N + 1;
  const double layers = static_cast<double>(vit.num_layers());
  const double patch = 2 * N * C * 3 * P * P;                                  // conv_proj
  const double block = 2 * L * C * 3 * C + 2 * 2 * L * L * C + 2 * L * C * C + 2 * 2 * L * C * M;  // qkv, QK^T and AV, out, MLP
  const auto& caps = model::find_network(o.network).capabilities;
  const double streams = caps.modality_branches ? 3 : 1;
  double flops = streams * ((one_sequence ? 3 : 1) * patch + layers * block);
  if (!caps.modality_branches) flops += 2 * 9 * 3 * static_cast<double>(vit.image_size() * vit.image_size());  // fusion 1x1 conv
  if (caps.adapters) {  // 4 adapters per block: two down-projections, q/k/v/proj, 3x3 conv, up-projection
    const double d = static_cast<double>(o.adapter_dim);
    const double adapter = 2 * 2 * L * C * d + 4 * 2 * L * d * d + 2 * 2 * L * L * d + 2 * L * d * d * 9 + 2 * L * d * C;
    flops += 4 * layers * adapter;
  }
  return flops;
}

BenchResult run_benchmark(const BenchOptions& options) {
  BenchResult result;
  const auto& o = options.network;
  if (options.train && !train::find_strategy(options.strategy).trains(o.network))
    throw Error("strategy " + options.strategy + " does not train network " + o.network +
                ". HINT: give --method NETWORK+STRATEGY (mmdg model list), or --no-train");
  const auto B = options.batch, S = o.backbone.image_size();
  const double batch = static_cast<double>(B);
  result.forward_gflop_per_sample = forward_flops(o) / 1e9;
  result.precision = enum_name(options.precision);
  const auto device = options.device;
  result.device = device.str();
  result.gemm_peak_gflops = gemm_peak_gflops(options.precision, device);
  torch::manual_seed(0);
  const auto on_device = torch::TensorOptions(device);
  const auto x = torch::randn({B, 3, S, S}, on_device);
  {  // the floor: three backbone forwards as one batch
    model::VisionTransformer vit(o.vit());
    vit->to(device);
    vit->eval();
    const auto x3 = torch::randn({3 * B, 3, S, S}, on_device);
    torch::NoGradGuard no_grad;
    model::PrecisionGuard precision(options.precision);  // the floor at the same precision
    result.floor_s_per_sample =
        time_it("floor", options.warmup, options.repeats, device, [&] { vit->forward(x3); }).median_s / batch;
  }
  const auto add = [&](Timing t, double flops_per_sample) {
    t.s_per_sample = t.median_s / batch;
    t.gflops = flops_per_sample * batch / t.median_s / 1e9;
    t.x_floor = t.s_per_sample / result.floor_s_per_sample;
    result.timings.push_back(t);
    return t;
  };
  const auto& caps = model::find_network(o.network).capabilities;
  // inference: each estimator (the others only matter for networks with an uncertainty module)
  const bool uncertainty = caps.uncertainty;
  for (const auto estimator : {model::Estimator::MC, model::Estimator::Binomial, model::Estimator::Expected, model::Estimator::LargeT}) {
    if ((!uncertainty || !options.all) && estimator != o.estimator) continue;
    auto net = model::make_network(o);
    net->to(device);
    net->set_estimator(estimator);
    net->set_precision(options.precision);
    net->eval();
    torch::NoGradGuard no_grad;
    const auto t = add(time_it(std::string("infer/") + enum_name(estimator), options.warmup, options.repeats, device,
                               [&] { net->forward(x, x, x); }),
                       forward_flops(o));
    if (estimator == o.estimator) result.infer_s_per_sample = t.s_per_sample;
  }
  // training: the configured strategy, or (all) each strategy the network can take, regrad in each variant
  if (options.train) {
    const auto index = torch::arange(B, on_device.dtype(torch::kLong));
    const train::TrainBatch data{x, x, x, index % 2, index.div(2, "floor").remainder(2)};
    for (const auto& entry : train::strategy_registry()) {
      if (!entry.trains(o.network) || (!options.all && entry.name != options.strategy)) continue;
      std::vector<train::ReGradVariant> variants{train::ReGradVariant::Full};
      if (entry.name == "regrad" && options.all)
        variants = {train::ReGradVariant::Full, train::ReGradVariant::ConflictedOnly, train::ReGradVariant::UnconflictedOnly,
                    train::ReGradVariant::None};
      model::NetworkOptions strategy_network = o;  // what the strategy asks of the network (SSDG: its normalized head)
      if (entry.configure_network) entry.configure_network(strategy_network);
      for (const auto variant : variants) {
        auto net = model::make_network(strategy_network);
        net->to(device);
        net->set_precision(options.precision);
        net->train();
        train::TrainOptions t;
        t.strategy = entry.name;
        t.regrad = variant;
        t.prototype_update = train::PrototypeUpdate::Ema;  // prototypes exist from the second step on
        train::StrategyContext context;
        context.num_sources = 2;
        context.device = device;
        auto strategy = train::make_strategy(t, *net, context);
        std::vector<torch::Tensor> trainable;
        for (auto& p : net->parameters())
          if (p.requires_grad()) trainable.push_back(p);
        torch::optim::Adam adam(trainable, torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
        double forward_s = 0, backward_s = 0, regrad_s = 0;
        std::int64_t calls = 0;
        const auto step = [&] {
          const auto r = strategy->step(*net, data);
          adam.step();
          strategy->after_step();
          forward_s += r.log.value("seconds_forward", 0.0);
          backward_s += r.log.value("seconds_backward", 0.0);
          regrad_s += r.log.value("seconds_regrad", 0.0);
          ++calls;
        };
        step();  // the prototypes' first batch
        forward_s = backward_s = regrad_s = 0;
        calls = 0;
        const std::string name =
            "train/" + entry.name + (entry.name == "regrad" ? std::string("-") + enum_name(variant) : std::string());
        // FLOPs (approximate): a forward, and per backward pass about one forward through the frozen
        // blocks (input gradients only) plus one block's worth of weight gradients (the last block;
        // the adapters are small). regrad: 4 passes (3 SSP + CE), else 1.
        const double passes = entry.name == "regrad" && variant != train::ReGradVariant::None ? 4 : 1;
        const double layers = static_cast<double>(o.backbone.num_layers());
        Timing measured = time_it(name, options.warmup, options.repeats, device, step);
        measured.forward_s = forward_s / static_cast<double>(calls);  // over warm-up and timed steps
        measured.backward_s = backward_s / static_cast<double>(calls);
        measured.regrad_s = regrad_s / static_cast<double>(calls);
        const auto timing = add(measured, forward_flops(o) * (1 + passes * (1 + 1 / layers)));
        if (entry.name == options.strategy && variant == train::ReGradVariant::Full) result.train_s_per_sample = timing.s_per_sample;
      }
    }
  }
  result.peak_rss_mb = peak_rss_mb();
  return result;
}

nlohmann::json BenchResult::to_json() const {
  nlohmann::json timings_json = nlohmann::json::array();
  for (const auto& t : timings)
    timings_json.push_back({{"name", t.name}, {"median_s", t.median_s}, {"min_s", t.min_s}, {"max_s", t.max_s},
                            {"s_per_sample", t.s_per_sample}, {"gflops", t.gflops}, {"x_floor", t.x_floor},
                            {"forward_s", t.forward_s}, {"backward_s", t.backward_s}, {"regrad_s", t.regrad_s}});
  return {{"infer_s_per_sample", infer_s_per_sample}, {"train_s_per_sample", train_s_per_sample},
          {"floor_s_per_sample", floor_s_per_sample},
          {"peak_rss_mb", peak_rss_mb}, {"gemm_peak_gflops", gemm_peak_gflops},
          {"forward_gflop_per_sample", forward_gflop_per_sample}, {"precision", precision}, {"device", device}, {"threading", threading_summary()},
          {"timings", timings_json}};
}

std::string BenchResult::to_text() const {
  std::ostringstream out;
  char line[200];
  std::snprintf(line, sizeof line, "%-30s %12s %8s %12s %12s %10s %8s\n", "measurement", "s/sample", "x floor",
                "min s/batch", "max s/batch", "GFLOP/s", "of peak");
  out << line;
  for (const auto& t : timings) {
    std::snprintf(line, sizeof line, "%-30s %12.5f %8.2f %12.5f %12.5f %10.1f %7.1f%%\n", t.name.c_str(), t.s_per_sample,
                  t.x_floor, t.min_s, t.max_s, t.gflops, 100 * t.gflops / gemm_peak_gflops);
    out << line;
  }
  for (const auto& t : timings) {
    if (t.forward_s + t.backward_s + t.regrad_s == 0) continue;
    std::snprintf(line, sizeof line, "  %-28s per batch: forward+losses %.4f s, backward %.4f s, ReGrad combination %.4f s, rest %.4f s\n",
                  t.name.c_str(), t.forward_s, t.backward_s, t.regrad_s,
                  std::max(0.0, t.median_s - t.forward_s - t.backward_s - t.regrad_s));
    out << line;
  }
  std::snprintf(line, sizeof line,
                "floor (plain ViT, 3 modalities as one batch): %.5f s/sample; GEMM peak (best 2048^3 matmul, same precision): %.1f GFLOP/s;\n"
                "forward: %.3f GFLOP per sample (counted); peak RSS %.0f MB\n",
                floor_s_per_sample, gemm_peak_gflops, forward_gflop_per_sample, peak_rss_mb);
  out << line << "precision: " << precision << ", device: " << device << "\n" << threading_summary() << "\n";
  return out.str();
}

}  // namespace mmdg::experiment
