#include "mmdg/infer/deployment.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mmdg/data/image.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::infer {
namespace {

Deployment half_with_point(double threshold) {
  return {data::Normalization::Half, OperatingPoint{threshold, "source-val EER threshold of the best epoch", 3, 0.125, NAN}, true};
}

model::Network tiny_network() {
  auto o = model::NetworkOptions::preset("mmdg_tiny");
  o.estimator = model::Estimator::Expected;  // deterministic scores
  torch::manual_seed(0);
  return model::make_network(o);
}

TEST(Deployment, RecordRoundTripsThroughACheckpoint) {
  test::TempDir dir;
  auto net = tiny_network();
  const auto S = net->options().backbone.image_size();
  save_checkpoint(dir.file("c.safetensors"), *net, half_with_point(0.375));
  const auto d = read_deployment(dir.file("c.safetensors"), S);
  EXPECT_TRUE(d.recorded);
  EXPECT_EQ(d.normalization, data::Normalization::Half);
  ASSERT_TRUE(d.operating_point.has_value());
  EXPECT_EQ(d.operating_point->threshold, 0.375);
  EXPECT_EQ(d.operating_point->epoch, 3);
  EXPECT_EQ(d.operating_point->val_hter, 0.125);
  EXPECT_TRUE(std::isnan(d.operating_point->val_auc));  // null in JSON
  // the input description states the pipeline a C++ or Python consumer reimplements
  const auto j = nlohmann::json::parse(io::read_safetensors_metadata(dir.file("c.safetensors")).at("mmdg_deployment"));
  EXPECT_EQ(j["input"]["image_size"], S);
  EXPECT_EQ(j["input"]["modalities"], nlohmann::json({"rgb", "depth", "ir"}));
  EXPECT_NEAR(j["input"]["mean"][0].get<double>(), 0.5, 1e-9);
  EXPECT_NEAR(j["input"]["std"][0].get<double>(), 128.0 / 255, 1e-9);

  // without a validation set: the pipeline, no threshold
  save_checkpoint(dir.file("n.safetensors"), *net, Deployment{data::Normalization::ImageNet, std::nullopt, true});
  const auto n = read_deployment(dir.file("n.safetensors"), S);
  EXPECT_TRUE(n.recorded);
  EXPECT_FALSE(n.operating_point.has_value());
  EXPECT_EQ(n.threshold(), kDefaultThreshold);

  // a checkpoint without the record (older, imported): defaults, not recorded
  save_checkpoint(dir.file("old.safetensors"), *net, std::nullopt);
  EXPECT_FALSE(read_deployment(dir.file("old.safetensors"), S).recorded);
  EXPECT_FALSE(read_deployment(test::golden("mmdg_tiny_released.pth"), S).recorded);
}

TEST(Deployment, BadRecordsAreNamed) {
  const auto good = half_with_point(0.4).to_json(32);
  EXPECT_NO_THROW(Deployment::from_json(good, 32, "x"));
  EXPECT_MMDG_ERROR(Deployment::from_json(good, 64, "ckpt"), "image_size 32 is not the network's 64");
  auto j = good;
  j["input"]["normalization"] = "zscore";
  EXPECT_MMDG_ERROR(Deployment::from_json(j, 32, "ckpt"), "zscore");
  j = good;
  j["input"]["modalities"] = {"ir", "depth", "rgb"};
  EXPECT_MMDG_ERROR(Deployment::from_json(j, 32, "ckpt"), "modality order");
  j = good;
  j["operating_point"]["threshold"] = 1.5;
  EXPECT_MMDG_ERROR(Deployment::from_json(j, 32, "ckpt"), "not in [0, 1]");
  j = good;
  j["operating_point"]["threshold"] = "high";
  EXPECT_MMDG_ERROR(Deployment::from_json(j, 32, "ckpt"), "'threshold'");
  EXPECT_MMDG_ERROR(Deployment::from_json(nlohmann::json::array(), 32, "ckpt"), "no 'input'");
  j = good;  // a raw nlohmann-json type error before
  j["operating_point"]["source"] = 3;
  EXPECT_MMDG_ERROR(Deployment::from_json(j, 32, "ckpt"), "ckpt operating_point: 'source' is missing or has the wrong type");
}

TEST(Deployment, FlagsOverrideWithAWarningAndOldCheckpointsGetANote) {
  std::vector<std::string> notes;
  auto c = choose_scoring(half_with_point(0.4), std::nullopt, std::nullopt, notes);
  EXPECT_EQ(c.normalization, data::Normalization::Half);
  EXPECT_EQ(c.threshold, 0.4);
  EXPECT_TRUE(notes.empty());
  c = choose_scoring(half_with_point(0.4), data::Normalization::ImageNet, 0.7, notes);
  EXPECT_EQ(c.normalization, data::Normalization::ImageNet);
  EXPECT_EQ(c.threshold, 0.7);
  EXPECT_EQ(c.threshold_source, "given");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("overrides the checkpoint's half"), std::string::npos) << notes[0];
  EXPECT_NE(notes[1].find("overrides the checkpoint's 0.4"), std::string::npos) << notes[1];
  notes.clear();
  Deployment old;
  old.recorded = false;
  c = choose_scoring(old, std::nullopt, std::nullopt, notes);
  EXPECT_EQ(c.normalization, data::Normalization::ImageNet);
  EXPECT_EQ(c.threshold, 0.5);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("records no input pipeline"), std::string::npos) << notes[0];
}

