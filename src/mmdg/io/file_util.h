// Small file helpers shared by the readers and writers: whole-file reads with clear errors, and
// atomic writes (temporary file in the same folder, then rename) so nothing is left half-written.
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "mmdg/util/hash.h"

namespace mmdg::io {

// Size of a regular file in bytes; throws Error naming the path when it is missing.
std::uint64_t file_size(const std::string& path);

// Reads up to `count` bytes from the start of the file (fewer when the file is shorter).
std::string read_prefix(const std::string& path, std::size_t count);

// Reads the whole file; throws Error naming the path on failure.
std::string read_file(const std::string& path);

// CRC-32 (zlib's) of the whole file, read in chunks; throws Error naming the path on failure.
std::uint32_t file_crc32(const std::string& path);

// FNV-1a (util/hash.h) of the whole file's bytes, continued from `h`, read in chunks (equal to
// fnv1a(read_file(path), h) without holding the file); throws Error naming the path on failure.
std::uint64_t file_fnv1a(const std::string& path, std::uint64_t h = kFnv1aOffset);

// Flushes a file's data, or a folder's entries (renames, new files), from the page cache to the
// disk (fsync): what was written survives a power loss or a crash of the machine, not only of the
// process. Throws Error naming the path.
void sync_to_disk(const std::string& path);

// Calls `write(stream)` on a temporary file next to `path`, flushes it to the disk, renames it over
// `path` and syncs the folder. On any failure the temporary file is removed and the old `path` is
// left untouched.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace mmdg::io
