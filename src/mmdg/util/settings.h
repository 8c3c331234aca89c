// Options declared once. A settings struct lists its fields in one member template
//
//   template <class V> void visit(V&& v) { v("mc_samples", mc_samples, "help ..."); ... }
//
// (types: std::int64_t, double, bool, std::string, std::vector<std::string> (a JSON array; on the
// command line comma-separated), or an enum with EnumNames, written as its name), and everything else is derived from that one
// list: JSON (saved next to / inside every checkpoint), the printed resolved config, and the
// command-line options (src/cli/settings_cli.h).
#pragma once
#include <nlohmann/json.hpp>
#include <cmath>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mmdg/util/enum_names.h"
#include "mmdg/util/error.h"
#include "mmdg/util/json_text.h"

namespace mmdg::settings {

// One field's JSON value: enums by name.
template <class T>
nlohmann::json field_json(const T& field) {
  if constexpr (std::is_enum_v<T>) return enum_name(field);
  else return field;
}

template <class S>
nlohmann::json to_json(const S& s) {
  nlohmann::json j = nlohmann::json::object();
  const_cast<S&>(s).visit([&](const char* name, auto& field, const char*) { j[name] = field_json(field); });
  return j;
}

// Sets the fields present in `j`; unknown keys and wrong types are errors naming `context` and
// the key. Fields absent from `j` keep their values.
template <class S>
void from_json(S& s, const nlohmann::json& j, const std::string& context) {
  if (!j.is_object()) throw Error(context + ": expected a JSON object of options");
  std::set<std::string> known;
  s.visit([&](const char* name, auto& field, const char*) {
    known.insert(name);
    if (!j.contains(name)) return;
    using T = std::decay_t<decltype(field)>;
    const auto& value = j.at(name);
    const auto strings = [&] {
      if (!value.is_array()) return false;
      for (const auto& item : value)
        if (!item.is_string()) return false;
      return true;
    };
    const bool ok = std::is_same_v<T, bool>                                 ? value.is_boolean()
                    : std::is_same_v<T, std::string> || std::is_enum_v<T> ? value.is_string()
                    : std::is_same_v<T, std::vector<std::string>>         ? strings()
                    : std::is_integral_v<T>          ? value.is_number_integer()
                                                     : value.is_number();
    if (!ok) throw Error(context + ": option '" + name + "' has the wrong type (" + json_excerpt(value) + ")");
    if constexpr (std::is_enum_v<T>) {
      try {
        field = parse_enum<T>(value.get<std::string>(), name);
      } catch (const UsageError& e) {  // name where the value comes from (a file, the command line)
        throw UsageError(context + ": " + e.what());
      }
    } else {
      field = value.get<T>();
    }
  });
  for (const auto& item : j.items())
    if (!known.count(item.key())) throw Error(context + ": unknown option '" + item.key() + "'");
}

// Throws UsageError naming the first floating-point option of `s` that is not finite (inf, nan):
// no option means anything by one, and it would only fail later, far from its cause.
template <class S>
void check_finite(const S& s) {
  const_cast<S&>(s).visit([](const char* name, auto& field, const char*) {
    if constexpr (std::is_floating_point_v<std::decay_t<decltype(field)>>)
      if (!std::isfinite(field))
        throw UsageError(std::string("option ") + name + ": must be a finite number, got " + std::to_string(field));
  });
}

// "name = value" lines, in declaration order.
template <class S>
std::string describe(const S& s, const std::string& indent = "  ") {
  std::ostringstream out;
  const_cast<S&>(s).visit([&](const char* name, auto& field, const char*) {
    out << indent << name << " = " << field_json(field).dump() << "\n";
  });
  return out.str();
}

}  // namespace mmdg::settings
