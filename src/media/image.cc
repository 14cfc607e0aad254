#include "media/image.h"

#include <jpeglib.h>
#include <jerror.h>  // after jpeglib.h: the JWRN_* message codes
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/npy.h"

// Error handling with the C libraries: libpng and libjpeg report fatal errors
// through callbacks that must not return. We longjmp out of them (throwing a
// C++ exception through C frames is not allowed). To keep that well defined,
// every function that calls setjmp only has trivially destructible locals; all
// C++ objects it fills live in a state struct owned by its caller, which turns
// the failure into a sealite::Error after the C library objects are destroyed.

namespace sealite::media {

namespace {

constexpr uint8_t kPngSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr uint8_t kNpySig[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kMsgLen = 320;
constexpr int kMaxJpegScans = 500;  // progressive DoS guard (cf. libjpeg-turbo's TJFLAG_LIMITSCANS)

void set_msg(char* dst, const char* src) {
  std::snprintf(dst, kMsgLen, "%s", src ? src : "unknown error");
}

inline float round_even_small(float x) {  // nearest, ties to even, for 0 <= x < 2^22
  const float magic = 12582912.0f;          // 1.5 * 2^23
  volatile float t = x + magic;             // volatile: keep IEEE semantics under any flags
  return t - magic;
}

inline float clamp01(float v) {
  v = v > 0.0f ? v : 0.0f;  // NaN -> 0
  return v < 1.0f ? v : 1.0f;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string lower_ext(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

void check_pixels(uint64_t w, uint64_t h, int64_t max_pixels, const std::string& name) {
  if (w == 0 || h == 0)
    throw Error(name + ": empty image (" + std::to_string(w) + "x" + std::to_string(h) + ")");
  if (w * h > static_cast<uint64_t>(max_pixels))
    throw Error(name + ": image too large (" + std::to_string(w) + "x" + std::to_string(h) +
                " pixels, limit " + std::to_string(max_pixels) + ")");
}

// ICC header sanity: declared size matches, "acsp" signature, data colour space.
// Returns "RGB ", "GRAY" etc. (empty when the profile is unusable).
std::string icc_color_space(const std::vector<uint8_t>& icc) {
  if (icc.size() < 132 || be32(icc.data()) != icc.size() || std::memcmp(icc.data() + 36, "acsp", 4) != 0)
    return {};
  return std::string(reinterpret_cast<const char*>(icc.data() + 16), 4);
}

// =============================================================== PNG decode

struct PngDecodeState {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  int64_t max_pixels = kMaxPixels;
  uint64_t idat_bytes = 0;  // compressed image data present in the buffer
  char msg[kMsgLen] = {0};
  bool failed_check = false;  // our own validation failed (msg set)
  Image* img = nullptr;
  std::vector<uint8_t> row;      // one decoded row (non-interlaced)
  std::vector<uint8_t> full;     // whole decoded image (interlaced)
  std::vector<png_bytep> rows;   // row pointers into `full`
};

// The error pointer is the state's `msg` buffer (decoder and encoder alike).
void png_error_cb(png_structp png, png_const_charp msg) {
  auto* buf = static_cast<char*>(png_get_error_ptr(png));
  if (buf) set_msg(buf, msg);
  png_longjmp(png, 1);
}

void png_warning_cb(png_structp, png_const_charp) {}  // silent

void png_read_cb(png_structp png, png_bytep out, png_size_t n) {
  auto* st = static_cast<PngDecodeState*>(png_get_io_ptr(png));
  if (n > st->size - st->pos) png_error(png, "truncated file");
  std::memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

// Sum of the IDAT payload actually present in the buffer (for the
// "is the data there" check before allocating the image).
uint64_t png_idat_bytes(const uint8_t* d, size_t size) {
  uint64_t total = 0;
  size_t pos = 8;
  while (pos + 8 <= size) {
    uint64_t len = be32(d + pos);
    const uint8_t* type = d + pos + 4;
    uint64_t avail = size - (pos + 8);
    if (std::memcmp(type, "IDAT", 4) == 0) total += std::min(len, avail);
    if (std::memcmp(type, "IEND", 4) == 0) break;
    if (len + 12 > size - pos) break;
    pos += static_cast<size_t>(len) + 12;
  }
  return total;
}

// Converts one decoded row (channels 1..4, 8 or 16 bit native-endian) into the image.
void png_convert_row(const uint8_t* src, int channels, int depth, int y, Image& img) {
  const int w = img.width;
  float* dst = img.rgb.data() + static_cast<size_t>(y) * w * 3;
  uint16_t* alpha = img.alpha.empty() ? nullptr : img.alpha.data() + static_cast<size_t>(y) * w;
  const bool has_alpha = channels == 2 || channels == 4;
  const int color = has_alpha ? channels - 1 : channels;
  if (depth == 8) {
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = src + static_cast<size_t>(x) * channels;
      if (color == 1) {
        float g = static_cast<float>(p[0]) / 255.0f;
        dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = g;
      } else {
        for (int c = 0; c < 3; ++c) dst[3 * x + c] = static_cast<float>(p[c]) / 255.0f;
      }
      if (has_alpha) alpha[x] = p[color];
    }
  } else {
    const uint16_t* s = reinterpret_cast<const uint16_t*>(src);
    for (int x = 0; x < w; ++x) {
      const uint16_t* p = s + static_cast<size_t>(x) * channels;
      if (color == 1) {
        float g = static_cast<float>(p[0]) / 65535.0f;
        dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = g;
      } else {
        for (int c = 0; c < 3; ++c) dst[3 * x + c] = static_cast<float>(p[c]) / 65535.0f;
      }
      if (has_alpha) alpha[x] = p[color];
    }
  }
}

// Only trivially destructible locals below (see the note at the top).
bool png_decode(png_structp png, png_infop info, PngDecodeState* st) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, st, png_read_cb);
  // Text and other unused ancillary chunks are skipped, not stored.
  static const png_byte kSkip[] = {'t', 'E', 'X', 't', '\0', 'z', 'T', 'X', 't', '\0',
                                   'i', 'T', 'X', 't', '\0', 's', 'P', 'L', 'T', '\0',
                                   'h', 'I', 'S', 'T', '\0', 'p', 'C', 'A', 'L', '\0'};
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kSkip, 6);
  png_read_info(png, info);

  png_uint_32 w = 0, h = 0;
  int depth = 0, color_type = 0, interlace = 0;
  png_get_IHDR(png, info, &w, &h, &depth, &color_type, &interlace, nullptr, nullptr);
  if (w == 0 || h == 0 || static_cast<uint64_t>(w) * h > static_cast<uint64_t>(st->max_pixels)) {
    std::snprintf(st->msg, kMsgLen, "image too large or empty (%ux%u pixels, limit %lld)", w, h,
                  static_cast<long long>(st->max_pixels));
    st->failed_check = true;
    return false;
  }
  // Is the compressed data there? Deflate expands at most ~1032:1.
  const uint64_t file_channels = png_get_channels(png, info);
  const uint64_t raw_row = (static_cast<uint64_t>(w) * file_channels * static_cast<uint64_t>(depth) + 7) / 8 + 1;
  const uint64_t raw = raw_row * h;
  if (raw > st->idat_bytes * 1032 + 4096) {
    std::snprintf(st->msg, kMsgLen,
                  "truncated or corrupt PNG (%ux%u image, only %llu bytes of image data)", w, h,
                  static_cast<unsigned long long>(st->idat_bytes));
    st->failed_check = true;
    return false;
  }

  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_swap(png);  // native little-endian uint16 rows
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);

