// torch.save-compatible writer: archive/data.pkl (pickle protocol 2), archive/data/<key>,
// archive/version, archive/byteorder; entries stored uncompressed, as torch does.
#include <ATen/ATen.h>
#include "mmdg/io/dtype.h"
#include "mmdg/io/torch_checkpoint.h"
#include "mmdg/io/zip_writer.h"
#include "mmdg/util/error.h"

namespace mmdg::io {
namespace {

// The storage class (torch.FloatStorage, ...) of every dtype in the table that has one.
std::string storage_class(c10::ScalarType dtype) {
  const DtypeInfo* row = find_dtype(dtype);
  if (!row || row->storage_class.empty())
    throw Error(std::string("dtype ") + c10::toString(dtype) + " cannot be written to a .pth file");
  return std::string(row->storage_class);
}

class PickleOut {
 public:
  std::string bytes = std::string("\x80\x02", 2);
  void op(char c) { bytes += c; }
  void text(const std::string& s) {
    op('X');
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>((s.size() >> (8 * i)) & 0xff);
    bytes += s;
  }
  void integer(std::int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      for (int i = 0; i < 4; ++i) bytes += static_cast<char>((static_cast<std::uint32_t>(v) >> (8 * i)) & 0xff);
    } else {
      bytes += "\x8a\x08";
      for (int i = 0; i < 8; ++i) bytes += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
    }
  }
  void global(const std::string& module, const std::string& name) { bytes += "c" + module + "\n" + name + "\n"; }
  void int_tuple(at::IntArrayRef values) {
    op('(');
    for (auto v : values) integer(v);
    op('t');
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }
};

}  // namespace

void write_torch_checkpoint(const std::string& path, const StateDict& tensors) {
  std::vector<at::Tensor> storages;
  PickleOut p;
  p.empty_ordered_dict();
  p.op('(');
  for (const auto& item : tensors) {
    const at::Tensor t = item.value().detach().to(at::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    p.text(item.key());
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id ('storage', type, key, location, numel)
    p.text("storage");
    p.global("torch", storage_class(t.scalar_type()));
    p.text(key);
    p.text("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.op('\x89');  // requires_grad = False
    p.empty_ordered_dict();  // backward hooks
    p.op('t');
    p.op('R');
    storages.push_back(t);
  }
  p.op('u');
  p.op('.');

  std::vector<std::pair<std::string, std::string>> entries;
  entries.emplace_back("archive/data.pkl", p.bytes);
  entries.emplace_back("archive/byteorder", "little");
  for (std::size_t i = 0; i < storages.size(); ++i)
    entries.emplace_back("archive/data/" + std::to_string(i),
                         std::string(static_cast<const char*>(storages[i].data_ptr()),
                                     storages[i].numel() * storages[i].element_size()));
  entries.emplace_back("archive/version", "3\n");
  write_zip(path, entries, /*compress=*/false);
}

}  // namespace mmdg::io
