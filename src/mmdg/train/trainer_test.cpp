#include "mmdg/train/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <algorithm>
#include <fstream>

#include "mmdg/eval/evaluate.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/io/file_util.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/train/state_commit.h"
#include "mmdg/train/tiny_benchmark_test_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::train {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    write_tiny_benchmark(dir_->file("data"));
  }
  static void TearDownTestSuite() { delete dir_; }

  static TrainData data() {
    TrainData d;
    d.train_lists = {dir_->file("data/C-train.txt"), dir_->file("data/W-train.txt")};
    d.val_lists = {dir_->file("data/W-val.txt")};
    d.data_root = dir_->file("data");
    d.pretrained = test::golden("vit_tiny_torchvision.pth");
    return d;
  }
  static model::NetworkOptions model() {
    auto m = model::NetworkOptions::preset("mmdg_tiny");
    m.estimator = model::Estimator::Binomial;
    return m;
  }
  static TrainOptions options() {
    auto t = tiny_train_options();
    t.augment.cutout = 0.2;
    return t;
  }
  static io::StateDict weights(const std::string& run) { return io::read_safetensors(run + "/last.safetensors"); }
  static test::TempDir* dir_;
};
test::TempDir* TrainerTest::dir_ = nullptr;

TEST_F(TrainerTest, ResumeAfterAnInterruptionIsExact) {
  test::TempDir runs;
  const auto full = Trainer(model(), options(), data(), runs.file("full")).run();
  ASSERT_TRUE(full.completed);
  const auto a = weights(runs.file("full"));
  // 4 steps: in the middle of epoch 2; 3 steps: at the end of epoch 1 (3 steps per epoch)
  for (std::int64_t cut : {4, 3}) {
    const std::string run = runs.file("cut" + std::to_string(cut));
    auto interrupted_options = options();
    interrupted_options.interrupt_after_steps = cut;
    const auto first = Trainer(model(), interrupted_options, data(), run).run();
    EXPECT_FALSE(first.completed) << cut;
    // as if killed later, after logging steps it never checkpointed (and a line cut short)
    {
      std::ofstream log(run + "/log.jsonl", std::ios::app);
      log << nlohmann::json{{"type", "step"}, {"epoch", 2}, {"step", 3}, {"global_step", cut + 1}, {"loss", 1.0}}.dump() << "\n"
          << "{\"type\":\"st";
    }
    const auto second = Trainer::resume(run).run();
    ASSERT_TRUE(second.completed) << cut;
    const auto b = weights(run);
    ASSERT_EQ(a.keys(), b.keys());
    for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << cut << " " << item.key();
    EXPECT_EQ(full.best_hter, second.best_hter);
    // the log holds each step and epoch once, in order, and marks the resumption
    const auto events = [](const std::string& path) {
      std::vector<std::string> out;
      std::ifstream in(path);
      for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line);
        out.push_back(j["type"].get<std::string>() + "@" + std::to_string(j["global_step"].get<std::int64_t>()));
      }
      return out;
    };
    auto resumed = events(run + "/log.jsonl");
    const auto marker = std::find(resumed.begin(), resumed.end(), "resume@" + std::to_string(cut));
    ASSERT_NE(marker, resumed.end()) << cut;
    resumed.erase(marker);
    EXPECT_EQ(resumed, events(runs.file("full/log.jsonl"))) << cut;
    // nothing left half-written
    for (const auto& entry : std::filesystem::directory_iterator(run))
      EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

