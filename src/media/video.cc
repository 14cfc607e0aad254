#include "media/video.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "core/error.h"

namespace sealite::media {

namespace fs = std::filesystem;

namespace {

std::string av_err(int e) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(e, buf, sizeof buf);
  return buf;
}

// FFmpeg's own log lines would break sealite's one-line errors: they are not
// printed; the last error-level line is kept and added to sealite's message
// when opening a file fails.
std::mutex log_mu;
std::string last_log;

void log_callback(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > AV_LOG_ERROR) return;
  char line[512];
  int print_prefix = 0;  // without the "[component @ 0x...]" prefix
  av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  std::string s(line);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  if (s.empty()) return;
  std::lock_guard<std::mutex> lock(log_mu);
  last_log = std::move(s);
}

void quiet_ffmpeg() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(log_callback);
  });
}

// The last error FFmpeg logged (cleared), as " (...)"-ready text; "" when none.
std::string take_ffmpeg_log() {
  std::lock_guard<std::mutex> lock(log_mu);
  std::string s = std::move(last_log);
  last_log.clear();
  return s;
}

// "<av error>" or "<av error>: <what FFmpeg logged>".
std::string av_err_logged(int e) {
  std::string s = av_err(e);
  const std::string log = take_ffmpeg_log();
  if (!log.empty() && log != s) s += ": " + log;
  return s;
}

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

const int* colorspace_coeffs(AVColorSpace cs) {
  switch (cs) {
    case AVCOL_SPC_BT709: return sws_getCoefficients(SWS_CS_ITU709);
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return sws_getCoefficients(SWS_CS_BT2020);
    case AVCOL_SPC_SMPTE240M: return sws_getCoefficients(SWS_CS_SMPTE240M);
    case AVCOL_SPC_FCC: return sws_getCoefficients(SWS_CS_FCC);
    default: return sws_getCoefficients(SWS_CS_DEFAULT);
  }
}

bool is_rgb_format(AVPixelFormat f) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
  return d && (d->flags & AV_PIX_FMT_FLAG_RGB);
}

}  // namespace

bool is_video_path(const fs::path& p) {
  static const char* exts[] = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".mpg",
                               ".mpeg", ".ts", ".flv", ".nut", ".y4m"};
  const std::string e = lower_ext(p);
  for (const char* x : exts)
    if (e == x) return true;
  return false;
}

// ---------------------------------------------------------------- reader

struct VideoReader::Impl {
  fs::path path;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* dec = nullptr;
  SwsContext* sws = nullptr;
  AVPacket* pkt = nullptr;
  AVFrame* frame = nullptr;
  int vidx = -1;
  bool demux_eof = false;
  VideoInfo info;
  int64_t frames = 0;
  int64_t last_pts = AV_NOPTS_VALUE;
  int64_t frame_step = 1;  // pts units per frame (for frames without timestamps)
  VideoReadOptions opt;
  // Gaps between consecutive frames seen so far (time-base ticks) and where.
  bool have_gap = false;
  int64_t gap_min = 0, gap_max = 0, gap_min_at = 0, gap_max_at = 0;
  std::mutex mu;
  std::deque<PacketPtr> copied;  // packets of the other streams, in file order
  std::vector<bool> keep_stream;

  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    if (fmt) avformat_close_input(&fmt);
  }

  std::string what() const { return path.string(); }

  std::string ms(int64_t ticks) const {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g ms", 1000.0 * static_cast<double>(ticks) * info.tb_num / info.tb_den);
    return b;
  }

  // Constant frame rate: the gaps between consecutive frames (presentation
  // order) all equal up to rounding to the time base, and to 1 ms (Matroska /
  // FLV / WebM timestamps, kept when such a file is remuxed into a finer time
  // base): max gap - min gap <= tolerance. The tolerance stays below half the
  // smallest gap, so that a dropped or repeated frame is always caught (with a
  // time base of 1/fps the gaps must be exactly equal).
  // `gap` is the gap between frame `frames` - 1 and frame `frames`.
  void check_frame_gap(int64_t gap) {
    if (gap <= 0) {
      info.variable_frame_rate = true;
      if (opt.allow_variable_frame_rate) return;
      throw Error(what() + ": frame " + std::to_string(frames) + " has a timestamp (" + std::to_string(last_pts + gap) +
                  ") not after frame " + std::to_string(frames - 1) + "'s (" + std::to_string(last_pts) +
                  "); broken timestamps or variable frame rate are not supported");
    }
    if (!have_gap) {
      gap_min = gap_max = gap;
      gap_min_at = gap_max_at = frames;
      have_gap = true;
      return;
    }
    if (gap < gap_min) gap_min = gap, gap_min_at = frames;
    if (gap > gap_max) gap_max = gap, gap_max_at = frames;
    const double ticks_per_ms = info.tb_den / (1000.0 * info.tb_num);
    int64_t tol = ticks_per_ms > 1 ? static_cast<int64_t>(std::ceil(ticks_per_ms)) + 1 : 1;
    tol = std::min<int64_t>(tol, (gap_min - 1) / 2);
    if (gap_max - gap_min <= tol) return;
    info.variable_frame_rate = true;
    if (opt.allow_variable_frame_rate) return;
    const bool this_is_max = gap_max_at == frames;
    const int64_t other = this_is_max ? gap_min : gap_max;
    const int64_t other_at = this_is_max ? gap_min_at : gap_max_at;
    throw Error(what() + ": variable frame rate: frames " + std::to_string(frames - 1) + " -> " +
                std::to_string(frames) + " are " + ms(gap) + " apart, frames " + std::to_string(other_at - 1) +
                " -> " + std::to_string(other_at) + " " + ms(other) +
                "; only constant frame rate video is supported (convert it first, e.g. "
                "ffmpeg -i IN -fps_mode cfr OUT)");
  }

  // Reads one packet: video packets go to the decoder, others to `copied`.
  // Returns false at the end of the file.
  bool pump() {
    int r = av_read_frame(fmt, pkt);
    if (r == AVERROR_EOF) return false;
    if (r < 0) throw Error(what() + ": read error after " + std::to_string(frames) + " frames: " + av_err(r));
    if (pkt->stream_index == vidx) {
      if (pkt->flags & AV_PKT_FLAG_CORRUPT) {
        av_packet_unref(pkt);
        throw Error(what() + ": corrupt video packet after frame " + std::to_string(frames) +
                    " (truncated or damaged file)");
      }
      r = avcodec_send_packet(dec, pkt);
      av_packet_unref(pkt);
      if (r < 0 && r != AVERROR(EAGAIN))
        throw Error(what() + ": corrupt video data after frame " + std::to_string(frames) + ": " + av_err_logged(r));
    } else if (pkt->stream_index >= 0 && static_cast<size_t>(pkt->stream_index) < keep_stream.size() &&
               keep_stream[static_cast<size_t>(pkt->stream_index)]) {
      PacketPtr c(av_packet_clone(pkt));
      av_packet_unref(pkt);
      check(c != nullptr, "out of memory");
      std::lock_guard<std::mutex> lock(mu);
      copied.push_back(std::move(c));
    } else {
      av_packet_unref(pkt);
    }
    return true;
  }

  void drain_rest() {
    while (!demux_eof) {
      int r = av_read_frame(fmt, pkt);
      if (r < 0) {
        demux_eof = true;
        break;
      }
      if (pkt->stream_index != vidx && static_cast<size_t>(pkt->stream_index) < keep_stream.size() &&
          keep_stream[static_cast<size_t>(pkt->stream_index)]) {
        PacketPtr c(av_packet_clone(pkt));
        std::lock_guard<std::mutex> lock(mu);
        copied.push_back(std::move(c));
      }
      av_packet_unref(pkt);
    }
  }
};

