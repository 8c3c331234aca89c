// Multi-process training (mmdg launch, c10d / Gloo over 127.0.0.1) against one process: the same
// global batch gives the same weights, validation metrics and logged losses; a process that dies,
// or hangs, stops the other within the timeout, and the run then resumes to the weights of an
// uninterrupted one. The runs go through the mmdg program (test::cli_path()), as a user starts them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include "mmdg/io/file_util.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/train/tiny_benchmark_test_util.h"
#include "mmdg/util/json_text.h"
#include "mmdg/util/process_group.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

struct Ran {
  int status = -1;
  std::string output;
  double seconds = 0;
};

// Runs a shell command line, returning its exit status and its output (stdout and stderr).
Ran run(const std::string& command) {
  const auto start = std::chrono::steady_clock::now();
  Ran r;
  FILE* pipe = ::popen(("env -u WORLD_SIZE -u RANK -u LOCAL_RANK " + command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe)) r.output += buffer;
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

class DistributedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    write_tiny_benchmark(dir_->file("data"));
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override {
    if (!dist::available()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  }

  // `mmdg train` of the tiny MMDG (or `method`) with no random layer in training (the expected
  // estimator, no adapter dropout), so that one and two processes can be compared weight by weight.
  static std::string train_args(const std::string& out, const std::string& method, std::int64_t epochs) {
    const auto d = [](const std::string& f) { return dir_->file("data/" + f); };
    return "train --config mmdg_tiny --method " + method + " --estimator expected --adapter-dropout 0 --epochs " +
           std::to_string(epochs) + " --steps-per-epoch 3 --batch-size 8 --lr 1e-3 --workers 1 --log-every 1" +
           " --eval-batch-size 5 --dist-timeout 20 --train " + d("C-train.txt") + "," + d("W-train.txt") + " --val " +
           d("W-val.txt") + " --data-root " + d("") + " --pretrained " + test::golden("vit_tiny_torchvision.pth") +
           " --out " + out;
  }
  static std::string one(const std::string& args) { return std::string(test::cli_path()) + " --threads 1 " + args; }
  static std::string two(const std::string& args, const std::string& env = "", int grace = 30) {
    return env + " " + test::cli_path() + " launch --nproc 2 --threads-per-process 1 --grace " + std::to_string(grace) +
           " -- " + args;
  }

  static void expect_same_weights(const std::string& a, const std::string& b) {
    const auto x = io::read_safetensors(a + "/last.safetensors"), y = io::read_safetensors(b + "/last.safetensors");
    ASSERT_EQ(x.size(), y.size());
    for (const auto& item : x) {
      const auto* other = y.find(item.key());
      ASSERT_NE(other, nullptr) << item.key();
      const auto& t = item.value();
      // Adam divides by the gradients' scale, so a summation-order difference in a near-zero
      // gradient moves a weight by up to lr per step: the tolerance is a fraction of one step
      EXPECT_TRUE(torch::allclose(t, *other, 1e-4, 2e-4))
          << item.key() << ": max difference " << (t - *other).abs().max().item<double>();
    }
  }
  // The log's lines of `type` (step or epoch).
  static std::vector<nlohmann::json> log_lines(const std::string& run, const std::string& type) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(io::read_file(run + "/log.jsonl"));
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const auto j = parse_json(line, run);
      if (j.value("type", "") == type) lines.push_back(j);
    }
    return lines;
  }
  static test::TempDir* dir_;
};
test::TempDir* DistributedTest::dir_ = nullptr;

