#include "mmdg/data/synth.h"

#include <gtest/gtest.h>

#include <functional>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <set>

#include "mmdg/data/attack_type.h"
#include "mmdg/data/list_file.h"
#include "mmdg/data/sample.h"
#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

SynthOptions small() {
  SynthOptions o;
  o.subjects = 4;
  o.frames = 2;
  o.image_size = 32;
  return o;
}

bool same(const cv::Mat& a, const cv::Mat& b) { return a.size() == b.size() && cv::norm(a, b, cv::NORM_INF) == 0; }

// attack_type.cpp lists the synthetic kinds again (it builds without OpenCV, synth.cpp does not):
// every kind the generator writes must map back to itself (live: bonafide).
TEST(Synth, EveryKindIsReadBackAsItsAttackType) {
  for (const auto& kind : synth_kinds())
    EXPECT_EQ(attack_type_from_path("W/test/001_0_" + kind + "/rgb/0000.png"), kind == "live" ? kBonafide : kind) << kind;
}

TEST(Synth, DeterministicFromTheSeed) {
  const auto a = generate_domain(small(), 'W'), b = generate_domain(small(), 'W');
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(same(a[i].rgb, b[i].rgb) && same(a[i].depth, b[i].depth) && same(a[i].ir, b[i].ir)) << i;
  }
  auto other = small();
  other.seed = 1;
  EXPECT_FALSE(same(generate_domain(other, 'W')[0].rgb, a[0].rgb));
}

TEST(Synth, DomainsHaveTheirAttackMixesAndDisjointSubjectSplits) {
  const auto o = small();
  for (char domain : std::string("CPSW")) {
    const auto samples = generate_domain(o, domain);
    const auto kinds = domain_kinds(domain);
    EXPECT_EQ(samples.size(), static_cast<std::size_t>(o.subjects * o.frames * (o.live_videos + o.attack_videos))) << domain;
    std::map<std::string, std::set<int>> subjects_of_split;
    for (const auto& s : samples) {
      EXPECT_EQ(s.label, s.kind == "live" ? 1 : 0);
      EXPECT_NE(std::find(kinds.begin(), kinds.end(), s.kind), kinds.end());
      subjects_of_split[s.split].insert(s.subject);
      EXPECT_EQ(s.rgb.type(), CV_32FC3);
      double lo, hi;
      cv::minMaxLoc(s.depth, &lo, &hi);
      EXPECT_GE(lo, 0.0);
      EXPECT_LE(hi, 1.0);
    }
    ASSERT_EQ(subjects_of_split.size(), 3u) << domain;
    for (int subject : subjects_of_split["train"]) {
      EXPECT_FALSE(subjects_of_split["val"].count(subject));
      EXPECT_FALSE(subjects_of_split["test"].count(subject));
    }
  }
  EXPECT_EQ(domain_kinds('S'), (std::vector<std::string>{"live", "print"}));
  // flexible masks only in W: leaving W out tests an unseen attack
  for (char domain : std::string("CPS")) {
    const auto k = domain_kinds(domain);
    EXPECT_EQ(std::find(k.begin(), k.end(), "flexible_mask"), k.end());
  }
}

// The defaults give every target test set at least 30 live and 60 attack videos, every attack
// kind of the domain among them.
TEST(Synth, DefaultTestSplitsHoldThirtyLiveAndSixtyAttackVideos) {
  const SynthOptions o;
  for (char domain : std::string("CPSW")) {
    std::map<std::string, int> test_videos;  // kind -> videos in the test split
    for (int subject = 0; subject < o.subjects; ++subject)
      if (split_of(subject, static_cast<int>(o.subjects)) == "test")
        for (const auto& kind : video_kinds(o, domain, subject)) ++test_videos[kind];
    int attacks = 0;
    for (const auto& [kind, n] : test_videos) attacks += kind == "live" ? 0 : n;
    EXPECT_GE(test_videos["live"], 30) << domain;
    EXPECT_GE(attacks, 60) << domain;
    for (const auto& kind : domain_kinds(domain)) EXPECT_GT(test_videos[kind], 0) << domain << " " << kind;
    EXPECT_EQ(test_videos.size(), domain_kinds(domain).size()) << domain;
  }
}

