#include "media/image.h"

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>
#include <sys/resource.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/npy.h"
#include "testing/test_paths.h"

using namespace sealite;
namespace paths = sealite::testing;
using media::Image;
namespace fs = std::filesystem;

namespace {

fs::path tmp(const std::string& name) { return paths::temp_dir() / name; }

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

std::vector<uint8_t> to_u8(const Image& img) {
  std::vector<uint8_t> out(img.rgb.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = media::to_u8(img.rgb[i]);
  return out;
}

Image decode(const std::vector<uint8_t>& b, const std::string& name = "mem") {
  return media::read_image_from_memory(b.data(), b.size(), name);
}

// ---- raw libpng writer for layouts sealite never writes (palette, 1-bit, interlaced, ...)
struct RawPng {
  int w = 1, h = 1, color_type = PNG_COLOR_TYPE_RGB, depth = 8;
  bool interlaced = false;
  std::vector<uint8_t> packed;           // rows of packed samples (big-endian for 16 bit)
  std::vector<png_color> palette;
  std::vector<uint8_t> trns_alpha;       // palette tRNS
  bool trns_gray = false;
  uint16_t trns_gray_value = 0;
};

void raw_write_cb(png_structp png, png_bytep d, png_size_t n) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), d, d + n);
}

std::vector<uint8_t> write_raw_png(RawPng& r) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "raw png write failed";
    return {};
  }
  png_set_write_fn(png, &out, raw_write_cb, nullptr);
  png_set_IHDR(png, info, r.w, r.h, r.depth, r.color_type,
               r.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!r.palette.empty()) png_set_PLTE(png, info, r.palette.data(), static_cast<int>(r.palette.size()));
  if (!r.trns_alpha.empty())
    png_set_tRNS(png, info, r.trns_alpha.data(), static_cast<int>(r.trns_alpha.size()), nullptr);
  png_color_16 tc{};
  tc.gray = r.trns_gray_value;
  if (r.trns_gray) png_set_tRNS(png, info, nullptr, 0, &tc);
  png_write_info(png, info);
  const size_t rowbytes = png_get_rowbytes(png, info);
  std::vector<png_bytep> rows(r.h);
  for (int y = 0; y < r.h; ++y) rows[y] = r.packed.data() + rowbytes * y;
  png_write_image(png, rows.data());
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

// ---- raw libjpeg writer (CMYK, progressive)
std::vector<uint8_t> write_raw_jpeg(int w, int h, int comps, J_COLOR_SPACE cs, bool progressive,
                                    const std::vector<uint8_t>& px, int quality = 90) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = w;
  c.image_height = h;
  c.input_components = comps;
  c.in_color_space = cs;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  for (int y = 0; y < h; ++y) {
    JSAMPROW row = const_cast<uint8_t*>(px.data()) + static_cast<size_t>(y) * w * comps;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::vector<uint8_t> out(buf, buf + size);
  std::free(buf);
  return out;
}

// A smooth test picture with every u8 value class represented.
Image make_rgb(int w, int h, int depth = 8) {
  Image img;
  img.width = w;
  img.height = h;
  img.bit_depth = depth;
  img.format = "png";
  img.rgb.resize(static_cast<size_t>(w) * h * 3);
  const float maxv = depth == 16 ? 65535.0f : 255.0f;
  const uint32_t m = depth == 16 ? 65536u : 256u;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        uint32_t v = (static_cast<uint32_t>(x * 7 + y * 13 + c * 85) * (depth == 16 ? 257u : 1u) + x * y * c) % m;
        img.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<float>(v) / maxv;
      }
  return img;
}

