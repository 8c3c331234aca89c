// Reader for torch.save checkpoints in the zip format (PyTorch >= 1.6): `<prefix>/data.pkl`
// (a pickle, read by the restricted unpickler) and the raw storages `<prefix>/data/<key>`.
#pragma once
#include <string>
#include <vector>

#include "mmdg/io/pickle.h"
#include "mmdg/io/state_dict.h"

namespace mmdg::io {

// Unpickles the checkpoint's top-level object (storages loaded, tensors rebuilt).
pickle::ValuePtr read_torch_pickle(const std::string& path);

// All tensors of a checkpoint. A top-level dict of tensors is a state dict; nested dicts (e.g.
// {"model": {...}, "epoch": 3}) are flattened with '.'-joined names. Non-tensor leaves are
// skipped and, when `skipped` is given, their names are appended to it.
StateDict read_torch_checkpoint(const std::string& path, std::vector<std::string>* skipped = nullptr);

// Writes tensors as a torch.save zip checkpoint that Python's torch.load reads as an OrderedDict
// state dict (pickle protocol 2, contiguous CPU copies, one storage per tensor), atomically.
void write_torch_checkpoint(const std::string& path, const StateDict& tensors);

}  // namespace mmdg::io
