// `mmdg bench`: speed and memory of a network configuration on this machine, measured after a
// warm-up over several repetitions (median and spread): inference per sample with the configured
// uncertainty estimator and the training step per sample of the configured strategy (with `all`:
// every estimator, every strategy the network can train and every ReGrad variant), the peak
// resident memory, and the achieved GFLOP/s (FLOPs counted from the configuration) next to this
// machine's measured GEMM peak, so that the distance to the hardware limit is printed, not guessed.
#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mmdg/model/network_options.h"
#include "mmdg/model/precision.h"

namespace mmdg::experiment {

struct BenchOptions {
  model::NetworkOptions network = model::NetworkOptions::preset("mmdg_mini");
  std::int64_t batch = 8;
  std::int64_t warmup = 1;   // untimed repetitions before the timed ones
  std::int64_t repeats = 5;  // timed repetitions (median and spread reported)
  bool train = true;         // also the training steps
  std::string strategy = "regrad";  // the training strategy measured (registry name)
  bool all = false;          // every estimator, strategy and ReGrad variant instead of the configured ones
  model::Precision precision = model::Precision::Float32;
  // Where the network runs; on a GPU each timed repetition ends with a device synchronization, so
  // the times are the device's, not the host's queueing (peak memory is the host's RSS).
  c10::Device device = c10::kCPU;
};

struct Timing {
  std::string name;             // e.g. "infer/binomial", "train/regrad-full"
  double median_s = 0, min_s = 0, max_s = 0;  // per repetition (one batch)
  double s_per_sample = 0;      // median / batch
  double gflops = 0;            // counted FLOPs / median time
  double x_floor = 0;           // s_per_sample / the floor's
  // regrad steps: mean seconds per batch of the parts (forward and losses, the backward passes,
  // Eq. 5's combination); the rest of a step is Adam
  double forward_s = 0, backward_s = 0, regrad_s = 0;
};

struct BenchResult {
  std::vector<Timing> timings;
  double gemm_peak_gflops = 0;  // the best of several 2048^3 matrix products, same threads and precision
  double infer_s_per_sample = 0, train_s_per_sample = 0;  // the configured estimator and strategy (regrad: full)
  // The floor: the plain ViT backbone on the three modalities as one batch of 3B images (no
  // grad), per sample; every measurement is also printed as a multiple of it.
  double floor_s_per_sample = 0;
  double peak_rss_mb = 0;
  double forward_gflop_per_sample = 0;  // counted FLOPs of one forward of three modalities
  std::string precision;                // fp32 | bf16
  std::string device;                   // cpu, cuda:0
  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Multiply-adds x 2 of one forward of one sample (three modalities) through the network's
// matrix products (patch embeddings, attention, MLPs, the adapters; the heads are negligible).
double forward_flops(const model::NetworkOptions& options);

BenchResult run_benchmark(const BenchOptions& options);

}  // namespace mmdg::experiment