  const int channels = png_get_channels(png, info);
  const int out_depth = png_get_bit_depth(png, info);
  const size_t rowbytes = png_get_rowbytes(png, info);
  if ((out_depth != 8 && out_depth != 16) || channels < 1 || channels > 4 ||
      rowbytes < static_cast<size_t>(w) * channels * (out_depth / 8)) {
    set_msg(st->msg, "unsupported PNG layout");
    st->failed_check = true;
    return false;
  }
  Image& img = *st->img;
  img.width = static_cast<int>(w);
  img.height = static_cast<int>(h);
  img.bit_depth = out_depth;
  img.gray = channels <= 2;
  img.rgb.assign(static_cast<size_t>(w) * h * 3, 0.0f);
  if (channels == 2 || channels == 4) {
    img.alpha.assign(static_cast<size_t>(w) * h, 0);
    img.alpha_bits = out_depth;
  }
  if (passes <= 1) {
    st->row.assign(rowbytes, 0);
    for (png_uint_32 y = 0; y < h; ++y) {
      png_read_row(png, st->row.data(), nullptr);
      png_convert_row(st->row.data(), channels, out_depth, static_cast<int>(y), img);
    }
  } else {
    st->full.assign(rowbytes * h, 0);
    st->rows.resize(h);
    for (png_uint_32 y = 0; y < h; ++y) st->rows[y] = st->full.data() + rowbytes * y;
    png_read_image(png, st->rows.data());
    for (png_uint_32 y = 0; y < h; ++y)
      png_convert_row(st->rows[y], channels, out_depth, static_cast<int>(y), img);
    std::vector<uint8_t>().swap(st->full);
  }
  png_read_end(png, info);