TEST_F(DistributedTest, TwoProcessesTrainAsOneWithTheirGlobalBatch) {
  test::TempDir runs;
  // ReGrad (reduces its per-loss gradients); CE with its gradients summed in buckets during the
  // backward pass (the default: one bucket at this size, 10 KiB in all; 1 KiB buckets: several) or
  // after it (0)
  struct Case {
    std::string name, method, options;
    int buckets_during_backward;  // at least; -1: summed after the backward pass
  };
  for (const auto& [name, method, options, during] :
       {Case{"mmdg", "mmdg", "", -1}, Case{"vit", "vit", "", 1}, Case{"vit-buckets", "vit", " --dist-bucket-mb 0.001", 2},
        Case{"vit-after", "vit", " --dist-bucket-mb 0", -1}}) {
    SCOPED_TRACE(name);
    const auto single_run = runs.file(method + "1");  // the one-process runs of the CE cases are one
    if (!std::filesystem::exists(single_run)) {
      const auto single = run(one(train_args(single_run, method, 2)));
      ASSERT_EQ(single.status, 0) << single.output;
    }
    const auto pair = run(two(train_args(runs.file(name + "2"), method, 2) + options));
    ASSERT_EQ(pair.status, 0) << pair.output;
    const auto first = log_lines(runs.file(name + "2"), "step").at(0);
    if (during < 0) {
      EXPECT_FALSE(first.contains("buckets_during_backward")) << first;
    } else {
      EXPECT_GE(first.value("buckets_during_backward", 0), during) << first;
      EXPECT_NE(pair.output.find("gradients averaged in "), std::string::npos) << pair.output;
    }
    expect_same_weights(single_run, runs.file(name + "2"));
    const auto steps1 = log_lines(single_run, "step"), steps2 = log_lines(runs.file(name + "2"), "step");
    ASSERT_EQ(steps1.size(), 6u);
    ASSERT_EQ(steps2.size(), 6u);
    for (std::size_t i = 0; i < steps1.size(); ++i) {
      EXPECT_NEAR(steps1[i]["loss"].get<double>(), steps2[i]["loss"].get<double>(), 1e-4) << i;
      EXPECT_EQ(steps2[i].value("process_batch", 0), 4) << i;  // each process trained on half the batch
      if (method == "mmdg") {  // the running SSP losses pick the fast modality: the same on both
        for (int m = 0; m < 3; ++m)
          EXPECT_NEAR(steps1[i]["running_ssp"][m].get<double>(), steps2[i]["running_ssp"][m].get<double>(), 1e-4) << i;
      }
    }
    const auto epochs1 = log_lines(single_run, "epoch"), epochs2 = log_lines(runs.file(name + "2"), "epoch");
    ASSERT_EQ(epochs1.size(), 2u);
    ASSERT_EQ(epochs2.size(), 2u);
    for (std::size_t i = 0; i < epochs1.size(); ++i) {  // the sharded validation scores every sample once
      EXPECT_NEAR(epochs1[i]["val_hter"].get<double>(), epochs2[i]["val_hter"].get<double>(), 1e-9) << i;
      EXPECT_NEAR(epochs1[i]["val_auc"].get<double>(), epochs2[i]["val_auc"].get<double>(), 1e-9) << i;
    }
  }
}

TEST_F(DistributedTest, ADeadProcessStopsTheOtherAndTheRunResumes) {
  test::TempDir runs;
  const auto whole = run(two(train_args(runs.file("whole"), "mmdg", 2)));
  ASSERT_EQ(whole.status, 0) << whole.output;
  // process 1 dies at global step 4 (epoch 2; epoch 1 was committed)
  const auto cut = run(two(train_args(runs.file("cut"), "mmdg", 2), "MMDG_TEST_EXIT_AT=1:4"));
  EXPECT_NE(cut.status, 0);
  EXPECT_NE(cut.output.find("process 1 exited with status 9"), std::string::npos) << cut.output;
  EXPECT_NE(cut.output.find("rank 0: all-reduce failed"), std::string::npos) << cut.output;
  EXPECT_LT(cut.seconds, 60) << "the surviving process did not stop within the timeout";
  const auto resumed = run(two("train --resume " + runs.file("cut")));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  expect_same_weights(runs.file("whole"), runs.file("cut"));
}

TEST_F(DistributedTest, AHungProcessStopsTheOtherWithinTheTimeoutAndTheRunResumes) {
  test::TempDir runs;
  const auto args = [&](const std::string& name) {
    auto a = train_args(runs.file(name), "vit", 2);
    return a.replace(a.find("--dist-timeout 20"), 17, "--dist-timeout 6");
  };
  const auto whole = run(two(args("whole")));
  ASSERT_EQ(whole.status, 0) << whole.output;
  // process 1 stops (SIGSTOP) at global step 4, in epoch 2: alive but silent, as if hung
  const auto hung = run(two(args("hung"), "MMDG_TEST_STOP_AT=1:4", 2));
  EXPECT_NE(hung.status, 0);
  EXPECT_NE(hung.output.find("rank 0: all-reduce failed (another rank stopped, or did not answer within 6 s)"),
            std::string::npos)
      << hung.output;
  EXPECT_NE(hung.output.find("launch: process 0 exited with status 1"), std::string::npos) << hung.output;
  EXPECT_NE(hung.output.find("killing them"), std::string::npos) << hung.output;  // the stopped one, after --grace
  EXPECT_LT(hung.seconds, 6 + 2 + 45) << "the run did not end within the timeout (+ the grace and the run's start)";
  const auto resumed = run(two("train --resume " + runs.file("hung")));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  expect_same_weights(runs.file("whole"), runs.file("hung"));
}

TEST_F(DistributedTest, ABatchThatDoesNotSplitOrABadEnvironmentIsRefused) {
  test::TempDir runs;
  auto args = train_args(runs.file("odd"), "vit", 1);
  args.replace(args.find("--batch-size 8"), 14, "--batch-size 7");
  const auto odd = run(two(args));
  EXPECT_NE(odd.status, 0);
  EXPECT_NE(odd.output.find("option batch_size: 7 does not split evenly between 2 processes"), std::string::npos) << odd.output;
  const auto bad = run("WORLD_SIZE=2 RANK=2 " + one(train_args(runs.file("bad"), "vit", 1)));
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("environment variable RANK=2: must be below WORLD_SIZE=2"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace mmdg::train
