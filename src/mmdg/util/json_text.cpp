#include "mmdg/util/json_text.h"

#include "mmdg/util/error.h"

namespace mmdg {

nlohmann::json parse_json(const std::string& text, const std::string& context) {
  // the deepest nesting of [ and { outside strings: one pass, no recursion
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonNesting)
        throw Error(context + ": nested deeper than " + std::to_string(kMaxJsonNesting) + " levels at byte " + std::to_string(i));
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(context + ": " + e.what());
  }
}

std::string json_excerpt(const nlohmann::json& value, std::size_t max_chars) {
  std::string text = value.dump();
  if (text.size() > max_chars) text = text.substr(0, max_chars) + "...";
  return text;
}

}  // namespace mmdg