VideoReader::VideoReader(const fs::path& path, const VideoReadOptions& opt) : impl_(std::make_unique<Impl>()) {
  quiet_ffmpeg();
  Impl& m = *impl_;
  m.path = path;
  m.opt = opt;
  std::error_code ec;
  check(fs::exists(path, ec), path.string() + ": no such file");
  check(!fs::is_directory(path, ec), path.string() + ": is a directory, not a video");
  take_ffmpeg_log();
  int r = avformat_open_input(&m.fmt, path.c_str(), nullptr, nullptr);
  if (r < 0)
    throw Error(path.string() + ": cannot read as a video (" + av_err_logged(r) + ")" +
                (r == AVERROR_INVALIDDATA ? "; not a video file, or a truncated one" : ""));
  r = avformat_find_stream_info(m.fmt, nullptr);
  if (r < 0) throw Error(path.string() + ": cannot read the stream layout (" + av_err_logged(r) + ")");
  {
    // A misnamed still image (a PNG called .mp4) opens as a one-frame "video".
    const std::string demuxer = m.fmt->iformat->name;
    const bool still = demuxer == "image2" || demuxer == "image2pipe" ||
                       (demuxer.size() > 5 && demuxer.compare(demuxer.size() - 5, 5, "_pipe") == 0);
    check(!still, path.string() + ": is a still image (" + demuxer + "), not a video; give it an image extension "
                  "(.png, .jpg) to watermark it as an image");
  }
  for (unsigned i = 0; i < m.fmt->nb_streams; ++i) {
    AVStream* st = m.fmt->streams[i];
    if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      m.vidx = static_cast<int>(i);
      break;
    }
  }
  check(m.vidx >= 0, path.string() + ": no video stream in the file");
  AVStream* st = m.fmt->streams[m.vidx];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  check(codec != nullptr, path.string() + ": no decoder for the video codec '" +
                              std::string(avcodec_get_name(st->codecpar->codec_id)) + "'");
  m.dec = avcodec_alloc_context3(codec);
  check(m.dec != nullptr, "out of memory");
  check(avcodec_parameters_to_context(m.dec, st->codecpar) >= 0, path.string() + ": bad codec parameters");
  m.dec->thread_count = 2;
  m.dec->pkt_timebase = st->time_base;
  r = avcodec_open2(m.dec, codec, nullptr);
  if (r < 0) throw Error(path.string() + ": cannot open the " + codec->name + " decoder (" + av_err(r) + ")");
  check(m.dec->width > 0 && m.dec->height > 0, path.string() + ": the video stream has no frame size (truncated file?)");
  m.pkt = av_packet_alloc();
  m.frame = av_frame_alloc();
  check(m.pkt && m.frame, "out of memory");

  VideoInfo& in = m.info;
  in.width = m.dec->width;
  in.height = m.dec->height;
  AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
  in.fps_num = fr.num;
  in.fps_den = fr.den > 0 ? fr.den : 1;
  in.tb_num = st->time_base.num;
  in.tb_den = st->time_base.den;
  in.frame_count = st->nb_frames > 0 ? st->nb_frames : -1;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0) in.duration = st->duration * av_q2d(st->time_base);
  else if (m.fmt->duration > 0) in.duration = m.fmt->duration / static_cast<double>(AV_TIME_BASE);
  in.codec = codec->name;
  const char* pf = av_get_pix_fmt_name(static_cast<AVPixelFormat>(st->codecpar->format));
  in.pix_fmt = pf ? pf : "unknown";
  in.container = m.fmt->iformat->name;
  size_t sz = 0;
  const uint8_t* dm = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &sz);
  if (dm && sz >= 9 * sizeof(int32_t)) {
    double rot = -av_display_rotation_get(reinterpret_cast<const int32_t*>(dm));
    if (std::isfinite(rot)) in.rotation = rot - 360.0 * std::floor(rot / 360.0);
  } else if (const AVDictionaryEntry* tag = av_dict_get(st->metadata, "rotate", nullptr, 0)) {
    // the legacy tag (clockwise degrees), from demuxers / files without a display matrix
    char* end = nullptr;
    const double rot = std::strtod(tag->value, &end);
    if (end != tag->value && *end == '\0' && std::isfinite(rot)) in.rotation = rot - 360.0 * std::floor(rot / 360.0);
  }
  if (fr.num > 0 && st->time_base.num > 0) {
    m.frame_step = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(fr), st->time_base));
  }
  m.keep_stream.assign(m.fmt->nb_streams, false);
  for (unsigned i = 0; i < m.fmt->nb_streams; ++i) {
    if (static_cast<int>(i) == m.vidx) continue;
    AVMediaType t = m.fmt->streams[i]->codecpar->codec_type;
    if (t == AVMEDIA_TYPE_AUDIO) in.audio_streams++;
    else in.other_streams++;
    m.keep_stream[i] = opt.keep_other_streams;
    if (!opt.keep_other_streams) m.fmt->streams[i]->discard = AVDISCARD_ALL;
  }
}