double centre_mean(const cv::Mat& m) {
  const int S = m.rows;
  return cv::mean(m(cv::Rect(S * 3 / 8, S * 3 / 8, S / 4, S / 4)))[0];
}

// Sanity of the physical signatures, averaged over subjects (W: clean sensors).
TEST(Synth, AttackSignaturesPerModality) {
  const auto samples = generate_domain(small(), 'W');
  std::map<std::string, std::vector<const SynthSample*>> by_kind;
  for (const auto& s : samples) by_kind[s.kind].push_back(&s);
  const auto mean_of = [&](const std::string& kind, const std::function<double(const SynthSample&)>& f) {
    double sum = 0;
    for (const auto* s : by_kind[kind]) sum += f(*s);
    return sum / static_cast<double>(by_kind[kind].size());
  };
  const auto ir_centre = [](const SynthSample& s) { return centre_mean(s.ir); };
  // a screen is dark in NIR, skin bright
  EXPECT_LT(mean_of("replay", ir_centre), 0.5 * mean_of("live", ir_centre));
  // a live face stands out of a far background (corners read 0); a held sheet fills the frame
  const auto corner_depth = [](const SynthSample& s) { return static_cast<double>(s.depth.at<float>(s.depth.rows / 2, 0)); };
  EXPECT_EQ(mean_of("live", corner_depth), 0.0);
  // facial relief: the depth Laplacian inside the face is larger for live faces than for prints
  const auto relief = [](const SynthSample& s) {
    cv::Mat lap;
    cv::Laplacian(s.depth, lap, CV_32F);
    return centre_mean(cv::abs(lap));
  };
  EXPECT_GT(mean_of("live", relief), 2 * mean_of("print", relief));
  // resin masks reflect less NIR than skin
  EXPECT_LT(mean_of("rigid_mask", ir_centre), mean_of("live", ir_centre));
}

// Written to disk in the benchmark's formats and read back by the loaders.
TEST(Synth, WrittenBenchmarkReadsBack) {
  test::TempDir dir;
  const auto o = small();
  const auto summary = write_synthetic_benchmark(o, dir.file(""));
  EXPECT_EQ(summary.lists.size(), 12u);
  std::int64_t total = 0;
  for (char domain : std::string("CPSW")) {
    for (const char* split : {"train", "val", "test"}) {
      const std::string path = dir.file(std::string(1, domain) + "-" + split + ".txt");
      const std::string text = io::read_file(path);
      if (domain == 'P') {
        EXPECT_EQ(text.back(), '\n');
        EXPECT_EQ(text.find('\r'), std::string::npos);
      } else {
        EXPECT_NE(text.find("\r\n"), std::string::npos);
        EXPECT_NE(text.back(), '\n');
      }
      const auto list = read_list(path);
      total += static_cast<std::int64_t>(list.entries.size());
      for (const auto& e : list.entries) {
        EXPECT_EQ(e.is_npz(), domain == 'P');
        const auto sample = load_sample(e, path, dir.file(""), 32, Normalization::ImageNet);
        EXPECT_EQ(sample.label, e.label);
        for (const auto& x : sample.inputs) EXPECT_EQ(x.sizes().vec(), (std::vector<std::int64_t>{3, 32, 32}));
      }
    }
  }
  EXPECT_EQ(total, summary.samples);
}

TEST(Synth, BadOptionsAreNamed) {
  auto o = small();
  o.domains = "CX";
  EXPECT_MMDG_ERROR(o.validate(), "'X'");
  o = small();
  o.subjects = 2;
  EXPECT_MMDG_ERROR(o.validate(), "option subjects");
}

}  // namespace
}  // namespace mmdg::data
