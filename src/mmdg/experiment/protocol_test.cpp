#include "mmdg/experiment/protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "mmdg/eval/evaluate.h"
#include "mmdg/experiment/tiny_protocol_test_util.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/model/uncertainty.h"
#include "mmdg/io/file_util.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::experiment {
namespace {

TEST(Protocol, SubProtocolsOfThePaper) {
  const auto p1 = protocol_subs(1), p2 = protocol_subs(2), p3 = protocol_subs(3);
  ASSERT_EQ(p1.size(), 4u);
  EXPECT_EQ(p1[0].sources, "CPS");
  EXPECT_EQ(p1[3].targets, "C");
  ASSERT_EQ(p2.size(), 12u);
  EXPECT_EQ(p2[0].model, "CPS-W");  // Protocol 2 tests Protocol 1's models
  EXPECT_TRUE(p2[11].missing[1] && p2[11].missing[2]);
  ASSERT_EQ(p3.size(), 2u);
  EXPECT_EQ(p3[1].name, "PS->CW");
  EXPECT_MMDG_ERROR(protocol_subs(4), "option --protocol");
  EXPECT_EQ(sub_file_name("CPS->W (D missing)"), "CPS__W__D_missing_");
}

// Two methods on one sub-protocol of synthetic data: runs, resumes nothing twice, merges tables.
TEST(Protocol, RunsAndMergesMethodsIntoOneTable) {
  test::TempDir dir;
  ProtocolArgs a = tiny_protocol(dir);
  a.protocol = 3;
  a.sub = "PS->CW";
  const train::TrainOptions defaults = a.train;
  for (const char* method : {"mmdg", "vit", "vit-uadapter+ssdg"}) {
    use_method(a, method);
    const auto results = run_protocol(a);
    EXPECT_TRUE(results.contains("PS->CW"));
  }
  const auto first_log = io::read_file(dir.file("out/mmdg/PS-CW/log.jsonl"));
  a.model.network = "vit-uadapter";
  a.train = defaults;
  a.method_name = "mmdg";
  a.train.workers = 2;         // not an option of what is trained
  a.train.pmr.until = 0.25;     // another strategy's option: not what mmdg trains
  a.train.regrad_scope = train::ReGradScope::All;  // mmdg's own, unchanged
  run_protocol(a);  // done: no training again
  EXPECT_EQ(io::read_file(dir.file("out/mmdg/PS-CW/log.jsonl")), first_log);
  // the folder holds another method's run: refused, naming the option
  a.train.regrad = train::ReGradVariant::ConflictedOnly;
  EXPECT_MMDG_ERROR(run_protocol(a), "trained with other options: regrad \"full\" (asked: \"conflicted-only\")");
  a.train.regrad = train::ReGradVariant::Full;
  a.pretrained.clear();
  EXPECT_MMDG_ERROR(run_protocol(a), "pretrained given (asked: none)");
  a.pretrained = test::golden("vit_tiny_torchvision.pth");
  const std::string md = io::read_file(dir.file("out/table_p3.md"));
  EXPECT_NE(md.find("| MMDG |"), std::string::npos) << md;  // rows titled as the paper's tables
  EXPECT_NE(md.find("| ViT |"), std::string::npos);
  EXPECT_NE(md.find("| ViT + U-Adapter / SSDG |"), std::string::npos);
  const auto ssdg = nlohmann::json::parse(io::read_file(dir.file("out/vit-uadapter+ssdg/results_p3.json")));
  EXPECT_EQ(ssdg["method"]["strategy"], "ssdg");
  EXPECT_NE(md.find("target-eer"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/table_p3.csv")));
  // the text logs: the protocol's in --out, each training run's in its run directory
  const std::string protocol_log = io::read_file(dir.file("out/protocol.log"));
  EXPECT_NE(protocol_log.find("] [info] [PS-CW] training vit-uadapter+ssdg on PS"), std::string::npos) << protocol_log;
  EXPECT_NE(protocol_log.find("] [debug] step "), std::string::npos) << protocol_log;  // debug lines too
  const std::string run_log = io::read_file(dir.file("out/mmdg/PS-CW/train.log"));
  EXPECT_NE(run_log.find("] [info] run "), std::string::npos) << run_log;
  EXPECT_NE(run_log.find("] [info] epoch 1: val HTER "), std::string::npos) << run_log;
  EXPECT_EQ(run_log.find("vit/PS-CW"), std::string::npos) << run_log;  // another run's messages are not in it
  a.lists_dir = dir.file("nowhere");
  a.sub = "CW->PS";
  EXPECT_MMDG_ERROR(run_protocol(a), "list not found");
}

// Same seed, same data: the scores CSVs of two trainings are identical byte for byte, with the
// random binomial estimator at inference; and a sample's score does not depend on the batch size
// or the number of loading workers it is scored with.
TEST(Protocol, ScoresRepeatBitForBit) {
  test::TempDir dir;
  ProtocolArgs a = tiny_protocol(dir);
  a.model.estimator = model::Estimator::Binomial;
  a.protocol = 3;
  a.sub = "PS->CW";
  a.train.steps_per_epoch = 2;
  a.method_name = "first";
  run_protocol(a);
  a.method_name = "second";
  run_protocol(a);
  const auto csv = [&](const std::string& method) { return io::read_file(scores_csv_path(a.out, method, 3, "PS->CW")); };
  ASSERT_FALSE(csv("first").empty());
  EXPECT_EQ(csv("first"), csv("second"));
  // the results record what produced them: the build, every option, the data's manifest hash
  const auto results = nlohmann::json::parse(io::read_file(dir.file("out/first/results_p3.json")));
  const auto manifest = nlohmann::json::parse(io::read_file(dir.file("data/manifest.json")));
  EXPECT_EQ(results["provenance"]["data_manifest_hash"], manifest["files_hash"]);
  EXPECT_EQ(results["provenance"]["train_options"]["steps_per_epoch"], 2);
  EXPECT_EQ(results["provenance"]["model_options"]["estimator"], "binomial");
  EXPECT_NE(results["provenance"]["mmdg"].get<std::string>().find('('), std::string::npos);

  auto net = infer::load_checkpoint(dir.file("out/first/PS-CW/best.safetensors"));
  const data::MultiDomainDataset test_set({dir.file("data/C-test.txt"), dir.file("data/W-test.txt")}, dir.file("data"),
                                          net->options().backbone.image_size(), data::Normalization::ImageNet);
  // the workers do not change a score; the batch size changes it only by float rounding (the
  // products' blocking), never through the estimator's draws
  const auto one = eval::score_dataset(*net, test_set, 1, torch::kCPU, 0, nullptr, 5);
  const auto seven = eval::score_dataset(*net, test_set, 7, torch::kCPU, 0, nullptr, 5);
  const auto seven_workers = eval::score_dataset(*net, test_set, 7, torch::kCPU, 2, nullptr, 5);
  EXPECT_EQ(seven.live_probability, seven_workers.live_probability);
  double batch_change = 0;
  for (std::size_t i = 0; i < one.live_probability.size(); ++i)
    batch_change = std::max(batch_change, std::abs(one.live_probability[i] - seven.live_probability[i]));
  EXPECT_LT(batch_change, 1e-5);
  // the seed picks the draw (after two steps the adapters barely pass the reliability on to the
  // scores: compared on the reliability itself)
  torch::NoGradGuard no_grad;
  net->eval();
  const auto ex = test_set.get(0);
  const auto x = [&](int m) { return ex.inputs[m].unsqueeze(0); };
  const auto reliability = [&](std::uint64_t seed) {
    const model::KeyedDraws draws(seed, {eval::sample_draw_key(test_set.entry(0))});
    return net->forward(x(0), x(1), x(2), model::ForwardOptions()).reliability[1];
  };
  EXPECT_TRUE(torch::equal(reliability(5), reliability(5)));
  EXPECT_FALSE(torch::equal(reliability(5), reliability(6)));
}

// A finished run scored before is not scored again (scoring is deterministic), also when its
// weights are gone (results restored from an archive without them); a run whose weights or
// done.json changed since is scored again, and one with neither weights nor stored scores is an
// error naming the file.
TEST(Protocol, FinishedRunsKeepTheirScores) {
  namespace fs = std::filesystem;
  test::TempDir dir;
  const auto write = [](const std::string& path, const std::string& text) {
    io::write_file_atomically(path, [&](std::ostream& o) { o << text; });
  };
  ProtocolArgs a = tiny_protocol(dir);
  a.protocol = 3;
  a.sub = "PS->CW";
  use_method(a, "vit");
  run_protocol(a);
  const std::string scores = scores_csv_path(a.out, "vit", 3, "PS->CW");
  const std::string results_file = dir.file("out/vit/results_p3.json");
  const auto first = nlohmann::json::parse(io::read_file(results_file));
  ASSERT_TRUE(first["PS->CW"].contains("run"));
  EXPECT_EQ(first["PS->CW"]["run"]["done"]["best_epoch"], 1);
  EXPECT_EQ(first["PS->CW"]["run"]["weights"].get<std::string>().size(), 16u);
  const std::string first_scores = io::read_file(scores);
  // an old time stamp: written again, the file gets a new one
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(24);
  const auto rescored = [&] { return fs::last_write_time(scores) != old_time; };
  fs::last_write_time(scores, old_time);
  run_protocol(a);
  EXPECT_FALSE(rescored());
  EXPECT_NE(io::read_file(dir.file("out/protocol.log")).find("vit: scored before"), std::string::npos);
  // without the weights: kept too
  const std::string best = dir.file("out/vit/PS-CW/best.safetensors"), moved = dir.file("best.safetensors");
  fs::rename(best, moved);
  run_protocol(a);
  EXPECT_FALSE(rescored());
  // other data: scored again, which needs the weights
  const std::string manifest = io::read_file(dir.file("data/manifest.json"));
  auto changed = nlohmann::json::parse(manifest);
  changed["files_hash"] = "0000000000000000";
  write(dir.file("data/manifest.json"), changed.dump());
  EXPECT_MMDG_ERROR(run_protocol(a), "PS-CW: the run is finished but");
  write(dir.file("data/manifest.json"), manifest);
  // other weights than those scored: scored again, to the same scores
  fs::rename(moved, best);
  auto stored = nlohmann::json::parse(io::read_file(results_file));
  stored["PS->CW"]["run"]["weights"] = "0123456789abcdef";
  write(results_file, stored.dump());
  run_protocol(a);
  EXPECT_TRUE(rescored());
  EXPECT_EQ(io::read_file(scores), first_scores);
  // a done.json that changed (the run trained again): scored again
  auto done = nlohmann::json::parse(io::read_file(dir.file("out/vit/PS-CW/done.json")));
  done["val_hter"] = done["val_hter"].get<double>() + 0.5;
  write(dir.file("out/vit/PS-CW/done.json"), done.dump());
  fs::last_write_time(scores, old_time);
  run_protocol(a);
  EXPECT_TRUE(rescored());
  EXPECT_EQ(io::read_file(scores), first_scores);
}

// --seeds: one run per seed in <method>/seed<k>/, the table's mean +- std over seeds, the test-set
// counts, and the paired bootstrap CI of the ViT's HTER difference to MMDG's.
TEST(Protocol, SeedsGiveSpreadsCountsAndConfidenceIntervals) {
  test::TempDir dir;
  ProtocolArgs a = tiny_protocol(dir);
  a.protocol = 3;  // both sub-protocols: the average column of the CI table
  a.seeds = {0, 1};
  for (const char* method : {"mmdg", "vit"}) {
    use_method(a, method);
    const auto results = run_protocol(a);
    EXPECT_EQ(results["1"]["method"]["seed"], 1);
  }
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/mmdg/seed0/PS-CW/best.safetensors")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/vit/seed1/results_p3.json")));
  const auto w0 = io::read_file(dir.file("out/mmdg/seed0/PS-CW/last.safetensors"));
  const auto w1 = io::read_file(dir.file("out/mmdg/seed1/PS-CW/last.safetensors"));
  EXPECT_NE(w0, w1);  // the seeds train differently
  const std::string md = io::read_file(dir.file("out/table_p3.md"));
  EXPECT_NE(md.find("| MMDG (2 seeds) | 2 |"), std::string::npos) << md;
  EXPECT_LT(md.find("| ViT (2 seeds) |"), md.find("| MMDG (2 seeds) |")) << md;  // the paper's row order: MMDG last
  EXPECT_NE(md.find(" +- "), std::string::npos) << md;
  EXPECT_NE(md.find("Test sets: CW->PS "), std::string::npos) << md;
  EXPECT_NE(md.find(" PS->CW "), std::string::npos) << md;
  EXPECT_NE(md.find("HTER difference to MMDG"), std::string::npos) << md;
  EXPECT_NE(md.find("| ViT (2 seeds) | "), std::string::npos) << md;
  const auto table = nlohmann::json::parse(io::read_file(dir.file("out/table_p3.json")));
  const auto& ci = table["rows"]["ViT (2 seeds)"]["PS->CW"]["hter_difference_to_mmdg"];
  EXPECT_EQ(ci["seeds"], 2);
  EXPECT_EQ(ci["units"], "videos");  // the scores CSVs name each sample's video
  const auto& average = table["rows"]["ViT (2 seeds)"]["average_hter_difference_to_mmdg"];
  EXPECT_EQ(average["seeds"], 2);
  EXPECT_LE(average["low"].get<double>(), average["observed"].get<double>());
  EXPECT_NEAR(average["observed"].get<double>(),
              (ci["observed"].get<double>() + table["rows"]["ViT (2 seeds)"]["CW->PS"]["hter_difference_to_mmdg"]["observed"].get<double>()) / 2,
              1e-12);
  EXPECT_LE(ci["low"].get<double>(), ci["observed"].get<double>());
  EXPECT_GE(ci["high"].get<double>(), ci["observed"].get<double>());
  const auto& hters = table["rows"]["MMDG (2 seeds)"]["PS->CW"]["hter"];
  ASSERT_EQ(hters.size(), 2u);
  const auto seed1 = nlohmann::json::parse(io::read_file(dir.file("out/mmdg/seed1/results_p3.json")));
  EXPECT_EQ(hters[1].get<double>(), seed1["PS->CW"]["policies"]["target-eer"]["hter"].get<double>());
  // the per-attack table: each seed's ISO/IEC 30107-3 metrics at the target-eer threshold
  const auto attacks = nlohmann::json::parse(io::read_file(dir.file("out/table_p3_attacks.json")));
  const auto& vit = attacks["rows"]["ViT (2 seeds)"]["PS->CW"];
  const auto vit1 = nlohmann::json::parse(io::read_file(dir.file("out/vit/seed1/results_p3.json")))["PS->CW"];
  const auto& point = vit1["per_attack"]["policies"]["target-eer"];
  ASSERT_EQ(vit["apcer_pais"].size(), 2u);
  EXPECT_EQ(vit["apcer_pais"][1].get<double>(), point["apcer_pais"].get<double>());
  EXPECT_EQ(vit["bpcer_at_apcer_5"][1].get<double>(), vit1["per_attack"]["bpcer_at_apcer"]["5%"].get<double>());
  double worst = 0;
  for (const auto& [species, e] : point["apcer"].items()) {
    EXPECT_EQ(vit["APCER " + species][1].get<double>(), e["apcer"].get<double>()) << species;
    worst = std::max(worst, e["apcer"].get<double>());
  }
  EXPECT_GE(point["apcer"].size(), 2u);  // the synthetic target domains have several attack types
  EXPECT_EQ(point["apcer_pais"].get<double>(), worst);
  for (int k = 0; k < 2; ++k)
    EXPECT_NEAR(vit["acer"][k].get<double>(), (vit["apcer_pais"][k].get<double>() + vit["bpcer"][k].get<double>()) / 2, 1e-12);
  const std::string attacks_md = io::read_file(dir.file("out/table_p3_attacks.md"));
  EXPECT_NE(attacks_md.find("### PS->CW"), std::string::npos) << attacks_md;
  EXPECT_NE(attacks_md.find("| MMDG (2 seeds) | 2 |"), std::string::npos) << attacks_md;
  // score files are named relative to --out: the folder can move and its tables be rewritten
  EXPECT_EQ(seed1["PS->CW"]["scores"], "mmdg/seed1/scores_p3_PS__CW.csv");
  std::filesystem::rename(dir.file("out"), dir.file("moved"));
  const std::string again = write_tables(dir.file("moved"), 3);
  EXPECT_NE(again.find("HTER difference to MMDG"), std::string::npos) << again;
  EXPECT_EQ(again, md);
}

