#include "mmdg/data/dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <set>

#include "mmdg/data/sample.h"
#include "mmdg/data/synth.h"
#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

// A small synthetic benchmark shared by the tests of this file.
class DatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    SynthOptions o;
    o.subjects = 4;
    o.frames = 2;
    o.image_size = 24;
    o.domains = "CSW";
    write_synthetic_benchmark(o, dir_->file(""));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string list(const std::string& name) { return dir_->file(name); }
  static MultiDomainDataset sources(bool cache = false, std::array<bool, 3> missing = {false, false, false}) {
    return MultiDomainDataset({list("C-train.txt"), list("S-train.txt"), list("W-train.txt")}, dir_->file(""), 16,
                              Normalization::ImageNet, cache, missing);
  }
  static test::TempDir* dir_;
};
test::TempDir* DatasetTest::dir_ = nullptr;

TEST_F(DatasetTest, ExamplesCarryDomainAndLabel) {
  const auto ds = sources();
  std::set<int> domains;
  for (std::size_t i = 0; i < ds.size(); ++i) domains.insert(ds.domain(i));
  EXPECT_EQ(domains, (std::set<int>{0, 1, 2}));
  const auto ex = ds.get(0);
  EXPECT_EQ(ex.inputs[0].sizes().vec(), (std::vector<std::int64_t>{3, 16, 16}));
  EXPECT_EQ(ex.label, ds.label(0));
}

// List paths stay inside --data-root unless allowed; with no root a path is used as given.
TEST(ListPaths, MayNotLeaveTheDataRoot) {
  EXPECT_EQ(join_path("root", "a/b.png"), "root/a/b.png");
  EXPECT_EQ(join_path("root", "a/../b.png"), "root/a/../b.png");  // stays inside
  EXPECT_MMDG_ERROR(join_path("root", "../x.png"), "'../x.png' leaves --data-root root ('..' above the root)");
  EXPECT_MMDG_ERROR(join_path("root", "a/../../x.png"), "'..' above the root");
  EXPECT_MMDG_ERROR(join_path("root", "/etc/passwd"), "'/etc/passwd' leaves --data-root root (an absolute path)");
  EXPECT_MMDG_ERROR(join_path("root", "/etc/passwd"), "--allow-outside-data-root");
  EXPECT_EQ(join_path("", "../x.png"), "../x.png");
  allow_paths_outside_data_root(true);
  EXPECT_EQ(join_path("root", "../x.png"), "root/../x.png");
  EXPECT_EQ(join_path("root", "/etc/passwd"), "/etc/passwd");  // path semantics: an absolute path replaces the root
  allow_paths_outside_data_root(false);
}

// Every listed file is checked before any is read: each missing one named with list and line.
TEST_F(DatasetTest, CheckFilesNamesMissingFilesWithListAndLine) {
  sources().check_files();  // all present
  test::TempDir dir;
  const std::string list_path = dir.file("L.txt");
  {
    std::ofstream out(list_path);
    const auto first = read_list(list("C-train.txt")).entries.front();
    out << first.rgb << " " << first.depth << " " << first.ir << " 1\n";  // present
    out << "gone/rgb.jpg gone/depth.jpg " << first.ir << " 0\n";         // two missing
    for (int k = 0; k < 10; ++k) out << "x" << k << ".jpg x.jpg x.jpg 0\n";
  }
  MultiDomainDataset ds({list_path}, dir_->file(""), 16, Normalization::ImageNet);
  try {
    ds.check_files();
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("listed files not found"), std::string::npos) << what;
    EXPECT_NE(what.find(list_path + ":2: " + dir_->file("gone/rgb.jpg") + ": file not found"), std::string::npos) << what;
    EXPECT_NE(what.find(list_path + ":2: " + dir_->file("gone/depth.jpg")), std::string::npos) << what;
    EXPECT_EQ(what.find(":1: "), std::string::npos) << what;
    EXPECT_NE(what.find("... and 22 more"), std::string::npos) << what;  // 2 + 30 missing, 10 named
  }
  {
    std::ofstream out(list_path);
    out << "../outside.jpg x.jpg x.jpg 1\n";
  }
  EXPECT_MMDG_ERROR(MultiDomainDataset({list_path}, dir_->file(""), 16, Normalization::ImageNet).check_files(),
                    list_path + ":1: '../outside.jpg' leaves --data-root");
}

TEST_F(DatasetTest, BalancedBatchesDrawEquallyFromEveryDomainAndClass) {
  const auto ds = sources();
  BalancedSampler sampler(ds, 12);
  EXPECT_EQ(sampler.num_groups(), 6u);  // 3 domains x live/spoof
  const auto batches = sampler.epoch(3);
  EXPECT_EQ(batches.size(), (ds.size() + 11) / 12);
  for (const auto& batch : batches) {
    ASSERT_EQ(batch.size(), 12u);
    std::map<std::pair<int, int>, int> counts;
    for (auto i : batch) ++counts[{ds.domain(i), ds.label(i)}];
    ASSERT_EQ(counts.size(), 6u);
    for (const auto& [group, n] : counts) EXPECT_EQ(n, 2);
  }
  EXPECT_NE(sampler.epoch(3), sampler.epoch(4));
  EXPECT_EQ(sampler.epoch(3), sampler.epoch(3));
  EXPECT_MMDG_ERROR(BalancedSampler(ds, 4), "smaller than the 6");
}

