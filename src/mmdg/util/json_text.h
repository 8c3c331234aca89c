// JSON from files we did not write (configs, results, checkpoint and safetensors metadata, logs):
// parsed with a nesting limit, and quoted in messages by a short excerpt. A hostile file of
// 10^6 '[' would otherwise recurse as deep as it nests (when freed or printed), and a wrong-type
// message would print a megabyte of JSON.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace mmdg {

constexpr int kMaxJsonNesting = 64;  // our files nest at most 5 levels

// Parses `text`; errors are mmdg::Error "<context>: <what is wrong>" (context e.g. "FILE: not
// valid JSON"), including nesting deeper than kMaxJsonNesting, checked before parsing.
nlohmann::json parse_json(const std::string& text, const std::string& context);

// The value's JSON text, cut to about `max_chars` characters ("..." appended when cut).
std::string json_excerpt(const nlohmann::json& value, std::size_t max_chars = 80);

}  // namespace mmdg
