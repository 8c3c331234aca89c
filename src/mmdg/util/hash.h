// FNV-1a, 64 bits: a stable, portable hash of bytes (sample keys, file manifests). Not for
// security.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace mmdg {

inline constexpr std::uint64_t kFnv1aOffset = 0xcbf29ce484222325ULL;

// The hash of `size` bytes at `data`, continued from `h` (kFnv1aOffset to start).
inline std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t h = kFnv1aOffset) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) h = (h ^ bytes[i]) * 0x100000001b3ULL;
  return h;
}
inline std::uint64_t fnv1a(const std::string& text, std::uint64_t h = kFnv1aOffset) {
  return fnv1a(text.data(), text.size(), h);
}

// A 64-bit hash as 16 lowercase hex digits (the form manifests and records store).
inline std::string hex16(std::uint64_t h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) text[static_cast<std::size_t>(i)] = kDigits[h & 15];
  return text;
}

}  // namespace mmdg
