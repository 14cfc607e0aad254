// File helpers: whole-file reads and atomic writes (temp file + rename), so an
// interrupted or failed run never leaves a half-written output behind.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace sealite {

std::vector<uint8_t> read_file(const std::filesystem::path& path);
std::string read_text_file(const std::filesystem::path& path);

// Writes bytes to `path` atomically: a temporary file in the same directory,
// fsync, then rename over the target. Throws sealite::Error on failure and
// leaves no temporary behind.
void write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

// For writers that produce a file themselves (encoders): calls `produce` with a
// temporary path next to `path`, then renames it into place. On exception the
// temporary is removed and the exception propagates.
void write_via_temp(const std::filesystem::path& path,
                    const std::function<void(const std::filesystem::path& tmp)>& produce);

// True when a and b name the same existing file (after resolving links).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace sealite