  png_charp icc_name = nullptr;
  int icc_comp = 0;
  png_bytep icc = nullptr;
  png_uint_32 icc_len = 0;
  if (png_get_iCCP(png, info, &icc_name, &icc_comp, &icc, &icc_len) && icc && icc_len > 0)
    img.icc.assign(icc, icc + icc_len);
  png_uint_32 exif_len = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(png, info, &exif_len, &exif) && exif && exif_len > 0)
    img.exif.assign(exif, exif + exif_len);
  return true;
}

Image decode_png(const uint8_t* d, size_t size, const std::string& name, int64_t max_pixels) {
  Image img;
  img.format = "png";
  PngDecodeState st;
  st.data = d;
  st.size = size;
  st.max_pixels = max_pixels;
  st.img = &img;
  st.idat_bytes = png_idat_bytes(d, size);
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st.msg, png_error_cb, png_warning_cb);
  if (!png) throw Error(name + ": cannot initialise the PNG decoder");
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw Error(name + ": cannot initialise the PNG decoder");
  }
  bool ok = false;
  try {
    ok = png_decode(png, info, &st);
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) {
    if (st.failed_check) throw Error(name + ": " + st.msg);
    if (std::strcmp(st.msg, "truncated file") == 0) throw Error(name + ": truncated PNG file");
    throw Error(name + ": corrupt PNG (" + st.msg + ")");
  }
  return img;
}

// ============================================================== JPEG decode

// Warnings that do not mean damaged image data.
bool jpeg_warning_is_benign(int code) {
  return code == JWRN_ADOBE_XFORM || code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC ||
         code == JWRN_EXTRANEOUS_DATA;
}

struct JpegErrorMgr {
  jpeg_error_mgr pub;  // first member: libjpeg hands us a pointer to it
  jmp_buf jump;
  char msg[kMsgLen];
};

void jpeg_error_exit_cb(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorMgr*>(cinfo->err);
  char buf[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buf);
  set_msg(err->msg, buf);
  std::longjmp(err->jump, 1);
}

void jpeg_emit_message_cb(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  auto* err = reinterpret_cast<JpegErrorMgr*>(cinfo->err);
  cinfo->err->num_warnings++;
  if (jpeg_warning_is_benign(cinfo->err->msg_code)) return;
  char buf[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buf);
  set_msg(err->msg, buf);
  std::longjmp(err->jump, 1);
}

void jpeg_output_message_cb(j_common_ptr) {}  // never print

struct JpegProgress {
  jpeg_progress_mgr pub;
  JpegErrorMgr* err;
};

void jpeg_progress_cb(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    auto* err = reinterpret_cast<JpegErrorMgr*>(cinfo->err);
    std::snprintf(err->msg, kMsgLen, "too many progressive scans (more than %d)", kMaxJpegScans);
    std::longjmp(err->jump, 1);
  }
}

struct JpegDecodeState {
  const uint8_t* data = nullptr;
  size_t size = 0;
  int64_t max_pixels = kMaxPixels;
  jpeg_decompress_struct cinfo;
  JpegErrorMgr err;
  JpegProgress progress;
  bool created = false;
  bool failed_check = false;
  char check_msg[kMsgLen] = {0};
  Image* img = nullptr;
  std::vector<uint8_t> row;
};

void jpeg_copy_icc(JpegDecodeState* st) {
  JOCTET* icc = nullptr;
  unsigned int len = 0;
  if (!jpeg_read_icc_profile(&st->cinfo, &icc, &len) || !icc) return;
  try {
    st->img->icc.assign(icc, icc + len);
  } catch (...) {
    std::free(icc);
    throw;
  }
  std::free(icc);
}

