// The one table of tensor element types and their names in every file format we read or write:
// the Python name ("float32", shown by `mmdg weights info`), the torch.save storage class
// ("FloatStorage", in the pickle of a .pth), the safetensors code ("F32") and the numpy kind and
// itemsize ("f4", in a .npy descr). Every format derives its lookups from `kDtypes` and keeps only
// its own policy (which rows it accepts, its error messages).
#pragma once
#include <c10/core/ScalarType.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace mmdg::io {

struct DtypeInfo {
  c10::ScalarType type;
  std::string_view python;         // torch / numpy name, e.g. "float32"
  std::string_view storage_class;  // torch.save legacy storage class, e.g. "FloatStorage"
  std::string_view safetensors;    // safetensors dtype code, e.g. "F32"
  char numpy_kind;                 // numpy kind: 'f', 'i', 'u', 'b'; 0 where numpy has no such type
  std::size_t element_size;        // bytes per element (= the numpy itemsize)
};

inline constexpr std::array<DtypeInfo, 10> kDtypes = {{
    // type                        python      storage class      safetensors numpy bytes
    {c10::ScalarType::Double,   "float64",  "DoubleStorage",   "F64",  'f', 8},
    {c10::ScalarType::Float,    "float32",  "FloatStorage",    "F32",  'f', 4},
    {c10::ScalarType::Half,     "float16",  "HalfStorage",     "F16",  'f', 2},
    {c10::ScalarType::BFloat16, "bfloat16", "BFloat16Storage", "BF16", 0,   2},
    {c10::ScalarType::Long,     "int64",    "LongStorage",     "I64",  'i', 8},
    {c10::ScalarType::Int,      "int32",    "IntStorage",      "I32",  'i', 4},
    {c10::ScalarType::Short,    "int16",    "ShortStorage",    "I16",  'i', 2},
    {c10::ScalarType::Char,     "int8",     "CharStorage",     "I8",   'i', 1},
    {c10::ScalarType::Byte,     "uint8",    "ByteStorage",     "U8",   'u', 1},
    {c10::ScalarType::Bool,     "bool",     "BoolStorage",     "BOOL", 'b', 1},
}};

// Lookups in kDtypes; nullptr where no row matches.
constexpr const DtypeInfo* find_dtype(c10::ScalarType type) {
  for (const auto& row : kDtypes)
    if (row.type == type) return &row;
  return nullptr;
}
constexpr const DtypeInfo* find_dtype_by_storage_class(std::string_view name) {
  for (const auto& row : kDtypes)
    if (!row.storage_class.empty() && row.storage_class == name) return &row;
  return nullptr;
}
constexpr const DtypeInfo* find_dtype_by_safetensors(std::string_view code) {
  for (const auto& row : kDtypes)
    if (!row.safetensors.empty() && row.safetensors == code) return &row;
  return nullptr;
}
// `code`: a numpy kind and itemsize without the byte order, e.g. "f4" (of the descr "<f4").
constexpr const DtypeInfo* find_dtype_by_numpy(std::string_view code) {
  for (const auto& row : kDtypes)
    if (row.numpy_kind != 0 && code.size() == 2 && code[0] == row.numpy_kind &&
        code[1] == static_cast<char>('0' + row.element_size))
      return &row;
  return nullptr;
}

// The numpy kind and itemsize of a row, e.g. "f4"; "" where numpy has no such type.
std::string numpy_code(const DtypeInfo& row);

// Python-style dtype name: "float32", "float16", "bfloat16", "int64", "bool", ...; LibTorch's own
// name for a type outside the table.
std::string dtype_name(c10::ScalarType dtype);

}  // namespace mmdg::io
