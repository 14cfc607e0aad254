// Still-image I/O: PNG, JPEG and float .npy, decoded to float RGB.
//
// Decoding
//   * PNG: every standard layout (1/2/4/8/16-bit gray, gray+alpha, RGB, RGBA,
//     palette with or without tRNS, Adam7 interlacing). Low bit depths and
//     palettes are expanded to 8 bits; tRNS becomes an alpha channel. No gamma
//     or colour conversion is applied (sRGB/gAMA/cHRM chunks are ignored).
//   * JPEG (libjpeg-turbo, ISLOW DCT and fancy upsampling, the libjpeg defaults
//     PIL uses too): grayscale and YCbCr/RGB. CMYK/YCCK and 12-bit JPEGs are
//     rejected. EXIF orientation is NOT applied: pixels stay as stored.
//   * .npy: float32/float64/float16, shape HxWx3, 3xHxW or 1x3xHxW, finite
//     values in [0,1].
//   Pixel values: rgb = u8 / 255.0f or u16 / 65535.0f (true float division).
//   Gray images are replicated into the three channels (and flagged gray).
//
// Errors: everything (unreadable or truncated file, corrupt data, unsupported
// layout, a header announcing more than kMaxPixels pixels or more pixels than
// the compressed data could possibly hold, zero-sized images) throws a
// one-line sealite::Error naming the file. libpng/libjpeg errors and warnings
// never reach stderr and never terminate the process; a JPEG that decodes
// with warnings (premature end of data, corrupt entropy data) is an error.
//
// Encoding (write_image): by extension -- .png, .jpg/.jpeg, .npy (float32
// HxWx3). Any other extension: JPEG if WriteOptions::jpeg_quality >= 0, else
// PNG. PNG keeps the source bit depth (8 or 16), stays gray for a gray source
// (channels equal) and writes the alpha plane back untouched. JPEG is 8-bit,
// drops alpha, quality = jpeg_quality (default 95), 4:2:0 chroma. ICC (iCCP /
// APP2 ICC_PROFILE) and EXIF (eXIf / APP1 Exif) are carried over. Float ->
// integer: clamp to [0,1] (NaN -> 0), multiply by 255 (or 65535) and round to
// nearest, ties to even (like torch.round / numpy.rint). The file is written
// atomically (temporary file + rename): on error no output file appears.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sealite::media {

struct Image {
  int width = 0, height = 0;
  std::vector<float> rgb;         // height x width x 3 (HWC), RGB, [0,1]
  std::vector<uint16_t> alpha;    // height x width, empty when there is none
  int alpha_bits = 0;             // 8 or 16 when alpha is present, else 0
  int bit_depth = 8;              // 8 or 16: the source sample depth (output depth for PNG)
  bool gray = false;              // the source was grayscale (rgb has R == G == B)
  std::string format;             // "png", "jpeg" or "npy"
  std::vector<uint8_t> icc;       // ICC profile, empty when none
  std::vector<uint8_t> exif;      // EXIF TIFF payload (starts "II*\0"/"MM\0*"), no "Exif\0\0" prefix

  size_t pixels() const { return static_cast<size_t>(width) * static_cast<size_t>(height); }
};

// Hard cap on width*height accepted by the decoders (2^28 = 268M pixels).
inline constexpr int64_t kMaxPixels = int64_t{1} << 28;

Image read_image(const std::filesystem::path& path);

// Decodes an in-memory PNG, JPEG or .npy file (recognised by its signature).
// `name` is only used in error messages (e.g. the file name or "stdin").
// `max_pixels` lowers the pixel cap (fuzzing); values above kMaxPixels are clamped.
Image read_image_from_memory(const uint8_t* bytes, size_t size, const std::string& name = "image",
                             int64_t max_pixels = kMaxPixels);

struct WriteOptions {
  // -1: PNG unless the extension says .jpg/.jpeg (then quality 95).
  // 0..100: JPEG quality; also selects JPEG for an unknown extension.
  int jpeg_quality = -1;
};

void write_image(const std::filesystem::path& path, const Image& img, const WriteOptions& opt = {});

// The encoders, to memory. `name` is used in error messages.
std::vector<uint8_t> encode_png(const Image& img, const std::string& name = "png");
std::vector<uint8_t> encode_jpeg(const Image& img, int quality = 95, const std::string& name = "jpeg");

// The float -> integer rule used by the encoders: clamp(v, 0, 1) * 255, round half to even.
uint8_t to_u8(float v);
uint16_t to_u16(float v);

}  // namespace sealite::media
