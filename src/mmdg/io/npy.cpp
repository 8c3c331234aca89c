#include "mmdg/io/npy.h"

#include <ATen/ATen.h>

#include <cstring>
#include <regex>

#include "mmdg/io/dtype.h"
#include "mmdg/io/zip_archive.h"
#include "mmdg/io/zip_writer.h"
#include "mmdg/util/error.h"

namespace mmdg::io {
namespace {

// The dtype of a .npy descr ("<f4"): every dtype in the table that numpy has, and uint16.
c10::ScalarType npy_dtype(const std::string& descr, const std::string& context) {
  if (descr.size() < 3) throw Error(context + ": unsupported dtype '" + descr + "'");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  if (order == '>')
    throw Error(context + ": big-endian dtype '" + descr + "' is not supported (HINT: save with arr.astype('<" + code + "'))");
  if (order != '<' && order != '|' && order != '=') throw Error(context + ": unknown byte order in dtype '" + descr + "'");
  if (code == "u2") return c10::ScalarType::Int;  // widened below (no uint16 in LibTorch 1.13)
  const DtypeInfo* row = find_dtype_by_numpy(code);
  if (!row) throw Error(context + ": unsupported dtype '" + descr + "'");
  return row->type;
}

}  // namespace

at::Tensor parse_npy(const std::string& bytes, const std::string& context) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw Error(context + ": not a .npy array (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(context + ": truncated .npy header");
    for (int i = 0; i < 4; ++i) header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    throw Error(context + ": unsupported .npy version " + std::to_string(major));
  }
  if (header_len > bytes.size() - offset) throw Error(context + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  const std::size_t data_offset = offset + header_len;

  static const std::regex descr_re(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex fortran_re(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex shape_re(R"('shape'\s*:\s*\(([^)]*)\))");
  std::smatch m;
  if (!std::regex_search(header, m, descr_re)) throw Error(context + ": .npy header without 'descr'");
  const std::string descr = m[1];
  if (!std::regex_search(header, m, fortran_re)) throw Error(context + ": .npy header without 'fortran_order'");
  if (m[1] == "True") throw Error(context + ": Fortran-order arrays are not supported (HINT: save np.ascontiguousarray(a))");
  if (!std::regex_search(header, m, shape_re)) throw Error(context + ": .npy header without 'shape'");
  std::vector<std::int64_t> shape;
  const std::string dims = m[1];
  static const std::regex dim_re(R"(\s*(\d+)\s*,?)");
  std::size_t consumed = 0;
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim_re); it != std::sregex_iterator(); ++it) {
    if (static_cast<std::size_t>(it->position()) != consumed) throw Error(context + ": malformed shape '(" + dims + ")'");
    consumed += it->length();
    const std::string digits = (*it)[1];
    if (digits.size() > 15) throw Error(context + ": shape entry too large");
    shape.push_back(std::stoll(digits));
  }
  if (dims.find_first_not_of(" ", consumed) != std::string::npos) throw Error(context + ": malformed shape '(" + dims + ")'");

  const bool uint16 = descr.size() == 3 && descr.substr(1) == "u2";
  const c10::ScalarType dtype = npy_dtype(descr, context);
  const std::size_t element = uint16 ? 2 : c10::elementSize(dtype);
  unsigned __int128 count = 1;
  for (auto d : shape) {
    count *= static_cast<unsigned __int128>(d);
    if (count > (static_cast<unsigned __int128>(1) << 40)) throw Error(context + ": shape too large");
  }
  const unsigned __int128 need = count * element;
  if (need != bytes.size() - data_offset)
    throw Error(context + ": " + descr + " array of shape (" + dims + ") needs " +
                std::to_string(static_cast<std::uint64_t>(need)) + " bytes, the file holds " +
                std::to_string(bytes.size() - data_offset) + " (truncated or corrupt?)");
  if (uint16) {
    at::Tensor raw = at::empty(shape, at::TensorOptions().dtype(c10::ScalarType::Short));
    std::memcpy(raw.data_ptr(), bytes.data() + data_offset, static_cast<std::size_t>(need));
    return raw.to(c10::ScalarType::Int).bitwise_and(0xffff);
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  std::memcpy(t.data_ptr(), bytes.data() + data_offset, static_cast<std::size_t>(need));
  return t;
}

StateDict read_npz(const std::string& path) {
  ZipArchive zip(path);
  StateDict out;
  for (const auto& name : zip.entry_names()) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0) continue;
    out.insert(name.substr(0, name.size() - 4), parse_npy(zip.read(name), path + ":" + name));
  }
  if (out.is_empty()) throw Error(path + ": no .npy arrays in the archive");
  return out;
}

std::string make_npy(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  const DtypeInfo* row = find_dtype(t.scalar_type());
  if (!row || row->numpy_kind == 0)
    throw Error(std::string("dtype ") + c10::toString(t.scalar_type()) + " cannot be written to .npy");
  // byte order: '|' (not applicable) for one-byte types, '<' (little-endian) otherwise
  const std::string descr = (row->element_size == 1 ? "|" : "<") + numpy_code(*row);
  std::string shape;
  for (auto d : t.sizes()) shape += std::to_string(d) + ", ";
  if (t.dim() == 1) shape.pop_back();                        // "(a,)"
  else if (t.dim() > 1) shape.resize(shape.size() - 2);      // "(a, b)"
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return out;
}

void write_npz(const std::string& path, const StateDict& arrays, bool compress) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& item : arrays) files.emplace_back(item.key() + ".npy", make_npy(item.value()));
  write_zip(path, files, compress);
}

}  // namespace mmdg::io
