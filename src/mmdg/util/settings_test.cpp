// Options declared once: enum fields by name in JSON, the printed config and their errors.
#include "mmdg/util/settings.h"

#include <gtest/gtest.h>

#include "mmdg/util/json_text.h"
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
                    "cfg.json: option colour: unknown value 'green' (expected one of: red, dark-blue)");
  EXPECT_MMDG_ERROR(settings::from_json(back, nlohmann::json{{"colour", 1}}, "cfg.json"), "cfg.json: option 'colour' has the wrong type");
  EXPECT_EQ(parse_enum<Colour>("red", "colour"), Colour::Red);
  EXPECT_STREQ(enum_name(Colour::DarkBlue), "dark-blue");
}

// Untrusted JSON: deep nesting is refused before parsing (brackets inside strings do not count),
// and a wrong-type message quotes an excerpt, not the whole value.
TEST(Settings, JsonNestingIsBoundedAndMessagesQuoteExcerpts) {
  EXPECT_EQ(parse_json(R"({"a": "[[[[", "b": [[1]]})", "x")["b"][0][0], 1);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_MMDG_ERROR(parse_json(R"({"num_heads": )" + deep + "}", "config.json: not valid JSON"),
                    "config.json: not valid JSON: nested deeper than 64 levels at byte 77");
  EXPECT_NO_THROW(parse_json(std::string(64, '[') + std::string(64, ']'), "x"));
  EXPECT_MMDG_ERROR(parse_json("{\"a\": }", "f.json: not valid JSON"), "f.json: not valid JSON: [json.exception.parse_error");
  Example e;
  nlohmann::json big = {{"count", std::vector<int>(100000, 7)}};
  try {
    settings::from_json(e, big, "c.json");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("c.json: option 'count' has the wrong type ([7,7,7"), std::string::npos) << what;
    EXPECT_LT(what.size(), 200u);
  }
  EXPECT_EQ(json_excerpt(nlohmann::json("abc"), 3), "\"ab...");
}

}  // namespace

}  // namespace mmdg