std::vector<uint8_t> fake_icc(const char* space, size_t size) {
  std::vector<uint8_t> icc(size);
  for (size_t i = 0; i < size; ++i) icc[i] = static_cast<uint8_t>(i * 31 + 7);
  icc[0] = static_cast<uint8_t>(size >> 24);
  icc[1] = static_cast<uint8_t>(size >> 16);
  icc[2] = static_cast<uint8_t>(size >> 8);
  icc[3] = static_cast<uint8_t>(size);
  std::memcpy(icc.data() + 12, "mntr", 4);
  std::memcpy(icc.data() + 16, space, 4);
  std::memcpy(icc.data() + 20, "XYZ ", 4);
  std::memcpy(icc.data() + 36, "acsp", 4);
  // what libpng validates before accepting an iCCP: version 4.3, perceptual
  // intent, D50 illuminant, an empty tag table
  icc[8] = 4;
  icc[9] = 0x30;
  std::memset(icc.data() + 64, 0, 4);
  const uint8_t d50[12] = {0, 0, 0xF6, 0xD6, 0, 1, 0, 0, 0, 0, 0xD3, 0x2D};
  std::memcpy(icc.data() + 68, d50, 12);
  std::memset(icc.data() + 128, 0, 4);
  return icc;
}

std::vector<uint8_t> fake_exif() {
  // Minimal little-endian TIFF header with an empty IFD, plus some payload.
  std::vector<uint8_t> e = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 100; ++i) e.push_back(static_cast<uint8_t>(i));
  return e;
}

void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  v.push_back(static_cast<uint8_t>(x >> 24));
  v.push_back(static_cast<uint8_t>(x >> 16));
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}

void put_chunk(std::vector<uint8_t>& v, const char* type, const std::vector<uint8_t>& data) {
  put_be32(v, static_cast<uint32_t>(data.size()));
  size_t start = v.size();
  v.insert(v.end(), type, type + 4);
  v.insert(v.end(), data.begin(), data.end());
  uLong crc = crc32(0, v.data() + start, static_cast<uInt>(v.size() - start));
  put_be32(v, static_cast<uint32_t>(crc));
}

// A PNG whose IHDR announces w x h RGB8 followed by `idat` (possibly nothing).
std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h, const std::vector<uint8_t>& idat) {
  std::vector<uint8_t> v = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  put_chunk(v, "IHDR", ihdr);
  if (!idat.empty()) put_chunk(v, "IDAT", idat);
  put_chunk(v, "IEND", {});
  return v;
}

long max_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

void expect_error_quietly(const std::vector<uint8_t>& bytes, const std::string& what) {
  ::testing::internal::CaptureStderr();
  EXPECT_THROW(decode(bytes, what), Error) << what << " (" << bytes.size() << " bytes)";
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "") << what;
}

}  // namespace

// ------------------------------------------------------------ real images

TEST(ImageRead, FixturePngDecodesToKnownPixels) {
  Image img = media::read_image(paths::data_dir() / "media" / "img_270x476.png");
  EXPECT_EQ(img.width, 476);
  EXPECT_EQ(img.height, 270);
  EXPECT_EQ(img.format, "png");
  EXPECT_EQ(img.bit_depth, 8);
  EXPECT_FALSE(img.gray);
  EXPECT_TRUE(img.alpha.empty());
  auto u8 = to_u8(img);
  // FNV-1a of fixtures/videoseal/_inputs/img_270x476_u8_hwc.npy's data.
  EXPECT_EQ(fnv1a(u8.data(), u8.size()), 0x3ae7580fcec8e723ull);
  for (size_t i = 0; i < u8.size(); i += 101) EXPECT_EQ(img.rgb[i], static_cast<float>(u8[i]) / 255.0f);
}

TEST(ImageRead, FixturePngMatchesSharedNpyBitExactly) {
  SEALITE_REQUIRE_SHARED();
  auto dir = paths::shared_dir() / "fixtures/videoseal/_inputs";
  Image img = media::read_image(dir / "img_270x476.png");
  NpyArray ref = npy_load(dir / "img_270x476_u8_hwc.npy");
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{270, 476, 3}));
  ASSERT_EQ(img.rgb.size(), ref.data.size());
  for (size_t i = 0; i < ref.data.size(); ++i)
    ASSERT_EQ(img.rgb[i], static_cast<float>(ref.data[i]) / 255.0f) << i;  // float32(u8)/255 exactly
}

