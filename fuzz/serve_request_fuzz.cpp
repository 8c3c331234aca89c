// mmdg serve's request parsing (serve/request.h): the query and form fields of POST /v1/predict
// and the encoded images' headers, as a client sends them, before anything is decoded.
// Input layout: the query ("name=value&..."), then parts, each "\n\x01" name "\x02" filename
// "\x03" content (a part without filename is a text field). Beyond the oracle of fuzz_input.h:
// only RequestError may come out, with a client status; an accepted request has every image it
// needs, its header's size within the limit, and nothing for a missing modality.
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "serve/request.h"

namespace {

std::vector<std::string_view> split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> pieces;
  for (std::size_t start = 0;;) {
    const auto at = text.find(separator, start);
    pieces.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return pieces;
    start = at + separator.size();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mmdg::serve;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto sections = split(text, "\n\x01");
  std::vector<std::pair<std::string, std::string>> query;
  if (!sections[0].empty())
    for (const auto item : split(sections[0], "&")) {
      const auto eq = item.find('=');
      query.emplace_back(std::string(item.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1)));
    }
  std::vector<Part> parts;
  for (std::size_t k = 1; k < sections.size(); ++k) {
    const auto a = split(sections[k], "\x02");
    const auto b = split(a.size() > 1 ? a[1] : std::string_view(), "\x03");
    parts.push_back(Part{std::string(a[0]), std::string(b[0]), b.size() > 1 ? b[1] : std::string_view()});
  }
  RequestLimits limits;
  limits.max_pixels = 1 << 20;
  try {
    const auto r = parse_predict_request(query, parts, limits);
    for (int m = 0; m < 3; ++m) {
      const auto& h = r.headers[static_cast<std::size_t>(m)];
      if (r.missing[static_cast<std::size_t>(m)]) {
        if (!r.images[static_cast<std::size_t>(m)].empty()) mmdg::fuzz::finding("an image kept for a missing modality", "");
      } else if (h.width <= 0 || h.height <= 0 || h.width * h.height > limits.max_pixels) {
        mmdg::fuzz::finding("an accepted image outside the limits",
                            std::to_string(h.width) + " x " + std::to_string(h.height));
      }
    }
    if (r.missing[0]) mmdg::fuzz::finding("RGB accepted as missing", "");
  } catch (const RequestError& e) {
    if (e.status() < 400 || e.status() > 499) mmdg::fuzz::finding("a request error without a client status", e.what());
  } catch (const std::exception& e) {
    mmdg::fuzz::finding("an exception other than RequestError", std::string(typeid(e).name()) + ": " + e.what());
  }
  // the header reader alone, on the whole input as one file
  mmdg::fuzz::expect_clean("field 'rgb'", [&] { read_image_header(text, "field 'rgb'"); });
  return 0;
}
