#include "mmdg/io/torch_checkpoint.h"

#include <ATen/ATen.h>

#include "mmdg/io/zip_archive.h"
#include "mmdg/util/error.h"

namespace mmdg::io {
namespace {

// The archive's folder prefix: torch writes every entry under one top-level folder.
std::string find_prefix(const ZipArchive& zip) {
  for (const auto& name : zip.entry_names()) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0)
      return name.substr(0, slash + 1);
  }
  throw Error(zip.path() + ": zip archive without <folder>/data.pkl: not a torch.save checkpoint");
}

void flatten(const pickle::ValuePtr& value, const std::string& prefix, StateDict& out,
             std::vector<std::string>* skipped, const std::string& path) {
  using pickle::Kind;
  for (const auto& [key, item] : value->entries) {
    const std::string name =
        prefix + (key->kind == Kind::String ? key->text : std::to_string(key->integer));
    if (item->kind == Kind::Tensor) {
      if (out.contains(name)) throw Error(path + ": duplicate tensor name '" + name + "'");
      out.insert(name, item->tensor);
    } else if (item->kind == Kind::Dict) {
      flatten(item, name + ".", out, skipped, path);
    } else if (skipped) {
      skipped->push_back(name + " (" + pickle::kind_name(item->kind) + ")");
    }
  }
}

}  // namespace

pickle::ValuePtr read_torch_pickle(const std::string& path) {
  ZipArchive zip(path);
  const std::string prefix = find_prefix(zip);
  if (zip.has_entry(prefix + "byteorder")) {
    const std::string order = zip.read(prefix + "byteorder");
    if (order != "little")
      throw Error(path + ": tensors stored in '" + order + "' byte order; only little-endian is supported");
  }
  const auto load = [&](const std::string& key, c10::ScalarType dtype, std::int64_t numel) {
    const std::string entry = prefix + "data/" + key;
    if (!zip.has_entry(entry)) throw Error(path + ": missing storage entry '" + entry + "'");
    const std::uint64_t element = c10::elementSize(dtype);
    const std::uint64_t stored = zip.entry_size(entry);
    const std::uint64_t bytes = static_cast<std::uint64_t>(numel) * element;
    if (static_cast<std::uint64_t>(numel) > stored / element || stored != bytes)
      throw Error(path + ": storage '" + entry + "' holds " + std::to_string(stored) + " bytes, but " +
                  std::to_string(numel) + " " + dtype_name(dtype) + " elements need " +
                  std::to_string(bytes) + " (corrupt file?)");
    at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
    zip.read_into(entry, storage.data_ptr(), bytes);
    return storage;
  };
  // the pickle holds names and metadata only (a ViT-B/16 state dict's is about 60 KB)
  constexpr std::uint64_t kMaxPickleBytes = 64ull << 20;
  if (const auto size = zip.entry_size(prefix + "data.pkl"); size > kMaxPickleBytes)
    throw Error(path + ": " + prefix + "data.pkl declares " + std::to_string(size) + " bytes, more than the " +
                std::to_string(kMaxPickleBytes >> 20) + " MiB any state dict's pickle needs (corrupt or hostile file)");
  return pickle::unpickle(zip.read(prefix + "data.pkl"), load, path);
}

StateDict read_torch_checkpoint(const std::string& path, std::vector<std::string>* skipped) {
  const auto root = read_torch_pickle(path);
  StateDict out;
  if (root->kind == pickle::Kind::Tensor) {
    out.insert("", root->tensor);
    return out;
  }
  if (root->kind != pickle::Kind::Dict)
    throw Error(path + ": top-level object is a " + pickle::kind_name(root->kind) +
                ", expected a dict of tensors (a state dict)");
  flatten(root, "", out, skipped, path);
  return out;
}

}  // namespace mmdg::io