// Only trivially destructible locals below (see the note at the top).
bool jpeg_decode(JpegDecodeState* st) {
  jpeg_decompress_struct& cinfo = st->cinfo;
  cinfo.err = jpeg_std_error(&st->err.pub);
  st->err.pub.error_exit = jpeg_error_exit_cb;
  st->err.pub.emit_message = jpeg_emit_message_cb;
  st->err.pub.output_message = jpeg_output_message_cb;
  st->err.msg[0] = 0;
  if (setjmp(st->err.jump)) return false;
  jpeg_create_decompress(&cinfo);
  st->created = true;
  // Bound libjpeg's own allocations (progressive coefficient buffers); beyond
  // this it fails with "backing store not supported" instead of swapping.
  cinfo.mem->max_memory_to_use = static_cast<long>(std::min<int64_t>(
      std::numeric_limits<long>::max() / 2, st->max_pixels * 8 + (int64_t{64} << 20)));
  st->progress.pub.progress_monitor = jpeg_progress_cb;
  st->progress.err = &st->err;
  cinfo.progress = &st->progress.pub;
  jpeg_mem_src(&cinfo, st->data, static_cast<unsigned long>(st->size));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);
  if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
    set_msg(st->check_msg, "corrupt JPEG (no image in the data stream)");
    st->failed_check = true;
    return false;
  }
  const uint64_t w = cinfo.image_width, h = cinfo.image_height;
  if (w == 0 || h == 0 || w * h > static_cast<uint64_t>(st->max_pixels)) {
    std::snprintf(st->check_msg, kMsgLen, "image too large or empty (%llux%llu pixels, limit %lld)",
                  static_cast<unsigned long long>(w), static_cast<unsigned long long>(h),
                  static_cast<long long>(st->max_pixels));
    st->failed_check = true;
    return false;
  }
  Image& img = *st->img;
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      img.gray = true;
      break;
    case JCS_YCbCr:
    case JCS_RGB:
      cinfo.out_color_space = JCS_RGB;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      set_msg(st->check_msg, "CMYK/YCCK JPEG is not supported");
      st->failed_check = true;
      return false;
    default:
      set_msg(st->check_msg, "unsupported JPEG colour space");
      st->failed_check = true;
      return false;
  }
  jpeg_copy_icc(st);
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      img.exif.assign(m->data + 6, m->data + m->data_length);
      break;
    }
  }
  jpeg_start_decompress(&cinfo);
  const int comps = cinfo.output_components;
  if ((comps != 1 && comps != 3) || cinfo.output_width != w || cinfo.output_height != h) {
    set_msg(st->check_msg, "unsupported JPEG layout");
    st->failed_check = true;
    return false;
  }
  img.width = static_cast<int>(w);
  img.height = static_cast<int>(h);
  img.bit_depth = 8;
  // Grow the output with the decoded rows instead of allocating width*height
  // up front: a header announcing a huge image fails at its first missing row.
  const size_t total = static_cast<size_t>(w) * h * 3;
  img.rgb.reserve(std::min<size_t>(total, size_t{1} << 24));
  st->row.assign(static_cast<size_t>(w) * comps, 0);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rowp = st->row.data();
    if (jpeg_read_scanlines(&cinfo, &rowp, 1) != 1) {
      set_msg(st->check_msg, "corrupt JPEG (no more scanlines)");
      st->failed_check = true;
      return false;
    }
    const size_t base = img.rgb.size();
    img.rgb.resize(base + static_cast<size_t>(w) * 3);
    float* dst = img.rgb.data() + base;
    const uint8_t* s = st->row.data();
    if (comps == 1) {
      for (uint64_t x = 0; x < w; ++x) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = static_cast<float>(s[x]) / 255.0f;
    } else {
      for (uint64_t i = 0; i < w * 3; ++i) dst[i] = static_cast<float>(s[i]) / 255.0f;
    }
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

Image decode_jpeg(const uint8_t* d, size_t size, const std::string& name, int64_t max_pixels) {
  Image img;
  img.format = "jpeg";
  auto st = std::make_unique<JpegDecodeState>();
  st->data = d;
  st->size = size;
  st->max_pixels = max_pixels;
  st->img = &img;
  bool ok = false;
  try {
    ok = jpeg_decode(st.get());
  } catch (...) {
    if (st->created) jpeg_destroy_decompress(&st->cinfo);
    throw;
  }
  if (st->created) jpeg_destroy_decompress(&st->cinfo);
  if (!ok) {
    if (st->failed_check) throw Error(name + ": " + st->check_msg);
    if (st->err.pub.msg_code == JWRN_JPEG_EOF) throw Error(name + ": truncated JPEG file");
    throw Error(name + ": corrupt JPEG (" + st->err.msg + ")");
  }
  return img;
}

// =============================================================== npy decode