TEST(ImageRead, SharedJpegDecodesLikePil) {
  SEALITE_REQUIRE_SHARED();
  Image img = media::read_image(paths::shared_dir() / "fixtures/videoseal/_inputs/1.jpg");
  EXPECT_EQ(img.width, 1904);
  EXPECT_EQ(img.height, 1080);
  EXPECT_EQ(img.format, "jpeg");
  auto u8 = to_u8(img);
  // FNV-1a of numpy.asarray(PIL.Image.open("1.jpg").convert("RGB")) (Pillow 9.4, libjpeg-turbo).
  EXPECT_EQ(fnv1a(u8.data(), u8.size()), 0x3415427931894a09ull);
}

// ------------------------------------------------------------ PNG round trips

TEST(ImagePng, RoundTrip8And16BitRgb) {
  for (int depth : {8, 16}) {
    Image img = make_rgb(37, 23, depth);
    img.icc = fake_icc("RGB ", 600);
    img.exif = fake_exif();
    auto path = tmp("rt" + std::to_string(depth) + ".png");
    media::write_image(path, img);
    Image back = media::read_image(path);
    EXPECT_EQ(back.width, 37);
    EXPECT_EQ(back.height, 23);
    EXPECT_EQ(back.bit_depth, depth);
    EXPECT_FALSE(back.gray);
    EXPECT_EQ(back.rgb, img.rgb) << depth;  // exact: values are k/255 or k/65535
    EXPECT_EQ(back.icc, img.icc);
    EXPECT_EQ(back.exif, img.exif);
  }
}

// Large enough for the encoder's parallel bands (one per 64 rows, up to 8):
// every layout decodes bit-exactly, and the bytes do not depend on the machine.
TEST(ImagePng, BandedEncoderRoundTripsEveryLayout) {
  for (int depth : {8, 16})
    for (bool gray : {false, true})
      for (bool alpha : {false, true}) {
        Image img = make_rgb(301, 613, depth);
        img.gray = gray;
        if (gray)
          for (size_t p = 0; p < img.pixels(); ++p) img.rgb[p * 3 + 1] = img.rgb[p * 3 + 2] = img.rgb[p * 3];
        if (alpha) {
          img.alpha_bits = depth;
          img.alpha.resize(img.pixels());
          for (size_t p = 0; p < img.pixels(); ++p)
            img.alpha[p] = static_cast<uint16_t>((p * 2654435761u) % (depth == 16 ? 65536 : 256));
        }
        auto bytes = media::encode_png(img);
        Image back = decode(bytes);
        EXPECT_EQ(back.bit_depth, depth);
        EXPECT_EQ(back.gray, gray);
        EXPECT_EQ(back.rgb, img.rgb) << depth << gray << alpha;
        EXPECT_EQ(back.alpha, img.alpha);
        EXPECT_EQ(media::encode_png(img), bytes);  // deterministic
      }
}

TEST(ImagePng, GrayAndAlphaAreKeptBitExact) {
  for (int depth : {8, 16})
    for (bool alpha : {false, true}) {
      Image img = make_rgb(19, 11, depth);
      img.gray = true;
      for (size_t p = 0; p < img.pixels(); ++p) img.rgb[p * 3 + 1] = img.rgb[p * 3 + 2] = img.rgb[p * 3];
      if (alpha) {
        img.alpha_bits = depth;
        img.alpha.resize(img.pixels());
        for (size_t p = 0; p < img.pixels(); ++p)
          img.alpha[p] = static_cast<uint16_t>((p * 2654435761u) % (depth == 16 ? 65536 : 256));
      }
      img.icc = fake_icc("GRAY", 300);
      auto path = tmp("gray.png");
      media::write_image(path, img);
      Image back = media::read_image(path);
      EXPECT_TRUE(back.gray);
      EXPECT_EQ(back.bit_depth, depth);
      EXPECT_EQ(back.rgb, img.rgb);
      EXPECT_EQ(back.alpha, img.alpha);
      EXPECT_EQ(back.alpha_bits, alpha ? depth : 0);
      EXPECT_EQ(back.icc, img.icc);
    }
}