// The predictor scores raw crops with the checkpoint's normalization and decides at its threshold.
TEST(Deployment, PredictorUsesTheStoredPipelineAndThreshold) {
  test::TempDir dir;
  auto net = tiny_network();
  const auto S = net->options().backbone.image_size();
  torch::manual_seed(1);
  std::vector<std::array<torch::Tensor, 3>> crops;
  for (int i = 0; i < 4; ++i) crops.push_back({torch::rand({3, 40, 48}), torch::rand({3, 40, 48}), torch::rand({3, 40, 48})});
  // the reference: the network on inputs normalized by hand with `half`, (x * 255 - 127.5) / 128
  std::array<std::vector<torch::Tensor>, 3> inputs;
  for (const auto& c : crops)
    for (int m = 0; m < 3; ++m) inputs[m].push_back((data::resize_image(c[m], S) * 255 - 127.5) / 128);
  torch::Tensor want;
  {
    torch::NoGradGuard no_grad;
    net->eval();
    want = torch::softmax(net->forward(torch::stack(inputs[0]), torch::stack(inputs[1]), torch::stack(inputs[2])).logits, -1)
               .select(1, 1);
  }
  const double threshold = want.median().item<double>();
  save_checkpoint(dir.file("c.safetensors"), *net, half_with_point(threshold));
  Predictor predictor(dir.file("c.safetensors"));
  EXPECT_TRUE(predictor.notes().empty());
  const auto p = predictor.predict_crops(crops);
  EXPECT_TRUE(torch::allclose(p.live_probability, want, 1e-5, 1e-6)) << p.live_probability << want;
  ASSERT_EQ(p.live.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(p.live[i], want[i].item<double>() >= threshold) << i;
  // overriding the normalization changes the scores (and says so)
  PredictorOptions imagenet;
  imagenet.normalization = data::Normalization::ImageNet;
  Predictor other(dir.file("c.safetensors"), imagenet);
  EXPECT_EQ(other.notes().size(), 1u);
  EXPECT_FALSE(torch::allclose(other.predict_crops(crops).live_probability, want, 1e-4, 1e-5));
  // a missing modality may be left undefined when marked missing; an absent one otherwise is named
  auto no_ir = crops;
  for (auto& c : no_ir) c[2] = torch::Tensor();
  EXPECT_NO_THROW(predictor.predict_crops(no_ir, {false, false, true}));
  EXPECT_MMDG_ERROR(predictor.predict_crops(no_ir), "no ir image");
  EXPECT_MMDG_ERROR(predictor.predict_crops({{torch::rand({40, 48}), crops[0][1], crops[0][2]}}), "(3, H, W)");
}

}  // namespace
}  // namespace mmdg::infer
