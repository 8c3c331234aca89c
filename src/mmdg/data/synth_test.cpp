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
#include "mmdg/util/hash.h"
#include "mmdg/util/test_util.h"
#include <nlohmann/json.hpp>

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
  EXPECT_EQ(domain_kinds('S'), (std::vector<std::string>{"live", "print", "cutout_print"}));
  // fake heads, paper masks and glasses only in W: leaving W out tests unseen attacks
  for (char domain : std::string("CPS"))
    for (const char* kind : {"fake_head", "paper_mask", "glasses"}) {
      const auto k = domain_kinds(domain);
      EXPECT_EQ(std::find(k.begin(), k.end(), kind), k.end()) << domain << " " << kind;
    }
}

// The defaults give every target test set at least 100 live and 200 attack videos, at least 20
// of every attack kind of the domain.
TEST(Synth, DefaultTestSplitsHoldAHundredLiveAndTwoHundredAttackVideos) {
  const SynthOptions o;
  for (char domain : std::string("CPSW")) {
    std::map<std::string, int> test_videos;  // kind -> videos in the test split
    for (int subject = 0; subject < o.subjects; ++subject)
      if (split_of(subject, static_cast<int>(o.subjects)) == "test")
        for (const auto& kind : video_kinds(o, domain, subject)) ++test_videos[kind];
    int attacks = 0;
    for (const auto& [kind, n] : test_videos) attacks += kind == "live" ? 0 : n;
    EXPECT_GE(test_videos["live"], 100) << domain;
    EXPECT_GE(attacks, 200) << domain;
    for (const auto& kind : domain_kinds(domain)) EXPECT_GE(test_videos[kind], 20) << domain << " " << kind;
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

// The share of a face's pixels (the centre quarter) without a depth reading, and of saturated NIR.
double dropout(const SynthSample& s) {
  const int S = s.depth.rows;
  const cv::Mat c = s.depth(cv::Rect(S / 4, S / 4, S / 2, S / 2));
  return 1.0 - cv::countNonZero(c) / static_cast<double>(c.total());
}
double saturated(const SynthSample& s) {
  const int S = s.ir.rows;
  const cv::Mat c = s.ir(cv::Rect(S / 4, S / 4, S / 2, S / 2));
  return cv::countNonZero(c >= 0.999f) / static_cast<double>(c.total());
}

// The sensor's failure modes, each where the domain's conditions put it: C's outdoor sessions
// saturate NIR and drop depth on live faces while RGB keeps its brightness; P's long distance
// drops more depth than W's and its depth is a sliver of the 16-bit range; S has no background.
TEST(Synth, SensorFailureModesFollowTheConditions) {
  auto o = small();
  o.subjects = 12;
  o.frames = 1;
  const auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? NAN : sum / static_cast<double>(v.size());
  };
  std::vector<double> drop_in, drop_out, sat_in, sat_out, rgb_in, rgb_out;
  for (const auto& s : generate_domain(o, 'C')) {
    if (s.kind != "live") continue;
    (s.outdoor ? drop_out : drop_in).push_back(dropout(s));
    (s.outdoor ? sat_out : sat_in).push_back(saturated(s));
    (s.outdoor ? rgb_out : rgb_in).push_back(cv::mean(s.rgb)[1]);
  }
  ASSERT_FALSE(drop_out.empty());
  ASSERT_FALSE(drop_in.empty());
  EXPECT_GT(mean(drop_out), mean(drop_in) + 0.15);
  EXPECT_GT(mean(sat_out), mean(sat_in) + 0.15);
  EXPECT_LT(mean(sat_in), 0.02);
  EXPECT_GT(mean(rgb_out), 0.8 * mean(rgb_in));  // RGB intact in daylight

  std::vector<double> drop_p, drop_w;
  for (const auto& s : generate_domain(o, 'P')) {
    if (s.kind != "live") continue;
    drop_p.push_back(dropout(s));
    double lo, hi;
    cv::minMaxLoc(s.depth, &lo, &hi);
    EXPECT_LT(hi, 0.02);  // 75 cm at most, over 65535 mm
  }
  for (const auto& s : generate_domain(o, 'W'))
    if (s.kind == "live") drop_w.push_back(dropout(s));
  EXPECT_GT(mean(drop_p), mean(drop_w) + 0.05);

  for (const auto& s : generate_domain(o, 'S')) {  // around a live face: nothing (a held sheet fills the crop)
    if (s.kind != "live") continue;
    const int S = s.rgb.rows;
    EXPECT_EQ(cv::norm(s.rgb.at<cv::Vec3f>(0, 0)) + s.ir.at<float>(0, 0) + s.depth.at<float>(0, 0), 0.0) << s.kind;
    EXPECT_EQ(s.ir.at<float>(S - 1, S - 1), 0.0f);
    EXPECT_GT(s.ir.at<float>(S / 2, S / 2), 0.0f);
  }
}

// planar_share: the share of the sources' prints held as sheets; test splits always hold sheets.
TEST(Synth, PlanarShareSetsTheSourcesPrintPresentation) {
  auto o = small();
  o.subjects = 10;
  o.frames = 1;
  o.domains = "S";
  const auto sheets = [&](double share, const std::string& split) {
    o.planar_share = share;
    int n = 0, k = 0;
    for (const auto& s : generate_domain(o, 'S'))
      if (s.label == 0 && (s.split == "test") == (split == "test")) ++n, k += s.sheet;
    return std::make_pair(k, n);
  };
  auto [all, n1] = sheets(1.0, "train");
  EXPECT_EQ(all, n1);
  auto [none, n0] = sheets(0.0, "train");
  EXPECT_EQ(none, 0);
  EXPECT_GT(n0, 0);
  auto [test_sheets, nt] = sheets(0.0, "test");
  EXPECT_EQ(test_sheets, nt);
  // a print conformed to the face reads as a head (depth only on it, curved); a sheet fills the
  // crop with a plane or a gentle curve: the residual of a least-squares plane through its readings
  o.planar_share = 0.0;
  const auto coverage = [](const SynthSample& s) { return cv::countNonZero(s.depth) / static_cast<double>(s.depth.total()); };
  const auto plane_residual = [](const SynthSample& s) {
    std::vector<float> a, b;
    for (int y = 0; y < s.depth.rows; ++y)
      for (int x = 0; x < s.depth.cols; ++x)
        if (const float d = s.depth.at<float>(y, x); d > 0) a.insert(a.end(), {float(x), float(y), 1.0f}), b.push_back(d);
    const cv::Mat A(static_cast<int>(b.size()), 3, CV_32F, a.data()), B(static_cast<int>(b.size()), 1, CV_32F, b.data());
    cv::Mat coef;
    cv::solve(A, B, coef, cv::DECOMP_SVD);
    return cv::norm(A * coef - B) / std::sqrt(static_cast<double>(b.size()));
  };
  std::map<bool, std::vector<double>> cover, residual;
  for (const auto& s : generate_domain(o, 'S'))
    if (s.kind == "print") cover[s.sheet].push_back(coverage(s)), residual[s.sheet].push_back(plane_residual(s));
  ASSERT_FALSE(cover[true].empty());
  ASSERT_FALSE(cover[false].empty());
  const auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return sum / static_cast<double>(v.size());
  };
  EXPECT_GT(mean(cover[true]), 0.9);
  EXPECT_LT(mean(cover[false]), 0.75);
  EXPECT_GT(mean(residual[false]), 2 * mean(residual[true]));
  o.planar_share = 1.5;
  EXPECT_MMDG_ERROR(o.validate(), "option planar_share");
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
  // the manifest: options, counts, the files' hash, which any change of a file changes
  const auto manifest = nlohmann::json::parse(io::read_file(dir.file("manifest.json")));
  EXPECT_EQ(manifest["options"]["subjects"], 4);
  EXPECT_EQ(manifest["files_hash"], summary.hash);
  EXPECT_EQ(manifest_hash(dir.file("")), summary.hash);
  EXPECT_EQ(summary.hash.size(), 16u);
  EXPECT_EQ(hex16(0x0123456789abcdefULL), "0123456789abcdef");  // the hash's text form
  EXPECT_EQ(hex16(255), "00000000000000ff");
  EXPECT_GT(manifest["videos"]["W"]["test"]["live"].get<int>(), 0);
  io::write_file_atomically(dir.file("W-test.txt"), [](std::ostream& f) { f << "changed"; });
  EXPECT_NE(manifest_hash(dir.file("")), summary.hash);
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
