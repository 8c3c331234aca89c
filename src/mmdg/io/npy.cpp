#include "mmdg/io/npy.h"

#include <atomic>

#include <ATen/ATen.h>

#include <cstring>

#include "mmdg/io/dtype.h"
#include "mmdg/io/zip_archive.h"
#include "mmdg/io/zip_writer.h"
#include "mmdg/util/error.h"

namespace mmdg::io {
namespace {

constexpr std::size_t kMaxNpyHeader = 10000;

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

// The .npy header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a newline. Read by a linear scanner (no backtracking regex: a header of
// 60000 spaces or a 40000-character descr is an error, not a stack overflow).
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
};

NpyHeader parse_npy_header(const std::string& text, const std::string& context) {
  std::size_t i = 0;
  const auto fail = [&](const std::string& what) -> void {
    throw Error(context + ": malformed .npy header (" + what + " at byte " + std::to_string(i) + ")");
  };
  const auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  };
  const auto eat = [&](char c) {
    skip_space();
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  const auto expect = [&](char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  };
  const auto quoted = [&] {
    skip_space();
    if (i >= text.size() || (text[i] != '\'' && text[i] != '"')) fail("expected a quoted string");
    const char quote = text[i++];
    const auto end = text.find(quote, i);
    if (end == std::string::npos) fail("unterminated string");
    if (end - i > 32) fail("a string longer than 32 characters");
    std::string value = text.substr(i, end - i);
    i = end + 1;
    return value;
  };
  NpyHeader h;
  bool has_descr = false, has_fortran = false, has_shape = false;
  expect('{');
  while (!eat('}')) {
    const std::string key = quoted();
    expect(':');
    skip_space();
    if (key == "descr") {
      h.descr = quoted();
      has_descr = true;
    } else if (key == "fortran_order") {
      if (text.compare(i, 4, "True") == 0) h.fortran_order = true, i += 4;
      else if (text.compare(i, 5, "False") == 0) h.fortran_order = false, i += 5;
      else fail("fortran_order must be True or False");
      has_fortran = true;
    } else if (key == "shape") {
      expect('(');
      while (!eat(')')) {
        skip_space();
        const std::size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        if (i == start) fail("expected a dimension");
        if (i - start > 15) fail("a dimension too large");
        h.shape.push_back(std::stoll(text.substr(start, i - start)));
        if (!eat(',')) {
          expect(')');
          break;
        }
      }
      has_shape = true;
    } else {
      fail("unknown key '" + key + "'");
    }
    if (!eat(',')) {
      expect('}');
      break;
    }
  }
  skip_space();
  if (i != text.size()) fail("text after the dict");
  if (!has_descr) throw Error(context + ": .npy header without 'descr'");
  if (!has_fortran) throw Error(context + ": .npy header without 'fortran_order'");
  if (!has_shape) throw Error(context + ": .npy header without 'shape'");
  return h;
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
  if (header_len > kMaxNpyHeader)
    throw Error(context + ": .npy header of " + std::to_string(header_len) + " bytes is larger than " +
                std::to_string(kMaxNpyHeader) + " (numpy's own reading limit)");
  const std::string header = bytes.substr(offset, header_len);
  const std::size_t data_offset = offset + header_len;

  const NpyHeader h = parse_npy_header(header, context);
  if (h.fortran_order) throw Error(context + ": Fortran-order arrays are not supported (HINT: save np.ascontiguousarray(a))");
  const std::string& descr = h.descr;
  const std::vector<std::int64_t>& shape = h.shape;
  std::string dims;
  for (auto d : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);

  const bool uint16 = descr.size() == 3 && descr.substr(1) == "u2";
  const c10::ScalarType dtype = npy_dtype(descr, context);
  const std::size_t element = uint16 ? 2 : c10::elementSize(dtype);
  unsigned __int128 count = 1, nonzero = 1;
  for (auto d : shape) {
    count *= static_cast<unsigned __int128>(d);
    // the dimensions other than 0 too: after a 0 the count stays 0, but LibTorch multiplies the
    // sizes of an empty tensor as well and refuses an overflow with its own error (found by fuzzing)
    nonzero *= static_cast<unsigned __int128>(std::max<std::int64_t>(d, 1));
    if (count > (static_cast<unsigned __int128>(1) << 40) || nonzero > (static_cast<unsigned __int128>(1) << 40))
      throw Error(context + ": shape (" + dims + ") too large");
  }
  const unsigned __int128 need = count * element;
  if (need != bytes.size() - data_offset)
    throw Error(context + ": " + descr + " array of shape (" + dims + ") needs " +
                std::to_string(static_cast<std::uint64_t>(need)) + " bytes, the file holds " +
                std::to_string(bytes.size() - data_offset) + " (truncated or corrupt?)");
  if (uint16) {
    at::Tensor raw = at::empty(shape, at::TensorOptions().dtype(c10::ScalarType::Short));
    if (need > 0) std::memcpy(raw.data_ptr(), bytes.data() + data_offset, static_cast<std::size_t>(need));
    return raw.to(c10::ScalarType::Int).bitwise_and(0xffff);
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (need > 0) std::memcpy(t.data_ptr(), bytes.data() + data_offset, static_cast<std::size_t>(need));  // (an empty tensor has no data pointer)
  return t;
}

namespace {
std::atomic<std::uint64_t> max_entry_bytes{std::uint64_t{1} << 30};
std::string megabytes(std::uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MB"; }
}  // namespace

std::uint64_t max_npz_entry_bytes() { return max_entry_bytes.load(); }
void set_max_npz_entry_bytes(std::uint64_t bytes) { max_entry_bytes.store(bytes); }

StateDict read_npz(const std::string& path) {
  ZipArchive zip(path);
  StateDict out;
  for (const auto& name : zip.entry_names()) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0) continue;
    const std::uint64_t size = zip.entry_size(name), limit = max_npz_entry_bytes();
    if (size > limit)
      throw Error(path + ":" + name + ": decodes to " + megabytes(size) + ", more than the limit of " + megabytes(limit) +
                  " per array (HINT: mmdg --max-sample-mb raises it)");
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