VideoReader::~VideoReader() = default;
const VideoInfo& VideoReader::info() const { return impl_->info; }
const fs::path& VideoReader::path() const { return impl_->path; }
int64_t VideoReader::frames_read() const { return impl_->frames; }

bool VideoReader::read(VideoFrame& out) {
  Impl& m = *impl_;
  for (;;) {
    int r = avcodec_receive_frame(m.dec, m.frame);
    if (r == 0) break;
    if (r == AVERROR_EOF) {
      if (m.info.frame_count > 0 && m.frames < m.info.frame_count)
        throw Error(m.what() + ": truncated video: " + std::to_string(m.frames) + " of " +
                    std::to_string(m.info.frame_count) + " frames could be decoded");
      check(m.frames > 0, m.what() + ": the video stream has no decodable frames (truncated or corrupt file)");
      return false;
    }
    if (r != AVERROR(EAGAIN))
      throw Error(m.what() + ": cannot decode frame " + std::to_string(m.frames) + ": " + av_err(r));
    if (m.demux_eof) {
      // already flushed; nothing more will come
      return false;
    }
    if (!m.pump()) {
      m.demux_eof = true;
      avcodec_send_packet(m.dec, nullptr);
    }
  }
  AVFrame* f = m.frame;
  if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT)) {
    av_frame_unref(f);
    throw Error(m.what() + ": frame " + std::to_string(m.frames) + " is corrupt (truncated or damaged file)");
  }
  if (f->width != m.info.width || f->height != m.info.height) {
    std::string msg = m.what() + ": the frame size changes from " + std::to_string(m.info.width) + "x" +
                      std::to_string(m.info.height) + " to " + std::to_string(f->width) + "x" +
                      std::to_string(f->height) + " at frame " + std::to_string(m.frames) + "; not supported";
    av_frame_unref(f);
    throw Error(msg);
  }
  const AVPixelFormat src_fmt = static_cast<AVPixelFormat>(f->format);
  m.sws = sws_getCachedContext(m.sws, f->width, f->height, src_fmt, f->width, f->height, AV_PIX_FMT_RGB24,
                               SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_BITEXACT, nullptr, nullptr,
                               nullptr);
  check(m.sws != nullptr, m.what() + ": cannot convert pixel format " +
                              std::string(av_get_pix_fmt_name(src_fmt) ? av_get_pix_fmt_name(src_fmt) : "?") +
                              " to RGB");
  if (!is_rgb_format(src_fmt)) {
    const int* coeffs = colorspace_coeffs(f->colorspace);
    const int src_range = f->color_range == AVCOL_RANGE_JPEG ? 1 : 0;
    sws_setColorspaceDetails(m.sws, coeffs, src_range, coeffs, 1, 0, 1 << 16, 1 << 16);
  }
  out.width = f->width;
  out.height = f->height;
  out.rgb.resize(static_cast<size_t>(f->width) * f->height * 3);
  uint8_t* dst[4] = {out.rgb.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {f->width * 3, 0, 0, 0};
  sws_scale(m.sws, f->data, f->linesize, 0, f->height, dst, dst_stride);
  int64_t pts = f->best_effort_timestamp;
  if (pts == AV_NOPTS_VALUE) pts = f->pts;
  if (pts == AV_NOPTS_VALUE) pts = m.last_pts == AV_NOPTS_VALUE ? 0 : m.last_pts + m.frame_step;
  if (m.last_pts != AV_NOPTS_VALUE) m.check_frame_gap(pts - m.last_pts);
  out.pts = pts;
  out.index = m.frames++;
  m.last_pts = pts;
  av_frame_unref(f);
  return true;
}