TEST_F(DatasetTest, ShuffledSamplerVisitsEveryExampleOnce) {
  ShuffledSampler sampler(23, 5);
  std::multiset<std::size_t> seen;
  for (const auto& b : sampler.epoch(1)) seen.insert(b.begin(), b.end());
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), 23u);
  EXPECT_EQ(ShuffledSampler(23, 5, false, true).epoch(0).size(), 4u);
}

TEST_F(DatasetTest, BackgroundWorkersGiveTheSameBatchesInOrder) {
  const auto ds = sources();
  const auto batches = BalancedSampler(ds, 6).epoch(7);
  AugmentOptions aug;
  aug.cutout = 0.25;
  DataLoader serial(ds, batches, 0, aug, 9), parallel(ds, batches, 2, aug, 9, 2);
  std::size_t n = 0;
  while (auto a = serial.next()) {
    auto b = parallel.next();
    ASSERT_TRUE(b.has_value());
    EXPECT_TRUE(torch::equal(a->rgb, b->rgb) && torch::equal(a->depth, b->depth) && torch::equal(a->ir, b->ir));
    EXPECT_TRUE(torch::equal(a->label, b->label));
    EXPECT_EQ(a->rgb.sizes().vec(), (std::vector<std::int64_t>{6, 3, 16, 16}));
    ++n;
  }
  EXPECT_FALSE(parallel.next().has_value());
  EXPECT_EQ(n, batches.size());
}

TEST_F(DatasetTest, MissingModalitiesAreZeroAndFlagged) {
  const auto ds = sources(false, {false, true, true});
  DataLoader loader(ds, ShuffledSampler(ds.size(), 4, false).epoch(0), 1);
  const auto batch = loader.next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->depth.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(batch->ir.abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(batch->present.select(1, 0).all().item<bool>());
  EXPECT_FALSE(batch->present.select(1, 1).any().item<bool>());
}

TEST_F(DatasetTest, CacheGivesTheSameExamples) {
  const auto plain = sources(false), cached = sources(true);
  for (std::size_t i : {0, 5, 0}) EXPECT_TRUE(torch::equal(plain.get(i).inputs[2], cached.get(i).inputs[2]));
}

TEST_F(DatasetTest, LoaderErrorsNameTheListLine) {
  test::TempDir dir;
  test::write_bytes(dir.file("bad.txt"), "a.jpg b.jpg c.jpg 1\r\nd.jpg e.jpg f.jpg 0");
  MultiDomainDataset ds({dir.file("bad.txt")}, dir.file(""), 16, Normalization::ImageNet);
  DataLoader loader(ds, ShuffledSampler(ds.size(), 1, false).epoch(0), 2);
  EXPECT_MMDG_ERROR(loader.next(), "bad.txt:1: ");
}

// The named extras on: flips, brightness and gamma jitter, cutout.
AugmentOptions all_extras() {
  AugmentOptions o;
  o.hflip = true;
  o.brightness = 0.2;
  o.gamma = 0.2;
  o.cutout = 0.25;
  return o;
}

TEST(Augment, OffByDefaultAsThePaperTrains) {
  const auto base = torch::rand({3, 8, 8});
  std::array<at::Tensor, 3> images{base.clone(), base.clone(), base.clone()};
  for (std::uint64_t seed = 0; seed < 5; ++seed) augment(images, AugmentOptions(), seed);
  for (const auto& x : images) EXPECT_TRUE(torch::equal(x, base));
}

TEST(Augment, SameDrawForTheThreeModalities) {
  const auto base = torch::rand({3, 8, 8});
  bool flipped = false, kept = false;
  AugmentOptions o = all_extras();
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    std::array<at::Tensor, 3> images{base.clone(), base.clone(), base.clone()};
    augment(images, o, seed);
    EXPECT_TRUE(torch::equal(images[0], images[1]) && torch::equal(images[1], images[2]));
    EXPECT_EQ((images[0] == 0).sum().item<std::int64_t>() >= 3 * 2 * 2, true);  // a 2x2 cutout per channel
    std::array<at::Tensor, 3> geometric{base.clone(), base.clone(), base.clone()};
    AugmentOptions flip_only;
    flip_only.hflip = true;
    augment(geometric, flip_only, seed);
    if (torch::equal(geometric[0], base.flip({2}))) flipped = true;
    else if (torch::equal(geometric[0], base)) kept = true;
    else ADD_FAILURE() << "flip-only augmentation changed values";
  }
  EXPECT_TRUE(flipped && kept);
}

}  // namespace
}  // namespace mmdg::data
