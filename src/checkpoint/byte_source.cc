#include "checkpoint/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace sealite::ckpt {

std::shared_ptr<const ByteSource> ByteSource::map_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(name + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(name + ": cannot stat (" + std::strerror(e) + ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(name + ": not a regular file");
  }
  std::shared_ptr<ByteSource> src(new ByteSource());
  if (st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      throw Error(name + ": cannot map (" + std::strerror(e) + ")");
    }
    src->map_ = p;
    src->data_ = static_cast<const uint8_t*>(p);
    src->size_ = static_cast<size_t>(st.st_size);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return src;
}

std::shared_ptr<const ByteSource> ByteSource::from_vector(std::vector<uint8_t> bytes) {
  std::shared_ptr<ByteSource> src(new ByteSource());
  src->owned_ = std::move(bytes);
  src->data_ = src->owned_.data();
  src->size_ = src->owned_.size();
  return src;
}

ByteSource::~ByteSource() {
  if (map_) ::munmap(map_, size_);
}

}  // namespace sealite::ckpt
