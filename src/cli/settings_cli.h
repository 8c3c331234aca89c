// Command-line options from a settings struct's one declaration (mmdg/util/settings.h): every
// field becomes --field-name (underscores as dashes) with its help and default; an enum field
// takes one of its names (a wrong one is an error listing them). Values given on
// the command line override the struct they are applied to; others are left as they are, so a
// preset or a config file can be applied first.
#pragma once
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mmdg/util/settings.h"

namespace mmdg::cli {

// A number in [0, 1] (a threshold or probability). CLI::Range lets nan through (every comparison
// with it is false).
inline CLI::Validator unit_interval() {
  return CLI::Validator(
      [](std::string& text) {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool ok = end != text.c_str() && *end == '\0' && v >= 0 && v <= 1;
        return ok ? std::string() : "must be a number in [0, 1], got '" + text + "'";
      },
      "[0, 1]");
}

template <class S>
class SettingsOptions {
 public:
  // Declares the options on `app`; `group` titles them in --help. The fields named in `skip` are
  // not offered (a command they mean nothing to keeps their defaults).
  SettingsOptions(CLI::App* app, const std::string& group, const std::vector<std::string>& skip = {})
      : given_(std::make_shared<S>()) {
    given_->visit([&](const char* name, auto& field, const char* help) {
      if (std::find(skip.begin(), skip.end(), name) != skip.end()) return;
      std::string flag = std::string("--") + name;
      std::replace(flag.begin(), flag.end(), '_', '-');
      using T = std::decay_t<decltype(field)>;
      CLI::Option* option = nullptr;
      if constexpr (std::is_enum_v<T>) {
        auto& text = enum_text_[name];
        text = enum_name(field);
        // checked by apply() (settings::from_json), whose error lists the valid names
        option = app->add_option(flag, text, help + std::string(" (") + join_names(enum_names<T>(), " | ") + ")");
      } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        option = app->add_option(flag, field, help + std::string(" (comma-separated)"))->delimiter(',');
      } else {
        option = app->add_option(flag, field, help);
      }
      option->group(group)->default_str(settings::field_json(field).dump());
      options_.emplace_back(name, option);
    });
  }

  bool any_given() const {
    return std::any_of(options_.begin(), options_.end(), [](const auto& o) { return o.second->count() > 0; });
  }

  // Copies the values given on the command line into `target`.
  void apply(S& target) const {
    nlohmann::json given = settings::to_json(*given_), changes = nlohmann::json::object();
    for (const auto& [name, option] : options_)
      if (option->count() > 0) changes[name] = enum_text_.count(name) ? nlohmann::json(enum_text_.at(name)) : given[name];
    settings::from_json(target, changes, "command line");
  }

 private:
  std::shared_ptr<S> given_;
  std::map<std::string, std::string> enum_text_;  // the text bound to each enum option (node-stable)
  std::vector<std::pair<std::string, CLI::Option*>> options_;
};

}  // namespace mmdg::cli
