// The names of an enum's values, declared once next to the enum and used wherever the enum meets
// text (options on the command line, JSON configs, checkpoints, logs):
//
//   enum class Freeze { LastBlock, AdaptersOnly };
//   template <> struct EnumNames<model::Freeze> {
//     static constexpr std::pair<model::Freeze, const char*> values[] = {{model::Freeze::LastBlock, "last-block"}, ...};
//   };
//
// Parsing happens at the edge; an unknown name is an error listing the valid ones.
#pragma once
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mmdg/util/error.h"

namespace mmdg {

template <class E>
struct EnumNames;  // specialize with `values`, as above

template <class E>
const char* enum_name(E value) {
  for (const auto& [v, name] : EnumNames<E>::values)
    if (v == value) return name;
  return "?";
}

template <class E>
std::vector<std::string> enum_names() {
  std::vector<std::string> names;
  for (const auto& entry : EnumNames<E>::values) names.emplace_back(entry.second);
  return names;
}

// "a, b, c"
inline std::string join_names(const std::vector<std::string>& names, const std::string& separator = ", ") {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : separator) + n;
  return out;
}

// Throws mmdg::Error("option <option>: unknown value '<text>' (expected one of: ...)").
template <class E>
E parse_enum(const std::string& text, const std::string& option) {
  for (const auto& [v, name] : EnumNames<E>::values)
    if (text == name) return v;
  throw UsageError("option " + option + ": unknown value '" + text + "' (expected one of: " + join_names(enum_names<E>()) + ")");
}

}  // namespace mmdg
