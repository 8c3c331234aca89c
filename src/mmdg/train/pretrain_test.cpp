#include "mmdg/train/pretrain.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <set>

#include "mmdg/data/synth.h"
#include "mmdg/io/file_util.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/model/vit.h"
#include "mmdg/model/vit_weights.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

TEST(Pretrain, ProxyTaskIsDeterministicAndCoversItsClasses) {
  const auto a = data::generate_proxy_task(120, 32, 5), b = data::generate_proxy_task(120, 32, 5);
  std::set<int> classes;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].label, b[i].label);
    for (int m = 0; m < 3; ++m) EXPECT_EQ(cv::norm(a[i].images[m], b[i].images[m], cv::NORM_INF), 0.0);
    EXPECT_GT(cv::countNonZero(a[i].images[1]), 0);  // a depth reading of the face
    classes.insert(a[i].label);
  }
  EXPECT_EQ(classes.size(), static_cast<std::size_t>(data::kProxyClasses));
}

TEST(Pretrain, WritesTorchvisionLayoutWeightsThatLoadStrictly) {
  test::TempDir dir;
  PretrainOptions o;
  o.config = "vit_tiny";
  o.samples = 64;
  o.held_out = 24;
  o.epochs = 1;
  o.batch_size = 16;
  const auto r = pretrain_vit(o, dir.file("w.pth"));
  EXPECT_TRUE(std::isfinite(r.last_epoch_loss));
  EXPECT_EQ(r.held_out_curve.size(), 1u);
  EXPECT_NEAR(r.chance, 1.0 / 6, 1e-12);
  // the record beside the weights
  const auto record = nlohmann::json::parse(io::read_file(dir.file("w.pth.json")));
  EXPECT_EQ(record["held_out_accuracy"].get<double>(), r.held_out_accuracy);
  EXPECT_EQ(record["options"]["held_out"].get<std::int64_t>(), 24);
  o.warmup = 1.0;
  EXPECT_MMDG_ERROR(pretrain_vit(o, dir.file("x.pth")), "option warmup");
  model::VisionTransformer vit(model::vit_config("vit_tiny").num_classes(data::kProxyClasses));
  const auto report = model::load_vit_weights(*vit, io::read_weights(dir.file("w.pth")), true, "w.pth");
  EXPECT_TRUE(report.complete());
}

}  // namespace
}  // namespace mmdg::train
