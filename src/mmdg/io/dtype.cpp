#include "mmdg/io/dtype.h"

namespace mmdg::io {
namespace {

// The table's names are unique per format, so every lookup is a function.
constexpr bool names_unique() {
  for (std::size_t i = 0; i < kDtypes.size(); ++i)
    for (std::size_t j = i + 1; j < kDtypes.size(); ++j) {
      const auto &a = kDtypes[i], &b = kDtypes[j];
      if (a.type == b.type || a.python == b.python) return false;
      if (!a.storage_class.empty() && a.storage_class == b.storage_class) return false;
      if (!a.safetensors.empty() && a.safetensors == b.safetensors) return false;
      if (a.numpy_kind != 0 && a.numpy_kind == b.numpy_kind && a.element_size == b.element_size) return false;
    }
  return true;
}
static_assert(names_unique(), "kDtypes: a name or code appears twice");
static_assert(find_dtype(c10::ScalarType::Float)->element_size == 4 && find_dtype_by_numpy("f4") == &kDtypes[1],
              "kDtypes lookups");

}  // namespace

std::string numpy_code(const DtypeInfo& row) {
  if (row.numpy_kind == 0) return "";
  return std::string(1, row.numpy_kind) + std::to_string(row.element_size);
}

std::string dtype_name(c10::ScalarType dtype) {
  const DtypeInfo* row = find_dtype(dtype);
  return row ? std::string(row->python) : std::string(c10::toString(dtype));
}

}  // namespace mmdg::io
