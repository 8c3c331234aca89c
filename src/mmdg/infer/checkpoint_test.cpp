#include "mmdg/infer/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/io/safetensors.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/util/error.h"
#include "mmdg/util/settings.h"
#include "mmdg/util/test_util.h"

namespace mmdg::infer {
namespace {

model::NetworkOptions golden_options() {
  auto o = model::NetworkOptions::preset("mmdg_tiny");
  const auto& g = test::expected()["mmdg_tiny"];
  EXPECT_EQ(o.adapter_dim, g["adapter_dim"].get<std::int64_t>());
  EXPECT_EQ(o.adapter_heads, g["adapter_heads"].get<std::int64_t>());
  EXPECT_EQ(o.cdc_theta, g["theta"].get<double>());
  EXPECT_EQ(o.mc_drop_rate, g["drop_rate"].get<double>());
  EXPECT_EQ(o.reliability_rate, g["rate"].get<double>());
  o.estimator = model::Estimator::LargeT;  // deterministic, as the reference (make_golden.py)
  return o;
}

// The whole network against the independent PyTorch forward of tests/golden/make_golden.py,
// loaded from a checkpoint in the released code's layout written by torch.save.
TEST(Checkpoint, ReleasedLayoutCheckpointMatchesThePyTorchReference) {
  auto net = load_checkpoint(test::golden("mmdg_tiny_released.pth"), golden_options());
  const auto io = io::read_safetensors(test::golden("mmdg_tiny_io.safetensors"));
  torch::NoGradGuard no_grad;
  const auto out = net->forward(io["rgb"], io["depth"], io["ir"]);
  const auto close = [](const torch::Tensor& a, const torch::Tensor& b) { return torch::allclose(a, b, 1e-4, 1e-5); };
  EXPECT_TRUE(close(out.logits, io["logits"])) << out.logits << io["logits"];
  const char* names[] = {"rgb", "depth", "ir"};
  for (int m = 0; m < 3; ++m) {
    EXPECT_TRUE(close(out.features[m], io[std::string("feat_") + names[m]])) << names[m];
    EXPECT_TRUE(close(out.reliability[m], io[std::string("rel_") + names[m]])) << names[m];
  }
}

TEST(Checkpoint, PlainStateDictNeedsOptions) {
  EXPECT_MMDG_ERROR(load_checkpoint(test::golden("mmdg_tiny_released.pth")), "--config");
  auto wrong = golden_options();
  wrong.adapter_dim = 8;
  wrong.adapter_heads = 8;
  EXPECT_MMDG_ERROR(load_checkpoint(test::golden("mmdg_tiny_released.pth"), wrong), "adapter_down_1.weight");
}

TEST(Checkpoint, SaveLoadKeepsOptionsAndWeights) {
  test::TempDir dir;
  auto options = golden_options();
  options.head = model::Head::PerModality;
  model::Network net = model::make_network(options);
  save_checkpoint(dir.file("c.safetensors"), *net, std::nullopt, {{"epoch", 3}});
  const auto stored = read_checkpoint_options(dir.file("c.safetensors"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(settings::to_json(*stored), settings::to_json(options));
  EXPECT_EQ(io::read_safetensors_metadata(dir.file("c.safetensors")).at("epoch"), "3");
  auto back = load_checkpoint(dir.file("c.safetensors"));
  const auto a = model::module_state_dict(*net), b = model::module_state_dict(*back);
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
}

// A checkpoint of an earlier version names its network by `method` in its options: it still loads.
TEST(Checkpoint, EarlierVersionsLoad) {
  test::TempDir dir;
  for (const auto& [method, network] : std::vector<std::pair<std::string, std::string>>{{"mmdg", "vit-uadapter"}, {"vit", "vit-concat"}}) {
    auto options = golden_options();
    options.network = network;
    model::Network net = model::make_network(options);
    auto json = settings::to_json(options);
    json.erase("network");
    json["method"] = method;
    io::write_safetensors(dir.file(method + ".safetensors"), model::module_state_dict(*net),
                          {{"mmdg_format", "mmdg-checkpoint-1"}, {"mmdg_options", json.dump()}});
    auto back = load_checkpoint(dir.file(method + ".safetensors"));
    EXPECT_EQ(back->options().network, network);
    const auto a = model::module_state_dict(*net), b = model::module_state_dict(*back);
    for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  }
}

// Export to the released layout and import back: bit-identical, through .pth and safetensors.
TEST(Checkpoint, ExportImportRoundTripIsBitIdentical) {
  test::TempDir dir;
  auto original = load_checkpoint(test::golden("mmdg_tiny_released.pth"), golden_options());
  const auto want = model::module_state_dict(*original);
  for (const char* name : {"released.pth", "released.safetensors"}) {
    export_released(dir.file(name), *original);
    EXPECT_FALSE(read_checkpoint_options(dir.file(name)).has_value());
    auto imported = load_checkpoint(dir.file(name), golden_options());
    const auto got = model::module_state_dict(*imported);
    ASSERT_EQ(got.keys(), want.keys());
    for (const auto& item : want) EXPECT_TRUE(torch::equal(item.value(), got[item.key()])) << name << " " << item.key();
  }
  // the exported .pth holds exactly the torch.save file's tensors
  const auto reference = io::read_torch_checkpoint(test::golden("mmdg_tiny_released.pth"));
  const auto exported = io::read_torch_checkpoint(dir.file("released.pth"));
  ASSERT_EQ(reference.size(), exported.size());
  for (const auto& item : reference) EXPECT_TRUE(torch::equal(item.value(), exported[item.key()])) << item.key();
}

}  // namespace
}  // namespace mmdg::infer