Image decode_npy(const uint8_t* d, size_t size, const std::string& name, int64_t max_pixels) {
  NpyArray a;
  try {
    a = npy_parse(d, size, name);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    // npy_parse lets std::stoll's out_of_range / invalid_argument escape on absurd shapes
    throw Error(name + ": malformed .npy header");
  }
  if (a.dtype != DType::f32 && a.dtype != DType::f64 && a.dtype != DType::f16)
    throw Error(name + ": .npy image must be float (got " + dtype_name(a.dtype) + ")");
  const auto& s = a.shape;
  int64_t h = 0, w = 0;
  bool chw = false;
  if (s.size() == 3 && s[2] == 3) {
    h = s[0], w = s[1];
  } else if (s.size() == 3 && s[0] == 3) {
    h = s[1], w = s[2], chw = true;
  } else if (s.size() == 4 && s[0] == 1 && s[1] == 3) {
    h = s[2], w = s[3], chw = true;
  } else {
    std::string dims;
    for (size_t i = 0; i < s.size(); ++i) {
      if (i) dims += 'x';
      dims += std::to_string(s[i]);
    }
    throw Error(name + ": .npy image must be HxWx3 or 1x3xHxW (got " + (dims.empty() ? "scalar" : dims) + ")");
  }
  check_pixels(static_cast<uint64_t>(std::max<int64_t>(w, 0)), static_cast<uint64_t>(std::max<int64_t>(h, 0)),
               max_pixels, name);
  std::vector<float> v = a.as_float();
  Image img;
  img.format = "npy";
  img.width = static_cast<int>(w);
  img.height = static_cast<int>(h);
  img.bit_depth = 8;
  const size_t plane = static_cast<size_t>(w) * static_cast<size_t>(h);
  for (float x : v)
    if (!(x >= 0.0f && x <= 1.0f))
      throw Error(name + ": .npy image values must be finite and in [0,1]");
  if (!chw) {
    img.rgb = std::move(v);
  } else {
    img.rgb.resize(plane * 3);
    for (size_t c = 0; c < 3; ++c)
      for (size_t i = 0; i < plane; ++i) img.rgb[i * 3 + c] = v[c * plane + i];
  }
  return img;
}

// =============================================================== PNG encode

struct PngEncodeState {
  std::vector<uint8_t>* out = nullptr;
  char msg[kMsgLen] = {0};
  const Image* img = nullptr;
  int color_type = 0, depth = 8, channels = 3;
  bool write_icc = false;
};

void png_write_cb(png_structp png, png_bytep data, png_size_t n) {
  auto* st = static_cast<PngEncodeState*>(png_get_io_ptr(png));
  try {
    st->out->insert(st->out->end(), data, data + n);
  } catch (...) {
    png_error(png, "out of memory");
  }
}

void png_flush_cb(png_structp) {}

uint16_t gray_value16(const float* p) {
  if (p[0] == p[1] && p[1] == p[2]) return to_u16(p[0]);
  return to_u16(static_cast<float>(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]));
}
uint8_t gray_value8(const float* p) {
  if (p[0] == p[1] && p[1] == p[2]) return to_u8(p[0]);
  return to_u8(static_cast<float>(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]));
}

uint16_t alpha_at_depth(uint16_t a, int from_bits, int to_bits) {
  if (from_bits == to_bits) return a;
  if (from_bits == 8) return static_cast<uint16_t>((a & 0xFF) * 257);
  return static_cast<uint16_t>((uint32_t{a} * 255 + 32767) / 65535);
}

void png_fill_row(const PngEncodeState* st, int y, uint8_t* d) {
  const Image& img = *st->img;
  const int w = img.width;
  const float* src = img.rgb.data() + static_cast<size_t>(y) * w * 3;
  const uint16_t* alpha = img.alpha.empty() ? nullptr : img.alpha.data() + static_cast<size_t>(y) * w;
  const int abits = img.alpha_bits == 16 ? 16 : 8;
  const bool gray = st->color_type == PNG_COLOR_TYPE_GRAY || st->color_type == PNG_COLOR_TYPE_GRAY_ALPHA;
  for (int x = 0; x < w; ++x) {
    const float* p = src + 3 * x;
    if (st->depth == 8) {
      if (gray) {
        *d++ = gray_value8(p);
      } else {
        *d++ = to_u8(p[0]);
        *d++ = to_u8(p[1]);
        *d++ = to_u8(p[2]);
      }
      if (alpha) *d++ = static_cast<uint8_t>(alpha_at_depth(alpha[x], abits, 8));
    } else {
      auto put16 = [&](uint16_t v) {
        *d++ = static_cast<uint8_t>(v >> 8);  // PNG is big-endian
        *d++ = static_cast<uint8_t>(v & 0xFF);
      };
      if (gray) {
        put16(gray_value16(p));
      } else {
        put16(to_u16(p[0]));
        put16(to_u16(p[1]));
        put16(to_u16(p[2]));
      }
      if (alpha) put16(alpha_at_depth(alpha[x], abits, 16));
    }
  }
}

// The image data as one zlib stream, made in horizontal bands on all cores:
// each band is Paeth-filtered and raw-deflated on its own; every band
// but the last ends with a full flush (byte aligned, empty dictionary), so the
// concatenation is one valid deflate stream; the Adler-32 checksums combine.
// zlib level 3: a watermarked photo's noisy low bits hardly compress better
// at libpng's 6, which took 178 ms for 1080p on one core (bench/pipeline_bench).
// Measured at 1080p, 2 cores: level 3 57 ms / 1.21 MB, level 1 48 ms / 1.34 MB.
constexpr int kPngZlibLevel = 3;

