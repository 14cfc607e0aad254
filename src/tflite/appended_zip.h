// Some .tflite files carry a zip archive after the FlatBuffer (TFLite
// metadata "associated files", e.g. a label map). The FlatBuffer does not
// know about it, so a rewrite must carry it over explicitly, moving the zip's
// absolute offsets to the archive's new position.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sealite::tfl {

struct AppendedZip {
  size_t start = 0;                 // offset of the first local header in the original file
  std::vector<uint8_t> bytes;       // the archive, from `start` to the end of the file
  bool absolute_offsets = true;     // offsets count from the file start (as Python's zipfile writes them)
  std::vector<std::string> names;   // entry names
};

// The zip archive at the end of `data`, if there is a well-formed one.
std::optional<AppendedZip> find_appended_zip(const uint8_t* data, size_t size);
// `model` (a serialised FlatBuffer) followed by the archive, offsets relocated.
std::vector<uint8_t> append_zip(std::vector<uint8_t> model, const AppendedZip& zip);

}  // namespace sealite::tfl
