// The project's exception type: every error caused by bad input (files, lists, options, shapes)
// is an mmdg::Error whose message names the file / line / option and says what to do.
#pragma once
#include <stdexcept>
#include <string>

namespace mmdg {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws Error("<context>: <message>") when `ok` is false.
void check(bool ok, const std::string& context, const std::string& message);

}  // namespace mmdg
