#include "mmdg/io/zip_writer.h"

#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "mmdg/io/file_util.h"
#include "mmdg/util/error.h"

namespace mmdg::io {

void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries, bool compress) {
  const std::filesystem::path target(path);
  std::random_device rd;
  const std::filesystem::path tmp_path =
      (target.has_parent_path() ? target.parent_path() : std::filesystem::path(".")) /
      ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
  const std::string tmp = tmp_path.string();
  int code = 0;
  zip_t* zip = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (zip == nullptr) throw Error(path + ": cannot create " + tmp);
  const auto fail = [&](const std::string& what) {
    const std::string message = zip_strerror(zip);
    zip_discard(zip);
    std::remove(tmp.c_str());
    throw Error(path + ": " + what + ": " + message);
  };
  for (const auto& [name, bytes] : entries) {
    zip_source_t* source = zip_source_buffer(zip, bytes.data(), bytes.size(), 0);
    if (source == nullptr) fail("cannot add '" + name + "'");
    const zip_int64_t index = zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      fail("cannot add '" + name + "'");
    }
    zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    // a fixed modification time (1980-01-01 00:00, the DOS epoch) instead of the clock's: the same
    // entries give the same bytes, so data hashes (the synthetic benchmark's manifest) repeat
    if (zip_file_set_dostime(zip, static_cast<zip_uint64_t>(index), 0, (1 << 5) | 1, 0) != 0) fail("cannot set the time of '" + name + "'");
  }
  if (zip_close(zip) != 0) fail("cannot write");
  std::error_code ec;
  try {
    sync_to_disk(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  std::filesystem::rename(tmp_path, target, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot replace: " + ec.message());
  }
  sync_to_disk(target.has_parent_path() ? target.parent_path().string() : std::string("."));
}

}  // namespace mmdg::io