std::vector<uint8_t> png_idat_stream(const PngEncodeState& st) {
  const Image& img = *st.img;
  const int h = img.height;
  const size_t rowbytes = static_cast<size_t>(img.width) * st.channels * (st.depth / 8);
  const int bpp = st.channels * (st.depth / 8);
  // The band count depends on the image only, so the bytes are the same on every machine.
  const int bands = std::clamp(h / 64, 1, 8);
  const int workers = std::min(bands, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  struct Band {
    std::vector<uint8_t> z;
    uLong adler = 1;
    uLong length = 0;
    std::string error;
  };
  std::vector<Band> out(static_cast<size_t>(bands));
  auto run = [&](int b) {
    Band& band = out[b];
    const int y0 = static_cast<int>(int64_t{h} * b / bands), y1 = static_cast<int>(int64_t{h} * (b + 1) / bands);
    std::vector<uint8_t> prev(rowbytes, 0), cur(rowbytes), filtered(rowbytes + 1);
    if (y0 > 0) png_fill_row(&st, y0 - 1, prev.data());
    z_stream zs{};
    if (deflateInit2(&zs, kPngZlibLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      band.error = "deflateInit2 failed";
      return;
    }
    band.z.resize(deflateBound(&zs, static_cast<uLong>((rowbytes + 1) * (y1 - y0))) + 64);
    zs.next_out = band.z.data();
    zs.avail_out = static_cast<uInt>(band.z.size());
    for (int y = y0; y < y1; ++y) {
      png_fill_row(&st, y, cur.data());
      // Paeth filter on every row. libpng's per-row choice among the five
      // filters (smallest sum of |signed bytes|) made a 1080p photo 0.7 %
      // smaller for 9 ms more (bench/pipeline_bench).
      uint8_t* row = filtered.data();
      row[0] = 4;
      for (size_t i = 0; i < rowbytes; ++i) {
        const int a = i >= static_cast<size_t>(bpp) ? cur[i - bpp] : 0;
        const int up = prev[i];
        const int c = i >= static_cast<size_t>(bpp) ? prev[i - bpp] : 0;
        const int p = a + up - c, pa = std::abs(p - a), pb = std::abs(p - up), pc = std::abs(p - c);
        const int pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? up : c);
        row[i + 1] = static_cast<uint8_t>(cur[i] - pred);
      }
      band.adler = adler32(band.adler, row, static_cast<uInt>(rowbytes + 1));
      band.length += static_cast<uLong>(rowbytes + 1);
      zs.next_in = row;
      zs.avail_in = static_cast<uInt>(rowbytes + 1);
      const int flush = y + 1 < y1 ? Z_NO_FLUSH : (b + 1 < bands ? Z_FULL_FLUSH : Z_FINISH);
      const int r = deflate(&zs, flush);
      if ((r != Z_OK && r != Z_STREAM_END) || zs.avail_in != 0) {
        band.error = "deflate failed";
        deflateEnd(&zs);
        return;
      }
      std::swap(prev, cur);
    }
    band.z.resize(band.z.size() - zs.avail_out);
    deflateEnd(&zs);
  };
  auto worker = [&](int t) {
    for (int b = t; b < bands; b += workers) run(b);
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < workers; ++t) threads.emplace_back(worker, t);
  worker(0);
  for (auto& t : threads) t.join();
  std::vector<uint8_t> z = {0x78, 0x5E};  // zlib header: deflate, 32 KiB window, "fast" level (CMF*256+FLG % 31 == 0)
  uLong adler = 1;
  for (auto& band : out) {
    if (!band.error.empty()) throw Error("PNG encoder: " + band.error);
    z.insert(z.end(), band.z.begin(), band.z.end());
    adler = adler32_combine(adler, band.adler, static_cast<z_off_t>(band.length));
  }
  for (int k = 3; k >= 0; --k) z.push_back(static_cast<uint8_t>((adler >> (8 * k)) & 0xFF));
  return z;
}

// Only trivially destructible locals below (see the note at the top).
bool png_encode(png_structp png, png_infop info, PngEncodeState* st, const std::vector<uint8_t>* idat) {
  if (setjmp(png_jmpbuf(png))) return false;
  const Image& img = *st->img;
  png_set_write_fn(png, st, png_write_cb, png_flush_cb);
  png_set_IHDR(png, info, static_cast<png_uint_32>(img.width), static_cast<png_uint_32>(img.height), st->depth,
               st->color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (st->write_icc)
    png_set_iCCP(png, info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, img.icc.data(),
                 static_cast<png_uint_32>(img.icc.size()));
  if (!img.exif.empty())
    png_set_eXIf_1(png, info, static_cast<png_uint_32>(img.exif.size()), const_cast<png_bytep>(img.exif.data()));
  png_write_info(png, info);
  // The image data, compressed beforehand (png_idat_stream), in IDAT chunks of
  // at most 1 MiB, then IEND: libpng writes the header chunks and the CRCs.
  static const png_byte kIdat[5] = {'I', 'D', 'A', 'T', 0};
  static const png_byte kIend[5] = {'I', 'E', 'N', 'D', 0};
  const size_t chunk = size_t{1} << 20;
  for (size_t off = 0; off < idat->size(); off += chunk)
    png_write_chunk(png, kIdat, idat->data() + off, std::min(chunk, idat->size() - off));
  png_write_chunk(png, kIend, nullptr, 0);
  return true;
}

void validate_for_encode(const Image& img, const std::string& name) {
  if (img.width <= 0 || img.height <= 0) throw Error(name + ": cannot write an empty image");
  if (static_cast<int64_t>(img.width) * img.height > kMaxPixels) throw Error(name + ": image too large to write");
  if (img.rgb.size() != img.pixels() * 3)
    throw Error(name + ": image buffer size does not match " + std::to_string(img.width) + "x" +
                std::to_string(img.height) + "x3");
  if (!img.alpha.empty() && img.alpha.size() != img.pixels())
    throw Error(name + ": alpha plane size does not match the image");
}

// ============================================================== JPEG encode

struct JpegEncodeState {
  jpeg_compress_struct cinfo;
  JpegErrorMgr err;
  bool created = false;
  unsigned char* buf = nullptr;
  unsigned long buf_size = 0;
  const Image* img = nullptr;
  int quality = 95;
  std::vector<uint8_t> row;
  std::vector<uint8_t> exif_marker;
};

// Only trivially destructible locals below (see the note at the top).
bool jpeg_encode(JpegEncodeState* st) {
  jpeg_compress_struct& cinfo = st->cinfo;
  cinfo.err = jpeg_std_error(&st->err.pub);
  st->err.pub.error_exit = jpeg_error_exit_cb;
  st->err.pub.emit_message = jpeg_emit_message_cb;
  st->err.pub.output_message = jpeg_output_message_cb;
  if (setjmp(st->err.jump)) return false;
  jpeg_create_compress(&cinfo);
  st->created = true;
  jpeg_mem_dest(&cinfo, &st->buf, &st->buf_size);
  const Image& img = *st->img;
  cinfo.image_width = static_cast<JDIMENSION>(img.width);
  cinfo.image_height = static_cast<JDIMENSION>(img.height);
  cinfo.input_components = img.gray ? 1 : 3;
  cinfo.in_color_space = img.gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, st->quality, TRUE);
  cinfo.optimize_coding = TRUE;
  if (!st->exif_marker.empty()) cinfo.write_JFIF_header = FALSE;  // Exif files start with APP1
  jpeg_start_compress(&cinfo, TRUE);
  if (!st->exif_marker.empty())
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, st->exif_marker.data(),
                      static_cast<unsigned int>(st->exif_marker.size()));
  if (!img.icc.empty()) jpeg_write_icc_profile(&cinfo, img.icc.data(), static_cast<unsigned int>(img.icc.size()));
  const int comps = cinfo.input_components;
  for (int y = 0; y < img.height; ++y) {
    const float* src = img.rgb.data() + static_cast<size_t>(y) * img.width * 3;
    uint8_t* d = st->row.data();
    for (int x = 0; x < img.width; ++x) {
      if (comps == 1) {
        d[x] = gray_value8(src + 3 * x);
      } else {
        d[3 * x] = to_u8(src[3 * x]);
        d[3 * x + 1] = to_u8(src[3 * x + 1]);
        d[3 * x + 2] = to_u8(src[3 * x + 2]);
      }
    }
    JSAMPROW rowp = st->row.data();
    jpeg_write_scanlines(&cinfo, &rowp, 1);
  }
  jpeg_finish_compress(&cinfo);
  return true;
}

}  // namespace