// --patience stops at the first epoch whose validation loss is `patience` epochs past the lowest
// (replayed from the logged losses); every epoch line carries the U-Adapters' up-projection norms,
// which start at zero and move.
TEST_F(TrainerTest, PatienceStopsOnAPlateauAndTheAdaptersMove) {
  test::TempDir runs;
  auto o = options();
  o.epochs = 8;
  o.patience = 1;
  o.steps_per_epoch = 2;
  const auto r = Trainer(model(), o, data(), runs.file("run")).run();
  ASSERT_TRUE(r.completed);
  std::vector<double> losses;
  std::ifstream in(runs.file("run/log.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["type"] != "epoch") continue;
    losses.push_back(j["val_loss"].get<double>());
    ASSERT_EQ(j["adapter_up_norm"].size(), 4u) << line;
    for (const auto& [family, norm] : j["adapter_up_norm"].items()) EXPECT_GT(norm.get<double>(), 0.0) << family;
  }
  std::int64_t expected = o.epochs, best_epoch = 0;
  double best = 1e300;
  for (std::size_t e = 0; e < losses.size(); ++e) {
    if (losses[e] < best) best = losses[e], best_epoch = static_cast<std::int64_t>(e) + 1;
    if (static_cast<std::int64_t>(e) + 1 - best_epoch >= o.patience && static_cast<std::int64_t>(e) + 1 < o.epochs) {
      expected = static_cast<std::int64_t>(e) + 1;
      break;
    }
  }
  EXPECT_EQ(r.epochs_done, expected);
  EXPECT_EQ(static_cast<std::int64_t>(losses.size()), expected);
  EXPECT_EQ(r.stopped_early, expected < o.epochs);
  if (r.stopped_early) {  // resuming a stopped run trains nothing more
    const auto again = Trainer::resume(runs.file("run")).run();
    EXPECT_TRUE(again.stopped_early);
    EXPECT_EQ(again.epochs_done, expected);
  }
}

TEST_F(TrainerTest, EveryReGradVariantTrainsAndTheLossGoesDown) {
  for (const char* variant : {"full", "conflicted-only", "unconflicted-only", "none"}) {
    test::TempDir runs;
    auto o = options();
    o.regrad = parse_enum<ReGradVariant>(variant, "regrad");
    o.epochs = 4;
    o.steps_per_epoch = 4;
    o.lr = 2e-3;
    Trainer(model(), o, data(), runs.file("run")).run();
    std::ifstream log(runs.file("run/log.jsonl"));
    std::vector<double> epoch_losses;
    std::int64_t modulated = -1;
    for (std::string line; std::getline(log, line);) {
      const auto j = nlohmann::json::parse(line);
      if (j["type"] == "epoch") epoch_losses.push_back(j["loss"].get<double>());
      else modulated = j["modulated_tensors"].get<std::int64_t>();
    }
    ASSERT_EQ(epoch_losses.size(), 4u) << variant;
    EXPECT_LT(epoch_losses.back(), epoch_losses.front()) << variant;
    EXPECT_EQ(modulated, 118) << variant;
    EXPECT_TRUE(std::filesystem::exists(runs.file("run/best.safetensors")));
  }
}

// best.safetensors carries the input pipeline and the best epoch's source-val EER threshold, as
// the log recorded them; last.safetensors the same operating point.
TEST_F(TrainerTest, CheckpointsCarryTheirOperatingPoint) {
  test::TempDir runs;
  auto o = options();
  o.normalization = data::Normalization::Half;
  o.epochs = 2;
  o.steps_per_epoch = 2;
  Trainer(model(), o, data(), runs.file("run")).run();
  std::ifstream log(runs.file("run/log.jsonl"));
  nlohmann::json best;
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["type"] == "epoch" && j["best"].get<bool>()) best = j;
  }
  ASSERT_FALSE(best.is_null());
  const auto S = model().backbone.image_size();
  for (const char* file : {"run/best.safetensors", "run/last.safetensors"}) {
    const auto d = infer::read_deployment(runs.file(file), S);
    EXPECT_TRUE(d.recorded) << file;
    EXPECT_EQ(d.normalization, data::Normalization::Half) << file;
    ASSERT_TRUE(d.operating_point.has_value()) << file;
    EXPECT_EQ(d.operating_point->threshold, best["val_eer_threshold"].get<double>()) << file;
    EXPECT_EQ(d.operating_point->epoch, best["epoch"].get<std::int64_t>()) << file;
    EXPECT_EQ(d.operating_point->val_hter, best["val_hter"].get<double>()) << file;
  }
}

TEST_F(TrainerTest, TheViTBaselineTrainsWithCrossEntropy) {
  test::TempDir runs;
  auto m = model();
  m.network = "vit-concat";
  auto o = options();
  o.strategy = "ce";
  o.epochs = 3;
  o.steps_per_epoch = 4;
  o.lr = 2e-3;
  const auto result = Trainer(m, o, data(), runs.file("vit")).run();
  EXPECT_TRUE(result.completed);
  std::ifstream log(runs.file("vit/log.jsonl"));
  std::vector<double> losses;
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["type"] == "epoch") losses.push_back(j["loss"].get<double>());
    else EXPECT_FALSE(j.contains("loss_ssp")) << line;
  }
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_LT(losses.back(), losses.front());
}