// ---------------------------------------------------------------- writer

struct VideoWriter::Impl {
  fs::path path, tmp;
  VideoReader::Impl* src = nullptr;
  AVFormatContext* out = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* vst = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* pkt = nullptr;
  std::vector<int> stream_map;  // source stream -> output stream (-1 = dropped)
  bool header_written = false, finished = false;
  int64_t last_pts = AV_NOPTS_VALUE;
  int64_t frames = 0;

  ~Impl() {
    if (out && header_written && !finished) {
      // failed run: close and remove the temporary file
    }
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    if (out) {
      if (out->pb) avio_closep(&out->pb);
      avformat_free_context(out);
    }
    if (!finished && !tmp.empty()) {
      std::error_code ec;
      fs::remove(tmp, ec);
    }
  }

  void write_packet(AVPacket* p) {
    int r = av_interleaved_write_frame(out, p);
    if (r < 0) throw Error(path.string() + ": write error: " + av_err(r));
  }

  void drain_encoder() {
    for (;;) {
      int r = avcodec_receive_packet(enc, pkt);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      if (r < 0) throw Error(path.string() + ": encoder error: " + av_err(r));
      av_packet_rescale_ts(pkt, enc->time_base, vst->time_base);
      pkt->stream_index = vst->index;
      write_packet(pkt);
    }
  }

  void copy_pending() {
    std::deque<PacketPtr> q;
    {
      std::lock_guard<std::mutex> lock(src->mu);
      q.swap(src->copied);
    }
    for (auto& p : q) {
      const int si = p->stream_index;
      if (si < 0 || static_cast<size_t>(si) >= stream_map.size() || stream_map[static_cast<size_t>(si)] < 0) continue;
      AVStream* ost = out->streams[stream_map[static_cast<size_t>(si)]];
      av_packet_rescale_ts(p.get(), src->fmt->streams[si]->time_base, ost->time_base);
      p->stream_index = ost->index;
      p->pos = -1;
      write_packet(p.get());
    }
  }
};

namespace {

const AVCodec* choose_encoder(const VideoEncodeOptions& opt, const AVOutputFormat* of, const std::string& what) {
  if (!opt.codec.empty()) {
    const AVCodec* c = avcodec_find_encoder_by_name(opt.codec.c_str());
    check(c != nullptr && c->type == AVMEDIA_TYPE_VIDEO,
          "--codec " + opt.codec + ": no such video encoder in this FFmpeg build");
    return c;
  }
  const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
  if (x264 && avformat_query_codec(of, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) == 1) return x264;
  const AVCodec* c = of->video_codec != AV_CODEC_ID_NONE ? avcodec_find_encoder(of->video_codec) : nullptr;
  check(c != nullptr, what + ": no video encoder available for the " + of->name + " container; pass --codec");
  return c;
}

bool codec_has_option(const AVCodec* c, const char* name) {
  if (!c->priv_class) return false;
  const AVClass* cls = c->priv_class;
  return av_opt_find(&cls, name, nullptr, 0, AV_OPT_SEARCH_FAKE_OBJ) != nullptr;
}

}  // namespace

