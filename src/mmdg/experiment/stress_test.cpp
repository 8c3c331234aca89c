#include "mmdg/experiment/stress.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "mmdg/data/dataset.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/eval/metrics.h"
#include "mmdg/experiment/tiny_protocol_test_util.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/io/file_util.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::experiment {
namespace {

// Two methods trained for two steps, stressed on a target list: the clean point equals plain
// scoring at the deployed threshold; intervals hold their values; areas and their difference; the
// uncertainty's AUROC for the network that has one; a rerun reads the kept scores.
TEST(Stress, CurvesAreasDifferencesAndResume) {
  test::TempDir dir;
  ProtocolArgs p = tiny_protocol(dir);
  p.model.estimator = model::Estimator::Binomial;
  p.protocol = 3;
  p.sub = "PS->CW";
  p.train.steps_per_epoch = 2;
  for (const char* method : {"mmdg", "vit"}) {
    use_method(p, method);
    run_protocol(p);
  }
  StressArgs a;
  a.protocol_dir = dir.file("out");
  a.sub = "PS-CW";
  a.list = dir.file("data/W-test.txt");
  a.data_root = dir.file("data");
  a.out = dir.file("stress");
  a.corruptions = {"depth_dropout", "ir_gain"};
  a.severities = {0, 0.25, 1};
  a.resamples = 50;
  a.seed = 3;
  const auto models = stress_models(a);
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].first, "mmdg");
  {  // a finished run without its weights is refused, not left out
    const std::string best = dir.file("out/vit/PS-CW/best.safetensors"), moved = dir.file("vit_best.safetensors");
    std::filesystem::rename(best, moved);
    EXPECT_MMDG_ERROR(stress_models(a), "PS-CW is a finished run without its weights");
    std::filesystem::rename(moved, best);
  }
  const auto r = run_stress(a);

  // the clean point: plain scoring of the list (the same per-sample draws) at the deployed threshold
  infer::PredictorOptions po;
  po.draw_seed = 3;
  infer::Predictor mmdg(models[0].second[0], po);
  const data::MultiDomainDataset set({a.list}, a.data_root, mmdg.network().options().backbone.image_size(), mmdg.scoring().normalization);
  const auto clean = eval::score_dataset(mmdg.network(), set, a.batch_size, torch::kCPU, 0, nullptr, 3);
  const double expected = eval::at_threshold(clean.live_probability, clean.labels, mmdg.scoring().threshold).hter;
  const auto& curve = r["corruptions"]["depth_dropout"]["models"]["mmdg"];
  EXPECT_DOUBLE_EQ(curve["hter_deployed"][0]["value"].get<double>(), expected);
  EXPECT_DOUBLE_EQ(r["corruptions"]["ir_gain"]["models"]["mmdg"]["hter_deployed"][0]["value"].get<double>(), expected);
  for (const auto& [name, c] : r["corruptions"].items())
    for (const auto& [model, m] : c["models"].items())
      for (const char* metric : {"hter_deployed", "hter_target_eer", "auc"})
        for (const auto& point : m[metric]) {
          EXPECT_LE(point["low"].get<double>(), point["value"].get<double>() + 1e-12) << name << " " << model << " " << metric;
          EXPECT_GE(point["high"].get<double>(), point["value"].get<double>() - 1e-12) << name << " " << model << " " << metric;
        }
  // the area: the trapezoid mean of the curve
  const auto v = [&](int i) { return curve["hter_deployed"][i]["value"].get<double>(); };
  EXPECT_NEAR(curve["area_hter_deployed"]["value"].get<double>(), 0.25 * (v(0) + v(1)) / 2 + 0.75 * (v(1) + v(2)) / 2, 1e-12);
  EXPECT_NEAR(curve["degradation_hter_deployed"]["value"].get<double>(),
              curve["area_hter_deployed"]["value"].get<double>() - v(0), 1e-12);
  const auto& pairs = r["corruptions"]["depth_dropout"]["differences"];
  ASSERT_EQ(pairs.size(), 1u);
  const auto& vit = r["corruptions"]["depth_dropout"]["models"]["vit"];
  for (const char* what : {"area", "degradation"}) {
    EXPECT_NEAR(pairs[0][what]["value"].get<double>(),
                curve[std::string(what) + "_hter_deployed"]["value"].get<double>() -
                    vit[std::string(what) + "_hter_deployed"]["value"].get<double>(),
                1e-12)
        << what;
    EXPECT_LE(pairs[0][what]["low"].get<double>(), pairs[0][what]["value"].get<double>() + 1e-12);
  }
  // the uncertainty's AUROC: MMDG on a local corruption, not the ViT, not at s = 0, not for a global one
  const auto& au = curve["uncertainty_auroc"];
  EXPECT_TRUE(au[0][0].is_null());
  ASSERT_TRUE(au[1][0].is_object());
  EXPECT_GE(au[1][0]["value"].get<double>(), 0.0);
  EXPECT_LE(au[1][0]["value"].get<double>(), 1.0);
  EXPECT_TRUE(r["corruptions"]["depth_dropout"]["models"]["vit"]["uncertainty_auroc"][1][0].is_null());
  EXPECT_TRUE(r["corruptions"]["ir_gain"]["models"]["mmdg"]["uncertainty_auroc"][1][0].is_null());
  EXPECT_FALSE(r["corruptions"]["depth_dropout"]["models"]["mmdg"]["apcer_deployed"][2].empty());
  for (const char* file : {"stress.json", "stress.csv", "stress.md", "stress_depth_dropout.csv"})
    EXPECT_TRUE(std::filesystem::exists(dir.file("stress/" + std::string(file)))) << file;
  // a rerun reads the kept scores (one file per checkpoint, named by its weights' hash): a changed
  // kept score shows in the results
  const auto records = nlohmann::json::parse(io::read_file(dir.file("stress/checkpoints.json")));
  const auto& mmdg_record = records.at(models[0].second[0]);
  EXPECT_DOUBLE_EQ(mmdg_record["threshold"].get<double>(), mmdg.scoring().threshold);
  EXPECT_EQ(mmdg_record["done"]["best_epoch"], 1);
  const std::string kept = dir.file("stress/scores/ir_gain/s1.00/" + mmdg_record["weights"].get<std::string>() + ".json");
  auto j = nlohmann::json::parse(io::read_file(kept));
  EXPECT_EQ(j["checkpoint"], models[0].second[0]);
  for (auto& x : j["probability"]) x = 1.0;  // every sample live for mmdg at s = 1
  io::write_file_atomically(kept, [&](std::ostream& o) { o << j.dump(); });
  const auto again = run_stress(a);
  EXPECT_DOUBLE_EQ(again["corruptions"]["ir_gain"]["models"]["mmdg"]["hter_deployed"][2]["value"].get<double>(), 0.5);
  EXPECT_EQ(again["corruptions"]["depth_dropout"], r["corruptions"]["depth_dropout"]);
  {  // the ViT's weights gone (a run restored without them): it joins from its record and its
     // kept scores, with the same results; a severity it was not stressed at is an error
    const std::string best = dir.file("out/vit/PS-CW/best.safetensors"), moved = dir.file("vit_best.safetensors");
    std::filesystem::rename(best, moved);
    EXPECT_EQ(stress_models(a).size(), 2u);
    const auto without = run_stress(a);
    EXPECT_EQ(without["corruptions"], again["corruptions"]);
    StressArgs more = a;
    more.severities = {0, 0.5};
    EXPECT_MMDG_ERROR(run_stress(more), "vit/PS-CW/best.safetensors: not here, and");
    // retrained since (another done.json): refused
    const std::string done = dir.file("out/vit/PS-CW/done.json");
    const std::string done_text = io::read_file(done);
    io::write_file_atomically(done, [&](std::ostream& o) { o << R"({"best_epoch": 7})"; });
    EXPECT_MMDG_ERROR(stress_models(a), "has not stressed before");
    io::write_file_atomically(done, [&](std::ostream& o) { o << done_text; });
    std::filesystem::rename(moved, best);
  }

  // PADISI-format samples (.npz, the attack type in the list's field)
  a.list = dir.file("data/P-test.txt");
  a.corruptions = {"ir_saturation"};
  a.severities = {0, 1};
  a.out = dir.file("stress_p");
  const auto p_result = run_stress(a);
  const auto& apcer = p_result["corruptions"]["ir_saturation"]["models"]["mmdg"]["apcer_deployed"][1];
  EXPECT_FALSE(apcer.empty());
  for (const auto& [species, value] : apcer.items()) EXPECT_NE(species, "unknown");

  a.severities = {0.5, 0};
  EXPECT_MMDG_ERROR(run_stress(a), "option --severities: give increasing values");
  a.severities = {0, 1};
  a.corruptions = {"fog"};
  EXPECT_MMDG_ERROR(run_stress(a), "unknown corruption 'fog'");
  a.corruptions = {"ir_gain"};
  a.checkpoints = {"x=/nowhere.safetensors"};
  EXPECT_MMDG_ERROR(run_stress(a), "give one of them");
}

}  // namespace
}  // namespace mmdg::experiment
