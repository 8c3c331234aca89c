// The in-memory form of a weights file: tensors by name, in file order.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/ordered_dict.h>

#include <string>

namespace mmdg::io {

using StateDict = torch::OrderedDict<std::string, at::Tensor>;

// Python-style dtype name: "float32", "float16", "bfloat16", "int64", "bool", ...
std::string dtype_name(c10::ScalarType dtype);

}  // namespace mmdg::io