// ================================================================== public

uint8_t to_u8(float v) { return static_cast<uint8_t>(round_even_small(clamp01(v) * 255.0f)); }
uint16_t to_u16(float v) { return static_cast<uint16_t>(round_even_small(clamp01(v) * 65535.0f)); }

Image read_image_from_memory(const uint8_t* bytes, size_t size, const std::string& name, int64_t max_pixels) {
  max_pixels = std::clamp<int64_t>(max_pixels, 1, kMaxPixels);
  if (size == 0 || !bytes) throw Error(name + ": empty file");
  if (size >= 8 && std::memcmp(bytes, kPngSig, 8) == 0) return decode_png(bytes, size, name, max_pixels);
  if (size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
    return decode_jpeg(bytes, size, name, max_pixels);
  if (size >= 6 && std::memcmp(bytes, kNpySig, 6) == 0) return decode_npy(bytes, size, name, max_pixels);
  throw Error(name + ": not a PNG, JPEG or .npy image");
}

Image read_image(const std::filesystem::path& path) {
  std::vector<uint8_t> bytes = read_file(path);
  return read_image_from_memory(bytes.data(), bytes.size(), path.string());
}

std::vector<uint8_t> encode_png(const Image& img, const std::string& name) {
  validate_for_encode(img, name);
  std::vector<uint8_t> out;
  PngEncodeState st;
  st.out = &out;
  st.img = &img;
  st.depth = img.bit_depth == 16 ? 16 : 8;
  const bool alpha = !img.alpha.empty();
  if (img.gray)
    st.color_type = alpha ? PNG_COLOR_TYPE_GRAY_ALPHA : PNG_COLOR_TYPE_GRAY;
  else
    st.color_type = alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB;
  st.channels = (img.gray ? 1 : 3) + (alpha ? 1 : 0);
  const std::string cs = icc_color_space(img.icc);
  st.write_icc = (img.gray && cs == "GRAY") || (!img.gray && cs == "RGB ");
  out.reserve(img.pixels() + 1024);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, st.msg, png_error_cb, png_warning_cb);
  if (!png) throw Error(name + ": cannot initialise the PNG encoder");
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    throw Error(name + ": cannot initialise the PNG encoder");
  }
  // A profile libpng finds questionable is dropped with a (silent) warning.
  png_set_benign_errors(png, 1);
  bool ok = false;
  try {
    const std::vector<uint8_t> idat = png_idat_stream(st);
    ok = png_encode(png, info, &st, &idat);
  } catch (...) {
    png_destroy_write_struct(&png, &info);
    throw;
  }
  png_destroy_write_struct(&png, &info);
  if (!ok) throw Error(name + ": PNG encoding failed (" + st.msg + ")");
  return out;
}

