// A benchmark list file (CeFA / SURF / WMCA image triples, PADISI .npz names, attack fields,
// CRLF, NUL bytes), and the round trip of every entry it accepts through format_list_line.
#include "fuzz/fuzz_input.h"
#include "mmdg/data/list_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string path = "fuzz_list.txt";
  mmdg::fuzz::expect_clean(path, [&] {
    const auto list = mmdg::data::parse_list(text, path);
    for (const auto& entry : list.entries) {
      // What parse_list accepted must be written back and read again as the same entry.
      const auto again = mmdg::data::parse_list(mmdg::data::format_list_line(entry), path);
      if (again.entries.size() != 1 || again.entries[0].rgb != entry.rgb || again.entries[0].depth != entry.depth ||
          again.entries[0].ir != entry.ir || again.entries[0].label != entry.label ||
          again.entries[0].attack != entry.attack || again.entries[0].format != entry.format)
        mmdg::fuzz::finding("a list entry that does not survive format_list_line -> parse_list",
                            "line " + std::to_string(entry.line));
    }
  });
  return 0;
}
