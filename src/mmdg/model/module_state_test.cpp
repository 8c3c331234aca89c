#include "mmdg/model/module_state.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::model {
namespace {

struct TwoLayersImpl : torch::nn::Module {
  TwoLayersImpl() {
    a = register_module("a", torch::nn::Linear(3, 4));
    b = register_module("b", torch::nn::BatchNorm1d(4));
  }
  torch::nn::Linear a{nullptr};
  torch::nn::BatchNorm1d b{nullptr};
};
TORCH_MODULE(TwoLayers);

TEST(ModuleState, RoundTripIncludesBuffers) {
  TwoLayers src, dst;
  {
    torch::NoGradGuard no_grad;
    src->b->running_mean.fill_(3.0);
  }
  const auto sd = module_state_dict(*src);
  EXPECT_TRUE(sd.contains("b.running_mean"));
  const auto report = load_state_dict(*dst, sd, true, "ctx");
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.loaded, sd.size());
  EXPECT_TRUE(torch::equal(dst->a->weight, src->a->weight));
  EXPECT_TRUE(torch::equal(dst->b->running_mean, torch::full({4}, 3.0)));
}

TEST(ModuleState, StrictReportsEveryProblemByNameAndChangesNothing) {
  TwoLayers model;
  const auto before = model->a->bias.clone();
  io::StateDict sd = module_state_dict(*TwoLayers());
  io::StateDict broken;
  for (const auto& item : sd) {
    if (item.key() == "a.weight") broken.insert("a.weight", torch::zeros({5, 3}));
    else if (item.key() != "b.running_var") broken.insert(item.key(), item.value().clone() + 1);
  }
  broken.insert("c.weight", torch::zeros({1}));
  try {
    load_state_dict(*model, broken, true, "weights.pth");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("weights.pth"), std::string::npos);
    EXPECT_NE(msg.find("b.running_var"), std::string::npos);
    EXPECT_NE(msg.find("c.weight"), std::string::npos);
    EXPECT_NE(msg.find("a.weight: file [5, 3] vs model [4, 3]"), std::string::npos) << msg;
  }
  EXPECT_TRUE(torch::equal(model->a->bias, before));
  const auto report = load_state_dict(*model, broken, false, "weights.pth");
  EXPECT_EQ(report.missing, std::vector<std::string>{"b.running_var"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"c.weight"});
  EXPECT_EQ(report.mismatched.size(), 1u);
  EXPECT_TRUE(torch::equal(model->a->bias, broken["a.bias"]));
}

TEST(ModuleState, ConvertsDtypes) {
  TwoLayers model;
  io::StateDict sd = module_state_dict(*TwoLayers());
  io::StateDict half;
  for (const auto& item : sd) half.insert(item.key(), item.value().to(torch::kHalf));
  load_state_dict(*model, half, true, "half.pth");
  EXPECT_EQ(model->a->weight.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(model->a->weight, sd["a.weight"].to(torch::kHalf).to(torch::kFloat)));
}

}  // namespace
}  // namespace mmdg::model
