#include "core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "core/error.h"

namespace sealite {
namespace fs = std::filesystem;

std::vector<uint8_t> read_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path.string() + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open (" + std::strerror(errno) + ")");
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) throw Error(path.string() + ": cannot determine size");
  in.seekg(0);
  std::vector<uint8_t> data(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(data.data()), size))
    throw Error(path.string() + ": read failed");
  return data;
}

std::string read_text_file(const fs::path& path) {
  auto bytes = read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

static fs::path temp_sibling(const fs::path& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp.%d.%08llx", static_cast<int>(getpid()),
                static_cast<unsigned long long>(rng() & 0xffffffffull));
  return dir / ("." + path.filename().string() + suffix);
}

void write_via_temp(const fs::path& path, const std::function<void(const fs::path&)>& produce) {
  fs::path tmp = temp_sibling(path);
  try {
    produce(tmp);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error(path.string() + ": cannot write (" + ec.message() + ")");
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void write_file_atomic(const fs::path& path, std::span<const uint8_t> bytes) {
  write_via_temp(path, [&](const fs::path& tmp) {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(path.string() + ": cannot create (" + std::strerror(errno) + ")");
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        ::close(fd);
        throw Error(path.string() + ": write failed (" + std::strerror(e) + ")");
      }
      off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0)
      throw Error(path.string() + ": write failed (" + std::strerror(errno) + ")");
  });
}

void write_file_atomic(const fs::path& path, const std::string& text) {
  write_file_atomic(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (!fs::exists(a, ec) || !fs::exists(b, ec)) {
    return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
  }
  return fs::equivalent(a, b, ec);
}

}  // namespace sealite
