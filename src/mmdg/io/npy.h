// NumPy .npy arrays and .npz archives (a zip of .npy files, stored or deflate-compressed), read
// natively. The .npy header is checked: magic, version, dtype (little-endian or byte-order-free
// bool / int8 / uint8 / int16 / uint16 / int32 / int64 / float16 / float32 / float64), C order
// (Fortran order is refused) and that the data size matches the shape.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "mmdg/io/state_dict.h"

namespace mmdg::io {

// Parses one .npy file's bytes; `context` names it in errors.
at::Tensor parse_npy(const std::string& bytes, const std::string& context);

// Every array of an .npz archive, by name without the ".npy" suffix. An entry whose decoded size
// exceeds max_npz_entry_bytes() is refused, naming the file, before any memory is taken for it (a
// 1.4 MB archive can hold a 1.5 GB array).
StateDict read_npz(const std::string& path);

// The limit read_npz applies to one array's decoded size; default 1 GiB. Process-wide.
std::uint64_t max_npz_entry_bytes();
void set_max_npz_entry_bytes(std::uint64_t bytes);

// One .npy file (version 1.0, C order, little-endian) holding a CPU tensor.
std::string make_npy(const at::Tensor& tensor);

// Writes arrays as an .npz archive (np.savez layout; `compress`: deflate, as np.savez_compressed),
// atomically.
void write_npz(const std::string& path, const StateDict& arrays, bool compress);

}  // namespace mmdg::io