// Table 1's networks of their own train on a Protocol 1 sub-protocol and are tested with Protocol
// 2's missing modalities; the tables list them in the paper's order and naming.
TEST(Protocol, ComparisonNetworksThroughProtocols1And2) {
  test::TempDir dir;
  ProtocolArgs a = tiny_protocol(dir);
  a.sub = "CPS-W";
  const auto model = a.model;
  for (const char* method : {"vp-fas", "mm-cdcn", "vit-ama", "vitaf"}) {  // not in table order
    a.model = model;
    use_method(a, method);
    for (int protocol : {1, 2}) {
      a.protocol = protocol;
      const auto results = run_protocol(a);
      EXPECT_EQ(results.size(), (protocol == 1 ? 1u : 3u) + 2) << method << " " << protocol;  // + method, provenance
    }
  }
  const std::string md = io::read_file(dir.file("out/table_p2.md"));
  const auto at = [&](const std::string& title) { return md.find("| " + title + " |"); };
  ASSERT_NE(at("ViTAF"), std::string::npos) << md;
  EXPECT_LT(at("ViTAF"), at("MM-CDCN")) << md;
  EXPECT_LT(at("MM-CDCN"), at("ViT + AMA")) << md;
  EXPECT_LT(at("ViT + AMA"), at("VP-FAS")) << md;
  EXPECT_NE(at("VP-FAS"), std::string::npos) << md;
}