TEST(ImagePng, RgbaRoundTripKeepsAlphaAndMismatchedIccIsDropped) {
  Image img = make_rgb(8, 5, 8);
  img.alpha_bits = 8;
  img.alpha.assign(img.pixels(), 0);
  for (size_t p = 0; p < img.pixels(); ++p) img.alpha[p] = static_cast<uint16_t>(p * 5);
  img.icc = fake_icc("GRAY", 200);  // a gray profile cannot describe an RGB PNG
  auto path = tmp("rgba.png");
  media::write_image(path, img);
  Image back = media::read_image(path);
  EXPECT_EQ(back.alpha, img.alpha);
  EXPECT_EQ(back.rgb, img.rgb);
  EXPECT_TRUE(back.icc.empty());
}

TEST(ImagePng, OneByOneIsValid) {
  Image img = make_rgb(1, 1);
  auto path = tmp("one.png");
  media::write_image(path, img);
  Image back = media::read_image(path);
  EXPECT_EQ(back.width, 1);
  EXPECT_EQ(back.height, 1);
  EXPECT_EQ(back.rgb, img.rgb);
}

TEST(ImagePng, WriteRoundsHalfToEvenAfterClamping) {
  Image img;
  img.width = 6;
  img.height = 1;
  img.rgb = {-1.0f, 2.0f, NAN, 0.5f, 1.0f, 0.0f, 1.5f / 255.0f, 2.5f / 255.0f, 0.3f,
             std::nextafter(2.5f / 255.0f, 1.0f), 254.5f / 255.0f, 1e-9f, 0, 0, 0, 0, 0, 0};
  auto path = tmp("round.png");
  media::write_image(path, img);
  auto u8 = to_u8(media::read_image(path));
  EXPECT_EQ(u8[0], 0);
  EXPECT_EQ(u8[1], 255);
  EXPECT_EQ(u8[2], 0);    // NaN
  EXPECT_EQ(u8[3], 128);  // 127.5 -> 128 (even)
  if (1.5f / 255.0f * 255.0f == 1.5f) {
    EXPECT_EQ(u8[6], 2);
  }
  if (2.5f / 255.0f * 255.0f == 2.5f) {
    EXPECT_EQ(u8[7], 2);
  }
  EXPECT_EQ(u8[8], 76);  // 0.3f*255 rounds to exactly 76.5 in float: tie -> even
  EXPECT_EQ(u8[9], 3);
  if (254.5f / 255.0f * 255.0f == 254.5f) {
    EXPECT_EQ(u8[10], 254);
  }
  for (int v = 0; v < 256; ++v) ASSERT_EQ(media::to_u8(static_cast<float>(v) / 255.0f), v);
  for (int v = 0; v < 65536; ++v) ASSERT_EQ(media::to_u16(static_cast<float>(v) / 65535.0f), v);
}

// ------------------------------------------------------------ PNG layouts

TEST(ImagePng, DecodesLowBitDepthGray) {
  for (int depth : {1, 2, 4}) {
    RawPng r;
    r.w = 13;
    r.h = 3;
    r.color_type = PNG_COLOR_TYPE_GRAY;
    r.depth = depth;
    const int rowbytes = (r.w * depth + 7) / 8;
    r.packed.assign(static_cast<size_t>(rowbytes) * r.h, 0);
    const int maxv = (1 << depth) - 1;
    for (int y = 0; y < r.h; ++y)
      for (int x = 0; x < r.w; ++x) {
        int v = (x + y) % (maxv + 1);
        int bit = x * depth;
        r.packed[y * rowbytes + bit / 8] |= static_cast<uint8_t>(v << (8 - depth - bit % 8));
      }
    Image img = decode(write_raw_png(r));
    EXPECT_TRUE(img.gray);
    EXPECT_EQ(img.bit_depth, 8);
    for (int y = 0; y < r.h; ++y)
      for (int x = 0; x < r.w; ++x) {
        int v = (x + y) % (maxv + 1);
        float expect = static_cast<float>(v * 255 / maxv) / 255.0f;  // libpng scales to 8 bits
        const float* p = &img.rgb[(static_cast<size_t>(y) * r.w + x) * 3];
        ASSERT_EQ(p[0], expect) << depth;
        ASSERT_EQ(p[1], expect);
        ASSERT_EQ(p[2], expect);
      }
  }
}