// Mixed precision: the forward in bfloat16 (autocast), weights, Adam and losses in float32.
// Every comparison strategy trains through the trainer on a network the paper uses it with, its
// loss goes down (the first epoch against the last; for IADG the first after its warm-up epoch,
// which trains with CE alone), and an interrupted run resumes
// to the same weights (the strategies' own modules, prototypes, style banks and masks included).
TEST_F(TrainerTest, ComparisonStrategiesTrainLowerTheirLossAndResumeExactly) {
  const std::pair<const char*, const char*> pairs[] = {{"ssdg", "vit-concat"}, {"ssdg", "vit-single"}, {"ssan", "vit-uadapter"},
                                                       {"iadg", "vit"},        {"pmr", "vit-uadapter"},   {"ogm-ge", "vit"},
                                                       {"cmfl", "vit-uadapter"},  {"vitaf", "vitaf"},
                                                       {"ama", "vit-ama"}, {"cdcn", "mm-cdcn"},
                                                       {"vpfas", "vp-fas"}};
  for (const auto& [strategy, network] : pairs) {
    const std::string name = std::string(strategy) + " on " + network;
    test::TempDir runs;
    auto m = model();
    m.network = network;
    auto o = options();
    o.strategy = strategy;
    o.epochs = 5;
    o.steps_per_epoch = 4;
    o.lr = 2e-3;
    o.pmr.until = 1.0;  // rebalance in every epoch, so the loss compared is the same sum throughout
    o.pmr.entropy_until = 1.0;
    o.ogm_ge.until = 1.0;
    const auto full = Trainer(m, o, data(), runs.file("full")).run();
    ASSERT_TRUE(full.completed) << name;
    std::ifstream log(runs.file("full/log.jsonl"));
    std::vector<double> losses;
    for (std::string line; std::getline(log, line);) {
      const auto j = nlohmann::json::parse(line);
      if (j["type"] == "epoch") losses.push_back(j["loss"].get<double>());
    }
    ASSERT_EQ(losses.size(), 5u) << name;
    EXPECT_LT(losses.back(), losses[std::string(strategy) == "iadg" ? 1 : 0]) << name;
    const auto config = RunConfig::read(runs.file("full/config.json"));
    EXPECT_EQ(config.model.normalized_head, std::string(strategy) == "ssdg" || std::string(strategy) == "vitaf") << name;
    auto cut = o;
    cut.interrupt_after_steps = 6;  // in the middle of epoch 2
    EXPECT_FALSE(Trainer(m, cut, data(), runs.file("cut")).run().completed) << name;
    ASSERT_TRUE(Trainer::resume(runs.file("cut")).run().completed) << name;
    const auto a = weights(runs.file("full")), b = weights(runs.file("cut"));
    for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << name << " " << item.key();
  }
}

TEST_F(TrainerTest, TrainsInBFloat16) {
  test::TempDir runs;
  auto o = options();
  o.precision = model::Precision::BFloat16;
  o.epochs = 3;
  o.steps_per_epoch = 4;
  o.lr = 2e-3;
  EXPECT_TRUE(Trainer(model(), o, data(), runs.file("r")).run().completed);
  std::ifstream log(runs.file("r/log.jsonl"));
  std::vector<double> losses;
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["type"] == "epoch") losses.push_back(j["loss"].get<double>());
  }
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_LT(losses.back(), losses.front());
  const auto w = weights(runs.file("r"));
  EXPECT_EQ(w["fc_all.0.weight"].scalar_type(), torch::kFloat);  // master weights stay float32
}

// Table 4's "ViT + ReGrad": the three-branch ViT without adapters trains with SSP + ReGrad; only
// its stems' trainable tensors (class tokens, position embeddings) are modality branches, and
// without an uncertainty module the reliabilities are 1.
TEST_F(TrainerTest, ThreeBranchViTWithReGrad) {
  test::TempDir runs;
  auto m = model();
  m.network = "vit";
  auto o = options();
  o.epochs = 1;
  o.steps_per_epoch = 2;
  EXPECT_TRUE(Trainer(m, o, data(), runs.file("r")).run().completed);
  std::ifstream log(runs.file("r/log.jsonl"));
  std::string line;
  std::getline(log, line);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["modulated_tensors"], 6);
  EXPECT_EQ(j["reliability"], (std::vector<double>{1, 1, 1}));
}

