// Reading HDF5 files (Debian's libhdf5, the C API), for datasets distributed in HDF5 such as
// WMCA's preprocessed faces (data/wmca_convert.h): the members of a group and unsigned 8-bit
// datasets as tensors. Read-only; every error is an mmdg::Error naming the file and the object,
// never HDF5's own error stack on standard error. HDF5 is not thread-safe in Debian's build: the
// calls here hold one process-wide lock.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mmdg::io {

// Whether this build reads HDF5 (libhdf5 was found); without it every Hdf5File call throws.
bool hdf5_available();

class Hdf5File {
 public:
  // Opens `path` read-only.
  explicit Hdf5File(const std::string& path);
  // An HDF5 file held in memory (`bytes`), named `name` in errors (fuzzing, tests).
  static Hdf5File from_bytes(const std::string& bytes, const std::string& name);
  ~Hdf5File();
  Hdf5File(Hdf5File&&) noexcept;
  Hdf5File& operator=(Hdf5File&&) noexcept;
  Hdf5File(const Hdf5File&) = delete;
  Hdf5File& operator=(const Hdf5File&) = delete;

  const std::string& name() const { return name_; }
  // The names of a group's direct members, sorted ("/" is the root group).
  std::vector<std::string> members(const std::string& group = "/") const;
  // Whether `path` (e.g. "Frame_12/array") names a dataset.
  bool has_dataset(const std::string& path) const;
  // A dataset of unsigned 8-bit integers as a uint8 tensor of its shape (at most 8 dimensions,
  // at most max_elements values). Any other element type, or a shape above the limits, is an
  // error.
  at::Tensor read_uint8(const std::string& path, std::int64_t max_elements = std::int64_t{1} << 28) const;

 private:
  Hdf5File() = default;
  std::int64_t id_ = -1;  // hid_t
  std::string name_;
};

}  // namespace mmdg::io
