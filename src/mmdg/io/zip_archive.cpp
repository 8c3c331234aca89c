#include "mmdg/io/zip_archive.h"

#include <zlib.h>

#include <filesystem>

#include <zip.h>

#include <algorithm>

#include "mmdg/util/error.h"

namespace mmdg::io {

struct ZipArchive::Handle {
  zip_t* zip = nullptr;
};

ZipArchive::ZipArchive(const std::string& path) : path_(path), handle_(new Handle) {
  int code = 0;
  handle_->zip = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (handle_->zip == nullptr) {
    if (code == ZIP_ER_NOENT || code == ZIP_ER_OPEN) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) throw Error(path + ": file not found");
    }
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error(path + ": cannot open as a zip archive: " + message +
                " (truncated or corrupt file?)");
  }
  const zip_int64_t count = zip_get_num_entries(handle_->zip, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(handle_->zip, static_cast<zip_uint64_t>(i), 0);
    names_.emplace_back(name ? name : "");
  }
}

ZipArchive::~ZipArchive() {
  if (handle_ && handle_->zip) zip_discard(handle_->zip);
}

bool ZipArchive::has_entry(const std::string& name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

std::int64_t ZipArchive::index_of(const std::string& name) const {
  const auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) throw Error(path_ + ": missing entry '" + name + "'");
  return it - names_.begin();
}

std::uint64_t ZipArchive::entry_size(const std::string& name) const {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(handle_->zip, static_cast<zip_uint64_t>(index_of(name)), 0, &stat) != 0 ||
      !(stat.valid & ZIP_STAT_SIZE))
    throw Error(path_ + ": cannot stat entry '" + name + "'");
  // Trust no declared size beyond what the file can hold: a stored entry is its compressed bytes,
  // a deflate stream expands at most 1032:1, and the compressed bytes lie inside the file.
  if ((stat.valid & ZIP_STAT_COMP_SIZE) && (stat.valid & ZIP_STAT_COMP_METHOD)) {
    std::error_code ec;
    const auto file_bytes = std::filesystem::file_size(path_, ec);
    if (!ec && stat.comp_size > file_bytes)
      throw Error(path_ + ": entry '" + name + "' declares " + std::to_string(stat.comp_size) +
                  " compressed bytes in a file of " + std::to_string(file_bytes) + " (corrupt file)");
    const bool store = stat.comp_method == ZIP_CM_STORE, deflate = stat.comp_method == ZIP_CM_DEFLATE;
    const std::uint64_t bound = store ? stat.comp_size : deflate ? stat.comp_size * 1032 + 1024 : stat.size;
    if (stat.size > bound)
      throw Error(path_ + ": entry '" + name + "' declares " + std::to_string(stat.size) + " bytes, more than its " +
                  std::to_string(stat.comp_size) + (store ? " stored bytes" : " deflated bytes can expand to (at most 1032:1)") +
                  " (a zip bomb or a corrupt file)");
  }
  return stat.size;
}

std::string ZipArchive::read(const std::string& name) const {
  std::string bytes(entry_size(name), '\0');
  read_into(name, bytes.data(), bytes.size());
  return bytes;
}

void ZipArchive::read_into(const std::string& name, void* dst, std::uint64_t size) const {
  const std::uint64_t expected = entry_size(name);
  if (expected != size)
    throw Error(path_ + ": entry '" + name + "' holds " + std::to_string(expected) +
                " bytes, expected " + std::to_string(size));
  zip_file_t* file = zip_fopen_index(handle_->zip, static_cast<zip_uint64_t>(index_of(name)), 0);
  if (file == nullptr)
    throw Error(path_ + ": cannot open entry '" + name + "': " + zip_strerror(handle_->zip));
  auto* out = static_cast<char*>(dst);
  std::uint64_t done = 0;
  while (done < size) {
    const zip_int64_t n = zip_fread(file, out + done, size - done);
    if (n <= 0) {
      const std::string message = zip_file_strerror(file);
      zip_fclose(file);
      throw Error(path_ + ": cannot read entry '" + name + "': " +
                  (n < 0 ? message : std::string("unexpected end of data")) +
                  " (truncated or corrupt file?)");
    }
    done += static_cast<std::uint64_t>(n);
  }
  zip_fclose(file);
  // libzip checks an entry's CRC only when a read runs into its end; ours stop at its size, so
  // check it here: one flipped bit in a tensor is an error, not a silently wrong weight
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(handle_->zip, static_cast<zip_uint64_t>(index_of(name)), 0, &stat) == 0 && (stat.valid & ZIP_STAT_CRC)) {
    const auto crc = static_cast<std::uint32_t>(crc32_z(0L, reinterpret_cast<const Bytef*>(out), static_cast<z_size_t>(size)));
    if (crc != stat.crc)
      throw Error(path_ + ": entry '" + name + "' fails its CRC-32 check (stored " + std::to_string(stat.crc) + ", computed " +
                  std::to_string(crc) + "): the file is corrupt");
  }
}

}  // namespace mmdg::io