// A run directory of an earlier version (its model named by `method`, no `strategy`) resumes as
// the same method, and a run's config.json is a complete description of the run.
TEST(RunConfig, ReadsEarlierVersionsAndRoundTrips) {
  test::TempDir dir;
  io::write_file_atomically(dir.file("config.json"), [](std::ostream& out) {
    out << R"({"model": {"method": "vit", "image_size": 32, "patch_size": 8, "num_layers": 2, "num_heads": 2,
               "hidden_dim": 16, "mlp_dim": 32, "estimator": "binomial"},
               "train": {"regrad": "full", "normalization": "half", "epochs": 2},
               "data": {"train": ["a.txt"], "val": [], "data_root": "d", "pretrained": ""}})";
  });
  const auto c = RunConfig::read(dir.file("config.json"));
  EXPECT_EQ(c.model.network, "vit-concat");
  EXPECT_EQ(c.train.strategy, "ce");
  EXPECT_EQ(c.train.normalization, data::Normalization::Half);
  EXPECT_EQ(c.model.estimator, model::Estimator::Binomial);
  EXPECT_EQ(c.data.train_lists, std::vector<std::string>{"a.txt"});
  io::write_file_atomically(dir.file("again.json"), [&](std::ostream& out) { out << c.to_json().dump(); });
  EXPECT_EQ(RunConfig::read(dir.file("again.json")).to_json(), c.to_json());
  io::write_file_atomically(dir.file("bad.json"), [](std::ostream& out) { out << R"({"model": {}})"; });
  EXPECT_MMDG_ERROR(RunConfig::read(dir.file("bad.json")), "not a run's config.json");
}

TEST_F(TrainerTest, RefusesToOverwriteARunAndNamesBadOptions) {
  test::TempDir runs;
  auto o = options();
  o.epochs = 1;
  o.steps_per_epoch = 1;
  Trainer(model(), o, data(), runs.file("r")).run();
  EXPECT_MMDG_ERROR(Trainer(model(), o, data(), runs.file("r")), "already holds a run");
  o.strategy = "sgd";
  EXPECT_MMDG_ERROR(Trainer(model(), o, data(), runs.file("s")), "option strategy: unknown value 'sgd' (expected one of: ce, regrad, ssdg, ssan, iadg, pmr, ogm-ge, cmfl, vitaf, ama, cdcn, vpfas)");
  o.strategy = "regrad";
  auto concat = model();
  concat.network = "vit-concat";
  EXPECT_MMDG_ERROR(Trainer(concat, o, data(), runs.file("t")),
                    "regrad needs per-modality branches, which network vit-concat does not have (networks with what it needs: vit, vit-uadapter)");
  EXPECT_FALSE(std::filesystem::exists(runs.file("t")));  // refused before anything was written
  auto bad = o;
  bad.pmr.until = 1.5;
  EXPECT_MMDG_ERROR(Trainer(model(), bad, data(), runs.file("u")), "option pmr_until: must be in [0, 1]");
  bad = o;
  bad.iadg.style_bank = 0;
  EXPECT_MMDG_ERROR(Trainer(model(), bad, data(), runs.file("u")), "option iadg_style_bank: must be positive");
  bad = o;
  bad.strategy = "ssan";
  bad.ssan.block = 7;  // mmdg_tiny has 2 blocks
  EXPECT_MMDG_ERROR(Trainer(model(), bad, data(), runs.file("u")), "option ssan_block: 7 is not a block of the network (0..1, or -1)");
  bad = o;
  bad.lr = std::numeric_limits<double>::quiet_NaN();
  EXPECT_MMDG_ERROR(Trainer(model(), bad, data(), runs.file("u")), "option lr: must be a positive finite number");
  bad = o;
  bad.ssp_weight = std::numeric_limits<double>::infinity();  // passed ">= 0", failed later as a non-finite loss
  EXPECT_MMDG_ERROR(Trainer(model(), bad, data(), runs.file("u")), "option ssp_weight: must be a finite number, got inf");
  bad = o;
  bad.epochs = 1000000000000;
  EXPECT_MMDG_ERROR(Trainer(model(), bad, data(), runs.file("u")), "option epochs: must be in [1, 100000]");
  bad = o;
  bad.workers = 100000;
  EXPECT_MMDG_ERROR(Trainer(model(), bad, data(), runs.file("u")), "option workers: must be in [0, 64]");
  EXPECT_FALSE(std::filesystem::exists(runs.file("u")));
  EXPECT_MMDG_ERROR(Trainer::resume(runs.file("nothing")), "no run to resume");
}