std::vector<uint8_t> encode_jpeg(const Image& img, int quality, const std::string& name) {
  validate_for_encode(img, name);
  if (img.width > 65500 || img.height > 65500) throw Error(name + ": image too large for JPEG (max 65500 pixels a side)");
  auto st = std::make_unique<JpegEncodeState>();
  st->img = &img;
  st->quality = std::clamp(quality, 0, 100);
  st->row.assign(static_cast<size_t>(img.width) * 3, 0);
  // APP1 payload: "Exif\0\0" + TIFF data, at most 65533 bytes; a bigger EXIF cannot be stored.
  if (!img.exif.empty() && img.exif.size() + 6 <= 65533) {
    static const uint8_t kExifHdr[6] = {'E', 'x', 'i', 'f', 0, 0};
    st->exif_marker.assign(kExifHdr, kExifHdr + 6);
    st->exif_marker.insert(st->exif_marker.end(), img.exif.begin(), img.exif.end());
  }
  bool ok = false;
  auto cleanup = [&] {
    if (st->created) jpeg_destroy_compress(&st->cinfo);
    st->created = false;
  };
  try {
    ok = jpeg_encode(st.get());
  } catch (...) {
    cleanup();
    std::free(st->buf);
    throw;
  }
  cleanup();
  std::vector<uint8_t> out;
  if (ok && st->buf) {
    try {
      out.assign(st->buf, st->buf + st->buf_size);
    } catch (...) {
      std::free(st->buf);
      throw;
    }
  }
  std::free(st->buf);
  if (!ok) throw Error(name + ": JPEG encoding failed (" + st->err.msg + ")");
  return out;
}

void write_image(const std::filesystem::path& path, const Image& img, const WriteOptions& opt) {
  const std::string name = path.string();
  const std::string ext = lower_ext(path);
  if (ext == ".npy") {
    validate_for_encode(img, name);
    npy_save(path, npy_from_floats({img.height, img.width, 3}, img.rgb.data()));
    return;
  }
  bool jpeg = ext == ".jpg" || ext == ".jpeg";
  if (ext != ".png" && !jpeg && opt.jpeg_quality >= 0) jpeg = true;
  if (opt.jpeg_quality > 100) throw Error(name + ": JPEG quality must be in 0..100");
  std::vector<uint8_t> bytes =
      jpeg ? encode_jpeg(img, opt.jpeg_quality >= 0 ? opt.jpeg_quality : 95, name) : encode_png(img, name);
  write_file_atomic(path, bytes);
}

}  // namespace sealite::media