VideoWriter::VideoWriter(const fs::path& path, VideoReader& source, const VideoEncodeOptions& opt)
    : impl_(std::make_unique<Impl>()) {
  quiet_ffmpeg();
  Impl& m = *impl_;
  m.path = path;
  m.src = source.impl_.get();
  const std::string what = path.string();
  int r = avformat_alloc_output_context2(&m.out, nullptr, nullptr, path.c_str());
  if (r < 0 || !m.out) throw Error(what + ": cannot tell the output container from the file name (use .mp4, .mkv, .mov, .webm, .avi)");
  const AVOutputFormat* of = m.out->oformat;
  const AVCodec* codec = choose_encoder(opt, of, what);
  r = avformat_query_codec(of, codec->id, FF_COMPLIANCE_NORMAL);
  check(r != 0, what + ": the " + std::string(of->name) + " container cannot hold " + codec->name +
                    " video; choose another --codec or extension");

  AVStream* ist = m.src->fmt->streams[m.src->vidx];
  const VideoInfo& in = m.src->info;
  const AVPixelFormat src_fmt = static_cast<AVPixelFormat>(ist->codecpar->format);
  AVPixelFormat pix = AV_PIX_FMT_NONE;
  if (!opt.pix_fmt.empty()) {
    pix = av_get_pix_fmt(opt.pix_fmt.c_str());
    check(pix != AV_PIX_FMT_NONE, "--pix-fmt " + opt.pix_fmt + ": unknown pixel format");
    if (codec->pix_fmts) {
      bool ok = false;
      for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p) ok |= *p == pix;
      check(ok, "--pix-fmt " + opt.pix_fmt + ": the " + codec->name + " encoder does not take this pixel format");
    }
  } else if (codec->pix_fmts) {
    for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p)
      if (*p == src_fmt) pix = src_fmt;
    if (pix == AV_PIX_FMT_NONE)
      pix = avcodec_find_best_pix_fmt_of_list(codec->pix_fmts, src_fmt == AV_PIX_FMT_NONE ? AV_PIX_FMT_RGB24 : src_fmt,
                                              0, nullptr);
    // 4:2:0 cannot hold an odd size: prefer an unsubsampled format the encoder takes.
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(pix);
    if (d && ((in.width % 2 && d->log2_chroma_w) || (in.height % 2 && d->log2_chroma_h))) {
      for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p) {
        const AVPixFmtDescriptor* dd = av_pix_fmt_desc_get(*p);
        if (dd && !dd->log2_chroma_w && !dd->log2_chroma_h && dd->comp[0].depth == 8) {
          pix = *p;
          break;
        }
      }
    }
  } else {
    pix = src_fmt != AV_PIX_FMT_NONE ? src_fmt : AV_PIX_FMT_YUV420P;
  }
  {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(pix);
    check(d != nullptr, what + ": no usable pixel format");
    if ((in.width % 2 && d->log2_chroma_w) || (in.height % 2 && d->log2_chroma_h))
      throw Error(what + ": the video is " + std::to_string(in.width) + "x" + std::to_string(in.height) +
                  " (odd size) but pixel format " + d->name +
                  " subsamples chroma and needs even sizes; use --pix-fmt yuv444p (or another codec)");
  }

  m.enc = avcodec_alloc_context3(codec);
  check(m.enc != nullptr, "out of memory");
  m.enc->width = in.width;
  m.enc->height = in.height;
  m.enc->pix_fmt = pix;
  m.enc->time_base = ist->time_base;
  AVRational fr = ist->avg_frame_rate.num > 0 ? ist->avg_frame_rate : ist->r_frame_rate;
  if (fr.num > 0) m.enc->framerate = fr;
  m.enc->sample_aspect_ratio = ist->codecpar->sample_aspect_ratio;
  if (!is_rgb_format(pix)) {
    m.enc->colorspace = ist->codecpar->color_space;
    m.enc->color_range = ist->codecpar->color_range == AVCOL_RANGE_JPEG ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    m.enc->color_primaries = ist->codecpar->color_primaries;
    m.enc->color_trc = ist->codecpar->color_trc;
  }
  m.enc->thread_count = opt.threads;
  if (of->flags & AVFMT_GLOBALHEADER) m.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* eopts = nullptr;
  const bool x26x = std::strcmp(codec->name, "libx264") == 0 || std::strcmp(codec->name, "libx265") == 0 ||
                    std::strcmp(codec->name, "libx264rgb") == 0;
  if (opt.crf >= 0) {
    check(codec_has_option(codec, "crf"), "--crf: the " + std::string(codec->name) + " encoder has no crf setting");
    av_dict_set_int(&eopts, "crf", opt.crf, 0);
  } else if (x26x) {
    av_dict_set_int(&eopts, "crf", 18, 0);
  }
  if (!opt.preset.empty()) {
    check(codec_has_option(codec, "preset"), "--preset: the " + std::string(codec->name) + " encoder has no presets");
    av_dict_set(&eopts, "preset", opt.preset.c_str(), 0);
  }
  if (std::strcmp(codec->name, "libx265") == 0) av_dict_set(&eopts, "x265-params", "log-level=error", 0);
  r = avcodec_open2(m.enc, codec, &eopts);
  av_dict_free(&eopts);
  if (r < 0) throw Error(what + ": cannot open the " + codec->name + " encoder (" + av_err(r) + ")");

  m.vst = avformat_new_stream(m.out, nullptr);
  check(m.vst != nullptr, "out of memory");
  check(avcodec_parameters_from_context(m.vst->codecpar, m.enc) >= 0, what + ": encoder parameters");
  m.vst->time_base = m.enc->time_base;
  m.vst->avg_frame_rate = ist->avg_frame_rate;
  m.vst->r_frame_rate = ist->r_frame_rate;
  m.vst->sample_aspect_ratio = ist->sample_aspect_ratio;
  m.vst->disposition = ist->disposition;
  av_dict_copy(&m.vst->metadata, ist->metadata, 0);
  av_dict_set(&m.vst->metadata, "encoder", nullptr, 0);
  {
    // Rotation: the source's display matrix as it is (rotation, flips), else
    // one made from the legacy `rotate` tag. MP4 / MOV write it into the
    // track header. Containers that do not store display matrices (Matroska,
    // WebM, AVI ... with this FFmpeg) get the `rotate` tag, which FFmpeg-based
    // readers (sealite's too) and players still honour.
    size_t sz = 0;
    const uint8_t* dm = av_stream_get_side_data(ist, AV_PKT_DATA_DISPLAYMATRIX, &sz);
    if (dm && sz >= 9 * sizeof(int32_t)) {
      uint8_t* dst = av_stream_new_side_data(m.vst, AV_PKT_DATA_DISPLAYMATRIX, sz);
      check(dst != nullptr, "out of memory");
      std::memcpy(dst, dm, sz);
    } else if (in.rotation != 0) {
      uint8_t* dst = av_stream_new_side_data(m.vst, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
      check(dst != nullptr, "out of memory");
      // av_display_rotation_set takes clockwise degrees (av_display_rotation_get
      // returns counterclockwise ones, hence rotation = -get).
      av_display_rotation_set(reinterpret_cast<int32_t*>(dst), in.rotation);
    }
    const bool mov_family = std::strstr(of->name, "mov") || std::strstr(of->name, "mp4") ||
                            std::strcmp(of->name, "ipod") == 0 || std::strcmp(of->name, "3gp") == 0 ||
                            std::strcmp(of->name, "3g2") == 0 || std::strcmp(of->name, "ismv") == 0 ||
                            std::strcmp(of->name, "f4v") == 0 || std::strcmp(of->name, "psp") == 0;
    if (in.rotation != 0 && !mov_family && !av_dict_get(m.vst->metadata, "rotate", nullptr, 0)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", in.rotation);
      av_dict_set(&m.vst->metadata, "rotate", buf, 0);
    }
  }
  // The other streams, copied.
  m.stream_map.assign(m.src->fmt->nb_streams, -1);
  for (unsigned i = 0; i < m.src->fmt->nb_streams; ++i) {
    if (static_cast<int>(i) == m.src->vidx) continue;
    AVStream* s = m.src->fmt->streams[i];
    const int q = avformat_query_codec(of, s->codecpar->codec_id, FF_COMPLIANCE_NORMAL);
    if (q == 0) {
      if (s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO || s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
        throw Error(what + ": the " + std::string(of->name) + " container cannot hold the source's " +
                    avcodec_get_name(s->codecpar->codec_id) + " stream #" + std::to_string(i) +
                    " without re-encoding; use an output extension that can (e.g. .mkv)");
      std::fprintf(stderr, "sealite: note: stream #%u (%s) cannot be copied into %s and is left out\n", i,
                   avcodec_get_name(s->codecpar->codec_id), of->name);
      continue;
    }
    AVStream* os = avformat_new_stream(m.out, nullptr);
    check(os != nullptr, "out of memory");
    check(avcodec_parameters_copy(os->codecpar, s->codecpar) >= 0, what + ": stream parameters");
    os->codecpar->codec_tag = 0;
    os->time_base = s->time_base;
    os->disposition = s->disposition;
    av_dict_copy(&os->metadata, s->metadata, 0);
    m.stream_map[i] = os->index;
  }
  av_dict_copy(&m.out->metadata, m.src->fmt->metadata, 0);
  av_dict_set(&m.out->metadata, "encoder", nullptr, 0);

  // Temporary file next to the target.
  static std::atomic<int> counter{0};
  m.tmp = path.parent_path() / ("." + path.filename().string() + ".sealite-tmp-" + std::to_string(getpid()) + "-" +
                                std::to_string(counter++));
  if (!(of->flags & AVFMT_NOFILE)) {
    r = avio_open(&m.out->pb, m.tmp.c_str(), AVIO_FLAG_WRITE);
    if (r < 0) throw Error(what + ": cannot create the output file (" + av_err(r) + ")");
  }
  r = avformat_write_header(m.out, nullptr);
  if (r < 0) throw Error(what + ": cannot write the container header (" + av_err(r) + ")");
  m.header_written = true;
  m.frame = av_frame_alloc();
  m.pkt = av_packet_alloc();
  check(m.frame && m.pkt, "out of memory");
  m.frame->format = pix;
  m.frame->width = in.width;
  m.frame->height = in.height;
  check(av_frame_get_buffer(m.frame, 0) >= 0, "out of memory");
  m.sws = sws_getContext(in.width, in.height, AV_PIX_FMT_RGB24, in.width, in.height, pix,
                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_BITEXACT, nullptr, nullptr,
                         nullptr);
  check(m.sws != nullptr, what + ": cannot convert RGB to " + std::string(av_get_pix_fmt_name(pix)));
  if (!is_rgb_format(pix)) {
    const int* coeffs = colorspace_coeffs(m.enc->colorspace);
    sws_setColorspaceDetails(m.sws, coeffs, 1, coeffs, m.enc->color_range == AVCOL_RANGE_JPEG ? 1 : 0, 0, 1 << 16,
                             1 << 16);
  }
}

VideoWriter::~VideoWriter() = default;

std::string VideoWriter::encoder_name() const { return impl_->enc->codec->name; }
std::string VideoWriter::pix_fmt_name() const {
  const char* n = av_get_pix_fmt_name(impl_->enc->pix_fmt);
  return n ? n : "?";
}

void VideoWriter::write(const VideoFrame& f) {
  Impl& m = *impl_;
  check(!m.finished, "video writer: write after finish");
  check(f.width == m.enc->width && f.height == m.enc->height &&
            f.rgb.size() == static_cast<size_t>(f.width) * f.height * 3,
        m.path.string() + ": frame " + std::to_string(f.index) + " has the wrong size");
  check(m.last_pts == AV_NOPTS_VALUE || f.pts > m.last_pts,
        m.path.string() + ": frame " + std::to_string(f.index) + " has a timestamp (" + std::to_string(f.pts) +
            ") not after the previous one (" + std::to_string(m.last_pts) + ")");
  check(av_frame_make_writable(m.frame) >= 0, "out of memory");
  const uint8_t* src[4] = {f.rgb.data(), nullptr, nullptr, nullptr};
  int src_stride[4] = {f.width * 3, 0, 0, 0};
  sws_scale(m.sws, src, src_stride, 0, f.height, m.frame->data, m.frame->linesize);
  m.frame->pts = f.pts;
  m.last_pts = f.pts;
  int r = avcodec_send_frame(m.enc, m.frame);
  if (r < 0) throw Error(m.path.string() + ": encoder error: " + av_err(r));
  m.drain_encoder();
  m.copy_pending();
  m.frames++;
}

void VideoWriter::finish() {
  Impl& m = *impl_;
  check(!m.finished, "video writer: finish called twice");
  int r = avcodec_send_frame(m.enc, nullptr);
  if (r < 0 && r != AVERROR_EOF) throw Error(m.path.string() + ": encoder error: " + av_err(r));
  m.drain_encoder();
  m.src->drain_rest();
  m.copy_pending();
  r = av_write_trailer(m.out);
  if (r < 0) throw Error(m.path.string() + ": cannot finish the file (" + av_err(r) + ")");
  if (m.out->pb) {
    avio_flush(m.out->pb);
    r = avio_closep(&m.out->pb);
    if (r < 0) throw Error(m.path.string() + ": cannot close the file (" + av_err(r) + ")");
  }
  std::error_code ec;
  fs::rename(m.tmp, m.path, ec);
  if (ec) throw Error(m.path.string() + ": cannot move the finished file into place: " + ec.message());
  m.finished = true;
}

// ---------------------------------------------------------------- test videos

void write_test_video(const fs::path& path, const std::vector<std::vector<uint8_t>>& frames, int width, int height,
                      int fps, const std::string& codec_name, const std::string& pix_fmt, double audio_sine_hz) {
  TestVideoOptions o;
  o.audio_sine_hz = audio_sine_hz;
  write_test_video(path, frames, width, height, fps, codec_name, pix_fmt, o);
}

void write_test_video(const fs::path& path, const std::vector<std::vector<uint8_t>>& frames, int width, int height,
                      int fps, const std::string& codec_name, const std::string& pix_fmt,
                      const TestVideoOptions& opt) {
  quiet_ffmpeg();
  const double audio_sine_hz = opt.audio_sine_hz;
  check(opt.pts.empty() || opt.pts.size() == frames.size(), "test video: one pts per frame");
  const int tb_den = opt.time_base_den > 0 ? opt.time_base_den : fps;
  auto frame_pts = [&](size_t i) -> int64_t {
    return opt.pts.empty() ? av_rescale(static_cast<int64_t>(i), tb_den, fps) : opt.pts[i];
  };
  const std::string what = path.string();
  AVFormatContext* out = nullptr;
  int r = avformat_alloc_output_context2(&out, nullptr, nullptr, path.c_str());
  if (r < 0 || !out) throw Error(what + ": unknown container");
  struct Guard {
    AVFormatContext*& out;
    AVCodecContext* v = nullptr;
    AVCodecContext* a = nullptr;
    SwsContext* sws = nullptr;
    AVFrame* f = nullptr;
    AVFrame* af = nullptr;
    AVPacket* p = nullptr;
    ~Guard() {
      sws_freeContext(sws);
      av_frame_free(&f);
      av_frame_free(&af);
      av_packet_free(&p);
      avcodec_free_context(&v);
      avcodec_free_context(&a);
      if (out) {
        if (out->pb) avio_closep(&out->pb);
        avformat_free_context(out);
      }
    }
  } g{out};
  const AVCodec* vc = avcodec_find_encoder_by_name(codec_name.c_str());
  check(vc != nullptr, "no encoder " + codec_name);
  AVPixelFormat pix = av_get_pix_fmt(pix_fmt.c_str());
  check(pix != AV_PIX_FMT_NONE, "unknown pixel format " + pix_fmt);
  g.v = avcodec_alloc_context3(vc);
  g.v->width = width;
  g.v->height = height;
  g.v->pix_fmt = pix;
  g.v->time_base = AVRational{1, tb_den};
  g.v->framerate = AVRational{fps, 1};
  g.v->gop_size = 12;
  if (out->oformat->flags & AVFMT_GLOBALHEADER) g.v->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* vo = nullptr;
  if (codec_has_option(vc, "preset") && std::strcmp(vc->name, "libx264") == 0) av_dict_set(&vo, "preset", "ultrafast", 0);
  r = avcodec_open2(g.v, vc, &vo);
  av_dict_free(&vo);
  if (r < 0) throw Error("cannot open encoder " + codec_name + ": " + av_err(r));
  AVStream* vs = avformat_new_stream(out, nullptr);
  avcodec_parameters_from_context(vs->codecpar, g.v);
  vs->time_base = g.v->time_base;
  vs->avg_frame_rate = g.v->framerate;
  if (opt.rotation != 0) {
    uint8_t* dm = av_stream_new_side_data(vs, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
    check(dm != nullptr, "out of memory");
    av_display_rotation_set(reinterpret_cast<int32_t*>(dm), opt.rotation);  // clockwise
  }
  if (!opt.rotate_tag.empty()) av_dict_set(&vs->metadata, "rotate", opt.rotate_tag.c_str(), 0);
  AVStream* as = nullptr;
  if (audio_sine_hz > 0) {
    const std::string e = lower_ext(path);
    const bool pcm = e == ".mkv" || e == ".mov" || e == ".avi" || e == ".nut";
    const AVCodec* ac = avcodec_find_encoder(pcm ? AV_CODEC_ID_PCM_S16LE : AV_CODEC_ID_AAC);
    check(ac != nullptr, "no audio encoder");
    g.a = avcodec_alloc_context3(ac);
    g.a->sample_rate = 48000;
    g.a->sample_fmt = pcm ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_FLTP;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    av_channel_layout_copy(&g.a->ch_layout, &mono);
    g.a->bit_rate = 64000;
    g.a->time_base = AVRational{1, 48000};
    if (out->oformat->flags & AVFMT_GLOBALHEADER) g.a->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    r = avcodec_open2(g.a, ac, nullptr);
    if (r < 0) throw Error(std::string("cannot open audio encoder: ") + av_err(r));
    as = avformat_new_stream(out, nullptr);
    avcodec_parameters_from_context(as->codecpar, g.a);
    as->time_base = g.a->time_base;
  }
  r = avio_open(&out->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (r < 0) throw Error(what + ": cannot create: " + av_err(r));
  r = avformat_write_header(out, nullptr);
  if (r < 0) throw Error(what + ": header: " + av_err(r));
  g.p = av_packet_alloc();
  auto drain = [&](AVCodecContext* c, AVStream* st) {
    for (;;) {
      int rr = avcodec_receive_packet(c, g.p);
      if (rr == AVERROR(EAGAIN) || rr == AVERROR_EOF) return;
      if (rr < 0) throw Error(std::string("encode: ") + av_err(rr));
      av_packet_rescale_ts(g.p, c->time_base, st->time_base);
      g.p->stream_index = st->index;
      rr = av_interleaved_write_frame(out, g.p);
      if (rr < 0) throw Error(std::string("write: ") + av_err(rr));
    }
  };
  g.f = av_frame_alloc();
  g.f->format = pix;
  g.f->width = width;
  g.f->height = height;
  av_frame_get_buffer(g.f, 0);
  g.sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, pix,
                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_BITEXACT, nullptr, nullptr, nullptr);
  // audio first in small pieces, interleaved with the video by time
  int64_t audio_samples = 0;
  const int64_t total_audio = static_cast<int64_t>(frames.size()) * 48000 / fps;
  auto write_audio_until = [&](int64_t until) {
    if (!g.a) return;
    const int fs_ = g.a->frame_size > 0 ? g.a->frame_size : 1024;
    while (audio_samples < until && audio_samples < total_audio) {
      if (!g.af) g.af = av_frame_alloc();
      av_frame_unref(g.af);
      g.af->format = g.a->sample_fmt;
      av_channel_layout_copy(&g.af->ch_layout, &g.a->ch_layout);
      g.af->sample_rate = 48000;
      g.af->nb_samples = fs_;
      av_frame_get_buffer(g.af, 0);
      for (int i = 0; i < fs_; ++i) {
        const double v = 0.3 * std::sin(2 * M_PI * audio_sine_hz * static_cast<double>(audio_samples + i) / 48000.0);
        if (g.a->sample_fmt == AV_SAMPLE_FMT_S16)
          reinterpret_cast<int16_t*>(g.af->data[0])[i] = static_cast<int16_t>(std::lround(v * 32767));
        else
          reinterpret_cast<float*>(g.af->data[0])[i] = static_cast<float>(v);
      }
      g.af->pts = audio_samples;
      audio_samples += fs_;
      int rr = avcodec_send_frame(g.a, g.af);
      if (rr < 0) throw Error(std::string("audio encode: ") + av_err(rr));
      drain(g.a, as);
    }
  };
  for (size_t i = 0; i < frames.size(); ++i) {
    check(frames[i].size() == static_cast<size_t>(width) * height * 3, "test video: bad frame size");
    write_audio_until(static_cast<int64_t>(i + 1) * 48000 / fps);
    av_frame_make_writable(g.f);
    const uint8_t* src[4] = {frames[i].data(), nullptr, nullptr, nullptr};
    int stride[4] = {width * 3, 0, 0, 0};
    sws_scale(g.sws, src, stride, 0, height, g.f->data, g.f->linesize);
    g.f->pts = frame_pts(i);
    r = avcodec_send_frame(g.v, g.f);
    if (r < 0) throw Error(std::string("encode: ") + av_err(r));
    drain(g.v, vs);
  }
  avcodec_send_frame(g.v, nullptr);
  drain(g.v, vs);
  if (g.a) {
    write_audio_until(total_audio);
    avcodec_send_frame(g.a, nullptr);
    drain(g.a, as);
  }
  r = av_write_trailer(out);
  if (r < 0) throw Error(what + ": trailer: " + av_err(r));
}

}  // namespace sealite::media
