// parse_device, the one parser of --device: what it accepts and the messages of what it refuses.
#include "mmdg/infer/infer_options.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::infer {
namespace {

// A UsageError (exit status 2) whose message names the option and contains `fragment`.
void expect_usage_error(const std::string& text, const std::string& fragment) {
  try {
    (void)parse_device(text);
    ADD_FAILURE() << "'" << text << "' was accepted";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("option --device"), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

TEST(ParseDevice, AcceptsTheCpuInBothSpellings) {
  EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_TRUE(parse_device("cpu:0").is_cpu());
}

TEST(ParseDevice, RefusesWhatIsNotADeviceOfThisTool) {
  expect_usage_error("gpu", "cannot parse 'gpu' (expected cpu, cuda or cuda:N)");
  expect_usage_error("cuda:x", "cannot parse");
  expect_usage_error("", "cannot parse");
  expect_usage_error("mps", "cpu or cuda devices only");
  expect_usage_error("cpu:1", "the CPU has no device index");
}

TEST(ParseDevice, NamesAMissingCudaOrAGpuBeyondTheVisibleOnes) {
  if (!torch::cuda::is_available()) {
    expect_usage_error("cuda", "CUDA is not available");
    expect_usage_error("cuda:1", "check nvidia-smi and CUDA_VISIBLE_DEVICES");
    return;
  }
  const auto count = static_cast<int>(torch::cuda::device_count());
  EXPECT_TRUE(parse_device("cuda").is_cuda());
  EXPECT_EQ(parse_device("cuda:" + std::to_string(count - 1)).index(), count - 1);
  expect_usage_error("cuda:" + std::to_string(count), "no such GPU (" + std::to_string(count) + " visible");
}

TEST(ParseMissing, ReadsTheModalityList) {
  EXPECT_EQ(parse_missing("depth,ir"), (std::array<bool, 3>{false, true, true}));
  EXPECT_EQ(parse_missing(""), (std::array<bool, 3>{false, false, false}));
}

}  // namespace
}  // namespace mmdg::infer