TEST(ImagePng, DecodesPaletteWithTransparency) {
  RawPng r;
  r.w = 5;
  r.h = 4;
  r.color_type = PNG_COLOR_TYPE_PALETTE;
  r.depth = 8;
  for (int i = 0; i < 7; ++i)
    r.palette.push_back({static_cast<png_byte>(i * 30), static_cast<png_byte>(255 - i), static_cast<png_byte>(i)});
  r.trns_alpha = {0, 128, 255};
  for (int i = 0; i < r.w * r.h; ++i) r.packed.push_back(static_cast<uint8_t>(i % 7));
  Image img = decode(write_raw_png(r));
  EXPECT_FALSE(img.gray);
  ASSERT_EQ(img.alpha.size(), 20u);
  EXPECT_EQ(img.alpha_bits, 8);
  for (int i = 0; i < 20; ++i) {
    int k = i % 7;
    EXPECT_EQ(img.rgb[i * 3 + 0], static_cast<float>(k * 30) / 255.0f);
    EXPECT_EQ(img.rgb[i * 3 + 1], static_cast<float>(255 - k) / 255.0f);
    EXPECT_EQ(img.alpha[i], k < 3 ? r.trns_alpha[k] : 255);
  }
}

TEST(ImagePng, DecodesInterlaced) {
  for (int depth : {8, 16}) {
    RawPng r;
    r.w = 29;
    r.h = 17;
    r.depth = depth;
    r.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
    r.interlaced = true;
    const int bps = depth / 8;
    for (int i = 0; i < r.w * r.h * 4; ++i)
      for (int b = 0; b < bps; ++b) r.packed.push_back(static_cast<uint8_t>((i * 37 + b * 11) & 0xFF));
    Image img = decode(write_raw_png(r));
    EXPECT_EQ(img.bit_depth, depth);
    for (int p = 0; p < r.w * r.h; ++p)
      for (int c = 0; c < 4; ++c) {
        int i = p * 4 + c;
        uint32_t v = depth == 8 ? static_cast<uint32_t>(r.packed[i])
                                : (static_cast<uint32_t>(r.packed[2 * i]) << 8) | r.packed[2 * i + 1];
        if (c < 3)
          ASSERT_EQ(img.rgb[p * 3 + c], static_cast<float>(v) / (depth == 8 ? 255.0f : 65535.0f));
        else
          ASSERT_EQ(img.alpha[p], v);
      }
  }
}

TEST(ImagePng, GrayTrnsBecomesAlpha) {
  RawPng r;
  r.w = 4;
  r.h = 1;
  r.color_type = PNG_COLOR_TYPE_GRAY;
  r.packed = {0, 10, 20, 10};
  r.trns_gray = true;
  r.trns_gray_value = 10;
  Image img = decode(write_raw_png(r));
  EXPECT_TRUE(img.gray);
  EXPECT_EQ(img.alpha, (std::vector<uint16_t>{255, 0, 255, 0}));
}

// ------------------------------------------------------------ JPEG

TEST(ImageJpeg, RoundTripKeepsIccAndExif) {
  Image img = make_rgb(64, 48);
  // smooth content so that JPEG stays close
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x)
      for (int c = 0; c < 3; ++c) img.rgb[(y * 64 + x) * 3 + c] = static_cast<float>(x + y * 2 + c * 30) / 255.0f;
  img.icc = fake_icc("RGB ", 150000);  // > 64 KB: split over several APP2 markers
  img.exif = fake_exif();
  for (const char* name : {"rt.jpg", "rt.JPEG"}) {
    auto path = tmp(name);
    media::write_image(path, img);
    Image back = media::read_image(path);
    EXPECT_EQ(back.format, "jpeg");
    EXPECT_EQ(back.width, 64);
    EXPECT_EQ(back.height, 48);
    EXPECT_EQ(back.icc, img.icc);
    EXPECT_EQ(back.exif, img.exif);
    double err = 0;
    for (size_t i = 0; i < img.rgb.size(); ++i) err = std::max(err, std::fabs(double(back.rgb[i]) - img.rgb[i]));
    EXPECT_LT(err, 12.0 / 255.0);
  }
}

