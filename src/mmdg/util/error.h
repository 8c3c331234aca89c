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

// A wrong command line: an unknown or malformed option value, or a missing or contradictory
// option (the program exits with status 2, as for a parse error).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what) {}
};

// Throws Error("<context>: <message>") when `ok` is false.
void check(bool ok, const std::string& context, const std::string& message);

}  // namespace mmdg