// A run killed before its first checkpoint (only config.json and some log lines exist): --resume
// starts it over and ends with the weights and log of an uninterrupted run.
TEST_F(TrainerTest, ResumingARunThatSavedNothingStartsItOver) {
  test::TempDir runs;
  auto o = options();
  o.epochs = 1;
  o.steps_per_epoch = 2;
  Trainer(model(), o, data(), runs.file("whole")).run();
  std::filesystem::create_directories(runs.file("killed"));
  std::filesystem::copy_file(runs.file("whole/config.json"), runs.file("killed/config.json"));
  test::write_bytes(runs.file("killed/log.jsonl"), "{\"type\":\"step\",\"epoch\":1,\"step\":1}\n");
  const auto result = Trainer::resume(runs.file("killed")).run();
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(io::read_file(runs.file("killed/last.safetensors")), io::read_file(runs.file("whole/last.safetensors")));
  const std::string log = io::read_file(runs.file("killed/log.jsonl")), whole = io::read_file(runs.file("whole/log.jsonl"));
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), std::count(whole.begin(), whole.end(), '\n'));
}

// The data moved while the run was interrupted: resume takes the new locations (saved to
// config.json) and finishes with the weights of an uninterrupted run.
TEST_F(TrainerTest, ResumeTakesNewDataLocations) {
  test::TempDir runs;
  std::filesystem::copy(dir_->file("data"), runs.file("old_data"), std::filesystem::copy_options::recursive);
  const auto at = [&](const std::string& root) {
    TrainData d = data();
    d.train_lists = {root + "/C-train.txt", root + "/W-train.txt"};
    d.val_lists = {root + "/W-val.txt"};
    d.data_root = root;
    return d;
  };
  auto o = options();
  Trainer(model(), o, data(), runs.file("whole")).run();
  o.interrupt_after_steps = 4;
  Trainer(model(), o, at(runs.file("old_data")), runs.file("moved")).run();
  std::filesystem::rename(runs.file("old_data"), runs.file("new_data"));
  EXPECT_THROW(Trainer::resume(runs.file("moved")).run(), Error);  // the saved locations are gone
  const TrainData now = at(runs.file("new_data"));
  const auto result = Trainer::resume(runs.file("moved"), [&](TrainData& d) {
                        d.train_lists = now.train_lists;
                        d.val_lists = now.val_lists;
                        d.data_root = now.data_root;
                      }).run();
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(RunConfig::read(runs.file("moved/config.json")).data.data_root, runs.file("new_data"));
  const auto a = weights(runs.file("whole")), b = weights(runs.file("moved"));
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
}

// The kill-at-every-commit-point test: a run stopped after each file operation of a commit (of
// the first commit, which leaves nothing or a half-finished first state, and of the second, which
// leaves an old and a new pair) resumes to bit-identical final weights and leaves no staged file.
TEST_F(TrainerTest, AKillAfterAnyCommitOperationResumesToTheSameWeights) {
  test::TempDir runs;
  auto o = options();
  o.steps_per_epoch = 2;  // 2 epochs: commits at the end of each
  Trainer(model(), o, data(), runs.file("whole")).run();
  const auto whole = weights(runs.file("whole"));
  for (int skip : {0, 1})
    for (int operation = 1; operation <= 5; ++operation) {
      const std::string run = runs.file("k" + std::to_string(skip) + std::to_string(operation));
      inject_commit_fault(operation, skip);
      EXPECT_THROW(Trainer(model(), o, data(), run).run(), CommitFault) << skip << operation;
      inject_commit_fault(0);
      const auto resumed = Trainer::resume(run).run();
      ASSERT_TRUE(resumed.completed) << skip << operation;
      const auto b = weights(run);
      for (const auto& item : whole) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << skip << operation << item.key();
      for (const auto& entry : std::filesystem::directory_iterator(run))
        EXPECT_EQ(entry.path().filename().string().find(".commit"), std::string::npos) << entry.path();
      const auto record = nlohmann::json::parse(io::read_file(run + "/commit.json"));
      EXPECT_EQ(record["epoch"], 2);
      EXPECT_EQ(record["global_step"], 4);
    }
}