// All three protocols end to end at a tiny size: every cell of every table filled, a ROC figure
// per sub-protocol; Protocol 2 reuses Protocol 1's models.
TEST(Protocol, AllThreeProtocolsAtATinySize) {
  test::TempDir dir;
  ProtocolArgs a = tiny_protocol(dir);
  a.method_name = "mmdg";
  for (int protocol : {1, 2, 3}) {
    a.protocol = protocol;
    const auto results = run_protocol(a);
    EXPECT_EQ(results.size(), protocol_subs(protocol).size() + 2) << protocol;  // + the "method" and "provenance" records
    EXPECT_EQ(results["method"]["strategy"], "regrad");
    const auto table = nlohmann::json::parse(io::read_file(dir.file("out/table_p" + std::to_string(protocol) + ".json")));
    EXPECT_EQ(table["rows"]["MMDG"].size(), protocol_subs(protocol).size());
    const std::string md = io::read_file(dir.file("out/table_p" + std::to_string(protocol) + ".md"));
    EXPECT_EQ(md.find("| - |"), std::string::npos) << md;  // averages present: no missing cell
    for (const auto& sub : protocol_subs(protocol)) {
      const std::string file = sub_file_name(sub.name);
      EXPECT_TRUE(std::filesystem::exists(dir.file("out/roc_p" + std::to_string(protocol) + "_" + file + ".png"))) << file;
    }
  }
  // Protocol 2 trained nothing new: only Protocol 1's and 3's models exist
  std::size_t runs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("out/mmdg")))
    runs += entry.is_directory() ? 1 : 0;
  EXPECT_EQ(runs, 6u);
}

}  // namespace
}  // namespace mmdg::experiment
