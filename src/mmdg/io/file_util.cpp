#include "mmdg/io/file_util.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "mmdg/util/error.h"
#include "mmdg/util/hash.h"

namespace mmdg::io {
namespace fs = std::filesystem;

std::uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(path + ": file not found");
  if (!fs::is_regular_file(status)) throw Error(path + ": not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) throw Error(path + ": cannot read its size: " + ec.message());
  return size;
}

std::string read_prefix(const std::string& path, std::size_t count) {
  file_size(path);  // existence and type checks with clear messages
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::string bytes(count, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(count));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

std::string read_file(const std::string& path) {
  const auto size = file_size(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uint64_t>(in.gcount()) != size) throw Error(path + ": short read");
  return bytes;
}

namespace {

// Calls use(data, size) on the file's bytes, 1 MiB at a time.
void for_each_chunk(const std::string& path, const std::function<void(const char*, std::size_t)>& use) {
  file_size(path);  // "file not found"
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = in.gcount();
    if (got > 0) use(chunk.data(), static_cast<std::size_t>(got));
  }
  if (in.bad()) throw Error(path + ": read failed");
}

}  // namespace

std::uint32_t file_crc32(const std::string& path) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for_each_chunk(path, [&](const char* data, std::size_t size) {
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size));
  });
  return static_cast<std::uint32_t>(crc);
}

std::uint64_t file_fnv1a(const std::string& path, std::uint64_t h) {
  for_each_chunk(path, [&](const char* data, std::size_t size) { h = fnv1a(data, size, h); });
  return h;
}

void sync_to_disk(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open to sync to the disk: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // a folder on a file system that cannot sync folders answers EINVAL: nothing more can be done
  if (rc != 0 && !(err == EINVAL && fs::is_directory(path)))
    throw Error(path + ": cannot sync to the disk: " + std::strerror(err));
}

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp =
      dir / ("." + target.filename().string() + ".tmp" + std::to_string(::getpid()) + "_" +
             std::to_string(rd()));
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error(tmp.string() + ": cannot create: " + std::strerror(errno));
      write(out);
      out.flush();
      if (!out) throw Error(tmp.string() + ": write failed (disk full?)");
    }
    sync_to_disk(tmp.string());  // the data on the disk before the rename makes it the file
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) throw Error(path + ": cannot replace with " + tmp.string() + ": " + ec.message());
    sync_to_disk(dir.string());  // the rename itself
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

}  // namespace mmdg::io
