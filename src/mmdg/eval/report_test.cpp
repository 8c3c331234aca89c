#include "mmdg/eval/report.h"

#include <gtest/gtest.h>

#include <fstream>

#include <filesystem>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::eval {
namespace {

TEST(Report, PoliciesUseTheirOwnThresholds) {
  Scores target{{0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1}, {1, 1, 1, 0, 0, 0, 0}, {}, {}};
  Scores val{{0.95, 0.85, 0.6, 0.5}, {1, 1, 0, 0}, {}, {}};  // EER 0 at threshold 0.85
  const auto r = make_report(target, val, 0.5);
  ASSERT_EQ(r.policies.size(), 3u);
  EXPECT_EQ(r.policies[0].policy, "target-eer");
  EXPECT_DOUBLE_EQ(r.policies[0].metrics.hter, r.eer);
  EXPECT_EQ(r.policies[1].policy, "source-val");
  EXPECT_DOUBLE_EQ(r.policies[1].metrics.threshold, 0.85);
  EXPECT_DOUBLE_EQ(r.policies[1].metrics.bpcer, 2.0 / 3);  // live 0.8 and 0.4 fall below 0.85
  EXPECT_EQ(r.policies[2].policy, "fixed");
  EXPECT_DOUBLE_EQ(r.policies[2].metrics.apcer, 0.25);
  EXPECT_DOUBLE_EQ(r.auc, 11.0 / 12.0);
  const auto j = report_json(r);
  EXPECT_DOUBLE_EQ(j["policies"]["fixed"]["threshold"].get<double>(), 0.5);
  EXPECT_NE(report_text(r).find("source-val"), std::string::npos);
}

TEST(Report, ScoresCsvWithExtraColumnsAndErrors) {
  test::TempDir dir;
  test::write_bytes(dir.file("s.csv"), "path,label,score,rel_rgb\r\na.jpg,1,0.9,0.5\r\nb.jpg,0,0.2,0.4\r\n");
  const auto s = read_scores_csv(dir.file("s.csv"));
  EXPECT_EQ(s.labels, (std::vector<int>{1, 0}));
  EXPECT_EQ(s.live_probability, (std::vector<double>{0.9, 0.2}));
  test::write_bytes(dir.file("bad.csv"), "score,label\n0.9,1\nx,0\n");
  EXPECT_MMDG_ERROR(read_scores_csv(dir.file("bad.csv")), "bad.csv:3: score 'x' is not a number");
  test::write_bytes(dir.file("nolabel.csv"), "score,lab\n0.9,1\n");
  EXPECT_MMDG_ERROR(read_scores_csv(dir.file("nolabel.csv")), "nolabel.csv:1: the header needs");
  test::write_bytes(dir.file("onlylive.csv"), "score,label\n0.9,1\n");
  EXPECT_MMDG_ERROR(read_scores_csv(dir.file("onlylive.csv")), "onlylive.csv: metrics: need both live");
  // found by fuzzing: a row with more cells than the header was read by position, and a repeated
  // column silently won over the first
  test::write_bytes(dir.file("cells.csv"), "path,label,score\na/v1/rgb/1.png,1,01,02/rgb/1.png,0,0.3\n");
  EXPECT_MMDG_ERROR(read_scores_csv(dir.file("cells.csv")), "cells.csv:2: 6 cells, the header has 3");
  test::write_bytes(dir.file("few.csv"), "path,label,score\na,1\n");
  EXPECT_MMDG_ERROR(read_scores_csv(dir.file("few.csv")), "few.csv:2: 2 cells, the header has 3");
  test::write_bytes(dir.file("twice.csv"), "score,label,score\n0.9,1,0.1\n0.2,0,0.3\n");
  EXPECT_MMDG_ERROR(read_scores_csv(dir.file("twice.csv")), "twice.csv:1: column 'score' appears twice");
}

TEST(Report, ScoresCsvWriterRoundTrips) {
  test::TempDir dir;
  const Scores s{{0.9, 0.123456789, 1e-9, 0.5}, {1, 0, 0, 1}, {}, {}};
  // plain label,score (the protocol's files)
  write_scores_csv(dir.file("plain.csv"), s);
  EXPECT_EQ(io::read_file(dir.file("plain.csv")), "label,score\n1,0.9\n0,0.12345679\n0,1e-09\n1,0.5\n");
  auto back = read_scores_csv(dir.file("plain.csv"));
  EXPECT_EQ(back.labels, s.labels);
  for (std::size_t i = 0; i < s.labels.size(); ++i) EXPECT_NEAR(back.live_probability[i], s.live_probability[i], 1e-8 * s.live_probability[i]);
  // text columns before label,score, number columns after (the layout of `mmdg predict --list`);
  // paths with a comma, a quote or edge spaces are quoted and read back
  const ScoresCsvColumns extra{{{"path", {"a/rgb/0.jpg", "b,c.jpg", "say \"x\".jpg", " d.jpg"}}},
                               {{"rel_rgb", {0.25, 0.5, 0.75, 1}}, {"rel_ir", {1, 2, 3, 4}}}};
  write_scores_csv(dir.file("extra.csv"), s, extra);
  const std::string text = io::read_file(dir.file("extra.csv"));
  EXPECT_EQ(text.substr(0, text.find('\n', text.find('\n') + 1) + 1), "path,label,score,rel_rgb,rel_ir\na/rgb/0.jpg,1,0.9,0.25,1\n");
  EXPECT_NE(text.find("\n\"b,c.jpg\",0,"), std::string::npos);
  EXPECT_NE(text.find("\n\"say \"\"x\"\".jpg\",0,1e-09,0.75,3\n"), std::string::npos);
  back = read_scores_csv(dir.file("extra.csv"));
  EXPECT_EQ(back.labels, s.labels);
  for (std::size_t i = 0; i < s.labels.size(); ++i) EXPECT_NEAR(back.live_probability[i], s.live_probability[i], 1e-8 * s.live_probability[i]);
  // bad columns are named, and nothing is written
  EXPECT_MMDG_ERROR(write_scores_csv(dir.file("bad.csv"), s, {{{"path", {"a"}}}, {}}), "bad.csv: column 'path' has 1 cells for 4 scores");
  EXPECT_MMDG_ERROR(write_scores_csv(dir.file("bad.csv"), s, {{}, {{"score", {1, 2, 3, 4}}}}), "column 'score' appears twice");
  EXPECT_MMDG_ERROR(write_scores_csv(dir.file("bad.csv"), s, {{{"p", {"a", "b\nc", "d", "e"}}}, {}}), "row 2: a line break");
  EXPECT_MMDG_ERROR(write_scores_csv(dir.file("bad.csv"), Scores{{0.5}, {1, 0}, {}, {}}), "1 scores with 2 labels");
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.csv")));
}

TEST(Report, ScoresCsvReaderTakesQuotedCells) {
  test::TempDir dir;
  test::write_bytes(dir.file("q.csv"), "\"path\",\"score\",label\n\"x,y\",0.75,1\n  \"a\"\"b\" ,0.25 , 0 \n");
  const auto s = read_scores_csv(dir.file("q.csv"));
  EXPECT_EQ(s.labels, (std::vector<int>{1, 0}));
  EXPECT_EQ(s.live_probability, (std::vector<double>{0.75, 0.25}));
}

// With attack types, every policy gets per-species APCERs (as attack_metrics computes them at the
// policy's threshold); the CSV's attack column carries them; per-video averaging keeps them.
TEST(Report, PerAttackTypes) {
  Scores s{{0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1}, {1, 1, 1, 0, 0, 0, 0}, {},
           {"bonafide", "bonafide", "bonafide", "print", "print", "replay", "replay"}};
  const auto r = make_report(s, std::nullopt, 0.25, 0.5);
  ASSERT_TRUE(r.per_attack.has_value());
  ASSERT_EQ(r.per_attack->policies.size(), r.policies.size());
  for (std::size_t p = 0; p < r.policies.size(); ++p) {
    const auto want = attack_metrics(s.live_probability, s.labels, s.attacks, r.policies[p].metrics.threshold);
    EXPECT_EQ(r.per_attack->policies[p].apcer_pais, want.apcer_pais) << r.policies[p].policy;
    EXPECT_EQ(r.per_attack->policies[p].bpcer, r.policies[p].metrics.bpcer) << r.policies[p].policy;
  }
  EXPECT_EQ(r.policies[1].policy, "checkpoint");
  EXPECT_DOUBLE_EQ(r.per_attack->policies[2].species[0].apcer, 1.0);  // fixed 0.25: print 0.7, 0.3 pass
  EXPECT_DOUBLE_EQ(r.per_attack->policies[2].species[1].apcer, 0.0);
  EXPECT_EQ(report_json(r)["per_attack"]["policies"]["fixed"]["worst"], "print");
  EXPECT_NE(report_text(r).find("APCER_PAIS"), std::string::npos);
  test::TempDir dir;
  write_scores_csv(dir.file("s.csv"), s, {{{"attack", s.attacks}}, {}});
  EXPECT_EQ(read_scores_csv(dir.file("s.csv")).attacks, s.attacks);
  const auto videos = average_by_video(s, {"a", "a", "b", "c", "c", "d", "d"});
  EXPECT_EQ(videos.attacks, (std::vector<std::string>{"bonafide", "bonafide", "print", "replay"}));
  EXPECT_MMDG_ERROR(average_by_video(s, {"a", "a", "b", "c", "c", "c", "d"}), "two attack types");
  EXPECT_FALSE(make_report(Scores{s.live_probability, s.labels, {}, {}}, std::nullopt, 0.5).per_attack.has_value());
}

// Without a video column, a path column gives each frame's video (so `eval --scores --per-video`
// can group frames); a non-finite score names its line.
TEST(Report, ScoresCsvVideosFromPathsAndNonFiniteScores) {
  test::TempDir dir;
  std::ofstream(dir.file("p.csv")) << "path,label,score\nW/a/rgb/0.png,1,0.9\nW/a/rgb/1.png,1,0.7\nW/b/rgb/0.png,0,0.2\n";
  const auto s = read_scores_csv(dir.file("p.csv"));
  EXPECT_EQ(s.videos, (std::vector<std::string>{"W/a", "W/a", "W/b"}));
  const auto v = average_by_video(s, s.videos);
  ASSERT_EQ(v.live_probability.size(), 2u);
  EXPECT_DOUBLE_EQ(v.live_probability[0], 0.8);
  std::ofstream(dir.file("inf.csv")) << "label,score\n1,0.5\n0,inf\n";
  EXPECT_MMDG_ERROR(read_scores_csv(dir.file("inf.csv")), "inf.csv:3: score 'inf' is not finite");
}

TEST(Report, PerVideoAveraging) {
  EXPECT_EQ(video_key("C/train/007_1_print/rgb/0002.jpg"), "C/train/007_1_print");
  EXPECT_EQ(video_key("CeFA/CeFA-Race/AF/AF-000/1_000_1_1_1/profile/0026.jpg"), "CeFA/CeFA-Race/AF/AF-000/1_000_1_1_1");
  EXPECT_EQ(video_key("zc7db0ae.npz"), "zc7db0ae.npz");
  EXPECT_EQ(video_key("P/test/003_0_live_0001.npz"), "P/test/003_0_live_0001.npz");
  Scores s{{0.2, 0.4, 0.9}, {0, 0, 1}, {}, {}};
  const auto v = average_by_video(s, {"a", "a", "b"});
  EXPECT_EQ(v.live_probability, (std::vector<double>{0.30000000000000004, 0.9}));
  EXPECT_MMDG_ERROR(average_by_video(Scores{{0.2, 0.4}, {0, 1}, {}, {}}, {"a", "a"}), "both labels");
}

}  // namespace
}  // namespace mmdg::eval
