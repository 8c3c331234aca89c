// Options declared once: enum fields by name in JSON, the printed config and their errors.
#include "mmdg/util/settings.h"

#include <gtest/gtest.h>

#include "mmdg/util/test_util.h"

namespace mmdg {
namespace {
enum class Colour { Red, DarkBlue };
}  // namespace

template <>
struct EnumNames<Colour> {
  static constexpr std::pair<Colour, const char*> values[] = {{Colour::Red, "red"}, {Colour::DarkBlue, "dark-blue"}};
};

namespace {

struct Example {
  std::int64_t count = 3;
  Colour colour = Colour::Red;
  std::string name = "x";
  std::vector<std::string> lists;
  template <class V>
  void visit(V&& v) {
    v("count", count, "a count");
    v("colour", colour, "a colour");
    v("name", name, "a name");
    v("lists", lists, "some lists");
  }
};

TEST(Settings, EnumsAreWrittenAndReadByName) {
  Example e;
  e.colour = Colour::DarkBlue;
  const auto j = settings::to_json(e);
  EXPECT_EQ(j, (nlohmann::json{{"count", 3}, {"colour", "dark-blue"}, {"name", "x"}, {"lists", nlohmann::json::array()}}));
  Example back;
  settings::from_json(back, j, "cfg.json");
  EXPECT_EQ(back.colour, Colour::DarkBlue);
  EXPECT_EQ(settings::describe(back), "  count = 3\n  colour = \"dark-blue\"\n  name = \"x\"\n  lists = []\n");
  settings::from_json(back, nlohmann::json{{"lists", {"a.txt", "b.txt"}}}, "cfg.json");
  EXPECT_EQ(back.lists, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"lists", {"a.txt", 3}}}, "cfg.json"), "option 'lists' has the wrong type");
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"lists", "a.txt"}}, "cfg.json"), "option 'lists' has the wrong type");
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"colour", "green"}}, "cfg.json"),
                    "option colour: unknown value 'green' (expected one of: red, dark-blue)");
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"colour", 1}}, "cfg.json"), "cfg.json: option 'colour' has the wrong type");
  EXPECT_EQ(parse_enum<Colour>("red", "colour"), Colour::Red);
  EXPECT_STREQ(enum_name(Colour::DarkBlue), "dark-blue");
}

}  // namespace
}  // namespace mmdg
