#include "mmdg/experiment/ablation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "mmdg/experiment/tiny_protocol_test_util.h"
#include "mmdg/io/file_util.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"

namespace mmdg::experiment {
namespace {

// The tables hold the paper's rows in its order, with its numbers, and every row resolves to a
// valid method with the options its table varies.
TEST(Ablation, TablesHoldThePapersRows) {
  EXPECT_EQ(ablation_table_names(), (std::vector<std::string>{"4", "5", "fig5", "pretrain"}));
  const auto& t4 = ablation_table("4");
  ASSERT_EQ(t4.rows.size(), 12u);  // the paper's 11 and "ReGrad as released"
  EXPECT_EQ(t4.rows.front().cells, (std::vector<std::string>{"ViT", "-"}));
  EXPECT_EQ(t4.rows.back().folder, "mmdg");
  EXPECT_DOUBLE_EQ(t4.rows.back().paper_hter, 19.48);
  EXPECT_DOUBLE_EQ(t4.rows[4].paper_auc, 82.54);  // IADG
  ASSERT_EQ(ablation_table("5").rows.size(), 4u);
  ASSERT_EQ(ablation_table("fig5").rows.size(), 12u);
  EXPECT_MMDG_ERROR(ablation_table("6"), "unknown table '6'");
  ProtocolArgs base;
  base.model = model::NetworkOptions::preset("mmdg_tiny");
  base.train.regrad = train::ReGradVariant::None;  // base values the rows must not inherit
  base.train.regrad_scope = train::ReGradScope::AsReleased;
  base.pretrained = "w.pth";
  std::set<std::string> titles;
  for (const auto& name : ablation_table_names())
    for (const auto& row : ablation_table(name).rows) {
      const auto a = ablation_row_args(base, row);
      EXPECT_EQ(a.method_name, row.folder);
      if (row.folder == "mmdg") {
        EXPECT_EQ(train::method_name(a.model, a.train.strategy), "mmdg");
      }
      titles.insert(row.folder + "=" + a.method_title);
      const auto variant = row.folder == "mmdg-regrad-conflicted-only"     ? train::ReGradVariant::ConflictedOnly
                           : row.folder == "mmdg-regrad-unconflicted-only" ? train::ReGradVariant::UnconflictedOnly
                                                                            : train::ReGradVariant::Full;
      EXPECT_EQ(a.train.regrad, variant) << row.folder;
      EXPECT_EQ(a.train.regrad_scope, row.folder == "mmdg-regrad-as-released" ? train::ReGradScope::AsReleased
                                                                                : train::ReGradScope::All)
          << row.folder;
      EXPECT_EQ(a.model.adapter_uncertainty, row.folder != "mmdg-no-uncertainty" && row.folder != "mmdg-no-adapter-uncertainty");
      EXPECT_EQ(a.train.regrad_uncertainty, row.folder != "mmdg-no-uncertainty" && row.folder != "mmdg-no-regrad-uncertainty");
      EXPECT_EQ(a.pretrained, row.folder == "mmdg-random-init" ? "" : "w.pth");
    }
  // a folder shared by several tables is the same run everywhere: one title per folder
  std::set<std::string> folders;
  for (const auto& t : titles) folders.insert(t.substr(0, t.find('=')));
  EXPECT_EQ(folders.size(), titles.size());
}

// Table 5 end to end at the tiny size with two seeds on one sub-protocol: the rows' runs carry
// their options, the table shows mean +- std, CIs against MMDG and the paper's numbers; running
// again trains nothing; rows not run show "-".
TEST(Ablation, RunsTableFiveResumablyWithSeeds) {
  test::TempDir dir;
  AblateArgs args;
  args.base = tiny_protocol(dir);
  args.base.sub = "CPS->W";
  args.base.seeds = {0, 1};
  args.table = "5";
  args.rows = {"mmdg-no-uncertainty", "mmdg"};
  const std::string md = run_ablation(args);
  const auto config = nlohmann::json::parse(io::read_file(dir.file("out/mmdg-no-uncertainty/seed1/CPS-W/config.json")));
  EXPECT_EQ(config["model"]["adapter_uncertainty"], false);
  EXPECT_EQ(config["train"]["regrad_uncertainty"], false);
  EXPECT_EQ(config["train"]["seed"], 1);
  EXPECT_NE(md.find("| no | no | 2 | "), std::string::npos) << md;
  EXPECT_NE(md.find(" +- "), std::string::npos) << md;
  EXPECT_NE(md.find("| 28.40 | 78.65 |"), std::string::npos) << md;  // the paper's numbers beside
  EXPECT_NE(md.find("| no | yes | 0 | - | - | - | 26.13 | 81.60 |"), std::string::npos) << md;  // not run
  EXPECT_NE(md.find("Test sets (samples): CPS->W "), std::string::npos) << md;
  const auto table = nlohmann::json::parse(io::read_file(dir.file("out/ablation_5.json")));
  const auto& no = table["rows"][0];
  ASSERT_EQ(no["hter"].size(), 2u);
  const auto seed0 = nlohmann::json::parse(io::read_file(dir.file("out/mmdg-no-uncertainty/seed0/results_p1.json")));
  EXPECT_EQ(no["hter"][0].get<double>(), seed0["CPS->W"]["policies"]["target-eer"]["hter"].get<double>());
  const auto& ci = no["hter_difference_to_mmdg"];
  EXPECT_EQ(ci["seeds"], 2);
  EXPECT_LE(ci["low"].get<double>(), ci["observed"].get<double>());
  EXPECT_GE(ci["high"].get<double>(), ci["observed"].get<double>());
  EXPECT_FALSE(table["rows"][3].contains("hter_difference_to_mmdg"));  // MMDG itself
  // again: resumes nothing, the same table
  const auto log = io::read_file(dir.file("out/mmdg/seed0/CPS-W/log.jsonl"));
  EXPECT_EQ(run_ablation(args), md);
  EXPECT_EQ(io::read_file(dir.file("out/mmdg/seed0/CPS-W/log.jsonl")), log);
  // the merged protocol table tells the rows apart by title
  const std::string p1 = io::read_file(dir.file("out/table_p1.md"));
  EXPECT_NE(p1.find("| MMDG without uncertainty (2 seeds) |"), std::string::npos) << p1;
  // Fig. 5 from what exists (a dry run trains nothing): MMDG's bar, a chart
  args.table = "fig5";
  args.rows.clear();
  args.dry_run = true;
  const std::string fig5 = run_ablation(args);
  EXPECT_NE(fig5.find("| ReGrad | ViT + U-Adapter | 2 | "), std::string::npos) << fig5;
  EXPECT_NE(fig5.find("| SSDG | ViT | 0 | - |"), std::string::npos) << fig5;
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/ablation_fig5.png")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/vit+ssdg")));
  args.rows = {"nope"};
  EXPECT_MMDG_ERROR(run_ablation(args), "has no row 'nope'");
}

}  // namespace
}  // namespace mmdg::experiment