TEST(ImageJpeg, QualityAndUnknownExtension) {
  Image img = make_rgb(40, 30);
  auto path = tmp("out.img");
  media::write_image(path, img, {.jpeg_quality = 50});
  auto bytes = read_file(path);
  ASSERT_GE(bytes.size(), 3u);
  EXPECT_EQ(bytes[0], 0xFF);
  EXPECT_EQ(bytes[1], 0xD8);
  media::write_image(path, img);  // no quality: PNG
  bytes = read_file(path);
  EXPECT_EQ(bytes[1], 'P');
  EXPECT_THROW(media::write_image(tmp("q.jpg"), img, {.jpeg_quality = 101}), Error);
}

TEST(ImageJpeg, GrayStaysGray) {
  std::vector<uint8_t> px(33 * 17);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 7);
  Image img = decode(write_raw_jpeg(33, 17, 1, JCS_GRAYSCALE, false, px));
  EXPECT_TRUE(img.gray);
  for (size_t p = 0; p < img.pixels(); ++p) {
    ASSERT_EQ(img.rgb[p * 3], img.rgb[p * 3 + 1]);
    ASSERT_EQ(img.rgb[p * 3], img.rgb[p * 3 + 2]);
  }
  auto path = tmp("gray.jpg");
  media::write_image(path, img);
  Image back = media::read_image(path);
  EXPECT_TRUE(back.gray);
}

TEST(ImageJpeg, ProgressiveDecodesLikeBaseline) {
  std::vector<uint8_t> px(57 * 41 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 13) ^ (i >> 5));
  Image a = decode(write_raw_jpeg(57, 41, 3, JCS_RGB, false, px));
  Image b = decode(write_raw_jpeg(57, 41, 3, JCS_RGB, true, px));
  EXPECT_EQ(a.rgb, b.rgb);  // same coefficients, different entropy coding
}

TEST(ImageJpeg, CmykIsRejected) {
  std::vector<uint8_t> px(16 * 16 * 4, 100);
  expect_error_quietly(write_raw_jpeg(16, 16, 4, JCS_CMYK, false, px), "cmyk.jpg");
}

// ------------------------------------------------------------ npy

TEST(ImageNpy, ReadsHwcAndNchwAndWritesHwc) {
  Image img = make_rgb(5, 4);
  auto hwc = npy_from_floats({4, 5, 3}, img.rgb.data());
  auto b1 = npy_serialize(hwc);
  Image a = decode(b1, "a.npy");
  EXPECT_EQ(a.format, "npy");
  EXPECT_EQ(a.rgb, img.rgb);
  std::vector<float> chw(img.rgb.size());
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 20; ++p) chw[c * 20 + p] = img.rgb[p * 3 + c];
  Image b = decode(npy_serialize(npy_from_floats({1, 3, 4, 5}, chw.data())), "b.npy");
  EXPECT_EQ(b.rgb, img.rgb);
  auto path = tmp("f.npy");
  media::write_image(path, img);
  EXPECT_EQ(media::read_image(path).rgb, img.rgb);
}

TEST(ImageNpy, RejectsBadShapesAndValues) {
  std::vector<float> v(24, 0.5f);
  EXPECT_THROW(decode(npy_serialize(npy_from_floats({2, 3, 4}, v.data())), "x.npy"), Error);
  v[3] = 1.5f;
  EXPECT_THROW(decode(npy_serialize(npy_from_floats({2, 4, 3}, v.data())), "x.npy"), Error);
  v[3] = NAN;
  EXPECT_THROW(decode(npy_serialize(npy_from_floats({2, 4, 3}, v.data())), "x.npy"), Error);
  EXPECT_THROW(decode(npy_serialize(npy_from_floats({0, 4, 3}, v.data())), "x.npy"), Error);
}

