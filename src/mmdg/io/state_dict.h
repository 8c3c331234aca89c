// The in-memory form of a weights file: tensors by name, in file order.
#pragma once
#include <ATen/core/Tensor.h>
#include <torch/ordered_dict.h>

#include <string>

#include "mmdg/io/dtype.h"

namespace mmdg::io {

using StateDict = torch::OrderedDict<std::string, at::Tensor>;

}  // namespace mmdg::io
