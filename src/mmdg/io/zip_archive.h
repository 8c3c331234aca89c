// Read-only access to a zip archive (torch.save checkpoints, numpy .npz files) through libzip.
// Every failure (not a zip, truncated, missing or unreadable entry) is an mmdg::Error naming the
// archive and entry.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mmdg::io {

class ZipArchive {
 public:
  explicit ZipArchive(const std::string& path);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<std::string>& entry_names() const { return names_; }
  bool has_entry(const std::string& name) const;
  // Uncompressed size of an entry.
  std::uint64_t entry_size(const std::string& name) const;
  // Reads a whole entry.
  std::string read(const std::string& name) const;
  // Reads a whole entry into `dst`, which must hold exactly `size` bytes (== entry_size).
  void read_into(const std::string& name, void* dst, std::uint64_t size) const;

 private:
  std::int64_t index_of(const std::string& name) const;
  std::string path_;
  struct Handle;
  std::unique_ptr<Handle> handle_;
  std::vector<std::string> names_;
};

}  // namespace mmdg::io