TEST(ImageNpy, AbsurdShapeIsAnError) {
  // found by fuzzing: a shape number that does not fit in int64
  std::string hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 3), }";
  while ((10 + hdr.size() + 1) % 64) hdr += ' ';
  hdr += '\n';
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(hdr.size() & 0xFF),
                            static_cast<uint8_t>(hdr.size() >> 8)};
  b.insert(b.end(), hdr.begin(), hdr.end());
  EXPECT_THROW(decode(b, "absurd.npy"), Error);
}

TEST(ImageMeta, IccAndExifCrossFormats) {
  Image img = make_rgb(24, 16);
  img.icc = fake_icc("RGB ", 2000);
  img.exif = fake_exif();
  auto png = tmp("meta.png"), jpg = tmp("meta.jpg"), png2 = tmp("meta2.png");
  media::write_image(png, img);
  Image a = media::read_image(png);
  media::write_image(jpg, a);  // PNG -> JPEG
  Image b = media::read_image(jpg);
  EXPECT_EQ(b.icc, img.icc);
  EXPECT_EQ(b.exif, img.exif);
  media::write_image(png2, b);  // JPEG -> PNG
  Image c = media::read_image(png2);
  EXPECT_EQ(c.icc, img.icc);
  EXPECT_EQ(c.exif, img.exif);
  EXPECT_EQ(c.rgb, b.rgb);
}

// ------------------------------------------------------------ errors

