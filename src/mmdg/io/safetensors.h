// Reader and writer for the safetensors format (Hugging Face / timm `model.safetensors`):
// 8-byte little-endian header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the raw little-endian, row-major tensor bytes. Every field is validated against the file
// size before anything is read.
#pragma once
#include <map>
#include <string>

#include "mmdg/io/state_dict.h"

namespace mmdg::io {

using Metadata = std::map<std::string, std::string>;

// Reads every tensor (in header order). `metadata`, when given, receives `__metadata__`.
StateDict read_safetensors(const std::string& path, Metadata* metadata = nullptr);

// Only the `__metadata__` of a file (header read and validated, no tensor data read).
Metadata read_safetensors_metadata(const std::string& path);

// Writes tensors (moved to CPU, made contiguous) atomically (temporary file + rename).
void write_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata = {});

// The safetensors dtype code ("F32", "BF16", ...) of a dtype; throws for unsupported ones.
std::string safetensors_dtype(c10::ScalarType dtype);

}  // namespace mmdg::io
