// Lookups in a registry: a list of entries, each with a `name` (the networks of
// mmdg/model/network.h, the strategies and methods of mmdg/train/strategy.h).
#pragma once
#include <string>
#include <vector>

#include "mmdg/util/enum_names.h"
#include "mmdg/util/error.h"

namespace mmdg {

template <class Entry>
std::vector<std::string> registry_names(const std::vector<Entry>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  return names;
}

// The entry called `name`; else mmdg::Error("option <option>: unknown value '<name>' (expected
// one of: ...<hint>)").
template <class Entry>
const Entry& registry_find(const std::vector<Entry>& entries, const std::string& name, const std::string& option,
                           const std::string& hint = "") {
  for (const auto& e : entries)
    if (e.name == name) return e;
  throw UsageError("option " + option + ": unknown value '" + name + "' (expected one of: " + join_names(registry_names(entries)) +
              hint + ")");
}

}  // namespace mmdg