// The commit record catches a damaged file, and a file copied in from another moment or run.
TEST_F(TrainerTest, TheCommitRecordCatchesDamagedAndForeignFiles) {
  test::TempDir runs;
  auto o = options();
  o.interrupt_after_steps = 2;
  Trainer(model(), o, data(), runs.file("cut")).run();
  Trainer(model(), options(), data(), runs.file("finished")).run();
  std::filesystem::copy(runs.file("cut"), runs.file("flipped"), std::filesystem::copy_options::recursive);
  std::string bytes = io::read_file(runs.file("flipped/last.safetensors"));
  bytes[bytes.size() - 5] ^= 0x10;  // one bit of a tensor value
  test::write_bytes(runs.file("flipped/last.safetensors"), bytes);
  EXPECT_MMDG_ERROR(Trainer::resume(runs.file("flipped")).run(),
                    runs.file("flipped/last.safetensors") + ": does not match commit 1 of run ");
  // scoring it (mmdg eval / predict) checks it too, reading only; the intact one and other files pass
  EXPECT_MMDG_ERROR(verify_committed_checkpoint(runs.file("flipped/last.safetensors")),
                    runs.file("flipped/last.safetensors") + ": does not match commit 1 of run ");
  EXPECT_NO_THROW(verify_committed_checkpoint(runs.file("cut/last.safetensors")));
  EXPECT_NO_THROW(verify_committed_checkpoint(runs.file("finished/best.safetensors")));
  std::filesystem::copy(runs.file("flipped/last.safetensors"), runs.file("flipped/last.safetensors.commit1"));
  EXPECT_MMDG_ERROR(verify_committed_checkpoint(runs.file("flipped/last.safetensors")), "commit 1 is half done");
  // a finished run's resume.pt copied in would report the run done with half-trained weights
  std::filesystem::copy(runs.file("finished/resume.pt"), runs.file("cut/resume.pt"),
                        std::filesystem::copy_options::overwrite_existing);
  EXPECT_MMDG_ERROR(Trainer::resume(runs.file("cut")).run(), runs.file("cut/resume.pt") + ": does not match commit");
  // the record itself damaged: named
  test::write_bytes(runs.file("finished/commit.json"), "{\"sequence\": 2}");
  EXPECT_MMDG_ERROR(Trainer::resume(runs.file("finished")).run(), runs.file("finished/commit.json") + ": not a commit record");
}

// A damaged resume.pt: LibTorch's error is wrapped in one that names the file.
TEST_F(TrainerTest, ADamagedResumeStateIsNamed) {
  test::TempDir runs;
  auto o = options();
  o.interrupt_after_steps = 2;
  Trainer(model(), o, data(), runs.file("r")).run();
  const std::string state = io::read_file(runs.file("r/resume.pt"));
  test::write_bytes(runs.file("r/resume.pt"), state.substr(0, state.size() / 2));
  EXPECT_MMDG_ERROR(Trainer::resume(runs.file("r")).run(), runs.file("r/resume.pt") + ": ");
}

TEST_F(TrainerTest, NonFiniteLossStopsAndKeepsTheLastCheckpoint) {
  test::TempDir runs;
  auto o = options();
  o.epochs = 2;
  o.steps_per_epoch = 2;
  Trainer(model(), o, data(), runs.file("r")).run();
  const std::string before = io::read_file(runs.file("r/last.safetensors"));
  // poison the saved weights, then continue for more epochs: the first step must stop the run
  auto sd = io::read_safetensors(runs.file("r/last.safetensors"));
  io::Metadata metadata;
  io::read_safetensors(runs.file("r/last.safetensors"), &metadata);
  sd["fc_all.0.bias"].fill_(std::numeric_limits<float>::quiet_NaN());
  io::write_safetensors(runs.file("r/last.safetensors"), sd, metadata);
  const std::string poisoned = io::read_file(runs.file("r/last.safetensors"));
  std::filesystem::remove(runs.file("r/commit.json"));  // unchecked, as a run of an older version
  auto config = nlohmann::json::parse(io::read_file(runs.file("r/config.json")));
  config["train"]["epochs"] = 3;
  io::write_file_atomically(runs.file("r/config.json"), [&](std::ostream& out) { out << config.dump(); });
  EXPECT_MMDG_ERROR(Trainer::resume(runs.file("r")).run(), "the last good checkpoint is " + runs.file("r/last.safetensors"));
  EXPECT_EQ(io::read_file(runs.file("r/last.safetensors")), poisoned);  // not overwritten
  EXPECT_NE(before, poisoned);
  // diverging in the first epoch: no checkpoint exists, and the message says so
  auto wild = options();
  wild.steps_per_epoch = 3;
  wild.lr = 1e30;
  EXPECT_MMDG_ERROR(Trainer(model(), wild, data(), runs.file("wild")).run(), "nothing was saved yet (the first epoch did not finish)");
}

}  // namespace
}  // namespace mmdg::train
