#include "mmdg/data/attack_type.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "mmdg/util/error.h"
#include "mmdg/util/test_util.h"

namespace mmdg::data {
namespace {

// Paths as the benchmark lists write them (../shared/benchmark/lists), one per convention.
TEST(AttackType, DatasetPathConventions) {
  const std::map<std::string, std::string> want = {
      {"CeFA/CeFA-Race/AF/AF-300/1_300_1_1_1/profile/0026.jpg", "bonafide"},
      {"CeFA/CeFA-Race/AF/AF-008/1_008_3_1_2/profile/0001.jpg", "print"},
      {"CeFA/CeFA-Race/CA/CA-010/2_010_3_2_3/profile/0001.jpg", "photo"},
      {"CeFA/CeFA-Race/AF/AF-008/1_008_3_1_4/profile/0001.jpg", "replay"},
      {"CeFA/CeFA-Mask/3D-Mask/034/1_034_1_1_3_1_4/profile/0001.jpg", "3d-mask"},
      {"CeFA/CeFA-Mask/Silicone-Mask/004/2_004_0_0_3_2_1/profile/0001.jpg", "silicone-mask"},
      {"CASIA-SURF-CROP/real_part/real_test_part/CLKJ_AS0002/real.rssdk/color/121.jpg", "bonafide"},
      {"CASIA-SURF-CROP/fake_part/fake_test_part/CLKJ_CS0117/01_e_s.rssdk/color/41.jpg", "print-flat-eyes"},
      {"CASIA-SURF-CROP/fake_part/fake_test_part/CLKJ_CS0117/04_en_b.rssdk/color/41.jpg", "print-curved-eyes-nose"},
      {"CASIA-SURF-CROP/fake_part/fake_test_part/CLKJ_CS0117/06_enm_b.rssdk/color/41.jpg", "print-curved-eyes-nose-mouth"},
      {"WMCA-Image/R_CDIT/001_01_000_0_00/color/0012.jpg", "bonafide"},
      {"WMCA-Image/R_CDIT/001_01_000_1_01/color/0012.jpg", "glasses"},
      {"WMCA-Image/R_CDIT/001_01_000_1_02/color/0012.jpg", "rigidmask"},
      {"WMCA-Image/R_CDIT/001_01_000_2_05/color/0012.jpg", "fakehead"},
      {"WMCA-Image/R_CDIT/001_01_000_2_08/color/0012.jpg", "papermask"},
      {"WMCA-Image/R_CDIT/001_01_000_2_15/color/0012.jpg", "rigidmask"},
      {"WMCA-Image/R_CDIT/001_01_000_2_80/color/0012.jpg", "flexiblemask"},
      {"WMCA-Image/R_CDIT/001_01_000_3_01/color/0012.jpg", "prints"},
      {"WMCA-Image/R_CDIT/001_01_000_3_05/color/0012.jpg", "replay"},
      {"WMCA-Image/R_CDIT/001_01_000_4_03/color/0012.jpg", "replay"},
      {"W/test/035_0_live/rgb/0000.png", "bonafide"},
      {"W/test/035_3_flexible_mask/rgb/0000.png", "flexible_mask"},
      {"C/train/001_2_print/ir/0001.png", "print"},
      {"zd6c8787.npz", ""},
      {"some/other/layout/0001.jpg", ""},
      {"W/test/035_3_unheard_of/rgb/0000.png", ""},
  };
  for (const auto& [path, type] : want) EXPECT_EQ(attack_type_from_path(path), type) << path;
}

TEST(AttackType, FieldThenPerAttackListThenPathThenLabel) {
  auto e = ListEntry::images("W/test/035_3_print/rgb/0.png", "d", "i", 0);
  EXPECT_EQ(attack_type(e), "print");
  EXPECT_EQ(attack_type(e, {{e.rgb, "prints"}}), "prints");
  e.attack = "cut-photo";
  EXPECT_EQ(attack_type(e, {{e.rgb, "prints"}}), "cut-photo");
  EXPECT_EQ(attack_type(ListEntry::padisi("zd6c8787.npz", 0)), kUnknownAttack);
  EXPECT_EQ(attack_type(ListEntry::padisi("zd6c8787.npz", 1)), kBonafide);
  // a convention never overrides the label
  EXPECT_EQ(attack_type(ListEntry::images("W/test/035_3_print/rgb/0.png", "d", "i", 1)), kBonafide);
  EXPECT_EQ(attack_type(ListEntry::images("W/test/035_0_live/rgb/0.png", "d", "i", 0)), kUnknownAttack);
}

TEST(AttackType, PerAttackListsAndTheirErrors) {
  test::TempDir dir;
  std::ofstream(dir.file("glasses.txt")) << "a/1_01/rgb/0.jpg a/d.jpg a/i.jpg 0\r\nb/rgb/0.jpg b/d.jpg b/i.jpg 0";
  std::ofstream(dir.file("print.txt")) << "p.npz\t0\n";
  std::ofstream(dir.file("clash.txt")) << "p.npz\t0\n";
  const auto types = read_attack_lists({"glasses=" + dir.file("glasses.txt"), "print=" + dir.file("print.txt")});
  EXPECT_EQ(types.size(), 3u);
  EXPECT_EQ(types.at("b/rgb/0.jpg"), "glasses");
  EXPECT_EQ(types.at("p.npz"), "print");
  EXPECT_MMDG_ERROR(read_attack_lists({"print=" + dir.file("print.txt"), "other=" + dir.file("clash.txt")}),
                    "already of type 'print'");
  EXPECT_MMDG_ERROR(read_attack_lists({dir.file("print.txt")}), "expected TYPE=LIST");
  EXPECT_MMDG_ERROR(read_attack_lists({"bad type=" + dir.file("print.txt")}), "letters, digits");
  EXPECT_MMDG_ERROR(read_attack_lists({"bonafide=" + dir.file("print.txt")}), "marked bonafide");
  EXPECT_MMDG_ERROR(read_attack_lists({"x=" + dir.file("missing.txt")}), "missing.txt");
}

// The real benchmark lists (when present): every line gets a known type, and the counts of the
// test sets match the ones read from the datasets' documentation.
TEST(AttackType, BenchmarkListsAreFullyTyped) {
  const std::string lists = std::string(test::shared_dir()) + "/benchmark/lists";
  if (!std::ifstream(lists + "/W-test.txt")) GTEST_SKIP() << "no benchmark lists at " << lists;
  for (const char* name : {"C-test", "S-test", "W-test", "C-train", "S-train", "W-train"}) {
    const auto list = read_list(lists + "/" + name + ".txt");
    for (const auto& e : list.entries) ASSERT_NE(attack_type(e), kUnknownAttack) << name << ": " << e.rgb;
  }
  std::map<std::string, int> w;
  for (const auto& e : read_list(lists + "/W-test.txt").entries) ++w[attack_type(e)];
  const std::map<std::string, int> want = {{"bonafide", 345}, {"fakehead", 51},  {"flexiblemask", 411}, {"glasses", 66},
                                           {"papermask", 213}, {"prints", 198}, {"replay", 240},       {"rigidmask", 147}};
  EXPECT_EQ(w, want);
  std::map<std::string, int> s;
  for (const auto& e : read_list(lists + "/S-test.txt").entries) ++s[attack_type(e)];
  EXPECT_EQ(s["bonafide"], 1800);
  EXPECT_EQ(s["print-flat-eyes"], 1797);
  EXPECT_EQ(s["print-curved-eyes-nose-mouth"], 1797);
}

}  // namespace
}  // namespace mmdg::data
