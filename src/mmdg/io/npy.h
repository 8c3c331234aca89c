// NumPy .npy arrays and .npz archives (a zip of .npy files, stored or deflate-compressed), read
// natively. The .npy header is checked: magic, version, dtype (little-endian or byte-order-free
// bool / int8 / uint8 / int16 / uint16 / int32 / int64 / float16 / float32 / float64), C order
// (Fortran order is refused) and that the data size matches the shape.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>

#include "mmdg/io/state_dict.h"

namespace mmdg::io {

// Parses one .npy file's bytes; `context` names it in errors.
at::Tensor parse_npy(const std::string& bytes, const std::string& context);

// Every array of an .npz archive, by name without the ".npy" suffix.
StateDict read_npz(const std::string& path);

// One .npy file (version 1.0, C order, little-endian) holding a CPU tensor.
std::string make_npy(const at::Tensor& tensor);

// Writes arrays as an .npz archive (np.savez layout; `compress`: deflate, as np.savez_compressed),
// atomically.
void write_npz(const std::string& path, const StateDict& arrays, bool compress);

}  // namespace mmdg::io