TEST(ImageErrors, UnreadableAndNotAnImage) {
  EXPECT_THROW(media::read_image(tmp("does-not-exist.png")), Error);
  EXPECT_THROW(media::read_image(paths::temp_dir()), Error);
  write_file_atomic(tmp("empty.png"), std::string());
  EXPECT_THROW(media::read_image(tmp("empty.png")), Error);
  write_file_atomic(tmp("text.png"), std::string("hello, this is not an image\n"));
  try {
    auto bytes = media::encode_png(make_rgb(9, 9));
    bytes.resize(bytes.size() - 30);
    decode(bytes, "short.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "short.png: truncated PNG file");
  }
  try {
    auto bytes = media::encode_jpeg(make_rgb(9, 9));
    bytes.resize(bytes.size() - 30);
    decode(bytes, "short.jpg");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "short.jpg: truncated JPEG file");
  }
  try {
    media::read_image(tmp("text.png"));
    FAIL();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("text.png"), std::string::npos);
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(ImageErrors, TruncatedPngAtEveryLength) {
  Image img = make_rgb(21, 13);
  img.exif = fake_exif();
  auto bytes = media::encode_png(img);
  ASSERT_NO_THROW(decode(bytes));
  ::testing::internal::CaptureStderr();
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + cut);
    EXPECT_THROW(decode(part, "cut.png"), Error) << "cut at " << cut << " of " << bytes.size();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(ImageErrors, TruncatedJpegAtEveryLength) {
  Image img = make_rgb(40, 24);
  img.exif = fake_exif();
  img.icc = fake_icc("RGB ", 500);
  auto bytes = media::encode_jpeg(img, 90);
  ASSERT_NO_THROW(decode(bytes));
  ::testing::internal::CaptureStderr();
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + cut);
    EXPECT_THROW(decode(part, "cut.jpg"), Error) << "cut at " << cut << " of " << bytes.size();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(ImageErrors, TruncatedProgressiveJpeg) {
  std::vector<uint8_t> px(48 * 32 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 31);
  auto bytes = write_raw_jpeg(48, 32, 3, JCS_RGB, true, px);
  ::testing::internal::CaptureStderr();
  for (size_t cut = 0; cut < bytes.size(); cut += 3)
    EXPECT_THROW(decode(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut), "p.jpg"), Error) << cut;
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(ImageErrors, CorruptPngAndJpeg) {
  Image img = make_rgb(30, 20);
  auto png = media::encode_png(img);
  // flip bytes inside the image data: CRC / zlib errors
  for (size_t pos : {png.size() / 2, png.size() - 20, size_t{40}}) {
    auto bad = png;
    bad[pos] ^= 0x5A;
    expect_error_quietly(bad, "corrupt.png@" + std::to_string(pos));
  }
  auto jpg = media::encode_jpeg(img, 90);
  // garbage in the entropy-coded data (after the headers)
  auto bad = jpg;
  for (size_t i = bad.size() / 2; i < bad.size() / 2 + 40 && i + 2 < bad.size(); ++i) bad[i] = 0xFF;
  expect_error_quietly(bad, "corrupt.jpg");
  // broken headers: a Huffman table with bogus code counts, a zero height
  for (uint8_t marker : {uint8_t{0xC4}, uint8_t{0xC0}}) {
    auto bad2 = jpg;
    for (size_t i = 2; i + 8 < bad2.size(); ++i)
      if (bad2[i] == 0xFF && bad2[i + 1] == marker) {
        if (marker == 0xC4)
          for (size_t k = i + 5; k < i + 21; ++k) bad2[k] = 0xFF;  // 16 counts of 255 codes
        else
          bad2[i + 5] = bad2[i + 6] = 0;  // height 0
        break;
      }
    expect_error_quietly(bad2, "corrupt-header.jpg");
  }
}

TEST(ImageErrors, HugeHeaderWithoutDataFailsFast) {
  const long rss0 = max_rss_kb();
  auto t0 = std::chrono::steady_clock::now();
  // Over the pixel cap.
  expect_error_quietly(png_header_only(20000, 20000, {}), "huge.png");
  expect_error_quietly(png_header_only(20000, 20000, std::vector<uint8_t>(100, 0)), "huge2.png");
  // Under the cap (16000 x 16000 = 2^27.9) but the data is not there.
  expect_error_quietly(png_header_only(16000, 16000, std::vector<uint8_t>(1000, 0)), "big.png");
  // The same for JPEG: patch a small file's SOF to 20000x20000 / 16000x16000.
  auto jpg = media::encode_jpeg(make_rgb(16, 16), 90);
  for (uint16_t dim : {uint16_t{20000}, uint16_t{16000}}) {
    auto bad = jpg;
    for (size_t i = 2; i + 9 < bad.size(); ++i)
      if (bad[i] == 0xFF && (bad[i + 1] == 0xC0 || bad[i + 1] == 0xC1 || bad[i + 1] == 0xC2)) {
        bad[i + 5] = static_cast<uint8_t>(dim >> 8);
        bad[i + 6] = static_cast<uint8_t>(dim & 0xFF);
        bad[i + 7] = static_cast<uint8_t>(dim >> 8);
        bad[i + 8] = static_cast<uint8_t>(dim & 0xFF);
        break;
      }
    expect_error_quietly(bad, "huge.jpg");
  }
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_LT(std::chrono::duration<double>(t1 - t0).count(), 2.0);
  EXPECT_LT(max_rss_kb() - rss0, 300 * 1024) << "decoding a lying header allocated memory";
}

TEST(ImageErrors, ZeroSizedImages) {
  expect_error_quietly(png_header_only(0, 10, std::vector<uint8_t>(10, 0)), "zero.png");
  expect_error_quietly(png_header_only(10, 0, std::vector<uint8_t>(10, 0)), "zero2.png");
  Image empty;
  EXPECT_THROW(media::write_image(tmp("empty-out.png"), empty), Error);
  EXPECT_FALSE(fs::exists(tmp("empty-out.png")));
}

TEST(ImageErrors, FailedWriteLeavesNoFile) {
  Image img = make_rgb(4, 4);
  img.rgb.pop_back();  // inconsistent buffer
  auto dir = paths::temp_dir() / "nofile";
  fs::create_directories(dir);
  for (const char* name : {"a.png", "a.jpg", "a.npy"}) EXPECT_THROW(media::write_image(dir / name, img), Error);
  EXPECT_TRUE(fs::is_empty(dir));
  Image ok = make_rgb(4, 4);
  EXPECT_THROW(media::write_image(paths::temp_dir() / "missing-dir" / "x.png", ok), Error);
  // overwriting an existing file is atomic: the old file stays until the new one is complete
  auto path = dir / "keep.png";
  media::write_image(path, ok);
  EXPECT_THROW(media::write_image(path, img), Error);
  EXPECT_EQ(media::read_image(path).rgb, ok.rgb);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}
